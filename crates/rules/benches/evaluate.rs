//! Evaluation cost of a 50-rule set against one feature vector (the 53
//! features the engine computes): prints p50/p99/p99.9 of single
//! evaluations, then runs criterion.
//!
//! `cargo bench -p atobarai-rules --bench evaluate`
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::hint::black_box;
use std::time::Instant;

use atobarai_rules::{Evaluation, RuleSet, Schema, Type, Value, check_file};
use criterion::Criterion;

const FEATURES: &[(&str, Type)] = &[
    ("cart.total", Type::Int),
    ("cart.lines", Type::Int),
    ("cart.liquid_yen", Type::Int),
    ("cart.cash_equivalent_yen", Type::Int),
    ("cart.gift_card_yen", Type::Int),
    ("cart.prepaid_yen", Type::Int),
    ("cart.resellable_yen", Type::Int),
    ("cart.ordinary_yen", Type::Int),
    ("cart.liquid_share_bp", Type::Int),
    ("cart.cash_equivalent_share_bp", Type::Int),
    ("cart.padded", Type::Bool),
    ("cart.max_liquid_unit_yen", Type::Int),
    ("order.channel", Type::Str),
    ("order.product", Type::Str),
    ("order.hour_jst", Type::Int),
    ("account.age_days", Type::Int),
    ("account.orders_approved", Type::Int),
    ("account.paid_orders", Type::Int),
    ("account.limit", Type::Int),
    ("account.exposure", Type::Int),
    ("account.utilization_bp", Type::Int),
    ("history.orders_1h", Type::Int),
    ("history.orders_24h", Type::Int),
    ("history.orders_7d", Type::Int),
    ("history.declined_24h", Type::Int),
    ("history.yen_24h", Type::Int),
    ("history.yen_30d", Type::Int),
    ("history.orders_seen", Type::Int),
    ("history.avg_order_yen", Type::Int),
    ("history.liquid_orders_7d", Type::Int),
    ("history.liquid_orders_30d", Type::Int),
    ("history.liquid_orders_90d", Type::Int),
    ("history.liquid_yen_30d", Type::Int),
    ("history.liquid_yen_90d", Type::Int),
    ("history.cash_equivalent_orders_90d", Type::Int),
    ("history.max_liquid_yen", Type::Int),
    ("history.days_since_liquid", Type::Int),
    ("history.same_amount_30d", Type::Int),
    ("history.same_sku_30d", Type::Int),
    ("history.liquid_cadence_regular", Type::Bool),
    ("history.liquid_intervals", Type::Int),
    ("history.hours_since_payment", Type::Int),
    ("session.device_new", Type::Bool),
    ("session.ip_new", Type::Bool),
    ("session.device_accounts", Type::Int),
    ("session.ip_accounts", Type::Int),
    ("cluster.accounts", Type::Int),
    ("cluster.exposure", Type::Int),
    ("cluster.limit", Type::Int),
    ("cluster.member_overdue", Type::Bool),
    ("cluster.liquid_orders_30d", Type::Int),
    ("cluster.hub_keys", Type::Int),
    ("address.new_accounts_30d", Type::Int),
];

/// Condition templates, each used with a few thresholds (`{n}`).
const TEMPLATES: &[(&str, &str, [i64; 4])] = &[
    (
        "decline",
        "cart.cash_equivalent_share_bp >= {n} && cart.total >= 5_000",
        [9_500, 9_000, 8_000, 7_000],
    ),
    (
        "review",
        "cart.padded && cart.cash_equivalent_yen >= {n} && account.age_days < 30",
        [2_000, 3_000, 5_000, 8_000],
    ),
    (
        "review",
        "account.orders_approved == 0 && cart.liquid_yen >= {n}",
        [1_000, 3_000, 5_000, 10_000],
    ),
    (
        "decline",
        "history.same_amount_30d >= {n} && cart.cash_equivalent_yen > 0",
        [3, 4, 5, 6],
    ),
    (
        "review",
        "history.liquid_cadence_regular && history.liquid_intervals >= {n}",
        [2, 3, 4, 5],
    ),
    (
        "flag",
        "session.device_new && session.ip_new && cart.liquid_yen >= {n}",
        [1_000, 5_000, 10_000, 20_000],
    ),
    (
        "decline",
        "session.device_accounts >= {n} || session.ip_accounts >= {n} * 3",
        [4, 6, 8, 10],
    ),
    (
        "review",
        "cluster.accounts >= 3 && cluster.liquid_orders_30d >= {n}",
        [3, 5, 8, 12],
    ),
    (
        "cap",
        "account.utilization_bp > {n} && history.liquid_yen_30d * 2 > history.yen_30d",
        [7_000, 8_000, 9_000, 9_500],
    ),
    (
        "flag",
        "order.channel in [\"in_store\"] && order.hour_jst in [0, 1, 2, 3, 4] && cart.total > {n}",
        [3_000, 5_000, 10_000, 15_000],
    ),
    (
        "review",
        "history.hours_since_payment >= 0 && history.hours_since_payment < {n} && cart.liquid_share_bp > 5_000",
        [1, 6, 24, 48],
    ),
    (
        "decline",
        "cluster.member_overdue || cluster.hub_keys > {n}",
        [0, 1, 2, 3],
    ),
    (
        "review",
        "address.new_accounts_30d >= {n} && account.age_days <= 7",
        [3, 5, 8, 12],
    ),
    (
        "flag",
        "max(cart.max_liquid_unit_yen, history.max_liquid_yen) >= {n} && abs(cart.total - history.avg_order_yen) * 3 > history.avg_order_yen",
        [10_000, 20_000, 30_000, 50_000],
    ),
];

fn rules_text() -> String {
    let mut text = String::from("[set]\nname = \"bench\"\nversion = 1\n");
    let mut n = 0;
    'outer: for k in 0..4 {
        for (t, (action, when, thresholds)) in TEMPLATES.iter().enumerate() {
            if n == 50 {
                break 'outer;
            }
            let when = when.replace("{n}", &thresholds[k].to_string());
            let cap = if *action == "cap" {
                "cap_yen = 10_000\n"
            } else {
                ""
            };
            let mode = if n % 7 == 6 {
                "mode = \"shadow\"\n"
            } else {
                ""
            };
            text.push_str(&format!(
                "\n[[rule]]\nid = \"r{t}_{k}\"\nversion = 1\nwhen = '{when}'\naction = \"{action}\"\n{cap}reason = \"r{t}\"\ntext_ja = \"r\"\ntext_en = \"r\"\n{mode}"
            ));
            n += 1;
        }
    }
    text
}

fn features(schema: &Schema) -> Vec<Value<'static>> {
    let mut v: Vec<Value<'static>> = schema
        .iter()
        .map(|(_, _, t)| match t {
            Type::Int => Value::Int(0),
            Type::Bool => Value::Bool(false),
            Type::Str => Value::Str(""),
        })
        .collect();
    let mut set = |name: &str, value: Value<'static>| v[schema.id(name).unwrap().index()] = value;
    // a padded cart from a six-week-old account: several rules read deep
    set("cart.total", Value::Int(8_400));
    set("cart.lines", Value::Int(4));
    set("cart.liquid_yen", Value::Int(5_000));
    set("cart.cash_equivalent_yen", Value::Int(5_000));
    set("cart.gift_card_yen", Value::Int(5_000));
    set("cart.ordinary_yen", Value::Int(3_400));
    set("cart.liquid_share_bp", Value::Int(5_952));
    set("cart.cash_equivalent_share_bp", Value::Int(5_952));
    set("cart.padded", Value::Bool(true));
    set("cart.max_liquid_unit_yen", Value::Int(5_000));
    set("order.channel", Value::Str("online"));
    set("order.product", Value::Str("monthly"));
    set("order.hour_jst", Value::Int(2));
    set("account.age_days", Value::Int(41));
    set("account.orders_approved", Value::Int(6));
    set("account.paid_orders", Value::Int(5));
    set("account.limit", Value::Int(50_000));
    set("account.exposure", Value::Int(31_000));
    set("account.utilization_bp", Value::Int(7_880));
    set("history.orders_24h", Value::Int(1));
    set("history.orders_7d", Value::Int(2));
    set("history.yen_30d", Value::Int(22_000));
    set("history.orders_seen", Value::Int(6));
    set("history.avg_order_yen", Value::Int(6_100));
    set("history.liquid_orders_30d", Value::Int(2));
    set("history.liquid_orders_90d", Value::Int(4));
    set("history.liquid_yen_30d", Value::Int(9_000));
    set("history.liquid_yen_90d", Value::Int(17_000));
    set("history.cash_equivalent_orders_90d", Value::Int(4));
    set("history.max_liquid_yen", Value::Int(5_000));
    set("history.days_since_liquid", Value::Int(16));
    set("history.same_amount_30d", Value::Int(2));
    set("history.liquid_cadence_regular", Value::Bool(true));
    set("history.liquid_intervals", Value::Int(3));
    set("history.hours_since_payment", Value::Int(20));
    set("session.device_accounts", Value::Int(1));
    set("session.ip_accounts", Value::Int(2));
    set("cluster.accounts", Value::Int(1));
    set("cluster.limit", Value::Int(50_000));
    set("cluster.exposure", Value::Int(31_000));
    set("address.new_accounts_30d", Value::Int(1));
    v
}

fn percentiles(set: &RuleSet, values: &[Value<'_>]) {
    let mut out = Evaluation::default();
    for _ in 0..20_000 {
        set.evaluate_into(black_box(values), &mut out);
    }
    let mut samples: Vec<u64> = Vec::with_capacity(200_000);
    for _ in 0..200_000 {
        let t = Instant::now();
        set.evaluate_into(black_box(values), &mut out);
        black_box(&out);
        samples.push(t.elapsed().as_nanos() as u64);
    }
    samples.sort_unstable();
    let p = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    let clock = {
        let mut c: Vec<u64> = (0..10_000)
            .map(|_| {
                let t = Instant::now();
                t.elapsed().as_nanos() as u64
            })
            .collect();
        c.sort_unstable();
        c[c.len() / 2]
    };
    println!(
        "rules: {} ({} live fired, {} shadow fired, outcome {:?}, cap {:?})",
        set.rules().len(),
        out.fired.len(),
        out.shadow_fired.len(),
        out.outcome,
        out.cap_yen
    );
    println!(
        "one evaluation of the set, ns over 200000 samples (clock read ~{clock} ns included): p50 {} p90 {} p99 {} p99.9 {} max {}",
        p(0.50),
        p(0.90),
        p(0.99),
        p(0.999),
        samples[samples.len() - 1]
    );
}

fn main() {
    let schema = Schema::new(FEATURES);
    let set = check_file(&rules_text(), &schema).unwrap();
    assert_eq!(set.rules().len(), 50);
    let values = features(&schema);
    percentiles(&set, &values);

    let mut c = Criterion::default().configure_from_args();
    let mut out = Evaluation::default();
    c.bench_function("evaluate 50 rules (evaluate_into)", |b| {
        b.iter(|| set.evaluate_into(black_box(values.as_slice()), &mut out))
    });
    c.bench_function("evaluate 50 rules (evaluate, allocating the result)", |b| {
        b.iter(|| set.evaluate(black_box(values.as_slice())))
    });
    let text = rules_text();
    c.bench_function("check_file 50 rules", |b| {
        b.iter(|| check_file(black_box(&text), &schema))
    });
    c.final_summary();
}
