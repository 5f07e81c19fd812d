#!/usr/bin/env bash
# [server] user: started as root, pimgated refuses a state directory the
# user does not own, and otherwise becomes that user for good (real,
# effective and saved ids, no root group), with sessions, recordings and
# SIGHUP still working. Started as another user, it says it needs root.
# Needs root: creates a throwaway system account (removed at the end).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if (($(id -u) != 0)); then
	log "SKIP: needs root (creates an account, starts pimgated as root)"
	exit 0
fi

RUN_USER=pimgt$$
CREATED_USER=""
if ! getent passwd "$RUN_USER" >/dev/null; then
	useradd --system --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$RUN_USER"
	CREATED_USER=$RUN_USER
fi
# At the exit: the processes first (the account cannot go while one of
# them runs as it), then the account, then lib.sh's on_exit with the
# test's status.
status_is() { return "$1"; }
remove_user_exit() {
	local rc=$?
	if ((${#STARTED_PIDS[@]})); then
		stop_all_report
		if [[ -n "$STOP_PROBLEM" ]]; then
			echo "FAIL: $TEST_NAME: $STOP_PROBLEM" >&2
			rc=1
		fi
	fi
	[[ -z "$CREATED_USER" ]] || userdel "$CREATED_USER" 2>/dev/null ||
		echo "$TEST_NAME: cannot remove account $CREATED_USER" >&2
	# shellcheck disable=SC2015 # on_exit exits either way
	status_is "$rc" && on_exit || on_exit
}
trap remove_user_exit EXIT
RUN_UID=$(id -u "$RUN_USER")
RUN_GID=$(id -g "$RUN_USER")

start_sshd
pimgate_setup
grant_access 10m >/dev/null
sed -i "s/^\[server\]$/[server]\nuser = $RUN_USER/" "$CONF"
# The account must reach its state and read the config (for SIGHUP).
chmod 711 "$T"
chmod 644 "$CONF"

log "a state directory root owns: refused, by -t and at start"
run_capture check "$PIMGATE_BIN/pimgated" -t -c "$CONF"
assert_eq 1 "$RC" "-t with the state owned by root"
assert_match "$ERR" "state_dir $STATE: owned by uid 0, not by .*$RUN_USER" \
	"-t on the state's owner"
run_capture start timeout 20 "$PIMGATE_BIN/pimgated" -c "$CONF"
((RC == 1)) || fail "pimgated started on root's state (status $RC)"
assert_match "$ERR" "state directory $STATE is owned by uid 0, not by $RUN_USER" \
	"pimgated's reason"

log "started as another user than root: refused"
chown -R "$RUN_USER:" "$STATE"
run_capture check "$PIMGATE_BIN/pimgated" -t -c "$CONF"
assert_eq 0 "$RC" "-t once the user owns the state (stderr: $ERR)"
sed "s/^user = $RUN_USER$/user = root/" "$CONF" >"$T/asuser.conf"
chmod 644 "$T/asuser.conf"
run_capture asuser timeout 20 setpriv --reuid="$RUN_UID" \
	--regid="$RUN_GID" --clear-groups \
	"$PIMGATE_BIN/pimgated" -c "$T/asuser.conf"
((RC == 1)) || fail "pimgated started as $RUN_USER for user root ($RC)"
assert_match "$ERR" "\[server\] user is root, but pimgated was started as uid $RUN_UID: start it as root" \
	"pimgated's reason"

log "started as root, it becomes $RUN_USER for good"
start_pimgated
status=$(<"/proc/$PIMGATED_PID/status")
assert_match "$status" $'\nUid:\t'"$RUN_UID"$'\t'"$RUN_UID"$'\t'"$RUN_UID"$'\t'"$RUN_UID"$'\n' \
	"the daemon's user ids"
assert_match "$status" $'\nGid:\t'"$RUN_GID"$'\t'"$RUN_GID"$'\t'"$RUN_GID"$'\t'"$RUN_GID"$'\n' \
	"the daemon's group ids"
groups=$(grep '^Groups:' <<<"$status")
[[ " ${groups#Groups:} " != *" 0 "* ]] || fail "root's group kept: $groups"
assert_match "$status" $'\nCapEff:\t0+\n' "the daemon's capabilities"
assert_file_contains "$T/pimgated.log" "running as user=$RUN_USER uid=$RUN_UID"

log "sessions work; recordings are the user's, owner-only"
run_capture hi gw_ssh alice:host1 -tt 'echo hi-as-user'
assert_contains "$OUT" hi-as-user "a session through the unprivileged daemon ($ERR)"
sid=$(newest_session_id)
wait_until session_ended "$sid" --timeout 5 || fail "session $sid lives on"
rec=$(recording_path "$sid")
assert_eq "$RUN_USER 600" "$(stat -c '%U %a' "$rec")" "the recording's owner and mode"

log "pimctl (root) still shares the store; SIGHUP still reads the config"
pimctl sessions >/dev/null
mark=$(wc -l <"$T/pimgated.log")
sed -i 's/^log_level = debug$/log_level = verbose/' "$CONF"
kill -HUP "$PIMGATED_PID"
reloaded() { tail -n "+$mark" "$T/pimgated.log" | grep -q 'config reloaded'; }
wait_until reloaded ||
	fail "no reload as $RUN_USER: $(tail -n 5 "$T/pimgated.log")"
run_capture again gw_ssh alice:host1 'echo again'
assert_eq again "$OUT" "a session after the reload ($ERR)"
stop_all
