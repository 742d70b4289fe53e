# Soak: several minutes of the mixed workload — listing reads, searches,
# order creation and payments at once — with the server's throughput, p99
# and memory (RSS) recorded every interval (sourced by bench/run.sh;
# BENCH_SOAK_MINUTES, default 5, BENCH_SOAK_INTERVAL, default 30 s).
# Memory must not grow once warm: the last interval's RSS is compared with
# the second's.
MINUTES=${BENCH_SOAK_MINUTES:-5}
# which loads run (a subset helps tell where memory goes)
KINDS=${BENCH_SOAK_KINDS:-reads search orders pays}
INTERVAL=${BENCH_SOAK_INTERVAL:-30}
ROUNDS=$(( MINUTES * 60 / INTERVAL ))
SOAK="$ROOT/.dev/bench-soak"
mkdir -p "$SOAK"
psql_bench -c "UPDATE listings SET stock = 1000000, status = 'active' WHERE id IN (SELECT id FROM listings ORDER BY id LIMIT 1000)"
export BENCH_IDS="$SOAK/ids.txt" BENCH_ORDER_IDS="$SOAK/order-ids.txt" BENCH_PAYMENT_IDS="$SOAK/payment-ids.txt"
psql_bench -c "SELECT id FROM listings WHERE status = 'active' ORDER BY id LIMIT 1000" > "$BENCH_ORDER_IDS"
psql_bench -c "SELECT id FROM listings WHERE status = 'active' ORDER BY random() LIMIT 2000" > "$BENCH_IDS"
curl -fs -X POST "$BASE/api/v1/auth/register" -H 'content-type: application/json' \
  -d '{"email":"soak-buyer@coopmart.local","password":"Load-Test-Buyer-2026"}' >/dev/null || true
BENCH_TOKEN=$(curl -fs -X POST "$BASE/api/v1/auth/token" -d grant_type=password \
  -d username=soak-buyer@coopmart.local -d password=Load-Test-Buyer-2026 | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
export BENCH_TOKEN
# pending payments for the whole soak (the sandbox marks each paid once)
psql_bench -v ON_ERROR_STOP=1 <<SQL
SET synchronous_commit = off;
CREATE TEMP TABLE soak_pay AS
  SELECT gen_random_uuid() AS order_id, gen_random_uuid() AS so_id, gen_random_uuid() AS payment_id, n
    FROM generate_series(1, 200000) AS n;
INSERT INTO orders (id, number, buyer_user_id, status, total_fen, delivery, expires_at, created_at)
SELECT order_id, 'SOAK' || n, (SELECT id FROM users ORDER BY created_at LIMIT 1), 'pending_payment', 6800,
       '{"method": "home_delivery", "address": {"recipient": "压测", "phone": "13800000000", "region_code": "110105", "line": "1号"}}',
       now() + interval '2 hours', now()
  FROM soak_pay;
INSERT INTO seller_orders (id, order_id, seller_id, status, subtotal_fen, freight_fen, commission_fen, created_at, updated_at)
SELECT so_id, order_id, (SELECT seller_id FROM listings ORDER BY id LIMIT 1), 'pending_payment', 6000, 800, 240, now(), now()
  FROM soak_pay;
INSERT INTO payments (id, order_id, amount_fen, provider, status)
SELECT payment_id, order_id, 6800, 'sandbox', 'pending' FROM soak_pay;
SQL
psql_bench -c "SELECT id FROM payments WHERE status = 'pending' ORDER BY random()" > "$BENCH_PAYMENT_IDS"
python3 bench/search_catalog.py queries "$SOAK/search.lua" >/dev/null

echo "[bench] soak: $MINUTES min, reads 16 + searches 16 + orders 16 + payments 16 connections"
printf '%-8s %10s %10s %10s %10s %10s %10s\n' "t (s)" "reads/s" "search/s" "orders/s" "pays/s" "p99 max" "RSS MiB"
rss() { awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$SERVER/status"; }
first_rss=""
for round in $(seq 1 "$ROUNDS"); do
  pids=()
  for kind in $KINDS; do
    case $kind in
      reads) script=bench/listing.lua ;; search) script="$SOAK/search.lua" ;;
      orders) script=bench/order.lua ;; pays) script=bench/payment.lua ;;
    esac
    wrk -t1 -c16 -d"${INTERVAL}s" --latency -s "$script" "$BASE/" > "$SOAK/$kind.out" 2>&1 &
    pids+=($!)
  done
  # only the wrk runs: a bare `wait` would also wait for the server
  wait "${pids[@]}"
  line=$(printf '%-8s' $((round * INTERVAL)))
  p99max=0
  for kind in reads search orders pays; do
    [[ " $KINDS " == *" $kind "* ]] || { line="$line $(printf '%10s' -)"; continue; }
    rps=$(awk '/Requests\/sec/ {printf "%d", $2}' "$SOAK/$kind.out")
    p99=$(awk '$1=="99%" {v=$2; if (v ~ /ms$/) {sub(/ms/, "", v)} else if (v ~ /us$/) {sub(/us/, "", v); v=v/1000} else if (v ~ /s$/) {sub(/s/, "", v); v=v*1000}; printf "%.0f", v}' "$SOAK/$kind.out")
    [ "${p99:-0}" -gt "$p99max" ] && p99max=$p99
    line="$line $(printf '%10s' "$rps")"
  done
  now_rss=$(rss)
  [ "$round" -eq 2 ] && first_rss=$now_rss
  printf '%s %8s ms %10s\n' "$line" "$p99max" "$now_rss"
done
echo "[bench] soak RSS: second interval ${first_rss:-?} MiB, last $(rss) MiB"
