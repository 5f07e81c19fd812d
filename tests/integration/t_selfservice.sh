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

log "commands piped into the prompt (no terminal)"
run_capture piped gw_ssh alice <<<$'status\ntargets\nexit'
assert_eq 0 "$RC" "piped prompt exit (stderr: $ERR)"
assert_match "$OUT" 'host1' "piped targets"

log "the interactive prompt in a terminal (tmux), into a proxied session"
pimctl role add mfa --require-mfa --require-justification
pimctl role grant mfa host1
pimctl assign alice mfa --eligible
secret=$(pimctl user mfa enroll alice | sed -n 's/.*secret=\([A-Z2-7]*\).*/\1/p' |
	head -n 1)
[[ -n "$secret" ]] || fail "no secret in the enrolment output"
gw_ssh_argv alice
tmux -L "pimgate-$$" new-session -d -s ss -x 120 -y 40 \
	"${GW_ARGV[*]} -tt; sleep 30"
TMUX_SOCKET="pimgate-$$"
screen_has() { tmux -L "$TMUX_SOCKET" capture-pane -p -t ss | grep -q -- "$1"; }
keys() { tmux -L "$TMUX_SOCKET" send-keys -t ss "$@"; }
wait_until screen_has 'pimgate>' --timeout 15 || fail "no prompt: $(
	tmux -L "$TMUX_SOCKET" capture-pane -p -t ss)"
keys 'activate mfa --for 5m --reason "urgent medication check"' Enter
wait_until screen_has 'One-time code' --timeout 10 || fail "no code prompt: $(
	tmux -L "$TMUX_SOCKET" capture-pane -p -t ss)"
keys "$(oathtool --totp -b "$secret")" Enter
wait_until screen_has 'activation [0-9]*: active' --timeout 10 ||
	fail "no activation: $(tmux -L "$TMUX_SOCKET" capture-pane -p -t ss)"
keys 'exit' Enter
tmux -L "$TMUX_SOCKET" kill-session -t ss 2>/dev/null || true
run_capture mfaconn gw_ssh alice:host1 'echo after-prompt'
assert_eq after-prompt "$OUT" "a session after the prompt (stderr: $ERR)"

log "ssh -t alice@bastion activate ... asks for the code too"
pimctl role add mfa2 --require-mfa
pimctl role grant mfa2 host1
pimctl assign alice mfa2 --eligible
gw_ssh_argv alice -tt activate mfa2 --for 5m --reason night-shift
tmux -L "$TMUX_SOCKET" new-session -d -s one -x 120 -y 40 \
	"${GW_ARGV[*]}; echo EXIT=\$?; sleep 30"
one_has() { tmux -L "$TMUX_SOCKET" capture-pane -p -t one | grep -q -- "$1"; }
wait_until one_has 'One-time code' --timeout 15 || fail "no code prompt: $(
	tmux -L "$TMUX_SOCKET" capture-pane -p -t one)"
# The next step's code: the previous one may share this step.
tmux -L "$TMUX_SOCKET" send-keys -t one \
	"$(oathtool --totp -b -N "@$(($(date +%s) + 30))" "$secret")" Enter
wait_until one_has 'EXIT=0' --timeout 10 || fail "activate failed: $(
	tmux -L "$TMUX_SOCKET" capture-pane -p -t one)"
one_has 'active until' || fail "no activation line"
tmux -L "$TMUX_SOCKET" kill-server 2>/dev/null || true
assert_match "$(sql "select group_concat(outcome) from audit
	where event = 'selfservice'")" 'ok' "self-service audit entries"
log PASS
