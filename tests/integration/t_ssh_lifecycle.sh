#!/usr/bin/env bash
# How live sessions end besides expiry and revoke: unassigning the role or
# disabling the user (within one second, reason "revoked"), the idle
# timeout ("idle"), the role's maximum session length ("expired"), a
# target that is down ("upstream-error" with a reason for the person), a
# channel kind the role does not allow, and SIGTERM ("shutdown", with the
# recording closed and valid).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KILL_BOUND=1.0

start_sshd
pimgate_setup
start_pimgated

# ends_within NAME SID REASON WHAT: waits for background client NAME (pid
# in $client) after an action taken at $acted; checks the bound, the end
# reason and that the person was told something.
ends_within() {
	local name=$1 sid=$2 reason=$3 what=$4 late
	bg_wait "$client"
	late=$(elapsed "$acted" "$BG_END")
	log "$what: client exited $late s later (status $BG_RC)"
	at_most "$late" "$KILL_BOUND" ||
		fail "$what: session outlived it by $late s (bound $KILL_BOUND s)"
	assert_match "$(cat "$T/$name.err")" 'pimgate: ' "what the person saw"
	wait_until session_ended "$sid" --timeout 5 || fail "session $sid has no end"
	assert_eq "$reason" "$(session_field "$sid" end_reason)" "end reason"
}

start_live() {
	local name=$1 prev=$2
	shift 2
	GW_TIMEOUT=40 gw_ssh_bg "$name" alice:host1 "$@" 'sleep 60'
	client=$BG_PID
	sid=$(wait_new_session "$prev")
	wait_until session_live "$sid" --timeout 5 || fail "session $sid not live"
}

log "permanent active assignment admits without activation"
pimctl assign alice ops --active
run_capture active gw_ssh alice:host1 'echo active-ok'
assert_eq 0 "$RC" "exit status under an active assignment (stderr: $ERR)"
assert_eq active-ok "$OUT" "output under an active assignment"
fds_at_start=$(find "/proc/$PIMGATED_PID/fd" -mindepth 1 | wc -l)

log "unassign ends the live session"
# The session above is the newest: wait for one after it.
start_live unassign "$(newest_session_id)"
pimctl unassign alice ops
acted=$(now)
ends_within unassign "$sid" revoked "unassign"
last=$sid

log "pimctl kill ends the live session"
pimctl assign alice ops --active
start_live kill "$last"
pimctl kill "$sid"
acted=$(now)
ends_within kill "$sid" killed "pimctl kill"
assert_match "$(cat "$T/kill.err")" 'administrator ended' "the kill notice"
if pimctl kill "$sid" 2>"$T/kill2.err"; then
	fail "a second kill of an ended session succeeded"
fi
assert_match "$(cat "$T/kill2.err")" 'already ended' "second kill"
last=$sid

log "a client that never hangs up by itself (ssh -N) is dropped too"
GW_TIMEOUT=40 gw_ssh_bg nochan alice:host1 -N
client=$BG_PID
sid=$(wait_new_session "$last")
wait_until session_live "$sid" --timeout 5 || fail "session $sid not live"
pimctl kill "$sid"
acted=$(now)
bg_wait "$client"
late=$(elapsed "$acted" "$BG_END")
log "ssh -N: client dropped $late s after pimctl kill"
at_most "$late" "$KILL_BOUND" ||
	fail "an ssh -N session outlived its kill by $late s"
wait_until session_ended "$sid" --timeout 5 || fail "session $sid lives"
assert_eq killed "$(session_field "$sid" end_reason)" "end reason"
last=$sid

log "disabling the user ends the live session"
start_live disable "$last"
pimctl user disable alice
acted=$(now)
ends_within disable "$sid" revoked "user disable"
last=$sid
run_capture disabled gw_ssh alice:host1 true
((RC != 0)) || fail "a disabled user got in"
pimctl user enable alice

log "idle timeout"
pimctl role add quiet --idle-timeout 2s
pimctl role grant quiet host1
pimctl unassign alice ops
pimctl assign alice quiet --active
# Not start_live: on a loaded machine the session may already be idle.
GW_TIMEOUT=40 gw_ssh_bg idle alice:host1 'sleep 60'
client=$BG_PID
sid=$(wait_new_session "$last")
bg_wait "$client"
wait_until session_ended "$sid" --timeout 10 || fail "idle session $sid lives"
assert_eq idle "$(session_field "$sid" end_reason)" "end reason"
assert_match "$(cat "$T/idle.err")" 'without activity' "idle notice"
last=$sid

log "maximum session length"
pimctl role add short --max-session 3s
pimctl role grant short host1
pimctl unassign alice quiet
pimctl assign alice short --active
GW_TIMEOUT=40 gw_ssh_bg maxlen alice:host1 'sleep 60'
client=$BG_PID
sid=$(wait_new_session "$last")
bg_wait "$client"
wait_until session_ended "$sid" --timeout 10 || fail "session $sid lives"
assert_eq expired "$(session_field "$sid" end_reason)" "end reason"
last=$sid

log "a channel kind the role does not allow"
pimctl role add shellonly --channels shell
pimctl role grant shellonly host1
pimctl unassign alice short
pimctl assign alice shellonly --active
run_capture noexec gw_ssh alice:host1 'echo should-not-run'
((RC != 0)) || fail "exec ran under a shell-only role"
[[ "$OUT" != *should-not-run* ]] || fail "the command ran"
assert_match "$ERR" 'does not allow exec' "the reason on stderr"
pimctl unassign alice shellonly
pimctl assign alice ops --active

log "a target named by host name (resolved through the hosts file)"
pimctl target add named --ssh "localhost:$SSHD_PORT" --login root \
	--identity "$TARGET_KEY" --host-key "$SSHD_HOSTKEY.pub"
pimctl role grant ops named
run_capture named gw_ssh alice:named 'echo named-ok'
assert_eq 0 "$RC" "exit status via a host name (stderr: $ERR)"
assert_eq named-ok "$OUT" "output via a host name"
pimctl target add nowhere --ssh "no-such-host.invalid:22" --login root \
	--identity "$TARGET_KEY" --host-key "$SSHD_HOSTKEY.pub"
pimctl role grant ops nowhere
run_capture nowhere gw_ssh alice:nowhere true
((RC != 0)) || fail "a session to an unresolvable target succeeded"
assert_match "$ERR" 'cannot resolve the host of target nowhere' \
	"the reason on stderr"

log "a target that is down"
pimctl target add down --ssh "127.0.0.1:$(free_port)" --login root \
	--identity "$TARGET_KEY" --host-key "$SSHD_HOSTKEY.pub"
pimctl role grant ops down
run_capture down gw_ssh alice:down true
((RC != 0)) || fail "a session to a dead target succeeded"
assert_match "$ERR" 'cannot connect to target down' "the reason on stderr"
sid=$(newest_session_id)
wait_until session_ended "$sid" --timeout 5 || fail "session $sid lives"
assert_eq upstream-error "$(session_field "$sid" end_reason)" "end reason"
last=$sid

log "no descriptor outlives its session"
fds_now=$(find "/proc/$PIMGATED_PID/fd" -mindepth 1 | wc -l)
# The resolver may keep one socket for the name server it tried.
((fds_now <= fds_at_start + 1)) ||
	fail "pimgated holds $fds_now descriptors, $fds_at_start at the start"

log "SIGHUP does not end the daemon or its sessions"
start_live hup "$last"
kill -HUP "$PIMGATED_PID"
run_capture afterhup gw_ssh alice:host1 'echo still-here'
assert_eq still-here "$OUT" "a new session after SIGHUP (stderr: $ERR)"
session_live "$sid" || fail "session $sid ended on SIGHUP"
kill "$client"
bg_wait "$client"
last=$(newest_session_id)
wait_until session_ended "$last" --timeout 5 || fail "session $last lives"

log "SIGTERM tells live sessions and closes their recordings"
start_live term "$last" -tt
kill -TERM "$PIMGATED_PID"
bg_wait "$client"
wait_until pid_dead "$PIMGATED_PID" --timeout 10 ||
	fail "pimgated did not exit after SIGTERM"
forget_pid "$PIMGATED_PID"
assert_match "$(cat "$T/term.out" "$T/term.err")" 'shutting down' \
	"what the person saw at shutdown"
assert_eq shutdown "$(session_field "$sid" end_reason)" "end reason"
rec=$(recording_path "$sid")
python3 - "$rec" <<'EOF' || fail "recording $rec is not valid asciicast v2"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
head = json.loads(lines[0])
assert head["version"] == 2
for line in lines[1:]:
    t, kind, data = json.loads(line)
    assert kind in ("o", "i", "r") and isinstance(data, str)
assert any("shutting down" in json.loads(l)[2] for l in lines[1:])
EOF
log PASS
