#!/usr/bin/env bash
# Self-service over SSH with nothing but the OpenSSH client: a caregiver
# logs in without a target and runs her own commands (status, activate,
# targets), then connects through the bastion under the activation.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_sshd
pimgate_setup
start_pimgated
pimctl assign alice ops --eligible

log "refused before activating"
run_capture before gw_ssh alice:host1 true
((RC != 0)) || fail "admitted without an activation"

log "status over ssh"
run_capture status gw_ssh alice status
assert_eq 0 "$RC" "status exit (stderr: $ERR)"
assert_match "$OUT" 'ops' "status lists the eligible role"

log "activate over ssh"
run_capture act gw_ssh alice activate ops --for 10m \
	--reason "\"update the care plan\""
assert_eq 0 "$RC" "activate exit (stdout: $OUT, stderr: $ERR)"
assert_match "$OUT" 'activation [0-9]+' "activate answer"

log "targets over ssh"
run_capture targets gw_ssh alice targets
assert_eq 0 "$RC" "targets exit (stderr: $ERR)"
assert_match "$OUT" 'host1' "targets lists host1"

log "connected under the activation"
run_capture conn gw_ssh alice:host1 'echo self-ok'
assert_eq self-ok "$OUT" "a session after self-service (stderr: $ERR)"

log "unknown command and refusals"
run_capture bad gw_ssh alice frobnicate
assert_eq 2 "$RC" "exit status of an unknown command"
run_capture noreason gw_ssh alice activate ops --for 10m
((RC != 0)) || fail "activate without a reason succeeded"
run_capture noshell gw_ssh alice
((RC != 0)) || fail "a shell without a command succeeded"
assert_match "$OUT$ERR" 'give a command' "the hint without a command"
assert_match "$(sql "select group_concat(outcome) from audit
	where event = 'selfservice'")" 'ok' "self-service audit entries"
log PASS
