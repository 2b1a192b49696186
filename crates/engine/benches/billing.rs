//! Month close and daily ticks at scale: N customers (default 1M) with K
//! captured monthly orders each (default 10, so 10M orders).
//! `cargo bench -p atobarai-engine --bench billing`
//! Scale with ATOBARAI_BENCH_CUSTOMERS and ATOBARAI_BENCH_ORDERS_PER.
//! ATOBARAI_BENCH_WEBHOOK=1 subscribes a webhook endpoint to every event
//! kind first, so the month close also records one `invoice.issued` per
//! statement (and the ticks their overdue and dunning events).

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "common/mod.rs"]
mod common;
use atobarai_core::At;
use atobarai_engine::{Command, Envelope, Outcome, Principal};
use common::*;
use std::time::Instant;

fn main() {
    let customers = env_u64("ATOBARAI_BENCH_CUSTOMERS", 1_000_000);
    let per = env_u64("ATOBARAI_BENCH_ORDERS_PER", 10);
    let t = Instant::now();
    let mut e = engine_with_customers(customers as u32);
    let mut seq = 0u64;
    for round in 0..per {
        for c in 0..customers {
            seq += 1;
            let mut env = authorization(seq, c);
            env.idem = None;
            let applied = e.apply(&env).expect("authorize");
            let Outcome::Order(o) = applied.outcome else {
                unreachable!()
            };
            let capture = Envelope {
                at: env.at,
                idem: None,
                command: Command::Capture {
                    principal: Principal::Merchant(0),
                    order: u64::from(o.order),
                    amount: None,
                },
            };
            e.apply(&capture).expect("capture");
        }
        eprintln!("  round {}/{per} loaded", round + 1);
    }
    let webhook = std::env::var("ATOBARAI_BENCH_WEBHOOK").is_ok_and(|v| v == "1");
    if webhook {
        let at = At::parse_rfc3339("2026-06-30T12:00:00+09:00").unwrap();
        e.apply(&Envelope {
            at,
            idem: None,
            command: Command::AddWebhookEndpoint {
                url: "https://hooks.example.com/atobarai".into(),
                key_nonce: [1; 16],
                events: atobarai_engine::webhook::EventKind::ALL.to_vec(),
            },
        })
        .expect("endpoint");
    }
    let stats = e.stats();
    println!(
        "billing at scale: {} customers, {} orders captured in June (set-up {:.1} s)",
        stats.customers,
        stats.orders,
        t.elapsed().as_secs_f64()
    );
    let mut step = |label: &str, when: &str| {
        let to = At::parse_rfc3339(when).unwrap();
        let started = Instant::now();
        e.apply(&Envelope {
            at: to,
            idem: None,
            command: Command::AdvanceClock { to },
        })
        .expect("tick");
        println!("  {label:<44} {:>8.2} s", started.elapsed().as_secs_f64());
    };
    step(
        "month close (Jul 1: statements + fees)",
        "2026-07-01T00:00:00+09:00",
    );
    step(
        "daily tick, nobody overdue (Jul 2)",
        "2026-07-02T00:00:00+09:00",
    );
    step(
        "catch-up Jul 3 → Jul 11 (9 days)",
        "2026-07-11T00:00:00+09:00",
    );
    step(
        "daily tick, every customer overdue (Jul 12)",
        "2026-07-12T00:00:00+09:00",
    );
    if webhook {
        println!(
            "  webhook outbox: {} events held, {} dropped (cap {})",
            e.webhook_events_held(),
            e.webhook_events_dropped(),
            atobarai_engine::webhook::EVENTS_KEPT_MAX
        );
    }
    e.check_invariants().expect("invariants hold at scale");
}
