#!/usr/bin/env bash
# Configures and builds pimgate: into build/, or with --sanitize into
# build-asan/ with AddressSanitizer and UBSan.
set -euo pipefail

usage() {
	echo "usage: tools/build.sh [--sanitize]" >&2
	exit 2
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="$root/build"
sanitize=OFF
while (($#)); do
	case "$1" in
	--sanitize)
		build_dir="$root/build-asan"
		sanitize=ON
		;;
	-h | --help) usage ;;
	*) usage ;;
	esac
	shift
done

cmake -S "$root" -B "$build_dir" -DPIMGATE_SANITIZE="$sanitize"
cmake --build "$build_dir" -j "$(nproc)"
