# Listing reads and search (sourced by bench/run.sh: BASE, PORT, run_wrk).
export BENCH_IDS="$ROOT/.dev/bench-ids.txt"
psql_bench -c "SELECT id FROM listings WHERE status = 'active' ORDER BY id LIMIT 100" > "$BENCH_IDS"

# warm the caches once
while read -r id; do curl -fs "$BASE/api/v1/listings/$id" >/dev/null; done < "$BENCH_IDS"
run_wrk listing_cached "$BASE/" -s bench/listing.lua
run_wrk hot_list_cached "$BASE/api/v1/listings/hot?region_code=22"

# the same binary with the cache off, on a second port
UNCACHED_PORT=$((PORT + 1))
BIND_ADDR="127.0.0.1:$UNCACHED_PORT" LISTING_CACHE=false MIGRATE_ON_START=false \
  "$SERVER_BIN" serve > .dev/bench-server-uncached.log 2>&1 &
UNCACHED=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$UNCACHED_PORT/healthz" >/dev/null && break; sleep 0.1; done
# in service only once /readyz says so (its search index built), as behind
# a load balancer: measuring during the build measured the build
wait_indexed "$UNCACHED_PORT"
run_wrk listing_uncached "http://127.0.0.1:$UNCACHED_PORT/" -s bench/listing.lua
kill "$UNCACHED"; wait "$UNCACHED" 2>/dev/null || true

run_wrk search_10k "$BASE/" -s bench/search.lua

echo "[bench] seeding up to 100,000 listings"
"$SERVER_BIN" seed-bench 100000 >/dev/null
psql_bench -c "ANALYZE listings"
echo "[bench] listings: $(psql_bench -c "SELECT count(*) FROM listings")"
wait_indexed
run_wrk search_100k "$BASE/" -s bench/search.lua
