#!/usr/bin/env bash
# Installs the Debian 12 packages channelhub builds and tests with.
# Does nothing when they are all present; needs root (or sudo) only when something is missing.
set -euo pipefail

# Boost.Asio and Boost.Beast are header-only (we compile them once, in hub/server/asio_impl.cpp),
# so the Boost headers package is enough; libboost1.81-all-dev would add ~1 GB of compiled
# libraries (MPI, Python, ...) that nothing here links.
PACKAGES=(
  build-essential cmake ninja-build pkg-config git curl ccache
  libboost1.81-dev
  libzmq3-dev cppzmq-dev
  rapidjson-dev libpugixml-dev libyaml-cpp-dev libpcre2-dev
  libssl-dev libsqlite3-dev sqlite3
  libspdlog-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libutf8proc-dev libopencc-dev opencc
  zlib1g-dev libzstd-dev  # golden-record versions: zstd (zlib reads those older versions wrote)
  wrk
  clang libclang-rt-14-dev  # scripts/fuzz.sh: clang++ and its libFuzzer/sanitizer runtimes
  prometheus                # promtool: the end-to-end tests check /metrics with `promtool check metrics`
  python3-zmq               # the Python example connector and bus subscriber, run by the end-to-end tests
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
