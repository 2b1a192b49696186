#!/usr/bin/env bash
# Every spine figure of BENCHMARKS.md in one sitting, back to back, so the
# ratios compare like with like: engine in process (1M customers), durable
# in process (plain, with readers, with snapshots at 1M customers), durable
# HTTP with wrk, and the plain PostgreSQL baseline just before and after.
# Usage: bench/spine.sh [DATABASE_URL]   (output also in target/spine-bench.log)
# Needs: wrk and pgbench (Debian packages), python3, a local PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
url="${1:-postgres://postgres@127.0.0.1:5432/test}"
log=target/spine-bench.log
: >"$log"
run() { echo "=== $*" | tee -a "$log"; "$@" 2>&1 | tee -a "$log"; }
cargo build --release -p atobarai
run bench/pg_baseline.sh "$url" 16 20
run cargo bench -p atobarai-engine --bench latency
run cargo bench -p atobarai-server --bench durable
run env ATOBARAI_BENCH_READERS=4 cargo bench -p atobarai-server --bench durable
run env ATOBARAI_BENCH_CUSTOMERS=1000000 ATOBARAI_BENCH_AUTHORIZATIONS=1000000 \
  ATOBARAI_BENCH_SNAPSHOT_EVERY=250000 cargo bench -p atobarai-server --bench durable
run bench/http.sh 64 20 20000
run bench/pg_baseline.sh "$url" 16 20
