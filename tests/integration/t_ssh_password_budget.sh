#!/usr/bin/env bash
# Password guessing is rationed per client address: a burst of wrong
# passwords from one address gets some checked and the rest refused
# unchecked, audited in one batched entry rather than one per attempt;
# key logins are not affected.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_sshd
pimgate_setup
start_pimgated
grant_access 10m >/dev/null

ATTEMPTS=16
log "$ATTEMPTS wrong passwords at once from one address"
mark=$(audit_max_id)
pids=()
for ((i = 0; i < ATTEMPTS; i++)); do
	gw_ssh_password alice:host1 "wrong-$i" true >/dev/null 2>&1 &
	pids+=("$!")
done
for pid in "${pids[@]}"; do
	wait "$pid" && fail "a wrong password was accepted"
done
checked=$(sql "select count(*) from audit where id > $mark and
	event = 'login' and detail like '%wrong password%'")
batched=$(sql "select count(*) from audit where id > $mark and
	event = 'login' and detail like '%not checked%'")
log "checked $checked, batched refusal entries $batched"
((checked >= 1 && checked < ATTEMPTS)) ||
	fail "$checked of $ATTEMPTS attempts were checked"
((batched >= 1)) || fail "no audit entry for the unchecked attempts"
((checked + batched < ATTEMPTS)) ||
	fail "every unchecked attempt has its own audit entry"

log "a key login still works"
run_capture key gw_ssh alice:host1 'echo key-ok'
assert_eq key-ok "$OUT" "key login after the burst (stderr: $ERR)"
log PASS
