#!/usr/bin/env bash
# PostgreSQL gateway benchmark: pgbench and a large result through the
# bastion against the same straight to the server, both on loopback, and
# what pimgated spent (CPU seconds, peak resident memory).
#
#   bench/pg.sh [SECONDS] [CLIENTS]      (defaults: 10 s, 4 clients)
#
# Needs a build in build/ (tools/build.sh) or PIMGATE_BIN. Prints one
# key=value line per figure. Not part of the test suite.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export PIMGATE_SRC=${PIMGATE_SRC:-$(dirname "$here")}
export PIMGATE_BIN=${PIMGATE_BIN:-$PIMGATE_SRC/build}
SECS=${1:-10}
CLIENTS=${2:-4}
ROWS=${ROWS:-1000000}
# shellcheck source=../tests/integration/lib.sh
. "$PIMGATE_SRC/tests/integration/lib.sh"
# shellcheck source=../tests/integration/lib_pg.sh
. "$PIMGATE_SRC/tests/integration/lib_pg.sh"
GW_TIMEOUT=600

start_postgres
pimgate_setup_pg
sed -i 's/^log_level = debug/log_level = info/' "$CONF"
grant_pg_access 1h >/dev/null
make_client_cert alice pgdb
start_pimgated_pg

direct_env=(PGHOST=127.0.0.1 "PGPORT=$PGSRV_PORT" "PGUSER=$PG_LOGIN"
	"PGDATABASE=$PG_DB" "PGPASSWORD=$PG_PASSWORD" PGSSLMODE=disable)
gw_pg_env alice pgdb "$CERT" "$KEY"
env "${direct_env[@]}" pgbench -i -q -s 10 >/dev/null 2>&1 ||
	fail "pgbench -i failed"

cpu_of() {
	awk '{ print ($14 + $15) / 100 }' "/proc/$PIMGATED_PID/stat"
}

# pgbench_tps MODE ENV...: select-only pgbench for SECS; prints tps.
pgbench_tps() {
	local mode=$1
	shift
	env "$@" pgbench -n -S -M "$mode" -T "$SECS" -c "$CLIENTS" \
		-j "$CLIENTS" 2>&1 | awk '/^tps/ { print $3 }'
}

# rows_seconds ENV...: seconds to read ROWS rows of 40 bytes.
rows_seconds() {
	local t0 t1
	t0=$(now)
	env "$@" psql -X -At -c \
		"SELECT g, md5(g::text) FROM generate_series(1, $ROWS) g" |
		wc -c >"$T/rows.out"
	t1=$(now)
	elapsed "$t0" "$t1"
}

cpu0=$(cpu_of)
d_simple=$(pgbench_tps simple "${direct_env[@]}")
g_simple=$(pgbench_tps simple "${GW_PG_ENV[@]}")
d_ext=$(pgbench_tps extended "${direct_env[@]}")
g_ext=$(pgbench_tps extended "${GW_PG_ENV[@]}")
d_rows=$(rows_seconds "${direct_env[@]}")
g_rows=$(rows_seconds "${GW_PG_ENV[@]}")
cpu1=$(cpu_of)
rss=$(awk '/VmHWM/ { print $2 }' "/proc/$PIMGATED_PID/status")

ratio() { python3 -c "print(round($1 / $2, 2))"; }
echo "seconds=$SECS clients=$CLIENTS rows=$ROWS"
echo "pgbench_select_simple_tps direct=$d_simple bastion=$g_simple ratio=$(ratio "$g_simple" "$d_simple")"
echo "pgbench_select_extended_tps direct=$d_ext bastion=$g_ext ratio=$(ratio "$g_ext" "$d_ext")"
echo "large_result_seconds direct=$d_rows bastion=$g_rows ratio=$(ratio "$d_rows" "$g_rows")"
echo "bastion_cpu_seconds=$(python3 -c "print(round($cpu1 - $cpu0, 2))")"
echo "bastion_peak_rss_kib=$rss"
