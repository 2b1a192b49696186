//! `atobarai backtest` on a journal written the way the node writes it:
//! the decisions a trial rule set would change, by rule, with examples.

use atobarai_core::{At, Category, Channel, JstDate, PaymentMethod, Product, Yen};
use atobarai_engine::format::record;
use atobarai_engine::{
    AuthorizeInput, Command, CustomerProfile, Engine, Envelope, LineItem, Outcome,
};
use atobarai_store::{Journal, Record, SqliteJournal};
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

fn at(day: i64) -> At {
    At::parse_rfc3339("2026-06-02T12:00:00+09:00")
        .unwrap()
        .plus_ms(day * 86_400_000)
}

fn env(at: At, command: Command) -> Envelope {
    Envelope {
        at,
        idem: None,
        command,
    }
}

fn gift_card(customer: u64, n: u32, price: i64) -> Command {
    Command::Authorize {
        merchant: 0,
        session: Default::default(),
        input: AuthorizeInput {
            merchant_order_id: format!("o-{n}"),
            customer,
            product: Product::Monthly,
            channel: Channel::Online,
            items: vec![LineItem {
                sku: "GC".into(),
                name: "gift card".into(),
                category: Category::GiftCard,
                unit_price: Yen::new(price),
                quantity: 1,
            }],
            shipping_address: "東京都千代田区霞が関1-3-1".into(),
            device_id: "dev".into(),
            ip: "203.0.113.9".into(),
        },
    }
}

/// A merchant, two customers, then (optionally) `rules` in force, then a
/// 3,000 and a 12,000 yen gift card each — journaled as the node does.
fn write_journal(dir: &Path, rules: Option<&str>) {
    let mut commands = vec![env(
        at(0),
        Command::AddMerchant {
            name: "shop".into(),
            key_id: "k0".into(),
            secret_sha256: [0; 32],
        },
    )];
    for n in 0..2u32 {
        commands.push(env(
            at(0),
            Command::RegisterCustomer {
                merchant: 0,
                identity: Default::default(),
                payment_method: PaymentMethod::ConvenienceStore,
                profile: CustomerProfile {
                    external_id: format!("c-{n}"),
                    name: "山田 太郎".into(),
                    name_kana: "ヤマダ タロウ".into(),
                    birth_date: JstDate::parse("1990-04-01").unwrap(),
                    phone: format!("090-1234-{:04}", 5678 + n),
                    email: format!("taro{n}@example.jp"),
                    postal_code: "100-0013".into(),
                    address: "東京都千代田区霞が関1-3-1".into(),
                },
            },
        ));
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
    std::fs::create_dir_all(dir).unwrap();
    let mut journal = SqliteJournal::open(&dir.join("journal.sqlite")).unwrap();
    let mut engine = Engine::new(Default::default());
    let mut records = Vec::new();
    for (i, e) in commands.iter().enumerate() {
        let applied = engine.apply(e).unwrap();
        let decision = match (&e.command, &applied.outcome) {
            (Command::Authorize { .. }, Outcome::Order(o)) => Some(o.decision),
            _ => None,
        };
        records.push(Record {
            seq: i as u64 + 1,
            payload: record::encode(e, decision),
        });
    }
    journal.append(&records).unwrap();
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
