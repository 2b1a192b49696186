#!/usr/bin/env bash
# Durable authorizations per journal backend, in one sitting, with a
# PostgreSQL follower's lag: the in-process durable bench run once per
# backend with the same load. Needs PostgreSQL (PG_URL) and NATS (NATS_URL).
#   bench/backends.sh [CUSTOMERS] [AUTHORIZATIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
customers="${1:-50000}"
authorizations="${2:-200000}"
pg="${PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
nats="${NATS_URL:-nats://127.0.0.1:4222}"
cargo bench -p atobarai-server --bench durable --no-run
run() {
  echo "== $1"
  shift
  env ATOBARAI_BENCH_CUSTOMERS="$customers" ATOBARAI_BENCH_AUTHORIZATIONS="$authorizations" "$@" \
    cargo bench -q -p atobarai-server --bench durable 2>/dev/null
}
run "embedded SQLite"
run "PostgreSQL" ATOBARAI_BENCH_STORE="$pg"
run "PostgreSQL with a follower" ATOBARAI_BENCH_STORE="$pg" ATOBARAI_BENCH_FOLLOWER=1
run "NATS JetStream" ATOBARAI_BENCH_STORE="$nats"
