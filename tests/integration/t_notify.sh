#!/usr/bin/env bash
# Notifications: the [notify] command gets one JSON document on standard
# input for each activation request, approval, denial, activation,
# revocation, expiry and break-glass use, whoever wrote the change
# (pimctl here); a command that hangs is ended at [notify] timeout while
# the bastion keeps serving.
source "$(dirname "$0")/lib.sh"

NOTES=$T/notes.jsonl
NOTIFY_TIMEOUT=3
# The runner's grace between SIGTERM and SIGKILL (src/notify/runner.c).
KILL_GRACE=2

# The command: appends its input to $NOTES; while $T/slow exists it
# also records its pid and hangs.
cat >"$T/notify.sh" <<SCRIPT
#!/bin/sh
cat >>"$NOTES"
if [ -e "$T/slow" ]; then
	echo \$\$ >>"$T/slow.pids"
	sleep 60
fi
SCRIPT
chmod 755 "$T/notify.sh"
: >"$NOTES"

start_sshd
pimgate_setup
cat >>"$CONF" <<CONF
[notify]
command = $T/notify.sh
timeout = ${NOTIFY_TIMEOUT}s
CONF
start_pimgated

# note_field EVENT ACTIVATION FIELD: FIELD of the document EVENT about
# ACTIVATION (JSON for lists and objects); fails if there is none.
note_field() {
	python3 - "$NOTES" "$@" <<'PY'
import json, sys
path, event, act, field = sys.argv[1:]
for line in open(path, encoding="utf-8"):
    doc = json.loads(line)
    if doc.get("event") == event and str(doc.get("activation_id")) == act:
        v = doc.get(field)
        if isinstance(v, bool):
            v = "true" if v else "false"
        elif isinstance(v, (list, dict)):
            v = json.dumps(v)
        print("" if v is None else v)
        sys.exit(0)
sys.exit(1)
PY
}
has_note() { note_field "$1" "$2" event >/dev/null; }

# wait_note EVENT ACTIVATION: until the document arrives.
wait_note() {
	wait_until has_note "$1" "$2" --timeout 10 ||
		fail "no $1 notification for activation $2; got:"$'\n'"$(cat "$NOTES")"
}

log "activation.active and activation.revoked"
pimctl assign alice ops --eligible
id=$(pimctl activate alice ops --for 10m --reason "notify check one")
wait_note activation.active "$id"
assert_eq alice "$(note_field activation.active "$id" user)" user
assert_eq ops "$(note_field activation.active "$id" role)" role
assert_eq "notify check one" "$(note_field activation.active "$id" reason)" \
	reason
assert_eq active "$(note_field activation.active "$id" state)" state
assert_match "$(note_field activation.active "$id" time)" \
	'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' time
assert_match "$(note_field activation.active "$id" end)" 'Z$' end
[[ -n "$(note_field activation.active "$id" audit_id)" ]] ||
	fail "no audit_id"
# History (init, users, the assignment) is not replayed.
assert_eq activation.active "$(python3 -c '
import json, sys
print(json.loads(open(sys.argv[1]).readline())["event"])' "$NOTES")" \
	"the first document"
pimctl revoke "$id" >/dev/null
wait_note activation.revoked "$id"
assert_eq alice "$(note_field activation.revoked "$id" user)" user

log "activation.requested, activation.approved, activation.denied"
pimctl user add bob
pimctl role add appr --require-approval 1 --approvers bob
pimctl role grant appr host1
pimctl assign alice appr --eligible
rid=$(pimctl activate alice appr --for 10m --reason "please" --by alice)
wait_note activation.requested "$rid"
assert_eq alice "$(note_field activation.requested "$rid" requested_by)" \
	requested_by
assert_eq bob "$(note_field activation.requested "$rid" approvers)" \
	approvers
pimctl approve "$rid" --by bob >/dev/null
wait_note activation.approved "$rid"
assert_contains "$(note_field activation.approved "$rid" approvals)" \
	'"by": "bob"' approvals
wait_note activation.active "$rid"
pimctl revoke "$rid" >/dev/null
did=$(pimctl activate alice appr --for 10m --reason "again" --by alice)
wait_note activation.requested "$did"
pimctl deny "$did" --by bob --reason "not now" >/dev/null
wait_note activation.denied "$did"

log "a request nobody approves in time is denied, and notified"
pimctl role add lapse --require-approval 1 --approvers bob --approval-ttl 2s
pimctl role grant lapse host1
pimctl assign alice lapse --eligible
lid=$(pimctl activate alice lapse --for 10m --reason "late" --by alice)
wait_note activation.requested "$lid"
# The daemon sweeps lapsed requests every 10 s.
wait_until has_note activation.denied "$lid" --timeout 25 ||
	fail "no activation.denied for the lapsed request $lid"
assert_contains "$(note_field activation.denied "$lid" detail)" \
	'not approved in time' detail

log "breakglass.used"
pimctl role add bg --break-glass
pimctl role grant bg host1
pimctl assign alice bg --eligible
uri=$(pimctl user mfa enroll alice | grep '^otpauth://')
[[ $uri =~ secret=([A-Z2-7]+) ]] || fail "no secret in '$uri'"
code=$(oathtool --totp -b "${BASH_REMATCH[1]}")
bid=$(pimctl activate alice bg --for 10m --reason "ward emergency" \
	--otp "$code")
wait_note breakglass.used "$bid"
assert_eq true "$(note_field breakglass.used "$bid" break_glass)" break_glass
assert_eq "ward emergency" "$(note_field breakglass.used "$bid" reason)" \
	reason
assert_contains "$(note_field breakglass.used "$bid" detail)" BREAK-GLASS \
	detail

log "activation.expired"
eid=$(pimctl activate alice ops --for 2s --reason "short one")
wait_note activation.active "$eid"
wait_note activation.expired "$eid"
assert_eq alice "$(note_field activation.expired "$eid" user)" user
assert_eq pimgated "$(note_field activation.expired "$eid" actor)" actor

log "a hanging command is ended at the timeout; the bastion serves on"
: >"$T/slow"
start=$(now)
sid=$(pimctl activate alice ops --for 10m --reason "slow command")
wait_until test -s "$T/slow.pids" --timeout 10 ||
	fail "the slow command did not start"
slow_pid=$(head -n1 "$T/slow.pids")
out=$(gw_ssh alice:host1 'echo still-serving')
assert_eq still-serving "$out" "a session while the command hangs"
pid_alive "$slow_pid" || fail "the command ended before its timeout"
wait_until pid_dead "$slow_pid" \
	--timeout $((NOTIFY_TIMEOUT + KILL_GRACE + 3)) ||
	fail "the command outlived its timeout"
at_most "$(elapsed "$start" "$(now)")" \
	$((NOTIFY_TIMEOUT + KILL_GRACE + 3)) || fail "killed too late"
wait_until grep -q "notify command timed out event=activation.active" \
	"$T/pimgated.log" || fail "no timeout warning in the log"
rm -f "$T/slow"
pimctl revoke "$sid" >/dev/null
wait_note activation.revoked "$sid"

log "every document is one JSON object under 4 KiB"
python3 - "$NOTES" <<'PY' || fail "malformed documents"
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    assert len(line.encode()) <= 4001, len(line)
    doc = json.loads(line)
    assert isinstance(doc, dict) and doc["event"], doc
PY
stop_all
