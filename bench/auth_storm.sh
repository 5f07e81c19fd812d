#!/usr/bin/env bash
# How much a password-guessing storm slows live sessions: the round trip
# of a line through a live session, alone and while CLIENTS clients keep
# sending wrong passwords for SECONDS seconds (loopback only, bounded).
#
#   bench/auth_storm.sh [CLIENTS] [SECONDS]     (defaults: 20, 10)
#
# Needs a build in build/ (tools/build.sh) or PIMGATE_BIN. Prints
# key=value lines. Not part of the test suite.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export PIMGATE_SRC=${PIMGATE_SRC:-$(dirname "$here")}
export PIMGATE_BIN=${PIMGATE_BIN:-$PIMGATE_SRC/build}
CLIENTS=${1:-20}
SECONDS_=${2:-10}
# shellcheck source=../tests/integration/lib.sh
. "$PIMGATE_SRC/tests/integration/lib.sh"

start_sshd
pimgate_setup
sed -i 's/^log_level = debug/log_level = info/' "$CONF"
start_pimgated
grant_access 1h >/dev/null

# A live session running cat; the probe writes a line, times its echo.
mkfifo "$T/in"
gw_ssh alice:host1 cat <"$T/in" >"$T/echo.out" &
STARTED_PIDS+=("$!")
exec 7>"$T/in"

probe() {
	python3 - "$T/echo.out" "$1" <<'PY'
import os, sys, time, statistics
path, seconds = sys.argv[1], float(sys.argv[2])
out = open(path, "rb")
out.seek(0, os.SEEK_END)
fd = 7
rtts = []
end = time.time() + seconds
n = 0
while time.time() < end:
    n += 1
    line = b"probe-%d\n" % n
    t0 = time.perf_counter()
    os.write(fd, line)
    buf = b""
    while not buf.endswith(line):
        chunk = out.read()
        if chunk:
            buf += chunk
        else:
            time.sleep(0.0002)
    rtts.append((time.perf_counter() - t0) * 1000)
    time.sleep(0.02)
rtts.sort()
p = lambda q: rtts[min(len(rtts) - 1, int(q * len(rtts)))]
print("samples=%d median_ms=%.2f p95_ms=%.2f max_ms=%.2f" %
      (len(rtts), statistics.median(rtts), p(0.95), rtts[-1]))
PY
}

# guesser: wrong passwords until the deadline.
guesser() {
	local until=$1
	while before "$until"; do
		gw_ssh_password alice:host1 wrong-password true \
			>/dev/null 2>&1 || true
	done
}

sleep 1
echo "idle: $(probe 3)"
until=$(deadline_in "$SECONDS_")
pids=()
for ((i = 0; i < CLIENTS; i++)); do
	guesser "$until" &
	pids+=("$!")
done
echo "storm: $(probe $((SECONDS_ - 1)))"
for pid in "${pids[@]}"; do
	wait "$pid" || true
done
checked=$(sql "select count(*) from audit where event='login' and
	detail like 'password: wrong%'")
skipped=$(sql "select count(*) from audit where event='login' and
	detail like '%not checked%'")
echo "clients=$CLIENTS seconds=$SECONDS_ checked=$checked not_checked=$skipped"
exec 7>&-
