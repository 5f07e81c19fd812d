#!/usr/bin/env bash
# The PostgreSQL listener at the edges of the protocol, with raw sockets:
# a GSSENCRequest is answered 'N' and the connection goes on with an
# SSLRequest and a normal start-up; plaintext bytes sent along with the
# SSLRequest are not taken as a start-up; an SSLRequest inside TLS,
# start-up packets longer than 10000 or shorter than 8 bytes and garbage
# are refused or closed; replication connections are refused 0A000; a client
# that says nothing is closed after [ssh] login_grace_time; a malformed
# message inside a session closes it. The daemon lives on throughout and
# a normal psql query still works.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_pg.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_pg.sh"

# edge CASE [ARG]: one raw connection to the bastion's PostgreSQL port
# playing CASE (see the cases below), alice's certificate for TLS. Prints
# what came back, space-separated: "N" / "S" (the answer byte to a
# GSSENCRequest / SSLRequest), "error SEVERITY SQLSTATE MESSAGE", "auth
# N", "ready", then "closed" when the bastion closed the connection (or
# "timeout" if it did not within 20 s), and "after SECONDS" (from the
# last byte sent to the close).
edge() {
	python3 - "$PG_GW_PORT" "$STATE/ca.crt" "$CERT" "$KEY" "$@" <<'PY'
import random, socket, ssl, struct, sys, time

port, ca, cert, key, case = sys.argv[1:6]
arg = sys.argv[6] if len(sys.argv) > 6 else ""
said = []
s = socket.create_connection(("127.0.0.1", int(port)), timeout=20)
sent_at = time.monotonic()
buf = b""

def send(data):
    global sent_at
    s.sendall(data)
    sent_at = time.monotonic()

def finish(how):
    said.append(how)
    said.append("after %.2f" % (time.monotonic() - sent_at))
    print(" ".join(said))
    sys.exit(0)

def recv_some():
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        finish("timeout")
    except (ssl.SSLError, OSError):
        chunk = b""
    return chunk

def read(n):
    global buf
    while len(buf) < n:
        chunk = recv_some()
        if not chunk:
            finish("closed")
        buf += chunk
    out, buf = buf[:n], buf[n:]
    return out

def messages():
    """Reads messages until the close (or a ReadyForQuery: 'ready')."""
    while True:
        head = read(5)
        (length,) = struct.unpack("!I", head[1:5])
        data = read(length - 4) if length >= 4 else b""
        kind = head[:1]
        if kind == b"E":
            f = {}
            for part in data.split(b"\0"):
                if part:
                    f[chr(part[0])] = part[1:].decode("utf-8", "replace")
            said.append("error %s %s %s" % (f.get("S", "?"),
                                            f.get("C", "?"), f.get("M", "")))
        elif kind == b"R":
            (code,) = struct.unpack("!I", data[:4])
            if code != 0:
                said.append("auth %d" % code)
        elif kind == b"Z":
            said.append("ready")
            return

def ssl_request():
    global s
    send(struct.pack("!II", 8, 80877103))
    answer = read(1).decode("latin-1")
    said.append(answer)
    if answer != "S":
        finish("no-tls")
    ctx = ssl.create_default_context(cafile=ca)
    ctx.load_cert_chain(cert, key)
    s = ctx.wrap_socket(s, server_hostname="127.0.0.1")
    s.settimeout(20)

def startup(**params):
    body = struct.pack("!I", 196608)
    for k, v in params.items():
        body += k.encode() + b"\0" + v.encode() + b"\0"
    body += b"\0"
    send(struct.pack("!I", len(body) + 4) + body)

def packet(length, code):
    """A start-up packet whose length field says LENGTH: all of it when
    that is at most 10000 (the parameters, "xxx...", have no NUL), else
    200 bytes."""
    filler = length - 8 if 8 <= length <= 10000 else 192
    return struct.pack("!II", length, code) + b"x" * max(0, filler)

if case == "gssenc":
    # GSSENCRequest, 'N', then SSLRequest on the same connection.
    send(struct.pack("!II", 8, 80877104))
    said.append(read(1).decode("latin-1"))
    ssl_request()
    startup(user="alice", database="pgdb")
    messages()
    send(b"X" + struct.pack("!I", 4))
    messages()
elif case == "ssl-injection":
    # A plaintext start-up in the same write as the SSLRequest, before
    # any TLS: it must not be taken for one sent inside TLS.
    body = struct.pack("!I", 196608) + b"user\0alice\0database\0pgdb\0\0"
    send(struct.pack("!II", 8, 80877103) +
         struct.pack("!I", len(body) + 4) + body)
    said.append(read(1).decode("latin-1"))
    messages()
elif case == "ssl-in-tls":
    ssl_request()
    send(struct.pack("!II", 8, 80877103))
    messages()
elif case == "tls-length":
    # A start-up packet inside TLS whose length field says ARG.
    ssl_request()
    n = int(arg, 0)
    send(packet(n, 196608))
    messages()
elif case == "plain-length":
    # The same before TLS (a plaintext start-up).
    n = int(arg, 0)
    send(packet(n, 196608))
    messages()
elif case == "garbage":
    data = {
        "http": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        # A TLS ClientHello's first bytes without an SSLRequest.
        "tls": bytes.fromhex("16030100f4010000f00303") + b"\0" * 64,
        "random": random.Random(20261204).randbytes(300),
        "zeros": b"\0" * 64,
        "ones": b"\xff" * 64,
    }[arg]
    send(data)
    messages()
elif case == "tls-garbage":
    ssl_request()
    send(random.Random(1204).randbytes(300))
    messages()
elif case == "replication":
    ssl_request()
    startup(user="alice", database="pgdb", replication=arg)
    messages()
    send(b"X" + struct.pack("!I", 4))
    messages()
elif case == "silent":
    messages()
elif case == "silent-partial":
    send(struct.pack("!I", 8))
    messages()
elif case == "silent-tls":
    ssl_request()
    messages()
elif case == "bad-message":
    # Admitted, then a Query whose length field says 2 (below 4).
    ssl_request()
    startup(user="alice", database="pgdb")
    messages()
    send(b"Q" + struct.pack("!I", 2))
    messages()
else:
    sys.exit("unknown case " + case)
# A ReadyForQuery came last: end politely and see the close.
send(b"X" + struct.pack("!I", 4))
messages()
PY
}

# expect_edge WHAT ERE CASE [ARG]: edge's account of CASE must match ERE
# (and end with the close: no 'timeout'); the daemon must live on.
expect_edge() {
	local what=$1 re=$2 said
	shift 2
	said=$(edge "$@") || fail "$what: the probe failed: $said"
	assert_match "$said" "$re" "$what: what the bastion did"
	[[ "$said" != *timeout* ]] ||
		fail "$what: not closed within 20 s: $said"
	pid_alive "$PIMGATED_PID" || fail "pimgated died after: $what"
	log "$what: $said"
	EDGE=$said
}

# closed_within SECONDS: the last EDGE was closed within SECONDS of the
# last byte sent, yet not before 1 s (the login grace time is 2 s).
closed_within() {
	local after
	after=$(sed -nE 's/.*closed after ([0-9.]+)$/\1/p' <<<"$EDGE")
	[[ -n "$after" ]] || fail "no close in '$EDGE'"
	at_most "$after" "$1" || fail "closed only $after s after the last" \
		"byte (bound $1 s): $EDGE"
	at_most 1 "$after" || fail "closed $after s after the last byte," \
		"before the login grace time of 2 s: $EDGE"
}

start_postgres
pimgate_setup_pg
sed -i '/^\[ssh\]$/a login_grace_time = 2s' "$CONF"
grep -qx 'login_grace_time = 2s' "$CONF" || fail "could not edit $CONF"
grant_pg_access 10m >/dev/null
make_client_cert alice pgdb
start_pimgated_pg

# Either the FATAL, or a plain close.
REFUSED_OR_CLOSED='^S (error FATAL 08P01 [^ ].* )?closed after'

expect_edge "GSSENCRequest, then SSLRequest and a start-up" \
	'^N S ready closed after' gssenc
expect_edge "SSLRequest inside TLS" "$REFUSED_OR_CLOSED" ssl-in-tls
expect_edge "a plaintext start-up sent along with the SSLRequest" \
	'^S (error FATAL [0-9A-Z]{5} [^ ].* )?closed after' ssl-injection
[[ "$EDGE" != *ready* && "$EDGE" != *auth* ]] ||
	fail "a start-up sent before TLS was taken: $EDGE"
for n in 10001 0x7fffffff 7 4 0; do
	expect_edge "start-up of length $n inside TLS" "$REFUSED_OR_CLOSED" \
		tls-length "$n"
done
expect_edge "start-up of length 10000 without a NUL inside TLS" \
	"$REFUSED_OR_CLOSED" tls-length 10000
for n in 10001 7 4; do
	expect_edge "plaintext start-up of length $n" \
		'^(error FATAL [0-9A-Z]{5} [^ ].* )?closed after' \
		plain-length "$n"
done
for g in http tls random zeros ones; do
	expect_edge "garbage ($g) on connect" \
		'^(error FATAL [0-9A-Z]{5} [^ ].* )?closed after' garbage "$g"
	[[ "$EDGE" != *ready* && "$EDGE" != *auth* ]] ||
		fail "garbage ($g) got somewhere: $EDGE"
done
expect_edge "garbage inside TLS" "$REFUSED_OR_CLOSED" tls-garbage
for v in true database 1 on; do
	expect_edge "replication=$v" '^S error FATAL 0A000 .*closed after' \
		replication "$v"
done
expect_edge "replication=false" '^S ready closed after' replication false

log "silent clients are closed after login_grace_time (2 s)"
expect_edge "a client that sends nothing" \
	'^(error FATAL [0-9A-Z]{5} [^ ].* )?closed after' silent
closed_within 10
expect_edge "a client that sends 4 bytes, then nothing" \
	'^(error FATAL [0-9A-Z]{5} [^ ].* )?closed after' silent-partial
closed_within 10
expect_edge "a client that completes TLS, then sends nothing" \
	'^S (error FATAL [0-9A-Z]{5} [^ ].* )?closed after' silent-tls
closed_within 10

log "a message with a length below 4 inside a session"
before_bad=$(newest_session_id)
expect_edge "a malformed message in a session" \
	'^S ready (error FATAL 08P01 [^ ].* )?closed after' bad-message
sid=$(newest_session_id)
((sid > before_bad)) || fail "the malformed message's session is not listed"
wait_until session_ended "$sid" --timeout 5 ||
	fail "session $sid lives on after a malformed message"

log "a flood of refused connections does not flood the audit log"
mark=$(audit_max_id)
python3 - "$PG_GW_PORT" <<'PY'
import socket, struct, sys
port = int(sys.argv[1])
body = struct.pack("!I", 196608) + b"user\0alice\0database\0pgdb\0\0"
for _ in range(300):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(struct.pack("!I", len(body) + 4) + body)
    try:
        s.recv(4096)
    except OSError:
        pass
    s.close()
PY
n=$(sql "select count(*) from audit where id > $mark")
log "300 plaintext refusals made $n audit entries"
((n > 0)) || fail "the refusals were not audited at all"
((n < 100)) || fail "300 refusals made $n audit entries (rate limit)"
# Once the address may be audited again, the next entry counts the
# refusals folded into it.
one_more_counted() {
	pg_probe alice pgdb /nonexistent /nonexistent --plain >/dev/null
	[[ "$(sql "select detail from audit where id > $mark
		order by id desc limit 1")" == *"earlier refusals from this address"* ]]
}
wait_until one_more_counted --timeout 10 ||
	fail "no audit entry counts the refusals that were folded"

log "out of file descriptors: the listener pauses instead of spinning"
prlimit --pid "$PIMGATED_PID" --nofile=32: ||
	fail "cannot lower pimgated's open-files limit"
# Hold 60 idle connections (more than the descriptors left), measure the
# daemon's CPU time over 2 s, then let them go.
python3 - "$PG_GW_PORT" "$T/fds.ready" "$T/fds.release" <<'PY' &
import os, socket, sys, time
port, ready, release = int(sys.argv[1]), sys.argv[2], sys.argv[3]
socks = []
for i in range(60):
    s = socket.socket()
    s.settimeout(5)
    s.bind(("127.0.0.%d" % (1 + i % 4), 0))  # 15 from each of 4 sources
    s.connect(("127.0.0.1", port))
    socks.append(s)
open(ready, "w").close()
deadline = time.time() + 30
while not os.path.exists(release) and time.time() < deadline:
    time.sleep(0.05)
PY
holder=$!
wait_until test -e "$T/fds.ready" --timeout 10 ||
	fail "could not open 60 connections to the gateway"
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$PIMGATED_PID/stat"; }
wait_until grep -q "accept failed proto=postgres" "$T/pimgated.log" \
	--timeout 5 || fail "pimgated never ran out of descriptors"
c0=$(cpu_ticks)
t0=$(now)
wait_until clock_past "$(python3 -c "print($t0 + 2)")" --timeout 5
c1=$(cpu_ticks)
log "pimgated used $((c1 - c0)) ticks of CPU in 2 s while out of descriptors"
((c1 - c0 < 100)) ||
	fail "pimgated spins when out of descriptors ($((c1 - c0)) ticks in 2 s)"
touch "$T/fds.release"
wait "$holder" || true
prlimit --pid "$PIMGATED_PID" --nofile=1024:
wait_until gw_psql alice pgdb "$CERT" "$KEY" -At -c "SELECT 1" \
	--timeout 10 || fail "no query works once descriptors are free again"

log "the daemon lives on and a normal query works"
kill -0 "$PIMGATED_PID" || fail "pimgated (pid $PIMGATED_PID) is gone"
run_capture final gw_psql alice pgdb "$CERT" "$KEY" \
	-At -c "SELECT count(*) FROM clients"
assert_eq 5 "$OUT" "a query after the edges (stderr: $ERR)"

stop_all
