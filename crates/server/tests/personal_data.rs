//! Personal data encrypted at rest, through the HTTP API (issue 12, item
//! 4): registrations are sealed before they are journaled, so no personal
//! field is readable in the journal's or the snapshots' bytes; operators
//! read it decrypted; keys rotate without rewriting the journal; an
//! erasure shreds the customer's data key and leaves the money as it was.

mod common;

use atobarai_engine::Role;
use atobarai_server::privacy::{Keyring, Privacy, rewrap_all};
use atobarai_server::{AppState, IdentitySecret, Node};
use atobarai_store::{SqliteVault, Vault};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

struct App {
    base: String,
    http: reqwest::Client,
    node: Arc<Node>,
    server: tokio::task::JoinHandle<()>,
    merchant: String,
    admin: String,
    analyst: String,
    vault: Arc<dyn Vault>,
    keys: AtomicU64,
}

/// The API router with the privacy routes, whether or not the main router
/// merges them yet (a route it serves answers 401 without a key, not 404).
async fn router(app: AppState) -> axum::Router {
    let main = atobarai_server::router(app.clone());
    let probe = {
        use tower::ServiceExt;
        let request = axum::http::Request::get("/v1/admin/customers/cus_x/personal-data")
            .body(axum::body::Body::empty())
            .unwrap();
        main.clone().oneshot(request).await.unwrap().status()
    };
    if probe == StatusCode::NOT_FOUND {
        main.merge(atobarai_server::http_privacy::router(&app).with_state(app))
    } else {
        main
    }
}

async fn start(dir: &Path, keys: Option<(String, String, String)>) -> App {
    let vault: Arc<dyn Vault> = Arc::new(SqliteVault::open_dir(dir).unwrap());
    start_with(dir, keys, vault).await
}

async fn start_with(
    dir: &Path,
    keys: Option<(String, String, String)>,
    vault: Arc<dyn Vault>,
) -> App {
    let opts = common::options(dir);
    let (node, merchant, admin, analyst) = tokio::task::spawn_blocking(move || {
        let node = Node::open(opts, &mut |_, _| {}).unwrap();
        let keys = keys.unwrap_or_else(|| {
            (
                common::add_key(&node, "shop", None),
                common::add_key(&node, "admin", Some(Role::Admin)),
                common::add_key(&node, "analyst", Some(Role::Analyst)),
            )
        });
        (Arc::new(node), keys.0, keys.1, keys.2)
    })
    .await
    .unwrap();
    let keyring = dir.join("keyring");
    if !keyring.exists() {
        Keyring::generate("k1").save(&keyring).unwrap();
    }
    let privacy = Arc::new(Privacy::from_file(&keyring, vault.clone()).unwrap());
    let state = AppState {
        node: node.clone(),
        limits: Arc::new(Default::default()),
        identity: IdentitySecret::new("privacy-test-secret").with_privacy(privacy),
        webhooks: Arc::new(Default::default()),
        documents: Default::default(),
        body_timeout: std::time::Duration::from_secs(30),
    };
    let app = router(state).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        atobarai_server::serve(listener, app, Default::default(), std::future::pending())
            .await
            .unwrap();
    });
    App {
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        node,
        server,
        merchant,
        admin,
        analyst,
        vault,
        keys: AtomicU64::new(0),
    }
}

impl App {
    async fn post_with(
        &self,
        key: &str,
        path: &str,
        idem: &str,
        body: &Value,
    ) -> (StatusCode, Value, bool) {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(key)
            .header("Idempotency-Key", idem)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let replayed = resp.headers().contains_key("idempotent-replayed");
        (status, resp.json().await.unwrap_or(Value::Null), replayed)
    }

    async fn post(&self, key: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let idem = format!("p-{}", self.keys.fetch_add(1, Ordering::Relaxed));
        let (s, v, _) = self.post_with(key, path, &idem, &body).await;
        (s, v)
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
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn personal(&self, id: &str) -> Value {
        let (s, v) = self
            .get(
                &self.admin,
                &format!("/v1/admin/customers/{id}/personal-data"),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    /// Every customer's account and balance, as the API shows them.
    async fn money(&self, ids: &[String]) -> Vec<(Value, Value)> {
        let mut out = Vec::new();
        for id in ids {
            let (s, mut c) = self.get(&self.admin, &format!("/v1/customers/{id}")).await;
            assert_eq!(s, StatusCode::OK, "{c}");
            // The score block moves with time, not with an erasure; keep it.
            c.as_object_mut().unwrap().remove("created_at");
            let (s, b) = self
                .get(&self.admin, &format!("/v1/customers/{id}/balance"))
                .await;
            assert_eq!(s, StatusCode::OK, "{b}");
            out.push((c, b));
        }
        out
    }

    async fn seq(&self) -> Value {
        self.get(&self.admin, "/healthz").await.1["journal_seq"].clone()
    }

    async fn stop(self) {
        self.server.abort();
        let node = self.node.clone();
        tokio::task::spawn_blocking(move || node.shutdown())
            .await
            .unwrap();
    }
}

/// Distinctive personal data for person `n` (own phone and e-mail, except
/// that persons 1 and 2 share a phone: one household's landline).
fn person(n: u32) -> (Value, [String; 5]) {
    let name = format!("秘密 太郎{n}");
    let kana = "ヒミツ タロウ".to_string();
    let phone_local = if n == 2 {
        "03-5555-0001".to_string()
    } else {
        format!("03-5555-{:04}", n)
    };
    let phone_e164 = format!("+81355550{:03}", if n == 2 { 1 } else { n });
    let email = format!("himitsu.taro{n}@example.jp");
    let address = format!("東京都千代田区霞が関1-3-1 秘密ビル{n}号");
    let body = json!({"external_id": format!("c-{n}"), "name": name, "name_kana": kana,
        "birth_date": "1985-07-15", "phone": phone_local, "email": email,
        "postal_code": "100-0013", "address": address, "payment_method": "convenience_store"});
    (body, [name, phone_e164, email, address, "秘密ビル".into()])
}

/// Does any file of `dir` (journal, WAL, snapshots) hold `needle`?
fn found_in(dir: &Path, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    for f in std::fs::read_dir(dir).unwrap() {
        let path = f.unwrap().path();
        let bytes = std::fs::read(&path).unwrap_or_default();
        if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
            hits.push(path.display().to_string());
        }
    }
    hits
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_is_sealed_rotated_and_erased_with_the_money_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(dir.path(), None).await;
    let (s, v) = app
        .post(
            &app.admin,
            "/v1/admin/clock",
            json!({"now": "2026-06-10T10:00:00+09:00"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // Registration is sealed; a retry with the same key is the first answer
    // and leaves no second data key behind.
    let mut ids = Vec::new();
    let mut secrets = Vec::new();
    for n in 1..=3 {
        let (body, fields) = person(n);
        let idem = format!("reg-{n}");
        let (s, v, replayed) = app
            .post_with(&app.merchant, "/v1/customers", &idem, &body)
            .await;
        assert_eq!((s, replayed), (StatusCode::CREATED, false), "{v}");
        let (s, again, replayed) = app
            .post_with(&app.merchant, "/v1/customers", &idem, &body)
            .await;
        assert_eq!((s, replayed), (StatusCode::CREATED, true), "{again}");
        assert_eq!(again["id"], v["id"]);
        ids.push(v["id"].as_str().unwrap().to_string());
        secrets.push(fields);
    }
    assert_eq!(app.vault.count_by_kek().unwrap(), vec![("k1".into(), 3)]);
    // A refused registration leaves no key either.
    let (body, _) = person(1);
    let (s, v) = app.post(&app.merchant, "/v1/customers", body).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "external_id_taken");
    assert_eq!(app.vault.count_by_kek().unwrap(), vec![("k1".into(), 3)]);

    // Linking works on the keyed hashes computed before sealing.
    let (s, v) = app
        .get(&app.admin, &format!("/v1/customers/{}/identity", ids[0]))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        v.to_string().contains(&ids[1]),
        "linked by the shared phone: {v}"
    );

    // Operators read it decrypted; merchants and payment channels cannot.
    let p = app.personal(&ids[0]).await;
    assert_eq!(p["state"], "sealed");
    assert_eq!(p["key_id"], "k1");
    assert_eq!(p["external_id"], "c-1");
    assert_eq!(p["profile"]["name"], secrets[0][0]);
    assert_eq!(p["profile"]["phone"], secrets[0][1]);
    assert_eq!(p["profile"]["address"], secrets[0][3]);
    assert_eq!(p["profile"]["birth_date"], "1985-07-15");
    let path = format!("/v1/admin/customers/{}/personal-data", ids[0]);
    assert_eq!(app.get(&app.analyst, &path).await.0, StatusCode::OK);
    let (s, v) = app.get(&app.merchant, &path).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = app
        .get(&app.admin, "/v1/admin/customers/cus_nope/personal-data")
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(v["error"]["code"], "customer_not_found");

    // Money: an order captured and partly paid for each customer.
    for id in &ids {
        let body = json!({"merchant_order_id": format!("o-{id}"), "customer": id,
            "product": "monthly", "channel": "online",
            "items": [{"sku": "S", "name": "洗剤", "category": "daily_goods", "unit_price": 4000, "quantity": 1}]});
        let (s, o) = app.post(&app.merchant, "/v1/authorizations", body).await;
        assert_eq!(
            (s, o["decision"].as_str()),
            (StatusCode::OK, Some("approve")),
            "{o}"
        );
        let oid = o["order_id"].as_str().unwrap();
        let (s, v) = app
            .post(
                &app.merchant,
                &format!("/v1/orders/{oid}/capture"),
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (s, v) = app
        .post(&app.admin, "/v1/payments",
            json!({"customer": ids[1], "amount": 1500, "channel": "convenience_store", "reference": "pay-1"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // Rotation: a new key for new registrations; old ones stay readable.
    let keyring = dir.path().join("keyring");
    let mut ring = Keyring::load(&keyring).unwrap();
    assert_eq!(ring.rotate(), "k2");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    ring.save(&keyring).unwrap();
    let (body, fields) = person(4);
    let (s, v) = app.post(&app.merchant, "/v1/customers", body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    ids.push(v["id"].as_str().unwrap().to_string());
    secrets.push(fields);
    assert_eq!(app.personal(&ids[3]).await["key_id"], "k2");
    assert_eq!(app.personal(&ids[0]).await["key_id"], "k1");
    assert_eq!(
        app.vault.count_by_kek().unwrap(),
        vec![("k1".into(), 3), ("k2".into(), 1)]
    );
    // Retiring k1 re-wraps its data keys (the vault only, not the journal).
    let seq_before = app.get(&app.admin, "/healthz").await.1["journal_seq"].clone();
    assert_eq!(rewrap_all(&ring, app.vault.as_ref(), "k1").unwrap(), 3);
    ring.remove("k1").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    ring.save(&keyring).unwrap();
    assert_eq!(
        app.personal(&ids[0]).await["profile"]["name"],
        secrets[0][0]
    );
    assert_eq!(app.personal(&ids[0]).await["key_id"], "k2");
    assert_eq!(
        app.get(&app.admin, "/healthz").await.1["journal_seq"],
        seq_before,
        "rotation journals nothing"
    );

    // Erasure: the data key is shredded, the money stays exactly as it was.
    let before = app.money(&ids).await;
    let erase = format!("/v1/admin/customers/{}/erasure", ids[1]);
    let (s, v) = app.post(&app.analyst, &erase, json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = app.post(&app.admin, &erase, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["id"], ids[1]);
    let (s, _) = app.post(&app.admin, &erase, json!({})).await;
    assert_eq!(s, StatusCode::OK, "erasing twice is harmless");
    let p = app.personal(&ids[1]).await;
    assert_eq!(p["state"], "erased");
    assert!(p["profile"].is_null());
    assert!(p["erased_at"].is_string());
    assert_eq!(app.vault.count_by_kek().unwrap(), vec![("k2".into(), 3)]);
    assert_eq!(app.money(&ids).await, before, "an erasure moves no money");
    // The erased customer still pays what it owes.
    let (s, v) = app
        .post(&app.admin, "/v1/payments",
            json!({"customer": ids[1], "amount": 500, "channel": "convenience_store", "reference": "pay-2"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // The journal, its WAL and the snapshot (written at shutdown) hold no
    // personal field of any customer.
    let (merchant, admin, analyst) = (app.merchant.clone(), app.admin.clone(), app.analyst.clone());
    app.stop().await;
    assert!(
        !found_in(dir.path(), "c-1").is_empty(),
        "the grep finds what is in clear (the external id)"
    );
    assert!(
        !found_in(
            dir.path(),
            &format!("ATBSNAP{}", atobarai_engine::format::snapshot::CURRENT)
        )
        .is_empty(),
        "a snapshot was written"
    );
    for fields in &secrets {
        for field in fields {
            assert!(
                found_in(dir.path(), field).is_empty(),
                "{field} is readable in {:?}",
                found_in(dir.path(), field)
            );
        }
    }

    // The engine saw a coarse birth date (the end of the birth year) in
    // every sealed registration, never the exact one.
    {
        use atobarai_store::Journal;
        let journal =
            atobarai_store::SqliteJournal::open(&dir.path().join("journal.sqlite")).unwrap();
        let mut sealed = 0;
        journal
            .read_after(0, &mut |r| {
                let env = atobarai_engine::Envelope::decode(&r.payload).unwrap();
                assert!(
                    !matches!(
                        env.command,
                        atobarai_engine::Command::RegisterCustomer { .. }
                    ),
                    "no clear registration"
                );
                if let atobarai_engine::Command::RegisterSealedCustomer { profile, .. } =
                    env.command
                {
                    assert_eq!(profile.born_by.to_string(), "1985-12-31");
                    sealed += 1;
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(sealed, 4);
    }

    // After a restart (snapshot + journal), the same: sealed data opens,
    // erased data does not.
    let app = start(dir.path(), Some((merchant, admin, analyst))).await;
    assert_eq!(
        app.personal(&ids[2]).await["profile"]["email"],
        secrets[2][2]
    );
    assert_eq!(app.personal(&ids[1]).await["state"], "erased");
    app.stop().await;
}

/// A vault that cannot be written (a PostgreSQL vault whose server is
/// down): registrations are refused 503 `vault_unavailable` and nothing is
/// journaled; reads of customers registered before still work.
struct DownVault;

impl Vault for DownVault {
    fn put(
        &self,
        _: &[u8; 16],
        _: &atobarai_store::WrappedKey,
    ) -> Result<(), atobarai_store::StoreError> {
        Err(atobarai_store::StoreError::Vault("down".into()))
    }
    fn get(
        &self,
        _: &[u8; 16],
    ) -> Result<Option<atobarai_store::WrappedKey>, atobarai_store::StoreError> {
        Err(atobarai_store::StoreError::Vault("down".into()))
    }
    fn delete(&self, _: &[u8; 16]) -> Result<bool, atobarai_store::StoreError> {
        Err(atobarai_store::StoreError::Vault("down".into()))
    }
    fn count_by_kek(&self) -> Result<Vec<(String, u64)>, atobarai_store::StoreError> {
        Ok(Vec::new())
    }
    fn wrapped_with(
        &self,
        _: &str,
        _: usize,
    ) -> Result<Vec<([u8; 16], atobarai_store::WrappedKey)>, atobarai_store::StoreError> {
        Ok(Vec::new())
    }
    fn rewrap(
        &self,
        _: &[u8; 16],
        _: &str,
        _: &atobarai_store::WrappedKey,
    ) -> Result<bool, atobarai_store::StoreError> {
        Err(atobarai_store::StoreError::Vault("down".into()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vault_that_is_down_refuses_registrations_and_erasures_and_journals_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let app = start_with(dir.path(), None, Arc::new(DownVault)).await;
    let before = app.seq().await;
    let (body, _) = person(1);
    let (s, v) = app.post(&app.merchant, "/v1/customers", body).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["error"]["code"], "vault_unavailable");
    assert_eq!(app.seq().await, before, "nothing journaled");
    app.stop().await;

    // A customer sealed while the vault worked: with the vault down, its
    // erasure is refused before anything is journaled (the key must go first).
    let app = start(dir.path(), None).await;
    let (s, v) = app
        .post(
            &app.admin,
            "/v1/admin/clock",
            json!({"now": "2026-06-10T10:00:00+09:00"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (body, _) = person(2);
    let (s, v) = app.post(&app.merchant, "/v1/customers", body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let keys = (app.merchant.clone(), app.admin.clone(), app.analyst.clone());
    app.stop().await;
    let app = start_with(dir.path(), Some(keys), Arc::new(DownVault)).await;
    let before = app.seq().await;
    let (s, v) = app
        .post(
            &app.admin,
            &format!("/v1/admin/customers/{id}/erasure"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["error"]["code"], "vault_unavailable");
    assert_eq!(app.seq().await, before, "nothing journaled");
    let (s, v) = app
        .get(
            &app.admin,
            &format!("/v1/admin/customers/{id}/personal-data"),
        )
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    app.stop().await;
}
