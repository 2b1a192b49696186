//! Sign-up SMS verification and verified contact changes over HTTP: the
//! file driver's outbox, wrong codes to exhaustion, expiry on the manual
//! clock, reuse, floods per phone and per IP, the HTTP gateway driver
//! against a local stub, and survival across a restart.

mod common;

use common::{TestApp, add_key, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

/// The codes the file driver wrote, oldest first: `(to, code)`.
fn outbox(app: &TestApp, file: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(app.dir.path().join(file)).unwrap_or_default();
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            assert!(
                v["text"]
                    .as_str()
                    .unwrap()
                    .contains(v["code"].as_str().unwrap())
            );
            (
                v["to"].as_str().unwrap().to_string(),
                v["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn last_code(app: &TestApp) -> String {
    outbox(app, "sms-outbox.jsonl").pop().unwrap().1
}

async fn start(app: &TestApp, phone: &str, ip: &str) -> (StatusCode, Value) {
    app.post(
        &app.merchant,
        "/v1/verifications",
        json!({"phone": phone, "ip": ip}),
    )
    .await
}

async fn started(app: &TestApp, phone: &str, ip: &str) -> String {
    let (s, v) = start(app, phone, ip).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(v["expires_at"].is_string(), "{v}");
    v["id"].as_str().unwrap().to_string()
}

async fn confirm(app: &TestApp, id: &str, code: &str) -> (StatusCode, Value) {
    app.post(
        &app.merchant,
        &format!("/v1/verifications/{id}/confirm"),
        json!({ "code": code }),
    )
    .await
}

fn wrong(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

fn assert_error(s: StatusCode, v: &Value, status: StatusCode, code: &str, field: Option<&str>) {
    assert_eq!(s, status, "{v}");
    assert_eq!(v["error"]["code"], code, "{v}");
    if let Some(f) = field {
        assert_eq!(v["error"]["field"], f, "{v}");
    }
}

#[tokio::test]
async fn a_code_from_the_outbox_verifies_once_and_signs_up_once() {
    let app = spawn_app().await;
    let id = started(&app, "090-1234-5678", "203.0.113.7").await;
    assert!(id.starts_with("ver_"), "{id}");
    let sent = outbox(&app, "sms-outbox.jsonl");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "+819012345678");
    let code = sent[0].1.clone();
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()));

    let (s, v) = app
        .get(&app.merchant, &format!("/v1/verifications/{id}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["attempts_left"], 5);
    assert!(v["verified_at"].is_null());

    let (s, v) = confirm(&app, &id, &code).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v, json!({"verified": true, "attempts_left": 5}));
    // The same code again: used.
    let before = app.journal_seq().await;
    let (s, v) = confirm(&app, &id, &code).await;
    assert_error(s, &v, StatusCode::CONFLICT, "verification_used", Some("id"));
    assert_eq!(app.journal_seq().await, before, "nothing written");

    // Another merchant's key does not see it.
    let other = tokio::task::spawn_blocking({
        let node = app.node.clone();
        move || add_key(&node, "other shop", None)
    })
    .await
    .unwrap();
    let (s, v) = app.get(&other, &format!("/v1/verifications/{id}")).await;
    assert_error(
        s,
        &v,
        StatusCode::NOT_FOUND,
        "verification_not_found",
        Some("id"),
    );

    // The verified phone completes a registration, once.
    let body = |ext: &str| {
        json!({"external_id": ext, "name": "山田 太郎", "name_kana": "ヤマダ タロウ",
            "birth_date": "1990-04-01", "phone": "090-1234-5678", "email": "taro@example.jp",
            "postal_code": "100-0013", "address": "東京都千代田区霞が関1-3-1 霞ビル101",
            "payment_method": "convenience_store", "verification": id})
    };
    let (s, v) = app.post(&app.merchant, "/v1/customers", body("c-1")).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let customer = v["id"].as_str().unwrap().to_string();
    let (s, v) = app.post(&app.merchant, "/v1/customers", body("c-2")).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "verification_used", "{v}");
    let (s, v) = app
        .get(&app.merchant, &format!("/v1/verifications/{id}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["used_by"], customer.as_str());

    // Garbage: no panic, clear errors.
    let (s, v) = confirm(&app, &id, "12a456").await;
    assert_error(
        s,
        &v,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_code",
        Some("code"),
    );
    let (s, v) = confirm(&app, "ver_nonsense", "123456").await;
    assert_error(
        s,
        &v,
        StatusCode::NOT_FOUND,
        "verification_not_found",
        Some("id"),
    );
    let (s, v) = start(&app, "not a phone", "203.0.113.7").await;
    assert_error(
        s,
        &v,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_phone",
        Some("phone"),
    );
    let (s, v) = start(&app, "090-1234-5678", "300.1.1.1").await;
    assert_error(
        s,
        &v,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_ip",
        Some("ip"),
    );
    let (s, v) = app
        .post(
            &app.payments,
            "/v1/verifications",
            json!({"phone": "090-1234-5678"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
}

#[tokio::test]
async fn wrong_codes_count_down_to_exhaustion_across_a_restart() {
    let app = spawn_app().await;
    let id = started(&app, "090-2222-3333", "203.0.113.8").await;
    let code = last_code(&app);
    for left in [4, 3] {
        let (s, v) = confirm(&app, &id, &wrong(&code)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v, json!({"verified": false, "attempts_left": left}));
    }
    // Attempts are journaled: a restart keeps them.
    let app = app.restart().await;
    for left in [2, 1, 0] {
        let (s, v) = confirm(&app, &id, &wrong(&code)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["attempts_left"], left, "{v}");
    }
    let before = app.journal_seq().await;
    let (s, v) = confirm(&app, &id, &code).await;
    assert_error(
        s,
        &v,
        StatusCode::CONFLICT,
        "verification_attempts_exhausted",
        Some("code"),
    );
    assert_eq!(app.journal_seq().await, before, "nothing written");
}

#[tokio::test]
async fn a_code_expires_after_ten_minutes_on_the_manual_clock() {
    let app = spawn_app().await;
    let id = started(&app, "090-4444-5555", "203.0.113.9").await;
    let code = last_code(&app);
    app.at_day(0, 10).await;
    let before = app.journal_seq().await;
    let (s, v) = confirm(&app, &id, &code).await;
    assert_error(s, &v, StatusCode::GONE, "verification_expired", Some("id"));
    assert_eq!(app.journal_seq().await, before, "nothing written");
    // A new one works.
    let id = started(&app, "090-4444-5555", "203.0.113.9").await;
    app.at_day(0, 19).await;
    let (s, v) = confirm(&app, &id, &last_code(&app)).await;
    assert_eq!(
        (s, v["verified"].clone()),
        (StatusCode::OK, json!(true)),
        "{v}"
    );
}

#[tokio::test]
async fn floods_per_phone_and_per_ip_are_refused_and_write_nothing() {
    let app = spawn_app().await;
    // Three codes per phone per hour (the default terms).
    for i in 0..3 {
        started(&app, "090-6666-7777", &format!("198.51.{i}.1")).await;
    }
    let before = app.journal_seq().await;
    let (s, v) = start(&app, "09066667777", "198.51.100.1").await;
    assert_error(
        s,
        &v,
        StatusCode::TOO_MANY_REQUESTS,
        "verification_rate_limited",
        Some("phone"),
    );
    assert_eq!(app.journal_seq().await, before, "nothing written");
    assert_eq!(outbox(&app, "sms-outbox.jsonl").len(), 3, "nothing sent");

    // Twenty per IP network (/24) per hour.
    for i in 0..20 {
        started(&app, &format!("080-1000-{:04}", i), &format!("192.0.2.{i}")).await;
    }
    let (s, v) = start(&app, "080-1000-9999", "192.0.2.200").await;
    assert_error(
        s,
        &v,
        StatusCode::TOO_MANY_REQUESTS,
        "verification_rate_limited",
        Some("ip"),
    );
    // Another network is fine; an hour later the phone is too.
    started(&app, "080-1000-9999", "192.0.3.1").await;
    app.at_day(0, 61).await;
    started(&app, "090-6666-7777", "192.0.2.1").await;
}

#[tokio::test]
async fn a_retry_with_the_same_key_answers_the_first_verification_and_sends_nothing() {
    let app = spawn_app().await;
    let send = || {
        app.http
            .post(format!("{}/v1/verifications", app.base))
            .bearer_auth(&app.merchant)
            .header("Idempotency-Key", "same-key")
            .json(&json!({"phone": "090-8888-9999"}))
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = send().await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    let again: Value = again.json().await.unwrap();
    assert_eq!(first["id"], again["id"]);
    assert_eq!(outbox(&app, "sms-outbox.jsonl").len(), 1);
}

#[tokio::test]
async fn a_verified_phone_change_feeds_the_risk_features() {
    let app = spawn_app().await;
    let customer = app.register("c-1").await;
    let id = started(&app, "080-3333-4444", "203.0.113.10").await;
    // Unconfirmed: refused.
    let (s, v) = app
        .post(
            &app.merchant,
            &format!("/v1/customers/{customer}/contact"),
            json!({ "verification": id }),
        )
        .await;
    assert_error(
        s,
        &v,
        StatusCode::CONFLICT,
        "verification_unconfirmed",
        Some("verification"),
    );
    let (s, v) = confirm(&app, &id, &last_code(&app)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .post(
            &app.merchant,
            &format!("/v1/customers/{customer}/contact"),
            json!({ "verification": id }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["changed"], "phone");
    assert_eq!(v["customer"], customer.as_str());
    // Used.
    let (s, v) = app
        .post(
            &app.merchant,
            &format!("/v1/customers/{customer}/contact"),
            json!({ "verification": id }),
        )
        .await;
    assert_error(
        s,
        &v,
        StatusCode::CONFLICT,
        "verification_used",
        Some("verification"),
    );

    // An e-mail change goes through the mail outbox.
    let (s, v) = app
        .post(
            &app.merchant,
            "/v1/verifications",
            json!({"email": "Taro.New@Example.jp"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["channel"], "email");
    let mail_id = v["id"].as_str().unwrap().to_string();
    let (_, code) = outbox(&app, "mail-outbox.jsonl").pop().unwrap();
    let (s, v) = confirm(&app, &mail_id, &code).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .post(
            &app.merchant,
            &format!("/v1/customers/{customer}/contact"),
            json!({ "verification": mail_id }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["changed"], "email");

    // The features a rule reads: the phone is verified, changed today.
    let rules = "[set]\nname = \"contact\"\nversion = 1\n\n[[rule]]\nid = \"recent_change\"\n\
        version = 1\nwhen = 'customer.phone_verified && customer.contact_changed_days < 7'\n\
        action = \"review\"\nreason = \"recent_change\"\ntext_ja = \"確認が必要です。\"\n\
        text_en = \"Held: recent contact change.\"\nmode = \"live\"\n";
    app.put_ok(rules).await;
    let v = app.authorize(&customer, "fashion", 1_000).await;
    assert_eq!(v["decision"], "review", "{v}");
}

/// A node whose `[sms]` driver is `http`, posting to `url`.
async fn spawn_with_http_gateway(url: String) -> TestApp {
    spawn_app_with(|opts| {
        opts.config.sms.driver = "http".into();
        opts.config.sms.url = Some(url);
        opts.config.sms.token = Some("gateway-token".into());
        opts.config.sms.timeout_ms = 1_000;
    })
    .await
}

#[tokio::test]
async fn the_http_driver_posts_to_the_gateway_and_reports_its_failure() {
    use axum::http::HeaderMap;
    type Seen = Arc<std::sync::Mutex<Vec<(Option<String>, Value)>>>;
    let seen: Seen = Arc::default();
    let fail = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stub = axum::Router::new().route(
        "/send",
        axum::routing::post({
            let seen = seen.clone();
            let fail = fail.clone();
            move |headers: HeaderMap, body: axum::Json<Value>| {
                let seen = seen.clone();
                let fail = fail.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    seen.lock().unwrap().push((auth, body.0));
                    if fail.load(std::sync::atomic::Ordering::Relaxed) {
                        axum::http::StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        axum::http::StatusCode::ACCEPTED
                    }
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, stub).await.unwrap() });

    let app = spawn_with_http_gateway(format!("http://{addr}/send")).await;
    let (s, v) = start(&app, "090-1111-2222", "203.0.113.11").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].0.as_deref(), Some("Bearer gateway-token"));
        assert_eq!(seen[0].1["to"], "+819011112222");
        assert_eq!(seen[0].1["from"], "atobarai");
        assert!(seen[0].1["text"].as_str().unwrap().contains("code"));
        assert!(
            seen[0].1.get("code").is_none(),
            "the code travels in the text only"
        );
    }
    assert!(!app.dir.path().join("sms-outbox.jsonl").exists());

    fail.store(true, std::sync::atomic::Ordering::Relaxed);
    let (s, v) = start(&app, "090-1111-3333", "203.0.113.11").await;
    assert_error(
        s,
        &v,
        StatusCode::BAD_GATEWAY,
        "sms_unavailable",
        Some("phone"),
    );
}
