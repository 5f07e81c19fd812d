#!/usr/bin/env bash
# pimctl end to end: init and its permissions, every verb's happy path and
# refusals, exit codes (0 ok, 1 refused, 2 usage), --json output, and that
# no secret (password, private key) ever reaches the output.
set -euo pipefail

BIN=${PIMGATE_BIN:-./build}
PIMCTL=$BIN/pimctl
[[ -x $PIMCTL ]] || { echo "FAIL: no pimctl at $PIMCTL" >&2; exit 1; }

TMP=$(mktemp -d)
SSHD_PID=
cleanup() {
	if [[ -n $SSHD_PID ]]; then kill "$SSHD_PID" 2>/dev/null || true; fi
	secrets_keep_run || true
	rm -rf "$TMP"
}
# For the run-wide secrets check (lib_secrets.sh): this test's password
# and keys, and what its store shows. pimctl's own output is checked by
# the test itself ("secrets never shown"); it also shows the TOTP secrets
# enrolment prints by design, so it is not kept.
secrets_keep_run() {
	local TEST_NAME=t_pimctl T=$TMP DB=$STATE/pimgate.db f
	PIMGATE_BIN=$BIN
	# shellcheck source-path=SCRIPTDIR source=lib_secrets.sh
	. "$(dirname "${BASH_SOURCE[0]}")/lib_secrets.sh"
	secrets_start
	secret_add password "$PASSWORD" "t_pimctl PASSWORD"
	for f in "$TMP"/alice "$TMP"/alice2 "$TMP"/bob "$TMP"/id "$TMP"/hk; do
		secret_add_keyfile "$f" "t_pimctl key ${f##*/}"
	done
	secrets_add_state_keys "$STATE"
	secrets_export_store
}
trap cleanup EXIT

STATE=$TMP/state
CONF=$TMP/pimgate.conf
OUT=$TMP/stdout
ERR=$TMP/stderr
ALL=$TMP/all-output # every byte pimctl printed, for the secret checks
PASSWORD='Corr3ct-Horse-pimgate-test'
: >"$ALL"

cat >"$CONF" <<EOF
[server]
state_dir = $STATE
[ssh]
listen = 127.0.0.1:2222
EOF

fail() {
	echo "FAIL: $*" >&2
	echo "--- stdout:" >&2
	cat "$OUT" >&2 || true
	echo "--- stderr:" >&2
	cat "$ERR" >&2 || true
	exit 1
}

# run WANT ARGS...: runs pimctl with standard input from $STDIN (default
# empty) or, for bytes a shell variable cannot hold, the file $STDIN_FILE;
# keeps its output in $OUT and $ERR, checks the exit status.
STDIN=
STDIN_FILE=
run() {
	local want=$1 rc=0
	shift
	if [[ -n $STDIN_FILE ]]; then
		cp "$STDIN_FILE" "$TMP/stdin"
	else
		printf '%s' "$STDIN" >"$TMP/stdin"
	fi
	"$PIMCTL" -c "$CONF" "$@" <"$TMP/stdin" >"$OUT" 2>"$ERR" || rc=$?
	STDIN=
	STDIN_FILE=
	cat "$OUT" "$ERR" >>"$ALL"
	[[ $rc == "$want" ]] ||
		fail "pimctl $*: exit status $rc, expected $want"
	if [[ $want == 1 ]]; then
		[[ $(wc -l <"$ERR") == 1 ]] ||
			fail "pimctl $*: expected one line on stderr"
		grep -q '^pimctl: ' "$ERR" ||
			fail "pimctl $*: stderr does not start with 'pimctl: '"
	fi
	if [[ $want == 2 ]]; then
		grep -q 'usage: pimctl' "$ERR" ||
			fail "pimctl $*: usage error without a usage line"
	fi
	return 0
}
out_has() { grep -qF -- "$1" "$OUT" || fail "stdout lacks '$1'"; }
# No raw ESC, C1 or bidi override/isolate character in the file $1.
no_raw_controls() {
	if LC_ALL=C grep -qaE \
		$'\x1b|\xc2[\x80-\x9f]|\xe2\x80[\xaa-\xae]|\xe2\x81[\xa6-\xa9]' \
		"$1"; then
		fail "raw control or bidi characters in $1"
	fi
}
out_lacks() { ! grep -qF -- "$1" "$OUT" || fail "stdout shows '$1'"; }
err_has() { grep -qF -- "$1" "$ERR" || fail "stderr lacks '$1'"; }
json_ok() {
	python3 -m json.tool "$OUT" >/dev/null || fail "stdout is not JSON"
}
# json_check EXPR: a Python expression over the parsed stdout, j.
json_check() {
	python3 -c "import json,sys; j=json.load(open(sys.argv[1])); \
sys.exit(0 if ($1) else 1)" "$OUT" || fail "JSON check failed: $1"
}
perm_is() {
	local got
	got=$(stat -c %a "$1")
	[[ $got == "$2" ]] || fail "$1 has mode $got, expected $2"
}

echo "== usage and help"
run 2
run 2 frobnicate
run 2 user
run 2 user frob
run 2 user add
run 2 user list --bogus
run 2 user list extra
run 0 help
out_has "target add NAME --ssh HOST:PORT"
out_has "replay SESSION"
run 0 --help
out_has "user add NAME"
run 0 help user
out_has "user key add NAME PUBKEY_FILE"
run 0 user add --help
out_has "usage: pimctl [-c FILE] user add NAME"

echo "== before init"
run 1 user list
err_has "pimctl init"

echo "== init"
run 0 init
perm_is "$STATE" 700
perm_is "$STATE/recordings" 700
perm_is "$STATE/pimgate.db" 600
perm_is "$STATE/ssh_host_ed25519_key" 600
perm_is "$STATE/ca.key" 600
perm_is "$STATE/secret.key" 600
perm_is "$STATE/ca.crt" 644
ssh-keygen -l -f "$STATE/ssh_host_ed25519_key" >/dev/null ||
	fail "the host key does not load"
fp=$(ssh-keygen -l -f "$STATE/ssh_host_ed25519_key.pub" | awk '{print $2}')
out_has "$fp"
if command -v openssl >/dev/null; then
	openssl x509 -in "$STATE/ca.crt" -noout -subject -text >"$TMP/ca.txt" ||
		fail "ca.crt does not parse"
	grep -q 'CN *= *pimgate CA' "$TMP/ca.txt" || fail "CA subject"
	grep -q 'CA:TRUE' "$TMP/ca.txt" || fail "CA basicConstraints"
	grep -q 'Certificate Sign, CRL Sign' "$TMP/ca.txt" ||
		fail "CA keyUsage"
	openssl pkey -in "$STATE/ca.key" -noout ||
		fail "ca.key does not parse"
fi
run 1 init
err_has "state already initialised at $STATE"

echo "== users"
ssh-keygen -q -t ed25519 -N '' -C alice -f "$TMP/alice"
ssh-keygen -q -t ed25519 -N '' -C alice2 -f "$TMP/alice2"
STDIN="$PASSWORD"$'\n'
run 0 user add alice --password-stdin --key "$TMP/alice.pub"
STDIN="$PASSWORD"$'\n'
run 1 user add alice --password-stdin
err_has "user alice already exists"
run 2 user add 'Bad!Name'
STDIN=$'\n'
run 1 user add bob --password-stdin
err_has "empty password"
run 1 user add carol --key "$TMP/does-not-exist.pub"
run 1 user add carol --key "$CONF"
err_has "not an OpenSSH public key"
run 0 user add dave
run 0 user list
out_has alice
out_has dave
run 0 user list --json
json_ok
json_check "sorted(u['name'] for u in j) == ['alice', 'dave']"
json_check "[u for u in j if u['name'] == 'alice'][0]['password'] is True"
json_check "len([u for u in j if u['name'] == 'alice'][0]['keys']) == 1"
run 0 user disable alice
run 0 user list --json
json_check "[u for u in j if u['name'] == 'alice'][0]['enabled'] is False"
run 1 user disable nobody
err_has "no user nobody"
run 0 user enable alice
run 0 user key add alice "$TMP/alice2.pub"
run 1 user key add alice "$TMP/alice2.pub"
err_has "already has this key"
run 1 user key add nobody "$TMP/alice2.pub"
run 2 user key add alice

echo "== one key, one user"
run 1 user add bob --key "$TMP/alice.pub"
err_has "this key already belongs to user alice"
run 1 user key add dave "$TMP/alice2.pub"
err_has "this key already belongs to user alice"
# The same key with another comment is still the same key.
echo "$(cut -d' ' -f1,2 "$TMP/alice.pub") dave@laptop" >"$TMP/alice-other.pub"
run 1 user key add dave "$TMP/alice-other.pub"
err_has "this key already belongs to user alice"
ssh-keygen -q -t ed25519 -N '' -C bob -f "$TMP/bob"
run 1 user add bob --key "$TMP/bob.pub" --key "$TMP/alice2.pub"
err_has "this key already belongs to user alice"
run 1 user add bob --key "$TMP/bob.pub" --key "$TMP/bob.pub"
err_has "the same key is given twice"
run 0 user list --json
json_check "'bob' not in [u['name'] for u in j]"

echo "== key files"
run 1 user add bob --key "$TMP/bob"
err_has "is a private key file"
run 1 user add bob --key "$TMP/alice"
err_has "is a private key file"
cat "$TMP/bob.pub" "$TMP/alice2.pub" >"$TMP/two.pub"
run 1 user add bob --key "$TMP/two.pub"
err_has "more than one key line"
: >"$TMP/empty.pub"
run 1 user add bob --key "$TMP/empty.pub"
err_has "holds no public key"
ssh-keygen -q -t rsa -b 1024 -N '' -C weak -f "$TMP/rsa1024"
run 1 user add bob --key "$TMP/rsa1024.pub"
err_has "RSA key of 1024 bits, which is too weak"
if ssh-keygen -q -t dsa -N '' -C dsa -f "$TMP/dsa" 2>/dev/null; then
	run 1 user add bob --key "$TMP/dsa.pub"
else # an OpenSSH without DSA: the key line is refused by its type
	echo "ssh-dss AAAAB3NzaC1kc3MAAAA= dsa" >"$TMP/dsa.pub"
	run 1 user add bob --key "$TMP/dsa.pub"
fi
err_has "DSA key, which is too weak"
# Comments and blank lines around the one key are fine; so is RSA 2048.
printf '# bob at work\n\n%s\n\n' "$(cat "$TMP/bob.pub")" >"$TMP/bob-note.pub"
ssh-keygen -q -t rsa -b 2048 -N '' -C bob-rsa -f "$TMP/rsa2048"
run 0 user add bob --key "$TMP/bob-note.pub" --key "$TMP/rsa2048.pub"
run 0 user list --json
json_check "len([u for u in j if u['name'] == 'bob'][0]['keys']) == 2"

echo "== passwords with a NUL byte"
printf 'Corr3ct\0Horse\n' >"$TMP/nul-password"
STDIN_FILE=$TMP/nul-password
run 1 user add erin --password-stdin
err_has "NUL byte"
run 0 user list --json
json_check "'erin' not in [u['name'] for u in j]"

echo "== rejected values are echoed escaped"
run 2 user add $'evil\x1b[31mname'
err_has 'evil\x1b[31mname'
no_raw_controls "$ERR"
run 1 user disable $'no\nbody\xc2\x9b\xe2\x80\xae\xff'
err_has 'no user no\x0abody\u009b\u202e\xff'
no_raw_controls "$ERR"
run 2 user list $'--\x1b]0;title\x07'
err_has 'unknown option --\x1b]0;title\x07'
no_raw_controls "$ERR"
run 2 $'frob\x1bnicate'
err_has "no verb 'frob\\x1bnicate'"
no_raw_controls "$ERR"

echo "== targets"
ssh-keygen -q -t ed25519 -N '' -C target-id -f "$TMP/id"
ssh-keygen -q -t ed25519 -N '' -C target-hk -f "$TMP/hk"
ssh-keygen -q -t ed25519 -N 'a passphrase' -C locked -f "$TMP/locked"
hk_fp=$(ssh-keygen -l -f "$TMP/hk.pub" | awk '{print $2}')
run 0 target add db1 --ssh 127.0.0.1:2201 --login care --identity "$TMP/id" \
	--host-key "$TMP/hk.pub"
out_has "host key of 127.0.0.1:2201: $hk_fp (ssh-ed25519)"
# A known_hosts / ssh-keyscan line.
echo "[127.0.0.1]:2202 $(cut -d' ' -f1,2 "$TMP/hk.pub")" >"$TMP/known_hosts"
run 0 target add db2 --ssh 127.0.0.1:2202 --login care --identity "$TMP/id" \
	--host-key "$TMP/known_hosts"
out_has "$hk_fp"
run 1 target add db1 --ssh 127.0.0.1:2201 --login care --identity "$TMP/id" \
	--host-key "$TMP/hk.pub"
err_has "target db1 already exists"
run 1 target add db3 --ssh 127.0.0.1:2203 --login care \
	--identity "$TMP/locked" --host-key "$TMP/hk.pub"
err_has "passphrase"
run 1 target add db3 --ssh 127.0.0.1:2203 --login care \
	--identity "$TMP/hk.pub" --host-key "$TMP/hk.pub"
run 1 target add db3 --ssh 127.0.0.1:2203 --login care --identity "$TMP/id" \
	--host-key "$CONF"
run 2 target add db3 --ssh 127.0.0.1:2203 --login care --host-key "$TMP/hk.pub"
run 2 target add db3 --ssh 127.0.0.1:2203 --login care --identity "$TMP/id" \
	--host-key "$TMP/hk.pub" --scan
run 2 target add db3 --ssh 127.0.0.1:2203 --login care --identity "$TMP/id"
run 2 target add db3 --ssh no-port --login care --identity "$TMP/id" \
	--host-key "$TMP/hk.pub"
run 2 target add db3 --ssh 'db_3!.example:22' --login care \
	--identity "$TMP/id" --host-key "$TMP/hk.pub"
err_has "host name"
run 2 target add DB3 --ssh 127.0.0.1:2203 --login care --identity "$TMP/id" \
	--host-key "$TMP/hk.pub"
for bad in 0.0.0.0:22 '[::]:22' 0.1.2.3:22 255.255.255.255:22 224.0.0.1:22 \
	239.255.255.250:22 '[ff02::1]:22' '[::ffff:0.0.0.0]:22' \
	'[::ffff:224.0.0.1]:22' 0:22 0x7f000001:22 127.1:22 4294967295:22; do
	run 2 target add db3 --ssh "$bad" --login care --identity "$TMP/id" \
		--host-key "$TMP/hk.pub"
	err_has "invalid --ssh '$bad'"
done
run 2 target add db3 --ssh 0.0.0.0:22 --login care --identity "$TMP/id" \
	--host-key "$TMP/hk.pub"
err_has "0.0.0.0 is an unspecified (0.0.0.0/8) address, not a host"
run 2 target add db3 --ssh '[::]:22' --login care --identity "$TMP/id" \
	--host-key "$TMP/hk.pub"
err_has ":: is the unspecified address"
run 2 target add db3 --ssh 255.255.255.255:22 --login care \
	--identity "$TMP/id" --host-key "$TMP/hk.pub"
err_has "the broadcast address"
run 2 target add db3 --ssh '[ff02::1]:22' --login care --identity "$TMP/id" \
	--host-key "$TMP/hk.pub"
err_has "a multicast address"
run 2 target add db3 --ssh 0:22 --login care --identity "$TMP/id" \
	--host-key "$TMP/hk.pub"
err_has "four decimal numbers"
run 2 target add db3 --ssh 127.0.0.1:2203 --login $'ca\x1bre' \
	--identity "$TMP/id" --host-key "$TMP/hk.pub"
err_has "--login must be one line of text without control characters"
no_raw_controls "$ERR"
run 2 target add db3 --ssh 127.0.0.1:2203 --login $'ca\xffre' \
	--identity "$TMP/id" --host-key "$TMP/hk.pub"
err_has "--login is not valid UTF-8"
run 0 target list
out_has db1
out_has "$hk_fp"
run 0 target list --json
json_ok
json_check "sorted(t['name'] for t in j) == ['db1', 'db2']"
json_check "j[0]['port'] in (2201, 2202) and j[0]['login'] == 'care'"
json_check "all(t['host_key_sha256'] == '$hk_fp' for t in j)"

# --scan against a real sshd on loopback, when one can be started.
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
if [[ -x $SSHD ]]; then
	mkdir -p /run/sshd 2>/dev/null || true
	ssh-keygen -q -t ed25519 -N '' -f "$TMP/sshd_key"
	port=$(python3 -c 'import socket; s=socket.socket(); \
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	cat >"$TMP/sshd_config" <<EOF
ListenAddress 127.0.0.1:$port
HostKey $TMP/sshd_key
PidFile none
UsePAM no
EOF
	"$SSHD" -D -e -f "$TMP/sshd_config" 2>"$TMP/sshd.log" &
	SSHD_PID=$!
	for _ in $(seq 50); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	if kill -0 "$SSHD_PID" 2>/dev/null; then
		echo "== target add --scan (sshd on 127.0.0.1:$port)"
		scan_fp=$(ssh-keygen -l -f "$TMP/sshd_key.pub" | awk '{print $2}')
		run 0 target add db3 --ssh "127.0.0.1:$port" --login care \
			--identity "$TMP/id" --scan
		out_has "host key of 127.0.0.1:$port: $scan_fp (ssh-ed25519)"
		kill "$SSHD_PID" && wait "$SSHD_PID" 2>/dev/null || true
		SSHD_PID=
		run 1 target add db4 --ssh "127.0.0.1:$port" --login care \
			--identity "$TMP/id" --scan
	else
		echo "(sshd did not start; --scan not tested)"
		SSHD_PID=
	fi
fi

echo "== roles"
run 0 role add oncall --max-activation 4h
run 1 role add oncall
err_has "role oncall already exists"
run 2 role add broken --max-session 5x
run 2 role add broken --channels shell,bogus
for bad in 'shell,' ',shell' 'shell,,exec' ','; do
	run 2 role add broken --channels "$bad"
	err_has "invalid --channels '$bad': an empty item"
done
run 2 role add broken --channels ''
err_has "at least one kind"
run 0 role add readonly --idle-timeout 15m --channels shell,sftp
run 0 role add nightly --warn-before 30s,90s
for bad in '' '0s' '5x' '1m,' '4m,3m,2m,1m,30s'; do
	run 2 role add broken --warn-before "$bad"
	err_has "warn-before"
done
run 0 role add quiet --warn-before none
run 0 role grant oncall db1
run 1 role grant oncall db1
err_has "already grants"
run 1 role grant oncall nodb
err_has "no target nodb"
run 1 role grant norole db1
err_has "no role norole"
run 0 role list
out_has oncall
out_has 4h
run 0 role list --json
json_ok
json_check "[r for r in j if r['name'] == 'oncall'][0]['targets'] == ['db1']"
json_check "[r for r in j if r['name'] == 'oncall'][0]['max_activation'] \
== 14400"
json_check "[r for r in j if r['name'] == 'readonly'][0]['channels'] == \
['shell', 'sftp']"
json_check "[r for r in j if r['name'] == 'readonly'][0]['warn_before'] == \
[300, 60]"
json_check "[r for r in j if r['name'] == 'nightly'][0]['warn_before'] == \
[90, 30]"
json_check "[r for r in j if r['name'] == 'quiet'][0]['warn_before'] == []"
run 0 role set quiet --warn-before 2m
run 0 role list
out_has "warn-before 1m30s,30s"
out_has "warn-before 2m"
run 0 role set nightly --idle-timeout 1h
run 0 role list --json
json_check "[r for r in j if r['name'] == 'nightly'][0]['warn_before'] == \
[90, 30]"
json_check "[r for r in j if r['name'] == 'quiet'][0]['warn_before'] == [120]"

echo "== assignments"
run 0 assign alice oncall --eligible
run 1 assign alice oncall --eligible
err_has "already holds"
run 2 assign alice oncall
run 2 assign alice oncall --eligible --active
run 2 assign alice readonly --active --from yesterday
run 1 assign alice readonly --active --until 2000-01-01T00:00:00Z
err_has "not in the future"
run 1 assign alice readonly --active --from 2031-01-01T00:00:00Z \
	--until 2030-01-01T00:00:00Z
run 1 assign nobody oncall --eligible
err_has "no user nobody"
run 1 assign alice norole --eligible
run 0 assign alice readonly --active --from 2020-01-01T00:00:00Z \
	--until 2099-01-01T00:00:00Z
run 0 assignments
out_has readonly
out_has 2099-01-01T00:00:00Z
run 0 assignments --json
json_ok
json_check "len(j) == 2"
json_check "[a for a in j if a['role'] == 'readonly'][0]['until'] == \
'2099-01-01T00:00:00Z'"
json_check "[a for a in j if a['role'] == 'oncall'][0]['from'] is None"

echo "== activations"
run 0 activate alice oncall --for 1h --reason "care plan fix, ticket 42"
grep -qxE '[0-9]+' "$OUT" || fail "activate did not print the id alone"
err_has "is active"
act=$(cut -d' ' -f1 "$OUT")
run 1 activate alice oncall --for 9h --reason "too long"
run 1 activate dave oncall --for 1h --reason "not eligible"
run 2 activate alice oncall --for 1h
run 2 activate alice oncall --for 1x --reason x
run 0 activations
out_has "care plan fix, ticket 42"
out_has active
run 0 activations --json
json_ok
json_check "j[0]['id'] == $act and j[0]['state'] == 'active'"
json_check "j[0]['user'] == 'alice' and j[0]['role'] == 'oncall'"
run 0 revoke "$act"
run 0 activations --json
json_check "j[0]['state'] == 'revoked'"
run 1 revoke "$act"
err_has "activation $act is revoked, not active"
run 1 revoke 9999
err_has "no activation 9999"
run 2 revoke abc
run 2 activate alice oncall --for 1h --reason $'two\nlines'

echo "== free text"
run 2 activate alice oncall --for 1h --reason $'bad \xff byte'
err_has "--reason is not valid UTF-8 text"
run 2 activate alice oncall --for 1h --reason $'overlong \xc0\xaf slash'
err_has "not valid UTF-8"
run 2 activate alice oncall --for 1h --reason $'surrogate \xed\xa0\x80'
err_has "not valid UTF-8"
run 2 activate alice oncall --for 1h --reason $'tab\there'
err_has "without control characters (it holds U+0009)"
run 2 activate alice oncall --for 1h --reason $'esc \x1b[2J'
err_has "(it holds U+001B)"
run 2 activate alice oncall --for 1h --reason $'del \x7f'
err_has "(it holds U+007F)"
run 2 activate alice oncall --for 1h --reason $'c1 \xc2\x9b31m'
err_has "(it holds U+009B)"
run 2 activate alice oncall --for 1h --reason $'ticket \xe2\x80\xae24'
err_has "bidirectional override or isolate characters (it holds U+202E)"
run 2 activate alice oncall --for 1h --reason $'isolate \xe2\x81\xa6x'
err_has "(it holds U+2066)"
run 2 activate alice oncall --for 1h --reason "$(printf 'x%.0s' {1..512})"
err_has "--reason is too long: at most 511 bytes"
run 0 activations --json
json_check "[a['state'] for a in j] == ['revoked']"
# A pending request (as approval-gated roles leave them) and an active
# activation whose window has passed, as the store holds them.
python3 - "$STATE/pimgate.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for state, start, end in (("pending", 4102444800, 4102448400),
                          ("active", 1000000000, 1000003600)):
    db.execute("INSERT INTO activations (user_id, role_id, state, start,"
               " \"end\", reason, requested_by, created) VALUES ("
               "(SELECT id FROM users WHERE name = 'alice'),"
               "(SELECT id FROM roles WHERE name = 'oncall'), ?, ?, ?,"
               " 'test', 'alice', 1000000000)", (state, start, end))
db.commit()
EOF
run 0 activations --json
pending=$(python3 -c 'import json,sys; print([a["id"] for a in
json.load(open(sys.argv[1])) if a["state"] == "pending"][0])' "$OUT")
past=$(python3 -c 'import json,sys; print([a["id"] for a in
json.load(open(sys.argv[1])) if a["state"] == "expired"][0])' "$OUT")
run 0 revoke "$pending"
out_has denied
run 1 revoke "$pending"
err_has "activation $pending is denied, not active"
run 1 revoke "$past"
err_has "activation $past is expired, not active"

echo "== rows already stored with bad bytes"
python3 - "$STATE/pimgate.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
bad = b"bad \xff\xfe \x1b[31m red \xc2\x9b \xe2\x80\xae end \xe2\x82"
db.execute("INSERT INTO activations (user_id, role_id, state, start,"
           " \"end\", reason, requested_by, created, ended) VALUES ("
           "(SELECT id FROM users WHERE name = 'alice'),"
           "(SELECT id FROM roles WHERE name = 'oncall'), 'denied',"
           " 1000000000, 1000003600, CAST(? AS TEXT), 'alice', 1000000000,"
           " 1000000001)", (bad,))
db.execute("INSERT INTO users (name, enabled, created) VALUES"
           " (CAST(? AS TEXT), 1, 1000000000)", (b"mal\xffory\x1b",))
db.commit()
EOF
run 0 activations --json
json_ok
json_check "[a for a in j if a['state'] == 'denied' and \
a['reason'].startswith('bad ')][0]['reason'] == \
'bad \ufffd\ufffd \x1b[31m red \x9b \u202e end \ufffd\ufffd'"
run 0 activations
out_has "bad ?? ?[31m red ? ? end ??"
no_raw_controls "$OUT"
run 0 user list --json
json_ok
json_check "'mal\ufffdory\x1b' in [u['name'] for u in j]"
run 0 user list
out_has "mal?ory?"
no_raw_controls "$OUT"
python3 - "$STATE/pimgate.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("DELETE FROM users WHERE name = CAST(? AS TEXT)",
           (b"mal\xffory\x1b",))
db.commit()
EOF

echo "== unassign ends live activations"
# A live activation and a pending request of the role, and a pending
# request of another role that unassign must leave alone.
run 0 activate alice oncall --for 1h --reason "soin à domicile, ticket 7"
live=$(cut -d' ' -f1 "$OUT")
run 0 activations --json
json_check "[a for a in j if a['id'] == $live][0]['reason'] == \
'soin à domicile, ticket 7'"
python3 - "$STATE/pimgate.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for role in ("oncall", "readonly"):
    db.execute("INSERT INTO activations (user_id, role_id, state, start,"
               " \"end\", reason, requested_by, created) VALUES ("
               "(SELECT id FROM users WHERE name = 'alice'),"
               "(SELECT id FROM roles WHERE name = ?), 'pending',"
               " 4102444800, 4102448400, 'later', 'alice', 1000000000)",
               (role,))
db.commit()
EOF
run 0 activations --json
pending2=$(python3 -c 'import json,sys; print([a["id"] for a in
json.load(open(sys.argv[1])) if a["state"] == "pending" and
a["role"] == "oncall"][0])' "$OUT")
other=$(python3 -c 'import json,sys; print([a["id"] for a in
json.load(open(sys.argv[1])) if a["state"] == "pending" and
a["role"] == "readonly"][0])' "$OUT")
run 0 unassign alice oncall
out_has "unassign alice oncall; ended activations $pending2, $live"
run 0 activations --json
json_check "[a for a in j if a['id'] == $live][0]['state'] == 'revoked'"
json_check "[a for a in j if a['id'] == $pending2][0]['state'] == 'cancelled'"
json_check "[a for a in j if a['id'] == $other][0]['state'] == 'pending'"
json_check "[a for a in j if a['id'] == $past][0]['state'] == 'expired'"
json_check "[a for a in j if a['id'] == $act][0]['state'] == 'revoked'"
# Assigning the role again revives nothing.
run 0 assign alice oncall --eligible
run 0 activations --json
json_check "not [a for a in j if a['role'] == 'oncall' and \
a['state'] in ('active', 'pending')]"
run 0 unassign alice oncall
out_has "unassign alice oncall"
out_lacks "ended"
run 1 unassign alice oncall
err_has "alice holds no assignment of oncall"

echo "== sessions and replay"
run 0 sessions
out_has RECORDING
run 0 sessions --json
json_check "j == []"
run 1 replay 1
err_has "no session 1"
run 2 replay 1 --speed fast
for bad in 0.001 0.009 1000.5 1001 -1 +1 1e2 0x10 inf nan ' 1' 1..2 .; do
	run 2 replay 1 --speed "$bad"
	err_has "invalid --speed '$bad': 0 (no delay) or a number from 0.01 to"
done
# In range: parsed, then refused for the missing session (exit 1).
for good in 0 0.0 0.01 .5 1 1000; do
	run 1 replay 1 --speed "$good"
	err_has "no session 1"
done
# A finished session with one recording, as the daemon would leave it.
cat >"$STATE/recordings/1.cast" <<'EOF'
{"version": 2, "width": 80, "height": 24, "timestamp": 1767225600}
[0.1, "o", "hello from the recording\r\n"]
[0.2, "o", "bye\r\n"]
EOF
python3 - "$STATE/pimgate.db" "$STATE/recordings/1.cast" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("INSERT INTO sessions (id, user_id, target_id, role_id, user,"
           " target, role, protocol, peer, start, deadline, \"end\","
           " end_reason, bytes_in, bytes_out) VALUES (1, 1, 1, 1, 'alice',"
           " 'db1', 'oncall', 'ssh', '127.0.0.1:40000', 1767225600,"
           " 1767229200, 1767225660, 'exit', 10, 35)")
db.execute("INSERT INTO recordings (session_id, seq, path) VALUES (1, 1, ?)",
           (sys.argv[2],))
db.commit()
EOF
run 0 sessions
out_has "2026-01-01T00:00:00Z"
out_has exit
run 0 sessions --json
json_check "j[0]['id'] == 1 and j[0]['end_reason'] == 'exit'"
json_check "j[0]['bytes_out'] == 35 and j[0]['live'] is False"
run 0 replay 1 --speed 0
out_has "hello from the recording"
out_has bye
run 0 replay 1 --speed 1000
out_has bye

echo "== mfa"
run 0 help user
out_has "user mfa enroll NAME [--mfa-at-login]"
out_has "user mfa disable NAME"
run 0 user add mallory
run 0 user mfa enroll mallory
uri=$(grep '^otpauth://' "$OUT") || fail "enroll printed no otpauth URI"
[[ $(grep -c '^otpauth://' "$OUT") == 1 ]] || fail "more than one URI"
[[ $uri =~ ^otpauth://totp/pimgate:mallory\?secret=([A-Z2-7]{32})\&issuer=pimgate\&algorithm=SHA1\&digits=6\&period=30$ ]] ||
	fail "otpauth URI malformed: $uri"
MFA_SECRET=${BASH_REMATCH[1]}
out_has "privately"
# The QR block: at least 10 lines of one width, only half and full blocks
# and spaces, with a light quiet zone (full blocks) on top.
python3 - "$OUT" <<'EOF' || fail "no well-formed QR block on stdout"
import sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
qr = [l for l in lines if l and set(l) <= set("\u2580\u2584\u2588 ")]
assert len(qr) >= 10, len(qr)
assert len({len(l) for l in qr}) == 1
w = len(qr[0])
assert (w - 8) % 4 == 1 and w >= 29, w  # 21 + 4k modules + 2 x 4 quiet
assert qr[0] == "\u2588" * w and qr[1] == "\u2588" * w
assert len(qr) == (w + 1) // 2
EOF
code=$(oathtool --totp -b "$MFA_SECRET") || fail "oathtool refused the secret"
[[ $code =~ ^[0-9]{6}$ ]] || fail "oathtool gave '$code', not 6 digits"
python3 - "$STATE/pimgate.db" <<'EOF' || fail "enroll did not store MFA"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
s, at, step = db.execute("SELECT mfa_secret, mfa_at_login, totp_step"
                         " FROM users WHERE name = 'mallory'").fetchone()
assert s is not None and len(s) > 20 and at == 0 and step == 0
db.execute("UPDATE users SET totp_step = 99 WHERE name = 'mallory'")
db.commit()
EOF
# Re-enrolling replaces the secret and forgets the used steps.
run 0 user mfa enroll mallory --mfa-at-login
uri2=$(grep '^otpauth://' "$OUT") || fail "re-enroll printed no URI"
[[ $uri2 != "$uri" ]] || fail "re-enroll kept the same secret"
[[ $uri2 =~ secret=([A-Z2-7]{32}) ]] || fail "otpauth URI malformed: $uri2"
MFA_SECRET2=${BASH_REMATCH[1]}
python3 - "$STATE/pimgate.db" <<'EOF' || fail "re-enroll did not reset"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
at, step = db.execute("SELECT mfa_at_login, totp_step FROM users"
                      " WHERE name = 'mallory'").fetchone()
assert at == 1 and step == 0, (at, step)
EOF
# The secrets, in base32 or as raw bytes, are nowhere in the database.
for sec in "$MFA_SECRET" "$MFA_SECRET2"; do
	hex=$(python3 -c 'import base64,sys; print(base64.b32decode(sys.argv[1]).hex())' "$sec")
	if command -v sqlite3 >/dev/null; then
		sqlite3 "$STATE/pimgate.db" .dump >"$TMP/dump.sql"
	else
		python3 -c 'import sqlite3,sys; print("\n".join(sqlite3.connect(sys.argv[1]).iterdump()))' \
			"$STATE/pimgate.db" >"$TMP/dump.sql"
	fi
	grep -qiF -- "$sec" "$TMP/dump.sql" && fail "MFA secret in the dump"
	grep -qiF -- "$hex" "$TMP/dump.sql" && fail "raw MFA secret in the dump"
	python3 - "$STATE/pimgate.db" "$hex" "$sec" <<'EOF' ||
import sys
data = open(sys.argv[1], "rb").read()
sys.exit(bytes.fromhex(sys.argv[2]) in data or sys.argv[3].encode() in data)
EOF
		fail "MFA secret in the database file"
done
run 1 user mfa enroll nobody
err_has "no user nobody"
run 1 user mfa disable nobody
err_has "no user nobody"
run 2 user mfa enroll
run 2 user mfa enroll mallory extra
run 2 user mfa enroll mallory --bogus
run 2 user mfa enroll 'Bad!Name'
run 2 user mfa disable
run 0 user mfa disable mallory
python3 - "$STATE/pimgate.db" <<'EOF' || fail "disable left the secret"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
s, at = db.execute("SELECT mfa_secret, mfa_at_login FROM users"
                   " WHERE name = 'mallory'").fetchone()
assert s is None and at == 0
EOF
run 1 user mfa disable mallory
err_has "no authenticator enrolled"
python3 - "$STATE/pimgate.db" "$MFA_SECRET" "$MFA_SECRET2" <<'EOF'
import base64, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
details = [r[0] for r in db.execute("SELECT detail FROM audit")]
for w in ["user mfa enroll mallory (at login: no)",
          "user mfa enroll mallory (at login: yes; replaces the previous",
          "user mfa disable mallory"]:
    if not any(d.startswith(w) for d in details):
        sys.exit("FAIL: no audit event '%s'" % w)
for sec in sys.argv[2:]:
    raw = base64.b32decode(sec)
    if any(sec in d or raw.hex() in d.lower() for d in details):
        sys.exit("FAIL: an MFA secret is in the audit trail")
EOF

echo "== secrets never shown"
grep -qF -- "$PASSWORD" "$ALL" && fail "the password was printed"
for key in "$TMP/id" "$TMP/locked"; do
	while read -r line; do
		if grep -qF -- "$line" "$ALL"; then
			fail "private key material of $key was printed"
		fi
		if grep -qaF -- "$line" "$STATE/pimgate.db"; then
			fail "private key material of $key is in the database"
		fi
	done < <(sed '1d;$d' "$key")
done
grep -qaF -- "$PASSWORD" "$STATE/pimgate.db" &&
	fail "the password is in the database in clear"

echo "== PIM role settings, requests and approvals"
run 0 user add bobby
run 0 user add erin
run 2 role add clients-db --require-approval 2
err_has "needs --approvers"
run 2 role add clients-db --ticket-pattern 'INC-[0-9'
err_has "not a valid extended regular expression"
run 2 role add clients-db --require-mfa --no-require-mfa
run 2 role add clients-db --require-approval many --approvers bobby
run 0 role add clients-db --max-activation 4h --require-justification \
	--min-reason-length 10 --require-ticket --ticket-pattern 'INC-[0-9]+' \
	--require-approval 2 --approvers bobby,leads --approval-ttl 2h \
	--no-permanent-active --max-assignment 30d
run 0 role add leads
run 0 role list
out_has "approvals 2 of bobby,leads within 2h"
out_has "ticket~INC-[0-9]+"
run 0 role list --json
json_ok
json_check "[r for r in j if r['name'] == 'clients-db'][0]['approvals'] == 2"
json_check "[r for r in j if r['name'] == 'clients-db'][0]['approvers'] == \
'bobby,leads'"
json_check "[r for r in j if r['name'] == 'clients-db'][0]\
['ticket_pattern'] == 'INC-[0-9]+'"
json_check "[r for r in j if r['name'] == 'clients-db'][0]\
['allow_permanent_active'] is False"
json_check "[r for r in j if r['name'] == 'clients-db'][0]\
['allow_permanent_eligible'] is True"
json_check "[r for r in j if r['name'] == 'clients-db'][0]\
['max_assignment'] == 30 * 86400"
json_check "[r for r in j if r['name'] == 'leads'][0]['approval_ttl'] == \
86400"
json_check "[r for r in j if r['name'] == 'leads'][0]['require_mfa'] is False"

run 1 assign alice clients-db --active
err_has "role clients-db allows no permanent active assignment; give --until"
run 1 assign alice clients-db --active --until 2099-01-01T00:00:00Z
err_has "at most 30d"
run 0 assign alice clients-db --eligible
run 0 assign erin leads --active

run 1 activate alice clients-db --for 5h --reason "care plan update" \
	--ticket INC-7
err_has "role clients-db allows at most 4h per activation"
run 1 activate alice clients-db --for 1h --reason "short" --ticket INC-7
err_has "at least 10 characters"
run 1 activate alice clients-db --for 1h --reason "care plan update" \
	--ticket X-1
err_has "role clients-db needs a ticket number matching INC-[0-9]+"
run 2 activate alice clients-db --for 1h --reason "care plan update" \
	--start tomorrow
run 0 activate alice clients-db --for 1h --reason "care plan update" \
	--ticket INC-7 --by alice
grep -qxE '[0-9]+' "$OUT" || fail "activate did not print the id alone"
err_has "is pending approval"
req=$(cut -d' ' -f1 "$OUT")
run 1 activate alice clients-db --for 1h --reason "care plan update" \
	--ticket INC-8
err_has "waiting for approval"
run 0 requests --json
json_ok
json_check "[(r['approvals'], r['needed'], r['ticket']) for r in j \
if r['id'] == $req] == [(0, 2, 'INC-7')]"
run 2 approve "$req"
run 2 approve nope --by bobby
run 1 approve "$req" --by alice
err_has "you cannot approve your own request"
run 1 approve "$req" --by mallory
err_has "mallory is not an approver of role clients-db"
run 1 approve 9999 --by bobby
run 0 approve "$req" --by bobby --reason "looks right"
out_has "$req pending"
run 1 approve "$req" --by bobby
err_has "you already approved request $req"
run 0 requests
out_has "1/2 bobby"
run 0 approve "$req" --by erin
out_has "$req active"
run 0 requests --json
json_check "not [r for r in j if r['id'] == $req]"
run 0 activations --json
json_check "[a for a in j if a['id'] == $req][0]['state'] == 'active'"
run 0 revoke "$req"

run 1 role set nope --require-mfa
run 2 role set clients-db --require-approval 3 --approvers ''
run 0 role set clients-db --require-approval 1 --approvers bobby
run 0 activate alice clients-db --for 1h --reason "care plan update" \
	--ticket INC-9
req=$(cut -d' ' -f1 "$OUT")
run 2 deny "$req" --by bobby
run 0 deny "$req" --by bobby --reason "not today"
out_has "$req denied"
run 1 approve "$req" --by bobby
err_has "not pending"

run 0 role add emergency --break-glass
run 0 assign alice emergency --eligible
run 1 activate alice emergency --for 1h --reason "server room flooded"
err_has "role emergency needs MFA, and alice has none enrolled: ask an \
admin to run 'pimctl user mfa enroll alice'"
python3 - "$STATE/pimgate.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT outcome, detail FROM audit").fetchall()
want = [("ok", "role add clients-db"), ("ok", "role set clients-db"),
        ("refused", "activate alice clients-db refused: role clients-db "
         "allows at most 4h"),
        ("refused", "approve request"), ("ok", "approve request"),
        ("ok", "deny request"),
        ("refused", "activate alice emergency refused: role emergency "
         "needs MFA")]
for o, w in want:
    if not any(r[0] == o and r[1].startswith(w) for r in rows):
        sys.exit("FAIL: no %s audit event '%s'" % (o, w))
EOF

echo "== audit trail"
python3 - "$STATE/pimgate.db" "$PASSWORD" <<'EOF'
import getpass, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT actor, event, detail FROM audit").fetchall()
details = [r[2] for r in rows]
want = ["user add alice", "user disable alice", "user enable alice",
        "target add db1", "role add oncall", "role grant oncall db1",
        "assign alice oncall", "activate alice oncall",
        "revoke activation", "unassign alice oncall", "init "]
for w in want:
    if not any(d.startswith(w) for d in details):
        sys.exit("FAIL: no audit event '%s' in %r" % (w, details))
if any(r[1] != "admin" or not r[0].startswith("admin:") for r in rows):
    sys.exit("FAIL: audit actor/event wrong: %r" % rows)
if not any(d.startswith("unassign alice oncall; ended activations ")
           for d in details):
    sys.exit("FAIL: unassign did not audit the activations it ended")
if any(sys.argv[2] in d for d in details):
    sys.exit("FAIL: the password is in the audit trail")
EOF

echo "PASS: t_pimctl"
