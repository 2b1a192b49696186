//! `atobarai backtest` on a journal written the way the node writes it:
//! the decisions a trial rule set would change, by rule, with examples.

mod journal;

use atobarai_engine::Command;
use journal::{at, customer, env, gift_card, merchant};
use std::path::Path;

const TRIAL: &str = r#"[set]
name = "trial"
version = 3
description = "Declines gift cards of 10,000 yen or more."

[[rule]]
id = "large_gift_card"
version = 1
description = "Large gift cards."
when = 'cart.gift_card_yen >= 10_000'
action = "decline"
reason = "large_gift_card"
text_ja = "高額のギフトカードです。"
text_en = "A large gift card."
"#;

/// A merchant, two customers, then (optionally) `rules` in force, then a
/// 3,000 and a 12,000 yen gift card each — journaled as the node does.
fn write_journal(dir: &Path, rules: Option<&str>) {
    let mut commands = vec![env(at(0), merchant())];
    for n in 0..2u32 {
        commands.push(env(at(0), customer(n)));
    }
    if let Some(source) = rules {
        commands.push(env(
            at(0),
            Command::SetRiskRules {
                source: source.into(),
                author: "test".into(),
            },
        ));
    }
    let mut n = 0;
    for c in 0..2 {
        for price in [3_000, 12_000] {
            n += 1;
            commands.push(env(at(1 + i64::from(n)), gift_card(c, n, price)));
        }
    }
    journal::write(dir, &commands);
}

fn backtest(data: &Path, extra: &[&str]) -> (std::process::Output, serde_json::Value) {
    let dir = data.parent().unwrap();
    let rules = dir.join("trial.toml");
    std::fs::write(&rules, TRIAL).unwrap();
    let report = dir.join("report");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_atobarai"))
        .arg("backtest")
        .arg("--data-dir")
        .arg(data)
        .arg("--rules")
        .arg(&rules)
        .arg("--report")
        .arg(&report)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = std::fs::read(report.join("backtest.json")).unwrap();
    assert!(report.join("backtest.html").exists());
    (out, serde_json::from_slice(&json).unwrap())
}

#[test]
fn a_stricter_trial_set_lists_the_changed_decisions_by_rule() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_journal(&data, None);
    let (out, r) = backtest(&data, &[]);
    // Live, the built-in policy held every gift-card-only cart; the trial
    // declines the two large ones and approves the two small ones.
    assert_eq!(r["evaluated"], 4);
    assert_eq!(r["changed"], 4);
    assert_eq!(r["matrix"]["review→decline"], 2);
    assert_eq!(r["matrix"]["review→approve"], 2);
    assert_eq!(r["rules"][0]["id"], "large_gift_card");
    assert_eq!(r["rules"][0]["changed"], 2);
    assert_eq!(
        r["rules"][0]["examples"][0],
        atobarai_core::ids::encode("ord", 1)
    );
    let released = r["released"].as_array().unwrap();
    let released_orders: u64 = released.iter().map(|x| x["orders"].as_u64().unwrap()).sum();
    assert_eq!(released_orders, 2);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("changed: 4"), "{stdout}");
    assert!(stdout.contains("large_gift_card"), "{stdout}");
}

#[test]
fn a_backtest_of_the_set_in_force_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_journal(&data, Some(TRIAL));
    let (_, r) = backtest(&data, &[]);
    assert_eq!(r["evaluated"], 4);
    assert_eq!(r["changed"], 0);
    assert_eq!(r["rules"][0]["hits_live"], 2);
}

#[test]
fn a_date_range_compares_only_its_days() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_journal(&data, None);
    // Orders on days 2..5 after 2 June: from the 5th to the 6th, two orders.
    let (_, r) = backtest(&data, &["--from", "2026-06-05", "--to", "2026-06-06"]);
    assert_eq!(r["evaluated"], 2);
    assert_eq!(r["from"], "2026-06-05");
}
