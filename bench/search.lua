-- wrk script: rotates through typical catalog searches (filters, Chinese
-- full text, sorts), 20 results each.
local queries = {
  "/api/v1/listings?q=%E7%94%9C%E7%93%9C",
  "/api/v1/listings?q=%E9%BE%99%E4%BA%95%E8%8C%B6",
  "/api/v1/listings?q=%E5%A4%A7%E7%B1%B3&sort=price_asc",
  "/api/v1/listings?region_code=22&sort=price_asc",
  "/api/v1/listings?certification=green&grade=premium",
  "/api/v1/listings?category=f6fa1df7-f525-50c2-aeac-6522538835da&sort=popular",
  "/api/v1/listings?min_price_fen=1000&max_price_fen=5000&sort=price_desc",
  "/api/v1/listings?sale_mode=presale",
  "/api/v1/listings?q=%E8%8B%B9%E6%9E%9C&region_code=37",
  "/api/v1/listings?sort=newest"
}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", queries[(i % #queries) + 1] .. "&limit=20")
end
