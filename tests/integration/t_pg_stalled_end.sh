#!/usr/bin/env bash
# A psql that stops reading (SIGSTOP) in the middle of a large result:
# the window's expiry and pimctl kill end its session within the
# product's one second (the FATAL is offered, not waited for), with the
# right end reason, and the bastion admits the next session.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_pg.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_pg.sh"

END_BOUND=1.0
STALL_BYTES=$((256 * 1024))
BIG="SELECT repeat('x', 200) FROM generate_series(1, 20000000)"

start_postgres
pimgate_setup_pg
start_pimgated_pg
pimctl assign alice dba --eligible

# start_stalled NAME PREV: psql (its own pid in STALLED) reading a large
# result, stopped once output piles up unread; SID its session.
start_stalled() {
	make_client_cert alice pgdb "alice-$1"
	psql -X -w -d "$(gw_conninfo alice pgdb "$CERT" "$KEY")" -c "$BIG" \
		>/dev/null 2>"$T/$1.err" &
	STALLED=$!
	STARTED_PIDS+=("$STALLED")
	STOP_SIGNALS[$STALLED]=KILL
	SID=$(wait_new_session "$2")
	wait_until session_live "$SID" --timeout 5 ||
		fail "session $SID is not live: $(cat "$T/$1.err")"
	# psql holds the whole result in memory: it reads until stopped.
	wait_until client_reading --timeout 10 || fail "no output flows"
	kill -STOP "$STALLED"
	UNREAD_BEFORE=-1
	wait_until stalled_on "$PG_GW_PORT" "$STALL_BYTES" --timeout 10 ||
		fail "the stopped psql holds $(unread_on "$PG_GW_PORT") B unread"
	log "session $SID: psql $STALLED stopped," \
		"$(unread_on "$PG_GW_PORT") bytes unread"
}

client_reading() {
	local rss
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$STALLED/status" 2>/dev/null)
	[[ -n "$rss" ]] && ((rss > 65536)) # 64 MiB of rows taken in
}

release_stalled() {
	kill -CONT "$STALLED" 2>/dev/null || true
	kill -KILL "$STALLED" 2>/dev/null || true
	forget_pid "$STALLED"
}

ended_on_time() {
	local sid=$1 reason=$2 from=$3 what=$4 late
	wait_until session_closed "$sid" --timeout 10 ||
		fail "$what: session $sid did not end"
	late=$(elapsed "$from" "$(closed_at "$sid")")
	log "$what: session $sid ended $late s after it was due"
	at_most "$late" "$END_BOUND" ||
		fail "$what: a stalled psql kept session $sid $late s" \
			"(bound $END_BOUND s)"
	wait_until session_ended "$sid" --timeout 5 ||
		fail "$what: session $sid has no recorded end"
	assert_eq "$reason" "$(session_field "$sid" end_reason)" \
		"$what: end reason"
}

log "the window ends under a stalled psql"
act=$(pimctl activate alice dba --for 10s --reason stalled-expiry)
end=$(activation_end "$act")
start_stalled expiry 0
clock_past "$end" && fail "psql stalled only after the window's end"
ended_on_time "$SID" expired "$end" "expiry"
release_stalled

log "pimctl kill of a stalled psql"
pimctl activate alice dba --for 10m --reason stalled-kill >/dev/null
start_stalled kill "$SID"
pimctl kill "$SID"
ended_on_time "$SID" killed "$(now)" "pimctl kill"
release_stalled

log "the bastion still admits"
make_client_cert alice pgdb alice-after
run_capture after gw_psql alice pgdb "$CERT" "$KEY" -Atc "SELECT 41 + 1"
assert_eq 42 "$OUT" "a query after the stalled sessions (stderr: $ERR)"

log PASS
