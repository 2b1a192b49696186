//! The gift-card issuer through HTTP (issue 13): codes issued at capture,
//! redeemed once into wallets, revoked before and after redemption (into a
//! negative wallet), voided by a refund, revoked across an identity cluster
//! after a preview with evidence, appealed and reinstated; uniform errors
//! and attempt limits; a concurrent redemption race.

mod common;
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The harness with its merchant replaced by a gift-card issuer created
/// through `POST /v1/admin/merchants`.
async fn issuer_app() -> TestApp {
    let mut app = spawn_app().await;
    let (s, v) = app
        .post(
            &app.admin,
            "/v1/admin/merchants",
            json!({"name": "ギフト発行所", "gift_card_issuer": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["gift_card_issuer"], true);
    app.merchant = v["key"].as_str().unwrap().to_string();
    app
}

fn cards(n: i64, price: i64) -> Value {
    json!({"sku": format!("GC-{price}"), "name": "gift card", "category": "gift_card",
        "unit_price": price, "quantity": n})
}

/// An approved order of `n` gift cards of `price` (with a daily-goods line,
/// so the default rules let it through), captured: the capture's answer.
async fn buy(app: &TestApp, customer: &str, n: i64, price: i64, device: &str) -> Value {
    let order = app
        .order(
            customer,
            vec![cards(n, price), line("daily_goods", 800)],
            device,
            "203.0.113.9",
        )
        .await;
    let id = order["order_id"].as_str().unwrap();
    if order["decision"] == "review" {
        // Linked accounts buying liquid goods are held: an analyst approves.
        let (s, v) = app
            .post(
                &app.admin,
                &format!("/v1/admin/orders/{id}/review"),
                json!({"decision": "approve"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    } else {
        assert_eq!(order["decision"], "approve", "{order}");
    }
    let (s, v) = app
        .post(
            &app.merchant,
            &format!("/v1/orders/{id}/capture"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "captured");
    assert_eq!(v["gift_cards"].as_array().unwrap().len(), n as usize, "{v}");
    v
}

fn code(captured: &Value, i: usize) -> String {
    captured["gift_cards"][i]["code"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn redeem(app: &TestApp, code: &str, wallet: &str) -> (StatusCode, Value) {
    app.post(
        &app.merchant,
        "/v1/gift-cards/redeem",
        json!({"code": code, "wallet": wallet}),
    )
    .await
}

async fn revoke(app: &TestApp, body: Value) -> (StatusCode, Value) {
    app.post(&app.admin, "/v1/admin/gift-cards/revocations", body)
        .await
}

#[tokio::test]
async fn issue_redeem_spend_revoke_leaves_a_negative_wallet() {
    let app = issuer_app().await;
    let cus = app
        .register_body(person("gc-1", 1, "東京都渋谷区渋谷2-1-1"))
        .await;
    let captured = buy(&app, &cus, 2, 3_000, "dev-gc-1").await;
    let first = &captured["gift_cards"][0];
    assert_eq!(first["amount"], 3_000);
    assert_eq!(first["item"], 0);
    assert!(first["id"].as_str().unwrap().starts_with("gft_"));
    let code0 = code(&captured, 0);
    assert_eq!(code0.len(), 21, "{code0}");
    assert_ne!(code0, code(&captured, 1));

    let (s, v) = redeem(&app, &code0, "w-1").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v, json!({"wallet": "w-1", "balance": 3_000}));
    // Case, spaces and hyphens do not matter.
    let spaced = code(&captured, 1).to_lowercase().replace('-', " ");
    let (s, v) = redeem(&app, &spaced, "w-1").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["balance"], 6_000);
    // A code redeems once.
    let (s, v) = redeem(&app, &code0, "w-1").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // The holder spends ¥5,000 at the issuer.
    let (s, v) = app
        .post(
            &app.merchant,
            "/v1/wallets/w-1/purchases",
            json!({"amount": 5_000, "reference": "pos-1"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["balance"], 1_000);
    // More than the balance cannot be spent.
    let (s, v) = app
        .post(
            &app.merchant,
            "/v1/wallets/w-1/purchases",
            json!({"amount": 1_001, "reference": "pos-2"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "insufficient_balance");

    // Fraud found: the first card is taken back, below zero.
    let (s, v) = revoke(&app, json!({"code": code0, "reason": "fraud"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["revoked"][0]["was"], "redeemed");
    assert_eq!(v["revoked"][0]["wallet"], "w-1");
    assert_eq!(v["revoked"][0]["wallet_balance"], -2_000);
    // Revoking the same code again: a clear error, nothing changed.
    let seq = app.journal_seq().await;
    let (s, v) = revoke(&app, json!({"code": code0, "reason": "fraud"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "gift_card_already_revoked");
    assert_eq!(app.journal_seq().await, seq);
    // Unknown code and bad reason: clear errors.
    let (s, v) = revoke(
        &app,
        json!({"code": "0000-0000-0000-0000-0", "reason": "fraud"}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, v) = revoke(&app, json!({"code": code0, "reason": "dislike"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "reason");
    assert_eq!(app.journal_seq().await, seq);
    // The revoked code no longer redeems.
    let (s, v) = redeem(&app, &code0, "w-2").await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "gift_card_invalidated");

    // Then the whole order, for resale: the second card too.
    let order = captured["order_id"].as_str().unwrap();
    let (s, v) = revoke(&app, json!({"order": order, "reason": "resale"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["revoked"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["revoked"][0]["wallet_balance"], -5_000);

    let (s, w) = app.get(&app.merchant, "/v1/wallets/w-1").await;
    assert_eq!(s, StatusCode::OK, "{w}");
    assert_eq!(w["balance"], -5_000);
    let kinds: Vec<&str> = w["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["redeemed", "redeemed", "spent", "revoked", "revoked"]
    );
    assert!(
        w["entries"][2]["gift_card"].is_null(),
        "a purchase names no card"
    );
    assert_eq!(w["entries"][2]["amount"], -5_000);
    assert_eq!(w["entries"][3]["reason"], "fraud");
    assert_eq!(w["entries"][3]["amount"], -3_000);
    assert_eq!(w["entries"][3]["balance_after"], -2_000);
    assert_eq!(w["entries"][4]["reason"], "resale");
    // The shop's own key does not see the issuer's wallet.
    let (s, _) = app.get(&app.analyst, "/v1/wallets/nope").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn revoking_before_redemption_stops_the_code() {
    let app = issuer_app().await;
    let cus = app
        .register_body(person("gc-2", 3, "東京都渋谷区渋谷3-2-2"))
        .await;
    let captured = buy(&app, &cus, 1, 5_000, "dev-gc-2").await;
    let (s, v) = revoke(
        &app,
        json!({"code": code(&captured, 0), "reason": "resale"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["revoked"][0]["was"], "issued");
    assert!(v["revoked"][0]["wallet"].is_null());
    let (s, v) = redeem(&app, &code(&captured, 0), "w-x").await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "gift_card_invalidated");
    assert_eq!(v["error"]["field"], "code");
    // No wallet was created by the refused redemption.
    let (s, _) = app.get(&app.admin, "/v1/wallets/w-x").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The card's history names who revoked it, when and why.
    let id = captured["gift_cards"][0]["id"].as_str().unwrap();
    let (s, c) = app.get(&app.admin, &format!("/v1/gift-cards/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["state"], "revoked");
    assert_eq!(c["customer"], cus.as_str());
    assert_eq!(c["history"][1]["event"], "revoked");
    assert_eq!(c["history"][1]["reason"], "resale");
    assert!(c["history"][1]["by"].as_str().unwrap().starts_with("opr_"));
}

#[tokio::test]
async fn a_refund_before_redemption_voids_the_code() {
    let app = issuer_app().await;
    let cus = app
        .register_body(person("gc-3", 4, "東京都渋谷区渋谷4-3-3"))
        .await;
    let captured = buy(&app, &cus, 2, 3_000, "dev-gc-3").await;
    let order = captured["order_id"].as_str().unwrap();
    // The second card is redeemed; a refund of one card's price voids
    // the unredeemed one only.
    let (s, _) = redeem(&app, &code(&captured, 1), "w-r").await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = app
        .post(
            &app.merchant,
            &format!("/v1/orders/{order}/refunds"),
            json!({"amount": 3_000}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, list) = app
        .get(&app.merchant, &format!("/v1/orders/{order}/gift-cards"))
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list[0]["state"], "voided");
    assert_eq!(list[1]["state"], "redeemed");
    let (s, v) = redeem(&app, &code(&captured, 0), "w-r").await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "gift_card_invalidated");
    // A plain capture of an issuer's gift-card order cannot happen: the
    // HTTP capture always issues; partial captures are refused.
    let order = app
        .order(
            &cus,
            vec![cards(1, 1_000), line("daily_goods", 800)],
            "dev-gc-3",
            "203.0.113.9",
        )
        .await;
    let id = order["order_id"].as_str().unwrap();
    let (s, v) = app
        .post(
            &app.merchant,
            &format!("/v1/orders/{id}/capture"),
            json!({"amount": 1_000}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "gift_card_partial_capture");
}

#[tokio::test]
async fn a_cluster_revocation_previews_linked_accounts_with_evidence() {
    let app = issuer_app().await;
    // A and B share a phone; B and C share an e-mail; C and D share a
    // device (seen on their orders). E is unrelated.
    let mut a = person("cl-a", 10, "東京都渋谷区渋谷1-4-4");
    let mut b = person("cl-b", 11, "東京都渋谷区渋谷2-5-5");
    let mut c = person("cl-c", 12, "東京都渋谷区渋谷3-6-6");
    let d = person("cl-d", 13, "東京都渋谷区渋谷4-7-7");
    let e = person("cl-e", 14, "東京都渋谷区渋谷1-8-8");
    b["phone"] = a["phone"].clone();
    c["email"] = b["email"].clone();
    a["name"] = json!("佐藤 花子");
    let ids: Vec<String> = {
        let mut out = Vec::new();
        for body in [a, b, c, d, e] {
            out.push(app.register_body(body).await);
        }
        out
    };
    let mut bought = Vec::new();
    for (i, cus) in ids.iter().enumerate() {
        let device = match i {
            2 | 3 => "dev-shared-cd".to_string(),
            _ => format!("dev-own-{i}"),
        };
        bought.push(buy(&app, cus, 1, 2_000, &device).await);
    }
    // B's card was redeemed already.
    let (s, _) = redeem(&app, &code(&bought[1], 0), "w-b").await;
    assert_eq!(s, StatusCode::OK);

    let (s, preview) = revoke(&app, json!({"cluster_of": ids[0], "reason": "fraud"})).await;
    assert_eq!(s, StatusCode::CREATED, "{preview}");
    let pid = preview["preview"].as_str().unwrap();
    assert!(pid.starts_with("rev_"), "{pid}");
    let accounts: Vec<&str> = preview["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["customer"].as_str().unwrap())
        .collect();
    assert_eq!(accounts, [&ids[0], &ids[1], &ids[2], &ids[3]], "{preview}");
    // The evidence names the kind of key of each link in the chain.
    let kinds = |i: usize| -> Vec<String> {
        preview["accounts"][i]["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(kinds(0).is_empty());
    assert_eq!(kinds(1), ["phone"]);
    assert_eq!(kinds(2), ["phone", "email"]);
    assert_eq!(kinds(3), ["phone", "email", "device"]);
    assert_eq!(preview["codes"].as_array().unwrap().len(), 4);
    assert_eq!(preview["wallets"], json!(["w-b"]));
    // Nothing happened yet: A's code still works (and leaves the preview).
    let (s, _) = redeem(&app, &code(&bought[0], 0), "w-a").await;
    assert_eq!(s, StatusCode::OK);

    let (s, v) = app
        .post(
            &app.admin,
            &format!("/v1/admin/gift-cards/revocations/{pid}/confirm"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["revoked"].as_array().unwrap().len(), 4, "{v}");
    for b in &bought[2..4] {
        let (s, r) = redeem(&app, &code(b, 0), "w-z").await;
        assert_eq!(s, StatusCode::CONFLICT, "{r}");
    }
    // E is untouched; both debited wallets show the fraud.
    let (s, _) = redeem(&app, &code(&bought[4], 0), "w-e").await;
    assert_eq!(s, StatusCode::OK);
    for w in ["w-a", "w-b"] {
        let (_, v) = app.get(&app.admin, &format!("/v1/wallets/{w}")).await;
        assert_eq!(v["balance"], 0, "{v}");
        assert_eq!(v["entries"][1]["reason"], "fraud");
    }
    // A preview is confirmed once.
    let (s, v) = app
        .post(
            &app.admin,
            &format!("/v1/admin/gift-cards/revocations/{pid}/confirm"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
}

#[tokio::test]
async fn a_scam_victims_debt_is_cancelled_and_a_fraudsters_is_not() {
    let app = issuer_app().await;
    let victim = app
        .register_body(person("sv-1", 20, "東京都渋谷区渋谷2-9-9"))
        .await;
    let fraud = app
        .register_body(person("fr-1", 21, "東京都渋谷区渋谷3-10-10"))
        .await;
    let v = buy(&app, &victim, 1, 3_000, "dev-sv").await;
    let f = buy(&app, &fraud, 1, 3_000, "dev-fr").await;
    let owed = |cus: String| {
        let app = &app;
        async move {
            app.get(&app.admin, &format!("/v1/customers/{cus}/balance"))
                .await
                .1["principal"]
                .as_i64()
                .unwrap()
        }
    };
    assert_eq!(owed(victim.clone()).await, 3_800);
    for (captured, reason) in [(&v, "scam_victim"), (&f, "fraud")] {
        let order = captured["order_id"].as_str().unwrap();
        let (s, r) = revoke(&app, json!({"order": order, "reason": reason})).await;
        assert_eq!(s, StatusCode::OK, "{r}");
    }
    assert_eq!(owed(victim).await, 800, "the cards' ¥3,000 is cancelled");
    assert_eq!(owed(fraud).await, 3_800, "a fraudster still owes");
}

#[tokio::test]
async fn an_appeal_with_evidence_reinstates_the_balance_and_is_audited() {
    let app = issuer_app().await;
    let cus = app
        .register_body(person("ap-1", 30, "東京都渋谷区渋谷4-11-11"))
        .await;
    let captured = buy(&app, &cus, 1, 4_000, "dev-ap").await;
    let card = captured["gift_cards"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _) = redeem(&app, &code(&captured, 0), "w-ap").await;
    assert_eq!(s, StatusCode::OK);
    // No revoked entry yet: refused, nothing written.
    let seq = app.journal_seq().await;
    let (s, v) = app
        .post(
            &app.merchant,
            "/v1/gift-cards/appeals",
            json!({"wallet": "w-ap", "gift_card": card, "evidence": "receipt"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "no_revoked_entry");
    assert_eq!(app.journal_seq().await, seq);

    let (s, _) = revoke(
        &app,
        json!({"code": code(&captured, 0), "reason": "resale"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, appeal) = app
        .post(
            &app.merchant,
            "/v1/gift-cards/appeals",
            json!({"wallet": "w-ap", "gift_card": card,
                   "evidence": "レシート R-2026-0612: 店頭で本人が購入"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{appeal}");
    assert!(appeal["decision"].is_null());
    assert_eq!(appeal["trail"]["order"], captured["order_id"]);
    let id = appeal["id"].as_str().unwrap();
    // Operators find it among the open appeals.
    let (s, open) = app.get(&app.admin, "/v1/gift-cards/appeals").await;
    assert_eq!(s, StatusCode::OK, "{open}");
    assert_eq!(open[0]["id"], id);
    let (s, got) = app
        .get(&app.analyst, &format!("/v1/gift-cards/appeals/{id}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{got}");
    // Analysts read; only admins decide.
    let path = format!("/v1/admin/gift-cards/appeals/{id}/decision");
    let (s, _) = app
        .post(&app.analyst, &path, json!({"decision": "reinstate"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, decided) = app
        .post(
            &app.admin,
            &path,
            json!({"decision": "reinstate", "note": "receipt matches"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{decided}");
    assert_eq!(decided["decision"]["decision"], "reinstated");
    assert!(
        decided["decision"]["by"]
            .as_str()
            .unwrap()
            .starts_with("opr_")
    );
    assert!(decided["decision"]["at"].is_string());
    let events: Vec<&str> = decided["trail"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "issued",
            "redeemed",
            "revoked",
            "appeal_filed",
            "reinstated"
        ]
    );
    let (_, w) = app.get(&app.admin, "/v1/wallets/w-ap").await;
    assert_eq!(w["balance"], 4_000, "{w}");
    // Decided once.
    let (s, v) = app
        .post(&app.admin, &path, json!({"decision": "refuse"}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (_, open) = app.get(&app.admin, "/v1/gift-cards/appeals").await;
    assert_eq!(open, json!([]));
    let (_, all) = app
        .get(&app.admin, "/v1/gift-cards/appeals?state=all")
        .await;
    assert_eq!(all[0]["decision"]["decision"], "reinstated");
}

#[tokio::test]
async fn wrong_codes_get_one_answer_and_attempts_are_limited() {
    let app = issuer_app().await;
    let cus = app
        .register_body(person("rl-1", 40, "東京都渋谷区渋谷1-12-12"))
        .await;
    let captured = buy(&app, &cus, 2, 1_000, "dev-rl").await;
    let (s, _) = redeem(&app, &code(&captured, 1), "w-used").await;
    assert_eq!(s, StatusCode::OK);
    let good = code(&captured, 0);
    // A typo (check character), garbage, an unknown well-formed code and
    // an already redeemed code: the same answer, each from a new wallet.
    let mut typo: Vec<char> = good.chars().collect();
    typo[0] = if typo[0] == '1' { '2' } else { '1' };
    let unknown = {
        // A valid-looking code that was never issued.
        let mut n = 0;
        loop {
            let c = atobarai_server::http_gift_cards::draw_code();
            if c != good && c != code(&captured, 1) {
                break c;
            }
            n += 1;
            assert!(n < 10);
        }
    };
    let seq = app.journal_seq().await;
    for (i, bad) in [
        typo.iter().collect::<String>(),
        "nope".into(),
        unknown,
        code(&captured, 1),
    ]
    .iter()
    .enumerate()
    {
        let (s, v) = redeem(&app, bad, &format!("w-try-{i}")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
        assert_eq!(v["error"]["code"], "gift_card_invalid", "{v}");
        assert_eq!(v["error"]["field"], "code");
    }
    assert_eq!(app.journal_seq().await, seq, "nothing written");
    // Five failures lock a wallet out, even for a good code.
    for _ in 0..5 {
        let (s, _) = redeem(&app, "AAAA-AAAA-AAAA-AAAA-A", "w-locked").await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let resp = app
        .http
        .post(format!("{}/v1/gift-cards/redeem", app.base))
        .bearer_auth(&app.merchant)
        .header("Idempotency-Key", "locked-1")
        .json(&json!({"code": good, "wallet": "w-locked"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "too_many_attempts");
    // Another wallet is not locked; but the address has 9 failures now and
    // 20 lock it: eleven more from fresh wallets, then even a good code is
    // refused from this address.
    for i in 0..11 {
        let (s, _) = redeem(&app, "nope", &format!("w-spray-{i}")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (s, v) = redeem(&app, &good, "w-fresh").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
}

#[tokio::test]
async fn two_concurrent_redemptions_of_one_code_exactly_one_wins() {
    let app = issuer_app().await;
    let cus = app
        .register_body(person("race-1", 50, "東京都渋谷区渋谷2-13-13"))
        .await;
    let captured = buy(&app, &cus, 5, 1_000, "dev-race").await;
    for i in 0..5 {
        let c = code(&captured, i);
        let mut tasks = Vec::new();
        // Four racers per code, five codes: 15 refusals from this address,
        // below its lock-out (20).
        for w in 0..4 {
            let (http, base, key, c) = (
                app.http.clone(),
                app.base.clone(),
                app.merchant.clone(),
                c.clone(),
            );
            tasks.push(tokio::spawn(async move {
                http.post(format!("{base}/v1/gift-cards/redeem"))
                    .bearer_auth(key)
                    .header("Idempotency-Key", format!("race-{i}-{w}"))
                    .json(&json!({"code": c, "wallet": format!("w-race-{w}")}))
                    .send()
                    .await
                    .unwrap()
                    .status()
            }));
        }
        let mut won = 0;
        for t in tasks {
            match t.await.unwrap() {
                StatusCode::OK => won += 1,
                s => assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY),
            }
        }
        assert_eq!(won, 1, "code {i}");
    }
    let mut total = 0;
    for w in 0..8 {
        let (s, v) = app
            .get(&app.admin, &format!("/v1/wallets/w-race-{w}"))
            .await;
        if s == StatusCode::OK {
            total += v["balance"].as_i64().unwrap();
        }
    }
    assert_eq!(total, 5_000);
}

#[tokio::test]
async fn a_capture_retry_returns_the_cards_without_new_codes() {
    let app = issuer_app().await;
    let cus = app
        .register_body(person("rt-1", 60, "東京都渋谷区渋谷3-14-14"))
        .await;
    let order = app
        .order(
            &cus,
            vec![cards(1, 1_000), line("daily_goods", 800)],
            "dev-rt",
            "203.0.113.9",
        )
        .await;
    let id = order["order_id"].as_str().unwrap();
    let send = || {
        app.http
            .post(format!("{}/v1/orders/{id}/capture", app.base))
            .bearer_auth(&app.merchant)
            .header("Idempotency-Key", "capture-once")
            .json(&json!({}))
            .send()
    };
    let first: Value = send().await.unwrap().json().await.unwrap();
    let again = send().await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert!(first["gift_cards"][0]["code"].is_string());
    assert!(
        again["gift_cards"][0]["code"].is_null(),
        "shown once: {again}"
    );
    assert_eq!(first["gift_cards"][0]["id"], again["gift_cards"][0]["id"]);
}

#[tokio::test]
async fn cards_and_wallets_survive_a_restart() {
    let app = issuer_app().await;
    let cus = app
        .register_body(person("rs-1", 70, "東京都渋谷区渋谷4-15-15"))
        .await;
    let captured = buy(&app, &cus, 3, 1_000, "dev-rs").await;
    let (s, _) = redeem(&app, &code(&captured, 0), "w-rs").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = revoke(
        &app,
        json!({"code": code(&captured, 1), "reason": "resale"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, before) = app.get(&app.admin, "/v1/admin/journal").await;
    // Enough commands for the harness to have taken a snapshot (every 25).
    for i in 0..30 {
        app.at_day(1, i).await;
    }
    let app = app.restart().await;
    let (_, after) = app.get(&app.admin, "/v1/admin/journal").await;
    assert!(after["journal_seq"].as_u64() > before["journal_seq"].as_u64());
    let (s, w) = app.get(&app.admin, "/v1/wallets/w-rs").await;
    assert_eq!(s, StatusCode::OK, "{w}");
    assert_eq!(w["balance"], 1_000);
    // The index of code hashes is rebuilt: each code answers as before.
    let (s, v) = redeem(&app, &code(&captured, 0), "w-rs").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = redeem(&app, &code(&captured, 1), "w-rs").await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, v) = redeem(&app, &code(&captured, 2), "w-rs").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["balance"], 2_000);
}
