# shellcheck shell=bash
# The run-wide secrets check, sourced by lib.sh: every secret a test uses
# is registered, and what the product showed of the test is kept, so that
# z_secrets_grep.sh (run last by ctest) can search everything the product
# wrote during the whole run for every secret it was given.
#
# Layout, under $PIMGATE_ARTIFACTS (default $PIMGATE_BIN/test-artifacts,
# emptied by ctest at the start of a run and, per test, when the test
# starts):
#   secrets/TEST.txt   one secret a line: KIND<TAB>VALUE<TAB>LABEL
#                      (KIND password, totp-secret, totp-code or literal;
#                      the grep derives hex and base64 forms from the first
#                      two)
#   TEST/              the test's artifacts: the daemon's log, the output
#                      of pimctl and of the clients (*.out, *.err), metrics
#                      scrapes, notifications, and at the end an export of
#                      the store (audit trail, listings, access report)
#
# Registration happens where the secrets are made or handed over: lib.sh's
# pimctl() (--password-stdin, --identity, --otp, the state's keys after
# init), gw_ssh_password, the oathtool wrapper below (TOTP secrets and the
# codes computed from them), the keys lib.sh and lib_pg.sh generate.
#
# A file that holds a secret by design (the output of `pimctl user mfa
# enroll`, which shows the new TOTP secret) is named with secrets_exempt
# and not kept.

SECRETS_ROOT=${PIMGATE_ARTIFACTS:-$PIMGATE_BIN/test-artifacts}
SECRETS_FILE=$SECRETS_ROOT/secrets/$TEST_NAME.txt
SECRETS_ARTIFACTS=$SECRETS_ROOT/$TEST_NAME
SECRETS_EXEMPT=()

# A kept file larger than this is cut to its first bytes (a bulk
# transfer's output says nothing the grep needs beyond that).
SECRETS_MAX_FILE=${SECRETS_MAX_FILE:-67108864}

# secrets_start: forgets what an earlier run of this test left.
secrets_start() {
	rm -rf "$SECRETS_ARTIFACTS" "$SECRETS_FILE"
	mkdir -p "$SECRETS_ROOT/secrets" "$SECRETS_ARTIFACTS"
	chmod 700 "$SECRETS_ROOT" "$SECRETS_ROOT/secrets"
}

# secret_add KIND VALUE LABEL: registers VALUE (one line; empty ignored).
secret_add() {
	local kind=$1 value=$2 label=${3:-}
	value=${value%%$'\n'*}
	[[ -n "$value" ]] || return 0
	label=${label//$'\t'/ }
	printf '%s\t%s\t%s\n' "$kind" "$value" "$label" >>"$SECRETS_FILE"
}

# secret_add_keyfile FILE LABEL: registers the private part of the key in
# FILE (OpenSSH, PEM or raw bytes) as hex, base64 and the stretch of the
# file's own base64 text that holds it.
secret_add_keyfile() {
	local file=$1 label=$2 form needle
	[[ -f "$file" ]] || return 0
	while IFS=$'\t' read -r form needle; do
		secret_add literal "$needle" "$label ($form)"
	done < <(secrets_key_needles "$file")
}

# secrets_add_state_keys DIR: the bastion's own keys in its state folder.
secrets_add_state_keys() {
	local dir=$1 f
	for f in "$dir"/*.key "$dir"/*_key; do
		[[ -f "$f" ]] || continue
		secret_add_keyfile "$f" "bastion key ${f##*/}"
	done
}

# secrets_exempt FILE...: files that show a secret by design; not kept.
secrets_exempt() {
	SECRETS_EXEMPT+=("$@")
}

secrets_key_needles() {
	python3 - "$1" <<'PY'
import base64, re, subprocess, sys

path = sys.argv[1]
data = open(path, "rb").read()


def openssh_secret(blob):
    """The private key inside an OpenSSH key blob (ed25519: the seed)."""
    p = len(b"openssh-key-v1\0")

    def field(buf, at):
        n = int.from_bytes(buf[at:at + 4], "big")
        return buf[at + 4:at + 4 + n], at + 4 + n

    cipher, p = field(blob, p)
    _, p = field(blob, p)  # kdf name
    _, p = field(blob, p)  # kdf options
    p += 4  # number of keys
    _, p = field(blob, p)  # public key
    priv, p = field(blob, p)
    if cipher != b"none":
        return priv
    q = 8  # two check integers
    ktype, q = field(priv, q)
    if ktype == b"ssh-ed25519":
        _, q = field(priv, q)
        sk, q = field(priv, q)
        return sk[:32]
    return priv[q:]


def pem_secret(path):
    """The private scalar or exponent, as openssl prints it."""
    out = subprocess.run(["openssl", "pkey", "-in", path, "-text", "-noout"],
                         capture_output=True, text=True).stdout
    m = re.search(r"^(priv|privateExponent):\s*\n((?:\s+[0-9a-f:]+\n)+)",
                  out, re.M)
    if not m:
        return None
    raw = bytes.fromhex(re.sub(r"[\s:]", "", m.group(2)))
    return raw.lstrip(b"\0") or raw


def emit(form, needle):
    if len(needle) >= 16:
        print("%s\t%s" % (form, needle))


secret, body, der = None, None, None
m = re.search(rb"-----BEGIN ([A-Z0-9 ]+)-----\s*(.*?)-----END", data, re.S)
if m:
    body = re.sub(rb"\s+", b"", m.group(2)).decode("ascii")
    der = base64.b64decode(body)
    if b"OPENSSH" in m.group(1):
        secret = openssh_secret(der)
    else:
        secret = pem_secret(path)
else:
    secret = data
if not secret:
    sys.exit(0)
emit("hex", secret.hex())
emit("HEX", secret.hex().upper())
b64 = base64.b64encode(secret).decode().rstrip("=")
if len(secret) % 3:
    b64 = b64[:-1]  # its last character also holds bits that follow
emit("base64", b64)
emit("base64url", b64.replace("+", "-").replace("/", "_"))
off = der.find(secret) if der else -1
if off >= 0:
    start = -(-off // 3) * 4
    end = (off + len(secret)) // 3 * 4
    emit("file text", body[start:end])
PY
}

# secrets_run_pimctl PIMCTL ARGS...: runs pimctl, first registering what
# it is handed: the line of standard input behind --password-stdin, the
# key file behind --identity, the code behind --otp. After init (or a new
# listener certificate) the state's keys are registered too.
secrets_run_pimctl() {
	local a prev="" stdin=0 keys=0 line="" tmp rc=0
	for a in "$@"; do
		case $prev in
		--identity) secret_add_keyfile "$a" "pimctl --identity" ;;
		--otp) secret_add totp-code "$a" "pimctl --otp" ;;
		esac
		case $a in
		--password-stdin) stdin=1 ;;
		--otp=*) secret_add totp-code "${a#--otp=}" "pimctl --otp" ;;
		--identity=*) secret_add_keyfile "${a#*=}" "pimctl --identity" ;;
		init | server-cert) keys=1 ;;
		esac
		prev=$a
	done
	if ((stdin)); then
		# A file, not a variable: the bytes reach pimctl as they were.
		tmp=$(mktemp "$T/.pimctl-stdin.XXXXXX")
		cat >"$tmp"
		IFS= read -r line <"$tmp" || true
		secret_add password "$line" "pimctl --password-stdin"
		"$@" <"$tmp" || rc=$?
		rm -f "$tmp"
	else
		"$@" || rc=$?
	fi
	if ((rc == 0 && keys)) && [[ -n "${STATE:-}" ]]; then
		secrets_add_state_keys "$STATE"
	fi
	return "$rc"
}

# oathtool: the real one, registering the TOTP secret it is given and
# the code it prints.
oathtool() {
	local a out rc=0
	for a in "$@"; do
		[[ "$a" == -* || ${#a} -lt 16 ]] ||
			secret_add totp-secret "$a" "TOTP secret (oathtool)"
	done
	out=$(command oathtool "$@") || rc=$?
	while IFS= read -r a; do
		secret_add totp-code "$a" "TOTP code (oathtool)"
	done <<<"$out"
	[[ -z "$out" ]] || printf '%s\n' "$out"
	return "$rc"
}

# secrets_scrape_metrics: one last scrape of the running bastion's
# metrics, if it answers.
secrets_scrape_metrics() {
	[[ -n "${PIMGATED_PID:-}" && -n "${HTTP_PORT:-}" ]] || return 0
	pid_alive "$PIMGATED_PID" || return 0
	curl -sf --max-time 3 "http://127.0.0.1:$HTTP_PORT/metrics" \
		>"$SECRETS_ARTIFACTS/metrics-at-exit.prom" 2>/dev/null ||
		rm -f "$SECRETS_ARTIFACTS/metrics-at-exit.prom"
}

secrets_is_exempt() {
	local f
	for f in "${SECRETS_EXEMPT[@]}"; do
		[[ "$1" -ef "$f" ]] && return 0
	done
	return 1
}

# secrets_keep FILE: copies FILE into the test's artifacts (at most
# SECRETS_MAX_FILE bytes), unless it is exempt.
secrets_keep() {
	local f=$1
	[[ -f "$f" ]] || return 0
	secrets_is_exempt "$f" && return 0
	head -c "$SECRETS_MAX_FILE" "$f" >"$SECRETS_ARTIFACTS/${f##*/}" \
		2>/dev/null || true
}

# secrets_export_store: what the store holds of the test, as pimctl
# shows it: the audit trail, the listings, the access report (verbs this
# build lacks are skipped).
secrets_export_store() {
	local v
	[[ -n "${CONF:-}" && -f "$CONF" && -n "${DB:-}" && -f "$DB" ]] ||
		return 0
	secrets_pimctl_out audit.jsonl audit export
	secrets_pimctl_out audit.json audit --json
	for v in sessions activations assignments requests; do
		secrets_pimctl_out "$v.json" "$v" --json
	done
	for v in user target role cert; do
		secrets_pimctl_out "$v-list.json" "$v" list --json
	done
	for v in text csv json; do
		secrets_pimctl_out "report.$v" report access \
			--from 2000-01-01T00:00:00Z --to 2100-01-01T00:00:00Z \
			--format "$v"
	done
}

# secrets_pimctl_out NAME ARGS...: pimctl's output into NAME, and its
# error text into NAME.err when it failed; nothing for a usage error (a
# verb this build lacks).
secrets_pimctl_out() {
	local dest=$SECRETS_ARTIFACTS/store-$1 rc=0
	shift
	"$PIMGATE_BIN/pimctl" -c "$CONF" "$@" >"$dest" 2>"$dest.err" \
		</dev/null || rc=$?
	((rc != 2)) || rm -f "$dest" "$dest.err"
	[[ ! -f "$dest" || -s "$dest" ]] || rm -f "$dest"
	[[ ! -f "$dest.err" || -s "$dest.err" ]] || rm -f "$dest.err"
}

# secrets_collect: keeps the test's artifacts; run at its end, after the
# processes have stopped. What the targets (sshd, PostgreSQL) and the
# test's own tools logged is not the product's and is left out.
secrets_collect() {
	local f
	[[ -d "$SECRETS_ARTIFACTS" ]] || return 0
	shopt -s nullglob
	for f in "$T"/*.log "$T"/*.out "$T"/*.err "$T"/*.prom "$T"/*.jsonl \
		"$T"/*.json "$T"/*.csv "$T"/*.txt "$T"/*metrics* "$T"/*report* \
		"$T"/*syslog*; do
		case ${f##*/} in
		sshd.log | postgres.log | initdb.log | openssl.log | \
			pgbench-init.log | pimgated.quiet.log) continue ;;
		esac
		secrets_keep "$f"
	done
	shopt -u nullglob
	secrets_export_store
}
