#!/usr/bin/env bash
# pimgated -t: a good config passes; each kind of mistake (unknown key
# and section, bad value, bad listen address, missing file, unsafe
# permissions and owners of the state and of a key, unknown user,
# syslog facility, working hours) is named on a line of its own with a
# non-zero exit, several in one run.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

pimgate_setup_base
GOOD=$T/good.conf
cp "$CONF" "$GOOD"

# check FILE: runs pimgated -t on FILE; sets RC, OUT, ERR.
check() {
	run_capture check "$PIMGATE_BIN/pimgated" -t -c "$1"
}

# variant NAME: a copy of the good config to change, path printed.
variant() {
	cp "$GOOD" "$T/$1.conf"
	echo "$T/$1.conf"
}

# expect_problem FILE PATTERN WHAT: -t fails on FILE naming PATTERN.
expect_problem() {
	check "$1"
	assert_eq 1 "$RC" "exit status of pimgated -t ($3)"
	assert_match "$ERR" "$2" "pimgated -t on $3"
	[[ "$ERR" != *": ok"* ]] || fail "$3: -t also said ok: $ERR"
}

log "a good config passes"
check "$GOOD"
assert_eq 0 "$RC" "exit status of -t on a good config (stderr: $ERR)"
assert_contains "$ERR" "pimgated: $GOOD: ok" "-t on a good config"

log "unknown key, unknown section and a bad value, each on its own line"
f=$(variant parse)
python3 - "$f" <<'EOF'
import sys
path = sys.argv[1]
text = open(path).read()
text = text.replace("[ssh]\n", "[ssh]\nlisen = 1\n", 1)
text += "[nonsense]\na = 1\nb = 2\n[recording]\nmax_size = lots\n"
open(path, "w").write(text)
EOF
expect_problem "$f" 'parse.conf:[0-9]+: unknown key \[ssh\] lisen' \
	"an unknown key"
assert_match "$ERR" 'parse.conf:[0-9]+: unknown section \[nonsense\]' \
	"-t on an unknown section"
assert_match "$ERR" 'parse.conf:[0-9]+: \[recording\] max_size: expected' \
	"-t on a bad value"
assert_eq 3 "$(grep -c . <<<"$ERR")" "lines for three problems ($ERR)"
line=$(grep -n '^lisen' "$f" | cut -d: -f1)
assert_contains "$ERR" "parse.conf:$line: unknown key" "the line named"

log "listen addresses: a name, an address this machine lacks, a clash"
f=$(variant listen)
sed -i "s/^listen = 127.0.0.1:$SSH_PORT/listen = localhost:$SSH_PORT/" "$f"
# 192.0.2.1 (TEST-NET-1) is not on this machine: only a bind is tried.
sed -i "s/^listen = 127.0.0.1:$PG_GW_PORT/listen = 192.0.2.1:$PG_GW_PORT/" \
	"$f"
sed -i "s/^listen = 127.0.0.1:$HTTP_PORT/listen = 0.0.0.0:$SSH_PORT/" "$f"
expect_problem "$f" "\[ssh\] listen localhost:$SSH_PORT: not a numeric IP" \
	"a listen address by name"
assert_match "$ERR" "\[postgres\] listen 192.0.2.1:$PG_GW_PORT: no such address" \
	"-t on an address not on this machine"
assert_match "$ERR" "\[http\] listen 0.0.0.0:$SSH_PORT: the same port" \
	"-t on two listeners on one port"

log "a missing key file"
mv "$STATE/secret.key" "$T/secret.key.away"
expect_problem "$GOOD" "\[server\] secret_key $STATE/secret.key: no such file" \
	"a missing secret key"
mv "$T/secret.key.away" "$STATE/secret.key"

log "unsafe permissions: the state directory, a key, the database"
chmod 755 "$STATE"
expect_problem "$GOOD" "\[server\] state_dir $STATE: open to group or others" \
	"a state directory open to others"
chmod 700 "$STATE"
chmod 640 "$STATE/ca.key"
expect_problem "$GOOD" "\[server\] ca_key $STATE/ca.key: readable or writable by group" \
	"a key readable by the group"
chmod 600 "$STATE/ca.key"
chmod 644 "$STATE/pimgate.db"
expect_problem "$GOOD" "\[server\] database $STATE/pimgate.db: open to group" \
	"a database readable by others"
chmod 600 "$STATE/pimgate.db"

log "a state directory owned by someone else"
chown 65534 "$STATE"
expect_problem "$GOOD" "\[server\] state_dir $STATE: owned by uid 65534, not by the user pimgated runs as" \
	"a state directory of another user"
chown 0 "$STATE"

log "a config file others may change"
chmod 666 "$GOOD"
expect_problem "$GOOD" "writable by group or others" "a world-writable config"
chmod 644 "$GOOD"

log "key files that are there but do not load"
cp "$STATE/secret.key" "$T/secret.key.good"
head -c 10 "$T/secret.key.good" >"$STATE/secret.key"
expect_problem "$GOOD" "\[server\] secret_key $STATE/secret.key: not a key" \
	"a cut secret key"
cp "$T/secret.key.good" "$STATE/secret.key"
cp "$STATE/audit_ed25519.key" "$T/audit.key.good"
echo garbage >"$STATE/audit_ed25519.key"
expect_problem "$GOOD" "\[audit\] signing_key: no PEM key" "a garbage audit key"
cp "$T/audit.key.good" "$STATE/audit_ed25519.key"
check "$GOOD"
assert_eq 0 "$RC" "-t with the keys put back (stderr: $ERR)"

log "a key set twice, and a line too long for the parser"
f=$(variant twice)
printf '[server]\nlog_level = debug\n' >>"$f"
expect_problem "$f" 'twice.conf:[0-9]+: \[server\] log_level is set twice' \
	"a key set twice"
f=$(variant long)
python3 - "$f" <<'EOF'
import sys
path = sys.argv[1]
text = open(path).read()
# The tail would be read as a key of its own if the line were cut.
names = "localhost," + "a" * (198 - len("server_names = localhost,"))
text += "[postgres]\nserver_names = " + names + "password_auth = yes\n"
open(path, "w").write(text)
EOF
expect_problem "$f" 'long.conf:[0-9]+: line longer than [0-9]+ characters' \
	"a line cut by the parser"

log "lines the parser would misread: an inline ';', an indent, a NUL byte"
f=$(variant semi)
printf '[notify]\ncommand = cat >/dev/null ; touch %s/pwned\n' "$T" >>"$f"
expect_problem "$f" 'semi.conf:[0-9]+: line has " ;"' "an inline comment"
f=$(variant indent)
printf '[server]\n  log_level = debug\n' >>"$f"
expect_problem "$f" 'indent.conf:[0-9]+: line starts with a space' \
	"an indented line"
f=$(variant nul)
printf '[recording]\ninput = false\0true\n' >>"$f"
expect_problem "$f" 'nul.conf:[0-9]+: line holds a NUL byte' "a NUL byte"

log "pimctl and a starting pimgated refuse a world-writable config too"
f=$(variant open)
chmod 666 "$f"
run_capture pimctl_open "$PIMGATE_BIN/pimctl" -c "$f" user list
assert_eq 1 "$RC" "pimctl on a world-writable config"
assert_contains "$ERR" "writable by group or others" "pimctl's reason"
run_capture start_open timeout 20 "$PIMGATE_BIN/pimgated" -c "$f"
assert_eq 1 "$RC" "pimgated on a world-writable config"
assert_contains "$ERR" "writable by group or others" "pimgated's reason"

log "an unknown [server] user"
f=$(variant user)
sed -i 's/^\[server\]$/[server]\nuser = pimgate-no-such-user/' "$f"
expect_problem "$f" '\[server\] user pimgate-no-such-user: no such user' \
	"an unknown user"

log "an unknown syslog facility, working hours that are no hours"
f=$(variant values)
printf '[syslog]\nfacility = kernel\n[report]\nworking_hours = 19:00-07:00\n' \
	>>"$f"
expect_problem "$f" '\[syslog\] facility kernel' "an unknown facility"
assert_match "$ERR" 'working_hours' "-t on bad working hours"

log "pimgated refuses to start on a facility -t rejects"
f=$(variant facility)
printf '[syslog]\nfacility = kernel\n' >>"$f"
run_capture start timeout 20 "$PIMGATE_BIN/pimgated" -c "$f"
((RC == 1)) || fail "pimgated started with a bad facility (status $RC)"
assert_match "$ERR" 'facility kernel' "pimgated's reason"

log "every problem is gone again: ok"
check "$GOOD"
assert_eq 0 "$RC" "exit status after the fixes (stderr: $ERR)"
