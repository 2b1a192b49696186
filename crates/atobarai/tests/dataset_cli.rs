//! `atobarai model dataset`: one row per authorization with the features
//! as they were at the decision and the outcome observed since; events
//! after a decision never change its row's features.

mod journal;

use atobarai_core::{Category, Product};
use atobarai_engine::{Command, Envelope};
use journal::{at, capture, customer, env, merchant, order, payment};
use std::path::Path;

/// Customer 0 pays on time; customer 1 never pays; customer 2 pays late.
/// Orders: 0, 1, 2 (per-order invoices of ¥3,000 captured on day 1, due
/// 14 days later); then each customer's second order on day 2.
fn history() -> Vec<Envelope> {
    let mut c = vec![env(at(0), merchant())];
    for n in 0..3 {
        c.push(env(at(0), customer(n)));
    }
    for n in 0..3u64 {
        c.push(env(
            at(1),
            order(n, n as u32, Category::DailyGoods, 3_000, Product::PerOrder),
        ));
        c.push(env(at(1), capture(n)));
    }
    for n in 0..3u64 {
        c.push(env(
            at(2),
            order(n, 10 + n as u32, Category::Food, 1_000, Product::Monthly),
        ));
    }
    c
}

/// What happens afterwards: payments, and new orders.
fn future() -> Vec<Envelope> {
    vec![
        env(at(5), payment(0, 3_000, "p0")),
        env(at(30), Command::AdvanceClock { to: at(30) }),
        env(at(30), payment(2, 3_100, "p2")),
        env(
            at(31),
            order(0, 20, Category::GiftCard, 5_000, Product::Monthly),
        ),
        env(at(100), Command::AdvanceClock { to: at(100) }),
    ]
}

fn dataset(dir: &Path, commands: &[Envelope]) -> Vec<Vec<String>> {
    let data = dir.join("data");
    journal::write(&data, commands);
    let out = dir.join("rows.tsv");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_atobarai"))
        .args(["model", "dataset", "--data-dir"])
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

fn column(rows: &[Vec<String>], name: &str) -> usize {
    rows[0]
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("{name}"))
}

#[test]
fn outcomes_are_what_happened_after_each_decision() {
    let dir = tempfile::tempdir().unwrap();
    let mut commands = history();
    commands.extend(future());
    let rows = dataset(dir.path(), &commands);
    let outcome = column(&rows, "outcome");
    let by_order = |n: u64| {
        let id = atobarai_core::ids::encode("ord", n);
        rows.iter()
            .find(|r| r[0] == id)
            .unwrap_or_else(|| panic!("{id}"))[outcome]
            .clone()
    };
    assert_eq!(rows.len(), 1 + 7, "a header and seven authorizations");
    assert_eq!(by_order(0), "paid_on_time");
    assert_eq!(by_order(1), "defaulted", "unpaid 70+ days past due");
    assert_eq!(by_order(2), "paid_late");
    assert_eq!(by_order(3), "open", "authorized, never captured");
    // Every feature has a column, and the file trains as is.
    assert!(rows[0].iter().any(|h| h == "cart.total"));
    assert!(rows[0].iter().any(|h| h == "history.hours_since_payment"));
    assert_eq!(column(&rows, "split"), rows[0].len() - 1);
}

#[test]
fn later_events_never_change_a_rows_features() {
    let before = tempfile::tempdir().unwrap();
    let after = tempfile::tempdir().unwrap();
    let short = dataset(before.path(), &history());
    let mut all = history();
    all.extend(future());
    let long = dataset(after.path(), &all);
    let outcome = column(&short, "outcome");
    for (a, b) in short.iter().zip(&long).skip(1) {
        // Same order, same time, same features; only the outcome may differ.
        assert_eq!(a[..outcome - 1], b[..outcome - 1], "{a:?}\n{b:?}");
    }
    assert_eq!(
        long.len(),
        short.len() + 1,
        "the later gift card is a row of its own"
    );
}
