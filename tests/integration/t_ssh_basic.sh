#!/usr/bin/env bash
# Proxied SSH through the bastion with the real OpenSSH client: exit
# status, stdin EOF, 20 MiB each way, a pty whose output is recorded,
# password login, two channels on one connection.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_sshd
pimgate_setup
start_pimgated
grant_access 10m >/dev/null

log "exit status"
run_capture exit7 gw_ssh alice:host1 'exit 7'
assert_eq 7 "$RC" "exit status of 'exit 7' (stderr: $ERR)"

log "stdin EOF is forwarded"
run_capture cat gw_ssh alice:host1 cat <<<hello
assert_eq 0 "$RC" "exit status of cat (stderr: $ERR)"
assert_eq hello "$OUT" "cat output"

size=$((20 * 1024 * 1024))

log "20 MiB client -> target"
head -c "$size" /dev/urandom >"$T/up.bin"
want=$(sha256sum <"$T/up.bin" | cut -d' ' -f1)
run_capture up gw_ssh alice:host1 sha256sum <"$T/up.bin"
assert_eq 0 "$RC" "exit status of sha256sum (stderr: $ERR)"
assert_eq "$want" "${OUT%% *}" "checksum seen by the target"

log "20 MiB target -> client"
# sshd runs on this machine, so the target writes its copy into $T.
gw_ssh alice:host1 "head -c $size /dev/urandom | tee $T/down.remote" \
	>"$T/down.local" || fail "download exited $?"
assert_eq "$size" "$(stat -c %s "$T/down.local")" "bytes received"
assert_eq "$(sha256sum <"$T/down.remote" | cut -d' ' -f1)" \
	"$(sha256sum <"$T/down.local" | cut -d' ' -f1)" "download checksum"

log "pty session is recorded"
before_id=$(newest_session_id || echo 0)
run_capture pty gw_ssh alice:host1 -tt 'echo PTYMARK; tty'
assert_eq 0 "$RC" "exit status of the pty session (stderr: $ERR)"
assert_contains "$OUT" PTYMARK "pty session output"
assert_contains "$OUT" /dev/pts "tty in the pty session"
sid=$(wait_new_session "${before_id:-0}")
wait_until session_ended "$sid" --timeout 10 ||
	fail "session $sid has no end after its client exited"
rec=$(recording_path "$sid")
[[ -n "$rec" ]] || fail "session $sid has no recording"
assert_file_contains "$rec" PTYMARK

log "password login"
run_capture pw gw_ssh_password alice:host1 "$ALICE_PASSWORD" 'echo pw-ok'
assert_eq 0 "$RC" "exit status with a password (stderr: $ERR)"
assert_eq pw-ok "$OUT" "output with a password"

log "two channels on one connection"
ctl=$T/mux.ctl
gw_ssh_bg mux-master alice:host1 -N -o ControlMaster=yes \
	-o ControlPath="$ctl"
mux_pid=$BG_PID
mux() { gw_ssh alice:host1 -o ControlMaster=no -o ControlPath="$ctl" "$@"; }
mux_up() { mux -O check 2>/dev/null; }
wait_until mux_up --timeout 20 ||
	fail "multiplexing master did not come up: $(cat "$T/mux-master.err")"
# Each channel marks that it runs, then waits (bounded) for the other's
# mark: both succeed only if both were open at the same time.
handshake() {
	# shellcheck disable=SC2016 # $(seq) runs on the target
	printf 'touch %s/%s; for i in $(seq 300); do [ -e %s/%s ] && break;
	sleep 0.05; done; [ -e %s/%s ] && echo %s-ok' \
		"$T" "$1" "$T" "$2" "$T" "$2" "$1"
}
gw_ssh_bg chan1 alice:host1 -o ControlMaster=no -o ControlPath="$ctl" \
	"$(handshake chan1 chan2)"
chan1_pid=$BG_PID
run_capture chan2 mux "$(handshake chan2 chan1)"
assert_eq 0 "$RC" "second channel exit status (stderr: $ERR)"
assert_eq chan2-ok "$OUT" "second channel output"
bg_wait "$chan1_pid"
assert_eq 0 "$BG_RC" "first channel exit status ($(cat "$T/chan1.err"))"
assert_eq chan1-ok "$(cat "$T/chan1.out")" "first channel output"
mux -O exit 2>/dev/null || true
wait_until pid_dead "$mux_pid" --timeout 10 ||
	fail "multiplexing master did not exit"
