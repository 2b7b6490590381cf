#!/usr/bin/env bash
# Overload: the ERP is down and webhooks keep coming as fast as wrk can send them — far beyond
# what the destination can take (which is nothing). The backlog grows to journal.backlog_limit,
# then the hub answers 503 + Retry-After; its memory must stay flat and every 202 must be in the
# journal. Prints requests, 202s, 503s, RSS each few seconds and its peak, and the journal count.
#
#   bench/run_overload.sh [path/to/channelhub]        (default: build/channelhub)
#
# Environment: THREADS (2), CONNS (64), DURATION (30s), BACKLOG (20000), KEEP=1 keeps the
# temporary directory. Everything listens on 127.0.0.1.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/.." && pwd)"
bin="${1:-${root}/build/channelhub}"
threads="${THREADS:-2}"
conns="${CONNS:-64}"
duration="${DURATION:-30s}"
backlog="${BACKLOG:-20000}"

die() { echo "run_overload: $*" >&2; exit 1; }
command -v wrk >/dev/null || die "wrk is not installed"
command -v sqlite3 >/dev/null || die "sqlite3 is not installed"
[[ -x "${bin}" ]] || die "no channelhub binary at ${bin}"

tmp="$(mktemp -d /tmp/chub-overload-XXXXXX)"
pid=""
cleanup() {
  if [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null; then kill -TERM "${pid}"; wait "${pid}" 2>/dev/null || true; fi
  if [[ "${KEEP:-0}" == 1 ]]; then echo "run_overload: kept ${tmp}" >&2; else rm -rf "${tmp}"; fi
}
trap cleanup EXIT

# A port nothing listens on: the ERP is down for the whole run.
dead_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
cat >"${tmp}/hub.yaml" <<EOF
listen: 127.0.0.1:0
data_dir: ${tmp}/var
journal: { backlog_limit: ${backlog} }
sources:
  webshop:
    connector: generic
    mapping: builtin:shopify.order
    event_id: { header: X-Event-Id }
destinations:
  erp:
    type: http
    url: http://127.0.0.1:${dead_port}/orders
    timeout: 1s
    retry: { initial: 1s, max: 30s, max_age: 24h }
routes:
  - { from: [webshop], types: ["order.*"], to: [erp] }
EOF

"${bin}" serve --config "${tmp}/hub.yaml" --ready-file "${tmp}/ready" >"${tmp}/hub.log" 2>&1 &
pid=$!
for _ in $(seq 1 200); do [[ -s "${tmp}/ready" ]] && break; sleep 0.1; done
[[ -s "${tmp}/ready" ]] || { cat "${tmp}/hub.log" >&2; die "the hub was not ready"; }
url="http://$(head -n1 "${tmp}/ready")"

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/${pid}/status"; }
(
  while kill -0 "${pid}" 2>/dev/null; do echo "$(date +%s) $(rss_kb)"; sleep 2; done
) >"${tmp}/rss" &
sampler=$!

run_id=$(( ($(date +%s) % 9000) * 10 + 7 ))
wrk -t"${threads}" -c"${conns}" -d"${duration}" --latency -s "${here}/wrk/post_order.lua" "${url}" -- "${run_id}" \
  >"${tmp}/wrk.txt" 2>&1 || { cat "${tmp}/wrk.txt" >&2; die "wrk failed"; }
kill "${sampler}" 2>/dev/null || true
kill -0 "${pid}" 2>/dev/null || { tail -n 30 "${tmp}/hub.log" >&2; die "the hub died under overload"; }
peak_kb="$(awk '/^VmHWM:/ { print $2 }' "/proc/${pid}/status")"
kill -TERM "${pid}"; wait "${pid}" 2>/dev/null || true; pid=""

line="$(grep '^CHUB_RESULT ' "${tmp}/wrk.txt")"
field() { echo "${line}" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'; }
requests="$(field requests)"; non2xx="$(field non2xx)"
acked=$(( requests - non2xx ))
journaled="$(sqlite3 "${tmp}/var/journal.db" 'SELECT count(*) FROM inbox')"
refused_log="$(grep -c 'above journal.backlog_limit' "${tmp}/hub.log" || true)"

echo "wrk -t${threads} -c${conns} -d${duration}; the destination is down; backlog_limit ${backlog}"
echo "requests ${requests}, 202 ${acked}, refused (503/429) ${non2xx}, requests/s $(field rps)"
echo "journal inbox rows after stop: ${journaled} (must equal the 202s: nothing acknowledged is lost)"
echo "RSS over time (MiB):" $(awk 'NR == 1 { t0 = $1 } { printf "%ds:%.1f ", $1 - t0, $2 / 1024 }' "${tmp}/rss")
echo "peak RSS: $(awk -v k="${peak_kb}" 'BEGIN { printf "%.1f MiB", k / 1024 }'); backlog-limit warnings logged: ${refused_log}"
[[ "${journaled}" == "${acked}" ]] || die "acknowledged ${acked} but journaled ${journaled}"
