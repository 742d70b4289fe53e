-- wrk script: POST /api/v1/orders, one unit of a random listing from
-- $BENCH_ORDER_IDS, a fresh Idempotency-Key per request, as $BENCH_TOKEN.
local ids = {}
local token = os.getenv("BENCH_TOKEN")
local counter = 0
local prefix = ""
init = function(args)
  for line in io.lines(os.getenv("BENCH_ORDER_IDS")) do
    if #line > 0 then ids[#ids + 1] = line end
  end
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
  prefix = tostring(math.random(1, 1000000000))
end
request = function()
  counter = counter + 1
  local id = ids[math.random(#ids)]
  local body = '{"items":[{"listing_id":"' .. id .. '","quantity":1}],"delivery":{"method":"home_delivery","address":{"recipient":"压测","phone":"13800000000","region_code":"110105","line":"建国路1号"}}}'
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["Authorization"] = "Bearer " .. token
  headers["Idempotency-Key"] = prefix .. "-" .. counter
  return wrk.format("POST", "/api/v1/orders", headers, body)
end
