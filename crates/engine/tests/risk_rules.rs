//! Risk rule sets through the engine: journaled, deciding, recorded,
//! replayed to the same digest, restored from a snapshot, backtested.

mod common;

use atobarai_core::{At, Category, Channel, Product};
use atobarai_engine::{AuthorizeInput, Command, Decision, Engine, Envelope, LineItem, ReasonCode};
use common::*;

const HOLD_GIFT_CARDS: &str = r#"[set]
name = "test"
version = 1
description = "Holds carts with gift cards of 10,000 yen or more."

[[rule]]
id = "large_gift_card"
version = 1
description = "Large gift cards."
when = 'cart.gift_card_yen >= 10_000'
action = "review"
reason = "large_gift_card"
text_ja = "高額のギフトカードです。"
text_en = "A large gift card."

[[rule]]
id = "any_gift_card_shadow"
version = 1
description = "Shadow: every gift card."
when = 'cart.gift_card_yen > 0'
action = "decline"
reason = "gift_card"
text_ja = "ギフトカードです。"
text_en = "A gift card."
mode = "shadow"
"#;

const DECLINE_ALL_GIFT_CARDS: &str = r#"[set]
name = "strict"
version = 1
description = "Declines every gift card."

[[rule]]
id = "no_gift_cards"
version = 1
description = "No gift cards on credit."
when = 'cart.gift_card_yen > 0'
action = "decline"
reason = "gift_card"
text_ja = "ギフトカードです。"
text_en = "A gift card."
"#;

fn day(n: i64) -> At {
    at("2026-06-02T12:00:00+09:00").plus_ms(n * 86_400_000)
}

fn set_rules(source: &str) -> Command {
    Command::SetRiskRules {
        source: source.into(),
        author: "test".into(),
    }
}

fn order(customer: u64, n: u32, items: Vec<LineItem>) -> Command {
    Command::Authorize {
        merchant: 0,
        session: session_keys("dev", "203.0.113.9"),
        input: AuthorizeInput {
            merchant_order_id: format!("o-{n}"),
            customer,
            product: Product::Monthly,
            channel: Channel::Online,
            items,
            shipping_address: "東京都千代田区霞が関1-3-1".into(),
            device_id: "dev".into(),
            ip: "203.0.113.9".into(),
            tax_rates: Vec::new(),
        },
    }
}

/// A journal: a merchant, four customers, two rule-set changes and orders
/// between them (gift cards of 3,000 and 12,000 yen, daily goods).
fn journal() -> Vec<Envelope> {
    let t = day(0);
    let mut out = vec![env(
        t,
        Command::AddMerchant {
            name: "shop".into(),
            key_id: "k0".into(),
            secret_sha256: [0; 32],
        },
    )];
    for n in 0..4 {
        out.push(env(t, register(0, profile(n))));
    }
    let mut n = 0;
    let mut orders = |out: &mut Vec<Envelope>, d: i64| {
        for c in 0..4u64 {
            for price in [3_000, 12_000] {
                n += 1;
                out.push(env(
                    day(d),
                    order(c, n, vec![item(Category::GiftCard, price, 1)]),
                ));
            }
            n += 1;
            out.push(env(
                day(d),
                order(c, n, vec![item(Category::DailyGoods, 1_500, 1)]),
            ));
        }
    };
    orders(&mut out, 1);
    out.push(env(day(2), set_rules(HOLD_GIFT_CARDS)));
    orders(&mut out, 3);
    out.push(env(day(4), set_rules(DECLINE_ALL_GIFT_CARDS)));
    orders(&mut out, 5);
    out
}

fn replay(journal: &[Envelope]) -> Engine {
    let mut e = Engine::new(Default::default());
    for envelope in journal {
        e.apply(envelope).unwrap();
    }
    e.check_invariants().unwrap();
    e
}

fn order_view(e: &Engine, oi: u64) -> atobarai_engine::OrderView {
    e.order(
        atobarai_engine::Principal::System,
        &atobarai_core::ids::encode("ord", oi),
    )
    .unwrap()
}

#[test]
fn a_rule_set_decides_and_its_record_names_the_rules_and_values() {
    let e = replay(&journal());
    // Orders 12..24 were decided by the first set: the 12,000 yen gift
    // cards held by the live rule, the 3,000 yen ones approved though the
    // shadow rule fired (it never acts).
    let small = order_view(&e, 12);
    assert_eq!(small.decision, Decision::Approve);
    let risk = small.risk.unwrap();
    assert_eq!(risk.rule_set, 1);
    assert_eq!(risk.fired.len(), 1);
    assert!(risk.fired[0].shadow);
    assert!(risk.reasons.is_empty());

    let large = order_view(&e, 13);
    assert_eq!(large.decision, Decision::Review);
    assert_eq!(large.reasons, vec![ReasonCode::RiskRule]);
    let risk = large.risk.unwrap();
    assert_eq!(risk.reasons.len(), 1);
    assert_eq!(risk.reasons[0].code, "large_gift_card");
    assert_eq!(risk.reasons[0].text_en, "A large gift card.");
    assert_eq!(risk.fired[0].id, "large_gift_card");
    assert_eq!(
        risk.fired[0].features,
        vec![(
            "cart.gift_card_yen".to_owned(),
            atobarai_engine::risk::book::RecordedValue::Int(12_000)
        )]
    );
    // Daily goods: nothing fired, yet the order names the set it used.
    let quiet = order_view(&e, 14).risk.unwrap();
    assert_eq!((quiet.rule_set, quiet.fired.len()), (1, 0));
    // The second set declines every gift card and names version 2.
    let strict = order_view(&e, 24);
    assert_eq!(strict.decision, Decision::Decline);
    assert_eq!(strict.risk.unwrap().rule_set, 2);
    // Before any set, the baseline policy decided (and kept no record).
    assert!(order_view(&e, 0).risk.is_none());

    let sets = e.risk_rule_sets();
    assert_eq!(sets.len(), 2);
    assert_eq!(
        sets[1].rules[0].hits_live, 8,
        "8 gift-card orders after the change"
    );
    assert_eq!(
        sets[0].rules[0].hits_live, 0,
        "hits are kept for the set in force"
    );
}

#[test]
fn a_replay_with_two_rule_set_changes_reproduces_the_digest() {
    let j = journal();
    let a = replay(&j);
    let b = replay(&j);
    assert_eq!(a.digest(), b.digest());
    // And a snapshot restores the rule sets, the records and the hits.
    let restored = Engine::restore(Default::default(), &a.snapshot()).unwrap();
    assert_eq!(restored.digest(), a.digest());
    assert_eq!(restored.risk_rule_sets(), a.risk_rule_sets());
    assert_eq!(order_view(&restored, 13).risk, order_view(&a, 13).risk);
    // Replaying the rest of the journal on the restored engine matches.
    let mut half = replay(&j[..20]);
    let mut resumed = Engine::restore(Default::default(), &half.snapshot()).unwrap();
    for envelope in &j[20..] {
        half.apply(envelope).unwrap();
        resumed.apply(envelope).unwrap();
    }
    assert_eq!(half.digest(), resumed.digest());
    assert_eq!(half.digest(), a.digest());
}

#[test]
fn an_invalid_rule_set_is_refused_and_the_one_in_force_stays() {
    let mut e = replay(&journal());
    let before = e.digest();
    let err = e
        .apply(&env(day(5), set_rules("[set]\nname = \"x\"\nversion = 1\n\n[[rule]]\nid = \"r\"\nversion = 1\ndescription = \"d\"\nwhen = 'cart.nope > 1'\naction = \"review\"\nreason = \"r\"\ntext_ja = \"j\"\ntext_en = \"e\"\n")))
        .unwrap_err();
    assert_eq!(err.code, "rules_invalid");
    assert!(
        err.message.contains("9:"),
        "line of the bad condition: {}",
        err.message
    );
    assert_eq!(e.digest(), before);
    assert_eq!(e.risk_rule_sets().len(), 2);
}

#[test]
fn a_backtest_of_the_rule_set_in_force_changes_nothing_and_a_stricter_one_is_listed() {
    let j = journal();
    // From the second set on, the same set as trial: nothing changes.
    let mut e = Engine::new(Default::default());
    for envelope in &j {
        let is_set = matches!(envelope.command, Command::SetRiskRules { .. });
        e.apply(envelope).unwrap();
        if is_set && e.risk_rule_sets().len() == 2 {
            e.start_backtest(
                atobarai_engine::risk::rules::compile(DECLINE_ALL_GIFT_CARDS).unwrap(),
            );
        }
    }
    let same = e.finish_backtest().unwrap();
    assert_eq!(same.evaluated, 12);
    assert!(same.changed.is_empty());

    // The strict set over the whole journal: the approved and held gift
    // cards of the first two periods become declines.
    let mut e = Engine::new(Default::default());
    e.start_backtest(atobarai_engine::risk::rules::compile(DECLINE_ALL_GIFT_CARDS).unwrap());
    for envelope in &j {
        e.apply(envelope).unwrap();
    }
    let r = e.finish_backtest().unwrap();
    assert_eq!(r.evaluated, 36);
    let changed_orders: Vec<u32> = r.changed.iter().map(|c| c.order).collect();
    assert_eq!(changed_orders.len(), 16);
    assert!(r.changed.iter().all(|c| c.trial == Decision::Decline));
    assert!(r.changed.iter().all(|c| c.trial_why == ["no_gift_cards"]));
    let held = r.changed.iter().find(|c| c.order == 13).unwrap();
    assert_eq!(held.live, Decision::Review);
    assert_eq!(held.live_why, ["large_gift_card"]);
    assert_eq!(r.trial_hits[0][0], 24);
    // The backtest left the replay alone.
    assert_eq!(e.digest(), replay(&j).digest());
}

/// A phishing wave: after a quiet day of liquid orders from known devices
/// (one in ten from a new one), an hour in which most come from devices
/// new to their accounts raises one `risk.alert` for the webhook.
#[test]
fn a_wave_of_new_device_liquid_orders_raises_one_alert() {
    use atobarai_engine::webhook::{EventData, EventKind};
    let mut e = Engine::new(Default::default());
    let t = day(0);
    e.apply(&env(
        t,
        Command::AddMerchant {
            name: "shop".into(),
            key_id: "k0".into(),
            secret_sha256: [0; 32],
        },
    ))
    .unwrap();
    e.apply(&env(
        t,
        Command::AddWebhookEndpoint {
            url: "https://ops.example/alerts".into(),
            key_nonce: [1; 16],
            events: vec![EventKind::RiskAlert],
        },
    ))
    .unwrap();
    let customers = 60u64;
    for n in 0..customers as u32 {
        e.apply(&env(t, register(0, profile(n)))).unwrap();
    }
    let padded = || {
        vec![
            item(Category::DailyGoods, 800, 1),
            item(Category::GiftCard, 1_000, 1),
        ]
    };
    let mut n = 0u32;
    let mut place = |e: &mut Engine, at: At, c: u64, device: String| {
        n += 1;
        let Command::Authorize {
            merchant, input, ..
        } = order(c, n, padded())
        else {
            unreachable!()
        };
        let command = Command::Authorize {
            merchant,
            session: session_keys(&device, "203.0.113.9"),
            input: AuthorizeInput {
                device_id: device,
                ..input
            },
        };
        e.apply(&env(at, command)).unwrap();
    };
    // Ten quiet hours: 25 liquid orders an hour, each customer on its own
    // device, and every tenth order from a device the account never used.
    for h in 0..10i64 {
        for i in 0..25u64 {
            let c = (h as u64 * 25 + i) % customers;
            let at = day(1).plus_ms(h * 3_600_000 + i as i64 * 60_000);
            let device = if i % 10 == 9 {
                format!("new-{h}-{i}")
            } else {
                format!("home-{c}")
            };
            place(&mut e, at, c, device);
        }
    }
    assert_eq!(e.risk_alerts().count(), 0, "a quiet baseline never alerts");
    // The wave: two in three orders from new devices.
    for i in 0..30u64 {
        let c = i % customers;
        let at = day(1).plus_ms(10 * 3_600_000 + i as i64 * 60_000);
        let device = if i % 3 == 0 {
            format!("home-{c}")
        } else {
            format!("phished-{i}")
        };
        place(&mut e, at, c, device);
    }
    let alerts: Vec<_> = e.risk_alerts().copied().collect();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].share_bp >= 5_000, "{:?}", alerts[0]);
    assert!(alerts[0].baseline_bp <= 1_500, "{:?}", alerts[0]);
    let events: Vec<_> = e
        .webhook_batches(100)
        .into_iter()
        .flat_map(|b| b.events)
        .collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, EventKind::RiskAlert);
    assert!(matches!(events[0].data, EventData::RiskAlert(a) if a == alerts[0]));
}

/// Velocities of a device, a network and a merchant reach the rules (the
/// decision record shows the values read) and survive a snapshot: they
/// are rebuilt from the orders.
#[test]
fn device_network_and_merchant_velocities_reach_the_rules_and_survive_a_restore() {
    const WATCH: &str = r#"[set]
name = "velocity"
version = 1

[[rule]]
id = "shared_device_burst"
version = 1
when = 'device.accounts_24h >= 2 && device.orders_1h >= 2 && ip.orders_24h >= 2 && merchant.orders_1h >= 2'
action = "review"
reason = "shared_device_burst"
text_ja = "同じ端末から短時間に複数のアカウントで注文がありました。"
text_en = "Several accounts ordered from one device within the hour."
mode = "shadow"
"#;
    let mut e = Engine::new(Default::default());
    let t = day(0);
    e.apply(&env(
        t,
        Command::AddMerchant {
            name: "shop".into(),
            key_id: "k0".into(),
            secret_sha256: [0; 32],
        },
    ))
    .unwrap();
    for n in 0..3 {
        e.apply(&env(t, register(0, profile(n)))).unwrap();
    }
    e.apply(&env(t, set_rules(WATCH))).unwrap();
    // Three accounts, one device, minutes apart.
    for c in 0..3u64 {
        e.apply(&env(
            day(1).plus_ms(c as i64 * 60_000),
            order(c, c as u32, vec![item(Category::DailyGoods, 1_000, 1)]),
        ))
        .unwrap();
    }
    let third = order_view(&e, 2).risk.unwrap();
    assert_eq!(third.fired.len(), 1, "{third:?}");
    let read: std::collections::BTreeMap<_, _> = third.fired[0].features.iter().cloned().collect();
    use atobarai_engine::risk::book::RecordedValue::Int;
    assert_eq!(read["device.accounts_24h"], Int(2));
    assert_eq!(read["device.orders_1h"], Int(2));
    assert_eq!(read["ip.orders_24h"], Int(2));
    assert_eq!(read["merchant.orders_1h"], Int(2));
    assert!(
        order_view(&e, 0).risk.unwrap().fired.is_empty(),
        "the first order saw none"
    );

    // Restored from a snapshot, the next order reads what the live engine
    // reads.
    let mut restored = Engine::restore(Default::default(), &e.snapshot()).unwrap();
    let next = env(
        day(1).plus_ms(10 * 60_000),
        order(0, 9, vec![item(Category::DailyGoods, 1_000, 1)]),
    );
    e.apply(&next).unwrap();
    restored.apply(&next).unwrap();
    assert_eq!(order_view(&e, 3).risk, order_view(&restored, 3).risk);
    assert_eq!(e.digest(), restored.digest());
}
