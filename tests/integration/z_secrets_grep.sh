#!/usr/bin/env bash
# The whole run's secrets check (issue 5, "Logs"): no secret a test used
# may appear in anything the product wrote during the run. ctest runs this
# last (a FIXTURES_CLEANUP of every integration test, so also when some of
# them failed). lib_secrets.sh explains what each test registers and
# keeps; this script searches every kept artifact of every test for every
# registered secret, in the forms it was given and as hex and base64.
#
# It fails, naming the secret's kind and label, the test that registered
# it and the file (and line) where it was found, never the secret itself.
# It also fails when nothing was registered or nothing was kept, so it
# cannot pass for want of material, and it first checks itself on a
# planted secret.
#
# Environment: PIMGATE_BIN (the build folder), PIMGATE_ARTIFACTS (default
# $PIMGATE_BIN/test-artifacts).
set -euo pipefail

PIMGATE_SRC=${PIMGATE_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PIMGATE_BIN=${PIMGATE_BIN:-$PIMGATE_SRC/build}
ROOT=${PIMGATE_ARTIFACTS:-$PIMGATE_BIN/test-artifacts}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pimgate-secrets-grep.XXXXXX")
chmod 700 "$WORK"
trap 'rm -rf "$WORK"' EXIT

# scan ROOT: prints one line per leak, exits 0 if none, 1 if some, 2 if
# there was nothing to check.
scan() {
	python3 - "$1" "$WORK" <<'PY'
import base64, binascii, os, re, subprocess, sys

root, work = sys.argv[1:3]
sdir = os.path.join(root, "secrets")
MIN_LEN = 8  # shorter values would match by chance

def forms(kind, value):
    """(form, needle bytes) for a registered value."""
    raw = value.encode("utf-8", "surrogateescape")
    out = [("as given", raw)]
    if kind == "password":
        out.append(("hex", raw.hex().encode()))
        b = base64.b64encode(raw).rstrip(b"=")
        out.append(("base64", b[:-1] if len(raw) % 3 else b))
    elif kind == "totp-secret":
        out.append(("lower case", raw.lower()))
        s = value.upper().rstrip("=")
        try:
            key = base64.b32decode(s + "=" * (-len(s) % 8))
        except (binascii.Error, ValueError):
            key = b""
        if key:
            out.append(("hex", key.hex().encode()))
            out.append(("HEX", key.hex().upper().encode()))
            b = base64.b64encode(key).rstrip(b"=")
            out.append(("base64", b[:-1] if len(key) % 3 else b))
    return [(f, n) for f, n in out if len(n) >= MIN_LEN]

# needle -> [(test, kind, label, form)]
plain, codes = {}, {}
nsecrets = 0
tests_with_secrets = set()
if os.path.isdir(sdir):
    for name in sorted(os.listdir(sdir)):
        if not name.endswith(".txt"):
            continue
        test = name[:-4]
        with open(os.path.join(sdir, name), encoding="utf-8",
                  errors="surrogateescape") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) < 2 or not parts[1]:
                    continue
                kind, value = parts[0], parts[1]
                label = parts[2] if len(parts) > 2 else ""
                nsecrets += 1
                tests_with_secrets.add(test)
                if kind == "totp-code":
                    if re.fullmatch(r"[0-9]{6,8}", value):
                        codes.setdefault(value.encode(), []).append(
                            (test, kind, label, "as given"))
                    continue
                for form, needle in forms(kind, value):
                    plain.setdefault(needle, []).append(
                        (test, kind, label, form))

files = []
for d, dirs, names in os.walk(root):
    if os.path.abspath(d) == os.path.abspath(sdir):
        dirs[:] = []
        continue
    dirs[:] = [x for x in dirs if os.path.join(d, x) != sdir]
    files += [os.path.join(d, n) for n in names]
total = sum(os.path.getsize(f) for f in files)
print("registered: %d secrets from %d tests (%d distinct needles, %d "
      "codes); artifacts: %d files, %d bytes"
      % (nsecrets, len(tests_with_secrets), len(plain), len(codes),
         len(files), total), file=sys.stderr)
names = [os.path.basename(f) for f in files]
kinds = {
    "daemon logs": sum(n.startswith("pimgated") and n.endswith(".log")
                       for n in names),
    "audit exports": names.count("store-audit.jsonl"),
    "metrics scrapes": sum(n.endswith(".prom") for n in names),
    "access reports": sum(n.startswith("store-report.") for n in names),
}
print("kept: " + ", ".join("%d %s" % (v, k) for k, v in kinds.items()),
      file=sys.stderr)
owners = {os.path.relpath(f, root).split(os.sep)[0] for f in files}
for t in sorted(owners - tests_with_secrets):
    print("note: %s kept artifacts but registered no secret" % t,
          file=sys.stderr)
if not plain or not files or not (kinds["daemon logs"] or
                                  kinds["audit exports"]):
    print("nothing to check: no secret registered, or no daemon log and "
          "no audit export kept", file=sys.stderr)
    sys.exit(2)

def candidates(needles, word):
    """Files holding any of NEEDLES, by GNU grep's fixed-string search."""
    if not needles:
        return []
    pat = os.path.join(work, "needles")
    fd = os.open(pat, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(b"\n".join(needles) + b"\n")
    argv = ["grep", "-rlaF", "--exclude-dir=secrets", "-f", pat]
    if word:
        argv.insert(1, "-w")
    r = subprocess.run(argv + [root], stdout=subprocess.PIPE)
    os.unlink(pat)
    if r.returncode > 1:
        sys.exit("grep failed (status %d)" % r.returncode)
    return [p for p in r.stdout.decode("utf-8", "surrogateescape")
            .splitlines() if p]

def where(path, data, at):
    line = data.count(b"\n", 0, at) + 1
    return "%s line %d" % (os.path.relpath(path, root), line)

# Each test runs its own bastion on its own state, so a secret can only
# leak into the artifacts of a test that used it: a hit there fails. The
# same text in another test's artifacts can only be chance (a weak test
# password such as "a-password" inside "via-password"): it is noted.
leaks = notes = 0
def report(path, data, at, entries):
    global leaks, notes
    owner = os.path.relpath(path, root).split(os.sep)[0]
    for test, kind, label, form in sorted(set(entries)):
        if test == owner:
            leaks += 1
            print("LEAK: %s '%s' of %s (%s) found in %s"
                  % (kind, label, test, form, where(path, data, at)))
        else:
            notes += 1
            print("note: %s '%s' of %s (%s) also occurs in %s, another "
                  "test's artifact" % (kind, label, test, form,
                                       where(path, data, at)),
                  file=sys.stderr)

for path in candidates(list(plain), False):
    data = open(path, "rb").read()
    for needle, entries in plain.items():
        at = data.find(needle)
        if at >= 0:
            report(path, data, at, entries)
code_re = None
if codes:
    code_re = re.compile(rb"(?<![0-9A-Za-z_])(" +
                         b"|".join(map(re.escape, codes)) +
                         rb")(?![0-9A-Za-z_])")
for path in candidates(list(codes), True):
    data = open(path, "rb").read()
    for m in code_re.finditer(data):
        report(path, data, m.start(), codes[m.group(1)])
print("%d leaks, %d chance matches in other tests' artifacts"
      % (leaks, notes), file=sys.stderr)
sys.exit(1 if leaks else 0)
PY
}

# The scanner must find a planted secret, in a tree of its own.
self_check() {
	local canary=$WORK/canary
	mkdir -p "$canary/secrets" "$canary/t_canary"
	printf 'password\tcanary-Pw-%s\tself check\n' "$RANDOM$RANDOM" \
		>"$canary/secrets/t_canary.txt"
	printf 'totp-code\t%06d\tself check code\n' $((RANDOM % 1000000)) \
		>>"$canary/secrets/t_canary.txt"
	printf 'info: nothing here\n' >"$canary/t_canary/pimgated.log"
	local out rc=0
	out=$(scan "$canary" 2>/dev/null) || rc=$?
	[[ $rc == 0 && -z "$out" ]] || {
		echo "FAIL: self check: a clean tree was reported ($rc): $out" >&2
		exit 1
	}
	cut -f2 "$canary/secrets/t_canary.txt" | head -n 1 |
		sed 's/^/user=x password=/' >"$canary/t_canary/leaky.log"
	printf 'code %s\n' "$(cut -f2 "$canary/secrets/t_canary.txt" |
		tail -n 1)" >"$canary/t_canary/leaky.err"
	rc=0
	out=$(scan "$canary" 2>/dev/null) || rc=$?
	if [[ $rc != 1 || $(grep -c '^LEAK: ' <<<"$out") != 2 ]]; then
		echo "FAIL: self check: planted secrets not both found:" \
			"status $rc: $out" >&2
		exit 1
	fi
	if grep -qF "canary-Pw-" <<<"$out"; then
		echo "FAIL: self check: the report shows the secret" >&2
		exit 1
	fi
}

self_check
[[ -d "$ROOT" ]] || {
	echo "FAIL: no artifacts at $ROOT: run the integration tests first" >&2
	exit 1
}
rc=0
scan "$ROOT" || rc=$?
case $rc in
0) echo "PASS: no registered secret in any artifact" ;;
1) echo "FAIL: secrets found in the artifacts above ($ROOT)" >&2 ;;
*) echo "FAIL: nothing to check in $ROOT" >&2 ;;
esac
exit $((rc == 0 ? 0 : 1))
