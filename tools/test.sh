#!/usr/bin/env bash
# Installs what is missing, builds (with ASan and UBSan unless
# PIMGATE_NO_SANITIZE=1) and runs every unit and integration test.
# Exits with ctest's status.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

"$root/tools/install-deps.sh"

if [[ "${PIMGATE_NO_SANITIZE:-0}" == 1 ]]; then
	"$root/tools/build.sh"
	build_dir="$root/build"
else
	"$root/tools/build.sh" --sanitize
	build_dir="$root/build-asan"
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

status=0
ctest --test-dir "$build_dir" --output-on-failure "$@" || status=$?
exit "$status"
