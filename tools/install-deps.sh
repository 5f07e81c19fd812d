#!/usr/bin/env bash
# Installs, with apt-get, the Debian packages that building pimgate and
# running its tests need. Idempotent: asks dpkg which packages are missing
# and touches apt only when something is.
set -euo pipefail

packages=(
	build-essential cmake pkg-config clang-format
	libssh-dev libevent-dev libssl-dev libsqlite3-dev sqlite3
	libjansson-dev libinih-dev libargon2-dev libcmocka-dev libqrencode-dev
	openssh-server openssh-client asciinema oathtool tmux python3
	bsdextrautils util-linux procps iproute2
	# PostgreSQL tests: the server (initdb, postgres, pgbench) as a
	# target, psql and pg_isready as clients, openssl for test certs.
	postgresql postgresql-contrib postgresql-client openssl
	# Metrics: promtool checks the exposition format, curl scrapes it.
	prometheus curl
)

missing=()
for pkg in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
	if [[ "$status" != installed ]]; then
		missing+=("$pkg")
	fi
done

if ((${#missing[@]} == 0)); then
	echo "install-deps: all ${#packages[@]} packages present"
	exit 0
fi

sudo=()
if ((EUID != 0)); then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "install-deps: missing ${missing[*]}; run as root" >&2
		exit 1
	fi
	sudo=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
