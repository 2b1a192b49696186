//! Durable authorizations in process: the full shell path (engine thread,
//! journal writer, SQLite group commit with fsync) without HTTP.
//! `cargo bench -p atobarai-server --bench durable`
//!
//! The data directory is under `target/` (a real disk), not a tmpfs.
//!
//! Knobs (environment):
//! - `ATOBARAI_BENCH_CUSTOMERS` (default 100,000) and
//!   `ATOBARAI_BENCH_AUTHORIZATIONS` (default 400,000);
//! - `ATOBARAI_BENCH_SNAPSHOT_EVERY`: take a snapshot every N journaled
//!   commands while authorizing (default: never) — the snapshot pause;
//! - `ATOBARAI_BENCH_READERS`: that many tasks read customers in a loop
//!   (each read a different customer) while the authorizations run — the
//!   cost of reads to decisions;
//! - `ATOBARAI_BENCH_STORE`: the journal — unset for the embedded store, a
//!   `postgres://…` URL (schema `atb_bench`, dropped first) or a
//!   `nats://…` URL (stream `ATB_BENCH`, deleted first);
//! - `ATOBARAI_BENCH_FOLLOWER=1` (PostgreSQL): a second node follows the
//!   journal in the same process while the authorizations run; its lag
//!   (records the leader made durable that the follower has not applied)
//!   is sampled every 10 ms, and the time it takes to catch up after the
//!   last answer is reported.

use atobarai_core::{Category, Channel, JstDate, PaymentMethod, Product, Yen};
use atobarai_engine::{AuthorizeInput, Command, CustomerProfile, Idem, LineItem, Principal};
use atobarai_server::{ClockMode, Node, NodeOptions, StoreSpec};
use std::sync::Arc;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const IN_FLIGHT: u64 = 512;

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn authorize(seq: u64, customer: u64) -> (Idem, Command) {
    let command = Command::Authorize {
        merchant: 0,
        // No device or IP keys: this measures the journal, not identity.
        session: Default::default(),
        input: AuthorizeInput {
            merchant_order_id: format!("o-{seq}"),
            customer,
            product: Product::Monthly,
            channel: Channel::Online,
            items: vec![LineItem {
                sku: "DG-1".into(),
                name: "洗剤".into(),
                category: Category::DailyGoods,
                unit_price: Yen::new(480),
                quantity: 2,
            }],
            shipping_address: "東京都千代田区霞が関1-3-1".into(),
            device_id: "dev-1".into(),
            ip: "203.0.113.7".into(),
            tax_rates: Vec::new(),
        },
    };
    let idem = Idem {
        principal: Principal::Merchant(0),
        key: format!("a-{seq}"),
        request_hash: command.fingerprint(),
    };
    (idem, command)
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let customers = knob("ATOBARAI_BENCH_CUSTOMERS", 100_000);
    let authorizations = knob("ATOBARAI_BENCH_AUTHORIZATIONS", 400_000);
    let snapshot_every = knob("ATOBARAI_BENCH_SNAPSHOT_EVERY", u64::MAX);
    let readers = knob("ATOBARAI_BENCH_READERS", 0);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-durable");
    let _ = std::fs::remove_dir_all(&dir);
    let (store, backend) = match std::env::var("ATOBARAI_BENCH_STORE") {
        Ok(url) if url.starts_with("postgres") => {
            atobarai_store::PgJournal::drop_schema(&url, "atb_bench").expect("schema dropped");
            (
                StoreSpec::Postgres {
                    url,
                    schema: "atb_bench".into(),
                },
                "PostgreSQL, synchronous_commit as the server sets it",
            )
        }
        Ok(url) if url.starts_with("nats") => {
            atobarai_store::NatsJournal::delete(&url, "ATB_BENCH").expect("stream deleted");
            (
                StoreSpec::Nats {
                    url,
                    stream: "ATB_BENCH".into(),
                },
                "NATS JetStream, acknowledged appends",
            )
        }
        _ => (StoreSpec::Dir(dir.clone()), "SQLite WAL, synchronous=FULL"),
    };
    let follow = knob("ATOBARAI_BENCH_FOLLOWER", 0) == 1;
    let node = Arc::new(
        Node::open(
            NodeOptions {
                store: store.clone(),
                clock: ClockMode::System,
                config: Default::default(),
                // Registration is not measured: snapshots start with the
                // authorizations (see below).
                snapshot_every: u64::MAX,
                cluster: Default::default(),
            },
            &mut |_, _| {},
        )
        .expect("node opens"),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        node.submit(None, Command::AddMerchant { name: "bench".into(), key_id: "k".into(), secret_sha256: [0; 32] })
            .await
            .unwrap()
            .unwrap();
        // Register customers with many in flight.
        let mut tasks = Vec::new();
        for w in 0..IN_FLIGHT {
            let node = node.clone();
            tasks.push(tokio::spawn(async move {
                let mut i = w;
                while i < customers {
                    let command = Command::RegisterCustomer {
                        merchant: 0,
                        // Distinct people without keys (they would all share
                        // the phone below and become one person otherwise).
                        identity: Default::default(),
                        profile: CustomerProfile {
                            external_id: format!("c-{i}"),
                            name: "山田 太郎".into(),
                            name_kana: "ヤマダ タロウ".into(),
                            birth_date: JstDate::parse("1990-04-01").unwrap(),
                            phone: "090-1234-5678".into(),
                            email: "taro@example.jp".into(),
                            postal_code: "100-0013".into(),
                            address: "東京都千代田区霞が関1-3-1".into(),
                        },
                        payment_method: PaymentMethod::BankDebit,
                    };
                    node.submit(None, command).await.unwrap().unwrap();
                    i += IN_FLIGHT;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }

        if snapshot_every != u64::MAX {
            node.set_snapshot_every(snapshot_every);
        }
        // A follower on the same journal, sampled while the leader works.
        let follower = follow.then(|| {
            Arc::new(
                Node::open(
                    NodeOptions {
                        store: store.clone(),
                        clock: ClockMode::System,
                        config: Default::default(),
                        snapshot_every: u64::MAX,
                        cluster: Default::default(),
                    },
                    &mut |_, _| {},
                )
                .expect("follower opens"),
            )
        });
        if let Some(f) = &follower {
            assert_eq!(f.role().role, "follower", "the second node must follow");
        }
        let lags = Arc::new(std::sync::Mutex::new(Vec::<u64>::new()));
        let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let sampler = follower.clone().map(|f| {
            let (lags, sampling, leader) = (lags.clone(), sampling.clone(), node.clone());
            tokio::spawn(async move {
                while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                    // What the leader has made durable (its reader holds
                    // exactly that) against what the follower has applied.
                    let durable = leader.read(|e| e.applied()).await.unwrap();
                    let applied = f.read(|e| e.applied()).await.unwrap();
                    lags.lock().unwrap().push(durable.saturating_sub(applied));
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            })
        });
        let stop_reading = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut reading = Vec::new();
        for r in 0..readers {
            let (node, stop) = (node.clone(), stop_reading.clone());
            reading.push(tokio::spawn(async move {
                let mut reads = 0u64;
                let mut i = r;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let id = atobarai_core::ids::encode(atobarai_engine::prefix::CUSTOMER, i % customers);
                    let view = node
                        .read(move |e| e.customer(Principal::Merchant(0), &id).map(|c| c.limit))
                        .await
                        .unwrap();
                    assert!(view.is_ok());
                    reads += 1;
                    i += readers;
                }
                reads
            }));
        }
        let started = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..IN_FLIGHT {
            let node = node.clone();
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut seq = w;
                while seq < authorizations {
                    let (idem, command) = authorize(seq, (seq * 7919) % customers);
                    let t = Instant::now();
                    node.submit(Some(idem), command).await.unwrap().unwrap();
                    lat.push(t.elapsed().as_micros() as u64);
                    seq += IN_FLIGHT;
                }
                lat
            }));
        }
        let mut lat = Vec::new();
        for t in tasks {
            lat.extend(t.await.unwrap());
        }
        let secs = started.elapsed().as_secs_f64();
        let answered = Instant::now();
        sampling.store(false, std::sync::atomic::Ordering::Relaxed);
        if let Some(s) = sampler {
            s.await.unwrap();
        }
        let mut caught_up = None;
        if let Some(f) = &follower {
            let end = node.read(|e| e.applied()).await.unwrap();
            loop {
                if f.read(|e| e.applied()).await.unwrap() >= end {
                    caught_up = Some(answered.elapsed());
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        }
        stop_reading.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut reads = 0;
        for t in reading {
            reads += t.await.unwrap();
        }
        lat.sort_unstable();
        let metrics = node.metrics.render();
        let batches = metrics
            .lines()
            .find(|l| l.starts_with("atobarai_journal_batch_records_count"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        println!("durable authorize ({backend}, group commit), {customers} customers, {IN_FLIGHT} in flight");
        println!("  authorizations  {authorizations}");
        println!("  throughput      {:.0} /s", authorizations as f64 / secs);
        println!(
            "  latency µs      p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
            percentile(&lat, 0.5),
            percentile(&lat, 0.9),
            percentile(&lat, 0.99),
            percentile(&lat, 0.999),
            lat[lat.len() - 1]
        );
        if snapshot_every != u64::MAX {
            println!("  snapshots       every {snapshot_every} commands, taken on the reader thread");
        }
        if readers > 0 {
            println!(
                "  reads           {reads} by {readers} tasks alongside ({:.0} /s)",
                reads as f64 / secs
            );
        }
        if let Some(took) = caught_up {
            let mut lags = lags.lock().unwrap().clone();
            lags.sort_unstable();
            println!(
                "  follower lag    records behind, sampled every 10 ms: p50 {}  p99 {}  max {}; caught up {:.1} ms after the last answer",
                percentile(&lags, 0.5),
                percentile(&lags, 0.99),
                lags[lags.len() - 1],
                took.as_secs_f64() * 1e3
            );
        }
        println!(
            "  commits         {batches:.0} in all (registration included): {:.0} records per fsync on average",
            (authorizations + customers + 1) as f64 / batches.max(1.0)
        );
    });
    let n = node.clone();
    std::thread::spawn(move || n.shutdown()).join().unwrap();
    if let StoreSpec::Postgres { url, schema } = &store {
        let _ = atobarai_store::PgJournal::drop_schema(url, schema);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
