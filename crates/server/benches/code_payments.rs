//! In-store code payments per second over loopback: a store's POS posting
//! `POST /v1/authorizations` with a one-time `payment_code` through the
//! whole server (auth, code hash, the journaled `AuthorizeWithCode`: code
//! lookup, eKYC gate, in-store caps, risk rules, fsync'd group commit),
//! against plain online authorizations by customer id in the same run.
//! Every code is used once.
//! `cargo bench -p atobarai-server --bench code_payments`
//! (`ATOBARAI_BENCH_CUSTOMERS` sets the customers, default 4,000; each
//! holds 10 codes.)

mod loopback;

use atobarai_core::Config;
use atobarai_engine::{Command, EkycResult, EkycStatus, Principal};
use atobarai_server::dto::CreateCustomer;
use atobarai_server::{IdentitySecret, Node};
use loopback::{Req, add_merchant, drive, open_node, serve};
use std::sync::Arc;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CODES_PER_CUSTOMER: u64 = 10;

/// Apply `commands` concurrently (512 in flight), every one accepted.
async fn apply_all(node: &Arc<Node>, commands: Vec<Command>) {
    let mut set = tokio::task::JoinSet::new();
    for c in commands {
        while set.len() >= 512 {
            set.join_next().await.unwrap().unwrap();
        }
        let node = node.clone();
        set.spawn(async move {
            node.submit(None, c).await.unwrap().unwrap();
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
}

fn code(i: u64) -> String {
    format!("9{i:015}")
}

fn main() {
    let customers: u64 = std::env::var("ATOBARAI_BENCH_CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4_000);
    let requests = customers * CODES_PER_CUSTOMER;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.lifecycle.payment_code_ttl_secs = 3_600;
    config.lifecycle.payment_codes_open_max = CODES_PER_CUSTOMER as u32;
    let node = open_node(dir.path(), config);
    let identity = IdentitySecret::new("bench-identity-secret");
    let (app, app_key) = add_merchant(&node, "provider app");
    let (_, store_key) = add_merchant(&node, "store");
    println!(
        "{customers} eKYC-verified customers, {CODES_PER_CUSTOMER} codes each; {requests} requests per run"
    );
    rt.block_on(async {
        let limits = Default::default();
        let registrations = (0..customers)
            .map(|n| {
                CreateCustomer {
                    external_id: format!("c-{n}"),
                    name: "山田 太郎".into(),
                    name_kana: "ヤマダ タロウ".into(),
                    birth_date: "1990-04-01".into(),
                    phone: format!("0901{n:07}"),
                    email: format!("c{n}@example.jp"),
                    postal_code: "100-0013".into(),
                    address: format!("東京都千代田区霞が関1-3-1 {n}号室"),
                    payment_method: "convenience_store".into(),
                    verification: None,
                    parental_consent: None,
                    device_id: None,
                    ip: None,
                }
                .into_command(app, &limits, &identity)
                .unwrap()
            })
            .collect();
        apply_all(&node, registrations).await;
        let verdicts = (0..customers)
            .map(|n| Command::RecordEkyc {
                principal: Principal::System,
                customer: n,
                result: EkycResult {
                    status: EkycStatus::Verified,
                    reason: None,
                    address_matched: true,
                    name_matched: true,
                    birth_date_matched: true,
                },
            })
            .collect();
        apply_all(&node, verdicts).await;
        let codes = (0..requests)
            .map(|i| Command::IssuePaymentCode {
                principal: Principal::Merchant(app),
                customer: i % customers,
                code: atobarai_server::http_lifecycle::payment_code_hash(&identity, &code(i))
                    .unwrap(),
                ceiling: None,
            })
            .collect();
        apply_all(&node, codes).await;
        let base = serve(node.clone(), identity.clone()).await;
        let by_code = |prefix: &'static str| {
            let key = store_key.clone();
            Arc::new(move |i: u64| Req {
                path: "/v1/authorizations".into(),
                bearer: key.clone(),
                idem: format!("{prefix}-{i}"),
                body: format!(
                    r#"{{"merchant_order_id": "pos-{i}", "payment_code": "{}", "product": "monthly", "channel": "in_store", "items": [{{"sku": "ONIGIRI", "name": "おにぎり", "category": "food", "unit_price": 100, "quantity": 1}}], "device_id": "pos-{}"}}"#,
                    code(i),
                    i % 50
                ),
            })
        };
        let by_customer = {
            let key = app_key.clone();
            Arc::new(move |i: u64| Req {
                path: "/v1/authorizations".into(),
                bearer: key.clone(),
                idem: format!("web-{i}"),
                body: format!(
                    r#"{{"merchant_order_id": "web-{i}", "customer": "{}", "product": "monthly", "channel": "online", "items": [{{"sku": "TEA", "name": "お茶", "category": "food", "unit_price": 100, "quantity": 1}}], "device_id": "dev-{}"}}"#,
                    atobarai_core::ids::encode("cus", i % customers),
                    i % customers
                ),
            })
        };
        for concurrency in [64u64] {
            let run = drive(&base, concurrency, requests, 200, by_code("pos")).await;
            println!(
                "code payments,   {concurrency} connections: {:>7.0} authorizations/s ({} answered 200), p50 {:?}, p99 {:?}",
                run.rate(),
                run.ok,
                run.pct(50),
                run.pct(99)
            );
            assert_eq!(run.ok, requests);
            let plain = drive(&base, concurrency, requests, 200, by_customer.clone()).await;
            println!(
                "by customer id,  {concurrency} connections: {:>7.0} authorizations/s ({} answered 200), p50 {:?}, p99 {:?}",
                plain.rate(),
                plain.ok,
                plain.pct(50),
                plain.pct(99)
            );
            println!(
                "ratio code/plain: {:.2}",
                run.rate() / plain.rate()
            );
        }
        // Every code paid exactly once: used again, each is refused.
        let again = drive(&base, 16, 200, 409, by_code("again")).await;
        assert_eq!(again.ok, 200, "a used code is refused");
    });
    node.shutdown();
}
