#!/usr/bin/env bash
# Every terminal session's recording is valid asciicast v2, plays with
# asciinema and with pimctl replay.
# The remote commands are in single quotes on purpose: the target's shell
# expands them, so a mark appears only in output, never in echoed input.
# shellcheck disable=SC2016
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# check_cast FILE: the asciicast v2 format, line by line.
check_cast() {
	python3 - "$1" <<'PY'
import json, re, sys

path = sys.argv[1]
def bad(why):
    sys.exit(f"{path}: {why}")

try:
    text = open(path, "rb").read().decode("utf-8")
except UnicodeDecodeError as e:
    bad(f"not UTF-8: {e}")
lines = text.split("\n")
if lines and lines[-1] == "":
    lines.pop()
if not lines:
    bad("empty")
try:
    head = json.loads(lines[0])
except ValueError as e:
    bad(f"header is not JSON: {e}")
if not isinstance(head, dict):
    bad("header is not an object")
if head.get("version") != 2:
    bad(f"version {head.get('version')!r}, want 2")
for key in ("width", "height", "timestamp"):
    v = head.get(key)
    if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
        bad(f"header {key} {v!r} is not a positive integer")
last = 0.0
outputs = 0
for n, line in enumerate(lines[1:], start=2):
    try:
        ev = json.loads(line)
    except ValueError as e:
        bad(f"line {n} is not JSON: {e}")
    if not (isinstance(ev, list) and len(ev) == 3):
        bad(f"line {n} is not [time, type, data]: {line[:80]}")
    t, kind, data = ev
    if not isinstance(t, (int, float)) or isinstance(t, bool) or t < 0:
        bad(f"line {n}: time {t!r}")
    if t < last:
        bad(f"line {n}: time {t} before {last}")
    last = t
    if kind not in ("o", "i", "r"):
        bad(f"line {n}: type {kind!r}")
    if not isinstance(data, str):
        bad(f"line {n}: data is not a string")
    try:
        data.encode("utf-8")
    except UnicodeEncodeError:
        bad(f"line {n}: data holds a lone surrogate")
    if kind == "r" and not re.fullmatch(r"[0-9]+x[0-9]+", data):
        bad(f"line {n}: resize {data!r}")
    outputs += kind == "o"
if outputs == 0:
    bad("no output events")
print(f"{len(lines) - 1} events, {outputs} output")
PY
}

# record NAME MARK GW-ARGS...: runs one session, then checks its
# recording: the format, owner-only mode, MARK in it, MARK in what
# asciinema and pimctl replay play.
last_sid=0
record() {
	local name=$1 mark=$2 sid rec info
	shift 2
	run_capture "$name" gw_ssh alice:host1 "$@"
	assert_eq 0 "$RC" "$name: exit status (stderr: $ERR)"
	sid=$(wait_new_session "$last_sid")
	last_sid=$sid
	wait_until session_ended "$sid" --timeout 10 ||
		fail "$name: session $sid has no end"
	rec=$(recording_path "$sid")
	[[ -n "$rec" && -f "$rec" ]] || fail "$name: no recording ('$rec')"
	info=$(check_cast "$rec" 2>&1) || fail "$name: session $sid: $info"
	log "$name: session $sid, $info"
	assert_eq 600 "$(stat -c %a "$rec")" "$name: recording mode"
	grep -aqF -- "$mark" "$rec" || fail "$name: $mark not in $rec"

	script -qec "asciinema cat $(printf %q "$rec")" /dev/null \
		>"$T/$name.cat" 2>&1 ||
		fail "$name: asciinema cat failed: $(tail -n 5 "$T/$name.cat")"
	grep -aqF -- "$mark" "$T/$name.cat" ||
		fail "$name: asciinema cat does not show $mark"

	pimctl replay "$sid" --speed 0 >"$T/$name.replay" ||
		fail "$name: pimctl replay $sid failed"
	grep -aqF -- "$mark" "$T/$name.replay" ||
		fail "$name: pimctl replay does not show $mark"
}

start_sshd
pimgate_setup
start_pimgated
grant_access 10m >/dev/null

# printf octal escapes on the target: é and ✓, split by the pty however.
record pty-exec PTY42REC -tt \
	'printf "caf\303\251 \342\234\223 PTY%sREC\n" $((6 * 7))'
record exec EXEC42REC 'echo "EXEC$((6 * 7))REC"'
record shell SHELL42REC -tt < <(printf 'echo SHELL$((6 * 7))REC\nexit\n')
record noise NOISE42REC -tt \
	'head -c 4096 /dev/urandom; echo; echo "NOISE$((6 * 7))REC"'
