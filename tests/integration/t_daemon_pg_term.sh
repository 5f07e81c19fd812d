#!/usr/bin/env bash
# SIGTERM with live PostgreSQL sessions (one running a query, one idle):
# psql is told with FATAL 57P01 that the bastion is shutting down, each
# query log ends with its "end" line (reason shutdown), pimctl replay
# reads it, and pimgated exits within [server] shutdown_grace with
# status 0.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_pg.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_pg.sh"

GRACE=4

start_postgres
pimgate_setup_pg
sed -i "s/^\[server\]$/[server]\nshutdown_grace = ${GRACE}s/" "$CONF"
start_pimgated_pg
grant_pg_access 10m >/dev/null
make_client_cert alice pgdb

log "a busy session and an idle one"
GW_TIMEOUT=40 gw_psql_bg busy alice pgdb "$CERT" "$KEY" \
	-v VERBOSITY=verbose -c "SELECT pg_sleep(60)"
busy=$BG_PID
sid1=$(wait_new_session 0)
wait_until session_live "$sid1" --timeout 5 ||
	fail "session $sid1 is not live: $(cat "$T/busy.err")"
mkfifo "$T/idle.fifo"
GW_TIMEOUT=40 gw_psql_bg idle alice pgdb "$CERT" "$KEY" \
	-v VERBOSITY=verbose -At -f "$T/idle.fifo"
idle=$BG_PID
exec {fifo}<>"$T/idle.fifo"
echo "SELECT 'before-term';" >&"$fifo"
sid2=$(wait_new_session "$sid1")
wait_until grep -q before-term "$T/idle.out" --timeout 10 ||
	fail "the idle session got no answer: $(cat "$T/idle.err")"

log "SIGTERM"
t0=$(now)
kill -TERM "$PIMGATED_PID"
wait_until pid_dead "$PIMGATED_PID" --timeout $((GRACE + 5)) ||
	fail "pimgated still runs $((GRACE + 5)) s after SIGTERM"
t1=$(now)
stop_pid "$PIMGATED_PID"
assert_eq 0 "$STOP_STATUS" "pimgated's exit status on SIGTERM"
forget_pid "$PIMGATED_PID"
at_most "$(elapsed "$t0" "$t1")" "$GRACE" ||
	fail "pimgated took $(elapsed "$t0" "$t1") s, grace ${GRACE}s"
bg_wait "$busy"
echo "SELECT 'after-term';" >&"$fifo" || true
exec {fifo}>&-
bg_wait "$idle"

for name in busy idle; do
	said=$(cat "$T/$name.out" "$T/$name.err")
	assert_match "$said" 'FATAL: +57P01: +terminating connection.*shutting down' \
		"what the $name psql was told"
done
for sid in "$sid1" "$sid2"; do
	assert_eq shutdown "$(session_field "$sid" end_reason)" \
		"end reason of session $sid"
	qlog_check "$(qlog_path "$sid")" "ev and ev[-1].get('type') == 'end' and
		ev[-1].get('reason') == 'shutdown'" "the last line of session $sid"
done
run_capture replay pimctl replay "$sid2"
assert_eq 0 "$RC" "pimctl replay of a query log (stderr: $ERR)"
assert_contains "$OUT" before-term "pimctl replay"
