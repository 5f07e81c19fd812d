# shellcheck shell=bash
# PostgreSQL helpers for the integration tests (tests/integration/t_pg_*.sh),
# sourced after lib.sh. A test typically runs:
#   start_postgres [--tls]   # the target: a real PostgreSQL server
#   pimgate_setup_pg         # config, init, alice, target pgdb, role dba
#   grant_pg_access 10m      # alice eligible for dba, activated
#   make_client_cert alice pgdb       # sets CERT and KEY
#   start_pimgated_pg        # the bastion, waited for on its pg port
#   gw_psql alice pgdb "$CERT" "$KEY" -At -c 'SELECT 1'
#
# The server runs as the postgres user (PostgreSQL refuses root), from
# $T/pg, on a free port of 127.0.0.1 (PGSRV_PORT) with its socket in
# $T/pg/sock. Host connections authenticate with SCRAM-SHA-256 (role
# $PG_LOGIN), or md5 (role $PG_MD5_LOGIN, whose password is stored as an
# md5 hash); the socket trusts everyone, for the test's own set-up.

PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
PG_DB=records
PG_LOGIN=care
PG_PASSWORD='care-Pw-upstream-7f3a'
PG_MD5_LOGIN=caremd5
PG_MD5_PASSWORD='caremd5-Pw-upstream-91c2'
PG_PLAIN_LOGIN=careplain
PG_PLAIN_PASSWORD='careplain-Pw-upstream-5d0e'
PGSRV_PID=""
PGSRV_PORT=""

# No configuration from the environment or the home folder reaches the
# clients: every connection names what it uses.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGPASSWORD PGSSLMODE \
	PGSSLCERT PGSSLKEY PGSSLROOTCERT PGSERVICE PGOPTIONS PGDATA
export PGPASSFILE=$T/no-pgpass PGSERVICEFILE=$T/no-pg_service.conf \
	PGSYSCONFDIR=$T
export PGCONNECT_TIMEOUT=10 PGAPPNAME=$TEST_NAME PGCLIENTENCODING=UTF8

# --------------------------------------------------------- the server

# as_postgres CMD...: runs CMD as the postgres user, from $PGDIR.
as_postgres() {
	(cd "$PGDIR" && exec setpriv --reuid=postgres --regid=postgres \
		--init-groups -- "$@")
}

# make_upstream_certs: a CA of the test's own ($PG_UPSTREAM_CA) and a
# server certificate it signs for 127.0.0.1 and localhost, key and
# certificate in $PGDIR for the server.
# shellcheck disable=SC2034 # PG_UPSTREAM_CA is for the caller
make_upstream_certs() {
	local ca=$T/upstream-ca
	PG_UPSTREAM_CA=$ca.crt
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-nodes -keyout "$ca.key" -out "$ca.crt" -days 2 \
		-subj "/CN=pimgate test upstream CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		2>>"$T/openssl.log" || fail "openssl: no upstream CA"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$PGDIR/server.key" -out "$T/upstream-server.csr" \
		-subj "/CN=127.0.0.1" 2>>"$T/openssl.log" ||
		fail "openssl: no upstream server key"
	cat >"$T/upstream-server.ext" <<'EOF'
subjectAltName = IP:127.0.0.1, DNS:localhost
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
EOF
	openssl x509 -req -in "$T/upstream-server.csr" -CA "$ca.crt" \
		-CAkey "$ca.key" -set_serial "0x$(openssl rand -hex 12)" \
		-days 2 -extfile "$T/upstream-server.ext" \
		-out "$PGDIR/server.crt" 2>>"$T/openssl.log" ||
		fail "openssl: no upstream server certificate"
}

write_pg_hba() {
	cat >"$PGDATA_DIR/pg_hba.conf" <<EOF
# The test's own set-up, through the socket in its folder.
local all all trust
# The md5 role: its password is stored as an md5 hash.
host all $PG_MD5_LOGIN 127.0.0.1/32 md5
# A role asked for its password in clear text (pimgate must refuse to
# send it without TLS).
host all $PG_PLAIN_LOGIN 127.0.0.1/32 password
host all all 127.0.0.1/32 scram-sha-256
EOF
	chown postgres:postgres "$PGDATA_DIR/pg_hba.conf"
}

# start_postgres [--tls]: initdb and a running server; with --tls the
# server also speaks TLS with a certificate from $PG_UPSTREAM_CA. Then
# creates the roles, the database $PG_DB and its table clients. Sets
# PGSRV_PORT and PGSRV_PID.
# shellcheck disable=SC2120 # --tls is optional
start_postgres() {
	local tls=0
	[[ "${1:-}" != --tls ]] || tls=1
	[[ -x "$PG_BINDIR/postgres" ]] ||
		fail "no PostgreSQL server in $PG_BINDIR" \
			"(tools/install-deps.sh)"
	command -v psql >/dev/null || fail "no psql (tools/install-deps.sh)"
	PGDIR=$T/pg
	PGDATA_DIR=$PGDIR/data
	PGSOCK=$PGDIR/sock
	# The postgres user must be able to enter the test's folder.
	chmod 711 "$T"
	mkdir -p "$PGSOCK"
	# initdb --pwfile needs a real file its user can read.
	(umask 077 && openssl rand -hex 24 >"$PGDIR/pwfile")
	((tls == 0)) || make_upstream_certs
	chown -R postgres:postgres "$PGDIR"
	chmod 700 "$PGDIR"
	as_postgres "$PG_BINDIR/initdb" -D "$PGDATA_DIR" -U postgres \
		--pwfile="$PGDIR/pwfile" --auth-local=trust \
		--auth-host=scram-sha-256 --no-sync --no-locale -E UTF8 \
		>"$T/initdb.log" 2>&1 ||
		fail "initdb failed: $(tail -n 5 "$T/initdb.log")"
	write_pg_hba
	launch_postgres "$tls"
	create_pg_data
}

# launch_postgres TLS: the server on a free port, up to three tries.
launch_postgres() {
	local tls=$1 n opts
	for ((n = 1; n <= 3; n++)); do
		PGSRV_PORT=$(free_port)
		opts=(-c listen_addresses=127.0.0.1 -c "port=$PGSRV_PORT"
			-c "unix_socket_directories=$PGSOCK"
			-c fsync=off -c synchronous_commit=off
			-c full_page_writes=off -c max_connections=40
			-c log_connections=on)
		((tls == 0)) || opts+=(-c ssl=on
			-c "ssl_cert_file=$PGDIR/server.crt"
			-c "ssl_key_file=$PGDIR/server.key")
		# One fork, then exec: $! is the postmaster itself.
		(cd "$PGDIR" && exec setpriv --reuid=postgres \
			--regid=postgres --init-groups -- \
			"$PG_BINDIR/postgres" -D "$PGDATA_DIR" "${opts[@]}") \
			>>"$T/postgres.log" 2>&1 &
		PGSRV_PID=$!
		STARTED_PIDS+=("$PGSRV_PID")
		# SIGINT is the fast shutdown: SIGTERM would wait for clients.
		# shellcheck disable=SC2034 # read by stop_pid (lib.sh)
		STOP_SIGNALS["$PGSRV_PID"]=INT
		if postgres_wait_ready; then
			log "postgres pid $PGSRV_PID on 127.0.0.1:$PGSRV_PORT" \
				"(tls $tls)"
			return 0
		fi
		forget_pid "$PGSRV_PID"
		wait "$PGSRV_PID" 2>/dev/null || true
		log "postgres on port $PGSRV_PORT did not start (try $n)"
	done
	fail "postgres did not start"
}

# postgres_wait_ready: until the server accepts connections (30 s), as
# long as it runs.
postgres_wait_ready() {
	local deadline
	deadline=$(deadline_in 30)
	while ! pg_isready -q -h 127.0.0.1 -p "$PGSRV_PORT" -t 1; do
		pid_alive "$PGSRV_PID" || return 1
		before "$deadline" ||
			fail "postgres: not ready on $PGSRV_PORT after 30 s"
		sleep 0.1
	done
}

# pg_super [PSQL-ARG...]: psql as the superuser through the socket;
# database postgres unless -d says otherwise.
# shellcheck disable=SC2120 # arguments are optional
pg_super() {
	psql -X -w -q -v ON_ERROR_STOP=1 -h "$PGSOCK" -p "$PGSRV_PORT" \
		-U postgres -d postgres "$@"
}

# The sample client records: id|name|care_plan as psql -At prints them.
PG_SAMPLE_ROWS='1|Ada Brennan|mobility exercises, medication at 08:00
2|Björn Okafor|wound care twice a week
3|Chiara Lindqvist|insulin check before meals
4|Dmitri Soto|physiotherapy, fall-risk review
5|Eun-ji Moreau|evening visit, blood pressure log'

create_pg_data() {
	local pw
	for pw in "$PG_PASSWORD" "$PG_MD5_PASSWORD" "$PG_PLAIN_PASSWORD"; do
		secret_add password "$pw" "PostgreSQL login (lib_pg.sh)"
	done
	pg_super >/dev/null <<EOF || fail "could not create the roles"
SET password_encryption = 'scram-sha-256';
CREATE ROLE $PG_LOGIN LOGIN PASSWORD '$PG_PASSWORD';
SET password_encryption = 'md5';
CREATE ROLE $PG_MD5_LOGIN LOGIN PASSWORD '$PG_MD5_PASSWORD';
SET password_encryption = 'scram-sha-256';
CREATE ROLE $PG_PLAIN_LOGIN LOGIN PASSWORD '$PG_PLAIN_PASSWORD';
CREATE DATABASE $PG_DB OWNER $PG_LOGIN;
EOF
	{
		echo "CREATE TABLE clients (id int PRIMARY KEY,"
		echo " name text NOT NULL, care_plan text NOT NULL);"
		local row="INSERT INTO clients VALUES (%s, '%s', '%s');\n"
		while IFS='|' read -r id name plan; do
			# shellcheck disable=SC2059 # the format is ROW
			printf "$row" "$id" "$name" "$plan"
		done <<<"$PG_SAMPLE_ROWS"
		echo "GRANT SELECT ON clients TO $PG_MD5_LOGIN;"
	} | psql -X -w -q -v ON_ERROR_STOP=1 -h "$PGSOCK" -p "$PGSRV_PORT" \
		-U "$PG_LOGIN" -d "$PG_DB" >/dev/null ||
		fail "could not create the table clients"
}

# direct_psql [PSQL-ARG...]: straight to the server as $PG_LOGIN over
# TCP with its password, as the bastion would connect.
direct_psql() {
	local ci="host=127.0.0.1 port=$PGSRV_PORT user=$PG_LOGIN"
	ci+=" dbname=$PG_DB sslmode=disable"
	PGPASSWORD=$PG_PASSWORD timeout --foreground -k 5 "$GW_TIMEOUT" \
		psql -X -w -v ON_ERROR_STOP=1 -d "$ci" "$@"
}

# ------------------------------------------------------------- pimgate

# pimgate_setup_pg: pimgate_setup_base, then target pgdb (the server,
# login $PG_LOGIN, database $PG_DB) and role dba granting it. No
# assignment yet.
pimgate_setup_pg() {
	[[ -n "$PGSRV_PORT" ]] || fail "pimgate_setup_pg needs start_postgres"
	pimgate_setup_base
	add_pg_target pgdb
	pimctl role add dba
	pimctl role grant dba pgdb
}

# add_pg_target NAME [LOGIN PASSWORD] [TARGET-ADD-OPTION...]: a postgres
# target on the test server, database $PG_DB.
add_pg_target() {
	local name=$1 login=$PG_LOGIN password=$PG_PASSWORD
	shift
	if (($# >= 2)) && [[ "$1" != --* ]]; then
		login=$1 password=$2
		shift 2
	fi
	printf '%s\n' "$password" |
		pimctl target add "$name" --postgres "127.0.0.1:$PGSRV_PORT" \
			--login "$login" --password-stdin --database "$PG_DB" \
			"$@" || fail "pimctl target add $name failed"
}

# grant_pg_access [DURATION] [ROLE]: alice eligible for ROLE (dba),
# activated for DURATION (10m); prints the activation id.
grant_pg_access() {
	local role=${2:-dba}
	pimctl assign alice "$role" --eligible >&2
	pimctl activate alice "$role" --for "${1:-10m}" --reason "$TEST_NAME"
}

# start_pimgated_pg: start_pimgated, then waits for the PostgreSQL port.
start_pimgated_pg() {
	start_pimgated
	wait_for_port "$PG_GW_PORT" "$PIMGATED_PID" "pimgated postgres" 30 ||
		fail "pimgated exited before listening on $PG_GW_PORT"
	log "pimgated listens for PostgreSQL on 127.0.0.1:$PG_GW_PORT"
}

# make_client_cert USER TARGET [NAME]: a new EC P-256 key and request
# (CN=USER), signed by `pimctl cert issue`. Sets CERT and KEY
# ($T/NAME.crt, $T/NAME.key, NAME defaults to USER-TARGET).
# shellcheck disable=SC2034 # CERT and KEY are for the caller
make_client_cert() {
	local user=$1 target=$2 name=${3:-$1-$2}
	CERT=$T/$name.crt
	KEY=$T/$name.key
	make_csr "$user" "$name"
	run_capture "cert-$name" pimctl cert issue "$user" "$target" \
		--csr "$T/$name.csr"
	((RC == 0)) ||
		fail "pimctl cert issue $user $target exited $RC: $ERR"
	pem_certificate <"$T/cert-$name.out" >"$CERT"
	[[ -s "$CERT" ]] ||
		fail "pimctl cert issue $user $target printed no certificate:" \
			"$OUT"
	openssl x509 -in "$CERT" -noout 2>>"$T/openssl.log" ||
		fail "pimctl cert issue $user $target: not a certificate: $OUT"
}

# make_csr USER NAME: $T/NAME.key (0600, libpq refuses others) and
# $T/NAME.csr for CN=USER.
make_csr() {
	local user=$1 name=$2
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$name.key" -out "$T/$name.csr" -subj "/CN=$user" \
		2>>"$T/openssl.log" || fail "openssl: no request for $name"
	chmod 600 "$T/$name.key"
	secret_add_keyfile "$T/$name.key" "client key $name"
}

# pem_certificate < TEXT: the first PEM certificate block of TEXT.
pem_certificate() {
	sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' |
		awk '{ print } /-----END CERTIFICATE-----/ { exit }'
}

# gw_conninfo USER TARGET CERT KEY [SSLMODE]: the libpq connection string
# to the bastion, checking its certificate against the bastion's CA.
gw_conninfo() {
	local sslmode=${5:-verify-full}
	printf "host=127.0.0.1 port=%s user=%s dbname=%s sslmode=%s" \
		"$PG_GW_PORT" "$1" "$2" "$sslmode"
	printf " sslrootcert='%s' sslcert='%s' sslkey='%s'" \
		"$STATE/ca.crt" "$3" "$4"
}

# gw_psql_argv CONNINFO [PSQL-ARG...]: sets GW_ARGV to psql with that
# connection string, bounded by GW_TIMEOUT seconds.
gw_psql_argv() {
	local conninfo=$1
	shift
	GW_ARGV=(timeout --foreground -k 5 "$GW_TIMEOUT"
		psql -X -w -v ON_ERROR_STOP=1 -d "$conninfo" "$@")
}

# gw_psql USER TARGET CERT KEY [PSQL-ARG...]: psql through the bastion.
gw_psql() {
	local conninfo
	conninfo=$(gw_conninfo "$1" "$2" "$3" "$4")
	shift 4
	gw_psql_argv "$conninfo" "$@"
	"${GW_ARGV[@]}"
}

# gw_psql_ci CONNINFO [PSQL-ARG...]: the same with a connection string of
# the caller's (gw_conninfo ... disable: no TLS at all).
gw_psql_ci() {
	gw_psql_argv "$@"
	"${GW_ARGV[@]}"
}

# gw_psql_bg NAME USER TARGET CERT KEY [PSQL-ARG...]: gw_psql in the
# background, output to $T/NAME.out and $T/NAME.err; sets BG_PID (the
# timeout process around psql).
gw_psql_bg() {
	local name=$1 conninfo
	conninfo=$(gw_conninfo "$2" "$3" "$4" "$5")
	shift 5
	gw_psql_argv "$conninfo" "$@"
	"${GW_ARGV[@]}" >"$T/$name.out" 2>"$T/$name.err" &
	BG_PID=$!
	STARTED_PIDS+=("$BG_PID")
}

# gw_pg_env USER TARGET CERT KEY: the same connection as libpq variables
# (for pgbench), into the array GW_PG_ENV for `env`.
# shellcheck disable=SC2034 # GW_PG_ENV is for the caller
gw_pg_env() {
	GW_PG_ENV=(PGHOST=127.0.0.1 "PGPORT=$PG_GW_PORT" "PGUSER=$1"
		"PGDATABASE=$2" PGSSLMODE=verify-full
		"PGSSLROOTCERT=$STATE/ca.crt" "PGSSLCERT=$3" "PGSSLKEY=$4")
}

# pg_probe USER TARGET CERT KEY [--plain]: one raw protocol start-up
# through the bastion (TLS with CERT and KEY if CERT exists, or --plain:
# no TLS), printing
# what it answered: "error SEVERITY SQLSTATE MESSAGE", "auth N" (it
# asked for a password), "ready" (admitted) or "closed" / "tls-failed
# REASON". For the exact SQLSTATE, which psql does not show for a refused
# connection.
pg_probe() {
	python3 - "$PG_GW_PORT" "$STATE/ca.crt" "$@" <<'PY'
import os, socket, ssl, struct, sys

port, ca, user, db, cert, key = sys.argv[1:7]
plain = "--plain" in sys.argv[7:]
s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
if not plain:
    s.sendall(struct.pack("!II", 8, 80877103))
    if s.recv(1) != b"S":
        print("no-tls")
        sys.exit(0)
    ctx = ssl.create_default_context(cafile=ca)
    if os.path.exists(cert):
        ctx.load_cert_chain(cert, key)
    try:
        s = ctx.wrap_socket(s, server_hostname="127.0.0.1")
    except (ssl.SSLError, OSError) as e:
        print("tls-failed", e)
        sys.exit(0)
body = struct.pack("!I", 196608)
for k, v in (("user", user), ("database", db)):
    body += k.encode() + b"\0" + v.encode() + b"\0"
body += b"\0"
s.sendall(struct.pack("!I", len(body) + 4) + body)

def read(n):
    buf = b""
    while len(buf) < n:
        try:
            chunk = s.recv(n - len(buf))
        except (ssl.SSLError, OSError):
            chunk = b""
        if not chunk:
            print("closed")
            sys.exit(0)
        buf += chunk
    return buf

while True:
    kind = read(1)
    (length,) = struct.unpack("!I", read(4))
    data = read(length - 4)
    if kind == b"E":
        f = {}
        for part in data.split(b"\0"):
            if part:
                f[chr(part[0])] = part[1:].decode("utf-8", "replace")
        print("error", f.get("S", "?"), f.get("C", "?"), f.get("M", ""))
        sys.exit(0)
    if kind == b"R":
        (code,) = struct.unpack("!I", data[:4])
        if code != 0:
            print("auth", code)
            sys.exit(0)
    if kind == b"Z":
        print("ready")
        s.sendall(b"X" + struct.pack("!I", 4))
        sys.exit(0)
PY
}

# ------------------------------------------------------------ query logs

# qlog_path SESSION: the query log of SESSION (its recording), waiting
# up to 5 s for the session to name one.
qlog_path() {
	local sid=$1 path=""
	wait_until qlog_named "$sid" --timeout 5 ||
		fail "session $sid names no query log"
	path=$(recording_path "$sid")
	[[ -f "$path" ]] || fail "session $sid: no file $path"
	echo "$path"
}

qlog_named() { [[ -n "$(recording_path "$1" 2>/dev/null)" ]]; }

# qlog_check FILE EXPR WHAT: every line of FILE must be a JSON object,
# the first the header; then the Python expression EXPR, over `head`
# (the first line) and `ev` (the rest, a list of dicts), must be true.
qlog_check() {
	local file=$1 expr=$2 what=$3 out
	out=$(python3 - "$file" "$expr" <<'PY' 2>&1
import json, sys
path, expr = sys.argv[1:3]
rows = []
with open(path, encoding="utf-8") as f:
    for n, line in enumerate(f, 1):
        try:
            row = json.loads(line)
        except ValueError as e:
            print("line %d is not JSON (%s): %r" % (n, e, line[:200]))
            sys.exit(1)
        if not isinstance(row, dict):
            print("line %d is not an object" % n)
            sys.exit(1)
        rows.append(row)
if not rows:
    print("the file is empty")
    sys.exit(1)
head, ev = rows[0], rows[1:]
if not eval("(" + expr + "\n)", {"head": head, "ev": ev}):
    print("false: " + expr)
    sys.exit(1)
PY
	) || fail "query log $file: $what: $out"$'\n'"$(head -c 3000 "$file")"
}

# ---------------------------------------------------------------- audit

# pg_audit_refusal MARK NEEDLE...: an audit entry newer than MARK whose
# event is admit or login, whose outcome is not ok and whose detail holds
# every NEEDLE.
pg_audit_refusal() {
	local mark=$1 where="" n
	shift
	for n in "$@"; do
		where+=" and instr(detail, '${n//\'/\'\'}') > 0"
	done
	[[ -n "$(sql "select id from audit where id > $mark
		and event in ('admit', 'login') and outcome <> 'ok' $where")" ]]
}
