//! Verification requests per second over loopback: `POST /v1/verifications`
//! through the whole server (auth, phone normalization, identity keys, the
//! code's HMAC, the journaled `StartVerification` with its rate-limit
//! checks, fsync'd group commit, then the file driver appending the SMS to
//! `sms-outbox.jsonl`). Every request has its own phone and its own /24,
//! so none is rate-limited. Once per concurrency setting, in one run.
//! `cargo bench -p atobarai-server --bench verifications`
//! (`ATOBARAI_BENCH_REQUESTS` sets N, default 20,000.)

use atobarai_engine::{Command, Outcome};
use atobarai_server::{AppState, ClockMode, IdentitySecret, Node, NodeOptions, StoreSpec, auth};
use std::sync::Arc;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let requests: u64 = std::env::var("ATOBARAI_BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("POST /v1/verifications over loopback, {requests} requests per run, file SMS driver");
    for concurrency in [16u64, 64] {
        let dir = tempfile::tempdir().unwrap();
        let node = Arc::new(
            Node::open(
                NodeOptions {
                    store: StoreSpec::Dir(dir.path().to_path_buf()),
                    clock: ClockMode::System,
                    config: Default::default(),
                    snapshot_every: u64::MAX,
                    cluster: Default::default(),
                },
                &mut |_, _| {},
            )
            .expect("node opens"),
        );
        let key = auth::mint();
        let added = node
            .submit_blocking(
                None,
                Command::AddMerchant {
                    name: "bench".into(),
                    key_id: key.key_id.clone(),
                    secret_sha256: key.secret_sha256,
                },
            )
            .unwrap()
            .unwrap();
        assert!(matches!(added.outcome, Outcome::Merchant(_)));
        let bearer = key.key;
        let (elapsed, ok, lat) = rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let app = atobarai_server::router(AppState {
                node: node.clone(),
                limits: Arc::new(Default::default()),
                identity: IdentitySecret::new("bench-identity-secret"),
                webhooks: Arc::new(Default::default()),
                body_timeout: std::time::Duration::from_secs(30),
            });
            tokio::spawn(async move {
                atobarai_server::serve(listener, app, Default::default(), std::future::pending())
                    .await
                    .unwrap();
            });
            let base = format!("http://{addr}/v1/verifications");
            let client = reqwest::Client::new();
            let start = Instant::now();
            let mut tasks = Vec::new();
            for w in 0..concurrency {
                let (client, base, bearer) = (client.clone(), base.clone(), bearer.clone());
                tasks.push(tokio::spawn(async move {
                    let mut ok = 0u64;
                    let mut lat = Vec::new();
                    let mut i = w;
                    while i < requests {
                        let body = format!(
                            r#"{{"phone": "0901{:07}", "ip": "10.{}.{}.1"}}"#,
                            i,
                            (i >> 8) & 0xFF,
                            i & 0xFF
                        );
                        let t = Instant::now();
                        let r = client
                            .post(&base)
                            .bearer_auth(&bearer)
                            .header("Idempotency-Key", format!("v-{i}"))
                            .header("Content-Type", "application/json")
                            .body(body)
                            .send()
                            .await
                            .unwrap();
                        if r.status() == reqwest::StatusCode::CREATED {
                            ok += 1;
                        }
                        let _ = r.bytes().await;
                        lat.push(t.elapsed());
                        i += concurrency;
                    }
                    (ok, lat)
                }));
            }
            let mut ok = 0;
            let mut lat = Vec::new();
            for t in tasks {
                let (o, l) = t.await.unwrap();
                ok += o;
                lat.extend(l);
            }
            (start.elapsed(), ok, lat)
        });
        let mut lat = lat;
        lat.sort();
        let pct = |p: usize| lat[(lat.len() * p / 100).min(lat.len() - 1)];
        let outbox = std::fs::read_to_string(dir.path().join("sms-outbox.jsonl"))
            .map(|t| t.lines().count())
            .unwrap_or(0);
        println!(
            "connections {concurrency:>3}: {:>8.0} requests/s ({ok} created, {outbox} SMS in the outbox), p50 {:?}, p99 {:?}",
            requests as f64 / elapsed.as_secs_f64(),
            pct(50),
            pct(99),
        );
        assert_eq!(ok, requests, "every request is a fresh phone and network");
        node.shutdown();
    }
}
