#!/usr/bin/env bash
# Signed checkpoints of the audit chain and audit events on syslog.
#
# The daemon signs the chain's head at start, every checkpoint_interval
# while the head moves and at shutdown; each checkpoint is stored and
# logged. With [syslog] audit on, every audit event (the daemon's and
# pimctl's) reaches a datagram socket this test listens on, with facility
# authpriv. Then pimctl audit verify passes on the untouched trail and
# names what was done behind the bastion's back: an edited, deleted or
# inserted event, a cut-off tail (with and without the checkpoint rows,
# the second found from the syslog copy), a forged checkpoint, another
# key.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

pimgate_setup_base
cat >>"$CONF" <<EOF
[syslog]
audit = true
socket = $T/syslog.sock
[audit]
checkpoint_interval = 2s
EOF

# ------------------------------------------------------- syslog receiver

# A datagram socket standing in for syslog: each message one line.
python3 - "$T/syslog.sock" "$T/syslog.txt" <<'PY' &
import os, socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path + ".tmp")
os.rename(path + ".tmp", path)  # appears only once bound
with open(out, "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536).replace(b"\n", b" ") + b"\n")
PY
STARTED_PIDS+=("$!")
wait_until test -S "$T/syslog.sock" || fail "the syslog receiver did not start"

syslog_has() { grep -qE -- "$1" "$T/syslog.txt" 2>/dev/null; }
log_has() { grep -qE -- "$1" "$T/pimgated.log" 2>/dev/null; }
checkpoints_logged() {
	grep -c 'audit checkpoint id=' "$T/pimgated.log" 2>/dev/null || true
}

# ------------------------------------------------------------ the daemon

log "pimctl init signed checkpoint #1, of its init event"
assert_eq "1|1|1" "$(sql 'select id, head_id, count from audit_checkpoints')" \
	"the checkpoint pimctl init took"

log "the daemon signs the head at start"
start_pimgated
wait_until log_has 'INFO [a-z_]+: audit checkpoint id=2 head=[0-9]+ ' ||
	fail "no start checkpoint in the daemon's log"
assert_match "$(grep 'audit checkpoint id=2 ' "$T/pimgated.log")" \
	" count=[0-9]+ ts_ms=[0-9]+ time=[0-9TZ:-]+ key=[0-9a-f]{16} sig=[A-Za-z0-9+/]{86}==$" \
	"the checkpoint line"

log "audit events from pimctl and from the daemon reach syslog (authpriv)"
pimctl role add ops
gw_ssh_password alice 'not-alices-password' status >/dev/null 2>&1 || true
# authpriv is facility 10: <86> is info, <85> notice (a refusal).
wait_until syslog_has '^<86>.* audit id=[0-9]+ .* event=admin outcome=ok .*actor="admin:[^"]*" .*detail="role add ops' ||
	fail "pimctl's event did not reach syslog: $(cat "$T/syslog.txt" 2>/dev/null)"
wait_until syslog_has '^<85>.* audit id=[0-9]+ .* event=login outcome=(refused|failed) .*user="alice"' ||
	fail "the daemon's login refusal did not reach syslog: $(cat "$T/syslog.txt")"
assert_match "$(grep 'detail="role add ops' "$T/syslog.txt")" \
	' hash=[0-9a-f]{64} prev=[0-9a-f]{64}$' "the event's hashes on syslog"
if grep -q 'not-alices-password' "$T/syslog.txt" "$T/pimgated.log"; then
	fail "a password reached syslog or the log"
fi

log "a later checkpoint covers them (interval 2s, the head moved)"
newest=$(audit_max_id)
covers_newest() {
	grep -qE "audit checkpoint id=[0-9]+ head=$newest " "$T/pimgated.log"
}
wait_until covers_newest --timeout 10 ||
	fail "no checkpoint of head $newest in the log"
wait_until syslog_has "^<86>.*audit checkpoint id=[0-9]+ head=$newest " ||
	fail "the checkpoint did not reach syslog"
n=$(checkpoints_logged)
sleep 2.5 # an interval with the head unmoved: no checkpoint
assert_eq "$n" "$(checkpoints_logged)" "checkpoints logged while idle"

log "the shutdown checkpoint covers the last events"
pimctl role add ops2
stop_pid "$PIMGATED_PID"
assert_eq 0 "$STOP_STATUS" "pimgated exit status on SIGTERM"
forget_pid "$PIMGATED_PID"
PIMGATED_PID=""
newest=$(audit_max_id)
covers_newest || fail "no checkpoint of the newest event $newest at shutdown"
assert_eq "$(($(checkpoints_logged) + 1))" \
	"$(sql 'select count(*) from audit_checkpoints')" \
	"checkpoints logged and stored (and init's #1)"

# ------------------------------------------------------------ verifying

pimctl audit key >"$T/audit.pub" 2>/dev/null
assert_file_contains "$T/audit.pub" "BEGIN PUBLIC KEY"
grep -h 'audit checkpoint ' "$T/pimgated.log" >"$T/checkpoints.log"

log "pimctl audit verify passes on the untouched trail"
pimctl audit checkpoint >"$T/checkpoint.out"
assert_match "$(cat "$T/checkpoint.out")" \
	"^audit checkpoint id=[0-9]+ head=$newest " "pimctl audit checkpoint"
run_capture verify pimctl audit verify --pubkey "$T/audit.pub" \
	--checkpoints "$T/syslog.txt"
assert_eq 0 "$RC" "audit verify (stderr: $ERR)"
assert_match "$OUT" "audit trail intact: $newest events" "verify"
assert_match "$OUT" "checkpoints intact: [0-9]+ signed by key" "verify"
sql ".backup $T/pristine.db"

restore() { sql ".restore $T/pristine.db"; }

# verify_finds WHAT ERE [ARGS...]: audit verify fails with ERE on stderr.
verify_finds() {
	local what=$1 re=$2
	shift 2
	run_capture "verify-$what" pimctl audit verify "$@"
	assert_eq 1 "$RC" "audit verify after $what (stdout: $OUT)"
	assert_match "$ERR" "$re" "audit verify after $what"
	log "  $what: $(head -n 1 <<<"$ERR")"
}

log "an edited event is named"
sql "update audit set detail = 'nothing happened' where id = 3"
verify_finds "an edit" "event 3 was changed"
restore

log "a deleted event: the one after it is named"
sql "delete from audit where id = 3"
verify_finds "a deletion" "event 4 does not follow"
restore

log "an inserted event, hashed as the bastion would: the next is named"
python3 - "$DB" <<'PY'
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
def text(h, s):
    b = (s or "").encode()
    h.update(b"%d:" % len(b) + b)
def digest(r):
    h = hashlib.sha256()
    text(h, "pimgate-audit-v1")
    h.update(b"%d\n%d\n%d\n" % (r["id"], r["ts_ms"], r["session_id"]))
    for k in ("actor", "event", "outcome", "user", "target", "role",
              "peer", "detail", "prev_hash"):
        text(h, r[k])
    return h.hexdigest()
prev = db.execute("select hash from audit where id = 3").fetchone()[0]
db.execute("update audit set id = id + 100000 where id > 3")
db.execute("update audit set id = id - 99999 where id > 100000")
r = dict(id=4, ts_ms=1, session_id=0, actor="admin:root", event="admin",
         outcome="ok", user="mallory", target="", role="ops", peer="",
         detail="assign mallory ops --active", prev_hash=prev)
r["hash"] = digest(r)
db.execute("insert into audit (id, ts_ms, session_id, actor, event,"
           " outcome, user, target, role, peer, detail, prev_hash, hash)"
           " values (:id, :ts_ms, :session_id, :actor, :event, :outcome,"
           " :user, :target, :role, :peer, :detail, :prev_hash, :hash)", r)
db.commit()
PY
verify_finds "an insertion" "event 5 does not link to the event before it"
restore

log "a cut-off tail: the checkpoint that covered it names it"
keep=$((newest - 3))
sql "delete from audit where id > $keep"
verify_finds "a cut-off tail" \
	"events after #$keep are missing: checkpoint #[0-9]+ of [0-9TZ:-]+ signed head #$newest"

log "the tail and every checkpoint row deleted: syslog's copies show it"
sql "delete from audit_checkpoints"
verify_finds "every checkpoint deleted" \
	"checkpoints #1 to #[0-9]+ are missing from the store: they were deleted"
assert_match "$ERR" "no signed checkpoint: nothing vouches" \
	"verify without checkpoints"
verify_finds "deleted checkpoints" \
	"checkpoint #[0-9]+ of .* is in the lines given but not in the store" \
	--pubkey "$T/audit.pub" --checkpoints "$T/syslog.txt"
assert_match "$ERR" "events after #$keep are missing" "verify with syslog"
verify_finds "deleted checkpoints (daemon log)" \
	"events after #$keep are missing" --checkpoints "$T/checkpoints.log"
restore

log "a forged checkpoint row is reported"
sql "update audit_checkpoints set count = count - 1 where id = 1"
verify_finds "a forged row" "checkpoint #1 of .* has a bad signature"
restore

log "a forged checkpoint line is reported"
sed -E '1s/ head=([0-9]+) / head=9\1 /' "$T/checkpoints.log" >"$T/forged.log"
verify_finds "a forged line" "has a bad signature" \
	--checkpoints "$T/forged.log"

log "checkpoints checked with another key are refused"
openssl genpkey -algorithm ed25519 -out "$T/other.key" 2>/dev/null
openssl pkey -in "$T/other.key" -pubout -out "$T/other.pub" 2>/dev/null
verify_finds "another key" "is signed by key [0-9a-f]{16}, not by key" \
	--pubkey "$T/other.pub"

log "a state from before checkpoints: the daemon makes the key"
rm -f "$STATE/audit_ed25519.key"
run_capture nokey pimctl audit checkpoint
assert_eq 1 "$RC" "audit checkpoint without a key"
assert_match "$ERR" "audit_ed25519.key" "audit checkpoint without a key"
start_pimgated
wait_until log_has "audit signing key created path=$STATE/audit_ed25519.key" ||
	fail "the daemon did not make the missing key"
stop_pid "$PIMGATED_PID"
forget_pid "$PIMGATED_PID"
PIMGATED_PID=""
assert_eq 600 "$(stat -c %a "$STATE/audit_ed25519.key")" "the key's mode"
verify_finds "a new key" "is signed by key" # the old ones: another key

log "... or pimctl audit key does"
rm -f "$STATE/audit_ed25519.key"
pimctl audit key >"$T/new.pub" 2>"$T/new.err"
assert_file_contains "$T/new.pub" "BEGIN PUBLIC KEY"
assert_match "$(cat "$T/new.err")" \
	"warning: a new key was made; [0-9]+ stored checkpoints were signed by another key \([0-9a-f]{16}\)" \
	"audit key's warning about the old checkpoints"
assert_match "$(cat "$T/new.err")" \
	"no checkpoint is signed by the new key yet; .* pimctl audit checkpoint --first" \
	"audit key's note about the first checkpoint"
assert_eq 600 "$(stat -c %a "$STATE/audit_ed25519.key")" "the key's mode"
run_capture newkey-nofirst pimctl audit checkpoint
assert_eq 1 "$RC" "audit checkpoint with a new key, without --first"
assert_match "$ERR" "does not extend checkpoint #[0-9]+ \(it is signed by key [0-9a-f]{16}, not by this key" \
	"audit checkpoint with a new key"
pimctl audit checkpoint --first >/dev/null
last=$(sql 'select max(id) from audit_checkpoints')
run_capture verify-newkey pimctl audit verify --pubkey "$T/new.pub"
assert_eq 1 "$RC" "verify with the new key"
assert_contains "$ERR" "is signed by key" "older checkpoints, another key"
[[ "$ERR" != *"checkpoint #$last "* ]] ||
	fail "the new key's checkpoint #$last was reported: $ERR"
