#!/usr/bin/env bash
# The alternative a provider would otherwise build: one authorization as one
# plain PostgreSQL transaction (lock the customer row, check the limit,
# insert the order, raise exposure), driven by pgbench.
#
# Usage: bench/pg_baseline.sh [DATABASE_URL] [CLIENTS] [SECONDS]
set -euo pipefail
url="${1:-postgres://postgres@127.0.0.1:5432/test}"
clients="${2:-16}"
seconds="${3:-30}"
customers=100000
here="$(cd "$(dirname "$0")" && pwd)"

psql -q "$url" <<SQL
DROP TABLE IF EXISTS bl_orders;
DROP TABLE IF EXISTS bl_customers;
CREATE TABLE bl_customers (
  id           bigint PRIMARY KEY,
  limit_yen    bigint NOT NULL,
  exposure_yen bigint NOT NULL
);
CREATE TABLE bl_orders (
  id          bigserial PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES bl_customers(id),
  amount_yen  bigint NOT NULL,
  decision    text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO bl_customers SELECT g, 50000, 0 FROM generate_series(1, $customers) g;
VACUUM ANALYZE bl_customers;
SQL

cat > "$here/.pg_baseline.sql" <<SQL
\set cid random(1, $customers)
\set amount random(100, 2000)
BEGIN;
SELECT limit_yen, exposure_yen FROM bl_customers WHERE id = :cid FOR UPDATE \gset
\if :exposure_yen + :amount <= :limit_yen
INSERT INTO bl_orders (customer_id, amount_yen, decision) VALUES (:cid, :amount, 'approve');
UPDATE bl_customers SET exposure_yen = exposure_yen + :amount WHERE id = :cid;
\else
INSERT INTO bl_orders (customer_id, amount_yen, decision) VALUES (:cid, :amount, 'decline');
\endif
COMMIT;
SQL

pgbench -n -r -c "$clients" -j 2 -T "$seconds" -f "$here/.pg_baseline.sql" "$url"
rm -f "$here/.pg_baseline.sql"
