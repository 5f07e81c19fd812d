#!/usr/bin/env bash
# Monitoring over HTTP: /metrics in the Prometheus text format (checked
# with promtool during live sessions) whose counters move as a scripted
# scenario of real ssh and psql sessions says they must (refusals,
# authentication failures, sessions started and ended by reason, an
# expiry and a kill in the kill-lag histogram, bytes both ways, recording
# bytes), gauges back to zero at the end, no name or address as a label;
# /healthz 200, 503 with a reason while the recordings directory cannot
# be written, 200 again once it can.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_pg.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_pg.sh"

command -v promtool >/dev/null || fail "no promtool (tools/install-deps.sh)"

# ------------------------------------------------------------- helpers

# http_get PATH [METHOD]: sets HTTP_CODE and HTTP_BODY (and HTTP_TYPE, the
# Content-Type) of the bastion's answer.
http_get() {
	local out
	out=$(python3 - "$HTTP_PORT" "$1" "${2:-GET}" <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
c.request(sys.argv[3], sys.argv[2])
r = c.getresponse()
print(r.status)
print(r.getheader("Content-Type", ""))
sys.stdout.write(r.read().decode("utf-8", "replace"))
PY
	) || fail "GET $1 failed"
	HTTP_CODE=$(sed -n 1p <<<"$out")
	HTTP_TYPE=$(sed -n 2p <<<"$out")
	HTTP_BODY=$(sed -n '3,$p' <<<"$out")
}

# scrape NAME: /metrics into $T/NAME.prom (200 and the exposition type).
scrape() {
	http_get /metrics
	assert_eq 200 "$HTTP_CODE" "status of /metrics"
	assert_contains "$HTTP_TYPE" "text/plain; version=0.0.4" \
		"Content-Type of /metrics"
	printf '%s\n' "$HTTP_BODY" >"$T/$1.prom"
}

# promtool_check NAME: promtool's linter finds nothing in $T/NAME.prom.
promtool_check() {
	local out
	out=$(promtool check metrics <"$T/$1.prom" 2>&1) ||
		fail "promtool check metrics on the $1 scrape: $out"
	[[ -z "$out" ]] || fail "promtool complains about the $1 scrape: $out"
}

# value NAME SERIES: the value of SERIES (exactly as exposed) in NAME.
value() {
	local v
	v=$(awk -v s="$2" '$1 == s { print $2; found = 1 }
		END { exit !found }' "$T/$1.prom") ||
		fail "no series $2 in the $1 scrape"
	echo "$v"
}

# moved SERIES WANT: SERIES now (a fresh scrape, "now") minus in "base"
# equals WANT.
moved() {
	scrape now
	local a b
	a=$(value base "$1")
	b=$(value now "$1")
	python3 -c 'import sys; a, b, w = map(float, sys.argv[1:])
sys.exit(b - a != w)' "$a" "$b" "$2"
}

# expect_moved SERIES WANT [TIMEOUT]: waits for SERIES to have moved by
# exactly WANT since the base scrape.
expect_moved() {
	wait_until moved "$1" "$2" --timeout "${3:-10}" ||
		fail "$1 moved by $(python3 -c 'import sys
print(float(sys.argv[2]) - float(sys.argv[1]))' "$(value base "$1")" \
			"$(value now "$1")"), not $2"
}

# positive NAME SERIES: SERIES is above 0 in NAME.
positive() {
	python3 -c 'import sys; sys.exit(not float(sys.argv[1]) > 0)' \
		"$(value "$1" "$2")"
}

# bytes_relayed NAME: a scrape into NAME in which bytes have moved both
# ways for both protocols since the base scrape.
bytes_relayed() {
	local p d s
	scrape "$1"
	for p in "$ssh_l" "$pg_l"; do
		for d in client_to_target target_to_client; do
			s="pimgate_relayed_bytes_total{$p,direction=\"$d\"}"
			python3 -c 'import sys
sys.exit(not float(sys.argv[2]) > float(sys.argv[1]))' \
				"$(value base "$s")" "$(value "$1" "$s")" ||
				return 1
		done
	done
}

ssh_l='protocol="ssh"'
pg_l='protocol="postgres"'

# --------------------------------------- the recordings, made unwritable

# The daemon runs in a mount namespace of its own where the recordings
# directory is a bind mount of itself, so that it can be remounted
# read-only for the daemon alone: root (which CI is) ignores permission
# bits, but not a read-only mount. Without that (not root, or no
# namespaces) chmod does for a user; as root without namespaces the
# directory is replaced by a file of the same name.
REC_MODE="file"
if ((EUID != 0)); then
	REC_MODE="chmod"
elif unshare -m --propagation private true 2>/dev/null; then
	REC_MODE="mount"
fi

start_pimgated_rec() {
	local rec=$STATE/recordings
	if [[ "$REC_MODE" == mount ]]; then
		# One process throughout: unshare and sh exec into pimgated.
		# shellcheck disable=SC2016 # expanded by that sh
		unshare -m --propagation private sh -c \
			'mount --bind "$1" "$1" && exec "$2" -c "$3"' sh \
			"$rec" "$PIMGATE_BIN/pimgated" "$CONF" \
			2>>"$T/pimgated.log" &
	else
		"$PIMGATE_BIN/pimgated" -c "$CONF" 2>>"$T/pimgated.log" &
	fi
	PIMGATED_PID=$!
	STARTED_PIDS+=("$PIMGATED_PID")
	wait_for_port "$SSH_PORT" "$PIMGATED_PID" pimgated 30 ||
		fail "pimgated exited before listening on $SSH_PORT"
	wait_for_port "$PG_GW_PORT" "$PIMGATED_PID" "pimgated postgres" 30 ||
		fail "pimgated exited before listening on $PG_GW_PORT"
	wait_for_port "$HTTP_PORT" "$PIMGATED_PID" "pimgated http" 30 ||
		fail "pimgated exited before listening on $HTTP_PORT"
	log "pimgated pid $PIMGATED_PID (recordings made unwritable by" \
		"$REC_MODE)"
}

recordings_unwritable() {
	local rec=$STATE/recordings
	case "$REC_MODE" in
	mount)
		nsenter -t "$PIMGATED_PID" -m mount -o remount,ro,bind "$rec"
		# Real for the daemon: its view refuses a new file.
		if nsenter -t "$PIMGATED_PID" -m touch "$rec/.t" 2>/dev/null; then
			fail "the read-only remount did not take"
		fi
		;;
	chmod) chmod 0500 "$rec" ;;
	file)
		mv "$rec" "$rec.away"
		: >"$rec"
		;;
	esac
}

recordings_writable() {
	local rec=$STATE/recordings
	case "$REC_MODE" in
	mount) nsenter -t "$PIMGATED_PID" -m mount -o remount,rw,bind "$rec" ;;
	chmod) chmod 0700 "$rec" ;;
	file)
		rm -f "$rec"
		mv "$rec.away" "$rec"
		;;
	esac
}

health_is() {
	http_get /healthz
	[[ "$HTTP_CODE" == "$1" ]]
}

# ---------------------------------------------------------------- setup

start_sshd
start_postgres
pimgate_setup
add_pg_target pgdb
pimctl role add dba
pimctl role grant dba pgdb
pimctl role add audited --require-approval 1 --approvers dba
pimctl role grant audited host1
start_pimgated_rec

log "the endpoints: /healthz, 404, 405, a first scrape"
http_get /healthz
assert_eq 200 "$HTTP_CODE" "status of /healthz (body: $HTTP_BODY)"
assert_eq ok "$HTTP_BODY" "body of /healthz"
http_get /nothing-here
assert_eq 404 "$HTTP_CODE" "status of an unknown path"
http_get /metrics POST
assert_eq 405 "$HTTP_CODE" "status of POST /metrics"
http_get /healthz DELETE
assert_eq 405 "$HTTP_CODE" "status of DELETE /healthz"
scrape base
promtool_check base
assert_eq 1 "$(value base "pimgate_build_info{version=\"0.1.0\"}")" \
	"build info"
for p in "$ssh_l" "$pg_l"; do
	assert_eq 0 "$(value base "pimgate_sessions_live{$p}")" "live $p"
done
positive base process_resident_memory_bytes ||
	fail "no resident memory in the process metrics"
positive base process_open_fds || fail "no open fds in the process metrics"
positive base process_start_time_seconds || fail "no process start time"

log "refusals: no activation, a wrong password, no client certificate"
run_capture noaccess gw_ssh alice:host1 true
((RC != 0)) || fail "alice reached host1 without an activation"
run_capture badpw gw_ssh_password alice:host1 'not-alices-password' true
((RC != 0)) || fail "a wrong password let alice in"
run_capture nocert pg_probe alice pgdb "$T/none.crt" "$T/none.key"
assert_match "$OUT" "^error FATAL 28000 .*certificate" "pg without a cert"
expect_moved "pimgate_connections_accepted_total{$ssh_l}" 2
expect_moved "pimgate_connections_refused_total{$ssh_l,reason=\"admission\"}" 1
expect_moved "pimgate_connections_refused_total{$ssh_l,reason=\"auth\"}" 1
expect_moved "pimgate_auth_failures_total{$ssh_l,method=\"password\"}" 1
expect_moved "pimgate_auth_failures_total{$ssh_l,method=\"publickey\"}" 0
expect_moved "pimgate_connections_accepted_total{$pg_l}" 1
expect_moved "pimgate_connections_refused_total{$pg_l,reason=\"auth\"}" 1
expect_moved "pimgate_auth_failures_total{$pg_l,method=\"certificate\"}" 1
expect_moved "pimgate_sessions_started_total{$ssh_l}" 0

log "a request waiting for approval, activations by state"
pimctl assign alice audited --eligible
pimctl activate alice audited --for 1h --reason "metrics: pending" >/dev/null
grant_pg_access 10m >/dev/null
make_client_cert alice pgdb
# The store gauges are read at most every 5 s.
expect_moved pimgate_approval_requests_pending 1 10
expect_moved "pimgate_activations{state=\"pending\"}" 1 10
expect_moved "pimgate_activations{state=\"active\"}" 1 10

log "live sessions: ssh (its activation ends in 10 s) and psql"
grant_access 10s >/dev/null
printf 'metrics-input\n' >"$T/ssh.in"
# shellcheck disable=SC2016 # run by the target's shell
gw_ssh_argv alice:host1 'read line; echo "got $line"; sleep 60'
GW_TIMEOUT=40 "${GW_ARGV[@]}" <"$T/ssh.in" >"$T/sshlive.out" \
	2>"$T/sshlive.err" &
ssh_client=$!
STARTED_PIDS+=("$ssh_client")
sid_ssh=$(wait_new_session 0)
gw_psql_bg pglive alice pgdb "$CERT" "$KEY" -At -c "SELECT 'pg-live'" \
	-c "SELECT pg_sleep(60)"
sid_pg=$(wait_new_session "$sid_ssh")
wait_until grep -q "got metrics-input" "$T/sshlive.out" ||
	fail "the ssh session did not answer: $(cat "$T/sshlive.err")"
wait_until grep -q "pg-live" "$T/pglive.out" ||
	fail "the psql session did not answer: $(cat "$T/pglive.err")"
expect_moved "pimgate_sessions_live{$ssh_l}" 1
expect_moved "pimgate_sessions_live{$pg_l}" 1
wait_until bytes_relayed live ||
	fail "bytes not relayed both ways for both protocols:" \
		"$(grep -E '^pimgate_(relayed|sessions_live)' "$T/live.prom")"
promtool_check live
for p in "$ssh_l" "$pg_l"; do
	assert_eq 1 "$(value live "pimgate_sessions_live{$p}")" "live $p"
done
expect_moved "pimgate_sessions_started_total{$ssh_l}" 1
expect_moved "pimgate_sessions_started_total{$pg_l}" 1

log "the ssh session ends at its activation's end (expired)"
bg_wait "$ssh_client"
wait_until session_ended "$sid_ssh" --timeout 5 || fail "ssh session lives"
assert_eq expired "$(session_field "$sid_ssh" end_reason)" "ssh end reason"
expect_moved "pimgate_sessions_ended_total{$ssh_l,reason=\"expired\"}" 1
expect_moved "pimgate_session_kills_total{reason=\"expired\"}" 1
expect_moved pimgate_session_kill_lag_seconds_count 1
expect_moved "pimgate_sessions_live{$ssh_l}" 0
# The product promises the end within a second of the deadline.
expect_moved 'pimgate_session_kill_lag_seconds_bucket{le="1"}' 1

log "the psql session is killed by an admin (killed)"
pimctl kill "$sid_pg"
wait_until session_ended "$sid_pg" --timeout 10 || fail "psql session lives"
assert_eq killed "$(session_field "$sid_pg" end_reason)" "psql end reason"
expect_moved "pimgate_sessions_ended_total{$pg_l,reason=\"killed\"}" 1
expect_moved "pimgate_session_kills_total{reason=\"killed\"}" 1
expect_moved pimgate_session_kill_lag_seconds_count 2

log "a psql session that ends by itself (exit)"
run_capture quick gw_psql alice pgdb "$CERT" "$KEY" -At -c "SELECT 41 + 1"
assert_eq 0 "$RC" "a short psql session (stderr: $ERR)"
assert_eq 42 "$OUT" "the short session's answer"
expect_moved "pimgate_sessions_ended_total{$pg_l,reason=\"exit\"}" 1

log "everything back to zero; the sums add up"
expect_moved "pimgate_sessions_live{$ssh_l}" 0
expect_moved "pimgate_sessions_live{$pg_l}" 0
scrape final
promtool_check final
assert_eq 0 "$(value final "pimgate_sessions_live{$ssh_l}")" "live ssh"
assert_eq 0 "$(value final "pimgate_sessions_live{$pg_l}")" "live postgres"
expect_moved "pimgate_sessions_started_total{$pg_l}" 2
expect_moved "pimgate_session_duration_seconds_count{$ssh_l}" 1
expect_moved "pimgate_session_duration_seconds_count{$pg_l}" 2
expect_moved "pimgate_connections_accepted_total{$ssh_l}" 3
expect_moved "pimgate_connections_accepted_total{$pg_l}" 3
expect_moved "pimgate_sessions_ended_total{$ssh_l,reason=\"exit\"}" 0
expect_moved pimgate_recording_errors_total 0
python3 -c 'import sys
sys.exit(not float(sys.argv[2]) > float(sys.argv[1]))' \
	"$(value base pimgate_recording_written_bytes_total)" \
	"$(value final pimgate_recording_written_bytes_total)" ||
	fail "no recording bytes written"
expect_moved "pimgate_activations{state=\"expired\"}" 1 10
# No name, target or address of anyone is a label or a value.
if grep -nE 'alice|host1|pgdb|audited|127\.0\.0\.1|metrics-input' \
	"$T/final.prom" "$T/live.prom"; then
	fail "a user, target or address appears in the metrics"
fi

log "/healthz while the recordings directory cannot be written"
wait_until health_is 200 || fail "/healthz is $HTTP_CODE: $HTTP_BODY"
recordings_unwritable
wait_until health_is 503 --timeout 5 ||
	fail "/healthz stayed $HTTP_CODE with the recordings unwritable"
assert_match "$HTTP_BODY" "recordings directory .*(not writable|read-only|not a directory|permission)" \
	"the reason /healthz gives"
[[ "$HTTP_BODY" != *$'\n'* ]] || fail "the reason is more than a line"
log "unhealthy: $HTTP_BODY"
recordings_writable
wait_until health_is 200 --timeout 5 ||
	fail "/healthz stayed $HTTP_CODE after the recordings came back"
assert_eq ok "$HTTP_BODY" "body of /healthz once healthy again"
