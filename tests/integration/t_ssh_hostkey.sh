#!/usr/bin/env bash
# The target's host key is pinned when it is added: once the target
# presents another key, connections through the bastion are refused.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_sshd
pimgate_setup
start_pimgated
grant_access 10m >/dev/null

run_capture before gw_ssh alice:host1 'echo BEFORE'
assert_eq 0 "$RC" "connection with the pinned key (stderr: $ERR)"
assert_eq BEFORE "$OUT" "output with the pinned key"

log "target sshd restarted with another host key"
restart_sshd
write_target_known_hosts
direct_ssh true || fail "the target does not take direct logins"

mark=$(audit_max_id)
run_capture after gw_ssh alice:host1 'echo AFTER'
((RC != 0)) || fail "admitted to a target whose host key changed"
[[ "$OUT" != *AFTER* ]] || fail "the command ran on the changed target"
assert_match "$ERR" 'host key' "the reason on stderr"
log "refused (exit $RC): $(grep -i 'host key' <<<"$ERR" | head -n 1)"
wait_until has_audit_refusal_since "$mark" --timeout 5 ||
	fail "no audit entry; new entries: $(audit_since "$mark")"
rows=$(audit_refusals_since "$mark")
assert_match "$rows" 'key' "the audit entry"
log "audit: $(tr '\n' ';' <<<"$rows")"
