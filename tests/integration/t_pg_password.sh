#!/usr/bin/env bash
# Password login to the PostgreSQL gateway ([postgres] password_auth):
# without it a connection without a client certificate is refused 28000;
# with it the gateway asks for the bastion password inside TLS only
# (AuthenticationCleartextPassword), a wrong one is refused 28P01 and
# audited, a user enrolled with --mfa-at-login gives password + the 6
# digits of the current code (each code works once), and a quick burst of
# wrong passwords from one address runs into the password budget ("too
# many password attempts") while a right one works again a moment later.
# Plaintext is refused in both modes.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_pg.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_pg.sh"

# pw_probe USER TARGET PASSWORD [N]: N (1) raw start-ups at once, inside
# TLS without a client certificate, answering a request for a cleartext
# password with PASSWORD ("-": the probe gives up when asked). One line
# per attempt: "error SEVERITY SQLSTATE MESSAGE", "ready" (admitted),
# "auth N" (asked for something else, or asked twice), "closed",
# "tls-failed REASON". pg_probe of lib_pg.sh sends no password.
pw_probe() {
	python3 - "$PG_GW_PORT" "$STATE/ca.crt" "$@" <<'PY'
import socket, ssl, struct, sys, threading

port, ca, user, db, password = sys.argv[1:6]
count = int(sys.argv[6]) if len(sys.argv) > 6 else 1

def attempt():
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=20)
    s.sendall(struct.pack("!II", 8, 80877103))
    if s.recv(1) != b"S":
        return "no-tls"
    ctx = ssl.create_default_context(cafile=ca)
    try:
        s = ctx.wrap_socket(s, server_hostname="127.0.0.1")
    except (ssl.SSLError, OSError) as e:
        return "tls-failed %s" % e
    body = struct.pack("!I", 196608)
    for k, v in (("user", user), ("database", db)):
        body += k.encode() + b"\0" + v.encode() + b"\0"
    body += b"\0"
    s.sendall(struct.pack("!I", len(body) + 4) + body)
    buf = b""
    asked = False

    def read(n):
        nonlocal buf
        while len(buf) < n:
            try:
                chunk = s.recv(65536)
            except (ssl.SSLError, OSError):
                chunk = b""
            if not chunk:
                return None
            buf += chunk
        out, buf = buf[:n], buf[n:]
        return out

    while True:
        head = read(5)
        if head is None:
            return "closed"
        (length,) = struct.unpack("!I", head[1:5])
        data = read(length - 4)
        if data is None:
            return "closed"
        kind = head[:1]
        if kind == b"E":
            f = {}
            for part in data.split(b"\0"):
                if part:
                    f[chr(part[0])] = part[1:].decode("utf-8", "replace")
            return "error %s %s %s" % (f.get("S", "?"), f.get("C", "?"),
                                       f.get("M", ""))
        if kind == b"R":
            (code,) = struct.unpack("!I", data[:4])
            if code == 3 and not asked and password != "-":
                asked = True
                pw = password.encode() + b"\0"
                s.sendall(b"p" + struct.pack("!I", len(pw) + 4) + pw)
                continue
            if code != 0:
                return "auth %d" % code
        if kind == b"Z":
            s.sendall(b"X" + struct.pack("!I", 4))
            return "ready"

results = [None] * count

def run(i):
    try:
        results[i] = attempt()
    except OSError as e:
        results[i] = "failed %s" % e

threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for r in results:
    print(r)
PY
}

# pw_conninfo USER [SSLMODE]: to the bastion without a client certificate
# (the files named do not exist, so libpq sends none).
pw_conninfo() {
	gw_conninfo "$1" pgdb "$T/none.crt" "$T/none.key" "${2:-verify-full}"
}

# pw_psql NAME PASSWORD CONNINFO [PSQL-ARG...]: psql with PGPASSWORD,
# run_capture'd as NAME.
pw_psql() {
	local name=$1 password=$2 conninfo=$3
	shift 3
	PGPASSWORD=$password run_capture "$name" gw_psql_ci "$conninfo" "$@"
}

# Refused unchecked because of the password budget (earlier attempts of
# this test from 127.0.0.1): not what a check is about, so tried again.
over_budget() { [[ "$1" == *"too many password attempts"* ]]; }

# pw_psql_try NAME PASSWORD CONNINFO [PSQL-ARG...]: pw_psql until the
# answer is not a refusal by the budget (polled, 15 s).
pw_psql_try() {
	wait_until pw_psql_once "$@" --timeout 15 ||
		fail "$1: still over the password budget after 15 s: $ERR"
}
pw_psql_once() {
	pw_psql "$@"
	! over_budget "$ERR"
}

# pw_probe_try USER TARGET PASSWORD: one pw_probe until its answer is not
# a refusal by the budget; the answer in PROBE.
pw_probe_try() {
	wait_until pw_probe_once "$@" --timeout 15 ||
		fail "probe as $1: still over the password budget: $PROBE"
}
pw_probe_once() {
	PROBE=$(pw_probe "$@")
	! over_budget "$PROBE"
}

# expect_pw_refused WHAT PASSWORD MESSAGE-ERE AUDIT-NEEDLE [USER]: psql
# with PASSWORD is refused with a FATAL matching MESSAGE-ERE, the query
# does not run, a raw start-up gets FATAL 28P01, and the audit gains a
# refused login with sqlstate=28P01 and AUDIT-NEEDLE.
expect_pw_refused() {
	local what=$1 password=$2 re=$3 needle=$4 user=${5:-alice} mark
	mark=$(audit_max_id)
	pw_psql_try refused "$password" "$(pw_conninfo "$user")" \
		-At -c "SELECT 'ADMITTED'"
	((RC != 0)) || fail "$what: admitted (exit 0); output: $OUT"
	[[ "$OUT" != *ADMITTED* ]] || fail "$what: the query ran"
	assert_match "$ERR" "FATAL: .*($re)" "$what: psql's error"
	wait_until pg_audit_refusal "$mark" "sqlstate=28P01" "$needle" \
		--timeout 5 || fail "$what: no refused login with" \
		"sqlstate=28P01 and '$needle' in the audit; new entries:" \
		"$(audit_since "$mark")"
	pw_probe_try "$user" pgdb "$password"
	[[ "$PROBE" == "error FATAL 28P01 "* ]] ||
		fail "$what: a raw start-up got '$PROBE', not FATAL 28P01"
	assert_match "$PROBE" "$re" "$what: the raw start-up's message"
	log "$what: refused: ${PROBE#error FATAL 28P01 }"
}

# expect_pw_admitted WHAT PASSWORD [SSLMODE]: psql with PASSWORD runs a
# query; the audit gains an ok login by password.
expect_pw_admitted() {
	local what=$1 password=$2 sslmode=${3:-verify-full} mark
	mark=$(audit_max_id)
	pw_psql_try admitted "$password" "$(pw_conninfo alice "$sslmode")" \
		-At -c "SELECT 'ADMITTED', count(*) FROM clients"
	assert_eq 0 "$RC" "$what: psql's exit status (stderr: $ERR)"
	assert_eq "ADMITTED|5" "$OUT" "$what: the query's answer"
	[[ -n "$(sql "select id from audit where id > $mark and
		event = 'login' and outcome = 'ok' and
		instr(detail, 'method=password') > 0")" ]] ||
		fail "$what: no ok login by password in the audit; new" \
			"entries: $(audit_since "$mark")"
	log "$what: admitted"
}

expect_plaintext_refused() {
	local what=$1 probe
	pw_psql plain "$ALICE_PASSWORD" "$(pw_conninfo alice disable)" \
		-At -c "SELECT 'ADMITTED'"
	((RC != 0)) || fail "$what: plaintext admitted; output: $OUT"
	[[ "$OUT" != *ADMITTED* ]] || fail "$what: the query ran in plaintext"
	assert_match "$ERR" "FATAL: .*pimgate requires TLS" \
		"$what: psql's error in plaintext"
	probe=$(pg_probe alice pgdb "$T/none.crt" "$T/none.key" --plain)
	[[ "$probe" == "error FATAL 28000 "*"requires TLS"* ]] ||
		fail "$what: a plaintext start-up got '$probe'," \
			"not FATAL 28000 (requires TLS)"
	log "$what: plaintext refused: ${probe#error FATAL 28000 }"
}

start_postgres
pimgate_setup_pg
grant_pg_access 10m >/dev/null
make_client_cert alice pgdb
alice_cert=$CERT alice_key=$KEY

log "without password_auth (the default)"
start_pimgated_pg
mark=$(audit_max_id)
pw_psql nocert "$ALICE_PASSWORD" "$(pw_conninfo alice)" \
	-At -c "SELECT 'ADMITTED'"
((RC != 0)) || fail "no certificate, no password_auth: admitted: $OUT"
assert_match "$ERR" "FATAL: .*no client certificate" \
	"psql's error without a certificate"
[[ "$ERR" != *password* ]] ||
	fail "a password was asked for without password_auth: $ERR"
probe=$(pg_probe alice pgdb "$T/none.crt" "$T/none.key")
[[ "$probe" == "error FATAL 28000 "*"no client certificate"* ]] ||
	fail "no certificate: a raw start-up got '$probe', not FATAL 28000"
wait_until pg_audit_refusal "$mark" "sqlstate=28000" \
	"no client certificate" --timeout 5 ||
	fail "no refused login for the missing certificate in the audit"
expect_plaintext_refused "without password_auth"
run_capture cert gw_psql alice pgdb "$alice_cert" "$alice_key" \
	-At -c "SELECT 'CERT-OK'"
assert_eq CERT-OK "$OUT" "certificate login (stderr: $ERR)"

log "restarting pimgated with password_auth = yes"
stop_pid "$PIMGATED_PID"
assert_eq 0 "$STOP_STATUS" "pimgated's exit status on SIGTERM"
forget_pid "$PIMGATED_PID"
PIMGATED_PID=""
sed -i '/^\[postgres\]$/a password_auth = yes' "$CONF"
grep -qx 'password_auth = yes' "$CONF" || fail "could not edit $CONF"
start_pimgated_pg

log "a connection without a certificate is asked for a password in TLS"
probe=$(pg_probe alice pgdb "$T/none.crt" "$T/none.key")
assert_eq "auth 3" "$probe" \
	"the answer to a start-up without a certificate (cleartext password)"
expect_plaintext_refused "with password_auth"

expect_pw_admitted "the right password, sslmode=verify-full" \
	"$ALICE_PASSWORD"
expect_pw_admitted "the right password, sslmode=require" \
	"$ALICE_PASSWORD" require
sid=$(newest_session_id)
assert_eq alice "$(session_field "$sid" user)" "the session's user"
assert_eq pgdb "$(session_field "$sid" target)" "the session's target"

expect_pw_refused "a wrong password" "not-$ALICE_PASSWORD" \
	'password authentication failed' 'password authentication failed'
expect_pw_refused "an unknown user" "$ALICE_PASSWORD" \
	'password authentication failed' 'password authentication failed' \
	mallory
run_capture nopw gw_psql_ci "$(pw_conninfo alice)" -At -c "SELECT 1"
((RC != 0)) || fail "admitted without a password: $OUT"

log "a client certificate still works with password_auth"
run_capture cert gw_psql alice pgdb "$alice_cert" "$alice_key" \
	-At -c "SELECT 'CERT-OK'"
assert_eq CERT-OK "$OUT" "certificate login (stderr: $ERR)"

log "a burst of wrong passwords runs into the budget"
# Three seconds without password attempts refill this address's budget
# (2 a second, at most 6), so the burst starts from a full one.
wait_until clock_past "$(deadline_in 3)" --timeout 5 || fail "clock stuck"
mark=$(audit_max_id)
mapfile -t burst < <(pw_probe alice pgdb "wrong-$ALICE_PASSWORD" 12)
assert_eq 12 "${#burst[@]}" "answers to the burst"
n_budget=0
for r in "${burst[@]}"; do
	[[ "$r" == "error FATAL 28P01 "* ]] ||
		fail "a wrong password in the burst got '$r', not FATAL 28P01"
	! over_budget "$r" || n_budget=$((n_budget + 1))
done
log "burst: $n_budget of 12 refused unchecked"
((n_budget >= 1)) || fail "12 wrong passwords at once, none refused for" \
	"too many password attempts:"$'\n'"$(printf '%s\n' "${burst[@]}")"
((n_budget < 12)) || fail "no password of the burst was checked"
wait_until pg_audit_refusal "$mark" "too many password attempts" \
	--timeout 5 || fail "no audit entry for the unchecked attempts;" \
	"new entries: $(audit_since "$mark")"
log "a certificate login is not held back by the budget"
run_capture cert gw_psql alice pgdb "$alice_cert" "$alice_key" \
	-At -c "SELECT 'CERT-OK'"
assert_eq CERT-OK "$OUT" "certificate login after the burst (stderr: $ERR)"
log "the right password works again after a short wait"
right_again() { [[ "$(pw_probe alice pgdb "$ALICE_PASSWORD")" == ready ]]; }
wait_until right_again --timeout 15 ||
	fail "the right password is still refused 15 s after the burst:" \
		"$(pw_probe alice pgdb "$ALICE_PASSWORD")"

log "alice enrolled for a one-time code at login"
# The enrolment shows the new secret by design: not an artifact to grep.
secrets_exempt "$T/enroll.out"
pimctl user mfa enroll alice --mfa-at-login >"$T/enroll.out"
uri=$(grep '^otpauth://' "$T/enroll.out") || fail "enroll printed no URI"
[[ $uri =~ [?\&]secret=([A-Z2-7]+) ]] || fail "no secret in $uri"
SECRET=${BASH_REMATCH[1]}

code=$(oathtool --totp -b "$SECRET")
wrong=$(printf '%06d' $(((10#$code + 1) % 1000000)))
expect_pw_refused "password + a wrong code" "$ALICE_PASSWORD$wrong" \
	'one-time code is wrong' 'sqlstate=28P01'
expect_pw_refused "a wrong password + the right code" \
	"not-$ALICE_PASSWORD$code" 'password authentication failed' \
	'password authentication failed'

# One code for the login and its replay right after, so that a new time
# step in between cannot change the outcome.
code=$(oathtool --totp -b "$SECRET")
expect_pw_admitted "password + the current code" "$ALICE_PASSWORD$code"
expect_pw_refused "the same code a second time" "$ALICE_PASSWORD$code" \
	'already used' 'already used'

log "no password or code in the daemon's log or the audit"
if grep -qF -e "$ALICE_PASSWORD" -e "wrong-$ALICE_PASSWORD" \
	"$T/pimgated.log"; then
	fail "a password is in pimgated.log"
fi
if grep -v ' libssh ' "$T/pimgated.log" | grep -i 'password\|code\|totp' |
	grep -qwF -e "$code" -e "$wrong"; then
	fail "a one-time code is in pimgated.log"
fi
[[ -z "$(sql "select id from audit where instr(detail, '$code') > 0
	or instr(detail, '$ALICE_PASSWORD') > 0")" ]] ||
	fail "a password or code is in the audit"

# Last: the message the person gets when the code is missing.
expect_pw_refused "the password alone" "$ALICE_PASSWORD" \
	'6-digit code' 'sqlstate=28P01'

stop_all
