//! The customer lifecycle over HTTP: the eKYC callback (admin key or
//! vendor signature; address variants that must and must not match), the
//! in-store payment with a one-time code, freezes, age and consent, and a
//! re-registration with past trouble held for review.

mod common;

use atobarai_server::AppState;
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

const VENDOR_SECRET: &str = "ekyc-vendor-test-secret";

/// The harness's app, served a second time with an eKYC vendor secret.
async fn with_vendor(app: &TestApp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = atobarai_server::router(AppState {
        node: app.node.clone(),
        limits: Arc::new(Default::default()),
        identity: atobarai_server::IdentitySecret::new("risk-rules-test-secret").with_ekyc(
            atobarai_core::lifecycle::EkycConfig {
                callback_secret: Some(VENDOR_SECRET.into()),
                signature_tolerance_secs: 300,
            },
        ),
        webhooks: Arc::new(Default::default()),
        documents: Default::default(),
        body_timeout: std::time::Duration::from_secs(30),
    });
    tokio::spawn(async move {
        atobarai_server::serve(listener, router, Default::default(), std::future::pending())
            .await
            .unwrap();
    });
    format!("http://{addr}")
}

fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn document(address: &str) -> Value {
    json!({"status": "verified", "document_address": address, "name": "山田 太郎",
        "birth_date": "1990-04-01"})
}

async fn ekyc(app: &TestApp, customer: &str, body: Value) -> (StatusCode, Value) {
    app.post(&app.admin, &format!("/v1/customers/{customer}/ekyc"), body)
        .await
}

async fn lifecycle(app: &TestApp, customer: &str) -> Value {
    let (s, v) = app
        .get(&app.admin, &format!("/v1/customers/{customer}/lifecycle"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn code(app: &TestApp, customer: &str, body: Value) -> (StatusCode, Value) {
    app.post(
        &app.merchant,
        &format!("/v1/customers/{customer}/payment-codes"),
        body,
    )
    .await
}

async fn pos(app: &TestApp, store: &str, code: &str, price: i64) -> (StatusCode, Value) {
    let n = app.keys.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    app.post(
        store,
        "/v1/authorizations",
        json!({"merchant_order_id": format!("pos-{n}"), "payment_code": code,
            "product": "monthly", "channel": "in_store", "items": [line("food", price)],
            "device_id": "pos-terminal-7"}),
    )
    .await
}

#[tokio::test]
async fn ekyc_matches_the_document_address_at_block_level() {
    let app = spawn_app().await;
    // Registered: 〒100-0013 東京都千代田区霞が関1-3-1 霞ビル101.
    let c = app.register("c-ekyc").await;
    // Another block: recorded as rejected, with the failed check.
    let (s, v) = ekyc(&app, &c, document("東京都千代田区霞が関1-3-2 霞ビル101")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ekyc_status"], "rejected");
    assert_eq!(v["ekyc_reason"], "document_address_mismatch");
    // Another spelling of the same block, another room: verified.
    let (s, v) = ekyc(
        &app,
        &c,
        document("東京都千代田区霞が関１丁目３番１号 霞ビル202"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ekyc_status"], "verified", "{v}");
    // A different name or birth date on the document rejects.
    let (_, v) = ekyc(
        &app,
        &c,
        json!({"status": "verified", "document_address": "東京都千代田区霞が関1-3-1",
            "name": "山田 次郎", "birth_date": "1990-04-01"}),
    )
    .await;
    assert_eq!(v["ekyc_reason"], "document_name_mismatch");
    let (_, v) = ekyc(
        &app,
        &c,
        json!({"status": "verified", "document_address": "東京都千代田区霞が関1-3-1",
            "name": "山田 太郎", "birth_date": "1990-04-02"}),
    )
    .await;
    assert_eq!(v["ekyc_reason"], "document_birth_date_mismatch");
    // The vendor's own rejection with its reason.
    let (_, v) = ekyc(
        &app,
        &c,
        json!({"status": "rejected", "reason": "face_mismatch"}),
    )
    .await;
    assert_eq!(
        (v["ekyc_status"].as_str(), v["ekyc_reason"].as_str()),
        (Some("rejected"), Some("face_mismatch"))
    );
    // Bad input: nothing written.
    let seq = app.journal_seq().await;
    for (body, field) in [
        (json!({"status": "maybe"}), "status"),
        (
            json!({"status": "verified", "name": "山田 太郎", "birth_date": "1990-04-01"}),
            "document_address",
        ),
        (
            json!({"status": "verified", "document_address": "x", "name": "山田 太郎", "birth_date": "1990-13-01"}),
            "birth_date",
        ),
    ] {
        let (s, v) = ekyc(&app, &c, body).await;
        assert!(s.is_client_error(), "{s} {v}");
        assert_eq!(v["error"]["field"], field, "{v}");
    }
    let (s, v) = ekyc(&app, "cus_zzzz", document("東京都千代田区霞が関1-3-1")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    // Only an admin key: a merchant or an analyst is refused.
    for key in [&app.merchant, &app.analyst] {
        let (s, _) = app
            .post(
                key,
                &format!("/v1/customers/{c}/ekyc"),
                document("東京都千代田区霞が関1-3-1"),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    assert_eq!(app.journal_seq().await, seq, "refusals write nothing");
}

#[tokio::test]
async fn a_signing_vendor_is_checked_by_its_signature() {
    let app = spawn_app().await;
    let c = app.register("c-vendor").await;
    let base = with_vendor(&app).await;
    let body = serde_json::to_vec(&document("東京都千代田区霞が関1-3-1")).unwrap();
    let now = jiff::Timestamp::now().as_second();
    let send = |sig: Option<String>| {
        let mut r = app
            .http
            .post(format!("{base}/v1/customers/{c}/ekyc"))
            .header("Idempotency-Key", format!("v-{}", rand_key()))
            .header("Content-Type", "application/json")
            .body(body.clone());
        if let Some(sig) = sig {
            r = r.header("Atobarai-Signature", sig);
        }
        r.send()
    };
    let seq = app.journal_seq().await;
    for sig in [
        None,
        Some(sign("wrong-secret", now, &body)),
        Some(sign(VENDOR_SECRET, now - 3_600, &body)),
        Some(sign(VENDOR_SECRET, now, b"{}")),
        Some("t=abc,v1=00".into()),
    ] {
        let resp = send(sig).await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        app.journal_seq().await,
        seq,
        "a bad signature writes nothing"
    );
    let resp = send(Some(sign(VENDOR_SECRET, now, &body))).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["ekyc_status"], "verified", "{v}");
}

fn rand_key() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[tokio::test]
async fn a_store_pays_with_a_one_time_code() {
    let app = spawn_app().await;
    let store = {
        let node = app.node.clone();
        tokio::task::spawn_blocking(move || add_key(&node, "store", None))
            .await
            .unwrap()
    };
    let c = app.register("c-pos").await;
    // Unverified: no code, and no in-store credit.
    let (s, v) = code(&app, &c, json!({})).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("ekyc_required")),
        "{v}"
    );
    let (s, v) = ekyc(&app, &c, document("東京都千代田区霞が関1-3-1")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = code(&app, &c, json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let the_code = v["code"].as_str().unwrap().to_string();
    assert_eq!(the_code.len(), 16);
    assert_eq!(v["payload"], format!("atobarai:pay:{the_code}"));
    assert_eq!(v["expires_at"], "2026-06-10T10:05:00+09:00");
    // The store's POS: customer 0's order, the store's merchant.
    let (s, v) = pos(&app, &store, &the_code, 1_200).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["decision"], "approve", "{v}");
    // Used twice.
    let (s, v) = pos(&app, &store, &the_code, 100).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("payment_code_used")),
        "{v}"
    );
    // Over the new user's in-store cap (¥2,000): declined.
    let (_, v) = code(&app, &c, json!({})).await;
    let second = v["code"].as_str().unwrap().to_string();
    let (s, v) = pos(&app, &store, &second, 900).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["decision"], "decline", "{v}");
    assert!(
        v["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["code"] == "in_store_history_insufficient"),
        "{v}"
    );
    // Expired.
    let (_, v) = code(&app, &c, json!({"ceiling": 500})).await;
    let third = v["code"].as_str().unwrap().to_string();
    assert_eq!(v["ceiling"], 500);
    app.at_day(0, 6).await;
    let (s, v) = pos(&app, &store, &third, 100).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("payment_code_expired")),
        "{v}"
    );
    // Malformed and unknown codes; a code together with a customer.
    let (s, v) = pos(&app, &store, "12ab", 100).await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("payment_code")),
        "{v}"
    );
    let (s, v) = pos(&app, &store, "0000000000000000", 100).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("payment_code_unknown")),
        "{v}"
    );
    let (s, v) = app
        .post(
            &store,
            "/v1/authorizations",
            json!({"merchant_order_id": "x", "customer": c, "payment_code": "0000000000000000",
                "product": "monthly", "channel": "in_store", "items": [line("food", 100)]}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("customer")),
        "{v}"
    );
    // A retried request (same Idempotency-Key) shows the same code again.
    let retry = |key: &'static str| {
        app.http
            .post(format!("{}/v1/customers/{c}/payment-codes", app.base))
            .bearer_auth(&app.merchant)
            .header("Idempotency-Key", key)
            .json(&json!({}))
            .send()
    };
    let a: Value = retry("same-key").await.unwrap().json().await.unwrap();
    let b: Value = retry("same-key").await.unwrap().json().await.unwrap();
    assert_eq!(a["code"], b["code"]);
    assert_eq!(lifecycle(&app, &c).await["payment_codes_open"], 1);
}

#[tokio::test]
async fn a_frozen_customer_is_declined_until_an_admin_lifts_the_freeze() {
    let app = spawn_app().await;
    let c = app.register("c-freeze").await;
    let (s, v) = app
        .post(
            &app.merchant,
            &format!("/v1/customers/{c}/freeze"),
            json!({"reason": "身に覚えのない請求"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["frozen"], true);
    let o = app.authorize(&c, "food", 100).await;
    assert_eq!(o["decision"], "decline");
    assert_eq!(o["reasons"][0]["code"], "customer_frozen");
    assert!(
        o["reasons"][0]["message_ja"]
            .as_str()
            .unwrap()
            .contains("停止")
    );
    // The merchant cannot lift it.
    let resp = app
        .http
        .delete(format!("{}/v1/customers/{c}/freeze", app.base))
        .bearer_auth(&app.merchant)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = app
        .http
        .delete(format!("{}/v1/customers/{c}/freeze", app.base))
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(app.authorize(&c, "food", 100).await["decision"], "approve");
}

#[tokio::test]
async fn age_and_consent_at_sign_up() {
    let app = spawn_app().await;
    let body = |id: &str, birth: &str, consent: Option<Value>| {
        let mut b = person(id, 40, "東京都渋谷区渋谷2-1-1");
        b["birth_date"] = json!(birth);
        if let Some(c) = consent {
            b["parental_consent"] = c;
        }
        b
    };
    let seq = app.journal_seq().await;
    let (s, v) = app
        .post(
            &app.merchant,
            "/v1/customers",
            body("m-17", "2009-01-01", None),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("age_below_minimum")),
        "{v}"
    );
    let (s, v) = app
        .post(
            &app.merchant,
            "/v1/customers",
            body("m-19", "2007-01-01", None),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "parental_consent_required");
    assert_eq!(v["error"]["field"], "parental_consent");
    let (s, v) = app
        .post(
            &app.merchant,
            "/v1/customers",
            body("m-future", "2030-01-01", None),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("birth_date_in_future")
        ),
        "{v}"
    );
    let (s, v) = app
        .post(
            &app.merchant,
            "/v1/customers",
            body(
                "m-19",
                "2007-01-01",
                Some(json!({"by": "佐藤 洋子（母）", "at": "not a time"})),
            ),
        )
        .await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("parental_consent.at")
        ),
        "{v}"
    );
    assert_eq!(app.journal_seq().await, seq, "refusals write nothing");
    let (s, v) = app
        .post(
            &app.merchant,
            "/v1/customers",
            body(
                "m-19",
                "2007-01-01",
                Some(json!({"by": "佐藤 洋子（母）", "at": "2026-06-09T20:00:00+09:00"})),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let life = lifecycle(&app, v["id"].as_str().unwrap()).await;
    assert_eq!(life["parental_consent"]["by"], "佐藤 洋子（母）");
    assert_eq!(life["phone_verified"], false);
}

#[tokio::test]
async fn a_re_registration_with_past_trouble_is_held_for_review() {
    let app = spawn_app().await;
    // An account that bought on the per-order invoice and never paid.
    let first = app
        .register_body(person("old", 1, "東京都渋谷区渋谷2-1-1"))
        .await;
    let (s, v) = app
        .post(
            &app.merchant,
            "/v1/authorizations",
            json!({"merchant_order_id": "o-old", "customer": first, "product": "per_order",
                "channel": "online", "items": [line("electronics", 20_000)], "device_id": "dev-old-1"}),
        )
        .await;
    assert_eq!(
        (s, v["decision"].as_str()),
        (StatusCode::OK, Some("approve")),
        "{v}"
    );
    app.capture(&v).await;
    app.at_day(30, 0).await;
    // A new sign-up from the same device with a new phone and e-mail.
    let mut again = person("new", 2, "大阪府大阪市北区梅田1-1-1");
    again["postal_code"] = json!("530-0001");
    again["device_id"] = json!("dev-old-1");
    let (s, v) = app.post(&app.merchant, "/v1/customers", again).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let second = v["id"].as_str().unwrap().to_string();
    let life = lifecycle(&app, &second).await;
    assert_eq!(life["sign_up_review"], "held", "{life}");
    assert_eq!(life["sign_up_evidence"][0]["link"], "device");
    assert_eq!(life["sign_up_evidence"][0]["customer"], first);
    assert_eq!(life["sign_up_evidence"][0]["trouble"], "overdue");
    let o = app.authorize(&second, "food", 100).await;
    assert!(
        o["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["code"] == "sign_up_in_review"),
        "{o}"
    );
    // An admin approves it (after a call): purchases follow the credit
    // rules again (the shared device keeps the overdue account's block).
    let (s, v) = app
        .post(
            &app.admin,
            &format!("/v1/admin/customers/{second}/sign-up-review"),
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["sign_up_review"], "approved");
    let o = app.authorize(&second, "food", 100).await;
    assert!(
        o["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["code"] != "sign_up_in_review"),
        "{o}"
    );
    let (s, v) = app
        .post(
            &app.admin,
            &format!("/v1/admin/customers/{second}/sign-up-review"),
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_in_review")),
        "{v}"
    );
}
