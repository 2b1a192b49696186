//! Risk rule sets through the public API, on a real server with a manual
//! clock: putting a set in force (admins only), refusing a file that does
//! not check while the old set keeps deciding, shadow and live rules, what
//! merchants and operators see of them, a reload under concurrent
//! authorizations, and a restart.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// A rule set: `rules` are `(id, when, action, reason, mode)`.
fn rule_set(name: &str, rules: &[(&str, &str, &str, &str, &str)]) -> String {
    let mut out = format!("[set]\nname = \"{name}\"\nversion = 1\n");
    for (id, when, action, reason, mode) in rules {
        out.push_str(&format!(
            "\n[[rule]]\nid = \"{id}\"\nversion = 2\nwhen = '{when}'\naction = \"{action}\"\n\
             reason = \"{reason}\"\ntext_ja = \"{reason}の確認が必要です。\"\n\
             text_en = \"Held: {reason}.\"\nmode = \"{mode}\"\n"
        ));
    }
    out
}

fn big_basket_review() -> String {
    rule_set(
        "big",
        &[(
            "big_basket",
            "cart.total >= 20_000 && order.channel == \"online\"",
            "review",
            "big_basket",
            "live",
        )],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_put_rules_in_force_and_others_are_refused() {
    let app = spawn_app().await;
    // The configured (built-in) set is in force from the start.
    let (s, list) = app.get(&app.admin, "/v1/admin/rules").await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list["in_force"], 1);
    assert_eq!(list["sets"][0]["name"], "default");
    assert_eq!(list["sets"][0]["author"], "config");

    let text = big_basket_review();
    let seq = app.journal_seq().await;
    for key in [&app.merchant, &app.analyst] {
        let (s, v) = app.put_rules(key, &text).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        assert_eq!(v["error"]["code"], "forbidden");
    }
    assert_eq!(app.journal_seq().await, seq, "nothing journaled");

    let (s, v) = app.put_rules(&app.admin, &text).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["version"], 2);
    assert_eq!(v["in_force"], true);
    assert_eq!(v["name"], "big");
    assert!(v["author"].as_str().unwrap().starts_with("opr_"), "{v}");
    let digest = v["digest"].as_str().unwrap().to_string();
    assert_eq!(digest.len(), 64);
    assert!(digest.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(v["rules"][0]["id"], "big_basket");
    assert_eq!(v["rules"][0]["mode"], "live");
    assert_eq!(v["at"], "2026-06-10T10:00:00+09:00");

    // The same text again changes nothing.
    let seq = app.journal_seq().await;
    let (s, again) = app.put_rules(&app.admin, &text).await;
    assert_eq!((s, &again["version"]), (StatusCode::OK, &json!(2)));
    assert_eq!(app.journal_seq().await, seq);

    // The file itself as application/toml.
    let resp = app
        .http
        .put(format!("{}/v1/admin/rules", app.base))
        .bearer_auth(&app.admin)
        .header("content-type", "application/toml")
        .body(text.replace("20_000", "25_000"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["version"], 3);
    // A file of 300 KiB (above the API's usual body limit) is taken; one
    // above 512 KiB is refused on its size, with the set in force kept.
    let padded = format!(
        "{}\n# {}\n",
        text.replace("20_000", "30_000"),
        "x".repeat(300 * 1024)
    );
    let (s, v) = app.put_rules(&app.admin, &padded).await;
    assert_eq!((s, &v["version"]), (StatusCode::OK, &json!(4)), "{v}");
    let huge = format!("{text}\n# {}\n", "x".repeat(513 * 1024));
    let (s, v) = app.put_rules(&app.admin, &huge).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "rules_too_large");
    // Any other type is refused.
    let resp = app
        .http
        .put(format!("{}/v1/admin/rules", app.base))
        .bearer_auth(&app.admin)
        .header("content-type", "text/plain")
        .body(text.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Operators read every version; merchants read none.
    let (s, list) = app.get(&app.analyst, "/v1/admin/rules").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["in_force"], 4);
    let sets = list["sets"].as_array().unwrap();
    assert_eq!(sets.len(), 4);
    assert_eq!(
        sets.iter()
            .map(|s| s["in_force"].clone())
            .collect::<Vec<_>>(),
        [json!(false), json!(false), json!(false), json!(true)]
    );
    assert_eq!(sets[1]["digest"], digest.as_str());
    let (s, one) = app.get(&app.analyst, "/v1/admin/rules/2").await;
    assert_eq!(s, StatusCode::OK, "{one}");
    assert_eq!(one["source"], text.as_str());
    assert_eq!(one["version"], 2);
    assert_eq!(one["in_force"], false);
    let (s, v) = app.get(&app.admin, "/v1/admin/rules/5").await;
    assert_eq!(
        (s, &v["error"]["code"]),
        (StatusCode::NOT_FOUND, &json!("rule_set_not_found"))
    );
    let (s, _) = app.get(&app.admin, "/v1/admin/rules/x").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    for path in ["/v1/admin/rules", "/v1/admin/rules/1"] {
        let (s, _) = app.get(&app.merchant, path).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_file_is_refused_with_every_position_and_the_old_set_keeps_deciding() {
    let app = spawn_app().await;
    let version = app.put_ok(&big_basket_review()).await;
    let seq = app.journal_seq().await;
    // Line 8: an unknown feature; line 9: an unknown action.
    let bad = "[set]\nname = \"bad\"\nversion = 1\n\n[[rule]]\nid = \"r\"\nversion = 1\n\
               when = 'cart.totl >= 1'\naction = \"explode\"\nreason = \"r\"\ntext_ja = \"r\"\ntext_en = \"r\"\n";
    let (s, v) = app.put_rules(&app.admin, bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "rules_invalid");
    assert_eq!(v["error"]["field"], "rules");
    let details = v["error"]["details"].as_array().unwrap();
    assert_eq!(details.len(), 2, "{v}");
    assert_eq!(
        (&details[0]["line"], &details[0]["column"]),
        (&json!(8), &json!(9))
    );
    assert!(
        details[0]["message"]
            .as_str()
            .unwrap()
            .contains("cart.totl"),
        "{v}"
    );
    assert_eq!(details[1]["line"], 9);
    assert!(details[1]["column"].as_u64().unwrap() >= 1);
    assert!(
        details[1]["message"].as_str().unwrap().contains("explode"),
        "{v}"
    );
    // Not TOML at all: still positions.
    let (s, v) = app.put_rules(&app.admin, "[set\nname = ").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["details"][0]["line"], 1);
    // Nothing journaled; the old set is in force and decides.
    assert_eq!(app.journal_seq().await, seq);
    let (_, list) = app.get(&app.admin, "/v1/admin/rules").await;
    assert_eq!(list["in_force"], version);
    let cus = app.register("c-1").await;
    let d = app.authorize(&cus, "fashion", 21_000).await;
    assert_eq!(d["decision"], "review", "{d}");
    assert_eq!(d["reasons"][0]["code"], "big_basket");
    let id = d["order_id"].as_str().unwrap();
    let (_, o) = app.get(&app.admin, &format!("/v1/orders/{id}")).await;
    assert_eq!(o["rules"][0]["rule_set"], version);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shadow_rule_never_acts_but_is_shown_to_operators_and_counted() {
    let app = spawn_app().await;
    let set = rule_set(
        "shadow",
        &[(
            "would_decline",
            "cart.total >= 1_000 && account.age_days < 30",
            "decline",
            "new_account_basket",
            "shadow",
        )],
    );
    let version = app.put_ok(&set).await;
    let cus = app.register("c-1").await;
    let d = app.authorize(&cus, "fashion", 4_000).await;
    assert_eq!(d["decision"], "approve", "{d}");
    assert_eq!(d["reasons"], json!([]));
    assert!(d.get("rules").is_none(), "the merchant's answer: {d}");
    let id = d["order_id"].as_str().unwrap();

    let (_, merchant) = app.get(&app.merchant, &format!("/v1/orders/{id}")).await;
    assert!(merchant.get("rules").is_none(), "{merchant}");
    let (_, o) = app.get(&app.analyst, &format!("/v1/orders/{id}")).await;
    let rules = o["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1, "{o}");
    assert_eq!(
        rules[0],
        json!({"rule_set": version, "id": "would_decline", "version": 2, "action": "decline",
            "shadow": true, "reason": "new_account_basket",
            "features": {"account.age_days": 0, "cart.total": 4_000}})
    );

    let (_, list) = app.get(&app.admin, "/v1/admin/rules").await;
    let rule = &list["sets"][version as usize - 1]["rules"][0];
    assert_eq!(
        (&rule["mode"], &rule["hits_live"], &rule["hits_shadow"]),
        (&json!("shadow"), &json!(0), &json!(1))
    );
    let metrics = app.metrics().await;
    let line = format!(
        "atobarai_risk_rule_hits_total{{rule_set=\"{version}\",rule=\"would_decline\",mode=\"shadow\"}} 1"
    );
    assert!(metrics.contains(&line), "{metrics}");
    let line = format!(
        "atobarai_risk_rule_hits_total{{rule_set=\"{version}\",rule=\"would_decline\",mode=\"live\"}} 0"
    );
    assert!(metrics.contains(&line), "{metrics}");
    assert!(
        metrics.contains(&format!("atobarai_risk_rule_set_in_force {version}")),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_review_rule_holds_with_its_own_reason_and_only_operators_see_the_rules() {
    let app = spawn_app().await;
    let version = app.put_ok(&big_basket_review()).await;
    let cus = app.register("c-1").await;
    let small = app.authorize(&cus, "fashion", 3_000).await;
    assert_eq!(small["decision"], "approve", "{small}");
    let d = app.authorize(&cus, "fashion", 22_000).await;
    assert_eq!(d["decision"], "review", "{d}");
    let expected_reasons = json!([{"code": "big_basket",
        "message_ja": "big_basketの確認が必要です。", "message_en": "Held: big_basket."}]);
    assert_eq!(d["reasons"], expected_reasons, "no `risk_rule` left: {d}");
    assert!(d.get("rules").is_none(), "{d}");
    let id = d["order_id"].as_str().unwrap();

    let (s, m) = app.get(&app.merchant, &format!("/v1/orders/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(m["status"], "in_review");
    assert_eq!(m["reasons"], expected_reasons);
    assert!(m.get("rules").is_none(), "merchants never see rules: {m}");
    assert!(m.get("rule_set").is_none(), "nor the rule set: {m}");
    // Nor in the merchant's lists.
    let (_, page) = app
        .get(&app.merchant, &format!("/v1/customers/{cus}/orders"))
        .await;
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o.get("rules").is_none()),
        "{page}"
    );

    let (_, o) = app.get(&app.admin, &format!("/v1/orders/{id}")).await;
    assert_eq!(o["reasons"], expected_reasons);
    assert_eq!(
        o["rules"],
        json!([{"rule_set": version, "id": "big_basket", "version": 2, "action": "review",
            "shadow": false, "reason": "big_basket",
            "features": {"cart.total": 22_000, "order.channel": "online"}}])
    );
    // The approved order: a rule set decided, nothing fired.
    let small_id = small["order_id"].as_str().unwrap();
    let (_, o) = app.get(&app.admin, &format!("/v1/orders/{small_id}")).await;
    assert_eq!(o["rules"], json!([]));
    assert_eq!(o["rule_set"], json!(version), "the set it used, named: {o}");
    // The review queue shows the operator the same.
    let (_, queue) = app.get(&app.analyst, "/v1/admin/reviews").await;
    assert_eq!(queue["items"][0]["rules"][0]["id"], "big_basket");

    // A live decline declines with its reason.
    let decline = rule_set(
        "strict",
        &[(
            "no_consoles",
            "cart.resellable_yen > 0",
            "decline",
            "console_refused",
            "live",
        )],
    );
    app.put_ok(&decline).await;
    let d = app.authorize(&cus, "game_console", 5_000).await;
    assert_eq!(d["decision"], "decline", "{d}");
    assert_eq!(d["reasons"][0]["code"], "console_refused");
    assert_eq!(d["reasons"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_under_concurrent_authorizations_loses_no_decision() {
    let app = Arc::new(spawn_app().await);
    // Each set marks every order with a flag rule of its own.
    let set = |mark: &str| rule_set(mark, &[(mark, "cart.total >= 1", "flag", mark, "live")]);
    let a = app.put_ok(&set("mark_a")).await;
    let mut customers = Vec::new();
    for i in 0..4 {
        customers.push(app.register(&format!("c-{i}")).await);
    }
    let started = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reloaded = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (t, cus) in customers.iter().enumerate() {
        for n in 0..15 {
            let (app, cus) = (app.clone(), cus.clone());
            let (started, reloaded) = (started.clone(), reloaded.clone());
            tasks.push(tokio::spawn(async move {
                started.store(true, Ordering::SeqCst);
                let after_reload = reloaded.load(Ordering::SeqCst);
                let d = app
                    .authorize(&cus, "daily_goods", 100 + t as i64 * 10 + n)
                    .await;
                (d, after_reload)
            }));
        }
    }
    while !started.load(Ordering::SeqCst) {
        tokio::task::yield_now().await;
    }
    let b = app.put_ok(&set("mark_b")).await;
    reloaded.store(true, Ordering::SeqCst);
    // Authorizations sent once the reload was answered.
    for n in 0..5 {
        let (app, cus) = (app.clone(), customers[0].clone());
        tasks.push(tokio::spawn(async move {
            (app.authorize(&cus, "daily_goods", 500 + n).await, true)
        }));
    }
    let mut decided = Vec::new();
    for task in tasks {
        decided.push(task.await.unwrap());
    }
    assert_eq!(decided.len(), 65);
    let (mut under_a, mut under_b) = (0u64, 0u64);
    for (d, after_reload) in &decided {
        assert_eq!(d["decision"], "approve", "{d}");
        let id = d["order_id"].as_str().unwrap();
        let (s, o) = app.get(&app.analyst, &format!("/v1/orders/{id}")).await;
        assert_eq!(s, StatusCode::OK, "{o}");
        let rules = o["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 1, "{o}");
        let version = rules[0]["rule_set"].as_u64().unwrap();
        assert_eq!(o["rule_set"].as_u64(), Some(version), "{o}");
        let mark = if version == a {
            under_a += 1;
            "mark_a"
        } else {
            assert_eq!(version, b, "a version that was in force: {o}");
            under_b += 1;
            "mark_b"
        };
        assert_eq!(rules[0]["id"], mark, "{o}");
        if *after_reload {
            assert_eq!(version, b, "sent after the reload was answered: {o}");
        }
    }
    assert_eq!(under_a + under_b, 65);
    assert!(under_b >= 5);
    // Every decision is an order of its customer, and B counted its own.
    let mut listed = 0;
    for cus in &customers {
        let (_, page) = app
            .get(&app.admin, &format!("/v1/customers/{cus}/orders"))
            .await;
        listed += page["items"].as_array().unwrap().len();
    }
    assert_eq!(listed, 65);
    let (_, list) = app.get(&app.admin, "/v1/admin/rules").await;
    assert_eq!(list["in_force"], b);
    assert_eq!(
        list["sets"][b as usize - 1]["rules"][0]["hits_live"],
        under_b
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_the_rule_set_and_the_records() {
    let app = spawn_app().await;
    let version = app.put_ok(&big_basket_review()).await;
    let cus = app.register("c-1").await;
    let d = app.authorize(&cus, "fashion", 21_000).await;
    assert_eq!(d["decision"], "review");
    let id = d["order_id"].as_str().unwrap().to_string();
    let (_, before) = app.get(&app.admin, &format!("/v1/orders/{id}")).await;
    let (_, sets_before) = app.get(&app.admin, "/v1/admin/rules").await;
    // Enough commands after the set for snapshots on both sides of it.
    for n in 0..30 {
        app.authorize(&cus, "daily_goods", 100 + n).await;
    }
    let (_, sets_mid) = app.get(&app.admin, "/v1/admin/rules").await;

    let app = app.restart().await;
    let (_, sets_after) = app.get(&app.admin, "/v1/admin/rules").await;
    assert_eq!(sets_after, sets_mid, "versions, authors, digests and hits");
    assert_eq!(
        sets_after["in_force"], version,
        "not reverted to the configured set"
    );
    assert_eq!(
        sets_after["sets"][version as usize - 1]["digest"],
        sets_before["sets"][version as usize - 1]["digest"]
    );
    assert_eq!(
        sets_after["sets"][version as usize - 1]["rules"][0]["hits_live"],
        1
    );
    let (_, after) = app.get(&app.admin, &format!("/v1/orders/{id}")).await;
    assert_eq!(after, before, "the decision's record survives");
    assert_eq!(after["rules"][0]["features"]["cart.total"], 21_000);
    // The set still decides.
    let d = app.authorize(&cus, "fashion", 20_000).await;
    assert_eq!(d["decision"], "review", "{d}");
    assert_eq!(d["reasons"][0]["code"], "big_basket");
}
