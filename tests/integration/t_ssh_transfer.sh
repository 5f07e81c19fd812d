#!/usr/bin/env bash
# sftp and scp through the bastion (login name USER:TARGET given with -o
# User=, since both read "a:b" as host:path), the environment allow-list
# (LANG and LC_* pass, anything else is dropped), and an exit signal.
# shellcheck disable=SC2016 # expanded by the target's shell
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_sshd
pimgate_setup
start_pimgated
grant_access 10m >/dev/null

xfer_opts() {
	XFER=(-F /dev/null -P "$SSH_PORT" -o StrictHostKeyChecking=no
		-o UserKnownHostsFile=/dev/null -o IdentityAgent=none
		-o BatchMode=yes -o IdentitiesOnly=yes -i "$ALICE_KEY"
		-o User=alice:host1)
}

log "sftp put and get, 3 MiB"
head -c 3145728 /dev/urandom >"$T/f.bin"
printf 'put %s %s\nget %s %s\n' "$T/f.bin" "$T/remote.bin" \
	"$T/remote.bin" "$T/back.bin" >"$T/batch"
xfer_opts
run_capture sftp timeout 60 sftp "${XFER[@]}" -b "$T/batch" 127.0.0.1
assert_eq 0 "$RC" "sftp exit status (stderr: $ERR)"
cmp -s "$T/f.bin" "$T/remote.bin" || fail "sftp put changed the file"
cmp -s "$T/f.bin" "$T/back.bin" || fail "sftp get changed the file"

log "scp"
run_capture scp timeout 60 scp "${XFER[@]}" "$T/f.bin" "127.0.0.1:$T/scp.bin"
assert_eq 0 "$RC" "scp exit status (stderr: $ERR)"
cmp -s "$T/f.bin" "$T/scp.bin" || fail "scp changed the file"

log "environment allow-list"
# Variables set for one function call are in the client's environment.
LANG=C.UTF-8 LC_TIME=C PIMTEST_SECRET=leak run_capture env \
	gw_ssh alice:host1 -o SendEnv=LANG -o SendEnv=LC_TIME \
	-o SendEnv=PIMTEST_SECRET \
	'echo "LANG=$LANG LC_TIME=$LC_TIME SECRET=${PIMTEST_SECRET:-none}"'
assert_eq 0 "$RC" "exit status with SendEnv (stderr: $ERR)"
assert_eq "LANG=C.UTF-8 LC_TIME=C SECRET=none" "$OUT" "environment seen"

log "exit signal"
run_capture sig gw_ssh alice:host1 'kill -TERM $$'
((RC != 0)) || fail "a command killed by a signal exited 0"
sid=$(newest_session_id)
wait_until session_ended "$sid" --timeout 5 || fail "session $sid lives"
assert_eq exit "$(session_field "$sid" end_reason)" "end reason"
log PASS
