#!/usr/bin/env bash
# Before the deadline the person sees a one-line notice in their terminal
# saying when access ends (part of the recording); when the activation is
# extended from another ssh connection, the live session's deadline moves
# without reconnecting.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_sshd
pimgate_setup
start_pimgated
pimctl assign alice ops --eligible

log "an activation of 65 s: the one-minute notice comes after about 5 s"
act=$(pimctl activate alice ops --for 65s --reason warnings)
end=$(activation_end "$act")
GW_TIMEOUT=120 gw_ssh_bg warn alice:host1 -tt 'sleep 100'
client=$BG_PID
sid=$(wait_new_session 0)
notice_shown() { grep -q 'ends at' "$T/warn.out" "$T/warn.err"; }
wait_until notice_shown --timeout 30 || fail "no notice before the deadline"
assert_match "$(cat "$T/warn.out" "$T/warn.err")" \
	"access to host1 ends at .*extend $act --for" "the notice"

log "the activation is extended: the live session's deadline moves"
# From another ssh connection, with the self-service command.
run_capture extend gw_ssh alice extend "$act" --for 10m --reason warnings
assert_eq 0 "$RC" "extend over ssh (stdout: $OUT, stderr: $ERR)"
deadline_moved() {
	(($(sql "select deadline from sessions where id = $sid") > ${end%.*}))
}
wait_until deadline_moved --timeout 5 || fail "the deadline did not move"
wait_until clock_past "$end" --timeout 70 || fail "clock stuck"
sleep_until=$(deadline_in 2)
wait_until clock_past "$sleep_until" --timeout 5 || true
session_live "$sid" || fail "session $sid ended at the old deadline"

kill "$client"
bg_wait "$client"
wait_until session_ended "$sid" --timeout 5 || fail "session $sid lives"
rec=$(recording_path "$sid")
assert_file_contains "$rec" "ends at"
log PASS
