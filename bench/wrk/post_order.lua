-- wrk script: durable webhook ingest. POST /webhooks/webshop with 1.2-1.9 KB Shopify orders, each
-- with a unique X-Event-Id. Usage: wrk -t2 -c32 -d10s --latency -s post_order.lua URL -- RUN_ID
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "common.lua").install("/webhooks/webshop")
