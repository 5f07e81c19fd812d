#!/usr/bin/env bash
# cmake --install into a DESTDIR: the programs, the example config and a
# systemd unit whose commands name them, with its sandboxing; the
# installed programs work (init, then a config check that passes); an
# edited config survives a second install; systemd-analyze verify
# accepts the unit where it is available.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cache_var() {
	sed -n "s/^$1:[A-Z]*=//p" "$PIMGATE_BIN/CMakeCache.txt"
}

ROOT=$T/root
PREFIX=$(cache_var CMAKE_INSTALL_PREFIX)
UNITDIR=$(cache_var PIMGATE_SYSTEMD_UNITDIR)
[[ "$UNITDIR" == /* ]] || UNITDIR=$PREFIX/$UNITDIR
[[ -n "$PREFIX" ]] || fail "no CMAKE_INSTALL_PREFIX in $PIMGATE_BIN"

log "cmake --install into $ROOT (prefix $PREFIX)"
run_capture install env DESTDIR="$ROOT" cmake --install "$PIMGATE_BIN"
assert_eq 0 "$RC" "cmake --install (stderr: $ERR)"

UNIT=$ROOT$UNITDIR/pimgated.service
[[ -f "$UNIT" ]] || fail "no unit at $UNIT; installed: $(find "$ROOT" -type f)"
[[ -x "$ROOT$PREFIX/sbin/pimctl" ]] || fail "pimctl not in $PREFIX/sbin"

log "the unit names the installed daemon and config"
exec_start=$(sed -n 's/^ExecStart=//p' "$UNIT")
read -r bin opt conf <<<"$exec_start"
assert_eq "$PREFIX/sbin/pimgated -c" "$bin $opt" "ExecStart"
[[ -x "$ROOT$bin" ]] || fail "ExecStart names $bin, not installed"
[[ -f "$ROOT$conf" ]] || fail "ExecStart's config $conf is not installed"
cmp -s "$ROOT$conf" "$PIMGATE_SRC/config/pimgate.conf" ||
	fail "the installed config is not config/pimgate.conf"
assert_eq 644 "$(stat -c %a "$ROOT$conf")" "the installed config's mode"
unit=$(<"$UNIT")
assert_contains "$unit" "ExecStartPre=$bin -t -c $conf" "the unit"
# shellcheck disable=SC2016 # $MAINPID is systemd's, not ours
assert_contains "$unit" 'ExecReload=/bin/kill -HUP $MAINPID' "the unit"
for directive in NoNewPrivileges=yes ProtectSystem=strict \
	ReadWritePaths=/var/lib/pimgate ProtectHome=yes PrivateTmp=yes \
	PrivateDevices=yes ProtectKernelTunables=yes ProtectKernelModules=yes \
	'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' \
	CapabilityBoundingSet= LimitNOFILE=; do
	assert_contains "$unit" "$directive" "the unit's sandboxing"
done

log "the installed programs work: init, then a check that passes"
STATE=$T/state
sed -e "s|^state_dir = .*|state_dir = $STATE|" \
	-e "s|^tls_cert = .*|tls_cert = $STATE/pg_server.crt|" \
	-e "s|^tls_key = .*|tls_key = $STATE/pg_server.key|" \
	"$ROOT$conf" >"$T/installed.conf"
"$ROOT$PREFIX/sbin/pimctl" -c "$T/installed.conf" init >/dev/null
run_capture check "$ROOT$bin" -t -c "$T/installed.conf"
assert_eq 0 "$RC" "the installed pimgated -t on the example (stderr: $ERR)"
assert_contains "$ERR" ": ok" "the installed pimgated -t"

log "a second install keeps an edited config"
echo '# edited by the admin' >>"$ROOT$conf"
run_capture install2 env DESTDIR="$ROOT" cmake --install "$PIMGATE_BIN"
assert_eq 0 "$RC" "the second cmake --install (stderr: $ERR)"
assert_file_contains "$ROOT$conf" '# edited by the admin'

if command -v systemd-analyze >/dev/null; then
	log "systemd-analyze verify"
	# Its commands must exist on this machine: point them at DESTDIR.
	sed "s|$PREFIX/sbin/|$ROOT$PREFIX/sbin/|g" "$UNIT" >"$T/pimgated.service"
	run_capture verify systemd-analyze verify "$T/pimgated.service"
	assert_eq 0 "$RC" "systemd-analyze verify (output: $OUT $ERR)"
	[[ -z "$ERR" ]] || fail "systemd-analyze verify says: $ERR"
else
	log "systemd-analyze is not installed: unit not verified"
fi
