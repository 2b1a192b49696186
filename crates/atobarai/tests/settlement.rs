//! `atobarai export settlement` end to end: a server on a manual clock with
//! a configured carrier product (App Store capped at ¥30,000 a month), carrier
//! orders captured and refunded in March 2026 and one in April, the server
//! stopped, then the partner's March settlement file read back: the March
//! charges and refund only, totals as summed here, the same bytes on every
//! run; a bad month and an unknown partner refused with a clear error.

mod serve;

use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Output};

const CONFIG: &str = r#"
[[products]]
name = "per_order"
cycle = "per_order"
channels = ["online"]

[[products]]
name = "monthly"
cycle = "monthly"
channels = ["online", "in_store"]

[[products]]
name = "carrier"
cycle = "partner_monthly"
partner = "carrier"
channels = ["online"]
merchant_caps_yen = { "App Store" = 30000 }
due_day = 27
partner_fee_bp = 300
points = false
"#;

use serve::Api;

impl Api {
    /// Authorize one line of `price` on `product`; the response.
    async fn authorize(
        &self,
        key: &str,
        customer: &str,
        product: &str,
        id: &str,
        price: i64,
    ) -> Value {
        let body = json!({"merchant_order_id": id, "customer": customer, "product": product,
            "channel": "online",
            "items": [{"sku": format!("SKU-{id}"), "name": "アプリ内課金", "category": "digital_content",
                "unit_price": price, "quantity": 1}]});
        let (s, v) = self.post(key, "/v1/authorizations", body).await;
        assert_eq!(s, 200, "{v}");
        v
    }

    /// Authorize and capture in full; the order id.
    async fn charge(
        &self,
        key: &str,
        customer: &str,
        product: &str,
        id: &str,
        price: i64,
    ) -> String {
        let a = self.authorize(key, customer, product, id, price).await;
        assert_eq!(a["decision"], "approve", "{a}");
        let order = a["order_id"].as_str().unwrap().to_string();
        let (s, v) = self
            .post(key, &format!("/v1/orders/{order}/capture"), json!({}))
            .await;
        assert_eq!(s, 200, "{v}");
        order
    }
}

fn export(data: &Path, config: &Path, partner: &str, month: &str, extra: &[&str]) -> Output {
    Command::new(serve::BIN)
        .args([
            "export",
            "settlement",
            "--partner",
            partner,
            "--month",
            month,
        ])
        .arg("--data-dir")
        .arg(data)
        .arg("--config")
        .arg(config)
        .args(extra)
        .env_remove("ATOBARAI_DATA_DIR")
        .output()
        .unwrap()
}

/// The CSV's records as header-keyed rows.
fn parse_rows(csv_bytes: &[u8]) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut r = csv::Reader::from_reader(csv_bytes);
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "partner",
            "month",
            "date",
            "kind",
            "order",
            "merchant_order_id",
            "customer",
            "merchant",
            "product",
            "amount_yen"
        ]
    );
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_carrier_settlement_for_march_lists_marchs_charges_and_reconciles() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("atobarai.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let cfg = config.to_str().unwrap();
    let store = serve::add_key(&data, &["merchant", "add", "App Store", "--config", cfg]);
    let admin = serve::add_key(
        &data,
        &["operator", "add", "ops", "--role", "admin", "--config", cfg],
    );
    let (mut child, base) = serve::start_with(&[
        "--data-dir",
        data.to_str().unwrap(),
        "--config",
        cfg,
        "--clock",
        "manual",
    ]);
    let api = Api::new(base, "settle");

    api.clock(&admin, "2026-03-02T10:00:00+09:00").await;
    let body = json!({"external_id": "carrier-1", "name": "山田 太郎", "name_kana": "ヤマダ タロウ",
        "birth_date": "1990-04-01", "phone": "090-1234-5678", "email": "taro@example.jp",
        "postal_code": "100-0013", "address": "東京都千代田区霞が関1-3-1 霞ビル101",
        "payment_method": "convenience_store"});
    let (s, v) = api.post(&store, "/v1/customers", body).await;
    assert_eq!(s, 201, "{v}");
    let customer = v["id"].as_str().unwrap().to_string();

    // March: three carrier charges (¥25,000 at the App Store), a monthly
    // one (not the carrier's), a refund, and an order over the cap.
    let a = api
        .charge(&store, &customer, "carrier", "as-1", 12_000)
        .await;
    api.clock(&admin, "2026-03-05T11:00:00+09:00").await;
    let b = api
        .charge(&store, &customer, "carrier", "as-2", 8_000)
        .await;
    let m = api.charge(&store, &customer, "monthly", "m-1", 2_000).await;
    api.clock(&admin, "2026-03-09T12:00:00+09:00").await;
    let c = api
        .charge(&store, &customer, "carrier", "as-3", 5_000)
        .await;
    api.clock(&admin, "2026-03-10T13:00:00+09:00").await;
    let (s, v) = api
        .post(
            &store,
            &format!("/v1/orders/{b}/refunds"),
            json!({"amount": 3_000}),
        )
        .await;
    assert!((200..300).contains(&s), "{s} {v}");
    // ¥22,000 charged on the product at the App Store this month: ¥9,000
    // more is over its ¥30,000 cap (and well under the credit limit).
    api.clock(&admin, "2026-03-20T14:00:00+09:00").await;
    let over = api
        .authorize(&store, &customer, "carrier", "as-over", 9_000)
        .await;
    assert_eq!(over["decision"], "decline", "{over}");
    assert_eq!(over["reasons"][0]["code"], "product_cap_exceeded", "{over}");
    // April: the next settlement's.
    api.clock(&admin, "2026-04-02T10:00:00+09:00").await;
    let april = api
        .charge(&store, &customer, "carrier", "as-4", 4_000)
        .await;

    child.kill().unwrap();
    child.wait().unwrap();

    let out = export(&data, &config, "carrier", "2026-03", &[]);
    let first = serve::ok(&out);
    let rows = parse_rows(first.as_bytes());
    let lines: Vec<(&str, &str, &str, &str, &str)> = rows
        .iter()
        .filter(|r| !r["kind"].starts_with("total_"))
        .map(|r| {
            (
                r["date"].as_str(),
                r["kind"].as_str(),
                r["order"].as_str(),
                r["merchant_order_id"].as_str(),
                r["amount_yen"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("2026-03-02", "charge", a.as_str(), "as-1", "12000"),
            ("2026-03-05", "charge", b.as_str(), "as-2", "8000"),
            ("2026-03-09", "charge", c.as_str(), "as-3", "5000"),
            ("2026-03-10", "refund", b.as_str(), "as-2", "3000"),
        ],
        "{first}"
    );
    for r in &rows {
        assert_eq!(
            (r["partner"].as_str(), r["month"].as_str()),
            ("carrier", "2026-03")
        );
        if !r["kind"].starts_with("total_") {
            assert_eq!(r["customer"], customer);
            assert_eq!(r["merchant"], "App Store");
            assert_eq!(r["product"], "carrier");
        }
        assert_ne!(r["order"], m, "the monthly order is not the carrier's");
        assert_ne!(r["order"], april, "April's charge is April's settlement's");
    }
    let amount = |kind: &str| -> i64 {
        let found: Vec<_> = rows.iter().filter(|r| r["kind"] == kind).collect();
        assert_eq!(found.len(), 1, "{kind} once in {first}");
        found[0]["amount_yen"].parse().unwrap()
    };
    // The totals are the sums of the lines, and of what was done above.
    let sum = |kind: &str| -> i64 {
        rows.iter()
            .filter(|r| r["kind"] == kind)
            .map(|r| r["amount_yen"].parse::<i64>().unwrap())
            .sum()
    };
    assert_eq!(amount("total_charges"), 12_000 + 8_000 + 5_000);
    assert_eq!(amount("total_charges"), sum("charge"));
    assert_eq!(amount("total_refunds"), 3_000);
    assert_eq!(amount("total_refunds"), sum("refund"));
    assert_eq!(amount("total_net"), 22_000);
    // The partner's 3 % of the net, floored: ¥660.
    assert_eq!(amount("total_partner_fee"), 660);
    assert_eq!(amount("total_payable"), 22_000 - 660);
    let kinds: Vec<&str> = rows.iter().map(|r| r["kind"].as_str()).collect();
    assert_eq!(
        kinds[4..],
        [
            "total_charges",
            "total_refunds",
            "total_net",
            "total_partner_fee",
            "total_payable"
        ]
    );
    assert!(first.contains("\r\n"), "CRLF records");

    // Deterministic: a rerun writes the same bytes, and --out the same
    // bytes to a file (which is then not overwritten).
    let again = export(&data, &config, "carrier", "2026-03", &[]);
    assert_eq!(again.stdout, out.stdout);
    let file = dir.path().join("carrier-2026-03.csv");
    let file_arg = file.to_str().unwrap();
    serve::ok(&export(
        &data,
        &config,
        "carrier",
        "2026-03",
        &["--out", file_arg],
    ));
    assert_eq!(std::fs::read(&file).unwrap(), out.stdout);
    let refused = export(&data, &config, "carrier", "2026-03", &["--out", file_arg]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("refusing to overwrite"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // April holds only its own charge.
    let april_rows =
        parse_rows(serve::ok(&export(&data, &config, "carrier", "2026-04", &[])).as_bytes());
    let april_lines: Vec<_> = april_rows
        .iter()
        .filter(|r| !r["kind"].starts_with("total_"))
        .map(|r| {
            (
                r["kind"].as_str(),
                r["order"].as_str(),
                r["amount_yen"].as_str(),
            )
        })
        .collect();
    assert_eq!(april_lines, [("charge", april.as_str(), "4000")]);

    // A month that does not exist, and a partner no product is billed with.
    let bad = export(&data, &config, "carrier", "2026-13", &[]);
    assert!(!bad.status.success());
    assert!(bad.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("--month must be YYYY-MM") && stderr.contains("2026-13"),
        "{stderr}"
    );
    let unknown = export(&data, &config, "docomo", "2026-03", &[]);
    assert!(!unknown.status.success());
    assert!(unknown.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("no product of the catalog in force is billed with partner")
            && stderr.contains("docomo"),
        "{stderr}"
    );
}
