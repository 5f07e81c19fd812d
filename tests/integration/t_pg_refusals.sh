#!/usr/bin/env bash
# Every PostgreSQL connection the bastion must not admit is refused with
# an ErrorResponse FATAL, SQLSTATE 28000, a reason the person can act on,
# and an audit entry: plaintext, no client certificate, a certificate from
# another CA, an expired certificate, another user's certificate, a
# revoked certificate, a target no role grants, no activation.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_pg.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_pg.sh"

# expect_pg_refusal WHAT REASON-ERE AUDIT-NEEDLE USER TARGET CERT KEY
# [SSLMODE]: psql as USER on TARGET must fail with a FATAL whose text
# matches REASON-ERE and see no row; a raw start-up must get an
# ErrorResponse FATAL 28000; the audit must gain a refusal: a login
# entry whose detail holds sqlstate=28000 and AUDIT-NEEDLE (refused by
# the front end), or the admission decision's own entry holding
# AUDIT-NEEDLE (refused by the admission rule; its SQLSTATE is what the
# raw start-up checks).
expect_pg_refusal() {
	local what=$1 re=$2 needle=$3 user=$4 target=$5 cert=$6 key=$7
	local sslmode=${8:-verify-full} mark probe plain=()
	mark=$(audit_max_id)
	run_capture refusal gw_psql_ci \
		"$(gw_conninfo "$user" "$target" "$cert" "$key" "$sslmode")" \
		-At -c "SELECT 'ADMITTED', count(*) FROM clients"
	((RC != 0)) || fail "$what: admitted (exit 0); output: $OUT"
	[[ "$OUT" != *ADMITTED* ]] || fail "$what: the query ran"
	assert_match "$ERR" "FATAL: .*($re)" "$what: psql's error"
	wait_until pg_refusal_audited "$mark" "$needle" --timeout 5 ||
		fail "$what: no audit refusal with '$needle'; new" \
			"entries: $(audit_since "$mark")"
	[[ "$sslmode" != disable ]] || plain=(--plain)
	probe=$(pg_probe "$user" "$target" "$cert" "$key" "${plain[@]}")
	[[ "$probe" == "error FATAL 28000 "* ]] ||
		fail "$what: a raw start-up got '$probe', not FATAL 28000"
	assert_match "$probe" "$re" "$what: the raw start-up's message"
	log "$what: refused: ${probe#error FATAL 28000 }"
}

pg_refusal_audited() {
	pg_audit_refusal "$1" "sqlstate=28000" "$2" ||
		[[ -n "$(sql "select id from audit where id > $1
			and event = 'admit' and outcome = 'refused'
			and instr(detail, '${2//\'/\'\'}') > 0")" ]]
}

expect_pg_admitted() {
	run_capture admitted gw_psql "$@" -At -c "SELECT 'ADMITTED'"
	assert_eq 0 "$RC" "$2 as $1 should be admitted (stderr: $ERR)"
	assert_eq ADMITTED "$OUT" "output through $2"
}

start_postgres
pimgate_setup_pg
pimctl user add bob
add_pg_target pgother
pimctl role add other
pimctl role grant other pgother
pimctl assign alice dba --eligible
pimctl assign bob dba --eligible
pimctl activate bob dba --for 10m --reason "$TEST_NAME" >/dev/null
make_client_cert bob pgdb
bob_cert=$CERT bob_key=$KEY

log "a certificate under an activation of 4 s"
act=$(pimctl activate alice dba --for 4s --reason refusals-expiry)
end=$(activation_end "$act")
make_client_cert alice pgdb alice-short
short_cert=$CERT short_key=$KEY
log "a certificate for pgother while role other is assigned"
pimctl assign alice other --active
make_client_cert alice pgother alice-other
other_cert=$CERT other_key=$KEY
pimctl unassign alice other
log "a certificate from a CA of the test's own, for alice"
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/rogue-ca.key" -out "$T/rogue-ca.crt" -days 2 \
	-subj "/CN=pimgate CA" -addext "basicConstraints=critical,CA:TRUE" \
	2>>"$T/openssl.log" || fail "openssl: no rogue CA"
make_csr alice rogue
printf 'extendedKeyUsage = clientAuth\n' >"$T/rogue.ext"
openssl x509 -req -in "$T/rogue.csr" -CA "$T/rogue-ca.crt" \
	-CAkey "$T/rogue-ca.key" -set_serial "0x$(openssl rand -hex 12)" \
	-days 1 -extfile "$T/rogue.ext" -out "$T/rogue.crt" \
	2>>"$T/openssl.log" || fail "openssl: no rogue certificate"

start_pimgated_pg

log "waiting for activation $act to end"
wait_until clock_past "$(python3 -c "print($end + 0.2)")" --timeout 10 ||
	fail "activation $act did not reach its end"
act=$(pimctl activate alice dba --for 10m --reason refusals)
make_client_cert alice pgdb
alice_cert=$CERT alice_key=$KEY
expect_pg_admitted alice pgdb "$alice_cert" "$alice_key"

expect_pg_refusal "plaintext" 'pimgate requires TLS' 'requires TLS' \
	alice pgdb "$alice_cert" "$alice_key" disable
expect_pg_refusal "no client certificate" 'no client certificate' \
	'no client certificate' alice pgdb "$T/none.crt" "$T/none.key"
expect_pg_refusal "certificate from another CA" \
	'not issued by this bastion' 'not issued by this bastion' \
	alice pgdb "$T/rogue.crt" "$T/rogue.key"
expect_pg_refusal "expired certificate" 'has expired|expired at' 'expired' \
	alice pgdb "$short_cert" "$short_key"
expect_pg_refusal "bob's certificate as alice" \
	'(is for user|issued to) bob, not (to )?alice' 'bob' \
	alice pgdb "$bob_cert" "$bob_key"
expect_pg_refusal "target no role grants" \
	'no (active )?role grants' 'no role grants' \
	alice pgother "$other_cert" "$other_key"

log "a certificate revoked with pimctl cert revoke"
make_client_cert alice pgdb alice-revoked
expect_pg_admitted alice pgdb "$CERT" "$KEY"
serial=$(openssl x509 -in "$CERT" -noout -serial | sed 's/^serial=//')
pimctl cert revoke "${serial,,}" >/dev/null
expect_pg_refusal "revoked certificate" 'revoked' 'revoked' \
	alice pgdb "$CERT" "$KEY"

log "alice is still admitted"
expect_pg_admitted alice pgdb "$alice_cert" "$alice_key"

log "activation revoked: no activation left"
pimctl revoke "$act"
expect_pg_refusal "no activation" 'activat' 'activat' \
	alice pgdb "$alice_cert" "$alice_key"
