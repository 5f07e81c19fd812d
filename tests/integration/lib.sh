# shellcheck shell=bash
# Shared helpers for the integration tests (tests/integration/t_*.sh).
#
# A test sources this file, then typically:
#   start_sshd          # the target: a real sshd on a loopback port
#   pimgate_setup       # config, pimctl init, alice, host1, role ops
#   start_pimgated      # the bastion, waited for on its SSH port
#   gw_ssh alice:host1 'exit 7'
#
# PostgreSQL tests also source lib_pg.sh (start_postgres, make_client_cert,
# gw_psql).
#
# Environment: PIMGATE_BIN is the build folder holding pimctl and pimgated
# (default: build/ of the checkout), PIMGATE_SRC the checkout.
# PIMGATE_KEEP=1 keeps the test's folder after the run; PIMGATE_ECHO=1
# prints each pimctl command before running it.
#
# Everything runs on 127.0.0.1. Every process the test starts is recorded
# and stopped by its PID when the test ends; waits poll with deadlines.

set -eEuo pipefail

PIMGATE_SRC=${PIMGATE_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PIMGATE_BIN=${PIMGATE_BIN:-$PIMGATE_SRC/build}
TEST_NAME=$(basename "$0" .sh)

# The test's own folder; every file the test makes lives here.
T=$(mktemp -d "${TMPDIR:-/tmp}/pimgate-$TEST_NAME.XXXXXX")

# The run-wide secrets check: registers the secrets the test uses and
# keeps what the product showed of it (lib_secrets.sh).
# shellcheck source-path=SCRIPTDIR source=lib_secrets.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_secrets.sh"
secrets_start

# No agent, no user configuration: only the keys a test names.
unset SSH_AUTH_SOCK SSH_AGENT_PID

STARTED_PIDS=()   # every background process this test started
# The signal that stops a started process, when it is not SIGTERM (the
# PostgreSQL server: SIGINT, its fast shutdown), by PID.
declare -A STOP_SIGNALS=()
PIMGATED_PID=""   # the running bastion, if any
SSHD_PID=""       # the running target sshd, if any

# Said at a successful end (tools/demo.sh says something else).
LIB_DONE_MESSAGE=${LIB_DONE_MESSAGE-PASS}

# Seconds a single client command may take before it is stopped.
GW_TIMEOUT=${GW_TIMEOUT:-60}

# ---------------------------------------------------------------- output

log() {
	printf '[%s %s] %s\n' "$TEST_NAME" "$(date +%H:%M:%S.%3N)" "$*"
}

show_log_tail() {
	local file=$1 lines=${2:-60}
	[[ -s "$file" ]] || return 0
	echo "---- last $lines lines of ${file#"$T"/} ----"
	tail -n "$lines" "$file"
}

show_logs() {
	local quiet=$T/pimgated.quiet.log
	if [[ -s "$T/pimgated.log" ]]; then
		# libssh's own debug lines drown the daemon's; left out here.
		grep -v ' libssh ' "$T/pimgated.log" >"$quiet" || true
		show_log_tail "$quiet" 60
		rm -f "$quiet"
	fi
	show_log_tail "$T/sshd.log" 20
	show_log_tail "$T/postgres.log" 20
}

fail() {
	echo "FAIL: $TEST_NAME: $*" >&2
	if [[ ! -e "$T/.failed" ]]; then
		: >"$T/.failed"
		show_logs >&2
	fi
	exit 1
}

on_err() {
	local rc=$? line=$1 cmd=$2
	echo "error: $TEST_NAME line $line: '$cmd' exited $rc" >&2
}

# ------------------------------------------------------------ assertions

assert_eq() {
	local want=$1 got=$2 what=${3:-value}
	[[ "$got" == "$want" ]] ||
		fail "$what: want '$want', got '$got'"
}

# assert_contains HAYSTACK NEEDLE [WHAT]: NEEDLE as a plain substring.
assert_contains() {
	local hay=$1 needle=$2 what=${3:-output}
	[[ "$hay" == *"$needle"* ]] ||
		fail "$what does not contain '$needle'; it was:"$'\n'"$hay"
}

# assert_match HAYSTACK ERE [WHAT]: an extended regex, case-insensitive.
assert_match() {
	local hay=$1 re=$2 what=${3:-output}
	grep -qiE -- "$re" <<<"$hay" ||
		fail "$what does not match /$re/; it was:"$'\n'"$hay"
}

assert_file_contains() {
	local file=$1 needle=$2
	[[ -f "$file" ]] || fail "no file $file"
	grep -qF -- "$needle" "$file" ||
		fail "$file does not contain '$needle'"
}

# ------------------------------------------------------------- processes

pid_alive() {
	local pid=$1 state
	[[ -r "/proc/$pid/stat" ]] || return 1
	# The third field of /proc/PID/stat is the state; a zombie has ended.
	state=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null) ||
		return 1
	[[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# wait_until CMD... [--timeout SECONDS]: runs CMD every 0.1 s until it
# succeeds (returns 0) or the timeout (default 10 s) passes (returns 1).
wait_until() {
	local timeout=10 args=()
	while (($#)); do
		if [[ "$1" == --timeout ]]; then
			timeout=$2
			shift 2
		else
			args+=("$1")
			shift
		fi
	done
	local deadline
	deadline=$(deadline_in "$timeout")
	while :; do
		if "${args[@]}"; then
			return 0
		fi
		if before "$deadline"; then
			sleep 0.1
		else
			return 1
		fi
	done
}

# Times are decimal seconds since the epoch ("1796400957.123456"); the
# poll loops compare them in whole microseconds, without a subprocess.
now() { echo "$EPOCHREALTIME"; }

# to_us SECONDS: a non-negative decimal number of seconds in microseconds.
to_us() {
	local int=${1%%.*} frac=000000
	[[ "$1" != *.* ]] || frac=${1#*.}000000
	echo $((10#${int:-0} * 1000000 + 10#${frac:0:6}))
}

# deadline_in SECONDS: the time SECONDS from now.
deadline_in() {
	local us
	us=$(($(to_us "$EPOCHREALTIME") + $(to_us "$1")))
	printf '%d.%06d\n' $((us / 1000000)) $((us % 1000000))
}

# before TIME: true while the clock is before TIME.
before() {
	(($(to_us "$EPOCHREALTIME") < $(to_us "$1")))
}

# stop_pid PID: SIGTERM (or its STOP_SIGNALS entry), up to 10 s, then
# SIGKILL; reaps PID if it is our child. Sets STOP_STATUS to its exit
# status (0 if it was not our child).
stop_pid() {
	local pid=$1 sig=${STOP_SIGNALS[$1]:-TERM}
	if pid_alive "$pid"; then
		kill -"$sig" "$pid" 2>/dev/null || true
		if ! wait_until pid_dead "$pid" --timeout 10; then
			log "pid $pid ignored SIG$sig for 10 s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
			wait_until pid_dead "$pid" --timeout 5 || true
		fi
	fi
	STOP_STATUS=0
	wait "$pid" 2>/dev/null || STOP_STATUS=$?
}

pid_dead() { ! pid_alive "$1"; }

# stop_all_report: stops every process this test started, newest first,
# and sets STOP_PROBLEM when the bastion ended badly on SIGTERM (a
# non-zero status, a sanitizer report in a log).
stop_all_report() {
	local i pid
	STOP_PROBLEM=""
	for ((i = ${#STARTED_PIDS[@]} - 1; i >= 0; i--)); do
		pid=${STARTED_PIDS[i]}
		stop_pid "$pid"
		if [[ "$pid" == "$PIMGATED_PID" && "$STOP_STATUS" != 0 ]]; then
			STOP_PROBLEM="pimgated (pid $pid) exited with status"
			STOP_PROBLEM+=" $STOP_STATUS on SIGTERM"
		fi
	done
	STARTED_PIDS=()
	PIMGATED_PID=""
	SSHD_PID=""
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
		"$T"/*.log 2>/dev/null; then
		STOP_PROBLEM+="${STOP_PROBLEM:+; }a sanitizer reported an error"
	fi
}

# stop_all: the same, failing the test on a problem.
stop_all() {
	stop_all_report
	[[ -z "$STOP_PROBLEM" ]] || fail "$STOP_PROBLEM"
}

forget_pid() {
	local pid=$1 i
	for i in "${!STARTED_PIDS[@]}"; do
		[[ "${STARTED_PIDS[i]}" != "$pid" ]] || unset 'STARTED_PIDS[i]'
	done
	STARTED_PIDS=("${STARTED_PIDS[@]}")
}

on_exit() {
	local rc=$?
	trap - ERR
	set +e
	secrets_scrape_metrics
	if ((${#STARTED_PIDS[@]})); then
		stop_all_report
		if [[ -n "$STOP_PROBLEM" ]]; then
			echo "FAIL: $TEST_NAME: $STOP_PROBLEM" >&2
			rc=1
		fi
	fi
	if ((rc != 0)) && [[ ! -e "$T/.failed" ]]; then
		show_logs >&2
	fi
	secrets_collect
	if [[ "${PIMGATE_KEEP:-0}" == 1 ]]; then
		echo "kept $T" >&2
	else
		rm -rf "$T"
	fi
	if ((rc == 0)) && [[ -n "$LIB_DONE_MESSAGE" ]]; then
		log "$LIB_DONE_MESSAGE"
	fi
	exit "$rc"
}

trap 'on_err "$LINENO" "$BASH_COMMAND"' ERR
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --------------------------------------------------------------- network

# free_ports N: N distinct free TCP ports on 127.0.0.1, one a line.
free_ports() {
	python3 - "${1:-1}" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
PY
}

free_port() { free_ports 1; }

port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_for_port PORT PID WHAT [TIMEOUT]: until PORT accepts, as long as
# PID is alive.
wait_for_port() {
	local port=$1 pid=$2 what=$3 timeout=${4:-20} deadline
	deadline=$(deadline_in "$timeout")
	while ! port_open "$port"; do
		pid_alive "$pid" || return 1
		before "$deadline" ||
			fail "$what: port $port not open after ${timeout}s"
		sleep 0.1
	done
}

# ---------------------------------------------------------- target sshd

# The target's login key (the bastion's stored identity for host1).
TARGET_KEY=$T/target_ed25519

# start_sshd: a real OpenSSH server as the target on a free port of
# 127.0.0.1, with a fresh host key. Sets SSHD_PORT, SSHD_PID and
# SSHD_HOSTKEY (private key path; ".pub" beside it).
start_sshd() { launch_sshd ""; }

# restart_sshd: stops the target sshd and starts it again on the same
# port with a new host key.
restart_sshd() {
	local port=$SSHD_PORT
	stop_sshd
	launch_sshd "$port"
}

# launch_sshd PORT: PORT empty means try free ones.
launch_sshd() {
	local want_port=$1 tries=3 n
	mkdir -p /run/sshd
	chmod 755 /run/sshd
	if [[ ! -f "$TARGET_KEY" ]]; then
		ssh-keygen -q -t ed25519 -N '' -C "pimgate-target@$TEST_NAME" \
			-f "$TARGET_KEY"
		cp "$TARGET_KEY.pub" "$T/authorized_keys"
		secret_add_keyfile "$TARGET_KEY" "target identity"
	fi
	SSHD_GEN=$((${SSHD_GEN:-0} + 1))
	SSHD_HOSTKEY=$T/sshd_host_ed25519_key.$SSHD_GEN
	ssh-keygen -q -t ed25519 -N '' -C "sshd-$SSHD_GEN" -f "$SSHD_HOSTKEY"
	[[ -z "$want_port" ]] || tries=1
	for ((n = 1; n <= tries; n++)); do
		SSHD_PORT=${want_port:-$(free_port)}
		write_sshd_config
		/usr/sbin/sshd -D -e -f "$T/sshd_config" 2>>"$T/sshd.log" &
		SSHD_PID=$!
		STARTED_PIDS+=("$SSHD_PID")
		if wait_for_port "$SSHD_PORT" "$SSHD_PID" sshd; then
			log "sshd pid $SSHD_PID on 127.0.0.1:$SSHD_PORT" \
				"(host key ${SSHD_HOSTKEY##*/})"
			return 0
		fi
		forget_pid "$SSHD_PID"
		wait "$SSHD_PID" 2>/dev/null || true
		log "sshd on port $SSHD_PORT did not start (try $n)"
	done
	fail "sshd did not start"
}

write_sshd_config() {
	cat >"$T/sshd_config" <<EOF
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $SSHD_HOSTKEY
PidFile $T/sshd.pid
AuthorizedKeysFile $T/authorized_keys
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PrintMotd no
PrintLastLog no
# Accepts more than the bastion forwards, so its allow-list is what counts.
AcceptEnv LANG LC_* PIMTEST_*
Subsystem sftp internal-sftp
LogLevel VERBOSE
EOF
}

# stop_sshd: stops the current target sshd (sessions it forked live on).
stop_sshd() {
	[[ -n "$SSHD_PID" ]] || return 0
	stop_pid "$SSHD_PID"
	forget_pid "$SSHD_PID"
	SSHD_PID=""
}

# direct_ssh CMD...: straight to the target sshd, as the bastion would.
direct_ssh() {
	timeout --foreground -k 5 "$GW_TIMEOUT" \
		ssh -F /dev/null -p "$SSHD_PORT" -o StrictHostKeyChecking=yes \
		-o UserKnownHostsFile="$T/target_known_hosts" \
		-o BatchMode=yes -o IdentitiesOnly=yes -o IdentityAgent=none \
		-i "$TARGET_KEY" root@127.0.0.1 "$@"
}

write_target_known_hosts() {
	printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" \
		"$(cut -d' ' -f1,2 "$SSHD_HOSTKEY.pub")" >"$T/target_known_hosts"
}

# ------------------------------------------------------------- pimgate

pimctl() {
	if [[ "${PIMGATE_ECHO:-0}" == 1 ]]; then
		local a shown=()
		for a in "$@"; do
			[[ "$a" != *[[:space:]]* ]] || a="'$a'"
			shown+=("$a")
		done
		printf '  $ pimctl %s\n' "${shown[*]}" >&2
	fi
	secrets_run_pimctl "$PIMGATE_BIN/pimctl" -c "$CONF" "$@"
}

ALICE_KEY=$T/alice_ed25519
ALICE_PASSWORD='alice-Pw-correct-horse-42'

# pimgate_setup: writes $CONF, runs pimctl init, creates user alice (a
# password and an ed25519 key), target host1 (the test sshd, which must
# be running) and role ops granting host1. No assignment yet.
pimgate_setup() {
	[[ -n "${SSHD_PORT:-}" ]] || fail "pimgate_setup needs start_sshd first"
	pimgate_setup_base
	pimctl target add host1 --ssh "127.0.0.1:$SSHD_PORT" --login root \
		--identity "$TARGET_KEY" --host-key "$SSHD_HOSTKEY.pub"
	pimctl role add ops
	pimctl role grant ops host1
}

# pimgate_setup_base: the part of pimgate_setup that needs no target:
# writes $CONF (SSH, PostgreSQL and HTTP listeners on free ports:
# SSH_PORT, PG_GW_PORT, HTTP_PORT), runs pimctl init and creates user
# alice.
pimgate_setup_base() {
	local ports
	[[ -x "$PIMGATE_BIN/pimctl" ]] || fail "no $PIMGATE_BIN/pimctl"
	mapfile -t ports < <(free_ports 3)
	SSH_PORT=${ports[0]}
	PG_GW_PORT=${ports[1]}
	HTTP_PORT=${ports[2]}
	CONF=$T/pimgate.conf
	STATE=$T/state
	DB=$STATE/pimgate.db
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$T/resolv.conf"
	cat >"$CONF" <<EOF
[server]
state_dir = $STATE
log_level = debug
# Name lookups stay on this machine: nothing answers on 127.0.0.1:53.
resolv_conf = $T/resolv.conf
[ssh]
listen = 127.0.0.1:$SSH_PORT
[postgres]
listen = 127.0.0.1:$PG_GW_PORT
[http]
listen = 127.0.0.1:$HTTP_PORT
EOF
	pimctl init
	ssh-keygen -q -t ed25519 -N '' -C "alice@$TEST_NAME" -f "$ALICE_KEY"
	secret_add_keyfile "$ALICE_KEY" "alice's SSH key"
	printf '%s\n' "$ALICE_PASSWORD" |
		pimctl user add alice --password-stdin --key "$ALICE_KEY.pub"
}

# start_pimgated: runs the bastion in the background (stderr to
# $T/pimgated.log) and waits until its SSH port accepts.
start_pimgated() {
	"$PIMGATE_BIN/pimgated" -c "$CONF" 2>>"$T/pimgated.log" &
	PIMGATED_PID=$!
	STARTED_PIDS+=("$PIMGATED_PID")
	wait_for_port "$SSH_PORT" "$PIMGATED_PID" pimgated 30 ||
		fail "pimgated exited before listening on $SSH_PORT"
	log "pimgated pid $PIMGATED_PID on 127.0.0.1:$SSH_PORT"
}

# Splits "[SSH-OPTION...] [--] [COMMAND...]" into GW_OPTS and GW_CMD.
split_ssh_args() {
	GW_OPTS=()
	GW_CMD=()
	while (($#)); do
		case "$1" in
		--)
			shift
			break
			;;
		-[oSOiEFlLRDJWbcmpw])
			GW_OPTS+=("$1" "$2")
			shift 2
			;;
		-*)
			GW_OPTS+=("$1")
			shift
			;;
		*) break ;;
		esac
	done
	GW_CMD=("$@")
}

# The client options every connection to the bastion uses.
gw_base_opts() {
	GW_BASE=(-F /dev/null -p "$SSH_PORT"
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
		-o ConnectTimeout=20 -o IdentityAgent=none)
}

# gw_ssh_argv LOGIN [SSH-OPTION...] [--] [COMMAND...]: sets GW_ARGV to
# the real OpenSSH client through the bastion with alice's key, bounded
# by GW_TIMEOUT seconds.
gw_ssh_argv() {
	local login=$1
	shift
	split_ssh_args "$@"
	gw_base_opts
	GW_ARGV=(timeout --foreground -k 5 "$GW_TIMEOUT" ssh "${GW_BASE[@]}"
		-o BatchMode=yes -o IdentitiesOnly=yes -i "$ALICE_KEY"
		"${GW_OPTS[@]}" "$login@127.0.0.1" "${GW_CMD[@]}")
}

# gw_ssh LOGIN [SSH-OPTION...] [--] [COMMAND...], e.g.
# gw_ssh alice:host1 -tt 'tty'
gw_ssh() {
	gw_ssh_argv "$@"
	"${GW_ARGV[@]}"
}

# gw_ssh_bg NAME LOGIN [SSH-OPTION...] [--] [COMMAND...]: the same in the
# background, output to $T/NAME.out and $T/NAME.err; sets BG_PID (the
# client's own process, stopped with the rest at the end).
gw_ssh_bg() {
	local name=$1
	shift
	gw_ssh_argv "$@"
	"${GW_ARGV[@]}" >"$T/$name.out" 2>"$T/$name.err" &
	BG_PID=$!
	STARTED_PIDS+=("$BG_PID")
}

# bg_wait PID: waits for a background client (its timeout bounds the
# wait); sets BG_RC and BG_END, the time it was seen to exit.
# shellcheck disable=SC2034 # BG_RC and BG_END are for the caller
bg_wait() {
	BG_RC=0
	wait "$1" || BG_RC=$?
	BG_END=$(now)
	forget_pid "$1"
}

# gw_ssh_password LOGIN PASSWORD [SSH-OPTION...] [--] [COMMAND...]:
# password authentication only, the password given by an SSH_ASKPASS
# program, in a new session without a terminal.
gw_ssh_password() {
	local login=$1 password=$2
	shift 2
	split_ssh_args "$@"
	gw_base_opts
	secret_add password "$password" "gw_ssh_password"
	printf '%s\n' "$password" >"$T/askpass.pw"
	printf '#!/bin/sh\ncat %q\n' "$T/askpass.pw" >"$T/askpass"
	chmod 700 "$T/askpass"
	SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force \
		setsid -w timeout --foreground -k 5 "$GW_TIMEOUT" \
		ssh "${GW_BASE[@]}" -o PreferredAuthentications=password \
		-o PubkeyAuthentication=no -o NumberOfPasswordPrompts=1 \
		"${GW_OPTS[@]}" "$login@127.0.0.1" "${GW_CMD[@]}"
}

# run_capture NAME CMD...: runs CMD with stdout to $T/NAME.out and
# stderr to $T/NAME.err; sets RC, OUT and ERR. Never fails itself.
# shellcheck disable=SC2034 # RC, OUT and ERR are for the caller
run_capture() {
	local name=$1
	shift
	RC=0
	"$@" >"$T/$name.out" 2>"$T/$name.err" || RC=$?
	OUT=$(<"$T/$name.out")
	ERR=$(<"$T/$name.err")
}

# ------------------------------------------------------- pimctl --json

# json_field FIELD [ID] < JSON-ARRAY: FIELD of the entry whose id is ID
# (the entry with the highest id if ID is empty or "newest"). null
# prints as nothing; exits 1 if there is no such entry.
json_field() {
	python3 -c '
import json, sys
field = sys.argv[1]
want = sys.argv[2] if len(sys.argv) > 2 else ""
rows = json.load(sys.stdin)
if want in ("", "newest"):
    rows = sorted(rows, key=lambda r: int(r.get("id", 0)))[-1:]
else:
    rows = [r for r in rows if str(r.get("id")) == want]
if not rows:
    sys.exit(1)
v = rows[0].get(field)
if v is None:
    v = ""
elif isinstance(v, bool):
    v = "true" if v else "false"
elif not isinstance(v, str):
    v = json.dumps(v)
print(v)
' "$@"
}

# session_field ID|newest FIELD; activation_field ID|newest FIELD
session_field() { pimctl sessions --json | json_field "$2" "$1"; }
activation_field() { pimctl activations --json | json_field "$2" "$1"; }

newest_session_id() { session_field newest id; }

# The id of the newest session, waiting for one newer than AFTER.
wait_new_session() {
	local after=${1:-0}
	wait_until session_newer_than "$after" --timeout 10 ||
		fail "no session newer than $after appeared"
	newest_session_id
}

session_newer_than() {
	local id
	id=$(newest_session_id 2>/dev/null) || return 1
	[[ -n "$id" ]] && ((id > $1))
}

# recording_path ID: the path of session ID's first recording, or
# nothing if it has none.
recording_path() { session_field "$1" recording; }

# A session's end is null while it is live.
session_ended() {
	local end
	end=$(session_field "$1" end) || return 1
	[[ -n "$end" ]]
}
session_live() {
	local end
	end=$(session_field "$1" end) || return 1
	[[ -z "$end" ]]
}

# rfc3339_epoch INSTANT: seconds since the epoch (fractional).
rfc3339_epoch() {
	python3 -c '
import datetime, sys
s = sys.argv[1].strip().replace("Z", "+00:00")
print(datetime.datetime.fromisoformat(s).timestamp())
' "$1"
}

# ------------------------------------------------------ stalled clients

# unread_on PORT: bytes waiting unread in the sockets of the clients
# connected to the bastion's PORT (their Recv-Q).
unread_on() {
	ss -Htn state established "( dport = :$1 )" |
		awk '{ n += $1 } END { print n + 0 }'
}

# stalled_on PORT BYTES: BYTES or more unread on PORT, the same as at the
# last look (UNREAD_BEFORE; set it to -1 before polling).
UNREAD_BEFORE=-1
stalled_on() {
	local n
	n=$(unread_on "$1")
	if ((n >= $2 && n == UNREAD_BEFORE)); then
		return 0
	fi
	UNREAD_BEFORE=$n
	sleep 0.2
	return 1
}

# closed_at SID: when the daemon logged the end of SID (epoch seconds),
# nothing if it has not.
closed_at() {
	local line
	line=$(grep -m1 -E "session closed session=$1 " "$T/pimgated.log") ||
		return 0
	rfc3339_epoch "${line%% *}"
}
session_closed() { [[ -n "$(closed_at "$1")" ]]; }

# activation_end ID: the end of activation ID's window, epoch seconds.
activation_end() {
	rfc3339_epoch "$(activation_field "$1" end)"
}

# The clock has passed EPOCH.
clock_past() { ! before "$1"; }

# elapsed FROM TO: TO - FROM in seconds, three decimals (may be < 0).
elapsed() {
	python3 -c 'import sys; a, b = map(float, sys.argv[1:])
print("%.3f" % (b - a))' "$1" "$2"
}

# at_most X LIMIT: true if X <= LIMIT (decimal numbers, either sign).
at_most() {
	python3 -c 'import sys; a, b = map(float, sys.argv[1:])
sys.exit(a > b)' "$1" "$2"
}

# ---------------------------------------------------------------- audit

sql() {
	sqlite3 -cmd '.timeout 5000' "$DB" "$@"
}

audit_max_id() { sql 'select coalesce(max(id), 0) from audit'; }

# audit_since ID: "event|outcome|detail" rows newer than ID.
audit_since() {
	sql "select event, outcome, detail from audit where id > $1 order by id"
}

# Rows newer than ID whose outcome is not "ok".
audit_refusals_since() {
	sql "select event, outcome, detail from audit
	     where id > $1 and outcome <> 'ok' order by id"
}

has_audit_refusal_since() { [[ -n "$(audit_refusals_since "$1")" ]]; }

# --------------------------------------------------------------- access

# grant_access [DURATION]: alice eligible for ops, activated for
# DURATION (default 10m); prints the activation id.
grant_access() {
	pimctl assign alice ops --eligible >&2
	pimctl activate alice ops --for "${1:-10m}" --reason "$TEST_NAME"
}

log "folder $T, binaries $PIMGATE_BIN"
