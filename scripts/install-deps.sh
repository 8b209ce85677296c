#!/usr/bin/env bash
# Installs the Debian 12 packages Steward builds, tests and benchmarks with.
# Idempotent: a package already present is not touched; apt runs only when
# something is missing. Boost 1.81 conflicts with the 1.74 -dev packages, so
# those are removed first when present.
set -euo pipefail

want=(
  build-essential cmake pkg-config ninja-build
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libvectorscan-dev libsodium-dev libsqlite3-dev sqlite3 libyaml-cpp-dev
  libspdlog-dev libfmt-dev libcli11-dev libssl-dev libmimalloc-dev libzstd-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev
  libpq-dev libhiredis-dev
  curl
)
# Node.js (with npm) is wanted for client and browser tooling; a node from
# elsewhere already carries npm, and Debian's npm package conflicts with it.
command -v node >/dev/null || want+=(nodejs)
command -v npm >/dev/null || want+=(npm)
if [[ "${STEWARD_DEPS:-}" == "full" ]]; then
  want+=(wrk nginx-light postgresql redis-server chromium)
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# Boost 1.81 development headers cannot coexist with the default 1.74 ones.
conflicting=$(dpkg-query -W -f='${Package} ${Status}\n' 'libboost*1.74*-dev' 'libboost-dev' 2>/dev/null \
  | awk '/install ok installed/ {print $1}' || true)
if [[ -n "$conflicting" ]]; then
  $SUDO apt-get remove -y $conflicting >&2
fi
$SUDO apt-get update -qq >&2 || true
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
