-- wrk script: the baseline. POST /_bench/bare (answers 202 without touching the journal; the hub
-- must run with --bare-endpoint) with the same bodies and headers as post_order.lua.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "common.lua").install("/_bench/bare")
