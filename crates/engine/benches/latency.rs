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

    // The risk rules deciding: `none` (the built-in baseline policy),
    // `default` (rules/default.toml) or `50` (the default rules and
    // generated ones up to 50 rules, over every kind of feature).
    let rules = std::env::var("ATOBARAI_BENCH_RULES").unwrap_or_else(|_| "none".into());
    let source = match rules.as_str() {
        "none" => None,
        "default" => Some(atobarai_engine::risk::rules::DEFAULT_RULES.to_owned()),
        "50" => Some(fifty_rules()),
        other => panic!("ATOBARAI_BENCH_RULES={other}: none, default or 50"),
    };
    let mut reload_ns = None;
    if let Some(source) = source {
        // What a reload costs: the server compiles the text in its handler
        // (to check it), then the engine thread applies the command, which
        // finds the compiled set by the text's hash and swaps it in.
        let t = Instant::now();
        atobarai_engine::risk::rules::compile_shared(&source).expect("the rules compile");
        println!(
            "  rule set compiled     {:.3} ms (request handler, off the engine thread)",
            t.elapsed().as_secs_f64() * 1e3
        );
        let t = Instant::now();
        engine
            .apply(&atobarai_engine::Envelope {
                at: t0(),
                idem: None,
                command: atobarai_engine::Command::SetRiskRules {
                    source,
                    author: "bench".into(),
                },
            })
            .expect("the rules compile");
        reload_ns = Some(t.elapsed().as_nanos() as u64);
    }

    // A scorecard file (`ATOBARAI_BENCH_MODEL=path`), loaded live: every
    // decision past the credit rules is scored.
    if let Ok(path) = std::env::var("ATOBARAI_BENCH_MODEL") {
        let source = std::fs::read_to_string(&path).expect("the model file reads");
        engine
            .apply(&atobarai_engine::Envelope {
                at: t0(),
                idem: None,
                command: atobarai_engine::Command::SetModel {
                    source,
                    shadow: false,
                    author: "bench".into(),
                },
            })
            .expect("the model loads");
        println!("  scorecard             {path} (live)");
    }

    // Build envelopes outside the timed loop: we measure the engine. One
    // order in ten carries a gift card, so liquid-goods rules fire too.
    let mut picker = Picker(0x9E37_79B9_7F4A_7C15);
    let envelopes: Vec<_> = (0..authorizations_n)
        .map(|seq| {
            let mut env = authorization(seq, picker.next(u64::from(customers_n)));
            if seq % 10 == 0
                && let atobarai_engine::Command::Authorize { input, .. } = &mut env.command
            {
                input.items.push(atobarai_engine::LineItem {
                    sku: "GC-3000".into(),
                    name: "ギフトカード".into(),
                    category: atobarai_core::Category::GiftCard,
                    unit_price: atobarai_core::Yen::new(3_000),
                    quantity: 1,
                });
            }
            env
        })
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
    println!(
        "engine authorize, {customers_n} customers loaded in {load_s:.2} s, risk rules: {rules}"
    );
    if let Some(ns) = reload_ns {
        println!(
            "  rule set put in force {:.3} ms (apply on the engine thread: hash, swap)",
            ns as f64 / 1e6
        );
    }
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

/// The default rules, then generated rules up to 50: thresholds over
/// integer features, flags and text comparisons, live and shadow. Like
/// most rules of a real set, the generated ones rarely fire (thresholds
/// in the millions; the bench's orders are online): the figure is the
/// cost of evaluating them, while the default rules fire as they would.
fn fifty_rules() -> String {
    use atobarai_engine::risk::features::{FEATURES, FeatureType};
    let mut s = atobarai_engine::risk::rules::DEFAULT_RULES.to_owned();
    let have = atobarai_engine::risk::rules::compile(&s)
        .expect("the default rules compile")
        .rules()
        .len();
    let ints: Vec<&str> = FEATURES
        .iter()
        .filter(|d| d.ty == FeatureType::Int)
        .map(|d| d.name)
        .collect();
    let flags: Vec<&str> = FEATURES
        .iter()
        .filter(|d| d.ty == FeatureType::Bool)
        .map(|d| d.name)
        .collect();
    for i in 0..50usize.saturating_sub(have) {
        let a = ints[i % ints.len()];
        let b = ints[(i * 7 + 3) % ints.len()];
        let f = flags[i % flags.len()];
        let when = format!(
            "({a} > {} && {b} * 2 >= {}) || ({f} && order.channel == \"in_store\" && {a} + {b} > 9_000)",
            5_000_000 + i * 100,
            i * 50
        );
        let (action, mode) = if i % 2 == 0 {
            ("flag", "live")
        } else {
            ("review", "shadow")
        };
        s.push_str(&format!(
            "\n[[rule]]\nid = \"generated_{i}\"\nversion = 1\ndescription = \"generated\"\nwhen = '{when}'\naction = \"{action}\"\nreason = \"generated_{i}\"\ntext_ja = \"生成\"\ntext_en = \"generated\"\nmode = \"{mode}\"\n"
        ));
    }
    s
}
