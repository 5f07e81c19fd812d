#!/usr/bin/env bash
# Recordings fail closed: a session whose recording passes [recording]
# max_size is ended (reason recording-error) with a message; a new
# channel is refused while the recordings disk is below [recording]
# min_free.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_sshd
pimgate_setup
printf '[recording]\nmax_size = 256K\n' >>"$CONF"
start_pimgated
grant_access 10m >/dev/null

log "a recording past max_size ends its session"
run_capture big gw_ssh alice:host1 'head -c 4000000 /dev/urandom'
((RC != 0)) || fail "the session outlived its recording limit"
assert_match "$ERR" 'recording reached its limit' "the reason on stderr"
(($(stat -c %s "$T/big.out") < 4000000)) ||
	fail "all output was relayed past the recording limit"
sid=$(newest_session_id)
wait_until session_ended "$sid" --timeout 5 || fail "session $sid lives"
assert_eq recording-error "$(session_field "$sid" end_reason)" "end reason"
run_capture small gw_ssh alice:host1 'echo small-ok'
assert_eq small-ok "$OUT" "a small session still works (stderr: $ERR)"

log "no new recording below min_free"
stop_pid "$PIMGATED_PID" pimgated
forget_pid "$PIMGATED_PID"
printf 'min_free = 1048576T\n' >>"$CONF"
start_pimgated
mark=$(audit_max_id)
run_capture full gw_ssh alice:host1 'echo should-not-run'
((RC != 0)) || fail "a session ran without room for its recording"
[[ "$OUT" != *should-not-run* ]] || fail "the command ran"
assert_match "$ERR" 'cannot be recorded' "the reason on stderr"
assert_match "$(audit_refusals_since "$mark")" 'recording' "the audit entry"
printf 'ls /\n' >"$T/batch"
run_capture fullsftp timeout 60 sftp -F /dev/null -P "$SSH_PORT" \
	-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-o IdentityAgent=none -o BatchMode=yes -o IdentitiesOnly=yes \
	-i "$ALICE_KEY" -o User=alice:host1 -b "$T/batch" 127.0.0.1
((RC != 0)) || fail "sftp ran without room for what the session records"
log PASS
