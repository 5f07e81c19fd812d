#!/usr/bin/env bash
# Proxied PostgreSQL through the bastion with the real psql: pimctl target
# add --postgres and its refusals, a SELECT with a certificate issued
# under an activation, the query log, the session row and the audit
# entry; an upstream md5 login; an upstream with TLS verify-full (and one
# whose certificate does not verify).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_pg.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_pg.sh"

start_postgres --tls
pimgate_setup_pg

log "pimctl target add --postgres"
add_pg_target pgmd5 "$PG_MD5_LOGIN" "$PG_MD5_PASSWORD"
add_pg_target pgtls --tls verify-full --ca "$PG_UPSTREAM_CA"
# The bastion's own CA did not sign the server's certificate.
add_pg_target pgtlsbad --tls verify-full --ca "$STATE/ca.crt"
for t in pgmd5 pgtls pgtlsbad; do
	pimctl role grant dba "$t"
done

# expect_usage WHAT ARGS...: pimctl target add ARGS must be a usage error.
expect_usage() {
	local what=$1
	shift
	run_capture usage pimctl target add "$@" <<<"a-password"
	assert_eq 2 "$RC" "exit status of target add with $what (stderr: $ERR)"
}
ca=$PG_UPSTREAM_CA
addr=127.0.0.1:$PGSRV_PORT
expect_usage "--tls without --ca" pgx --postgres "$addr" --login care \
	--password-stdin --tls verify-full
expect_usage "--ca without --tls" pgx --postgres "$addr" --login care \
	--password-stdin --ca "$ca"
expect_usage "--tls verify-ca" pgx --postgres "$addr" --login care \
	--password-stdin --tls verify-ca --ca "$ca"
expect_usage "--ssh and --postgres" pgx --postgres "$addr" --ssh "$addr" \
	--login care --password-stdin
expect_usage "--identity" pgx --postgres "$addr" --login care \
	--password-stdin --identity "$T/pg/server.key"
expect_usage "no --password-stdin" pgx --postgres "$addr" --login care
expect_usage "no --login" pgx --postgres "$addr" --password-stdin
expect_usage "a bad address" pgx --postgres 0.0.0.0:5432 --login care \
	--password-stdin
run_capture nopw pimctl target add pgx --postgres "$addr" --login care \
	--password-stdin </dev/null
assert_eq 1 "$RC" "exit status without a password (stderr: $ERR)"
run_capture badca pimctl target add pgx --postgres "$addr" --login care \
	--password-stdin --tls verify-full --ca "$CONF" <<<"a-password"
assert_eq 1 "$RC" "exit status with a CA file that is no certificate"
assert_contains "$ERR" "no PEM certificate" "target add with a bad CA"
run_capture exists pimctl target add pgdb --postgres "$addr" --login care \
	--password-stdin <<<"a-password"
assert_eq 1 "$RC" "exit status of a second target pgdb (stderr: $ERR)"

run_capture list pimctl target list
assert_eq 0 "$RC" "target list (stderr: $ERR)"
assert_match "$OUT" "^pgdb +postgres +$addr +care +records +none " \
	"target list"
assert_match "$OUT" "^pgtls +postgres +$addr +care +records +verify-full " \
	"target list"
run_capture listjson pimctl target list --json
python3 - "$T/listjson.out" "$PGSRV_PORT" <<'PY' || fail "target list --json"
import json, sys
rows = {r["name"]: r for r in json.load(open(sys.argv[1]))}
port = int(sys.argv[2])
assert set(rows) == {"pgdb", "pgmd5", "pgtls", "pgtlsbad"}, rows
for name, r in rows.items():
    assert r["kind"] == "postgres" and r["host"] == "127.0.0.1", r
    assert r["port"] == port and r["database"] == "records", r
    assert r["host_key"] is None, r
assert rows["pgdb"]["tls"] == "none" and rows["pgdb"]["login"] == "care"
assert rows["pgtls"]["tls"] == "verify-full"
assert rows["pgmd5"]["login"] == "caremd5"
PY
for f in list.out list.err listjson.out listjson.err; do
	if grep -qF -e "$PG_PASSWORD" -e "$PG_MD5_PASSWORD" "$T/$f"; then
		fail "target list shows a password ($f)"
	fi
done
[[ -n "$(sql "select id from audit where event = 'admin'
	and detail like 'target add pgtls postgres 127.0.0.1:$PGSRV_PORT%'
	and detail like '%tls verify-full%'")" ]] ||
	fail "no audit entry for target add pgtls: $(audit_since 0)"

log "certificates under an activation"
grant_pg_access 10m >/dev/null
make_client_cert alice pgdb
db_cert=$CERT db_key=$KEY
make_client_cert alice pgmd5
md5_cert=$CERT md5_key=$KEY
make_client_cert alice pgtls
tls_cert=$CERT tls_key=$KEY
make_client_cert alice pgtlsbad
bad_cert=$CERT bad_key=$KEY

start_pimgated_pg
mark=$(audit_max_id)

log "SELECT through the bastion"
run_capture select gw_psql alice pgdb "$db_cert" "$db_key" -At \
	-c "SELECT id, name, care_plan FROM clients ORDER BY id" \
	-c "SELECT count(*) FROM clients WHERE care_plan LIKE '%insulin%'"
assert_eq 0 "$RC" "exit status of the SELECT (stderr: $ERR)"
assert_eq "$PG_SAMPLE_ROWS"$'\n'1 "$OUT" "rows through the bastion"
sid=$(wait_new_session 0)
assert_eq postgres "$(session_field "$sid" protocol)" "session protocol"
assert_eq alice "$(session_field "$sid" user)" "session user"
assert_eq pgdb "$(session_field "$sid" target)" "session target"
wait_until session_ended "$sid" --timeout 10 ||
	fail "session $sid has no end after psql exited"
assert_eq exit "$(session_field "$sid" end_reason)" "session end reason"
[[ -n "$(sql "select id from audit where id > $mark and event = 'admit'
	and outcome = 'ok' and user = 'alice' and target = 'pgdb'")" ]] ||
	fail "no audit entry admitting alice to pgdb: $(audit_since "$mark")"

log "the query log"
qlog=$(qlog_path "$sid")
[[ "$qlog" == "$STATE"/recordings/*.jsonl ]] ||
	fail "query log $qlog is not a .jsonl file under $STATE/recordings"
qlog_check "$qlog" "head.get('version') == 1 and
	head.get('kind') == 'pimgate-query-log' and
	head.get('session') == $sid and head.get('user') == 'alice' and
	head.get('target') == 'pgdb' and head.get('database') == 'records'" \
	"the header"
qlog_check "$qlog" "any(e.get('type') == 'query' and
	e.get('sql') == 'SELECT id, name, care_plan FROM clients ORDER BY id'
	for e in ev)" "the first statement"
qlog_check "$qlog" "any(e.get('type') == 'query' and
	'%insulin%' in e.get('sql', '') for e in ev)" "the second statement"
qlog_check "$qlog" "any(e.get('type') == 'complete' and
	e.get('tag') == 'SELECT 5' for e in ev)" "the completion of the first"
qlog_check "$qlog" "all(isinstance(e.get('t'), (int, float)) and
	'time' in e for e in ev)" "the times of each event"
qlog_check "$qlog" "not any('Lindqvist' in str(e) for e in ev)" \
	"no returned rows"
qlog_check "$qlog" "ev[-1].get('type') == 'end' and
	ev[-1].get('reason') == 'exit'" "the last line"

log "an error is logged with its SQLSTATE"
run_capture err gw_psql alice pgdb "$db_cert" "$db_key" -At \
	-c "SELECT * FROM no_such_table"
((RC != 0)) || fail "SELECT from a missing table succeeded: $OUT"
assert_contains "$ERR" 'relation "no_such_table" does not exist' \
	"psql's error"
sid2=$(wait_new_session "$sid")
wait_until session_ended "$sid2" --timeout 10 ||
	fail "session $sid2 has no end after psql exited"
qlog_check "$(qlog_path "$sid2")" "any(e.get('type') == 'error' and
	e.get('sqlstate') == '42P01' and
	'no_such_table' in e.get('message', '') for e in ev)" "the error"

log "upstream md5 login"
run_capture md5 gw_psql alice pgmd5 "$md5_cert" "$md5_key" -At \
	-c "SELECT current_user, count(*) FROM clients"
assert_eq 0 "$RC" "exit status through pgmd5 (stderr: $ERR)"
assert_eq "$PG_MD5_LOGIN|5" "$OUT" "rows through pgmd5"

log "upstream TLS, verify-full"
ssl_query="SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
run_capture tls gw_psql alice pgtls "$tls_cert" "$tls_key" -At \
	-c "$ssl_query" -c "SELECT count(*) FROM clients"
assert_eq 0 "$RC" "exit status through pgtls (stderr: $ERR)"
assert_eq $'t\n5' "$OUT" "TLS to the upstream and rows through pgtls"
run_capture notls gw_psql alice pgdb "$db_cert" "$db_key" -At \
	-c "$ssl_query"
assert_eq 0 "$RC" "exit status through pgdb (stderr: $ERR)"
assert_eq f "$OUT" "TLS to the upstream of pgdb (none asked)"

log "upstream TLS whose certificate the target's CA did not sign"
run_capture tlsbad gw_psql alice pgtlsbad "$bad_cert" "$bad_key" -At \
	-c "SELECT 'reached-' || count(*) FROM clients"
((RC != 0)) || fail "pgtlsbad was reached: $OUT"
[[ "$OUT$ERR" != *reached-* ]] || fail "pgtlsbad answered a query"
log "pgtlsbad refused: $(tail -n 1 <<<"$ERR")"

log "no password in the logs, the query logs or the audit"
if grep -rlaF -e "$PG_PASSWORD" -e "$PG_MD5_PASSWORD" \
	"$T/pimgated.log" "$STATE/recordings" >/dev/null 2>&1; then
	fail "a target's password appears in the daemon log or a recording"
fi
[[ -z "$(sql "select id from audit where instr(detail, '$PG_PASSWORD') > 0
	or instr(detail, '$PG_MD5_PASSWORD') > 0")" ]] ||
	fail "a target's password appears in the audit"

log "function calls (the fast-path protocol, as \\lo_import uses) are logged"
printf 'large object through the bastion\n' >"$T/lo.txt"
before=$(newest_session_id)
run_capture lo gw_psql alice pgdb "$db_cert" "$db_key" \
	-c "\\lo_import '$T/lo.txt'"
assert_eq 0 "$RC" "\\lo_import through the bastion (stderr: $ERR)"
assert_match "$OUT" '^lo_import [0-9]+' "what \\lo_import printed"
sid=$(wait_new_session "$before")
wait_until session_ended "$sid" --timeout 5 || fail "session $sid lives on"
qlog_check "$(qlog_path "$sid")" "sum(1 for e in ev if e.get('type') ==
	'function' and isinstance(e.get('oid'), int) and e['oid'] > 0
	and isinstance(e.get('args'), int) and
	isinstance(e.get('arguments'), str)) >= 3" "fast-path function calls"

log "a server that asks for the password in clear text without TLS"
add_pg_target pgplain "$PG_PLAIN_LOGIN" "$PG_PLAIN_PASSWORD"
pimctl role grant dba pgplain
make_client_cert alice pgplain
run_capture plain gw_psql alice pgplain "$CERT" "$KEY" -At -c "SELECT 1"
((RC != 0)) || fail "pimgate sent a password in clear text: $OUT"
assert_match "$ERR" "clear text" "why pgplain was refused"
log "pgplain refused: $(tail -n 1 <<<"$ERR")"

log "pimctl replay prints a database session's query log, harmlessly"
before=$(newest_session_id)
run_capture esc gw_psql alice pgdb "$db_cert" "$db_key" -At \
	-c "$(printf 'SELECT 7 AS seven -- \033[31mred\033[0m \xe2\x80\xae \xc2\x9b')"
assert_eq 0 "$RC" "a query with escape bytes (stderr: $ERR)"
sid=$(wait_new_session "$before")
wait_until session_ended "$sid" --timeout 5 || fail "session $sid lives on"
run_capture replay pimctl replay "$sid"
assert_eq 0 "$RC" "pimctl replay of a database session (stderr: $ERR)"
assert_match "$OUT" "query +SELECT 7 AS seven -- \\?\\[31mred" \
	"the replayed query"
assert_match "$OUT" "complete +SELECT 1" "the replayed command tag"
[[ "$OUT" != *$'\033'* ]] || fail "pimctl replay printed an escape byte"
[[ "$OUT" != *$'\xe2\x80\xae'* && "$OUT" != *$'\xc2\x9b'* ]] ||
	fail "pimctl replay printed a bidi override or a C1 control"

log "a statement padded past the log's limit still shows its end"
before=$(newest_session_id)
pad=$(head -c 100000 /dev/zero | tr '\0' 'x')
run_capture pad gw_psql alice pgdb "$db_cert" "$db_key" -At \
	-c "/* $pad */ SELECT 'tail-' || count(*) FROM clients"
assert_eq 0 "$RC" "a padded statement (stderr: $ERR)"
assert_eq tail-5 "$OUT" "the padded statement's answer"
sid=$(wait_new_session "$before")
wait_until session_ended "$sid" --timeout 5 || fail "session $sid lives on"
qlog_check "$(qlog_path "$sid")" "any(e.get('type') == 'query' and
	e.get('truncated') is True and e.get('length', 0) > 100000 and
	e['sql'].startswith('/* xxx') and
	e['sql'].endswith(\"SELECT 'tail-' || count(*) FROM clients\") and
	'bytes left out of the log here' in e['sql'] for e in ev)" \
	"head and tail of the padded statement"
