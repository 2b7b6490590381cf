#!/usr/bin/env bash
# Builds the libFuzzer targets in tests/fuzz/ with clang++ (-fsanitize=fuzzer,address,undefined)
# and runs each one, one after another, for SECONDS seconds on its seed corpus.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET (default 60; 0: build only)] [TARGET...]
#
# Everything lands in build-fuzz/: objects (obj/), binaries (bin/), the working corpora (corpus/,
# seeded from tests/fuzz/corpus/<target>/ and grown by every run; the repo's seeds are never
# written), crash inputs (artifacts/<target>/) and the fuzzer logs (logs/). Exits non-zero when a
# target crashed (crash, leak, sanitizer report, timeout or out-of-memory), naming the input.
# Environment: CXX (default clang++), CCACHE (default: ccache when installed; "" to disable),
# JOBS (parallel compiles, default nproc), FUZZ_FLAGS (extra libFuzzer flags).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
out="$repo/build-fuzz"
seconds="${1:-60}"
[ $# -gt 0 ] && shift
if ! [[ "$seconds" =~ ^[0-9]+$ ]]; then
  echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2
  exit 2
fi

# ---- Targets: the sources each one compiles (a folder: every *.cpp in it but plugin.cpp) ----
declare -A SOURCES=(
  [json_mapping]="hub/common hub/model hub/mapping"
  [xml_mapping]="hub/common hub/model hub/mapping"
  [json_decoders]="hub/common hub/model"
  [mask_pii]="hub/common"
  [wecom_inbound]="connectors/common connectors/wecom"
  [connector_inbound]="connectors/common connectors/ecommerce connectors/erp connectors/wms connectors/finance"
  [http_request]="hub/server/http_parse.cpp hub/server/http_types.cpp hub/server/asio_impl.cpp"
)
ALL_TARGETS=(json_mapping xml_mapping json_decoders mask_pii wecom_inbound connector_inbound http_request)

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
  if [ -z "${SOURCES[$t]+x}" ] || [ ! -f "$repo/tests/fuzz/fuzz_$t.cpp" ]; then
    echo "fuzz: unknown target '$t' (known: ${ALL_TARGETS[*]})" >&2
    exit 2
  fi
done

CXX="${CXX:-clang++}"
if ! command -v "$CXX" >/dev/null; then
  echo "fuzz: $CXX not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
  exit 2
fi
if [ -z "${CCACHE+x}" ]; then CCACHE="$(command -v ccache || true)"; fi
JOBS="${JOBS:-$(nproc)}"

pc_cflags="$(pkg-config --cflags spdlog fmt libpcre2-8 2>/dev/null || echo "-DSPDLOG_COMPILED_LIB -DSPDLOG_FMT_EXTERNAL")"
pc_libs="$(pkg-config --libs yaml-cpp pugixml libpcre2-8 libssl libcrypto spdlog fmt 2>/dev/null ||
  echo "-lyaml-cpp -lpugixml -lpcre2-8 -lssl -lcrypto -lspdlog -lfmt")"

# The same macros as the CMake build (CMakeLists.txt), so every header means the same thing.
CXXFLAGS=(-std=c++20 -g -O1 -fno-omit-frame-pointer
  -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
  -fsanitize-recover=pointer-overflow  # recoverable only so that ubsan.supp can name RapidJSON's
  -Wall -Wextra -Wpedantic -Wno-missing-field-initializers
  -Wno-ambiguous-reversed-operator  # clang's C++20 note on RapidJSON 1.1.0's iterator operator==
  -DBOOST_ASIO_SEPARATE_COMPILATION -DBOOST_BEAST_SEPARATE_COMPILATION -DBOOST_ASIO_NO_DEPRECATED
  -DBOOST_BEAST_USE_STD_STRING_VIEW -DRAPIDJSON_HAS_STDSTRING=1
  -DBOOST_ENABLE_ASSERT_HANDLER  # Boost's assertions call boost::assertion_failed (fuzz_http_request.cpp)
  "-DCHUB_SOURCE_DIR=\"$repo\"" -I"$repo" -I"$repo/plugins/sdk/include" $pc_cflags)
LDFLAGS=(-fsanitize=fuzzer,address,undefined $pc_libs -pthread)

mkdir -p "$out/obj" "$out/bin" "$out/corpus" "$out/artifacts" "$out/logs"

# Objects are reused while the flags and every file they were built from are unchanged.
stamp="$out/obj/flags"
flags_now="$("$CXX" --version | head -1) ${CXXFLAGS[*]}"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$flags_now" ]; then
  rm -rf "$out/obj" && mkdir -p "$out/obj"
  printf '%s' "$flags_now" >"$stamp"
fi

stale() {  # stale OBJ SRC: true when OBJ must be rebuilt
  local obj="$1" src="$2" dep
  [ -f "$obj" ] && [ -f "$obj.d" ] || return 0
  [ "$src" -nt "$obj" ] && return 0
  for dep in $(sed -e 's/^[^:]*://' -e 's/\\$//' "$obj.d"); do
    [ -e "$dep" ] || return 0
    [ "$dep" -nt "$obj" ] && return 0
  done
  return 1
}

compile() {  # compile SRC (repo-relative) EXTRA_FLAGS...; prints the object
  local src="$1" obj="$out/obj/${1%.cpp}.o"
  shift
  mkdir -p "$(dirname "$obj")"
  if stale "$obj" "$repo/$src"; then
    echo "  CXX $src" >&2
    $CCACHE "$CXX" "${CXXFLAGS[@]}" "$@" -MMD -MF "$obj.d" -c "$repo/$src" -o "$obj"
  fi
}

build_target() {
  local t="$1" d f
  local srcs=("tests/fuzz/fuzz_$t.cpp")
  for d in ${SOURCES[$t]}; do
    if [[ "$d" == *.cpp ]]; then
      srcs+=("$d")
      continue
    fi
    for f in "$repo/$d"/*.cpp; do
      [ "$(basename "$f")" = plugin.cpp ] && continue
      srcs+=("${f#"$repo"/}")
    done
  done
  echo "== build fuzz_$t (${#srcs[@]} sources)"
  local pids=() objs=() s fail=0
  for s in "${srcs[@]}"; do
    objs+=("$out/obj/${s%.cpp}.o")
    if [[ "$s" == tests/fuzz/* ]]; then extra=(-Werror); else extra=(); fi
    compile "$s" "${extra[@]}" &
    pids+=($!)
    if [ ${#pids[@]} -ge "$JOBS" ]; then
      wait "${pids[0]}" || fail=1
      pids=("${pids[@]:1}")
    fi
  done
  for s in "${pids[@]}"; do wait "$s" || fail=1; done
  [ $fail -eq 0 ] || { echo "fuzz: build of fuzz_$t failed" >&2; return 1; }
  local bin="$out/bin/fuzz_$t" o relink=0
  [ -f "$bin" ] || relink=1
  for o in "${objs[@]}"; do [ "$o" -nt "$bin" ] && relink=1; done
  if [ $relink -eq 1 ]; then
    echo "  LINK fuzz_$t" >&2
    "$CXX" "${CXXFLAGS[@]}" "${objs[@]}" "${LDFLAGS[@]}" -o "$bin"
  fi
}

for t in "${targets[@]}"; do build_target "$t"; done
if [ "$seconds" -eq 0 ]; then  # build only (libFuzzer would take -max_total_time=0 as "forever")
  echo "== built: ${targets[*]} (in $out/bin)"
  exit 0
fi

# ---- Run: one target at a time (the machine is shared) ----
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
# halt_on_error makes the one recoverable check (pointer-overflow) fatal too, unless suppressed.
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$repo/tests/fuzz/ubsan.supp${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
crashed=()
summary=()
for t in "${targets[@]}"; do
  corpus="$out/corpus/$t"
  artifacts="$out/artifacts/$t/"
  log="$out/logs/$t.log"
  mkdir -p "$corpus" "$artifacts"
  if [ -d "$repo/tests/fuzz/corpus/$t" ]; then
    cp -n "$repo/tests/fuzz/corpus/$t"/* "$corpus"/ 2>/dev/null || true
  fi
  echo "== run fuzz_$t for ${seconds}s (corpus $corpus, $(find "$corpus" -type f | wc -l) inputs)"
  rc=0
  # shellcheck disable=SC2086
  "$out/bin/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 \
    -close_fd_mask=1 -artifact_prefix="$artifacts" ${FUZZ_FLAGS:-} "$corpus" >"$log" 2>&1 || rc=$?
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  speed="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  stats="$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)"
  cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$stats")"
  ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$stats")"
  corp="$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$stats")"
  crash="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)"
  if [ $rc -ne 0 ] || [ -n "$crash" ]; then
    crashed+=("$t")
    line="$(printf '%-17s CRASHED (exit %d) input: %s\n%19slog: %s' "$t" "$rc" "${crash:-none written}" "" "$log")"
    grep -m3 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|==ERROR' "$log" | sed 's/^/    /' || true
  else
    line="$(printf '%-17s execs %-10s exec/s %-7s cov %-6s ft %-6s corpus %-12s crashes 0' "$t" "${execs:-?}" \
      "${speed:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}")"
  fi
  echo "$line"
  summary+=("$line")
done

echo "== fuzz summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
if [ ${#crashed[@]} -gt 0 ]; then
  echo "fuzz: ${#crashed[@]} target(s) crashed: ${crashed[*]} (inputs in $out/artifacts/)" >&2
  exit 1
fi
