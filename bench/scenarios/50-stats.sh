# Sales statistics over 1,000,000 order lines (sourced by bench/run.sh,
# whose server bootstraps the admin used here and seals every second).
#
# 500,000 paid seller orders of 1,000 sellers in 20 counties, two lines
# each (the 10,000 benchmark listings, so their categories), paid over the
# last 60 days, 2 % refunded in full, are written by SQL; the server's sweep
# seals the closed hours into the daily rollup (timed); then GET
# /stats/sales for the last 30 days by seller, region and category under
# load, reading the rollup and the facts of the hour not sealed yet live.
ADMIN_TOKEN=$(curl -fs -X POST "$BASE/api/v1/auth/token" -d grant_type=password \
  -d username="$BOOTSTRAP_ADMIN_EMAIL" -d password="$BOOTSTRAP_ADMIN_PASSWORD" | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
echo "[bench] writing 1,000 sellers, 500,000 paid seller orders, 1,000,000 order lines over 60 days"
gen_start=$(date +%s)
psql_bench -v ON_ERROR_STOP=1 <<'SQL'
SET synchronous_commit = off;
-- written in bulk: no outbox triggers, no per-row foreign key checks
SET session_replication_role = replica;
CREATE TEMP TABLE st_sellers AS
  SELECT gen_random_uuid() AS id, n,
         (ARRAY['110105','110108','120101','130102','140105','150102','210102','220102','220106','230102',
                '310101','320102','330106','340102','350102','360102','370102','410102','420102','430102'])[1 + n % 20] AS region
    FROM generate_series(1, 1000) AS n;
INSERT INTO organizations (id, kind, name, credit_code, region_code, contact_email, created_by)
SELECT s.id, 'farmer_coop', '统计压测合作社 ' || s.n, 'BENCHSTATS' || lpad(s.n::text, 8, '0'), s.region,
       'stats-' || s.n || '@bench.local', (SELECT id FROM users ORDER BY created_at LIMIT 1)
  FROM st_sellers s;
CREATE TEMP TABLE st_listings AS
  SELECT row_number() OVER (ORDER BY id) - 1 AS k, id FROM listings;
CREATE TEMP TABLE st_so AS
  SELECT gen_random_uuid() AS id, gen_random_uuid() AS order_id, g.n, s.id AS seller_id,
         now() - (random() * interval '60 days') AS paid_at
    FROM generate_series(1, 500000) AS g(n) JOIN st_sellers s ON s.n = 1 + g.n % 1000;
INSERT INTO orders (id, number, buyer_user_id, status, total_fen, delivery, expires_at, created_at)
SELECT order_id, 'BENCHSTATS' || n, (SELECT id FROM users ORDER BY created_at LIMIT 1), 'paid', 13600,
       '{"method": "home_delivery", "address": {"recipient": "压测", "phone": "13800000000", "region_code": "110105", "line": "1号"}}',
       paid_at + interval '15 minutes', paid_at
  FROM st_so;
INSERT INTO seller_orders (id, order_id, seller_id, status, subtotal_fen, freight_fen, commission_fen, created_at, updated_at)
SELECT id, order_id, seller_id, CASE WHEN n % 50 = 0 THEN 'refunded' ELSE 'paid' END, 13600, 0, 544, paid_at, paid_at
  FROM st_so;
INSERT INTO order_items (id, order_id, seller_order_id, listing_id, title, unit_label, quantity, unit_price_fen,
                         line_total_fen, commission_bp)
SELECT gen_random_uuid(), s.order_id, s.id, l.id, '压测商品', '箱', 1 + (s.n + line) % 3, 6800, 6800 * (1 + (s.n + line) % 3), 400
  FROM st_so s CROSS JOIN (VALUES (0), (1)) AS lines(line)
  JOIN st_listings l ON l.k = (s.n * 2 + line) % (SELECT count(*) FROM st_listings);
INSERT INTO order_events (id, order_id, seller_order_id, from_status, to_status, actor, occurred_at)
SELECT gen_random_uuid(), order_id, id, 'pending_payment', 'paid', 'provider', paid_at FROM st_so
UNION ALL
SELECT gen_random_uuid(), order_id, id, 'paid', 'refunded', 'seller', least(paid_at + interval '1 hour', now())
  FROM st_so WHERE n % 50 = 0;
SET session_replication_role = origin;
ANALYZE organizations; ANALYZE seller_orders; ANALYZE order_items; ANALYZE order_events; ANALYZE listings;
SQL
echo "[bench] written in $(( $(date +%s) - gen_start )) s: $(psql_bench -c "SELECT count(*) FROM order_items i JOIN seller_orders so ON so.id = i.seller_order_id WHERE so.seller_id IN (SELECT id FROM organizations WHERE credit_code LIKE 'BENCHSTATS%')") order lines"

# the sweep seals the closed hours (744 a round, a round a second)
seal_start=$(date +%s.%N)
# every closed hour is sealed once the watermark reaches the last sealable
# hour (five minutes of margin)
for _ in $(seq 1 600); do
  [ "$(psql_bench -c "SELECT coalesce(max(hour) >= date_trunc('hour', now() - interval '5 minutes') - interval '1 hour', false) FROM sales_hours")" = t ] && break
  sleep 0.5
done
seal_secs=$(awk -v s="$seal_start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
echo "  sealed $(psql_bench -c "SELECT count(*) FROM sales_hours") hours in ${seal_secs} s (polled every 0.5 s): $(psql_bench -c "SELECT count(*) FROM sales_daily_sellers") seller rows, $(psql_bench -c "SELECT count(*) FROM sales_daily_categories") category rows"

from=$(date -u -d '29 days ago' +%F); to=$(date -u -d tomorrow +%F)
# the figures agree with a brute-force sum over the same order lines
api_gross=$(curl -fs "$BASE/api/v1/stats/sales?from=$from&to=$to&group_by=seller" -H "Authorization: Bearer $ADMIN_TOKEN" \
  | sed 's/.*"totals":{"gross_fen":\([0-9]*\).*/\1/')
sql_gross=$(psql_bench -c "SELECT coalesce(sum(i.line_total_fen), 0) FROM order_events e JOIN order_items i ON i.seller_order_id = e.seller_order_id
  WHERE e.seller_order_id IS NOT NULL AND e.to_status = 'paid'
    AND (e.occurred_at AT TIME ZONE INTERVAL '+08:00')::date BETWEEN '$from' AND '$to'")
echo "  30-day gross: API $api_gross fen, brute force $sql_gross fen"
cat > .dev/bench-stats.lua <<LUA
wrk.headers["Authorization"] = "Bearer $ADMIN_TOKEN"
LUA
# one client: how long one report takes (a dashboard opening)
for g in seller region category; do
  out=$(wrk -t1 -c1 -d5s --latency -s .dev/bench-stats.lua "$BASE/api/v1/stats/sales?from=$from&to=$to&group_by=$g")
  printf '%-28s %12s req/s   p50 %8s   p99 %8s   (1 client)\n' "stats_30d_by_${g}_1c" \
    "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")"
done
for g in seller region category; do
  run_wrk "stats_30d_by_$g" "$BASE/api/v1/stats/sales?from=$from&to=$to&group_by=$g" -s .dev/bench-stats.lua
done
run_wrk alerts_unsalable "$BASE/api/v1/alerts/unsalable?region_code=11" -s .dev/bench-stats.lua
