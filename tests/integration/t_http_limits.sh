#!/usr/bin/env bash
# The monitoring listener's limits, with raw sockets: HEAD answers carry
# the Content-Length of the GET body and no body; at most HTTP_MAX_CONNS
# (32) connections at once, the rest closed at once and counted as
# refused for capacity; every connection is closed at its deadline (10 s
# after its accept) even while it keeps dripping a request; a client
# that pipelines /metrics without reading is dropped, and the daemon's
# memory stays bounded meanwhile.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v promtool >/dev/null || fail "no promtool (tools/install-deps.sh)"

CAP=32      # HTTP_MAX_CONNS in src/http/http_int.h
DEADLINE=10 # HTTP_DEADLINE_SECS
# The RSS bound of the pipelining phase, in MiB. Measured with 30
# clients pipelining without reading: 22 MiB before and about 30 MiB at
# the peak under ASan (its quarantine keeps freed answers), 10 and 11
# without a sanitizer; before the fix ASan's peak passed 120 MiB.
RSS_MAX_MB=60

# Shared by the Python parts: one request on a connection of its own
# that the server closes ("Connection: close"), read to the end, so the
# server has let go of it when this returns.
PYLIB=$(
	cat <<'PY'
import socket, sys, time

PORT = int(sys.argv[1])

def connect():
    return socket.create_connection(("127.0.0.1", PORT), timeout=5)

def read_head(s, buf):
    """Reads one answer's head; returns (status, headers, rest)."""
    while b"\r\n\r\n" not in buf:
        data = s.recv(65536)
        if not data:
            sys.exit("closed before an answer's head: %r" % buf)
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    hdrs = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        hdrs[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), hdrs, rest

def read_body(s, hdrs, rest):
    n = int(hdrs["content-length"])
    while len(rest) < n:
        data = s.recv(65536)
        if not data:
            sys.exit("closed in a body")
        rest += data
    return rest[:n], rest[n:]

def closed_by_peer(s):
    """True once the server closed S (EOF or reset), without blocking."""
    try:
        s.setblocking(False)
        return s.recv(65536) == b""
    except BlockingIOError:
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True

def fetch_close(path):
    """GET PATH, Connection: close; returns (status, body) once the
    server closed the connection."""
    s = connect()
    s.sendall(b"GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
              % path.encode())
    status, hdrs, rest = read_head(s, b"")
    body, rest = read_body(s, hdrs, rest)
    while True:
        data = s.recv(65536)
        if not data:
            break
    s.close()
    return status, body

def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    sys.exit("no VmRSS")
PY
)

# py SCRIPT ARGS...: PYLIB then SCRIPT, with the HTTP port as argv[1].
py() {
	local script=$1
	shift
	python3 -c "$PYLIB"$'\n'"$script" "$HTTP_PORT" "$@"
}

# scrape NAME: /metrics (Connection: close) into $T/NAME.prom.
scrape() {
	py 'st, body = fetch_close("/metrics")
assert st == 200, st
sys.stdout.write(body.decode())' >"$T/$1.prom" || fail "scrape $1 failed"
}

# value NAME SERIES: the value of SERIES in $T/NAME.prom.
value() {
	awk -v s="$2" '$1 == s { print $2; found = 1 } END { exit !found }' \
		"$T/$1.prom" || fail "no series $2 in the $1 scrape"
}

refused_l='pimgate_connections_refused_total{protocol="http",reason="capacity"}'

# ---------------------------------------------------------------- setup

pimgate_setup_base
start_pimgated
wait_for_port "$HTTP_PORT" "$PIMGATED_PID" "pimgated http" 30 ||
	fail "pimgated exited before listening on $HTTP_PORT"

log "HEAD: the GET body's Content-Length, and no body on a kept-alive" \
	"connection"
py '
s = connect()
buf = b""
for path, want in (("/healthz", 200), ("/nothing-here", 404),
                   ("/metrics", 200)):
    s.sendall(b"HEAD %s HTTP/1.1\r\nHost: t\r\n\r\n" % path.encode())
    st, head_h, buf = read_head(s, buf)
    assert st == want, (path, st)
    assert "content-length" in head_h, (path, "HEAD without a length")
    # The GET that follows on the same connection: stray body bytes of
    # the HEAD answer would come before its status line.
    s.sendall(b"GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % path.encode())
    while len(buf) < 9:
        buf += s.recv(65536)
    assert buf.startswith(b"HTTP/1.1 "), (path, "bytes after HEAD", buf[:40])
    st, get_h, buf = read_head(s, buf)
    body, buf = read_body(s, get_h, buf)
    assert st == want, (path, "GET", st)
    n = int(head_h["content-length"])
    if path == "/metrics":
        # The values move between two scrapes; the size barely.
        assert abs(n - len(body)) < 200, (n, len(body))
        assert head_h["content-type"].startswith("text/plain; version=0.0.4")
    else:
        assert n == len(body), (path, n, len(body))
    print("%s HEAD Content-Length %d, GET body %d" % (path, n, len(body)))
s.close()
' || fail "HEAD answers are wrong"

scrape base
base_refused=$(value base "$refused_l")
assert_eq 0 "$base_refused" "http refusals before the flood"

log "$CAP connections dripping a request, $((CAP / 4)) more, and a fresh" \
	"/healthz: the extra ones closed at once, the drippers at the deadline"
py '
cap, deadline = int(sys.argv[2]), int(sys.argv[3])
drips = []
for i in range(cap):
    s = connect()
    drips.append({"s": s, "opened": time.monotonic(), "closed": None})
extras = [connect() for _ in range(cap // 4)]
fresh = connect()
fresh.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
extras_by = time.monotonic() + 2
extras_closed = None
last_drip = 0.0
step = 0
req = b"GET /healthz?" + b"a" * 60 + b" HTTP/1.1\r\n"
until = time.monotonic() + deadline + 4
while time.monotonic() < until:
    now = time.monotonic()
    if now - last_drip >= 0.5:
        last_drip = now
        for d in drips:
            if d["closed"] is None:
                try:
                    d["s"].send(req[step:step + 1])
                except (BrokenPipeError, ConnectionResetError):
                    d["closed"] = now
        step += 1
        assert step < len(req), "the request is complete: dripped too long"
    for d in drips:
        if d["closed"] is None and closed_by_peer(d["s"]):
            d["closed"] = now
    if extras_closed is None:
        if all(closed_by_peer(e) for e in extras + [fresh]):
            extras_closed = now
        elif now > extras_by:
            sys.exit("connections over the cap still open after 2 s")
        held = [d for d in drips if d["closed"] is None]
        assert len(held) == cap, "a dripper was closed early"
    if extras_closed is not None and all(d["closed"] for d in drips):
        break
    time.sleep(0.05)
open_ = [d for d in drips if d["closed"] is None]
assert not open_, "%d drippers still open after %d s" % (len(open_), deadline + 4)
lives = sorted(d["closed"] - d["opened"] for d in drips)
print("over-cap connections closed after %.2f s; drippers closed after "
      "%.2f to %.2f s" % (extras_closed - drips[-1]["opened"], lives[0],
                          lives[-1]))
assert lives[0] >= deadline - 2, "a dripper was cut before its deadline"
assert lives[-1] <= deadline + 2, "a dripper outlived its deadline by 2 s"
' "$CAP" "$DEADLINE" || fail "the cap or the deadline did not hold"

# /metrics is served again once the drippers are gone.
scrape after
promtool_out=$(promtool check metrics <"$T/after.prom" 2>&1) ||
	fail "promtool check metrics: $promtool_out"
[[ -z "$promtool_out" ]] || fail "promtool complains: $promtool_out"
assert_eq $((CAP / 4 + 1)) "$(value after "$refused_l")" \
	"connections refused for capacity (the extra ones and the fresh one)"

log "30 clients pipelining /metrics without reading: dropped, RSS bounded"
py '
pid, rss_max = int(sys.argv[2]), float(sys.argv[3])
start = rss_mb(pid)
req = b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n" * 50
conns = []
for _ in range(30):
    s = connect()
    s.setblocking(False)
    conns.append({"s": s, "sent": 0, "closed": None})
peak = start
t0 = time.monotonic()
while time.monotonic() - t0 < 4:
    for c in conns:
        if c["closed"] is not None:
            continue
        # More requests while the socket takes them, never reading;
        # at most 4 MiB a client.
        if c["sent"] < 4 << 20:
            try:
                c["sent"] += c["s"].send(req)
            except BlockingIOError:
                pass
            except (BrokenPipeError, ConnectionResetError):
                c["closed"] = time.monotonic() - t0
                continue
        if closed_by_peer(c["s"]):
            c["closed"] = time.monotonic() - t0
    peak = max(peak, rss_mb(pid))
    if all(c["closed"] is not None for c in conns):
        break
    time.sleep(0.02)
for c in conns:
    c["s"].close()
still = [c for c in conns if c["closed"] is None]
print("RSS %.1f MiB before, %.1f MiB at the peak; %d of 30 dropped, the "
      "last after %.2f s; at most %d KiB sent by one" % (
          start, peak, 30 - len(still),
          max((c["closed"] or 0) for c in conns),
          max(c["sent"] for c in conns) // 1024))
assert peak < rss_max, "RSS %.1f MiB, over %.0f" % (peak, rss_max)
assert not still, "%d pipelining clients not dropped in 4 s" % len(still)
' "$PIMGATED_PID" "$RSS_MAX_MB" || fail "pipelining without reading"

wait_until py 'st, body = fetch_close("/healthz")
assert st == 200 and body == b"ok\n", (st, body)' --timeout 5 ||
	fail "/healthz does not answer after the pipelining clients"
grep -q 'closing proto=http reason=deadline' "$T/pimgated.log" ||
	fail "no deadline close in the log"
grep -q 'closing proto=http reason=unread-answer' "$T/pimgated.log" ||
	fail "no close for an unread answer in the log"

log "SIGTERM with connections open (idle, half a request, a new one):" \
	"the daemon frees them and exits cleanly"
py '
pid = int(sys.argv[2])
idle = [connect() for _ in range(4)]
half = [connect() for _ in range(4)]
for s in half:
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: t\r\n")
# Time for the daemon to take these in (nothing outside can tell): the
# last ones may still wait in the listen queue at the signal.
time.sleep(0.2)
late = [connect() for _ in range(4)]
import os, signal
os.kill(pid, signal.SIGTERM)
until = time.monotonic() + 10
while time.monotonic() < until:
    if all(closed_by_peer(s) for s in idle + half + late):
        break
    time.sleep(0.05)
else:
    sys.exit("connections still open 10 s after SIGTERM")
' "$PIMGATED_PID" || fail "connections at SIGTERM"
wait_until pid_dead "$PIMGATED_PID" --timeout 10 ||
	fail "pimgated still running after SIGTERM"
stop_all
