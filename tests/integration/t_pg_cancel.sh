#!/usr/bin/env bash
# A cancel request through the PostgreSQL gateway: psql running
# pg_sleep(30) through the bastion gets SIGINT, sends a CancelRequest to
# the bastion, which passes it on to the server; the statement stops
# long before its 30 s, and the query log notes the cancel.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_pg.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_pg.sh"

start_postgres
pimgate_setup_pg
grant_pg_access 10m >/dev/null
make_client_cert alice pgdb
start_pimgated_pg

# The number of pg_sleep(30) statements the server is running.
sleeping() {
	pg_super -At -c "SELECT count(*) FROM pg_stat_activity
		WHERE state = 'active' AND query = 'SELECT pg_sleep(30)'"
}
upstream_sleeping() { [[ "$(sleeping)" == 1 ]]; }
upstream_idle() { [[ "$(sleeping)" == 0 ]]; }

log "psql running pg_sleep(30) through the bastion"
# psql itself, not under timeout, so that SIGINT reaches it; the test
# stops it by its PID at the end if it is still there.
psql -X -w -d "$(gw_conninfo alice pgdb "$CERT" "$KEY")" \
	-c "SELECT pg_sleep(30)" >"$T/sleep.out" 2>"$T/sleep.err" &
client=$!
STARTED_PIDS+=("$client")
wait_until upstream_sleeping --timeout 15 ||
	fail "the server never ran the statement; psql said:" \
		"$(cat "$T/sleep.err")"
sid=$(wait_new_session 0)

log "SIGINT to psql (pid $client)"
sent=$(now)
kill -INT "$client"
wait_until pid_dead "$client" --timeout 15 ||
	fail "psql still runs 15 s after SIGINT: the cancel did not work"
bg_wait "$client"
log "psql exited $(elapsed "$sent" "$BG_END") s after SIGINT" \
	"(status $BG_RC)"
said=$(cat "$T/sleep.out" "$T/sleep.err")
((BG_RC != 0)) || fail "psql exited 0 after the cancel: $said"
assert_contains "$said" "canceling statement due to user request" \
	"what psql said after SIGINT"
wait_until upstream_idle --timeout 5 ||
	fail "the server still runs pg_sleep(30) after the cancel"

log "the session and its query log"
wait_until session_ended "$sid" --timeout 10 ||
	fail "session $sid has no end after psql exited"
assert_eq exit "$(session_field "$sid" end_reason)" "end reason"
qlog=$(qlog_path "$sid")
qlog_check "$qlog" "any(e.get('type') == 'cancel' for e in ev)" \
	"the cancel"
qlog_check "$qlog" "any(e.get('type') == 'error' and
	e.get('sqlstate') == '57014' for e in ev)" "the cancel's error"

log "a cancel request with a wrong key cancels nothing"
psql -X -w -d "$(gw_conninfo alice pgdb "$CERT" "$KEY")" \
	-c "SELECT pg_sleep(30)" >"$T/sleep2.out" 2>"$T/sleep2.err" &
client=$!
STARTED_PIDS+=("$client")
wait_until upstream_sleeping --timeout 15 ||
	fail "the server never ran the second statement:" \
		"$(cat "$T/sleep2.err")"
python3 - "$PG_GW_PORT" <<'PY' || fail "could not send a bogus CancelRequest"
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(struct.pack("!IIII", 16, 80877102, 12345, 67890))
s.settimeout(5)
try:
    s.recv(1)
except OSError:
    pass
PY
# The bastion handles the request at once; give it a moment to act on it
# wrongly, then the statement must still be running.
wait_until upstream_idle --timeout 1 &&
	fail "a CancelRequest with a wrong key ended the statement"
stop_pid "$client"
forget_pid "$client"
