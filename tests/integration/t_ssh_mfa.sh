#!/usr/bin/env bash
# A one-time code at SSH login for users enrolled with --mfa-at-login,
# asked by keyboard-interactive after the key or password, with the real
# OpenSSH client (codes given by an SSH_ASKPASS program): a right code
# logs in, a wrong one is refused (at most 3 tries) and audited, a code
# works once, and users without --mfa-at-login log in as before.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_sshd
pimgate_setup
start_pimgated
grant_access 10m >/dev/null

# bob: a key, no MFA, the same access.
BOB_KEY=$T/bob_ed25519
ssh-keygen -q -t ed25519 -N '' -C "bob@$TEST_NAME" -f "$BOB_KEY"
pimctl user add bob --key "$BOB_KEY.pub"
pimctl assign bob ops --eligible >/dev/null
pimctl activate bob ops --for 10m --reason "$TEST_NAME" >/dev/null

# gw_ssh_mfa LOGIN CODE [SSH-OPTION...] [--] [COMMAND...]: alice's key,
# then keyboard-interactive; an askpass program answers CODE to the code
# prompt and alice's password to any other prompt. The caller's options
# come first, so they win over the defaults here.
gw_ssh_mfa() {
	local login=$1 code=$2
	shift 2
	split_ssh_args "$@"
	gw_base_opts
	printf '%s\n' "$code" >"$T/askpass.code"
	printf '%s\n' "$ALICE_PASSWORD" >"$T/askpass.pw"
	cat >"$T/askpass-mfa" <<EOF
#!/bin/sh
echo "\$1" >>"$T/askpass.prompts"
case "\$1" in
*authenticator*) cat "$T/askpass.code" ;;
*) cat "$T/askpass.pw" ;;
esac
EOF
	chmod 700 "$T/askpass-mfa"
	SSH_ASKPASS="$T/askpass-mfa" SSH_ASKPASS_REQUIRE=force \
		setsid -w timeout --foreground -k 5 "$GW_TIMEOUT" \
		ssh "${GW_BASE[@]}" "${GW_OPTS[@]}" \
		-o IdentitiesOnly=yes -i "$ALICE_KEY" \
		-o KbdInteractiveAuthentication=yes \
		-o PreferredAuthentications=publickey,keyboard-interactive \
		-o PasswordAuthentication=no \
		"$login@127.0.0.1" "${GW_CMD[@]}"
}

# audit_logins_since ID: "outcome|detail" of login entries newer than ID.
audit_logins_since() {
	sql "select outcome, detail from audit
	     where id > $1 and event = 'login' order by id"
}

log "before enrolment: alice logs in with her key alone"
run_capture pre gw_ssh alice:host1 'echo pre-ok'
assert_eq 0 "$RC" "exit status before enrolment (stderr: $ERR)"
assert_eq pre-ok "$OUT" "output before enrolment"

log "enrol alice with --mfa-at-login"
# The enrolment shows the new secret by design: not an artifact to grep.
secrets_exempt "$T/enroll.out"
pimctl user mfa enroll alice --mfa-at-login >"$T/enroll.out"
uri=$(grep '^otpauth://' "$T/enroll.out") || fail "enroll printed no URI"
[[ $uri =~ [?\&]secret=([A-Z2-7]+) ]] || fail "no secret in $uri"
SECRET=${BASH_REMATCH[1]}

log "a user without MFA still logs in with just the key"
gw_base_opts
run_capture bob timeout --foreground -k 5 "$GW_TIMEOUT" ssh "${GW_BASE[@]}" \
	-o BatchMode=yes -o IdentitiesOnly=yes -i "$BOB_KEY" \
	bob:host1@127.0.0.1 'echo bob-ok'
assert_eq 0 "$RC" "exit status of bob (stderr: $ERR)"
assert_eq bob-ok "$OUT" "bob's output"

log "the key alone no longer logs alice in"
a0=$(audit_max_id)
run_capture keyonly gw_ssh alice:host1 \
	-o PreferredAuthentications=publickey 'echo key-only'
[[ "$RC" != 0 ]] || fail "alice logged in without a code: $OUT"
[[ "$OUT" != *key-only* ]] || fail "the command ran without a code"
[[ -z "$(sql "select id from audit where id > $a0 and event = 'login'
	and outcome = 'ok'")" ]] || fail "a login without a code was audited ok"

log "a wrong code is refused, three tries at most, and audited"
code=$(oathtool --totp -b "$SECRET")
wrong=$(printf '%06d' $(((10#$code + 1) % 1000000)))
a0=$(audit_max_id)
rm -f "$T/askpass.prompts"
run_capture wrong gw_ssh_mfa alice:host1 "$wrong" \
	-o NumberOfPasswordPrompts=5 'echo wrong-ok'
[[ "$RC" != 0 ]] || fail "a wrong code logged in: $OUT"
[[ "$OUT" != *wrong-ok* ]] || fail "the command ran with a wrong code"
assert_file_contains "$T/askpass.prompts" "Code from your authenticator"
logins=$(audit_logins_since "$a0")
assert_contains "$logins" "failed|publickey+totp: wrong one-time code" \
	"login audit after a wrong code"
n=$(grep -c 'wrong one-time code' <<<"$logins" || true)
assert_eq 3 "$n" "codes tried on one connection"
[[ "$logins" != *ok\|* ]] || fail "a wrong code was audited ok: $logins"
[[ "$logins" != *"$wrong"* ]] || fail "the code is in the audit: $logins"

log "key + the right code logs in and runs a command"
# One code for this login and its replay right after, so that a new time
# step in between cannot change the outcome.
code=$(oathtool --totp -b "$SECRET")
a0=$(audit_max_id)
run_capture right gw_ssh_mfa alice:host1 "$code" 'echo mfa-ok'
assert_eq 0 "$RC" "exit status with key + code (stderr: $ERR)"
assert_eq mfa-ok "$OUT" "output with key + code"
logins=$(audit_logins_since "$a0")
assert_contains "$logins" "ok|publickey+totp" "login audit with key + code"
[[ "$logins" != *"$code"* ]] || fail "the code is in the audit: $logins"

log "the same code on a second connection is refused"
a0=$(audit_max_id)
run_capture replay gw_ssh_mfa alice:host1 "$code" \
	-o NumberOfPasswordPrompts=1 'echo replay-ok'
[[ "$RC" != 0 ]] || fail "a replayed code logged in: $OUT"
[[ "$OUT" != *replay-ok* ]] || fail "the command ran with a replayed code"
logins=$(audit_logins_since "$a0")
assert_contains "$logins" "already used" "login audit of a replayed code"
assert_contains "$logins" "failed|publickey+totp: wrong one-time code" \
	"login audit of a replayed code"

log "password + the next step's code logs in"
# The step after the one just used: one step of skew is allowed.
next=$(oathtool --totp -b "$SECRET" -N "@$(($(date +%s) + 30))")
a0=$(audit_max_id)
run_capture pw gw_ssh_mfa alice:host1 "$next" -o PubkeyAuthentication=no \
	-o PreferredAuthentications=password,keyboard-interactive \
	-o PasswordAuthentication=yes 'echo pw-mfa-ok'
assert_eq 0 "$RC" "exit status with password + code (stderr: $ERR)"
assert_eq pw-mfa-ok "$OUT" "output with password + code"
assert_contains "$(audit_logins_since "$a0")" "ok|password+totp" \
	"login audit with password + code"

log "no code in the daemon's log"
if grep -v ' libssh ' "$T/pimgated.log" | grep -i 'totp\|one-time' |
	grep -qwF -e "$code" -e "$wrong" -e "$next"; then
	fail "a one-time code is in pimgated.log"
fi

stop_all
