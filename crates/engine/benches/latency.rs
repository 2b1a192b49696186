//! Latency distribution and throughput of in-process authorizations with
//! 1M customers loaded, plus resident memory per customer.
//! `cargo bench -p atobarai-engine --bench latency`

// The production binary uses mimalloc too.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "common/mod.rs"]
mod common;
use common::*;
use std::time::Instant;

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() {
    // `cargo bench` passes `--bench`; the scale comes from the environment.
    let customers_n = env_u64("ATOBARAI_BENCH_CUSTOMERS", 1_000_000) as u32;
    let authorizations_n = env_u64("ATOBARAI_BENCH_AUTHORIZATIONS", 2_000_000);
    let rss_before = rss_bytes();
    let started = Instant::now();
    let mut engine = engine_with_customers(customers_n);
    let load_s = started.elapsed().as_secs_f64();
    let rss_loaded = rss_bytes();
    let per_customer = (rss_loaded.saturating_sub(rss_before)) / u64::from(customers_n);

    // Build envelopes outside the timed loop: we measure the engine.
    let mut picker = Picker(0x9E37_79B9_7F4A_7C15);
    let envelopes: Vec<_> = (0..authorizations_n)
        .map(|seq| authorization(seq, picker.next(u64::from(customers_n))))
        .collect();
    let mut lat_ns = Vec::with_capacity(envelopes.len());
    let mut approvals = 0u64;
    let run = Instant::now();
    for env in &envelopes {
        let t = Instant::now();
        let applied = engine.apply(env).expect("authorization applies");
        lat_ns.push(t.elapsed().as_nanos() as u64);
        if let atobarai_engine::Outcome::Order(o) = &applied.outcome
            && o.decision == atobarai_engine::Decision::Approve
        {
            approvals += 1;
        }
    }
    let total_s = run.elapsed().as_secs_f64();
    let mut slowest: Vec<(u64, usize)> = lat_ns.iter().copied().zip(0..).collect();
    slowest.sort_unstable_by(|a, b| b.cmp(a));
    slowest.truncate(8);
    lat_ns.sort_unstable();
    println!("engine authorize, {customers_n} customers loaded in {load_s:.2} s");
    println!("  authorizations        {authorizations_n} ({approvals} approved)");
    println!(
        "  throughput            {:.0} /s (one core)",
        authorizations_n as f64 / total_s
    );
    println!(
        "  latency ns            p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
        percentile(&lat_ns, 0.50),
        percentile(&lat_ns, 0.90),
        percentile(&lat_ns, 0.99),
        percentile(&lat_ns, 0.999),
        lat_ns[lat_ns.len() - 1]
    );
    let slow: Vec<String> = slowest
        .iter()
        .map(|(ns, i)| format!("#{i} {:.1} ms", *ns as f64 / 1e6))
        .collect();
    println!("  slowest               {}", slow.join(", "));
    println!("  resident per customer {per_customer} bytes (RSS delta over loading)");
}
