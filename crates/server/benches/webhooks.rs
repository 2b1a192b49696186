//! Webhook delivery throughput over loopback: a node records N
//! `payment.received` events for one endpoint, the dispatcher signs and
//! POSTs them to an in-process receiver (which checks every signature), and
//! we time until the cursor has passed them all. Once per concurrency
//! setting, in one run.
//! `cargo bench -p atobarai-server --bench webhooks`
//! (`ATOBARAI_BENCH_EVENTS` sets N, default 20,000.)

mod loopback;

use atobarai_core::config::WebhookConfig;
use atobarai_core::{JstDate, PaymentMethod, Yen};
use atobarai_engine::webhook::EventKind;
use atobarai_engine::{Command, CustomerProfile, Outcome, PaymentInput, Principal};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

async fn receiver(secret: Arc<std::sync::Mutex<String>>, bad: Arc<AtomicU64>) -> String {
    use axum::routing::post;
    let app = axum::Router::new().route(
        "/hook",
        post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let (secret, bad) = (secret.clone(), bad.clone());
                async move {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_secs() as i64;
                    let sig = headers
                        .get("atobarai-signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    let secret = secret.lock().unwrap().clone();
                    if atobarai_server::webhook::verify(&secret, sig, &body, now, 300).is_err() {
                        bad.fetch_add(1, Ordering::Relaxed);
                    }
                    axum::http::StatusCode::OK
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/hook")
}

fn main() {
    let events: u64 = std::env::var("ATOBARAI_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "webhook delivery over loopback, {events} payment.received events per run, receiver verifies each signature"
    );
    for concurrency in [1usize, 8, 32] {
        let dir = tempfile::tempdir().unwrap();
        let node = loopback::open_node(dir.path(), Default::default());
        rt.block_on(async {
            let secret = Arc::new(std::sync::Mutex::new(String::new()));
            let bad = Arc::new(AtomicU64::new(0));
            let url = receiver(secret.clone(), bad.clone()).await;
            let submit = |c: Command| {
                let node = node.clone();
                async move { node.submit(None, c).await.unwrap().unwrap() }
            };
            submit(Command::AddMerchant {
                name: "bench".into(),
                key_id: "k".into(),
                secret_sha256: [0; 32],
            })
            .await;
            submit(Command::RegisterCustomer {
                merchant: 0,
                identity: Default::default(),
                profile: CustomerProfile {
                    external_id: "c-0".into(),
                    name: "山田 太郎".into(),
                    name_kana: "ヤマダ タロウ".into(),
                    birth_date: JstDate::parse("1990-04-01").unwrap(),
                    phone: "090-1234-5678".into(),
                    email: "taro@example.jp".into(),
                    postal_code: "100-0013".into(),
                    address: "東京都千代田区霞が関1-3-1".into(),
                },
                payment_method: PaymentMethod::BankDebit,
            })
            .await;
            let key_nonce = [7u8; 16];
            *secret.lock().unwrap() = atobarai_server::webhook::endpoint_secret(
                &WebhookConfig::default().signing_key,
                &key_nonce,
            );
            let added = submit(Command::AddWebhookEndpoint {
                url,
                key_nonce,
                events: vec![EventKind::PaymentReceived],
            })
            .await;
            assert!(matches!(added.outcome, Outcome::Webhook(_)));
            // Record the events first (the dispatcher is not running yet).
            let mut tasks = Vec::new();
            for w in 0..64u64 {
                let node = node.clone();
                tasks.push(tokio::spawn(async move {
                    let mut i = w;
                    while i < events {
                        let c = Command::RecordPayment {
                            principal: Principal::System,
                            input: PaymentInput {
                                customer: 0,
                                amount: Yen::new(100),
                                channel: "bench".into(),
                                reference: format!("r-{i}"),
                            },
                        };
                        node.submit(None, c).await.unwrap().unwrap();
                        i += 64;
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            let cfg = WebhookConfig {
                concurrency,
                allow_http: true,
                allow_private_targets: true,
                ..WebhookConfig::default()
            };
            let (stop_tx, stop) = tokio::sync::watch::channel(false);
            let started = Instant::now();
            let dispatcher = tokio::spawn(atobarai_server::webhook::run(node.clone(), cfg, stop));
            loop {
                let v = node.read(|e| e.webhook_endpoints()).await.unwrap();
                if v[0].delivered >= events {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let secs = started.elapsed().as_secs_f64();
            let _ = stop_tx.send(true);
            let _ = dispatcher.await;
            println!(
                "  concurrency {concurrency:>2}: {:>7.0} events/s ({secs:.2} s), bad signatures {}",
                events as f64 / secs,
                bad.load(Ordering::Relaxed)
            );
        });
        let n = node.clone();
        std::thread::spawn(move || n.shutdown()).join().unwrap();
    }
}
