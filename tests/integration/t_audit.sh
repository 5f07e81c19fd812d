#!/usr/bin/env bash
# The audit trail is a hash chain: pimctl audit lists it (text and JSON),
# pimctl audit export writes JSON lines, pimctl audit verify passes on an
# untouched trail and names the first event that was changed or removed
# behind the bastion's back.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

pimgate_setup_base
pimctl role add ops
pimctl user add bob
pimctl assign alice ops --eligible
pimctl activate alice ops --for 10m --reason "audit chain test" >/dev/null

log "pimctl audit lists the events, oldest first"
run_capture list pimctl audit
assert_eq 0 "$RC" "pimctl audit (stderr: $ERR)"
assert_match "$OUT" "activate alice ops" "the activation in the listing"
run_capture listjson pimctl audit --json --user alice
assert_eq 0 "$RC" "pimctl audit --json --user alice (stderr: $ERR)"
python3 - "$OUT" <<'PY' || fail "pimctl audit --json: $OUT"
import json, sys
rows = json.loads(sys.argv[1])
assert rows and all(r["user"] == "alice" for r in rows), rows
ids = [r["id"] for r in rows]
assert ids == sorted(ids), ids
assert all(len(r["hash"]) == 64 for r in rows), rows
PY

log "pimctl audit export writes one JSON line per event"
run_capture export pimctl audit export --since 2000-01-01T00:00:00Z
assert_eq 0 "$RC" "pimctl audit export (stderr: $ERR)"
n=$(sql "select count(*) from audit")
python3 - "$OUT" "$n" <<'PY' || fail "pimctl audit export: $OUT"
import json, sys
lines = sys.argv[1].splitlines()
assert len(lines) == int(sys.argv[2]), (len(lines), sys.argv[2])
prev = ""
for line in lines:
    e = json.loads(line)
    assert e["prev_hash"] == prev, e
    prev = e["hash"]
PY
run_capture badsince pimctl audit export --since yesterday
assert_eq 2 "$RC" "a bad --since is a usage error"

log "pimctl audit verify on the untouched trail"
run_capture verify pimctl audit verify
assert_eq 0 "$RC" "audit verify (stderr: $ERR)"
assert_match "$OUT" "audit trail intact: $n events" "what verify said"

log "an event changed behind the bastion's back is named"
sql "update audit set detail = 'nothing happened' where id = 3"
run_capture changed pimctl audit verify
assert_eq 1 "$RC" "audit verify after a change"
assert_match "$ERR" "event 3 was changed" "what verify said"

log "an event removed is found at the next one"
sql "delete from audit where id = 3"
run_capture removed pimctl audit verify
assert_eq 1 "$RC" "audit verify after a removal"
assert_match "$ERR" "event 4 " "verify names the event after the gap"
