#!/usr/bin/env bash
# A live session ends within one second of its activation's end (reason
# "expired"), and within one second of `pimctl revoke` (reason "revoked"),
# with a message to the person.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The bound the product promises, in seconds.
KILL_BOUND=1.0

start_sshd
pimgate_setup
start_pimgated
pimctl assign alice ops --eligible

log "activation of 5 s with a running session"
act=$(pimctl activate alice ops --for 5s --reason deadline-expiry)
end=$(activation_end "$act")
GW_TIMEOUT=40 gw_ssh_bg expiry alice:host1 'sleep 60'
client=$BG_PID
sid=$(wait_new_session 0)
wait_until session_live "$sid" --timeout 5 ||
	fail "session $sid is not live"
if clock_past "$end"; then
	fail "the session came up only after the window's end"
fi
bg_wait "$client"
late=$(elapsed "$end" "$BG_END")
log "client exited $late s after the window's end (status $BG_RC)"
at_most "$late" "$KILL_BOUND" ||
	fail "session outlived its activation by $late s (bound $KILL_BOUND s)"
at_most -0.5 "$late" || fail "session ended $late s before its window's end"
said=$(cat "$T/expiry.out" "$T/expiry.err")
assert_match "$said" 'access window|window.*clos|expired' \
	"what the person saw at expiry"
wait_until session_ended "$sid" --timeout 5 ||
	fail "session $sid has no end"
assert_eq expired "$(session_field "$sid" end_reason)" "end reason"

log "revoking the activation of a running session"
act=$(pimctl activate alice ops --for 10m --reason deadline-revoke)
GW_TIMEOUT=40 gw_ssh_bg revoke alice:host1 'sleep 60'
client=$BG_PID
sid2=$(wait_new_session "$sid")
wait_until session_live "$sid2" --timeout 5 ||
	fail "session $sid2 is not live"
pimctl revoke "$act"
revoked=$(now)
bg_wait "$client"
late=$(elapsed "$revoked" "$BG_END")
log "client exited $late s after pimctl revoke returned (status $BG_RC)"
at_most "$late" "$KILL_BOUND" ||
	fail "session outlived the revocation by $late s (bound $KILL_BOUND s)"
said=$(cat "$T/revoke.out" "$T/revoke.err")
assert_match "$said" 'revoked|access window|window.*clos|ended' \
	"what the person saw at revocation"
wait_until session_ended "$sid2" --timeout 5 ||
	fail "session $sid2 has no end"
assert_eq revoked "$(session_field "$sid2" end_reason)" "end reason"
