#!/usr/bin/env bash
# A client that stops reading (SIGSTOP) while its session still has output
# queued for it: ending that session (the window's expiry, pimctl kill,
# pimctl revoke, SIGTERM of the daemon) drops the client within the
# product's one second instead of waiting for it, records the end with
# its reason, and leaves the daemon alive to admit the next session.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The bound the product promises, in seconds, from the deadline (or the
# admin's action) to the session's end as the daemon logs it.
END_BOUND=1.0
# Output the stopped client must hold unread, no longer growing, before
# the end is asked: the bastion has then used up its channel window
# (about 1 MiB here) and has nowhere to put more.
STALL_BYTES=$((256 * 1024))
# It stops by itself once its terminal is gone (base64 fails to write):
# a loop that ignored that would outlive the test on the target.
FLOOD='while head -c 100000 /dev/urandom | base64; do :; done'

start_sshd
pimgate_setup
start_pimgated
pimctl assign alice ops --eligible

# The bastion holds no open connection to a client any more.
bastion_dropped_clients() {
	[[ -z "$(ss -Htn state established "( sport = :$SSH_PORT )")" ]]
}

# start_stalled PREV: a session flooding its terminal, whose client is
# stopped once output piles up unread. Sets STALLED (the ssh client's
# own pid, not a wrapper's: SIGSTOP must reach it) and SID.
start_stalled() {
	gw_base_opts
	ssh "${GW_BASE[@]}" -o BatchMode=yes -o IdentitiesOnly=yes \
		-i "$ALICE_KEY" -tt alice:host1@127.0.0.1 "$FLOOD" \
		</dev/null >/dev/null 2>"$T/stalled.err" &
	STALLED=$!
	STARTED_PIDS+=("$STALLED")
	# SIGTERM waits while a process is stopped; SIGKILL does not.
	STOP_SIGNALS[$STALLED]=KILL
	SID=$(wait_new_session "$1")
	wait_until session_live "$SID" --timeout 5 ||
		fail "session $SID is not live"
	# The flood is on its way (its recording grows) before the stop.
	wait_until recording_grew "$SID" --timeout 10 ||
		fail "session $SID's output does not flow"
	kill -STOP "$STALLED"
	UNREAD_BEFORE=-1
	wait_until stalled_on "$SSH_PORT" "$STALL_BYTES" --timeout 10 ||
		fail "the stopped client holds $(unread_on "$SSH_PORT") B unread"
	log "session $SID: client $STALLED stopped with" \
		"$(unread_on "$SSH_PORT") bytes unread"
}

# recording_grew SID: SID's recording holds 64 KiB or more.
recording_grew() {
	local rec
	rec=$(recording_path "$1")
	[[ -n "$rec" && -f "$rec" ]] && (($(stat -c %s "$rec") >= 65536))
}

# release_stalled: lets the stopped client go and ends it.
release_stalled() {
	kill -CONT "$STALLED"
	stop_pid "$STALLED"
	forget_pid "$STALLED"
}


# ended_on_time SID REASON FROM WHAT: SID ended with REASON within
# END_BOUND of FROM (epoch seconds), and the client was dropped.
ended_on_time() {
	local sid=$1 reason=$2 from=$3 what=$4 late
	wait_until session_closed "$sid" --timeout 10 ||
		fail "$what: session $sid did not end"
	late=$(elapsed "$from" "$(closed_at "$sid")")
	log "$what: session $sid ended $late s after it was due"
	at_most "$late" "$END_BOUND" ||
		fail "$what: a stalled client kept session $sid $late s" \
			"(bound $END_BOUND s)"
	wait_until session_ended "$sid" --timeout 5 ||
		fail "$what: session $sid has no recorded end"
	assert_eq "$reason" "$(session_field "$sid" end_reason)" \
		"$what: end reason"
	wait_until bastion_dropped_clients --timeout 2 ||
		fail "$what: the bastion still holds the stalled client"
}

# daemon_admits WHAT: the daemon lives and a normal session works.
daemon_admits() {
	pid_alive "$PIMGATED_PID" || fail "$1: pimgated died"
	run_capture "alive" gw_ssh alice:host1 'echo still-admitting'
	assert_eq still-admitting "$OUT" "$1: a new session (stderr: $ERR)"
}

log "the window ends under a stalled client"
act=$(pimctl activate alice ops --for 8s --reason stalled-expiry)
end=$(activation_end "$act")
start_stalled 0
if clock_past "$end"; then
	fail "the client stalled only after the window's end"
fi
ended_on_time "$SID" expired "$end" "expiry"
release_stalled
act=$(pimctl activate alice ops --for 10m --reason stalled-next)
daemon_admits "after expiry"
last=$(newest_session_id)

log "pimctl kill of a stalled session"
start_stalled "$last"
pimctl kill "$SID"
ended_on_time "$SID" killed "$(now)" "pimctl kill"
release_stalled
daemon_admits "after pimctl kill"
last=$(newest_session_id)

log "pimctl revoke under a stalled session"
start_stalled "$last"
pimctl revoke "$act"
ended_on_time "$SID" revoked "$(now)" "pimctl revoke"
release_stalled
pimctl activate alice ops --for 10m --reason stalled-term >/dev/null
daemon_admits "after pimctl revoke"
last=$(newest_session_id)

log "SIGTERM of the daemon with a stalled client"
start_stalled "$last"
kill -TERM "$PIMGATED_PID"
termed=$(now)
wait_until pid_dead "$PIMGATED_PID" --timeout 10 ||
	fail "pimgated did not exit after SIGTERM"
stop_pid "$PIMGATED_PID"
forget_pid "$PIMGATED_PID"
assert_eq 0 "$STOP_STATUS" "pimgated's exit status on SIGTERM"
session_closed "$SID" || fail "SIGTERM: session $SID has no logged end"
late=$(elapsed "$termed" "$(closed_at "$SID")")
log "SIGTERM: session $SID ended $late s after the signal"
at_most "$late" "$END_BOUND" ||
	fail "SIGTERM: a stalled client kept session $SID $late s"
assert_eq shutdown "$(session_field "$SID" end_reason)" "end reason"
release_stalled
