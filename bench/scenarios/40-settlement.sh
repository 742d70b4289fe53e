# A settlement run over 1,000,000 completed seller orders (one line each)
# of 1,000 sellers, and the trial balance at that size (sourced by
# bench/run.sh, whose server bootstraps the admin used here).
#
# The completed orders are written by SQL (the API would need hours to make
# a million), with one ledger entry per seller carrying what their
# completions credited (Σ items + freight − commission to the seller's
# payable, Σ commission to revenue, from buyer funds held), so the run's
# postings meet real balances and the books must still balance after it.
ADMIN_TOKEN=$(curl -fs -X POST "$BASE/api/v1/auth/token" -d grant_type=password \
  -d username="$BOOTSTRAP_ADMIN_EMAIL" -d password="$BOOTSTRAP_ADMIN_PASSWORD" | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
echo "[bench] writing 1,000 sellers and 1,000,000 completed seller orders"
gen_start=$(date +%s)
psql_bench -v ON_ERROR_STOP=1 <<'SQL'
SET synchronous_commit = off;
CREATE TEMP TABLE bench_sellers AS
  SELECT gen_random_uuid() AS id, n FROM generate_series(1, 1000) AS n;
INSERT INTO organizations (id, kind, name, credit_code, region_code, contact_email, created_by)
SELECT s.id, 'enterprise', '结算压测卖家 ' || s.n, 'BENCHSETTLE' || lpad(s.n::text, 7, '0'), '110105',
       'settle-' || s.n || '@bench.local', (SELECT id FROM users ORDER BY created_at LIMIT 1)
  FROM bench_sellers s;
CREATE TEMP TABLE bench_orders AS
  SELECT gen_random_uuid() AS id, n FROM generate_series(1, 1000) AS n;
INSERT INTO orders (id, number, buyer_user_id, status, total_fen, delivery, expires_at, created_at)
SELECT o.id, 'BENCHSETTLE' || o.n, (SELECT id FROM users ORDER BY created_at LIMIT 1), 'completed',
       1000 * 6800, '{"method": "home_delivery", "address": {"recipient": "压测", "phone": "13800000000", "region_code": "110105", "line": "1号"}}',
       now(), now() - interval '2 days'
  FROM bench_orders o;
CREATE TEMP TABLE bench_so AS
  SELECT gen_random_uuid() AS id, o.id AS order_id, s.id AS seller_id
    FROM bench_orders o CROSS JOIN bench_sellers s;
INSERT INTO seller_orders (id, order_id, seller_id, status, subtotal_fen, freight_fen, commission_fen,
                           created_at, updated_at, completed_at)
SELECT id, order_id, seller_id, 'completed', 6000, 800, 240, now() - interval '2 days', now(), now() - interval '1 day'
  FROM bench_so;
INSERT INTO order_items (id, order_id, seller_order_id, listing_id, title, unit_label, quantity, unit_price_fen,
                         line_total_fen, commission_bp)
SELECT gen_random_uuid(), order_id, id, (SELECT id FROM listings ORDER BY id LIMIT 1), '压测商品', '箱', 1, 6000, 6000, 400
  FROM bench_so;
-- what the completions credited, one entry per seller
DO $$
DECLARE s record;
BEGIN
  FOR s IN SELECT id FROM bench_sellers LOOP
    PERFORM post_entry(gen_random_uuid(), 'bench: completions', 'bench_completions', s.id, now(),
      ARRAY['org:' || s.id || ':seller_payable', 'platform:buyer_funds_held:0', 'platform:commission_revenue:0', 'platform:provider_clearing:0'],
      ARRAY['seller payable', 'buyer funds held', 'commission', 'provider clearing'],
      ARRAY['seller_payable', 'buyer_funds_held', 'commission_revenue', 'provider_clearing'],
      ARRAY['liability', 'liability', 'revenue', 'asset'],
      ARRAY[s.id, NULL, NULL, NULL]::uuid[],
      -- paid 6,800 × 1,000, completed: buyer funds cleared to payable and commission
      ARRAY[-1000 * 6560, 0, -1000 * 240, 1000 * 6800]::int8[]);
  END LOOP;
END $$;
ANALYZE seller_orders; ANALYZE statement_lines; ANALYZE ledger_accounts;
SQL
echo "[bench] written in $(( $(date +%s) - gen_start )) s: $(psql_bench -c "SELECT count(*) FROM seller_orders WHERE status = 'completed'") completed seller orders"

run_start=$(date +%s.%N)
settle=$(curl -fs -X POST "$BASE/api/v1/settlements" -H "Authorization: Bearer $ADMIN_TOKEN" \
  -H 'content-type: application/json' -d "{\"period_end\":\"$(date -u +%F)\",\"hold_days\":0}")
run_secs=$(awk -v s="$run_start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
lines=$(psql_bench -c "SELECT count(*) FROM statement_lines")
printf '%-28s %12s s   %s statements, %s lines, %s lines/s\n' "settlement_run_1m" "$run_secs" \
  "$(sed 's/.*"statement_count":\([0-9]*\).*/\1/' <<<"$settle")" "$lines" \
  "$(awk -v l="$lines" -v s="$run_secs" 'BEGIN { printf "%.0f", l / s }')"
# the write baseline of this run (30-orders.sh ran it, or now)
[ -n "${pgb_tps:-}" ] || run_pgbench
awk -v l="$lines" -v s="$run_secs" -v p="${pgb_tps:-0}" \
  'BEGIN { if (p > 0) printf "  settled lines per second / pgbench tpcb-like = %.1f\n", (l / s) / p }'
echo "  books after the run: $(curl -fs "$BASE/api/v1/ledger/trial-balance" -H "Authorization: Bearer $ADMIN_TOKEN" \
  | sed 's/.*"total_debits_fen":\([0-9]*\),"total_credits_fen":\([0-9]*\).*/debits \1 = credits \2/')"
echo "  seller payable left: $(psql_bench -c "SELECT coalesce(sum(balance_fen), 0) FROM ledger_accounts WHERE type = 'seller_payable'") fen"
echo "  a second run settles: $(curl -fs -X POST "$BASE/api/v1/settlements" -H "Authorization: Bearer $ADMIN_TOKEN" \
  -H 'content-type: application/json' -d "{\"period_end\":\"$(date -u +%F)\",\"hold_days\":0}" | sed 's/.*"statement_count":\([0-9]*\).*/\1/') statements"

cat > .dev/bench-trial.lua <<LUA
wrk.headers["Authorization"] = "Bearer $ADMIN_TOKEN"
LUA
run_wrk trial_balance "$BASE/api/v1/ledger/trial-balance" -s .dev/bench-trial.lua
