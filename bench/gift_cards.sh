#!/usr/bin/env bash
# Durable gift-card redemptions over HTTP from a loopback load generator.
# Usage: bench/gift_cards.sh [CONNECTIONS] [SECONDS] [CAPTURES]
# Issues CAPTURES × 1,000 codes first (through the API: an issuer merchant,
# one customer and one captured order of 1,000 ¥1 cards per capture), then
# redeems them with wrk. Make CAPTURES × 1,000 larger than the redemptions
# the run will do: a code used up is a failure, and failures lock the
# address out.
# Needs: cargo build --release; wrk (Debian package `wrk`); python3.
set -euo pipefail
cd "$(dirname "$0")/.."
conns="${1:-64}"; secs="${2:-20}"; captures="${3:-400}"
bin=./target/release/atobarai
dir=$(mktemp -d -p target bench-gift.XXXX)
admin=$($bin operator add bench --role admin --data-dir "$dir" | tail -n1)
$bin serve --data-dir "$dir" --listen 127.0.0.1:18182 >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir" bench/.codes' EXIT
sleep 1
issuer=$(python3 - "$admin" "$captures" <<'PY'
import http.client, json, sys
admin, n = sys.argv[1], int(sys.argv[2])
conn = http.client.HTTPConnection("127.0.0.1", 18182)
seq = 0
def post(key, path, body):
    global seq
    seq += 1
    conn.request("POST", path, json.dumps(body), {"Authorization": f"Bearer {key}",
        "Idempotency-Key": f"setup-{seq}", "Content-Type": "application/json"})
    r = conn.getresponse(); v = json.loads(r.read())
    if r.status >= 300:
        sys.exit(f"{path}: {r.status} {v}")
    return v
issuer = post(admin, "/v1/admin/merchants", {"name": "bench issuer", "gift_card_issuer": True})["key"]
codes = []
for i in range(n):
    addr = f"東京都千代田区霞が関{1 + i % 3}-{1 + (i // 3) % 50}-{1 + i // 150}"
    cus = post(issuer, "/v1/customers", {"external_id": f"c-{i}", "name": "山田 太郎",
        "name_kana": "ヤマダ タロウ", "birth_date": "1990-04-01", "phone": f"090{12340000 + i:08d}",
        "email": f"user{i}@example.jp", "postal_code": "100-0013", "address": addr,
        "payment_method": "bank_debit"})["id"]
    order = post(issuer, "/v1/authorizations", {"merchant_order_id": f"o-{i}", "customer": cus,
        "product": "monthly", "channel": "online",
        "items": [{"sku": "GC-1", "name": "gift card", "category": "gift_card", "unit_price": 1, "quantity": 1000},
                  {"sku": "DG-1", "name": "detergent", "category": "daily_goods", "unit_price": 480, "quantity": 1}],
        "shipping_address": "Tokyo", "device_id": f"dev-{i}", "ip": "203.0.113.7"})
    oid = order["order_id"]
    if order["decision"] == "review":
        post(admin, f"/v1/admin/orders/{oid}/review", {"decision": "approve"})
    elif order["decision"] != "approve":
        sys.exit(f"order {i} declined: {order}")
    captured = post(issuer, f"/v1/orders/{oid}/capture", {})
    codes += [c["code"] for c in captured["gift_cards"]]
open("bench/.codes", "w").write("\n".join(codes) + "\n")
print(issuer)
PY
)
echo "$(wc -l < bench/.codes) codes issued"
ATOBARAI_KEY="$issuer" ATOBARAI_THREADS=2 wrk -t2 -c"$conns" -d"${secs}s" --latency -s bench/http_redeem.lua http://127.0.0.1:18182
curl -s http://127.0.0.1:18182/metrics | grep -E '^atobarai_journal_(batch_records_(sum|count)|commit_seconds_(sum|count))'
