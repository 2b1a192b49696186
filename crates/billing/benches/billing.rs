//! Per-customer costs of the two batch jobs: the daily tick's accrual for an
//! overdue customer, and the monthly statement close for a customer with 10
//! orders (the 1M customers / 10M orders shape).

use atobarai_billing::dunning::DunningConfig;
use atobarai_billing::invoice::{Purchase, StatementInput, close_statement};
use atobarai_billing::overdue::OverdueState;
use atobarai_billing::schedule::YearMonth;
use atobarai_billing::{calendar, postings};
use atobarai_core::config::BillingConfig;
use atobarai_core::{At, JstDate, PaymentMethod, Yen};
use atobarai_ledger::{Points, YenLedger};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn d(s: &str) -> JstDate {
    JstDate::parse(s).expect("valid date")
}

fn daily_accrual(c: &mut Criterion) {
    let (b, dn) = (BillingConfig::default(), DunningConfig::default());
    let start = OverdueState::new(d("2026-07-10"));
    let days: Vec<JstDate> = (1..=60)
        .map(|i| d("2026-07-10").plus_days(i).expect("date"))
        .collect();
    c.bench_function("overdue_advance_one_day", |bench| {
        let mut s = start;
        let mut i = 0;
        bench.iter(|| {
            if i == days.len() {
                s = start;
                i = 0;
            }
            let a = s
                .advance(days[i], black_box(Yen::new(30_000)), &b, &dn)
                .expect("advance");
            i += 1;
            black_box(a)
        })
    });
    c.bench_function("is_business_day", |bench| {
        bench.iter(|| calendar::is_business_day(black_box(d("2026-09-22"))))
    });
}

fn statement_close(c: &mut Criterion) {
    let cfg = BillingConfig::default();
    let purchases: Vec<Purchase> = (0..10)
        .map(|i| Purchase {
            order: i,
            captured_on: d("2026-06-01").plus_days(i as i32 * 3).expect("date"),
            description: "daily goods".into(),
            amount: Yen::new(1_000 + i as i64 * 137),
            refunded: Yen::ZERO,
        })
        .collect();
    let input = StatementInput {
        customer: 42,
        month: YearMonth::new(2026, 6).expect("month"),
        method: PaymentMethod::BankDebit,
        purchases: &purchases,
        paid_tier: false,
        points_requested: Points::new(50),
        seq: 1,
    };
    c.bench_function("close_statement_10_orders", |bench| {
        bench.iter(|| close_statement(black_box(&input), &cfg).expect("close"))
    });
    c.bench_function("ledger_post_capture", |bench| {
        let mut l = YenLedger::new();
        let mut n: u64 = 0;
        bench.iter(|| {
            n += 1;
            let e = postings::capture(
                At::from_unix_ms(0),
                n,
                (n % 1_000_000) as u32,
                1,
                Yen::new(1000),
            )
            .expect("entry");
            l.post(e).expect("post")
        })
    });
}

criterion_group!(benches, daily_accrual, statement_close);
criterion_main!(benches);
