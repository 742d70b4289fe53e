# Search at 1,000,000 listings (sourced by bench/run.sh).
#
# 1,000,000 active listings (70 products with Zipf-like popularity, 300
# cities, qualifiers, varieties, certifications, grades, prices, sales) are
# written by SQL; the server is restarted and the time until /readyz says
# the index is built is the build time; then 50,000 requests drawn
# Zipf-like from more than 2,000 distinct queries of the catalog's own
# vocabulary (one and two words, pinyin, initials, typos, synonyms, with and
# without filters and facets) at $CONNS connections, first cold (the page
# bodies' cache fills), then measured warm, against GET /healthz in the same
# run; the server's RSS is sampled during the load.
N=${BENCH_SEARCH_LISTINGS:-1000000}
CATALOG="$ROOT/.dev/bench-search-catalog.tsv"
QUERIES="$ROOT/.dev/bench-search-queries.lua"
echo "[bench] writing $N search listings"
gen_start=$(date +%s)
python3 bench/search_catalog.py listings "$N" "$CATALOG"
DISTINCT=$(python3 bench/search_catalog.py queries "$QUERIES")
psql_bench -v ON_ERROR_STOP=1 <<SQL
SET synchronous_commit = off;
SET session_replication_role = replica;
CREATE TEMP TABLE sc (title text, variety text, description text, cat text, region text, grade text,
                      mode text, cert text, price bigint, sold bigint, age int);
\copy sc FROM '$CATALOG'
CREATE TEMP TABLE sc_cat AS
  SELECT child.code, child.id, child.parent_id AS root FROM categories child WHERE child.parent_id IS NOT NULL;
INSERT INTO listings (id, seller_id, title, description, category_id, root_category_id, variety, grade,
                      unit_label, unit_weight_grams, price_fen, tier_prices, min_order_qty, stock,
                      origin_region_code, storage, certifications, cert_kinds, images, sale_mode, sale_terms,
                      status, sold_qty, created_at, updated_at, search_changed_at)
SELECT gen_random_uuid(), t.seller_id, sc.title, sc.description, c.id, c.root, sc.variety, sc.grade,
       '箱', 5000, sc.price, '[]', 1, 500, sc.region, 'ambient',
       CASE WHEN sc.cert = '' THEN '[]'::jsonb
            ELSE jsonb_build_array(jsonb_build_object('kind', sc.cert, 'cert_no', 'BENCH-1', 'valid_until', '2031-12-31')) END,
       CASE WHEN sc.cert = '' THEN '{}'::text[] ELSE ARRAY[sc.cert] END,
       '[]', sc.mode,
       CASE WHEN sc.mode = 'presale' THEN jsonb_build_object('ship_from_date', (current_date + 30)::text) ELSE '{}'::jsonb END,
       'active', sc.sold, now() - make_interval(mins => sc.age), now() - make_interval(mins => sc.age), now()
  FROM sc JOIN sc_cat c ON c.code = sc.cat
 CROSS JOIN (SELECT seller_id FROM listings LIMIT 1) t;
SET session_replication_role = origin;
ANALYZE listings;
SQL
rm -f "$CATALOG"
echo "[bench] written in $(( $(date +%s) - gen_start )) s; active listings: $(psql_bench -c "SELECT count(*) FROM listings WHERE status = 'active'")"

# a fresh instance builds its index from Postgres before it is ready
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
build_start=$(date +%s.%N)
"$SERVER_BIN" serve > .dev/bench-server.log 2>&1 &
SERVER=$!
for _ in $(seq 1 3000); do
  curl -fs "$BASE/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
build_s=$(awk -v a="$build_start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
docs=$(curl -fs "$BASE/readyz" | sed 's/.*"documents":\([0-9]*\).*/\1/')
rss_ready=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER/status")
printf '%-28s %12.1f s to ready (%s documents), RSS %s MiB\n' "search_index_build" "$build_s" "$docs" "$((rss_ready / 1024))"

# the baseline again, against this instance
run_wrk healthz_search_run "$BASE/healthz"
(
  peak=0
  while kill -0 "$SERVER" 2>/dev/null; do
    r=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER/status" 2>/dev/null || echo 0)
    [ "${r:-0}" -gt "$peak" ] && peak=$r && echo "$peak" > .dev/bench-search-rss
    sleep 0.5
  done
) &
SAMPLER=$!
# one untimed pass first: a fresh instance's listing-body cache (the
# in-process and Redis tiers the result pages are served from) is cold
# after the build, and filling it from Postgres is not what is measured
run_wrk "search_1m_cold" "$BASE/" -s "$QUERIES"
run_wrk "search_1m" "$BASE/" -s "$QUERIES"
kill "$SAMPLER" 2>/dev/null || true
echo "[bench] $DISTINCT distinct queries; server RSS peak under load: $(( $(cat .dev/bench-search-rss) / 1024 )) MiB"
awk -v s="$(cat .dev/bench-search_1m.rps)" -v h="$(cat .dev/bench-healthz_search_run.rps)" \
  'BEGIN { printf "[bench] search_1m = %.3f × healthz of the same instance\n", s / h }'
