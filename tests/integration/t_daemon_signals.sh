#!/usr/bin/env bash
# SIGHUP reloads the config under a live SSH session (same session before
# and after, a changed log level and syslog facility take effect, a key
# that needs a restart keeps its value, a bad file is refused and the
# daemon goes on); log lines reach syslog when [syslog] enabled; SIGTERM
# tells the live session, finishes its recording and exits within
# [server] shutdown_grace.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

GRACE=5

start_sshd
pimgate_setup
grant_access 10m >/dev/null
sed -i 's/^log_level = debug$/log_level = info/' "$CONF"
sed -i "s/^\[server\]$/[server]\nshutdown_grace = ${GRACE}s/" "$CONF"
printf '[syslog]\nenabled = true\nsocket = %s\n' "$T/syslog.sock" >>"$CONF"
GOOD_CONF=$(<"$CONF")

log "a syslog datagram socket to listen on"
python3 - "$T/syslog.sock" "$T/syslog.out" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as out:
    while True:
        out.write(s.recv(4096) + b"\n")
EOF
STARTED_PIDS+=("$!")
wait_until test -S "$T/syslog.sock" || fail "the syslog receiver did not start"
: >"$T/syslog.out"

start_pimgated
wait_until grep -q 'pimgated started' "$T/syslog.out" ||
	fail "no log line reached syslog"
# Facility daemon (3), severity info (6): <30>, with the ident and pid.
assert_match "$(grep 'pimgated started' "$T/syslog.out")" \
	"^<30>.* pimgated\\[$PIMGATED_PID\\]: INFO .*pimgated started" \
	"the syslog line"
# Syslog stamps its own time: each message starts with the level.
bad=$(grep -vE '^<[0-9]+>[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} pimgated\[[0-9]+\]: (ERROR|WARN|INFO|VERBOSE|DEBUG) ' \
	"$T/syslog.out" || true)
[[ -z "$bad" ]] || fail "syslog lines not in the expected form: $bad"

# log_lines_after N PATTERN: lines of the daemon's log after line N
# that match PATTERN.
log_lines_after() {
	tail -n "+$(($1 + 1))" "$T/pimgated.log" | grep -cE "$2" || true
}
log_has_after() { (($(log_lines_after "$1" "$2") > 0)); }
log_len() { wc -l <"$T/pimgated.log"; }

# reload: SIGHUP, then waits for the daemon to say how it went; sets
# MARK to the log's length before.
reload() {
	MARK=$(log_len)
	kill -HUP "$PIMGATED_PID"
	wait_until log_has_after "$MARK" 'config (reloaded|not reloaded)' ||
		fail "no word from pimgated after SIGHUP"
}

log "a live session: bytes before the reload"
mkfifo "$T/live.in"
exec 7<>"$T/live.in"
# Not gw_ssh_bg: a background command's input would be /dev/null.
gw_ssh_argv alice:host1 -tt -- cat
"${GW_ARGV[@]}" <&7 >"$T/live.out" 2>"$T/live.err" &
client=$!
STARTED_PIDS+=("$client")
echo before-reload >&7
wait_until grep -q before-reload "$T/live.out" ||
	fail "the live session did not echo (stderr: $(<"$T/live.err"))"
sid=$(newest_session_id)

log "at log_level info, a new connection logs nothing verbose"
mark=$(log_len)
run_capture one gw_ssh alice:host1 'echo one'
assert_eq one "$OUT" "a session at log level info (stderr: $ERR)"
assert_eq 0 "$(log_lines_after "$mark" ' VERBOSE ')" "verbose lines at info"

log "SIGHUP: log level and syslog facility change, listen waits"
new_port=$(free_port)
sed -i -e 's/^log_level = info$/log_level = verbose/' \
	-e "s/^listen = 127.0.0.1:$SSH_PORT$/listen = 127.0.0.1:$new_port/" \
	"$CONF"
printf 'facility = local3\n' >>"$CONF"
reload
log_has_after "$MARK" 'config reloaded' ||
	fail "the reload was refused: $(tail -n +"$MARK" "$T/pimgated.log")"
log_has_after "$MARK" 'config key changed key=server.log_level' ||
	fail "the log level change was not logged"
log_has_after "$MARK" 'config key changed key=syslog.facility' ||
	fail "the facility change was not logged"
log_has_after "$MARK" 'needs a restart key=ssh.listen' ||
	fail "the listen change was not called a restart matter"

log "the same session goes on after the reload"
echo after-reload >&7
wait_until grep -q after-reload "$T/live.out" ||
	fail "the live session stopped echoing after SIGHUP"
pid_alive "$client" || fail "the live client ended on SIGHUP"
session_live "$sid" || fail "session $sid ended on SIGHUP"

log "the new level applies, to syslog with the new facility too"
mark=$(log_len)
run_capture two gw_ssh alice:host1 'echo two'
assert_eq two "$OUT" "a session on the old port after the reload ($ERR)"
log_has_after "$mark" ' VERBOSE .*connection accepted' ||
	fail "no verbose line after the level became verbose"
# local3 (19) with debug (7) for verbose lines: <159>.
wait_until grep -q '^<159>.*connection accepted' "$T/syslog.out" ||
	fail "syslog did not get verbose lines under local3:
$(tail -5 "$T/syslog.out")"
port_open "$new_port" && fail "the new listen port opened without a restart"

log "a bad config on SIGHUP is refused; the daemon and session go on"
printf '[ssh]\nbogus = 1\n' >>"$CONF"
reload
log_has_after "$MARK" 'config not reloaded.*unknown key \[ssh\] bogus' ||
	fail "the refusal does not name the problem"
pid_alive "$PIMGATED_PID" || fail "pimgated died on a bad config"
echo after-bad >&7
wait_until grep -q after-bad "$T/live.out" ||
	fail "the live session stopped after a refused reload"
run_capture three gw_ssh alice:host1 'echo three'
assert_eq three "$OUT" "a session after a refused reload ($ERR)"

log "[syslog] audit alone: audit events go to syslog, log lines do not"
printf '%s\n' "$GOOD_CONF" >"$CONF"
sed -i 's/^enabled = true$/enabled = false\naudit = true/' "$CONF"
reload
log_has_after "$MARK" 'config reloaded' || fail "the syslog reload was refused"
# Audit events go out from the first store poll after the reload on.
wait_until log_has_after "$MARK" 'audit events to syslog' ||
	fail "audit events were not sent to syslog after the reload"
syslog_mark=$(wc -l <"$T/syslog.out")
run_capture four gw_ssh alice:host1 'echo four'
assert_eq four "$OUT" "a session with syslog for audit only ($ERR)"
# authpriv (10) with info (6): <86>.
syslog_after() { tail -n "+$((syslog_mark + 1))" "$T/syslog.out"; }
audit_in_syslog() { syslog_after | grep -q '^<86>'; }
wait_until audit_in_syslog || fail "no audit event reached syslog"
logged=$(syslog_after | grep -cE ': (ERROR|WARN|INFO|VERBOSE|DEBUG) ' ||
	true)
assert_eq 0 "$logged" "log lines sent to syslog with enabled = false"

printf '%s\n' "$GOOD_CONF" >"$CONF"
reload
log_has_after "$MARK" 'config reloaded' || fail "the last reload was refused"

log "SIGTERM: the session is told, its recording finished, exit in time"
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
bg_wait "$client"
exec 7>&-
assert_match "$(cat "$T/live.out" "$T/live.err")" 'shutting down' \
	"what the live session saw"
assert_eq shutdown "$(session_field "$sid" end_reason)" "end reason"
rec=$(recording_path "$sid")
[[ -s "$rec" ]] || fail "no recording for session $sid"
# asciinema wants a terminal: script(1) gives it one.
run_capture cat script -qec "asciinema cat $(printf %q "$rec")" /dev/null
assert_eq 0 "$RC" "asciinema cat of the recording (stderr: $ERR)"
assert_contains "$OUT" before-reload "the recording"
assert_contains "$OUT" after-bad "the recording"
assert_contains "$OUT" "shutting down" "the recording"
run_capture replay pimctl replay "$sid" --speed 1000
assert_eq 0 "$RC" "pimctl replay of the recording (stderr: $ERR)"
assert_contains "$OUT" after-reload "pimctl replay"
grep -q 'pimgated stopped' "$T/syslog.out" ||
	fail "the last log line did not reach syslog"
