#!/usr/bin/env bash
# Relay benchmark: bytes through the bastion against the same bytes
# straight to the target sshd, both on loopback, and what pimgated spent
# doing it (CPU seconds, peak resident memory).
#
#   bench/relay.sh [MIB] [PARALLEL]      (defaults: 200 MiB, 1 client)
#
# PAYLOAD=text|random|zero chooses what the target sends (default text).
# Needs a build in build/ (tools/build.sh) or PIMGATE_BIN. Prints one
# key=value line per figure. Not part of the test suite.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export PIMGATE_SRC=${PIMGATE_SRC:-$(dirname "$here")}
export PIMGATE_BIN=${PIMGATE_BIN:-$PIMGATE_SRC/build}
MIB=${1:-200}
PAR=${2:-1}
# shellcheck source=../tests/integration/lib.sh
. "$PIMGATE_SRC/tests/integration/lib.sh"

start_sshd
pimgate_setup
sed -i 's/^log_level = debug/log_level = info/' "$CONF"
start_pimgated
grant_access 1h >/dev/null

bytes=$((MIB * 1024 * 1024))
# What the target sends: zero bytes (worst case for the recording: each
# becomes a 6-byte JSON escape), random bytes, or text (base64 lines).
case "${PAYLOAD:-text}" in
zero) src=/dev/zero ;;
random) src=/dev/urandom ;;
text) src="<(base64 -w 76 /dev/urandom)" ;;
*) fail "PAYLOAD is zero, random or text" ;;
esac
cmd="bash -c 'head -c $bytes $src'"

timed() {
	local t0 t1 i
	t0=$(now)
	for ((i = 0; i < PAR; i++)); do
		"$@" "$cmd" | wc -c >"$T/bench.$i" &
	done
	wait
	t1=$(now)
	for ((i = 0; i < PAR; i++)); do
		[[ "$(cat "$T/bench.$i")" == "$bytes" ]] ||
			fail "client $i got $(cat "$T/bench.$i") bytes"
	done
	elapsed "$t0" "$t1"
}

direct() {
	ssh -F /dev/null -p "$SSHD_PORT" -o BatchMode=yes \
		-o UserKnownHostsFile="$T/target_known_hosts" \
		-o IdentitiesOnly=yes -i "$TARGET_KEY" root@127.0.0.1 "$@"
}
through() { gw_ssh alice:host1 "$@"; }

cpu_of() {
	awk '{ print ($14 + $15) / 100 }' "/proc/$PIMGATED_PID/stat"
}

write_target_known_hosts
t_direct=$(timed direct)
cpu0=$(cpu_of)
t_bastion=$(timed through)
cpu1=$(cpu_of)
rss=$(awk '/VmHWM/ { print $2 }' "/proc/$PIMGATED_PID/status")

total=$((MIB * PAR))
echo "payload=${PAYLOAD:-text} mib_per_client=$MIB clients=$PAR"
echo "direct_seconds=$t_direct direct_mib_s=$(python3 -c "print(round($total/$t_direct,1))")"
echo "bastion_seconds=$t_bastion bastion_mib_s=$(python3 -c "print(round($total/$t_bastion,1))")"
echo "ratio=$(python3 -c "print(round($t_direct/$t_bastion,2))")"
echo "bastion_cpu_seconds=$(python3 -c "print(round($cpu1-$cpu0,2))")"
echo "bastion_peak_rss_kib=$rss"
