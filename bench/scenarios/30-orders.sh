# Order creation vs pgbench, and one hot listing under contention
# (sourced by bench/run.sh after 20-listings.sh).
run_pgbench

# 1,000 listings with ample stock, and a buyer
psql_bench -c "UPDATE listings SET stock = 1000000, status = 'active' WHERE id IN (SELECT id FROM listings ORDER BY id LIMIT 1000)"
export BENCH_ORDER_IDS="$ROOT/.dev/bench-order-ids.txt"
psql_bench -c "SELECT id FROM listings ORDER BY id LIMIT 1000" > "$BENCH_ORDER_IDS"
curl -fs -X POST "$BASE/api/v1/auth/register" -H 'content-type: application/json' \
  -d '{"email":"bench-buyer@coopmart.local","password":"Load-Test-Buyer-2026"}' >/dev/null || true
BENCH_TOKEN=$(curl -fs -X POST "$BASE/api/v1/auth/token" -d grant_type=password \
  -d username=bench-buyer@coopmart.local -d password=Load-Test-Buyer-2026 | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
export BENCH_TOKEN
orders_before=$(psql_bench -c "SELECT count(*) FROM orders")
events_before=$(psql_bench -c "SELECT count(*) FROM outbox_events")
run_wrk order_create "$BASE/" -s bench/order.lua
orders_after=$(psql_bench -c "SELECT count(*) FROM orders")
awk -v o="$(cat .dev/bench-order_create.rps)" -v p="$pgb_tps" \
  'BEGIN { printf "  order creation / pgbench tpcb-like = %.2f  (%s orders written)\n", o / p, '"$orders_after - $orders_before"' }'

# the outbox kept up? the backlog right after the run, then how long it
# takes the worker to drain it
backlog=$(psql_bench -c "SELECT count(*) FROM outbox_events e, outbox_cursor c WHERE (e.txid, e.seq) > (c.txid, c.seq)")
events=$(( $(psql_bench -c "SELECT count(*) FROM outbox_events") - events_before ))
start=$(date +%s.%N)
while [ "$(psql_bench -c "SELECT count(*) FROM outbox_events e, outbox_cursor c WHERE (e.txid, e.seq) > (c.txid, c.seq)")" != 0 ]; do
  sleep 0.1
  if awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN { exit !(n - s > 120) }'; then break; fi
done
drained=$(awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - s }')
awk -v e="$events" -v b="$backlog" -v d="$drained" -v o="$(cat .dev/bench-order_create.rps)" -v t="$DURATION" \
  'BEGIN { printf "  outbox: %d events during the run, backlog at its end %d, drained %.1f s later: %.0f events/s fanned out vs %.0f orders/s\n", e, b, d, e / (t + d), o }'

# one hot listing, 500 concurrent buyers
HOT=$(head -n 1 "$BENCH_ORDER_IDS")
echo "$HOT" > "$ROOT/.dev/bench-hot-id.txt"
before=$(psql_bench -c "SELECT stock + coalesce((SELECT sum(quantity) FROM order_items WHERE listing_id = '$HOT'), 0) FROM listings WHERE id = '$HOT'")
CONNS_SAVED=$CONNS; CONNS=500
BENCH_ORDER_IDS="$ROOT/.dev/bench-hot-id.txt" run_wrk hot_listing_500 "$BASE/" -s bench/order.lua
CONNS=$CONNS_SAVED
after=$(psql_bench -c "SELECT stock + coalesce((SELECT sum(quantity) FROM order_items WHERE listing_id = '$HOT'), 0) FROM listings WHERE id = '$HOT'")
echo "  hot listing invariant: stock + sold before = $before, after = $after"
