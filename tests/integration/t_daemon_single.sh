#!/usr/bin/env bash
# One pimgated per state: a second daemon started on the same config
# refuses before it touches the store, so the first one's live session
# stays live (and can still be killed), and nothing is written twice.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_sshd
pimgate_setup
start_pimgated

pimctl assign alice ops --eligible
pimctl activate alice ops --for 5m --reason "second daemon test"
GW_TIMEOUT=40 gw_ssh_bg live alice:host1 'sleep 60'
client=$BG_PID
sid=$(wait_new_session 0)
wait_until session_live "$sid" --timeout 5 || fail "session $sid not live"
audit_before=$(audit_max_id)

log "a second pimgated on the same state refuses to start"
rc=0
timeout 20 "$PIMGATE_BIN/pimgated" -c "$CONF" \
	>"$T/second.out" 2>"$T/second.err" || rc=$?
assert_eq 1 "$rc" "exit status of the second pimgated"
assert_file_contains "$T/second.err" "another pimgated is running on the store"
pid_alive "$PIMGATED_PID" || fail "the first pimgated is gone"

log "nor one with another state directory naming the same database"
mkdir -m 700 "$T/other"
sed -e "s|^state_dir = .*|state_dir = $T/other|" "$CONF" >"$T/other.conf"
python3 - "$T/other.conf" "$STATE/pimgate.db" <<'EOF'
import sys
path, db = sys.argv[1], sys.argv[2]
text = open(path).read()
text = text.replace("[server]\n", "[server]\ndatabase = %s\n" % db, 1)
open(path, "w").write(text)
EOF
ln -s "$STATE/pimgate.db" "$T/other/link.db"
rc=0
timeout 20 "$PIMGATE_BIN/pimgated" -c "$T/other.conf" \
	>"$T/third.out" 2>"$T/third.err" || rc=$?
assert_eq 1 "$rc" "exit status with another state_dir"
assert_file_contains "$T/third.err" "another pimgated is running on the store"
sed -i "s|^database = .*|database = $T/other/link.db|" "$T/other.conf"
rc=0
timeout 20 "$PIMGATE_BIN/pimgated" -c "$T/other.conf" \
	>"$T/fourth.out" 2>"$T/fourth.err" || rc=$?
assert_eq 1 "$rc" "exit status through a symlink to the database"
assert_file_contains "$T/fourth.err" "another pimgated is running on the store"

log "the first daemon's session is untouched"
session_live "$sid" || fail "session $sid was ended by the second daemon"
assert_eq "$audit_before" "$(audit_max_id)" "audit events written by the second"

log "and can still be killed"
pimctl kill "$sid"
bg_wait "$client"
wait_until session_ended "$sid" --timeout 5 || fail "session $sid has no end"
assert_eq killed "$(session_field "$sid" end_reason)" "end reason"

log PASS
