#!/usr/bin/env bash
# Port forwarding: "ssh -L" through the bastion reaches a service as seen
# from the target when the role allows port-forward channels, and is
# refused (with an audit entry) when it does not; "ssh -R" is refused.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_sshd
pimgate_setup
start_pimgated

# A one-connection-at-a-time echo service on loopback, stopped by PID.
ECHO_PORT=$(free_port)
python3 - "$ECHO_PORT" <<'PY' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(4)
s.settimeout(120)
while True:
    c, _ = s.accept()
    with c:
        while (b := c.recv(4096)):
            c.sendall(b)
PY
STARTED_PIDS+=("$!")
wait_for_port "$ECHO_PORT" "$!" echo-service 10 || fail "no echo service"

# echo_through PORT: sends a line through 127.0.0.1:PORT, prints the reply.
echo_through() {
	python3 - "$1" <<'PY'
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
c.sendall(b"ping-through-bastion\n")
data = b""
try:
    while not data.endswith(b"\n"):
        chunk = c.recv(4096)
        if not chunk:
            break
        data += chunk
except OSError:
    pass
print(data.decode(errors="replace").strip())
PY
}

pimctl role add fwd --channels shell,exec,port-forward
pimctl role grant fwd host1
pimctl assign alice fwd --active

log "ssh -L under a role that allows it"
LPORT=$(free_port)
GW_TIMEOUT=60 gw_ssh_bg fwd alice:host1 -N -o ExitOnForwardFailure=yes \
	-L "127.0.0.1:$LPORT:127.0.0.1:$ECHO_PORT"
client=$BG_PID
wait_for_port "$LPORT" "$client" "ssh -L" 20 || fail "ssh -L did not listen"
assert_eq ping-through-bastion "$(echo_through "$LPORT")" "echo via -L"

log "ssh -W (asks at once, right after login)"
run_capture stdio gw_ssh alice:host1 -W "127.0.0.1:$ECHO_PORT" \
	<<<"ping-over-stdio"
assert_eq ping-over-stdio "$OUT" "echo via -W (stderr: $ERR)"

log "ssh -N -L is dropped within a second when its session is ended"
sid=$(sql "select id from sessions where \"end\" = 0 order by id limit 1")
[[ -n "$sid" ]] || fail "the -L session is not live"
pimctl kill "$sid"
acted=$(now)
bg_wait "$client"
late=$(elapsed "$acted" "$BG_END")
log "ssh -N -L: client dropped $late s after pimctl kill"
at_most "$late" 1.0 || fail "the forwarding client outlived its kill by $late s"
wait_until session_ended "$sid" --timeout 5 || fail "session $sid lives"
assert_eq killed "$(session_field "$sid" end_reason)" "end reason"

log "ssh -L under a role that does not"
pimctl unassign alice fwd
pimctl assign alice ops --active
mark=$(audit_max_id)
LPORT=$(free_port)
GW_TIMEOUT=60 gw_ssh_bg nofwd alice:host1 -N \
	-L "127.0.0.1:$LPORT:127.0.0.1:$ECHO_PORT"
client=$BG_PID
wait_for_port "$LPORT" "$client" "ssh -L" 20 || fail "ssh -L did not listen"
got=$(echo_through "$LPORT")
[[ "$got" != *ping-through-bastion* ]] || fail "forwarded without permission"
wait_until has_audit_refusal_since "$mark" --timeout 5 ||
	fail "no audit entry for the refused forward"
assert_match "$(audit_refusals_since "$mark")" 'does not allow port forwarding' \
	"the audit entry"
kill "$client"
bg_wait "$client"

log "ssh -R is refused"
mark=$(audit_max_id)
run_capture remote gw_ssh alice:host1 -N -o ExitOnForwardFailure=yes \
	-R "127.0.0.1:$(free_port):127.0.0.1:$ECHO_PORT"
((RC != 0)) || fail "ssh -R was accepted"
wait_until has_audit_refusal_since "$mark" --timeout 5 ||
	fail "no audit entry for the refused -R"
log PASS
