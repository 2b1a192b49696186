//! The harness the API tests share: a node on a temporary store with a
//! manual clock, served on a loopback port, with a merchant, an admin, an
//! analyst and a payment-channel key.
#![allow(dead_code)]

use atobarai_engine::{Command, Outcome, Role};
use atobarai_server::{AppState, ClockMode, Node, NodeOptions, StoreSpec, auth};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub node: Arc<Node>,
    pub dir: tempfile::TempDir,
    pub server: tokio::task::JoinHandle<()>,
    pub merchant: String,
    pub admin: String,
    pub analyst: String,
    pub payments: String,
    pub keys: Arc<AtomicU64>,
}

pub fn options(dir: &std::path::Path) -> NodeOptions {
    NodeOptions {
        store: StoreSpec::Dir(dir.to_path_buf()),
        clock: ClockMode::Manual,
        config: Default::default(),
        snapshot_every: 25,
        cluster: Default::default(),
    }
}

pub fn add_key(node: &Node, name: &str, role: Option<Role>) -> String {
    let k = auth::mint();
    let command = match role {
        None => Command::AddMerchant {
            name: name.into(),
            key_id: k.key_id,
            secret_sha256: k.secret_sha256,
        },
        Some(role) => Command::AddOperator {
            name: name.into(),
            role,
            key_id: k.key_id,
            secret_sha256: k.secret_sha256,
        },
    };
    let applied = node.submit_blocking(None, command).unwrap().unwrap();
    assert!(matches!(
        applied.outcome,
        Outcome::Merchant(_) | Outcome::Operator(_)
    ));
    k.key
}

pub async fn serve(node: Arc<Node>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = atobarai_server::router(AppState {
        node,
        limits: Arc::new(Default::default()),
        identity: atobarai_server::IdentitySecret::new("risk-rules-test-secret"),
        webhooks: Arc::new(Default::default()),
        documents: Default::default(),
        body_timeout: std::time::Duration::from_secs(30),
    });
    let server = tokio::spawn(async move {
        atobarai_server::serve(listener, app, Default::default(), std::future::pending())
            .await
            .unwrap();
    });
    (format!("http://{addr}"), server)
}

pub async fn spawn_app() -> TestApp {
    let app = spawn_app_with(|_| {}).await;
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

/// The harness's node and keys with `configure` applied to its options,
/// its manual clock not yet set.
pub async fn spawn_app_with(configure: impl FnOnce(&mut NodeOptions)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path());
    configure(&mut opts);
    let (node, merchant, admin, analyst, payments) = tokio::task::spawn_blocking(move || {
        let node = Node::open(opts, &mut |_, _| {}).unwrap();
        let m = add_key(&node, "shop", None);
        let a = add_key(&node, "admin", Some(Role::Admin));
        let r = add_key(&node, "analyst", Some(Role::Analyst));
        let p = add_key(&node, "bank", Some(Role::Payments));
        (Arc::new(node), m, a, r, p)
    })
    .await
    .unwrap();
    let (base, server) = serve(node.clone()).await;
    TestApp {
        base,
        http: reqwest::Client::new(),
        node,
        dir,
        server,
        merchant,
        admin,
        analyst,
        payments,
        keys: Arc::new(AtomicU64::new(0)),
    }
}

impl TestApp {
    pub async fn post(&self, key: &str, path: &str, body: Value) -> (StatusCode, Value) {
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

    pub async fn get(&self, key: &str, path: &str) -> (StatusCode, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn put_rules(&self, key: &str, rules: &str) -> (StatusCode, Value) {
        let resp = self
            .http
            .put(format!("{}/v1/admin/rules", self.base))
            .bearer_auth(key)
            .json(&json!({ "rules": rules }))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Put a set in force as admin; its version.
    pub async fn put_ok(&self, rules: &str) -> u64 {
        let (s, v) = self.put_rules(&self.admin, rules).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["version"].as_u64().unwrap()
    }

    pub async fn register(&self, external_id: &str) -> String {
        let body = json!({"external_id": external_id, "name": "山田 太郎", "name_kana": "ヤマダ タロウ",
            "birth_date": "1990-04-01", "phone": "090-1234-5678", "email": "taro@example.jp",
            "postal_code": "100-0013", "address": "東京都千代田区霞が関1-3-1 霞ビル101",
            "payment_method": "convenience_store"});
        let (s, v) = self.post(&self.merchant, "/v1/customers", body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().unwrap().to_string()
    }

    pub async fn authorize(&self, customer: &str, category: &str, price: i64) -> Value {
        let body = json!({"merchant_order_id": "o-1", "customer": customer, "product": "monthly",
            "channel": "online",
            "items": [{"sku": "SKU-1", "name": "商品", "category": category, "unit_price": price, "quantity": 1}]});
        let (s, v) = self.post(&self.merchant, "/v1/authorizations", body).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    pub async fn journal_seq(&self) -> u64 {
        let (_, v) = self.get(&self.admin, "/healthz").await;
        v["journal_seq"].as_u64().unwrap()
    }

    pub async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Stop the server and the node, then open the store again.
    pub async fn restart(self) -> TestApp {
        self.server.abort();
        let node = self.node.clone();
        tokio::task::spawn_blocking(move || node.shutdown())
            .await
            .unwrap();
        let opts = options(self.dir.path());
        let node = tokio::task::spawn_blocking(move || {
            Arc::new(Node::open(opts, &mut |_, _| {}).unwrap())
        })
        .await
        .unwrap();
        let (base, server) = serve(node.clone()).await;
        TestApp {
            base,
            node,
            server,
            ..self
        }
    }
}

/// A registration body for person `n` (own phone and e-mail) at `address`.
pub fn person(external_id: &str, n: u32, address: &str) -> Value {
    json!({"external_id": external_id, "name": "佐藤 花子", "name_kana": "サトウ ハナコ",
        "birth_date": "1988-02-14", "phone": format!("080-{:04}-{:04}", 2000 + n, 3000 + n),
        "email": format!("hanako{n}@example.ne.jp"), "postal_code": "150-0002",
        "address": address, "payment_method": "convenience_store"})
}

/// A line of an order: `(category, unit price)`.
pub fn line(category: &str, price: i64) -> Value {
    json!({"sku": format!("{category}-{price}"), "name": category, "category": category,
        "unit_price": price, "quantity": 1})
}

impl TestApp {
    /// Register `body` as the merchant; the customer id.
    pub async fn register_body(&self, body: Value) -> String {
        let (s, v) = self.post(&self.merchant, "/v1/customers", body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().unwrap().to_string()
    }

    /// Move the manual clock to 10:00 JST on day `day` after 10 June 2026
    /// (plus `minutes`).
    pub async fn at_day(&self, day: i64, minutes: i64) {
        let t = atobarai_core::At::parse_rfc3339("2026-06-10T10:00:00+09:00")
            .unwrap()
            .plus_ms((day * 1_440 + minutes) * 60_000);
        let (s, v) = self
            .post(
                &self.admin,
                "/v1/admin/clock",
                json!({"now": t.to_rfc3339_jst()}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }

    /// An online monthly order of `items` from `device` and `ip`.
    pub async fn order(&self, customer: &str, items: Vec<Value>, device: &str, ip: &str) -> Value {
        let n = self.keys.fetch_add(1, Ordering::Relaxed);
        let body = json!({"merchant_order_id": format!("o-{n}"), "customer": customer,
            "product": "monthly", "channel": "online", "items": items,
            "device_id": device, "ip": ip});
        let (s, v) = self.post(&self.merchant, "/v1/authorizations", body).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    /// Capture an order in full.
    pub async fn capture(&self, order: &Value) {
        let id = order["order_id"].as_str().unwrap();
        let (s, v) = self
            .post(
                &self.merchant,
                &format!("/v1/orders/{id}/capture"),
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }

    /// A payment of `amount` from `customer`, through the payment channel.
    pub async fn pay(&self, customer: &str, amount: i64) {
        let n = self.keys.fetch_add(1, Ordering::Relaxed);
        let body = json!({"customer": customer, "amount": amount,
            "channel": "convenience_store", "reference": format!("pay-{n}")});
        let (s, v) = self.post(&self.payments, "/v1/payments", body).await;
        assert!(s.is_success(), "{s} {v}");
    }
}
