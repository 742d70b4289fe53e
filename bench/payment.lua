-- wrk script: POST /api/v1/sandbox/payments/{id}/succeed for pending
-- payments from $BENCH_PAYMENT_IDS, each once: wrk's threads take every
-- other line. The sandbox then sends its signed notification to the API,
-- which marks the order paid and posts the payment to the ledger.
local ids = {}
local next_id = 0
local threads = 0
setup = function(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
init = function(args)
  local n = 0
  for line in io.lines(os.getenv("BENCH_PAYMENT_IDS")) do
    if #line > 0 then
      if n % 2 == tid then ids[#ids + 1] = line end
      n = n + 1
    end
  end
end
request = function()
  next_id = next_id + 1
  local id = ids[((next_id - 1) % #ids) + 1]
  return wrk.format("POST", "/api/v1/sandbox/payments/" .. id .. "/succeed", {}, "")
end
