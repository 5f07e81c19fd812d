#!/usr/bin/env bash
# A live PostgreSQL session through the bastion ends within one second of
# its activation's end (end reason "expired") and within one second of
# `pimctl revoke` or `pimctl cert revoke` of its client certificate (end
# reason "revoked"); psql is told with a FATAL,
# SQLSTATE 57P01, "terminating connection: ...".
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_pg.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_pg.sh"

# The bound the product promises, in seconds.
KILL_BOUND=1.0

start_postgres
pimgate_setup_pg
start_pimgated_pg
pimctl assign alice dba --eligible

# told WHAT NAME: psql's output in $T/NAME.* must hold the FATAL 57P01.
told() {
	local what=$1 said
	said=$(cat "$T/$2.out" "$T/$2.err")
	assert_match "$said" 'FATAL: +57P01: +terminating connection' \
		"what psql said at $what"
	log "psql at $what: $(grep -m 1 57P01 <<<"$said")"
}

log "activation of 6 s with a running session"
act=$(pimctl activate alice dba --for 6s --reason deadline-expiry)
end=$(activation_end "$act")
make_client_cert alice pgdb alice-expiry
GW_TIMEOUT=40 gw_psql_bg expiry alice pgdb "$CERT" "$KEY" \
	-v VERBOSITY=verbose -c "SELECT pg_sleep(60)"
client=$BG_PID
sid=$(wait_new_session 0)
wait_until session_live "$sid" --timeout 5 ||
	fail "session $sid is not live: $(cat "$T/expiry.err")"
if clock_past "$end"; then
	fail "the session came up only after the window's end"
fi
bg_wait "$client"
late=$(elapsed "$end" "$BG_END")
log "psql exited $late s after the window's end (status $BG_RC)"
at_most "$late" "$KILL_BOUND" ||
	fail "session outlived its activation by $late s (bound $KILL_BOUND s)"
at_most -0.5 "$late" || fail "session ended $late s before its window's end"
((BG_RC != 0)) || fail "psql exited 0 at expiry"
told expiry expiry
wait_until session_ended "$sid" --timeout 5 ||
	fail "session $sid has no end"
assert_eq expired "$(session_field "$sid" end_reason)" "end reason"
qlog_check "$(qlog_path "$sid")" "any(e.get('type') == 'end' and
	e.get('reason') == 'expired' for e in ev)" "the end at expiry"

log "revoking the activation of a busy and an idle session"
act=$(pimctl activate alice dba --for 10m --reason deadline-revoke)
make_client_cert alice pgdb alice-revoke
GW_TIMEOUT=40 gw_psql_bg busy alice pgdb "$CERT" "$KEY" \
	-v VERBOSITY=verbose -c "SELECT pg_sleep(60)"
busy=$BG_PID
sid2=$(wait_new_session "$sid")
wait_until session_live "$sid2" --timeout 5 ||
	fail "session $sid2 is not live: $(cat "$T/busy.err")"
# The idle one: psql reading its commands from a FIFO.
mkfifo "$T/idle.fifo"
GW_TIMEOUT=40 gw_psql_bg idle alice pgdb "$CERT" "$KEY" \
	-v VERBOSITY=verbose -At -f "$T/idle.fifo"
idle=$BG_PID
# Read-write: the open does not wait for psql (which opens the FIFO only
# once connected, and never if it cannot connect).
exec {fifo}<>"$T/idle.fifo"
echo "SELECT 'before-revoke';" >&"$fifo"
sid3=$(wait_new_session "$sid2")
wait_until grep -q before-revoke "$T/idle.out" --timeout 10 ||
	fail "the idle session's first statement got no answer:" \
		"$(cat "$T/idle.err")"

# The bastion has closed the idle client's connection: the client's
# side of it waits in CLOSE-WAIT (psql reads nothing while idle).
idle_dropped() {
	[[ -n "$(ss -Htn state close-wait "( dport = :$PG_GW_PORT )")" ]]
}
idle_dropped && fail "a connection to the bastion was closed already"

pimctl revoke "$act"
revoked=$(now)
wait_until idle_dropped --timeout 5 ||
	fail "the idle session's connection is still open 5 s after revoke"
dropped=$(now)
bg_wait "$busy"
late=$(elapsed "$revoked" "$BG_END")
log "busy psql exited $late s after pimctl revoke returned" \
	"(status $BG_RC)"
at_most "$late" "$KILL_BOUND" ||
	fail "busy session outlived the revocation by $late s" \
		"(bound $KILL_BOUND s)"
((BG_RC != 0)) || fail "busy psql exited 0 after the revocation"
told revocation busy
late=$(elapsed "$revoked" "$dropped")
log "idle connection dropped $late s after pimctl revoke returned"
at_most "$late" "$KILL_BOUND" ||
	fail "idle session outlived the revocation by $late s" \
		"(bound $KILL_BOUND s)"
# Its next command finds the FATAL and the connection gone.
echo "SELECT 'after-revoke';" >&"$fifo"
exec {fifo}>&-
bg_wait "$idle"
((BG_RC != 0)) || fail "idle psql exited 0 after the revocation"
[[ "$(cat "$T/idle.out")" != *after-revoke* ]] ||
	fail "a statement ran after the revocation"
told "revocation (idle)" idle
for id in "$sid2" "$sid3"; do
	wait_until session_ended "$id" --timeout 5 ||
		fail "session $id has no end"
	assert_eq revoked "$(session_field "$id" end_reason)" \
		"end reason of session $id"
done

log "revoking the client certificate of a live session"
act=$(pimctl activate alice dba --for 10m --reason deadline-cert)
make_client_cert alice pgdb alice-certrevoke
serial=$(openssl x509 -in "$CERT" -noout -serial | sed 's/^serial=//')
GW_TIMEOUT=40 gw_psql_bg certrevoke alice pgdb "$CERT" "$KEY" \
	-v VERBOSITY=verbose -c "SELECT pg_sleep(60)"
client=$BG_PID
sid4=$(wait_new_session "$sid3")
wait_until session_live "$sid4" --timeout 5 ||
	fail "session $sid4 is not live: $(cat "$T/certrevoke.err")"
pimctl cert revoke "${serial,,}" >/dev/null
revoked=$(now)
bg_wait "$client"
late=$(elapsed "$revoked" "$BG_END")
log "psql exited $late s after pimctl cert revoke returned"
at_most "$late" "$KILL_BOUND" ||
	fail "session outlived its certificate's revocation by $late s"
told "certificate revocation" certrevoke
assert_match "$(cat "$T/certrevoke.err")" "certificate was revoked" \
	"the reason psql shows"
wait_until session_ended "$sid4" --timeout 5 ||
	fail "session $sid4 has no end"
assert_eq revoked "$(session_field "$sid4" end_reason)" "end reason"
pimctl revoke "$act" >/dev/null

log "the query logs end with their end line"
for id in "$sid" "$sid2" "$sid3" "$sid4"; do
	qlog_check "$(qlog_path "$id")" "ev[-1].get('type') == 'end'" \
		"the last line of session $id's log"
done
