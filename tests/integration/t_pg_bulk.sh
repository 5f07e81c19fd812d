#!/usr/bin/env bash
# Bulk data through the PostgreSQL gateway, byte for byte: a million rows
# of a SELECT, COPY TO STDOUT (text and binary) and COPY FROM STDIN of
# 200,000 lines, each compared with the same done straight to the server.
# The query log holds the statements, not the rows.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_pg.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_pg.sh"

start_postgres
pimgate_setup_pg
grant_pg_access 10m >/dev/null
make_client_cert alice pgdb
start_pimgated_pg

# same_bytes NAME WHAT: $T/NAME.gw and $T/NAME.direct must be equal and
# not empty.
same_bytes() {
	local name=$1 what=$2 gw direct
	gw=$(sha256sum <"$T/$name.gw" | cut -d' ' -f1)
	direct=$(sha256sum <"$T/$name.direct" | cut -d' ' -f1)
	[[ -s "$T/$name.direct" ]] || fail "$what: the direct run gave nothing"
	assert_eq "$(stat -c %s "$T/$name.direct")" \
		"$(stat -c %s "$T/$name.gw")" "$what: bytes through the bastion"
	assert_eq "$direct" "$gw" "$what: sha256 through the bastion"
	log "$what: $(stat -c %s "$T/$name.gw") bytes, equal"
}

# gw_to NAME PSQL-ARG...: psql through the bastion, stdout to $T/NAME.gw;
# direct_to NAME PSQL-ARG...: the same straight to the server.
gw_to() {
	local name=$1
	shift
	gw_psql alice pgdb "$CERT" "$KEY" "$@" >"$T/$name.gw" \
		2>"$T/$name.gw.err" ||
		fail "$name through the bastion exited $?:" \
			"$(cat "$T/$name.gw.err")"
}
direct_to() {
	local name=$1
	shift
	direct_psql "$@" >"$T/$name.direct" 2>"$T/$name.direct.err" ||
		fail "$name straight to the server exited $?:" \
			"$(cat "$T/$name.direct.err")"
}

log "a million rows"
rows="SELECT g, md5(g::text), repeat('x', g % 37),
	CASE WHEN g % 1000 = 0 THEN NULL ELSE 'café ' || g END
	FROM generate_series(1, 1000000) g"
gw_to select -At -c "$rows"
sid=$(wait_new_session 0)
direct_to select -At -c "$rows"
assert_eq 1000000 "$(wc -l <"$T/select.gw")" "rows through the bastion"
same_bytes select "SELECT of a million rows"

log "COPY TO STDOUT"
copy="COPY ($rows) TO STDOUT"
gw_to copyout -c "$copy"
direct_to copyout -c "$copy"
same_bytes copyout "COPY TO STDOUT"
gw_to copybin -c "$copy (FORMAT binary)"
direct_to copybin -c "$copy (FORMAT binary)"
same_bytes copybin "COPY TO STDOUT (FORMAT binary)"

log "COPY FROM STDIN, 200,000 lines"
direct_psql -q -c "CREATE TABLE bulk_in (id int, name text, note text)" ||
	fail "cannot create table bulk_in"
python3 - "$T/bulk.tsv" <<'PY'
import sys
with open(sys.argv[1], "w", encoding="utf-8", newline="\n") as f:
    for i in range(1, 200001):
        note = "\\N" if i % 997 == 0 else "visit %d: Grüße, tab\\there" % i
        f.write("%d\tclient %d\t%s\n" % (i, i, note))
PY
run_capture copyin gw_psql alice pgdb "$CERT" "$KEY" \
	-c "COPY bulk_in FROM STDIN" <"$T/bulk.tsv"
assert_eq 0 "$RC" "exit status of COPY FROM STDIN (stderr: $ERR)"
assert_eq "COPY 200000" "$OUT" "COPY FROM STDIN through the bastion"
direct_to copyin -c "COPY (SELECT * FROM bulk_in ORDER BY id) TO STDOUT"
cp "$T/bulk.tsv" "$T/copyin.gw"
same_bytes copyin "table filled through the bastion vs the file sent"
assert_eq 200000 "$(direct_psql -At -c "SELECT count(*) FROM bulk_in")" \
	"rows in bulk_in"

log "the query log holds the statements, not the rows"
wait_until session_ended "$sid" --timeout 10 ||
	fail "session $sid has no end after psql exited"
qlog=$(qlog_path "$sid")
qlog_check "$qlog" "any(e.get('type') == 'query' and
	'generate_series(1, 1000000)' in e.get('sql', '') for e in ev)" \
	"the SELECT"
qlog_check "$qlog" "any(e.get('type') == 'complete' and
	e.get('tag') == 'SELECT 1000000' for e in ev)" "its completion"
size=$(stat -c %s "$qlog")
((size < 65536)) || fail "query log $qlog is $size bytes: rows were logged?"
