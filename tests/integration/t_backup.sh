#!/usr/bin/env bash
# pimctl backup takes a consistent copy of the store while pimgated runs
# and others write; the copy, restored into a fresh state folder by the
# README's steps with the key files beside it, holds every user, role,
# assignment, activation, session and audit event, passes audit verify,
# and a bastion started on it admits alice to host1 (the sealed
# credential still opens). Refusals: an existing FILE, an unwritable
# place, a copy that fails halfway (nothing is left behind).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BOB_PASSWORD='bob-Pw-backup-restore-58'

start_sshd
pimgate_setup

log "real activity: users, roles, assignments, activations, sessions"
printf '%s\n' "$BOB_PASSWORD" | pimctl user add bob --password-stdin
pimctl role add dba --max-session 1h --require-justification \
	--min-reason-length 8
pimctl role grant dba host1
pimctl assign bob dba --active
pimctl role add oncall --max-activation 1h
pimctl role grant oncall host1
pimctl assign alice oncall --eligible
grant_access 30m >/dev/null
revoked=$(pimctl activate alice oncall --for 10m --reason "to be revoked")
pimctl revoke "$revoked" >/dev/null
start_pimgated
out=$(gw_ssh alice:host1 'echo via-key') || fail "key login failed: $out"
assert_eq via-key "$out" "a session through the bastion"
out=$(gw_ssh_password alice:host1 "$ALICE_PASSWORD" 'echo pw-login') ||
	fail "password login failed: $out"
assert_eq pw-login "$out" "a password session through the bastion"
# A session still live when the copy is taken.
gw_ssh_bg live alice:host1 'echo live-started; sleep 4'
live_pid=$BG_PID
wait_until grep -q live-started "$T/live.out" ||
	fail "the live session did not start"

# A few thousand pages, so the copy takes many steps while the writers
# below commit between them (a table of the test's own: the product
# ignores it).
sql "CREATE TABLE backup_padding (b BLOB);
     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
                             WHERE i < 6000)
     INSERT INTO backup_padding SELECT randomblob(4000) FROM n;"

log "writers: pimctl adds roles, a client commits as fast as it can"
: >"$T/writer.go"
(
	n=0
	while [[ -e "$T/writer.go" ]]; do
		n=$((n + 1))
		pimctl role add "wr-$n" >/dev/null 2>>"$T/writer-roles.err" ||
			echo "role add wr-$n failed" >>"$T/writer-roles.err"
	done
) &
roles_pid=$!
STARTED_PIDS+=("$roles_pid")
# Each commit waits at most 40 ms for the lock, as the daemon does: a
# backup that held the lock would show up as failures here.
python3 - "$DB" "$T/writer.go" "$T/writer-fast.log" <<'PY' &
import os, sqlite3, sys, time
db, go, logf = sys.argv[1:4]
c = sqlite3.connect(db, timeout=0.04, isolation_level=None)
ok = failed = 0
with open(logf, "w") as out:
    while os.path.exists(go):
        try:
            c.execute("INSERT INTO backup_padding VALUES (randomblob(100))")
            ok += 1
            out.write("commit %.6f\n" % time.time())
        except sqlite3.OperationalError as e:
            failed += 1
            out.write("failed %.6f %s\n" % (time.time(), e))
        time.sleep(0.001)
    out.write("done ok=%d failed=%d\n" % (ok, failed))
PY
fast_pid=$!
STARTED_PIDS+=("$fast_pid")
wait_until grep -qs '^commit' "$T/writer-fast.log" ||
	fail "the fast writer never committed"
wait_until test -n "$(sql "select 1 from roles where name = 'wr-2'")" ||
	fail "the role writer never added a role"

log "pimctl backup while the bastion runs and the writers write"
BACKUP=$T/saved/pimgate-backup.db
mkdir -p "$T/saved"
b_start=$(now)
run_capture backup pimctl backup "$BACKUP"
b_end=$(now)
assert_eq 0 "$RC" "pimctl backup (stderr: $ERR)"
rm -f "$T/writer.go"
bg_wait "$roles_pid"
bg_wait "$fast_pid"
log "backup took $(elapsed "$b_start" "$b_end") s"
assert_match "$OUT" "^integrity check: ok" "the backup's summary"
assert_match "$OUT" "users 2, roles [0-9]+, targets 1, assignments 3," \
	"the backup's counts"
for f in secret.key ca.key ca.crt ssh_host_ed25519_key pg_server.key \
	pg_server.crt audit_ed25519.key; do
	assert_contains "$OUT" "$STATE/$f" "the key files the backup names"
done
assert_match "$OUT" "sealed secrets stay sealed" "the backup's advice"
[[ "$OUT" =~ audit\ chain\ head:\ event\ ([0-9]+),\ hash\ ([0-9a-f]{64}) ]] ||
	fail "no audit chain head in: $OUT"
head_id=${BASH_REMATCH[1]} head_hash=${BASH_REMATCH[2]}
assert_eq 600 "$(stat -c %a "$BACKUP")" "the backup's mode"
[[ -z "$(find "$T/saved" -name '.*')" ]] ||
	fail "temporary files left: $(ls -A "$T/saved")"

# The writers kept going: commits landed while the copy was made, and
# none waited out its 40 ms.
python3 - "$T/writer-fast.log" "$b_start" "$b_end" <<'PY' ||
import sys
log, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
lines = open(log).read().splitlines()
failed = [l for l in lines if l.startswith("failed")]
during = [l for l in lines if l.startswith("commit ")
          and start <= float(l.split()[1]) <= end]
assert not failed, failed[:5]
assert during, "no commit while the backup ran"
print("%d commits during the backup" % len(during))
PY
	fail "the fast writer was held up by the backup: $(tail -n 5 "$T/writer-fast.log")"
[[ ! -s "$T/writer-roles.err" ]] ||
	fail "pimctl writes failed: $(head -n 5 "$T/writer-roles.err")"

log "refusals: an existing FILE, an unwritable place, a copy cut halfway"
sum_before=$(sha256sum <"$BACKUP")
run_capture again pimctl backup "$BACKUP"
assert_eq 1 "$RC" "a backup onto an existing file"
assert_match "$ERR" "already exists; give --force" "what it said"
assert_eq "$sum_before" "$(sha256sum <"$BACKUP")" "the existing file"
run_capture live pimctl backup "$DB" --force
assert_eq 1 "$RC" "a backup onto the live database"
assert_match "$ERR" "is the live database" "what it said"
run_capture usage pimctl backup
assert_eq 2 "$RC" "pimctl backup without FILE"
if ((EUID == 0)); then
	unwritable=/sys/pimgate-backup-$$.db # sysfs: not even root writes
else
	mkdir -m 500 "$T/ro"
	unwritable=$T/ro/pimgate-backup.db
fi
run_capture unwritable pimctl backup "$unwritable"
assert_eq 1 "$RC" "a backup into an unwritable place"
assert_match "$ERR" "^pimctl: backup failed: cannot create a file in " \
	"what it said"
[[ ! -e "$unwritable" ]] || fail "$unwritable was left behind"
run_capture nodir pimctl backup "$T/no/such/dir/b.db"
assert_eq 1 "$RC" "a backup into a missing folder"
# A file size limit makes the writes fail part way through the copy;
# SIGXFSZ ignored, so they fail with EFBIG instead of killing pimctl.
mkdir "$T/cut"
run_capture cut bash -c 'trap "" XFSZ; exec prlimit --fsize=65536 "$@"' \
	_ "$PIMGATE_BIN/pimctl" -c "$CONF" backup "$T/cut/b.db"
assert_eq 1 "$RC" "a backup cut halfway (stderr: $ERR)"
assert_match "$ERR" "^pimctl: backup failed: " "what it said"
[[ -z "$(ls -A "$T/cut")" ]] || fail "left behind: $(ls -A "$T/cut")"
cp "$BACKUP" "$T/saved/forced.db"
run_capture forced pimctl backup "$T/saved/forced.db" --force
assert_eq 0 "$RC" "--force replaces the file (stderr: $ERR)"
[[ "$sum_before" != "$(sha256sum <"$T/saved/forced.db")" ]] ||
	fail "--force left the old copy in place"

log "the original, as pimctl lists it after the bastion stopped"
bg_wait "$live_pid"
stop_pid "$PIMGATED_PID"
forget_pid "$PIMGATED_PID"
PIMGATED_PID=""
listings() {
	local dir=$1
	mkdir -p "$dir"
	pimctl user list --json >"$dir/users.json"
	pimctl role list --json >"$dir/roles.json"
	pimctl target list --json >"$dir/targets.json"
	pimctl assignments --json >"$dir/assignments.json"
	pimctl activations --json >"$dir/activations.json"
	pimctl sessions --json >"$dir/sessions.json"
	pimctl audit --json >"$dir/audit.json"
	pimctl ca cert >"$dir/ca.pem"
}
listings "$T/orig"
ORIG_CONF=$CONF ORIG_STATE=$STATE ORIG_SSH_PORT=$SSH_PORT
ORIG_PG_PORT=$PG_GW_PORT ORIG_HTTP_PORT=$HTTP_PORT

log "restore the copy taken under load into a fresh state folder (README)"
mapfile -t ports < <(free_ports 3)
SSH_PORT=${ports[0]} PG_GW_PORT=${ports[1]} HTTP_PORT=${ports[2]}
CONF=$T/restored.conf
STATE=$T/restored/state
DB=$STATE/pimgate.db
sed -e "s|^state_dir = .*|state_dir = $STATE|" \
	-e "s|127.0.0.1:$ORIG_SSH_PORT\$|127.0.0.1:$SSH_PORT|" \
	-e "s|127.0.0.1:$ORIG_PG_PORT\$|127.0.0.1:$PG_GW_PORT|" \
	-e "s|127.0.0.1:$ORIG_HTTP_PORT\$|127.0.0.1:$HTTP_PORT|" \
	"$ORIG_CONF" >"$CONF"
grep -q "state_dir = $STATE" "$CONF" || fail "no state_dir in $CONF"
mkdir -p "$T/restored"
install -d -m 0700 "$STATE"
install -m 0600 "$BACKUP" "$DB"
for f in secret.key ca.key ssh_host_ed25519_key pg_server.key \
	audit_ed25519.key; do
	[[ -f "$ORIG_STATE/$f" ]] || continue
	install -m 0600 "$ORIG_STATE/$f" "$STATE/$f"
done
for f in ca.crt pg_server.crt ssh_host_ed25519_key.pub; do
	install -m 0644 "$ORIG_STATE/$f" "$STATE/$f"
done
install -d -m 0700 "$STATE/recordings"
run_capture check "$PIMGATE_BIN/pimgated" -t -c "$CONF"
assert_eq 0 "$RC" "pimgated -t on the restored state ($OUT $ERR)"

log "every user, role, assignment, activation, session, audit event"
listings "$T/rest"
python3 - "$T/orig" "$T/rest" "$head_id" "$head_hash" <<'PY' ||
import json, os, re, sys
orig, rest, head_id, head_hash = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def load(d, n):
    return json.load(open(os.path.join(d, n + ".json")))
for n in ("users", "targets", "assignments", "activations"):
    o, r = load(orig, n), load(rest, n)
    assert o and o == r, "%s differ:\n%s\n%s" % (n, o, r)
assert open(os.path.join(orig, "ca.pem")).read() == \
    open(os.path.join(rest, "ca.pem")).read(), "CA differs"
# Roles: the writer's roles form a prefix wr-1..wr-k (one snapshot);
# every other role is there as it was.
o = {r["name"]: r for r in load(orig, "roles")}
r = {x["name"]: x for x in load(rest, "roles")}
for name, role in r.items():
    assert o.get(name) == role, "role %s differs" % name
fixed = [n for n in o if not n.startswith("wr-")]
assert all(n in r for n in fixed), "roles missing: %s" % fixed
wr = sorted(int(n[3:]) for n in r if n.startswith("wr-"))
assert wr == list(range(1, len(wr) + 1)), "writer roles not a prefix: %s" % wr
assert len(wr) >= 2, wr
# Audit: the copy's trail is the original's up to the head the backup
# named, event for event, hash for hash.
oa, ra = load(orig, "audit"), load(rest, "audit")
assert ra and ra[-1]["id"] == head_id and ra[-1]["hash"] == head_hash, ra[-1]
assert oa[:len(ra)] == ra, "audit trail differs"
details = [e["detail"] for e in ra]
k = len(wr)
assert any(re.search(r"\bwr-%d\b" % k, d) for d in details), "no audit of wr-%d" % k
assert not any(re.search(r"\bwr-%d\b" % (k + 1), d) for d in details), \
    "audit of wr-%d without its role" % (k + 1)
# Sessions: those that had ended are the same; the one live at the copy
# is there, still live.
os_ = {s["id"]: s for s in load(orig, "sessions")}
rs = load(rest, "sessions")
assert len(rs) >= 3, rs
live = [s for s in rs if s["end"] is None]
assert len(live) == 1, live
for s in rs:
    if s["end"] is not None:
        assert os_[s["id"]] == s, "session %s differs" % s["id"]
print("restored: %d audit events, %d roles (%d from the writer), %d sessions"
      % (len(ra), len(r), k, len(rs)))
PY
	fail "the restored store differs from the original"
run_capture verify pimctl audit verify
assert_eq 0 "$RC" "audit verify on the restored store (stderr: $ERR)"
assert_match "$OUT" "audit trail intact: .*newest $head_id, hash $head_hash" \
	"what verify said"

log "a bastion on the restored state admits alice to host1"
live_sid=$(pimctl sessions --json | python3 -c '
import json, sys
print([s["id"] for s in json.load(sys.stdin) if s["end"] is None][0])')
start_pimgated
assert_eq shutdown "$(session_field "$live_sid" end_reason)" \
	"the session live at the copy, closed by the restored bastion"
ssh-keyscan -T 10 -t ed25519 -p "$SSH_PORT" 127.0.0.1 2>/dev/null |
	awk '{ print $2, $3 }' >"$T/restored-hostkey"
assert_eq "$(cut -d' ' -f1,2 "$ORIG_STATE/ssh_host_ed25519_key.pub")" \
	"$(cat "$T/restored-hostkey")" "the restored bastion's host key"
out=$(gw_ssh alice:host1 'echo restored-key') ||
	fail "key login on the restored bastion failed: $out"
assert_eq restored-key "$out" "a session on the restored bastion"
out=$(gw_ssh_password alice:host1 "$ALICE_PASSWORD" 'echo restored-pw') ||
	fail "password login on the restored bastion failed: $out"
assert_eq restored-pw "$out" "alice's password on the restored bastion"
out=$(gw_ssh_password bob:host1 "$BOB_PASSWORD" 'echo bob-active') ||
	fail "bob's login on the restored bastion failed: $out"
assert_eq bob-active "$out" "bob's active assignment on the restored bastion"
run_capture verify2 pimctl audit verify
assert_eq 0 "$RC" "audit verify after the restored bastion ran ($ERR)"
stop_all
