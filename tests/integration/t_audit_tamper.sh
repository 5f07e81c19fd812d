#!/usr/bin/env bash
# pimctl audit verify against someone who can write the database file
# but does not hold the signing key: the hash chain stripped with every
# checkpoint row deleted, checkpoint ids missing, hashes removed from
# events a signature came before, columns edited so that what the hash
# reads of them stays the same, a forged copy of a stored checkpoint, a
# private key given for the public half. Each is reported, exit 1.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

pimgate_setup_base

log "pimctl init signed checkpoint #1, of its own event"
assert_eq "1|1|1" "$(sql 'select id, head_id, count from audit_checkpoints')" \
	"init's checkpoint"

# About 30 events and checkpoints #2 to #6, then two events no
# checkpoint covers yet.
for i in $(seq 1 25); do
	pimctl role add "r$i"
	if ((i % 5 == 0)); then
		pimctl audit checkpoint >/dev/null
	fi
done
pimctl role add late1
pimctl role add late2
newest=$(audit_max_id)
assert_eq 6 "$(sql 'select max(id) from audit_checkpoints')" "checkpoints"

log "the untouched trail passes, and says what no checkpoint covers yet"
run_capture verify pimctl audit verify
assert_eq 0 "$RC" "audit verify (stderr: $ERR)"
assert_match "$OUT" "audit trail intact: $newest events on the chain" "verify"
signed=$((newest - 2))
summary="checkpoints intact: 6 signed by key [0-9a-f]{16}; newest #6 of .*"
summary+=" signs event #$signed, $signed events;"
summary+=" 2 events after it, not yet signed"
assert_match "$OUT" "$summary" "verify's summary"
sql ".backup $T/pristine.db"
restore() { sql ".restore $T/pristine.db"; }

# verify_finds WHAT ERE [ARGS...]: audit verify fails with ERE on stderr.
verify_finds() {
	local what=$1 re=$2
	shift 2
	run_capture "verify-${what// /-}" pimctl audit verify "$@"
	assert_eq 1 "$RC" "audit verify after $what (stdout: $OUT)"
	assert_match "$ERR" "$re" "audit verify after $what"
	log "  $what: $(head -n 1 <<<"$ERR")"
}

log "the whole chain stripped, every checkpoint deleted, an event forged"
sql "update audit set hash = '', prev_hash = '';
     delete from audit_checkpoints;
     update audit set detail = 'forged' where id = 20"
verify_finds "a stripped chain" "no signed checkpoint: nothing vouches for \
this trail; if this store predates checkpoints, take the first with pimctl \
audit checkpoint --first"
assert_match "$ERR" "checkpoints #1 to #6 are missing from the store" \
	"the deleted rows"
[[ "$OUT" != *"intact"* ]] || fail "verify said intact: $OUT"

log "... and the checkpoint id sequence reset as well"
sql "delete from sqlite_sequence where name = 'audit_checkpoints'"
verify_finds "a reset sequence" "no signed checkpoint: nothing vouches"
restore

log "the chain stripped, the checkpoints kept"
sql "update audit set hash = '', prev_hash = ''"
verify_finds "hashes removed" \
	"event #2 and $((newest - 2)) more after it have no hash, yet came \
after head #1 signed by checkpoint #1"
restore

log "a checkpoint deleted: its id is missing"
sql "delete from audit_checkpoints where id = 2"
verify_finds "checkpoint #2 deleted" "checkpoint #2 is missing from the store"
restore
sql "delete from audit_checkpoints where id <> 5"
verify_finds "all but #5 deleted" \
	"checkpoints #1 to #4 are missing from the store"
assert_match "$ERR" "checkpoint #6 is missing from the store" "the newest"
restore

log "columns edited so that the hash reads the same"
sql "update audit set detail = CAST(detail || X'00' || X'68696464656e'
	AS TEXT) where id = 20"
verify_finds "text after a NUL" "event 20 was changed: its detail column"
restore
sql "update audit set ts_ms = CAST(ts_ms AS TEXT) || 'abc' where id = 21"
verify_finds "text after a number" "event 21 was changed: its ts_ms column"
restore

log "the newest events deleted: the id sequence still counts them"
sql "delete from audit where id > $((newest - 2))"
verify_finds "a cut tail" \
	"event $((newest - 1)) is missing, and every event after it up to \
#$newest"
log "  ... with the sequence reset too, only an off-box copy would show it"
sql "update sqlite_sequence set seq = $((newest - 2)) where name = 'audit'"
run_capture verify-reset pimctl audit verify
assert_eq 0 "$RC" "verify after a cut and a reset (stderr: $ERR)"
assert_match "$OUT" "; 0 events after it, not yet signed" "verify"
restore

log "a copy of checkpoint #1 with a forged signature: only that is said"
row=$(sql "select 'audit checkpoint id=' || id || ' head=' || head_id ||
	' hash=' || head_hash || ' count=' || count || ' ts_ms=' || ts_ms ||
	' key=' || key_id || ' sig=' || sig from audit_checkpoints where id = 1")
printf '%s\n' "$row" >"$T/copy.log"
run_capture verify-copy pimctl audit verify --checkpoints "$T/copy.log"
assert_eq 0 "$RC" "verify with a true copy of #1 (stderr: $ERR)"
sig=${row##* sig=}
forged=${sig:0:10}$([[ ${sig:10:1} == A ]] && echo B || echo A)${sig:11}
printf '%s\n' "${row% sig=*} sig=$forged" >"$T/forged.log"
verify_finds "a forged copy" \
	"checkpoint #1 of [0-9TZ:-]+ \(in the lines given\) has a bad signature" \
	--checkpoints "$T/forged.log"
[[ "$ERR" != *"not in the store"* ]] ||
	fail "checkpoint #1 said deleted, though it is stored: $ERR"
assert_eq 1 "$(wc -l <<<"$ERR")" "findings for a forged copy"

log "the private key given where the public half is wanted"
verify_finds "a private key" \
	"audit_ed25519.key holds a private key; give its public half" \
	--pubkey "$STATE/audit_ed25519.key"

# ------------------------------------- no signature for a rewritten trail

log_has() { grep -qE -- "$1" "$T/pimgated.log" 2>/dev/null; }

# attack_refused WHAT ERE: neither pimctl audit checkpoint nor a daemon
# (re)start signs the rewritten trail; the daemon logs ERE as an error;
# audit verify still fails.
attack_refused() {
	local what=$1 re=$2 before
	before=$(sql 'select count(*) from audit_checkpoints')
	run_capture "ckpt-${what// /-}" pimctl audit checkpoint
	assert_eq 1 "$RC" "audit checkpoint after $what (stdout: $OUT)"
	assert_match "$ERR" "^pimctl: $re" "audit checkpoint after $what"
	log "  $ERR"
	: >"$T/pimgated.log"
	start_pimgated
	wait_until log_has "ERROR [a-z_]+: audit checkpoint refused when=start: $re" ||
		fail "no refusal in the daemon's log: $(cat "$T/pimgated.log")"
	stop_pid "$PIMGATED_PID"
	forget_pid "$PIMGATED_PID"
	PIMGATED_PID=""
	assert_eq 0 "$STOP_STATUS" "pimgated exit status after refusing"
	log_has "audit checkpoint refused when=stop: $re" ||
		fail "no refusal at shutdown: $(cat "$T/pimgated.log")"
	! log_has "audit checkpoint id=" ||
		fail "the daemon signed: $(grep 'audit checkpoint id=' "$T/pimgated.log")"
	assert_eq "$before" "$(sql 'select count(*) from audit_checkpoints')" \
		"checkpoints stored after $what"
	run_capture "verify-after-${what// /-}" pimctl audit verify
	assert_eq 1 "$RC" "audit verify after $what (stdout: $OUT)"
}

log "the chain stripped, an event forged, the checkpoints and their id"
log "sequence deleted: nobody signs it, not even with --first"
restore
sql "update audit set hash = '', prev_hash = '';
     update audit set detail = 'nothing to see' where id = 20;
     delete from audit_checkpoints;
     delete from sqlite_sequence where name = 'audit_checkpoints'"
attack_refused "a stripped trail" \
	"the store holds no audit checkpoint to extend: run pimctl audit verify"
assert_match "$ERR" "no signed checkpoint: nothing vouches" "verify"
run_capture first-stripped pimctl audit checkpoint --first
assert_eq 1 "$RC" "audit checkpoint --first on a stripped trail ($OUT)"
assert_match "$ERR" "the newest event #$newest has no hash" \
	"audit checkpoint --first on a stripped trail"
assert_eq 0 "$(sql 'select count(*) from audit_checkpoints')" "checkpoints"

log "an event before the newest checkpoint forged, the chain recomputed"
restore
sql "update audit set detail = 'nothing to see' where id = 20"
python3 - "$DB" <<'PY'
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.row_factory = sqlite3.Row
prev = ""
cols = ("actor", "event", "outcome", "user", "target", "role", "peer",
        "detail")
for r in db.execute("select * from audit order by id").fetchall():
    if r["id"] >= 20:
        h = hashlib.sha256()
        parts = ["pimgate-audit-v1"]
        h.update(b"%d:%s" % (len(parts[0]), parts[0].encode()))
        h.update(b"%d\n%d\n%d\n" % (r["id"], r["ts_ms"], r["session_id"]))
        for v in [r[c] or "" for c in cols] + [prev]:
            b = v.encode()
            h.update(b"%d:" % len(b) + b)
        db.execute("update audit set prev_hash = ?, hash = ? where id = ?",
                   (prev, h.hexdigest(), r["id"]))
        prev = h.hexdigest()
    else:
        prev = r["hash"]
db.commit()
PY
run_capture chain-rehashed pimctl audit verify
[[ "$ERR" != *"audit trail is broken"* ]] ||
	fail "the recomputed chain does not hold: $ERR"
attack_refused "a recomputed chain" \
	"the audit trail does not extend checkpoint #6 \(event #$signed it signed was changed: its hash is not the one signed\): run pimctl audit verify"
assert_match "$ERR" "event #$signed does not have the hash checkpoint #6" \
	"verify"
restore

log "done"
