#!/usr/bin/env bash
# Client certificates for database targets, end to end with the real
# openssl and ssh clients: pimctl init makes the PostgreSQL listener's
# certificate (signed by the bastion CA); pimctl ca cert prints the CA;
# pimctl cert issue refuses without an activation and issues one valid no
# longer than it; ssh alice@bastion db-cert TARGET < FILE.csr does the
# same over self-service, refusing garbage, oversized input, another
# person's request and two requests at once; revoke and list, where a
# certificate whose activation was revoked shows as ended; pimgated will
# not start without its CA.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_sshd
pimgate_setup
CA=$STATE/ca.crt

# perm_is FILE MODE
perm_is() {
	local got
	got=$(stat -c %a "$1")
	assert_eq "$2" "$got" "mode of ${1#"$T"/}"
}

# cert_epoch FILE: the notAfter of certificate FILE, epoch seconds.
cert_epoch() {
	date -u -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%s
}

# cert_state SERIAL: the state `pimctl cert list --json` gives SERIAL.
cert_state() {
	pimctl cert list --json | python3 -c '
import json, sys
rows = [r for r in json.load(sys.stdin) if r["serial"] == sys.argv[1]]
print(rows[0]["state"] if rows else "")' "$1"
}

# add_pg_target NAME: a postgres target on a port nothing listens on
# (no database is reached here: the test is about certificates).
add_pg_target() {
	printf 'secret-db-password\n' | pimctl target add "$1" \
		--postgres "127.0.0.1:$(free_port)" --login care --password-stdin
}

log "init made the listener's certificate, signed by the CA"
[[ -f $STATE/pg_server.crt && -f $STATE/pg_server.key ]] ||
	fail "no pg_server.crt/key in $STATE"
perm_is "$STATE/pg_server.key" 600
perm_is "$STATE/pg_server.crt" 644
run_capture verify openssl verify -CAfile "$CA" -purpose sslserver \
	-verify_ip 127.0.0.1 "$STATE/pg_server.crt"
assert_eq 0 "$RC" "openssl verify of pg_server.crt (output: $OUT $ERR)"
openssl x509 -in "$STATE/pg_server.crt" -noout -ext subjectAltName |
	grep -q 'DNS:localhost' || fail "pg_server.crt does not name localhost"

log "pimctl ca cert prints ca.crt"
pimctl ca cert >"$T/ca-printed.crt"
cmp -s "$T/ca-printed.crt" "$CA" || fail "pimctl ca cert differs from ca.crt"

log "a database target, a role granting it, alice eligible"
add_pg_target clientsdb
pimctl role add dba
pimctl role grant dba clientsdb
pimctl assign alice dba --eligible
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/alice.key" -subj /CN=alice -out "$T/alice.csr" 2>/dev/null

log "cert issue is refused without an activation"
audit0=$(audit_max_id)
run_capture noact pimctl cert issue alice clientsdb --csr "$T/alice.csr"
assert_eq 1 "$RC" "exit status without an activation"
assert_contains "$ERR" "needs an active grant" "refusal"
[[ -z "$OUT" ]] || fail "a refused cert issue printed: $OUT"
assert_contains "$(audit_refusals_since "$audit0")" "cert.issue|refused" \
	"audit of the refusal"

log "cert issue under an activation"
act=$(pimctl activate alice dba --for 30m --reason "$TEST_NAME")
act_end=$(activation_end "$act")
run_capture issue pimctl cert issue alice clientsdb --csr "$T/alice.csr"
assert_eq 0 "$RC" "cert issue exit (stderr: $ERR)"
assert_contains "$ERR" "valid until" "cert issue note"
cp "$T/issue.out" "$T/alice.crt"
run_capture verify2 openssl verify -CAfile "$CA" -purpose sslclient \
	"$T/alice.crt"
assert_eq 0 "$RC" "openssl verify of alice.crt (output: $OUT $ERR)"
subject=$(openssl x509 -in "$T/alice.crt" -noout -subject -nameopt compat)
assert_contains "$subject" "CN=alice" "subject"
assert_contains "$subject" "OU=clientsdb" "subject"
# notAfter is the activation's end: not later, and not earlier either.
not_after=$(cert_epoch "$T/alice.crt")
at_most "$not_after" "$act_end" ||
	fail "notAfter $not_after is after the activation's end $act_end"
at_most "$act_end" "$not_after" ||
	fail "notAfter $not_after is before the activation's end $act_end"
serial=$(openssl x509 -in "$T/alice.crt" -noout -serial | cut -d= -f2)
serial=${serial,,}
listed=$(pimctl cert list --json --user alice)
assert_contains "$listed" "\"serial\": \"$serial\"" "cert list --json"
assert_contains "$listed" '"state": "valid"' "cert list --json"

log "ssh alice@bastion db-cert clientsdb < alice.csr"
start_pimgated
run_capture dbcert gw_ssh alice db-cert clientsdb <"$T/alice.csr"
assert_eq 0 "$RC" "db-cert exit (stderr: $ERR)"
assert_match "$ERR" 'valid until [0-9-]+T[0-9:]+Z \(the end of activation' \
	"db-cert note"
cp "$T/dbcert.out" "$T/alice-ssh.crt"
run_capture verify3 openssl verify -CAfile "$CA" -purpose sslclient \
	"$T/alice-ssh.crt"
assert_eq 0 "$RC" "openssl verify of the db-cert answer (output: $OUT $ERR)"
at_most "$(cert_epoch "$T/alice-ssh.crt")" "$act_end" ||
	fail "the db-cert certificate outlives the activation"
audit1=$(audit_max_id)

log "db-cert refuses garbage, oversized input and an SSH host"
run_capture garbage gw_ssh alice db-cert clientsdb <<<"not a request"
((RC != 0)) || fail "db-cert accepted garbage"
assert_contains "$ERR" "not a PEM certificate request" "garbage refusal"
[[ -z "$OUT" ]] || fail "a refused db-cert wrote to stdout: $OUT"
head -c 20000 /dev/zero | tr '\0' A >"$T/big.csr"
run_capture big gw_ssh alice db-cert clientsdb <"$T/big.csr"
((RC != 0)) || fail "db-cert accepted 20000 bytes"
assert_contains "$ERR" "larger than 16 KiB" "oversized refusal"
run_capture sshhost gw_ssh alice db-cert host1 <"$T/alice.csr"
((RC != 0)) || fail "db-cert issued a certificate for an SSH host"
assert_contains "$ERR" "is an SSH host" "SSH host refusal"

log "db-cert refuses another person's request and two requests at once"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/bob.key" -subj /CN=bob -out "$T/bob.csr" 2>/dev/null
run_capture othercsr gw_ssh alice db-cert clientsdb <"$T/bob.csr"
((RC != 0)) || fail "db-cert issued alice a certificate on bob's request"
assert_contains "$ERR" "the request names bob, but the certificate would \
be for alice: make a request with -subj /CN=alice" "another person's request"
[[ -z "$OUT" ]] || fail "a refused db-cert wrote to stdout: $OUT"
cat "$T/alice.csr" "$T/bob.csr" >"$T/two.csr"
run_capture twocsr gw_ssh alice db-cert clientsdb <"$T/two.csr"
((RC != 0)) || fail "db-cert accepted two requests"
assert_contains "$ERR" "give exactly one certificate request" \
	"two requests refusal"
run_capture othercli pimctl cert issue alice clientsdb --csr "$T/bob.csr"
assert_eq 1 "$RC" "cert issue on bob's request for alice"
assert_contains "$ERR" "the request names bob" "cert issue refusal"
refusals=$(audit_refusals_since "$audit1")
assert_contains "$refusals" "not a PEM certificate request" "audit"
assert_contains "$refusals" "larger than 16 KiB" "audit"
assert_contains "$refusals" "the request names bob" "audit"
assert_contains "$refusals" "give exactly one certificate request" "audit"

log "db-cert at the prompt says how to run it"
run_capture prompt gw_ssh alice <<<$'db-cert clientsdb\nexit'
assert_contains "$OUT" "reads a certificate request from standard input" \
	"prompt answer"

log "revoke"
pimctl cert revoke "serial=${serial^^}"
listed=$(pimctl cert list --json --user alice)
assert_contains "$listed" '"state": "revoked"' "cert list after revoke"
run_capture again pimctl cert revoke "$serial"
assert_eq 1 "$RC" "revoking twice"
run_capture badserial pimctl cert revoke not-hex
assert_eq 2 "$RC" "a malformed serial"

log "a certificate ends with the activation it was issued under"
ssh_serial=$(openssl x509 -in "$T/alice-ssh.crt" -noout -serial | cut -d= -f2)
ssh_serial=${ssh_serial,,}
assert_eq valid "$(cert_state "$ssh_serial")" \
	"state while activation $act holds"
pimctl revoke "$act" >/dev/null
pimctl activate alice dba --for 30m --reason "$TEST_NAME" >/dev/null
assert_eq ended "$(cert_state "$ssh_serial")" \
	"state once activation $act was revoked"
assert_contains "$(pimctl cert list --user alice | grep "$ssh_serial")" \
	" ended " "cert list's row"
assert_eq revoked "$(cert_state "$serial")" "state of the revoked one"
run_capture issue2 pimctl cert issue alice clientsdb --csr "$T/alice.csr"
assert_eq 0 "$RC" "cert issue under the new activation (stderr: $ERR)"
serial2=$(openssl x509 -in "$T/issue2.out" -noout -serial | cut -d= -f2)
assert_eq valid "$(cert_state "${serial2,,}")" \
	"state of one issued under the new activation"

log "ca server-cert replaces the listener's certificate"
pimctl ca server-cert --names db.example.test,127.0.0.2
openssl x509 -in "$STATE/pg_server.crt" -noout -ext subjectAltName |
	grep -q 'DNS:db.example.test, IP Address:127.0.0.2' ||
	fail "server-cert names not in the new certificate"
perm_is "$STATE/pg_server.key" 600
openssl verify -CAfile "$CA" "$STATE/pg_server.crt" >/dev/null ||
	fail "the new listener certificate does not verify"
run_capture badnames pimctl ca server-cert --names 'bad_name!'
assert_eq 2 "$RC" "bad server names"

log "pimgated does not start without its CA"
stop_all
mv "$STATE/ca.key" "$T/ca.key.away"
run_capture noca timeout 20 "$PIMGATE_BIN/pimgated" -c "$CONF"
((RC != 0 && RC != 124)) || fail "pimgated ran without its CA (status $RC)"
assert_contains "$ERR" "cannot load the CA" "pimgated's reason"
mv "$T/ca.key.away" "$STATE/ca.key"
