//! Durable authorizations in process: the full shell path (engine thread,
//! journal writer, SQLite group commit with fsync) without HTTP.
//! `cargo bench -p atobarai-server --bench durable`
//!
//! The data directory is under `target/` (a real disk), not a tmpfs.

use atobarai_core::{Category, Channel, JstDate, PaymentMethod, Product, Yen};
use atobarai_engine::{AuthorizeInput, Command, CustomerProfile, Idem, LineItem, Principal};
use atobarai_server::{ClockMode, Node, NodeOptions, StoreSpec};
use std::sync::Arc;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CUSTOMERS: u64 = 100_000;
const AUTHORIZATIONS: u64 = 400_000;
const IN_FLIGHT: u64 = 512;

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
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-durable");
    let _ = std::fs::remove_dir_all(&dir);
    let node = Arc::new(
        Node::open(
            NodeOptions {
                store: StoreSpec::Dir(dir.clone()),
                clock: ClockMode::System,
                config: Default::default(),
                snapshot_every: u64::MAX,
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
                while i < CUSTOMERS {
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

        let started = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..IN_FLIGHT {
            let node = node.clone();
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut seq = w;
                while seq < AUTHORIZATIONS {
                    let (idem, command) = authorize(seq, (seq * 7919) % CUSTOMERS);
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
        lat.sort_unstable();
        let metrics = node.metrics.render();
        let batches = metrics
            .lines()
            .find(|l| l.starts_with("atobarai_journal_batch_records_count"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        println!("durable authorize (SQLite WAL, synchronous=FULL, group commit), {CUSTOMERS} customers, {IN_FLIGHT} in flight");
        println!("  authorizations  {AUTHORIZATIONS}");
        println!("  throughput      {:.0} /s", AUTHORIZATIONS as f64 / secs);
        println!(
            "  latency µs      p50 {}  p90 {}  p99 {}  max {}",
            percentile(&lat, 0.5),
            percentile(&lat, 0.9),
            percentile(&lat, 0.99),
            lat[lat.len() - 1]
        );
        println!(
            "  commits         {batches:.0} in all (registration included): {:.0} records per fsync on average",
            (AUTHORIZATIONS + CUSTOMERS + 1) as f64 / batches.max(1.0)
        );
    });
    let n = node.clone();
    std::thread::spawn(move || n.shutdown()).join().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
