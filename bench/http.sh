#!/usr/bin/env bash
# Durable HTTP authorizations from a loopback load generator (wrk).
# Usage: bench/http.sh [CONNECTIONS] [SECONDS] [CUSTOMERS]
# Needs: cargo build --release; wrk (Debian package `wrk`); python3.
set -euo pipefail
cd "$(dirname "$0")/.."
conns="${1:-64}"; secs="${2:-30}"; customers="${3:-10000}"
bin=./target/release/atobarai
dir=$(mktemp -d -p target bench-http.XXXX)
key=$($bin merchant add bench --data-dir "$dir" | tail -n1)
$bin serve --data-dir "$dir" --listen 127.0.0.1:18181 >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
sleep 1
python3 - "$key" "$customers" <<'PY'
import http.client, json, sys
key, n = sys.argv[1], int(sys.argv[2])
conn = http.client.HTTPConnection("127.0.0.1", 18181)
ids = []
for i in range(n):
    # Distinct people: their own phone, e-mail and address (one shared phone
    # would rightly merge every account into one identity cluster).
    addr = f"東京都千代田区霞が関{1 + i % 3}-{1 + (i // 3) % 50}-{1 + i // 150}"
    body = json.dumps({"external_id": f"c-{i}", "name": "山田 太郎", "name_kana": "ヤマダ タロウ",
        "birth_date": "1990-04-01", "phone": f"090{12340000 + i:08d}", "email": f"user{i}@example.jp",
        "postal_code": "100-0013", "address": addr, "payment_method": "bank_debit"})
    conn.request("POST", "/v1/customers", body, {"Authorization": f"Bearer {key}", "Idempotency-Key": f"r-{i}", "Content-Type": "application/json"})
    r = conn.getresponse(); v = json.loads(r.read())
    if "id" not in v:
        sys.exit(f"registration {i} refused: {v}")
    ids.append(v["id"])
open("bench/.customers", "w").write("\n".join(ids) + "\n")
PY
ATOBARAI_KEY="$key" wrk -t2 -c"$conns" -d"${secs}s" --latency -s bench/http_authorize.lua http://127.0.0.1:18181
curl -s http://127.0.0.1:18181/metrics | grep -E '^atobarai_journal_(batch_records_(sum|count)|commit_seconds_(sum|count))'
rm -f bench/.customers
