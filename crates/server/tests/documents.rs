//! Billing documents through the HTTP API: the per-order invoice and the
//! monthly statement as HTML and PDF, with tax by rate, a merchant's
//! stated rate, a partial capture and a credit note, the convenience-store
//! barcode's amount, and the refusals (an unconfigured rate, an address
//! too long for the envelope window, an erased addressee).

mod common;

use common::{TestApp, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn fetch(app: &TestApp, number: &str, format: &str) -> (StatusCode, String, Vec<u8>) {
    let r = app
        .http
        .get(format!("{}/v1/invoices/{number}?format={format}", app.base))
        .bearer_auth(&app.merchant)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, r.bytes().await.unwrap().to_vec())
}

async fn invoices(app: &TestApp, cus: &str) -> Vec<Value> {
    let (s, v) = app
        .get(&app.merchant, &format!("/v1/customers/{cus}/invoices"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v.as_array().unwrap().clone()
}

/// The barcode's 44 digits as the HTML carries them.
fn barcode_digits(page: &str) -> String {
    let at = page.find("data-digits=\"").expect("a barcode") + "data-digits=\"".len();
    page[at..at + 44].to_string()
}

/// A per-order invoice: yoghurt at the reduced rate by its category, a
/// beer the merchant states at 10 % although its category is food, a
/// bottle at 10 %; captured ¥3,000 of ¥3,390, then ¥540 refunded after
/// issue. Worked figures (tax::apportion, one rounding per rate):
/// - lines: 8 % ¥1,080; 10 % ¥330 + ¥1,980 = ¥2,310;
/// - ¥390 not captured: exact shares 124.2 (8 %) and 265.8 (10 %) →
///   124 and 266 (the yen left goes to the larger fraction);
/// - the ¥540 credit note: 172.0 and 367.96 → 172 and 368;
/// - 8 %: 1,080 − 124 − 172 = ¥784, tax floor(784 × 8 / 108) = ¥58;
///   10 %: 2,310 − 266 − 368 = ¥1,676, tax floor(1,676 × 10 / 110) = ¥152.
#[tokio::test]
async fn a_per_order_invoice_states_tax_by_rate_and_is_payable_at_a_counter() {
    let app = spawn_app().await;
    let cus = app.register("doc-1").await;
    let body = json!({"merchant_order_id": "o-doc-1", "customer": cus, "product": "per_order",
        "channel": "online", "items": [
            {"sku": "Y-1", "name": "生乳ヨーグルト 400g", "category": "food", "unit_price": 540, "quantity": 2},
            {"sku": "B-1", "name": "クラフトビール 350ml", "category": "food", "unit_price": 330, "quantity": 1, "tax_rate": 10},
            {"sku": "S-1", "name": "真空断熱ボトル", "category": "daily_goods", "unit_price": 1980, "quantity": 1}]});
    let (s, order) = app.post(&app.merchant, "/v1/authorizations", body).await;
    assert_eq!(s, StatusCode::OK, "{order}");
    assert_eq!(order["decision"], "approve", "{order}");
    let id = order["order_id"].as_str().unwrap();
    let (s, v) = app
        .post(
            &app.merchant,
            &format!("/v1/orders/{id}/capture"),
            json!({"amount": 3000}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .post(
            &app.merchant,
            &format!("/v1/orders/{id}/refunds"),
            json!({"amount": 540}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let list = invoices(&app, &cus).await;
    assert_eq!(list.len(), 1);
    let number = list[0]["number"].as_str().unwrap();
    assert_eq!(list[0]["total_after_credit_notes"], 2460);

    let (s, ct, body) = fetch(&app, number, "html").await;
    assert_eq!(s, StatusCode::OK);
    assert!(ct.starts_with("text/html"), "{ct}");
    let page = String::from_utf8(body).unwrap();
    for want in [
        "登録番号 T7123456789012",
        "山田 太郎 様",
        "〒100-0013",
        "※ 生乳ヨーグルト 400g",
        "<td>クラフトビール 350ml</td>",
        "8%対象</th><td>¥784（うち消費税 ¥58）",
        "10%対象</th><td>¥1,676（うち消費税 ¥152）",
        "お取消し（一部）",
        "今回お支払額</th><td>¥2,460",
        "ご依頼人名の前に",
    ] {
        assert!(page.contains(want), "{want} missing from\n{page}");
    }
    let digits = barcode_digits(&page);
    assert_eq!(&digits[..2], "91", "AI 91");
    assert_eq!(&digits[37..43], "002460", "the amount to pay");
    assert_eq!(&digits[36..37], "0", "no revenue stamp below ¥50,000");

    let (s, ct, pdf) = fetch(&app, number, "pdf").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ct, "application/pdf");
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(
        pdf.windows(9).any(|w| w == b"/FontFile"),
        "the font is embedded"
    );

    let (s, _, body) = fetch(&app, number, "docx").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(String::from_utf8_lossy(&body).contains("unknown_format"));
}

#[tokio::test]
async fn a_rate_the_provider_does_not_bill_is_refused_and_writes_nothing() {
    let app = spawn_app().await;
    let cus = app.register("doc-2").await;
    let before = app.journal_seq().await;
    let body = json!({"merchant_order_id": "o-doc-2", "customer": cus, "product": "monthly",
        "channel": "online", "items": [
            {"sku": "A", "name": "お茶", "category": "food", "unit_price": 500, "quantity": 1},
            {"sku": "B", "name": "雑誌", "category": "other", "unit_price": 800, "quantity": 1, "tax_rate": 5}]});
    let (s, v) = app.post(&app.merchant, "/v1/authorizations", body).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "unsupported_tax_rate");
    assert_eq!(v["error"]["field"], "items[1].tax_rate");
    assert_eq!(app.journal_seq().await, before, "nothing journaled");
}

/// A statement of June: two purchases and the ¥209 convenience-store fee,
/// as HTML and PDF; the same statement is refused once the registered
/// address no longer fits… (a second customer with a long address), and
/// once the addressee is erased.
#[tokio::test]
async fn a_monthly_statement_renders_and_refuses_what_cannot_be_mailed() {
    let app = spawn_app().await;
    let cus = app.register("doc-3").await;
    for price in [1200, 3400] {
        let o = app.authorize(&cus, "daily_goods", price).await;
        app.capture(&o).await;
    }
    let long = app
        .register_body(common::person(
            "doc-4",
            4,
            &format!("東京都渋谷区渋谷2-24-12 {}", "長い建物の名前".repeat(12)),
        ))
        .await;
    let o = app.authorize(&long, "daily_goods", 1000).await;
    app.capture(&o).await;
    let (s, v) = app
        .post(
            &app.admin,
            "/v1/admin/clock",
            json!({"now": "2026-07-02T09:00:00+09:00"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let list = invoices(&app, &cus).await;
    let statement = list
        .iter()
        .find(|i| i["product"] == "monthly")
        .expect("a statement");
    let number = statement["number"].as_str().unwrap();
    assert_eq!(statement["total"], 4809);
    let (s, _, body) = fetch(&app, number, "html").await;
    assert_eq!(s, StatusCode::OK);
    let page = String::from_utf8(body).unwrap();
    for want in [
        "ご利用明細兼請求書",
        "ご利用月</th><td>2026-06",
        "コンビニ払込手数料",
        "10%対象</th><td>¥4,809（うち消費税 ¥437）",
        "今回お支払額</th><td>¥4,809",
    ] {
        assert!(page.contains(want), "{want} missing from\n{page}");
    }
    let (s, ct, pdf) = fetch(&app, number, "pdf").await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "application/pdf"));
    assert!(pdf.starts_with(b"%PDF-"));

    let long_number = invoices(&app, &long).await[0]["number"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _, body) = fetch(&app, &long_number, "pdf").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let err: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(err["error"]["code"], "address_too_long", "{err}");
    assert_eq!(err["error"]["field"], "address");

    let (s, v) = app
        .post(
            &app.admin,
            &format!("/v1/admin/customers/{cus}/erasure"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _, body) = fetch(&app, number, "html").await;
    assert_eq!(s, StatusCode::CONFLICT);
    let err: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(err["error"]["code"], "personal_data_erased", "{err}");
    // The JSON of the invoice stays.
    let (s, _, _) = fetch(&app, number, "json").await;
    assert_eq!(s, StatusCode::OK);
}
