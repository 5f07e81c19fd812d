#!/usr/bin/env bash
# The main job of pimgate, end to end, on this machine: a real OpenSSH
# server on 127.0.0.1 as the target, a user with an eligible role that
# she activates for 20 seconds, a recorded session through the bastion
# that is cut when the window closes, and the replay of its recording;
# then the same for a real PostgreSQL server through the TLS gateway
# with psql, a client certificate and the query log.
# Everything it starts is stopped by PID when it ends; PIMGATE_KEEP=1
# keeps its state folder.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() {
	printf '\n==> %s\n' "$*"
}

say "Installing missing Debian packages, then building into build/"
"$root/tools/install-deps.sh"
mkdir -p "$root/build"
"$root/tools/build.sh" >"$root/build/demo-build.log" 2>&1 || {
	tail -n 40 "$root/build/demo-build.log" >&2
	echo "demo: the build failed; full log in build/demo-build.log" >&2
	exit 1
}

export PIMGATE_SRC=$root PIMGATE_BIN=$root/build PIMGATE_ECHO=1
LIB_DONE_MESSAGE="demo finished; every process it started is stopped"
# shellcheck source-path=SCRIPTDIR source=../tests/integration/lib.sh
. "$root/tests/integration/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../tests/integration/lib_pg.sh
. "$root/tests/integration/lib_pg.sh"
GW_TIMEOUT=90
# Without OpenSSH's chatter (known-hosts notes); the bastion's own lines
# still show.
quiet=(-o LogLevel=ERROR)

say "Starting a real OpenSSH server on 127.0.0.1 as the target 'host1'"
start_sshd

say "Setting up the bastion in $T/state: user alice (password and key)," \
	"target host1 with its host key pinned, role ops granting host1"
pimgate_setup

say "Starting pimgated (SSH on 127.0.0.1:$SSH_PORT; log in $T/pimgated.log)"
start_pimgated

say "alice is eligible for ops; before activating it she is refused"
pimctl assign alice ops --eligible
gw_ssh alice:host1 "${quiet[@]}" true || true

say "alice activates ops for 20 seconds, stating why"
act=$(pimctl activate alice ops --for 20s \
	--reason "demo: check the scheduling host")
pimctl activations

say "alice connects: ssh -p $SSH_PORT alice:host1@127.0.0.1 (with a pty)." \
	"The session prints the time every second until the window closes."
# shellcheck disable=SC2016 # expanded by the target's shell
gw_ssh alice:host1 "${quiet[@]}" -tt \
	'while :; do date "+%T  $(hostname)"; uptime; sleep 1; done' ||
	true

say "The window of activation $act has closed; she is refused again"
gw_ssh alice:host1 "${quiet[@]}" true || true

say "The session as the bastion recorded it"
pimctl sessions
sid=$(PIMGATE_ECHO=0 newest_session_id)

say "Replaying the recording of session $sid at 4x speed"
pimctl replay "$sid" --speed 4

say "Starting a real PostgreSQL server on 127.0.0.1 as the database" \
	"target 'pgdb' (client records); role dba grants it"
start_postgres
add_pg_target pgdb
pimctl role add dba
pimctl role grant dba pgdb
pimctl assign alice dba --eligible

say "alice activates dba for 15 seconds and asks the bastion for a" \
	"client certificate over SSH: ssh alice@bastion db-cert pgdb < alice.csr"
pimctl activate alice dba --for 15s --reason "demo: review care plans"
make_csr alice alice-pg
gw_ssh alice "${quiet[@]}" db-cert pgdb <"$T/alice-pg.csr" >"$T/alice-pg.crt"
openssl x509 -in "$T/alice-pg.crt" -noout -subject -enddate

say "alice runs psql through the bastion (sslmode=verify-full, her" \
	"certificate). The query repeats every second until the window closes."
printf '%s\n' "SELECT now()::time(0) AS time, count(*) AS clients FROM clients" \
	'\watch 1' |
	gw_psql alice pgdb "$T/alice-pg.crt" "$T/alice-pg.key" \
		-v VERBOSITY=verbose || true

say "Refused again once the window has closed"
gw_psql alice pgdb "$T/alice-pg.crt" "$T/alice-pg.key" -c 'SELECT 1' || true

say "The database session and its query log (one JSON line per event)"
pimctl sessions
sid=$(PIMGATE_ECHO=0 newest_session_id)
head -n 2 "$STATE/recordings/$sid-1.jsonl"
echo "..."
say "The same query log, as pimctl replay prints it"
pimctl replay "$sid" | tail -n 5

say "What the security team sees: health, a few metrics, the audit" \
	"trail's check and today's access report"
curl -s "http://127.0.0.1:$HTTP_PORT/healthz"
echo
curl -s "http://127.0.0.1:$HTTP_PORT/metrics" |
	grep -E '^pimgate_(sessions_(live|ended_total)|session_kill_lag_seconds_count)' |
	grep -v ' 0$' || true
pimctl audit checkpoint
pimctl audit verify
today=$(date -u +%Y-%m-%d)
pimctl report access --from "${today}T00:00:00Z" --to "$(date -u -d tomorrow +%Y-%m-%d)T00:00:00Z" |
	sed -n 1,30p

