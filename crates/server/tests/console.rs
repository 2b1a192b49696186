//! The console listings over real HTTP: the review queue, a customer's
//! orders, lookups by `external_id` and `merchant_order_id`, their cursor
//! paging and who may see what.

mod common;

use atobarai_core::ids;
use atobarai_engine::{Role, prefix};
use atobarai_server::{AppState, ClockMode, Node, NodeOptions, StoreSpec};
use common::add_key;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

struct TestApp {
    base: String,
    http: reqwest::Client,
    _node: Arc<Node>,
    _dir: tempfile::TempDir,
    /// Merchant `mer_…` index 0.
    merchant: String,
    /// Merchant index 1.
    other_merchant: String,
    admin: String,
    analyst: String,
    payments: String,
    keys: AtomicU64,
}

/// The public id of merchant `index` (the order of `add_key` calls).
fn merchant_id(index: u64) -> String {
    ids::encode(prefix::MERCHANT, index)
}

async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let options = NodeOptions {
        store: StoreSpec::Dir(dir.path().to_path_buf()),
        clock: ClockMode::Manual,
        config: Default::default(),
        snapshot_every: 1_000,
        cluster: Default::default(),
    };
    let (node, merchant, other_merchant, admin, analyst, payments) =
        tokio::task::spawn_blocking(move || {
            let node = Node::open(options, &mut |_, _| {}).unwrap();
            let m = add_key(&node, "shop", None);
            let o = add_key(&node, "other shop", None);
            let a = add_key(&node, "admin", Some(Role::Admin));
            let r = add_key(&node, "analyst", Some(Role::Analyst));
            let p = add_key(&node, "konbini agency", Some(Role::Payments));
            (Arc::new(node), m, o, a, r, p)
        })
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = atobarai_server::router(AppState {
        node: node.clone(),
        limits: Arc::new(Default::default()),
        identity: atobarai_server::IdentitySecret::new("console-test-secret"),
        webhooks: Arc::new(Default::default()),
        documents: Default::default(),
        body_timeout: std::time::Duration::from_secs(30),
    });
    tokio::spawn(async move {
        atobarai_server::serve(
            listener,
            router,
            atobarai_server::ServeOptions::default(),
            std::future::pending(),
        )
        .await
        .unwrap();
    });
    let app = TestApp {
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        _node: node,
        _dir: dir,
        merchant,
        other_merchant,
        admin,
        analyst,
        payments,
        keys: AtomicU64::new(0),
    };
    let (s, v) = app
        .post(
            &app.admin,
            "/v1/admin/clock",
            json!({"now": "2026-06-10T10:00:00+09:00"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    app
}

impl TestApp {
    async fn post(&self, key: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let idem = format!("k-{}", self.keys.fetch_add(1, Ordering::Relaxed));
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(key)
            .header("Idempotency-Key", idem)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, key: &str, path: &str) -> (StatusCode, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let is_json = resp
            .headers()
            .get("content-type")
            .is_some_and(|c| c.as_bytes().starts_with(b"application/json"));
        assert!(is_json, "{path}: {status} without a JSON body");
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn register(&self, key: &str, external_id: &str) -> String {
        self.register_as(key, external_id, "090-1234-5678", "taro@example.jp")
            .await
    }

    /// Register with a phone and e-mail of its own: a person the identity
    /// graph does not join to the others (each keeps its own limit).
    async fn register_as(&self, key: &str, external_id: &str, phone: &str, email: &str) -> String {
        let body = json!({"external_id": external_id, "name": "山田 太郎", "name_kana": "ヤマダ タロウ",
            "birth_date": "1990-04-01", "phone": phone, "email": email,
            "postal_code": "100-0013", "address": "東京都千代田区霞が関1-3-1 霞ビル101",
            "payment_method": "convenience_store"});
        let (s, v) = self.post(key, "/v1/customers", body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().unwrap().to_string()
    }

    /// Authorize one item; returns the order id and its decision.
    async fn authorize(
        &self,
        key: &str,
        customer: &str,
        merchant_order_id: &str,
        category: &str,
        price: i64,
    ) -> (String, String) {
        let body = json!({"merchant_order_id": merchant_order_id, "customer": customer,
            "product": "monthly", "channel": "online",
            "items": [{"sku": "SKU-1", "name": "商品", "category": category, "unit_price": price, "quantity": 1}]});
        let (s, v) = self.post(key, "/v1/authorizations", body).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        (
            v["order_id"].as_str().unwrap().to_string(),
            v["decision"].as_str().unwrap().to_string(),
        )
    }

    /// Every item of a list, page by page (`path` has a query already),
    /// checking each page's size and cursor.
    async fn all_pages(&self, key: &str, path: &str, limit: usize) -> Vec<Value> {
        let mut items = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..1_000 {
            let cursor = after
                .as_deref()
                .map(|a| format!("&after={a}"))
                .unwrap_or_default();
            let (s, page) = self
                .get(key, &format!("{path}&limit={limit}{cursor}"))
                .await;
            assert_eq!(s, StatusCode::OK, "{page}");
            let got = page["items"].as_array().unwrap().clone();
            assert!(got.len() <= limit, "{path}: {} > {limit}", got.len());
            match page["next"].as_str() {
                Some(next) => {
                    assert_eq!(got.len(), limit, "only a full page has a next");
                    // The cursor is the last item's order id.
                    assert_eq!(got.last().unwrap()["order_id"].as_str(), Some(next));
                    after = Some(next.to_string());
                    items.extend(got);
                }
                None => {
                    assert!(page["next"].is_null(), "{page}");
                    items.extend(got);
                    return items;
                }
            }
        }
        panic!("{path}: the cursor never ended");
    }
}

fn order_ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|o| o["order_id"].as_str().unwrap().to_string())
        .collect()
}

fn assert_error(status: StatusCode, v: &Value, want: StatusCode, code: &str, field: &str) {
    assert_eq!(status, want, "{v}");
    assert_eq!(v["error"]["code"].as_str(), Some(code), "{v}");
    assert_eq!(v["error"]["field"].as_str(), Some(field), "{v}");
    assert!(v["error"]["message"].is_string(), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_returns_every_order_once_in_order() {
    let app = spawn_app().await;
    let m = app.merchant.as_str();
    let a = app.register(m, "c-a").await;
    let b = app.register(m, "c-b").await;
    let theirs = app.register(&app.other_merchant, "c-a").await;
    // 130 orders of customer a and, every 13th, one of customer b, all
    // under one merchant order id; the other merchant reuses it too.
    let (mut of_a, mut batch) = (Vec::new(), Vec::new());
    for i in 0..130 {
        let (id, decision) = app.authorize(m, &a, "batch-1", "daily_goods", 100).await;
        assert_eq!(decision, "approve");
        of_a.push(id.clone());
        batch.push(id);
        if i % 13 == 0 {
            let (id, _) = app.authorize(m, &b, "batch-1", "food", 100).await;
            batch.push(id);
            app.authorize(&app.other_merchant, &theirs, "batch-1", "food", 100)
                .await;
        }
    }
    assert_eq!(batch.len(), 140);

    // A customer's orders: the default page is 100, then the rest.
    let (s, first) = app.get(m, &format!("/v1/customers/{a}/orders")).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    assert_eq!(first["items"].as_array().unwrap().len(), 100);
    assert_eq!(first["next"].as_str(), Some(of_a[99].as_str()));
    let (_, second) = app
        .get(m, &format!("/v1/customers/{a}/orders?after={}", of_a[99]))
        .await;
    assert_eq!(order_ids(second["items"].as_array().unwrap()), of_a[100..]);
    assert!(second["next"].is_null());

    // Any page size walks every order exactly once, oldest first; the
    // operator sees the same list.
    for (key, limit) in [
        (m, 100),
        (m, 7),
        (app.analyst.as_str(), 1),
        (app.admin.as_str(), 33),
    ] {
        let items = app
            .all_pages(key, &format!("/v1/customers/{a}/orders?"), limit)
            .await;
        assert_eq!(order_ids(&items), of_a, "limit {limit}");
    }
    // Items are the single GET's JSON.
    let (_, one) = app.get(m, &format!("/v1/orders/{}", of_a[42])).await;
    let items = app
        .all_pages(m, &format!("/v1/customers/{a}/orders?"), 50)
        .await;
    assert_eq!(items[42], one);

    // By merchant order id: both customers' orders, this merchant's only.
    for limit in [100, 9] {
        let items = app
            .all_pages(m, "/v1/orders?merchant_order_id=batch-1", limit)
            .await;
        assert_eq!(order_ids(&items), batch, "limit {limit}");
    }
    let theirs_batch = app
        .all_pages(
            &app.other_merchant,
            "/v1/orders?merchant_order_id=batch-1",
            100,
        )
        .await;
    assert_eq!(theirs_batch.len(), 10);
    assert!(
        theirs_batch
            .iter()
            .all(|o| o["customer"] == theirs.as_str())
    );
    // An operator names the merchant.
    let items = app
        .all_pages(
            &app.analyst,
            &format!(
                "/v1/orders?merchant_order_id=batch-1&merchant={}",
                merchant_id(0)
            ),
            64,
        )
        .await;
    assert_eq!(order_ids(&items), batch);
    // A merchant may name itself.
    let items = app
        .all_pages(
            m,
            &format!(
                "/v1/orders?merchant_order_id=batch-1&merchant={}",
                merchant_id(0)
            ),
            100,
        )
        .await;
    assert_eq!(order_ids(&items), batch);
    // No such merchant order id: an empty page.
    let (s, v) = app.get(m, "/v1/orders?merchant_order_id=nope").await;
    assert_eq!((s, v), (StatusCode::OK, json!({"items": [], "next": null})));
    // A cursor past every order: an empty last page.
    let far = ids::encode(prefix::ORDER, u64::MAX);
    let (s, v) = app
        .get(m, &format!("/v1/customers/{a}/orders?after={far}"))
        .await;
    assert_eq!((s, v), (StatusCode::OK, json!({"items": [], "next": null})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merchants_see_only_their_own_customers_and_orders() {
    let app = spawn_app().await;
    let m = app.merchant.as_str();
    let other = app.other_merchant.as_str();
    let cus = app.register(m, "c-1").await;
    let odd = app.register(m, "c 2/&=").await;
    let (order, _) = app.authorize(m, &cus, "o-1", "food", 1000).await;

    // Another merchant's customer's orders: not found.
    let (s, v) = app.get(other, &format!("/v1/customers/{cus}/orders")).await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "customer_not_found", "id");
    // Its lookups search its own ids only: nothing there.
    let (s, v) = app.get(other, "/v1/customers?external_id=c-1").await;
    assert_eq!((s, v), (StatusCode::OK, json!({"items": [], "next": null})));
    let (s, v) = app.get(other, "/v1/orders?merchant_order_id=o-1").await;
    assert_eq!((s, v), (StatusCode::OK, json!({"items": [], "next": null})));
    // Naming the other merchant: not found.
    let (s, v) = app
        .get(
            other,
            &format!("/v1/customers?external_id=c-1&merchant={}", merchant_id(0)),
        )
        .await;
    assert_error(
        s,
        &v,
        StatusCode::NOT_FOUND,
        "customer_not_found",
        "merchant",
    );
    let (s, v) = app
        .get(
            other,
            &format!(
                "/v1/orders?merchant_order_id=o-1&merchant={}",
                merchant_id(0)
            ),
        )
        .await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "order_not_found", "merchant");

    // The owner finds its customer, as the single GET shows it.
    let (_, single) = app.get(m, &format!("/v1/customers/{cus}")).await;
    let (s, v) = app.get(m, "/v1/customers?external_id=c-1").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v, json!({"items": [single.clone()], "next": null}));
    let (s, v) = app.get(m, "/v1/orders?merchant_order_id=o-1").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(order_ids(v["items"].as_array().unwrap()), [order.as_str()]);
    // A query value is percent-decoded like any other.
    let (_, v) = app.get(m, "/v1/customers?external_id=c%202%2F%26%3D").await;
    assert_eq!(v["items"][0]["id"].as_str(), Some(odd.as_str()), "{v}");

    // An operator names the merchant; without it, a 422 on `merchant`.
    for key in [app.admin.as_str(), app.analyst.as_str()] {
        let (s, v) = app
            .get(
                key,
                &format!("/v1/customers?external_id=c-1&merchant={}", merchant_id(0)),
            )
            .await;
        assert_eq!((s, &v["items"][0]), (StatusCode::OK, &single), "{v}");
        let (s, v) = app
            .get(
                key,
                &format!("/v1/customers?external_id=c-1&merchant={}", merchant_id(1)),
            )
            .await;
        assert_eq!((s, v), (StatusCode::OK, json!({"items": [], "next": null})));
        let (s, v) = app.get(key, "/v1/customers?external_id=c-1").await;
        assert_error(
            s,
            &v,
            StatusCode::UNPROCESSABLE_ENTITY,
            "merchant_required",
            "merchant",
        );
        let (s, v) = app.get(key, "/v1/orders?merchant_order_id=o-1").await;
        assert_error(
            s,
            &v,
            StatusCode::UNPROCESSABLE_ENTITY,
            "merchant_required",
            "merchant",
        );
        let (s, v) = app
            .get(
                key,
                &format!(
                    "/v1/orders?merchant_order_id=o-1&merchant={}",
                    merchant_id(99)
                ),
            )
            .await;
        assert_error(
            s,
            &v,
            StatusCode::NOT_FOUND,
            "merchant_not_found",
            "merchant",
        );
        let (s, v) = app.get(key, &format!("/v1/customers/{cus}/orders")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(order_ids(v["items"].as_array().unwrap()), [order.as_str()]);
    }

    // A payment channel lists nothing; the review queue is the operators'.
    for key in [m, app.payments.as_str()] {
        let (s, v) = app.get(key, "/v1/admin/reviews").await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("forbidden"))
        );
    }
    let (s, v) = app
        .get(&app.payments, &format!("/v1/customers/{cus}/orders"))
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (s, v) = app
        .get("not-a-key", "/v1/orders?merchant_order_id=o-1")
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_review_queue_shrinks_as_orders_are_reviewed() {
    let app = spawn_app().await;
    let m = app.merchant.as_str();
    let mut held = Vec::new();
    for i in 0..5 {
        // Five people, each with a limit of their own.
        let cus = app
            .register_as(
                m,
                &format!("c-{i}"),
                &format!("090-1234-567{i}"),
                &format!("taro{i}@example.jp"),
            )
            .await;
        app.authorize(m, &cus, &format!("food-{i}"), "food", 500)
            .await;
        // A cart of gift cards only, of ¥20,000 or more, is held for
        // review (the default rules' `cash_equivalent_only_large`).
        let (id, decision) = app
            .authorize(m, &cus, &format!("gift-{i}"), "gift_card", 20_000)
            .await;
        assert_eq!(decision, "review");
        held.push(id);
    }
    let queue = app.all_pages(&app.analyst, "/v1/admin/reviews?", 2).await;
    assert_eq!(order_ids(&queue), held);
    assert!(queue.iter().all(|o| o["status"] == "in_review"));
    // Items as their single GET shows them to an operator: the rule's own
    // reason, and the rules that fired.
    for o in &queue {
        assert_eq!(o["reasons"][0]["code"], "cash_equivalent_only_cart", "{o}");
        assert_eq!(o["rules"][0]["id"], "cash_equivalent_only_large", "{o}");
    }

    // Approve the oldest, decline one in the middle: both leave the queue.
    for (id, decision) in [(&held[0], "approve"), (&held[2], "decline")] {
        let (s, v) = app
            .post(
                &app.admin,
                &format!("/v1/admin/orders/{id}/review"),
                json!({"decision": decision}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (s, v) = app.get(&app.admin, "/v1/admin/reviews").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        order_ids(v["items"].as_array().unwrap()),
        [held[1].clone(), held[3].clone(), held[4].clone()]
    );
    assert!(v["next"].is_null());
    // A cursor at a reviewed order still pages from its position.
    let (_, v) = app
        .get(&app.admin, &format!("/v1/admin/reviews?after={}", held[2]))
        .await;
    assert_eq!(
        order_ids(v["items"].as_array().unwrap()),
        [held[3].clone(), held[4].clone()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_paging_and_lookups_are_refused_with_the_field() {
    let app = spawn_app().await;
    let m = app.merchant.as_str();
    let cus = app.register(m, "c-1").await;
    let lists = [
        (app.admin.as_str(), "/v1/admin/reviews?x=1".to_string()),
        (m, format!("/v1/customers/{cus}/orders?x=1")),
        (m, "/v1/orders?merchant_order_id=o-1".to_string()),
    ];
    for (key, path) in &lists {
        for limit in ["0", "101", "-1", "abc", "1.5", ""] {
            let (s, v) = app.get(key, &format!("{path}&limit={limit}")).await;
            assert_error(
                s,
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                "limit_out_of_range",
                "limit",
            );
        }
        for after in [
            "x",
            "ord_",
            "ord_zzzzzzzzzzzzz",
            cus.as_str(),
            "ORD_0000000000000",
        ] {
            let (s, v) = app.get(key, &format!("{path}&after={after}")).await;
            assert_error(
                s,
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_cursor",
                "after",
            );
        }
        let (s, v) = app.get(key, &format!("{path}&limit=1&limit=2")).await;
        assert_error(s, &v, StatusCode::BAD_REQUEST, "invalid_query", "query");
        let (s, v) = app.get(key, &format!("{path}&limit=100")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (s, v) = app.get(m, "/v1/customers").await;
    assert_error(
        s,
        &v,
        StatusCode::UNPROCESSABLE_ENTITY,
        "missing_field",
        "external_id",
    );
    let (s, v) = app.get(m, "/v1/orders").await;
    assert_error(
        s,
        &v,
        StatusCode::UNPROCESSABLE_ENTITY,
        "missing_field",
        "merchant_order_id",
    );
    let (s, v) = app.get(m, "/v1/customers?external_id=%20").await;
    assert_error(
        s,
        &v,
        StatusCode::UNPROCESSABLE_ENTITY,
        "required",
        "external_id",
    );
    let long = "x".repeat(65);
    let (s, v) = app
        .get(m, &format!("/v1/orders?merchant_order_id={long}"))
        .await;
    assert_error(
        s,
        &v,
        StatusCode::UNPROCESSABLE_ENTITY,
        "too_long",
        "merchant_order_id",
    );
    let (s, v) = app.get(m, "/v1/orders?merchant_order_id=a%07").await;
    assert_error(
        s,
        &v,
        StatusCode::UNPROCESSABLE_ENTITY,
        "control_character",
        "merchant_order_id",
    );
    let (s, v) = app
        .get(m, "/v1/customers?external_id=c-1&merchant=shop")
        .await;
    assert_error(
        s,
        &v,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_merchant",
        "merchant",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_declares_the_listings() {
    let app = spawn_app().await;
    let doc: Value = app
        .http
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (path, params) in [
        ("/v1/admin/reviews", &["after", "limit"][..]),
        ("/v1/customers/{id}/orders", &["after", "limit"][..]),
        ("/v1/customers", &["external_id", "merchant"][..]),
        (
            "/v1/orders",
            &["merchant_order_id", "merchant", "after", "limit"][..],
        ),
    ] {
        let op = &doc["paths"][path]["get"];
        let declared = op["parameters"].as_array().unwrap();
        for name in params {
            let p = declared
                .iter()
                .find(|p| p["name"] == *name && p["in"] == "query")
                .unwrap_or_else(|| panic!("{path}: {name}"));
            let required = matches!(*name, "external_id" | "merchant_order_id");
            assert_eq!(
                p["required"].as_bool().unwrap_or(false),
                required,
                "{path}: {name}"
            );
            if *name == "limit" {
                assert_eq!(p["schema"]["minimum"], 1, "{path}");
                assert_eq!(p["schema"]["maximum"], 100, "{path}");
            }
        }
        for status in ["200", "400", "401", "403", "422", "503"] {
            assert!(op["responses"][status].is_object(), "{path}: {status}");
        }
    }
    assert!(doc["paths"]["/v1/customers"]["post"].is_object());
}
