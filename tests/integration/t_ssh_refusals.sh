#!/usr/bin/env bash
# Every connection that the admission rule does not allow is refused with
# a one-line reason on the client's stderr and an audit entry.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# OpenSSH's own lines, which are not the bastion's reason.
ssh_noise='^(Warning: Permanently added|Connection to .* closed'
ssh_noise+='|.*Permission denied \()'

# expect_refusal WHAT REASON-ERE AUTH CMD...: CMD must fail, its stderr
# must hold a line matching REASON-ERE, and the audit log must gain an
# entry whose outcome is not "ok". AUTH is "admission" (the reason must
# come from the bastion, with a detail in the audit entry) or "login"
# (OpenSSH's "Permission denied" will do: no hint about which part was
# wrong).
expect_refusal() {
	local what=$1 re=$2 kind=$3 mark reason rows
	shift 3
	mark=$(audit_max_id)
	run_capture refusal "$@"
	((RC != 0)) || fail "$what: admitted (exit 0); output: $OUT"
	[[ "$OUT" != *ADMITTED* ]] || fail "$what: the command ran on the target"
	if [[ "$kind" == admission ]]; then
		reason=$(grep -vE "$ssh_noise" <<<"$ERR" || true)
	else
		reason=$ERR
	fi
	[[ -n "$reason" ]] || fail "$what: no reason on stderr; it was: $ERR"
	assert_match "$reason" "$re" "$what: the reason on stderr"
	wait_until has_audit_refusal_since "$mark" --timeout 5 ||
		fail "$what: no audit entry with an outcome other than ok;" \
			"new entries: $(audit_since "$mark")"
	rows=$(audit_refusals_since "$mark")
	if [[ "$kind" == admission ]]; then
		grep -qE '\|[^|]*\|.+' <<<"$rows" ||
			fail "$what: the audit entry has no reason: $rows"
	fi
	log "$what: refused (exit $RC): $(tail -n 1 <<<"$reason")"
	log "$what: audit: $(tr '\n' ';' <<<"$rows")"
}

expect_admitted() {
	run_capture admitted gw_ssh "$1" 'echo ADMITTED'
	assert_eq 0 "$RC" "$1 should be admitted (stderr: $ERR)"
	assert_eq ADMITTED "$OUT" "$1 output"
}

start_sshd
pimgate_setup
start_pimgated

expect_refusal "no assignment" \
	'assign|eligible|no role|not granted|no access|not allowed' admission \
	gw_ssh alice:host1 'echo ADMITTED'

pimctl assign alice ops --eligible
expect_refusal "eligible, not activated" \
	'activat|not active|no active' admission \
	gw_ssh alice:host1 'echo ADMITTED'

log "activation of 2 s, then expired"
act=$(pimctl activate alice ops --for 2s --reason refusals-expiry)
end=$(activation_end "$act")
expect_admitted alice:host1
wait_until clock_past "$(python3 -c "print($end + 0.2)")" --timeout 10 ||
	fail "activation $act did not reach its end"
expect_refusal "activation expired" \
	'expired|activat|not active|no active|window' admission \
	gw_ssh alice:host1 'echo ADMITTED'

log "activation revoked"
act=$(pimctl activate alice ops --for 10m --reason refusals-revoke)
expect_admitted alice:host1
pimctl revoke "$act"
expect_refusal "activation revoked" \
	'revoked|activat|not active|no active' admission \
	gw_ssh alice:host1 'echo ADMITTED'

log "target not granted"
pimctl target add host2 --ssh "127.0.0.1:$SSHD_PORT" --login root \
	--identity "$TARGET_KEY" --host-key "$SSHD_HOSTKEY.pub"
pimctl activate alice ops --for 10m --reason refusals-grant >/dev/null
expect_admitted alice:host1
expect_refusal "target not granted" \
	'grant|host2|no role|not allowed|no access' admission \
	gw_ssh alice:host2 'echo ADMITTED'

expect_refusal "wrong password" 'denied|password|authentication' login \
	gw_ssh_password alice:host1 'not-the-password' 'echo ADMITTED'

expect_refusal "unknown user, key" 'denied|unknown|authentication' login \
	gw_ssh mallory:host1 'echo ADMITTED'
expect_refusal "unknown user, password" 'denied|unknown|authentication' \
	login gw_ssh_password mallory:host1 "$ALICE_PASSWORD" 'echo ADMITTED'

log "alice is still admitted"
expect_admitted alice:host1
