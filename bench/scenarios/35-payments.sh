# Payments: the sandbox provider's signed notification applied (order and
# seller orders paid, events, the ledger posting), vs pgbench of the same
# run (sourced by bench/run.sh).
[ -n "${pgb_tps:-}" ] || run_pgbench
echo "[bench] writing 60,000 unpaid orders with a pending payment each"
psql_bench -v ON_ERROR_STOP=1 <<'SQL'
SET synchronous_commit = off;
CREATE TEMP TABLE bench_pay AS
  SELECT gen_random_uuid() AS order_id, gen_random_uuid() AS so_id, gen_random_uuid() AS payment_id, n
    FROM generate_series(1, 60000) AS n;
INSERT INTO orders (id, number, buyer_user_id, status, total_fen, delivery, expires_at, created_at)
SELECT order_id, 'BENCHPAY' || n, (SELECT id FROM users ORDER BY created_at LIMIT 1), 'pending_payment', 6800,
       '{"method": "home_delivery", "address": {"recipient": "压测", "phone": "13800000000", "region_code": "110105", "line": "1号"}}',
       now() + interval '1 hour', now()
  FROM bench_pay;
INSERT INTO seller_orders (id, order_id, seller_id, status, subtotal_fen, freight_fen, commission_fen, created_at, updated_at)
SELECT so_id, order_id, (SELECT seller_id FROM listings ORDER BY id LIMIT 1), 'pending_payment', 6000, 800, 240, now(), now()
  FROM bench_pay;
INSERT INTO payments (id, order_id, amount_fen, provider, status)
SELECT payment_id, order_id, 6800, 'sandbox', 'pending' FROM bench_pay;
ANALYZE orders; ANALYZE seller_orders; ANALYZE payments;
SQL
export BENCH_PAYMENT_IDS="$ROOT/.dev/bench-payment-ids.txt"
psql_bench -c "SELECT id FROM payments WHERE status = 'pending' ORDER BY random()" > "$BENCH_PAYMENT_IDS"
run_wrk payment_apply "$BASE/" -s bench/payment.lua
paid=$(psql_bench -c "SELECT count(*) FROM payments WHERE status = 'succeeded'")
awk -v o="$(cat .dev/bench-payment_apply.rps)" -v p="$pgb_tps" -v n="$paid" \
  'BEGIN { printf "  payments applied / pgbench tpcb-like = %.2f  (%s payments succeeded)\n", o / p, n }'
echo "  ledger: $(psql_bench -c "SELECT count(*) FROM journal_entries WHERE source_kind = 'payment'") payment entries, provider clearing $(psql_bench -c "SELECT coalesce(sum(balance_fen), 0) FROM ledger_accounts WHERE type = 'provider_clearing'") fen"

# the outbox kept up? every payment writes order.paid, which mails the buyer
# and the seller: the backlog (events not fanned out, mails not sent) right
# after the run, and how long the worker takes to drain it
outbox_backlog() {
  psql_bench -c "SELECT (SELECT count(*) FROM outbox_events e, outbox_cursor c WHERE (e.txid, e.seq) > (c.txid, c.seq))
                      + (SELECT count(*) FROM outbox_deliveries WHERE status = 'pending')"
}
events=$(psql_bench -c "SELECT count(*) FROM outbox_events WHERE type = 'order.paid'")
backlog=$(outbox_backlog)
start=$(date +%s.%N)
while [ "$(outbox_backlog)" != 0 ]; do
  sleep 0.2
  if awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN { exit !(n - s > 300) }'; then break; fi
done
drained=$(awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - s }')
# a mail sent at its first attempt leaves no delivery row: count the files
sent=$(find "$MAIL_FILE_DIR" -name '*.eml' | wc -l)
mails=$(( sent + $(psql_bench -c "SELECT count(*) FROM outbox_deliveries WHERE channel = 'email' AND status <> 'delivered'") ))
awk -v e="$events" -v m="$mails" -v s="$sent" -v b="$backlog" -v d="$drained" -v t="$DURATION" \
  'BEGIN { printf "  outbox: %d order.paid events, %d mails (%d sent); backlog at the end of the run %d, drained %.1f s later: %.0f mails/s\n", e, m, s, b, d, s / (t + d) }'
