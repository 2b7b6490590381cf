-- Shared by post_order.lua and post_bare.lua: one request per call, each with a unique
-- X-Event-Id and Shopify order id built from (run id, wrk thread number, per-thread counter).
-- Script arguments (after "--"): [1] run id, a short digit string that differs between runs.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local make_body = dofile(here .. "shopify_body.lua")

local M = {}

-- Installs wrk's setup/init/request/done callbacks that POST to "path".
function M.install(path)
  local next_thread = 0

  -- Runs in the main Lua state, once per wrk thread, before the threads start.
  function setup(thread)
    thread:set("thread_no", next_thread)
    next_thread = next_thread + 1
  end

  -- Runs in each thread's own Lua state.
  function init(args)
    run_id = tostring(args[1] or (os.time() % 100000))
    run_id = string.format("%05d", tonumber(run_id) % 100000)
    counter = 0
  end

  function request()
    counter = counter + 1
    -- 18 digits: "9", 5 of run id, 2 of thread, 10 of counter.
    local order_id = "9" .. run_id .. string.format("%02d%010d", thread_no % 100, counter)
    local body = make_body(order_id, 1 + counter % 2)
    local headers = {
      ["Content-Type"] = "application/json",
      ["X-Event-Id"] = "bench-" .. run_id .. "-" .. thread_no .. "-" .. counter,
    }
    return wrk.format("POST", path, headers, body)
  end

  -- One machine-readable line for bench/run_ingest.sh, then wrk's own report follows.
  function done(summary, latency, requests)
    local secs = summary.duration / 1e6
    local e = summary.errors
    io.write(string.format(
      "CHUB_RESULT requests=%d rps=%.1f p50_us=%d p99_us=%d max_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
      summary.requests, summary.requests / secs, latency:percentile(50), latency:percentile(99),
      latency.max, e.status, e.connect, e.read, e.write, e.timeout))
  end
end

return M
