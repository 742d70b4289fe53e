-- wrk script: GET /api/v1/listings/{id} over a set of hot ids (one per line
-- in $BENCH_IDS), chosen at random per request.
local ids = {}
init = function(args)
  for line in io.lines(os.getenv("BENCH_IDS")) do
    if #line > 0 then ids[#ids + 1] = line end
  end
end
request = function()
  return wrk.format("GET", "/api/v1/listings/" .. ids[math.random(#ids)])
end
