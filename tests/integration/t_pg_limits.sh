#!/usr/bin/env bash
# The limits of a role on PostgreSQL sessions: with --idle-timeout a
# session kept busy lives on, and one left without traffic is ended a few
# seconds after its last traffic (FATAL 57P01, end reason "idle"); with
# --warn-before a running query gets a WARNING notice (NoticeResponse)
# saying when access ends, before the FATAL 57P01 at the window's end.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_pg.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_pg.sh"

start_postgres
pimgate_setup_pg
# One target per role, so that each session falls under one role only.
add_pg_target pgidle
add_pg_target pgwarn
pimctl role add idlers --idle-timeout 3s
pimctl role grant idlers pgidle
pimctl role add warned --warn-before 4s
pimctl role grant warned pgwarn
pimctl assign alice idlers --eligible
pimctl assign alice warned --eligible
start_pimgated_pg

# The bastion has closed the client's connection: the client's side of it
# waits in CLOSE-WAIT (psql reads nothing while idle).
idle_dropped() {
	[[ -n "$(ss -Htn state close-wait "( dport = :$PG_GW_PORT )")" ]]
}

# pause SECONDS: no traffic for that long (the gaps of a busy session).
pause() {
	wait_until clock_past "$(deadline_in "$1")" --timeout 10 ||
		fail "clock stuck"
}

log "idle timeout 3 s: a session with a statement every 1.5 s lives on"
pimctl activate alice idlers --for 10m --reason "$TEST_NAME" >/dev/null
make_client_cert alice pgidle
mkfifo "$T/idle.fifo"
GW_TIMEOUT=40 gw_psql_bg idle alice pgidle "$CERT" "$KEY" \
	-v VERBOSITY=verbose -At -f "$T/idle.fifo"
idle=$BG_PID
# Read-write: the open does not wait for psql (which opens the FIFO only
# once connected).
exec {fifo}<>"$T/idle.fifo"
sid=$(wait_new_session 0)
for i in 1 2 3 4; do
	echo "SELECT 'tick-$i';" >&"$fifo"
	wait_until grep -qx "tick-$i" "$T/idle.out" --timeout 10 ||
		fail "statement $i got no answer: $(cat "$T/idle.err")"
	answered=$(now)
	((i == 4)) || pause 1.5
done
session_live "$sid" ||
	fail "session $sid ended although it had traffic every 1.5 s:" \
		"$(session_field "$sid" end_reason) $(cat "$T/idle.err")"
idle_dropped && fail "the busy session's connection was closed"

log "left idle, it is ended"
wait_until idle_dropped --timeout 10 ||
	fail "the idle session's connection is still open 10 s after its" \
		"last traffic"
dropped=$(now)
gap=$(elapsed "$answered" "$dropped")
log "connection closed $gap s after the last answer"
at_most 2 "$gap" || fail "the idle session was ended after $gap s" \
	"without traffic; its idle timeout is 3 s"
wait_until session_ended "$sid" --timeout 5 || fail "session $sid has no end"
assert_eq idle "$(session_field "$sid" end_reason)" "end reason"
# Its next statement finds the FATAL and the connection gone.
echo "SELECT 'after-idle';" >&"$fifo"
exec {fifo}>&-
bg_wait "$idle"
((BG_RC != 0)) || fail "psql exited 0 after its session ended idle"
[[ "$(cat "$T/idle.out")" != *after-idle* ]] ||
	fail "a statement ran after the idle end"
said=$(cat "$T/idle.err")
assert_match "$said" 'FATAL: +57P01: +terminating connection' \
	"what psql said at the idle end"
assert_match "$said" 'without activity' "the reason psql shows"
log "psql at the idle end: $(grep -m 1 57P01 <<<"$said")"
qlog_check "$(qlog_path "$sid")" "any(e.get('type') == 'end' and
	e.get('reason') == 'idle' for e in ev)" "the end at the idle timeout"

log "warning 4 s before the end of an activation of 8 s"
act=$(pimctl activate alice warned --for 8s --reason "$TEST_NAME")
end=$(activation_end "$act")
make_client_cert alice pgwarn
GW_TIMEOUT=40 gw_psql_bg warn alice pgwarn "$CERT" "$KEY" \
	-v VERBOSITY=verbose -c "SELECT pg_sleep(30)"
client=$BG_PID
sid=$(wait_new_session "$sid")
wait_until session_live "$sid" --timeout 5 ||
	fail "session $sid is not live: $(cat "$T/warn.err")"
warn_at=$(python3 -c "print($end - 4)")
clock_past "$warn_at" && fail "the session came up only after the time" \
	"of its warning (set-up too slow to see it)"
warned() { grep -q WARNING "$T/warn.err"; }
wait_until warned --timeout 10 ||
	fail "no WARNING before the end: $(cat "$T/warn.err")"
seen=$(now)
pid_alive "$client" || fail "psql ended before the warning was seen"
log "warning seen $(elapsed "$seen" "$end") s before the window's end"
bg_wait "$client"
((BG_RC != 0)) || fail "psql exited 0 at the window's end"
said=$(cat "$T/warn.err")
want="WARNING: +(01000: +)?pimgate: your access to pgwarn ends at "
want+=".*extend $act --for"
assert_match "$said" "$want" "the warning psql shows"
assert_match "$said" 'FATAL: +57P01: +terminating connection' \
	"what psql said at the window's end"
w=$(grep -n -m 1 WARNING <<<"$said" | cut -d: -f1)
f=$(grep -n -m 1 'FATAL: .*57P01' <<<"$said" | cut -d: -f1)
((w < f)) || fail "the warning (line $w) is not before the FATAL" \
	"(line $f):"$'\n'"$said"
log "psql said: $(sed -n "${w}p" <<<"$said")"
wait_until session_ended "$sid" --timeout 5 || fail "session $sid has no end"
assert_eq expired "$(session_field "$sid" end_reason)" "end reason"

stop_all
