#!/usr/bin/env bash
# The extended query protocol through the PostgreSQL gateway: pgbench -M
# extended for three seconds without a failed transaction, a statement
# with a parameter whose result is checked ($1::int + 1 with 41 gives
# 42), and the query log's "parse" lines with their parameter counts.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_pg.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_pg.sh"

command -v pgbench >/dev/null || fail "no pgbench (tools/install-deps.sh)"

start_postgres
pimgate_setup_pg
grant_pg_access 10m >/dev/null
make_client_cert alice pgdb
start_pimgated_pg
gw_pg_env alice pgdb "$CERT" "$KEY"

log "pgbench -i straight to the server"
PGPASSWORD=$PG_PASSWORD pgbench -i -q -s 1 -h 127.0.0.1 -p "$PGSRV_PORT" \
	-U "$PG_LOGIN" "$PG_DB" >"$T/pgbench-init.log" 2>&1 ||
	fail "pgbench -i failed: $(tail -n 5 "$T/pgbench-init.log")"

log "pgbench -M extended through the bastion, 3 s"
run_capture bench env "${GW_PG_ENV[@]}" timeout --foreground -k 5 30 \
	pgbench -M extended -n -T 3 -c 2 -j 2
assert_eq 0 "$RC" "exit status of pgbench (stderr: $ERR)"
assert_match "$OUT" '^query mode: extended' "pgbench's report"
processed='^number of transactions actually processed: ([0-9]+).*'
done_n=$(sed -nE "s/$processed/\\1/p" <<<"$OUT")
if [[ -z "$done_n" ]] || ((done_n == 0)); then
	fail "pgbench processed no transaction: $OUT"
fi
failed=$(sed -nE 's/^number of failed transactions: ([0-9]+).*/\1/p' \
	<<<"$OUT")
assert_eq 0 "${failed:-0}" "failed transactions"
log "pgbench: $done_n transactions, $(grep -E '^tps' <<<"$OUT" | head -n 1)"
bench_last=$(newest_session_id)
wait_until session_ended "$bench_last" --timeout 10 ||
	fail "session $bench_last has no end after pgbench exited"

log "a parameter: \$1::int + 1 with 41"
mark_sid=$(newest_session_id)
if [[ "$(psql --version)" =~ ([0-9]+)\. ]] && ((BASH_REMATCH[1] >= 16)); then
	# psql 16 and later: \bind sends Parse/Bind/Execute.
	run_capture bind gw_psql alice pgdb "$CERT" "$KEY" -At \
		-c "SELECT \$1::int + 1 AS y \\bind 41 \\g"
	assert_eq 0 "$RC" "exit status of \\bind (stderr: $ERR)"
	assert_eq 42 "$OUT" "SELECT \$1::int + 1 with 41"
else
	# psql 15 has no \bind: a pgbench script in extended mode binds :x
	# as $1, and its \if fails the run unless the answer is 42.
	cat >"$T/bind.sql" <<'EOF'
\set x 41
SELECT :x::int + 1 AS y \gset
\if :y = 42
\else
SELECT 1 / 0 AS not_42;
\endif
EOF
	run_capture bind env "${GW_PG_ENV[@]}" timeout --foreground -k 5 30 \
		pgbench -M extended -n -t 1 -c 1 -f "$T/bind.sql"
	assert_eq 0 "$RC" "\$1::int + 1 with 41 is not 42 (stderr: $ERR)"
	assert_match "$OUT" '^number of transactions actually processed: 1/1' \
		"the pgbench run of the parameter check"
fi
sid=$(wait_new_session "$mark_sid")
wait_until session_ended "$sid" --timeout 10 ||
	fail "session $sid has no end after its client exited"
qlog_check "$(qlog_path "$sid")" "any(e.get('type') == 'parse' and
	e.get('sql', '').startswith('SELECT \$1::int + 1') and
	e.get('params') == 1 for e in ev)" "the parse of \$1::int + 1"

log "the query logs of the pgbench sessions"
qlog_check "$(qlog_path "$bench_last")" "any(e.get('type') == 'parse' and
	e.get('params') == 1 and
	'FROM pgbench_accounts WHERE aid = \$1' in e.get('sql', '')
	for e in ev)" "the parse of the SELECT of pgbench_accounts"
qlog_check "$(qlog_path "$bench_last")" "any(e.get('type') == 'parse' and
	e.get('params') == 2 and
	e.get('sql', '').startswith('UPDATE pgbench_accounts')
	for e in ev)" "the parse of the UPDATE of pgbench_accounts"
qlog_check "$(qlog_path "$bench_last")" "any(e.get('type') == 'complete'
	and e.get('tag') == 'UPDATE 1' for e in ev)" "an UPDATE's completion"

log "a Parse padded past the log's limit still shows its statement's end"
pad=$(head -c 70000 /dev/zero | tr '\0' 'x')
printf "SELECT /* %s */ 'parse-tail-' || count(*) AS tail FROM clients;\n" \
	"$pad" >"$T/padded.sql"
before=$(newest_session_id)
gw_pg_env alice pgdb "$CERT" "$KEY"
run_capture padded env "${GW_PG_ENV[@]}" pgbench -n -M extended -t 1 \
	-f "$T/padded.sql"
assert_eq 0 "$RC" "pgbench with a padded statement (stderr: $ERR)"
sid=$(wait_new_session "$before")
wait_until session_ended "$sid" --timeout 5 || fail "session $sid lives on"
qlog_check "$(qlog_path "$sid")" "any(e.get('type') == 'parse' and
	e.get('truncated') is True and e.get('length', 0) > 70000 and
	'bytes left out of the log here' in e['sql'] and
	e['sql'].rstrip('; \\n').endswith(\"'parse-tail-' || count(*) AS tail FROM clients\")
	for e in ev)" "head and tail of the padded Parse"
