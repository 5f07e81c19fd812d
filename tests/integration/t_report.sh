#!/usr/bin/env bash
# pimctl report access over what the real daemon recorded: refused logins,
# an activation with its reason, a short SSH session and one killed by an
# admin. The text, CSV and JSON reports hold those rows and flags; the
# working hours come from the configuration (and a bad setting is an
# error); bad arguments are usage errors (exit 2).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_sshd
pimgate_setup
# Every hour of every day is working time here, so the flags below do not
# depend on when the test runs; off-hours is checked with a copy.
cat >>"$CONF" <<EOF
[report]
working_hours = 00:00-24:00
working_days = mon-sun
timezone = UTC
EOF
start_pimgated

FROM=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)

log "refusals: no role yet, then a wrong password"
run_capture norole gw_ssh alice:host1 'echo ADMITTED'
((RC != 0)) || fail "alice was admitted without a role"
run_capture badpw gw_ssh_password alice:host1 'not-alices-password' \
	'echo ADMITTED'
((RC != 0)) || fail "a wrong password was accepted"

log "an activation, a short session, a killed one"
act=$(grant_access 10m | grep -oE '[0-9]+' | head -n 1)
[[ -n "$act" ]] || fail "no activation id"
run_capture short gw_ssh alice:host1 'echo report-session-output'
assert_eq 0 "$RC" "the short session (stderr: $ERR)"
short=$(newest_session_id)
wait_until session_ended "$short" --timeout 5 || fail "session $short live"

GW_TIMEOUT=40 gw_ssh_bg long alice:host1 'sleep 60'
client=$BG_PID
killed=$(wait_new_session "$short")
wait_until session_live "$killed" --timeout 5 || fail "session $killed"
pimctl kill "$killed"
bg_wait "$client"
wait_until session_ended "$killed" --timeout 5 || fail "session $killed live"

TO=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
report() { pimctl report access --from "$FROM" --to "$TO" "$@"; }

log "text: grouped by user and role, the flag marked"
run_capture report_text report
assert_eq 0 "$RC" "report (stderr: $ERR)"
assert_contains "$OUT" "Working hours 00:00-24:00 mon-sun UTC."
assert_contains "$OUT" $'\nUser alice\n  Role ops\n    Activation '"$act: "
assert_contains "$OUT" "      reason: $TEST_NAME"
assert_match "$OUT" \
	"Session $short: host1 ssh from 127\.0\.0\.1:[0-9]+, .* exit;"
assert_match "$OUT" "Session $killed: host1 ssh .* killed; .*\[ENDED-KILLED\]"
assert_match "$OUT" "  ! ended-killed +alice +session $killed on host1 \(ops\)"
assert_match "$OUT" "Refused or failed \(2\):"
assert_match "$OUT" " admit refused target host1: "
assert_match "$OUT" " login failed target host1: password: "
[[ "$OUT" != *OFF-HOURS* ]] || fail "off-hours flagged in working time"

log "csv: the fixed header, one row per item"
run_capture report_csv report --format csv
assert_eq 0 "$RC" "report --format csv (stderr: $ERR)"
python3 - "$T/report_csv.out" "$act" "$short" "$killed" "$TEST_NAME" \
	<<'PY' || fail "the CSV report: $OUT"
import csv, sys
path, act, short, killed, reason = sys.argv[1:]
with open(path, newline="") as f:
    text = f.read()
assert text.startswith(
    "kind,user,role,id,activation,requested,start,end,duration_s,state,"
    "reason,ticket,approvals,target,protocol,peer,end_reason,bytes_in,"
    "bytes_out,event,outcome,detail,flags\r\n"), text[:200]
rows = list(csv.DictReader(text.splitlines()))
assert all(len(r) == 23 and None not in r for r in rows), rows
kinds = [r["kind"] for r in rows]
assert kinds.count("activation") == 1, kinds
assert kinds.count("session") == 2, kinds
assert kinds.count("refusal") == 2, kinds
a = next(r for r in rows if r["kind"] == "activation")
assert (a["user"], a["role"], a["id"]) == ("alice", "ops", act), a
assert a["reason"] == reason and a["state"] == "active", a
assert 590 <= int(a["duration_s"]) <= 600, a
s = {r["id"]: r for r in rows if r["kind"] == "session"}
assert s[short]["end_reason"] == "exit" and s[short]["flags"] == "", s
assert s[short]["activation"] == act and s[short]["target"] == "host1", s
assert int(s[short]["bytes_out"]) > len("report-session-output"), s
assert s[killed]["end_reason"] == "killed", s
assert s[killed]["flags"] == "ended-killed", s
ev = sorted((r["event"], r["outcome"]) for r in rows if r["kind"] == "refusal")
assert ev == [("admit", "refused"), ("login", "failed")], ev
PY

log "json: one document"
run_capture report_json report --format json --user alice
assert_eq 0 "$RC" "report --format json (stderr: $ERR)"
python3 - "$OUT" "$act" "$short" "$killed" "$TEST_NAME" \
	<<'PY' || fail "the JSON report: $OUT"
import json, sys
doc, act, short, killed, reason = sys.argv[1:]
d = json.loads(doc)
assert d["report"] == "access" and d["user"] == "alice", d
assert [u["user"] for u in d["users"]] == ["alice"], d["users"]
u = d["users"][0]
assert u["flags"] == [] and u["mfa_failures"] == 0, u
role = u["roles"][0]
assert role["role"] == "ops", role
a = role["activations"][0]
assert a["id"] == int(act) and a["reason"] == reason, a
assert a["held"] is True and a["break_glass"] is False, a
assert a["flags"] == [] and a["approvals"] == [], a
ends = {x["id"]: x["end_reason"] for x in a["sessions"]}
assert ends == {int(short): "exit", int(killed): "killed"}, ends
for x in a["sessions"]:
    assert x["bytes_in"] >= 0 and x["length_s"] >= 0, x
    assert x["target"] == "host1" and x["protocol"] == "ssh", x
    assert x["peer"].startswith("127.0.0.1:") and x["end"], x
assert [r["event"] for r in u["refusals"]] == ["admit", "login"], u
review = [(r["flag"], r["kind"], r["id"]) for r in d["needs_review"]]
assert review == [("ended-killed", "session", int(killed))], review
PY

log "an activation revoked within the second it began is still held"
pimctl role add flash >/dev/null
pimctl assign alice flash --eligible >/dev/null
flash=$(pimctl activate alice flash --for 1m --reason flash |
	grep -oE '[0-9]+' | head -n 1)
pimctl revoke "$flash" >/dev/null

log "off-hours, with working days that are not today"
today=$(date -u +%u) # 1 is Monday
days=(mon tue wed thu fri sat sun)
sed 's/^working_days = .*/working_days = '"${days[(today + 2) % 7]}"'/' \
	"$CONF" >"$T/offhours.conf"
run_capture report_off "$PIMGATE_BIN/pimctl" -c "$T/offhours.conf" \
	report access --from "$FROM" --to "$TO" --format csv
assert_eq 0 "$RC" "report with other working days (stderr: $ERR)"
assert_match "$OUT" "^activation,alice,ops,$act,.*,off-hours"$'\r'"?$"
assert_match "$OUT" "^activation,alice,flash,$flash,.*,off-hours"$'\r'"?$"

log "a bad [report] setting is a clear error"
sed 's/^timezone = .*/timezone = Mars\/Olympus/' "$CONF" >"$T/badtz.conf"
run_capture badtz "$PIMGATE_BIN/pimctl" -c "$T/badtz.conf" \
	report access --from "$FROM" --to "$TO"
assert_eq 1 "$RC" "a bad time zone"
assert_match "$ERR" "badtz.conf:[0-9]+: \[report\] timezone: expected"

log "bad arguments are usage errors"
expect_usage() {
	local what=$1 re=$2
	shift 2
	run_capture usage pimctl report access "$@"
	assert_eq 2 "$RC" "$what"
	assert_match "$ERR" "$re" "$what: the reason"
	assert_eq "" "$OUT" "$what: nothing on stdout"
}
expect_usage "a bad instant" "invalid instant 'yesterday' for --from" \
	--from yesterday --to "$TO"
expect_usage "--from after --to" "--from .* is not before --to" \
	--from "$TO" --to "$FROM"
expect_usage "an empty period" "is not before" --from "$TO" --to "$TO"
expect_usage "an unknown format" "unknown --format 'xml'" \
	--from "$FROM" --to "$TO" --format xml
expect_usage "no --to" "--from and --to are both needed" --from "$FROM"
expect_usage "a bad user name" "invalid user name" \
	--from "$FROM" --to "$TO" --user 'Alice;x'
run_capture nouser report --user nobody
assert_eq 1 "$RC" "an unknown user"
assert_match "$ERR" "no user nobody"

log "a period without activity"
run_capture empty pimctl report access --from 2001-01-01T00:00:00Z \
	--to 2001-02-01T00:00:00Z
assert_eq 0 "$RC" "an empty report (stderr: $ERR)"
assert_contains "$OUT" "No activity in this period."
