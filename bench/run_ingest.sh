#!/usr/bin/env bash
# Ingest benchmark: the durable webhook path (verify, journal with group commit and fsync, dedup)
# against the bare endpoint (same HTTP stack, no journal). Builds nothing.
#
#   bench/run_ingest.sh [path/to/channelhub]        (default: build/channelhub)
#
# Environment: THREADS (2), CONNS (32), DURATION (10s), WARMUP (2s, 0 to skip), KEEP=1 keeps the
# temporary directory. Everything listens on 127.0.0.1 on an ephemeral port.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/.." && pwd)"
bin="${1:-${root}/build/channelhub}"
threads="${THREADS:-2}"
conns="${CONNS:-32}"
duration="${DURATION:-10s}"
warmup="${WARMUP:-2s}"

die() { echo "run_ingest: $*" >&2; exit 1; }

command -v wrk >/dev/null || die "wrk is not installed"
[[ -x "${bin}" ]] || die "no channelhub binary at ${bin} (build it first, or pass its path)"

tmp="$(mktemp -d /tmp/chub-bench-XXXXXX)"
pid=""

hub_code=""
stop_hub() {  # SIGTERM, wait up to 30 s, then SIGKILL. Sets hub_code to the exit code.
  [[ -n "${pid}" ]] || return 0
  local code=0
  if kill -0 "${pid}" 2>/dev/null; then
    kill -TERM "${pid}" 2>/dev/null || true
    for _ in $(seq 1 300); do
      kill -0 "${pid}" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "${pid}" 2>/dev/null; then
      echo "run_ingest: the hub did not stop within 30 s of SIGTERM; killing it" >&2
      kill -KILL "${pid}" 2>/dev/null || true
    fi
  fi
  wait "${pid}" 2>/dev/null || code=$?
  pid=""
  hub_code="${code}"
}

cleanup() {
  stop_hub || true
  if [[ "${KEEP:-0}" == 1 ]]; then echo "run_ingest: kept ${tmp}" >&2; else rm -rf "${tmp}"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"${tmp}/hub.yaml" <<EOF
listen: 127.0.0.1:0
data_dir: ${tmp}/var
sources:
  webshop:
    connector: generic
    mapping: builtin:shopify.order
    event_id: { header: X-Event-Id }
destinations:
  archive: { type: file, path: ${tmp}/var/out/events.jsonl }
routes:
  - { from: [webshop], types: ["order.*", "customer.*"], to: [archive] }
EOF

"${bin}" serve --config "${tmp}/hub.yaml" --listen 127.0.0.1:0 --data-dir "${tmp}/var" \
  --ready-file "${tmp}/ready" --bare-endpoint >"${tmp}/hub.log" 2>&1 &
pid=$!

for _ in $(seq 1 200); do  # 20 s
  [[ -s "${tmp}/ready" ]] && break
  kill -0 "${pid}" 2>/dev/null || { cat "${tmp}/hub.log" >&2; die "the hub exited before it was ready"; }
  sleep 0.1
done
[[ -s "${tmp}/ready" ]] || { cat "${tmp}/hub.log" >&2; die "the hub was not ready within 20 s"; }
addr="$(head -n1 "${tmp}/ready")"
url="http://${addr}"
echo "hub pid ${pid} on ${url}; wrk -t${threads} -c${conns} -d${duration} --latency" >&2

hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/${pid}/status"; }
# Resets the peak RSS (VmHWM) so that each run reports its own peak; "no" when not permitted.
reset_hwm() { if echo 5 >"/proc/${pid}/clear_refs" 2>/dev/null; then echo yes; else echo no; fi; }

# run NAME SCRIPT RUN_ID: one wrk run; appends "NAME rps p99_us non2xx errors hwm_kb" to results.
run() {
  local name="$1" script="$2" run_id="$3"
  local resets
  resets="$(reset_hwm)"
  wrk -t"${threads}" -c"${conns}" -d"${duration}" --latency -s "${here}/wrk/${script}" "${url}" -- "${run_id}" \
    >"${tmp}/wrk-${name}.txt" 2>&1 || { cat "${tmp}/wrk-${name}.txt" >&2; die "wrk failed (${name})"; }
  kill -0 "${pid}" 2>/dev/null || { tail -n 50 "${tmp}/hub.log" >&2; die "the hub died during the ${name} run"; }
  local line
  line="$(grep '^CHUB_RESULT ' "${tmp}/wrk-${name}.txt")" || { cat "${tmp}/wrk-${name}.txt" >&2; die "no result line"; }
  echo "${name} ${line} hwm_kb=$(hwm_kb) hwm_reset=${resets}" >>"${tmp}/results"
}

if [[ "${warmup}" != 0 && "${warmup}" != 0s ]]; then
  wrk -t"${threads}" -c"${conns}" -d"${warmup}" -s "${here}/wrk/post_bare.lua" "${url}" -- 1 >/dev/null 2>&1 || true
fi
run_base=$(( ($(date +%s) % 9000) * 10 ))  # differs between invocations; X-Event-Ids never repeat
run bare post_bare.lua $(( run_base + 2 ))
run durable post_order.lua $(( run_base + 3 ))

acked_durable="$(awk '$1 == "durable" { for (i = 2; i <= NF; i++) if ($i ~ /^requests=/) { sub("requests=", "", $i); print $i } }' "${tmp}/results")"
stop_hub
code="${hub_code}"
delivered=0
[[ -f "${tmp}/var/out/events.jsonl" ]] && delivered="$(wc -l <"${tmp}/var/out/events.jsonl")"

echo
awk '
  function field(name,   i, kv) {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == name) return kv[2] }
    return ""
  }
  BEGIN {
    printf "%-9s %12s %10s %10s %9s %8s %14s\n", "endpoint", "requests/s", "p50 ms", "p99 ms", "non-2xx", "errors", "peak RSS MiB"
  }
  {
    errors = field("connect") + field("read") + field("write") + field("timeout")
    peak = sprintf("%.1f", field("hwm_kb") / 1024) (field("hwm_reset") == "yes" ? "" : "*")
    printf "%-9s %12.0f %10.2f %10.2f %9d %8d %14s\n", $1, field("rps"), field("p50_us") / 1000,
           field("p99_us") / 1000, field("non2xx"), errors, peak
    rps[$1] = field("rps")
    if (field("hwm_reset") != "yes") star = 1
  }
  END {
    if (rps["bare"] > 0) printf "\ndurable/bare requests/s ratio: %.3f\n", rps["durable"] / rps["bare"]
    if (star) print "* peak RSS since the hub started (could not reset VmHWM via /proc/PID/clear_refs)"
  }
' "${tmp}/results"
echo "durable requests answered: ${acked_durable:-?}; order/customer CloudEvents in the file after SIGTERM: ${delivered}"
echo "hub exit code after SIGTERM: ${code}"
[[ "${code}" == 0 ]] || { tail -n 30 "${tmp}/hub.log" >&2; exit 1; }
