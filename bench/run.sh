#!/usr/bin/env bash
# Load benchmarks against the real server (release build) and the dev
# services started by `scripts/dev bench`. Every figure is reported next to
# the GET /healthz baseline measured in the same run, because absolute
# numbers on a 2-core machine are noisy.
#
#   BENCH_DURATION (default 10s)  BENCH_CONNECTIONS (default 64)
#   BENCH_SCENARIOS (e.g. orders: only bench/scenarios/*orders*.sh)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DURATION=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNECTIONS:-64}
PORT=${BENCH_PORT:-18080}
BASE="http://127.0.0.1:$PORT"

command -v wrk >/dev/null || {
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
  else sudo apt-get install -y -qq wrk >/dev/null; fi
}

# BENCH_BIN: another build of the server (e.g. an earlier commit built in a
# worktree) for an A/B pair in one session; default: this tree's release build
if [ -n "${BENCH_BIN:-}" ]; then
  echo "[bench] server: $BENCH_BIN"
else
  echo "[bench] cargo build --release"
  cargo build --release --quiet --bin coopmart
fi
SERVER_BIN=${BENCH_BIN:-./target/release/coopmart}

# A database of its own so benchmark data never mixes with dev data.
export BENCH_DB=coopmart_bench
# Recreated every run, so each run starts from the same data.
PGPASSWORD=coopmart psql -h 127.0.0.1 -p "${COOPMART_PG_PORT:-55432}" -U coopmart -d postgres -q \
  -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" -c "CREATE DATABASE $BENCH_DB"
export DATABASE_URL="postgres://coopmart:coopmart@127.0.0.1:${COOPMART_PG_PORT:-55432}/$BENCH_DB"
export BIND_ADDR="127.0.0.1:$PORT" LOG_FORMAT=json RUST_LOG=warn HTTP_WORKERS=2 DATABASE_POOL_SIZE=8
# a platform admin for the settlement scenario (benchmark database only)
export BOOTSTRAP_ADMIN_EMAIL=bench-admin@coopmart.local BOOTSTRAP_ADMIN_PASSWORD=Ledger-Close-Run-2026
export REDIS_KEY_PREFIX="bench:"
# mails as files in a folder of the run's own (counted by the payments
# scenario), in memory: the receiving MTA is not what is measured (tens of
# thousands of files created in one ext4 folder cost the server more CPU in
# the kernel than its own mail work)
BENCH_MAIL_ROOT=$([ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm || echo "$ROOT/.dev")
export MAIL_TRANSPORT=file MAIL_FILE_DIR="$BENCH_MAIL_ROOT/coopmart-bench-mail"
rm -rf "$MAIL_FILE_DIR"; mkdir -p "$MAIL_FILE_DIR"
# the statistics scenario seals its history at once (sealing is a sweep)
export SALES_SEAL_INTERVAL_MS=1000

"$SERVER_BIN" serve > .dev/bench-server.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs "$BASE/healthz" >/dev/null && break; sleep 0.1; done

# run_wrk NAME URL [extra wrk args...] → prints "NAME rps p50 p99"
run_wrk() {
  local name=$1 url=$2; shift 2
  local out; out=$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency "$@" "$url")
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  local non2xx; non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  printf '%-28s %12s req/s   p50 %8s   p99 %8s%s\n' "$name" "$rps" "$p50" "$p99" "${non2xx:+   non-2xx: $non2xx}"
  echo "$rps" > ".dev/bench-$name.rps"
}

echo "[bench] $CONNS connections, $DURATION each, 2 wrk threads, server: 2 workers"
run_wrk healthz "$BASE/healthz"
base_rps=$(cat .dev/bench-healthz.rps)

psql_bench() {
  PGPASSWORD=coopmart psql -h 127.0.0.1 -p "${COOPMART_PG_PORT:-55432}" -U coopmart -d "$BENCH_DB" -tAq "$@"
}

# wait_indexed [PORT]: waits (≤ 180 s) until that instance's search index
# holds every active listing, so no measurement shares the CPU with indexing
# (a fresh instance builds its index; seeded listings are indexed by polls)
wait_indexed() {
  local port=${1:-$PORT} want docs i
  want=$(psql_bench -c "SELECT count(*) FROM listings WHERE status = 'active'")
  for i in $(seq 1 1800); do
    docs=$(curl -fs "http://127.0.0.1:$port/readyz" 2>/dev/null | sed -n 's/.*"documents":\([0-9]*\).*/\1/p' || true)
    [ "${docs:-0}" -ge "$want" ] && return 0
    sleep 0.1
  done
  echo "[bench] warning: the index on port $port holds ${docs:-0} of $want listings after 180 s"
}

echo "[bench] seeding 10,000 listings"
"$SERVER_BIN" seed-bench 10000 >/dev/null
psql_bench -c "ANALYZE listings"
echo "[bench] listings: $(psql_bench -c "SELECT count(*) FROM listings")"
wait_indexed

# pgbench tpcb-like on a database of its own (the write baseline): sets pgb_tps
run_pgbench() {
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  PGB_DB=coopmart_pgbench
  PGPASSWORD=coopmart psql -h 127.0.0.1 -p "${COOPMART_PG_PORT:-55432}" -U coopmart -d postgres -q \
    -c "DROP DATABASE IF EXISTS $PGB_DB" -c "CREATE DATABASE $PGB_DB"
  PGPASSWORD=coopmart "$PGBIN/pgbench" -h 127.0.0.1 -p "${COOPMART_PG_PORT:-55432}" -U coopmart -i -s 10 -q "$PGB_DB" >/dev/null 2>&1
  local out
  out=$(PGPASSWORD=coopmart "$PGBIN/pgbench" -h 127.0.0.1 -p "${COOPMART_PG_PORT:-55432}" -U coopmart \
    -b tpcb-like -c "$CONNS" -j 2 -T "${DURATION%s}" "$PGB_DB" 2>/dev/null)
  pgb_tps=$(awk '/^tps/ {print $3; exit}' <<<"$out")
  printf '%-28s %12s tps (scale 10, %s clients)\n' "pgbench_tpcb_like" "$pgb_tps" "$CONNS"
}

# BENCH_SCENARIOS=orders runs only the scenarios whose file name contains it
for extra in bench/scenarios/*"${BENCH_SCENARIOS:-}"*.sh; do
  [ -e "$extra" ] || continue
  # shellcheck source=/dev/null
  source "$extra"
done

echo "[bench] ratios are relative to GET /healthz = $base_rps req/s in this run"
for f in .dev/bench-*.rps; do
  n=$(basename "$f" .rps); n=${n#bench-}
  [ "$n" = healthz ] && continue
  awk -v n="$n" -v r="$(cat "$f")" -v b="$base_rps" 'BEGIN { printf "  %-26s %.2f × healthz\n", n, r / b }'
done
rm -f .dev/bench-*.rps
