//! `atobarai documents render` end to end: a server on a manual clock
//! (personal data sealed with the keyring it creates in the data
//! directory), customers with June purchases, the month closed on 1 July,
//! the server stopped; then every June statement rendered to PDF (and
//! HTML) with a manifest, a rerun refusing to overwrite, a bad month
//! refused.
//!
//! `DOCUMENTS_CUSTOMERS=N` sets how many customers (default 12) and
//! `DOCUMENTS_DATA_DIR=PATH` keeps the journal: with a few thousand, a
//! release binary measures documents per second on it (BENCHMARKS.md).

mod serve;

use serde_json::json;
use std::path::Path;
use std::process::{Command, Output};

use serve::Api;

fn render(data: &Path, out: &Path, month: &str, extra: &[&str]) -> Output {
    Command::new(serve::BIN)
        .args(["documents", "render", "--month", month])
        .arg("--data-dir")
        .arg(data)
        .arg("--out")
        .arg(out)
        .args(extra)
        .env_remove("ATOBARAI_DATA_DIR")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_june_statement_is_rendered_to_pdf_with_a_manifest() {
    let customers: usize = std::env::var("DOCUMENTS_CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let dir = tempfile::tempdir().unwrap();
    // `DOCUMENTS_DATA_DIR=PATH` keeps the journal there (for measuring a
    // release binary on it afterwards).
    let data = std::env::var_os("DOCUMENTS_DATA_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("data"));
    let shop = serve::add_key(&data, &["merchant", "add", "まるごと食品オンライン"]);
    let admin = serve::add_key(&data, &["operator", "add", "ops", "--role", "admin"]);
    let (mut child, base) =
        serve::start_with(&["--data-dir", data.to_str().unwrap(), "--clock", "manual"]);
    let api = Api::new(base, "docs");
    let (s, v) = api
        .post(
            &admin,
            "/v1/admin/clock",
            json!({"now": "2026-06-05T10:00:00+09:00"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    for c in 0..customers {
        let body = json!({"external_id": format!("d-{c}"), "name": "山田 太郎",
            "name_kana": "ヤマダ タロウ", "birth_date": "1990-04-01",
            "phone": format!("090-{:04}-{:04}", 1000 + c / 10_000, c % 10_000),
            "email": format!("taro{c}@example.jp"), "postal_code": "100-0013",
            "address": format!("東京都千代田区霞が関1-3-1 霞ビル{}", 100 + c % 900),
            "payment_method": "convenience_store"});
        let (s, v) = api.post(&shop, "/v1/customers", body).await;
        assert_eq!(s, 201, "{v}");
        let cus = v["id"].as_str().unwrap().to_string();
        let body = json!({"merchant_order_id": format!("o-{c}"), "customer": cus,
            "product": "monthly", "channel": "online", "items": [
                {"sku": "Y", "name": "生乳ヨーグルト 400g", "category": "food", "unit_price": 298, "quantity": 2},
                {"sku": "W", "name": "クラフトビール", "category": "food", "unit_price": 330, "quantity": 1, "tax_rate": 10},
                {"sku": "B", "name": "真空断熱ボトル", "category": "daily_goods", "unit_price": 2200, "quantity": 1}]});
        let (s, v) = api.post(&shop, "/v1/authorizations", body).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["decision"], "approve", "{v}");
        let order = v["order_id"].as_str().unwrap().to_string();
        let (s, v) = api
            .post(&shop, &format!("/v1/orders/{order}/capture"), json!({}))
            .await;
        assert_eq!(s, 200, "{v}");
    }
    let (s, v) = api
        .post(
            &admin,
            "/v1/admin/clock",
            json!({"now": "2026-07-01T09:00:00+09:00"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    child.kill().unwrap();
    child.wait().unwrap();

    let out = dir.path().join("june");
    let run = render(&data, &out, "2026-06", &[]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let said = String::from_utf8_lossy(&run.stderr);
    eprintln!("{said}");
    assert!(
        said.contains(&format!("{customers} statements of 2026-06")),
        "{said}"
    );
    let manifest = std::fs::read_to_string(out.join("manifest.csv")).unwrap();
    let rows: Vec<&str> = manifest.lines().skip(1).collect();
    assert_eq!(rows.len(), customers, "{manifest}");
    for row in rows {
        let cols: Vec<&str> = row.split(',').collect();
        // ¥596 + ¥330 + ¥2,200 + the ¥209 convenience-store fee.
        assert_eq!(cols[2], "3335", "{row}");
        let pdf = std::fs::read(out.join(cols[3])).unwrap();
        assert!(pdf.starts_with(b"%PDF-"), "{}", cols[3]);
        assert_eq!(pdf.len().to_string(), cols[4]);
    }

    // Files are never overwritten: a second run into the same directory
    // fails on every statement and says so.
    let again = render(&data, &out, "2026-06", &[]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("could not be rendered"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    let html = dir.path().join("june-html");
    let run = render(&data, &html, "2026-06", &["--format", "html"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let first = std::fs::read_dir(&html)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "html"))
        .unwrap();
    let page = std::fs::read_to_string(first).unwrap();
    // The sealed name and address were opened with the data directory's keyring.
    assert!(page.contains("山田 太郎 様"), "{page}");
    assert!(
        page.contains("8%対象</th><td>¥596（うち消費税 ¥44）"),
        "{page}"
    );

    let bad = render(&data, &dir.path().join("x"), "2026-13", &[]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--month must be YYYY-MM"));
}
