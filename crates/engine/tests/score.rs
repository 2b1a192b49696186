//! The behaviour score through the engine: liquid-heavy orders lower it,
//! the limit steps down (never below what is held) with a `limit.changed`
//! event, orders paid on time bring it back; a new linked account moves
//! every member; nothing moves on a journal from before risk rule sets.

mod common;

use atobarai_core::{Category, Channel, Product};
use atobarai_engine::score::{SCORE_START, ScoreEvent};
use atobarai_engine::webhook::{EventData, EventKind};
use atobarai_engine::{Command, Engine, Principal};
use common::*;

/// A set with one shadow rule: scores run, nothing is held.
const QUIET: &str = r#"[set]
name = "quiet"
version = 1

[[rule]]
id = "watch"
version = 1
when = 'cart.total > 0'
action = "review"
reason = "watch"
text_ja = "確認"
text_en = "Watch."
mode = "shadow"
"#;

fn t(day: i64) -> atobarai_core::At {
    at("2026-06-02T10:00:00+09:00").plus_ms(day * 86_400_000)
}

fn with_rules(customers: u32) -> Engine {
    let mut e = engine_with(customers);
    e.apply(&env(
        t(0),
        Command::SetRiskRules {
            source: QUIET.into(),
            author: "test".into(),
        },
    ))
    .unwrap();
    e.apply(&env(
        t(0),
        Command::AddWebhookEndpoint {
            url: "https://ops.example/limits".into(),
            key_nonce: [2; 16],
            events: vec![EventKind::LimitChanged],
        },
    ))
    .unwrap();
    e
}

fn cus(n: u64) -> String {
    atobarai_core::ids::encode("cus", n)
}

fn liquid_heavy(customer: u64) -> Command {
    authorize(
        customer,
        Product::Monthly,
        Channel::Online,
        vec![
            item(Category::GiftCard, 1_000, 1),
            item(Category::DailyGoods, 500, 1),
        ],
    )
}

fn limit_changes(e: &Engine) -> Vec<(i64, i64, ScoreEvent)> {
    e.webhook_batches(1_000)
        .into_iter()
        .flat_map(|b| b.events)
        .filter_map(|ev| match ev.data {
            EventData::LimitChanged { from, to, reason } => Some((from.get(), to.get(), reason)),
            _ => None,
        })
        .collect()
}

#[test]
fn liquid_heavy_orders_step_the_limit_down_and_payments_on_time_bring_it_back() {
    let mut e = with_rules(1);
    let mut orders = Vec::new();
    // Eleven liquid-heavy orders: 600 − 11 × 10 = 490, below the 500 step.
    for n in 0..11 {
        let o = order_of(&e.apply(&env(t(n), liquid_heavy(0))).unwrap().outcome);
        assert_eq!(o.decision, "approve");
        orders.push(o.order);
    }
    let s = e.customer_score(Principal::System, &cus(0)).unwrap();
    assert_eq!(s.account, SCORE_START - 110);
    assert_eq!(s.limit_reason, Some(ScoreEvent::LiquidHeavyOrder));
    let c = e.customer(Principal::System, &cus(0)).unwrap();
    // 60 % of ¥50,000, above the ¥16,500 held.
    assert_eq!(c.limit.get(), 30_000);
    assert_eq!(
        limit_changes(&e),
        vec![(50_000, 30_000, ScoreEvent::LiquidHeavyOrder)]
    );

    // Captured and paid at once, before any due date: +15 each.
    for (n, &o) in orders.iter().enumerate() {
        e.apply(&env(
            t(11),
            Command::Capture {
                principal: Principal::Merchant(0),
                order: u64::from(o),
                amount: None,
            },
        ))
        .unwrap();
        e.apply(&env(t(11), payment(0, 1_500, &format!("p-{n}"))))
            .unwrap();
    }
    let s = e.customer_score(Principal::System, &cus(0)).unwrap();
    assert_eq!(s.account, SCORE_START - 110 + 11 * 15);
    assert_eq!(s.moves.len(), atobarai_engine::score::MOVES_KEPT);
    assert!(s.moves.iter().all(|m| m.event == ScoreEvent::PaidOnTime));
    let c = e.customer(Principal::System, &cus(0)).unwrap();
    assert_eq!(
        c.limit.get(),
        50_000,
        "back to the full limit, never above it"
    );
    assert_eq!(
        limit_changes(&e),
        vec![
            (50_000, 30_000, ScoreEvent::LiquidHeavyOrder),
            (30_000, 50_000, ScoreEvent::PaidOnTime)
        ]
    );
    e.check_invariants().unwrap();
}

#[test]
fn a_lower_step_never_takes_the_limit_below_what_is_held() {
    let mut e = with_rules(1);
    // A large approved order first: ¥25,000 held.
    e.apply(&env(
        t(0),
        authorize(
            0,
            Product::Monthly,
            Channel::Online,
            vec![item(Category::DailyGoods, 25_000, 1)],
        ),
    ))
    .unwrap();
    // Eleven liquid-heavy orders: ¥41,500 held and the score at 490, whose
    // step is 60 % (¥30,000) — below what is held, so the limit stops at
    // the exposure.
    for n in 0..11 {
        let o = order_of(&e.apply(&env(t(n), liquid_heavy(0))).unwrap().outcome);
        assert_eq!(o.decision, "approve");
    }
    let c = e.customer(Principal::System, &cus(0)).unwrap();
    assert_eq!(c.exposure.get(), 41_500);
    assert_eq!(c.limit.get(), 41_500, "{c:?}");
    assert_eq!(c.available.get(), 0);
    assert_eq!(
        limit_changes(&e),
        vec![(50_000, 41_500, ScoreEvent::LiquidHeavyOrder)]
    );
    // Nothing more fits until something is paid.
    let o = order_of(&e.apply(&env(t(12), liquid_heavy(0))).unwrap().outcome);
    assert_eq!(o.decision, "decline");
    e.check_invariants().unwrap();
}

#[test]
fn a_new_linked_account_moves_every_member() {
    let mut e = with_rules(1);
    // Customer 1 registers with customer 0's phone: one person.
    let mut p = profile(1);
    p.phone = profile(0).phone;
    e.apply(&env(t(1), register(0, p))).unwrap();
    for n in 0..2 {
        let s = e.customer_score(Principal::System, &cus(n)).unwrap();
        assert_eq!(s.account, SCORE_START - 30, "account {n}");
        assert_eq!(s.moves.last().unwrap().event, ScoreEvent::AccountLinked);
    }
    // A third account at the same address but its own phone, e-mail and
    // device (a dormitory): linked to nobody, nobody moves.
    e.apply(&env(t(1), register(0, profile(2)))).unwrap();
    assert_eq!(
        e.customer_score(Principal::System, &cus(2))
            .unwrap()
            .account,
        SCORE_START
    );
    assert_eq!(
        e.customer_score(Principal::System, &cus(0))
            .unwrap()
            .account,
        SCORE_START - 30
    );
}

#[test]
fn a_journal_from_before_rule_sets_moves_no_score() {
    let mut e = engine_with(1);
    for n in 0..12 {
        e.apply(&env(t(n), liquid_heavy(0))).unwrap();
    }
    let s = e.customer_score(Principal::System, &cus(0)).unwrap();
    assert_eq!((s.account, s.moves.len()), (SCORE_START, 0));
    assert_eq!(
        e.customer(Principal::System, &cus(0)).unwrap().limit.get(),
        50_000
    );
}

#[test]
fn a_late_payment_and_an_overdue_spell_move_the_score_down() {
    let mut e = with_rules(1);
    let o = order_of(
        &e.apply(&env(
            t(0),
            authorize(
                0,
                Product::PerOrder,
                Channel::Online,
                vec![item(Category::DailyGoods, 3_000, 1)],
            ),
        ))
        .unwrap()
        .outcome,
    );
    e.apply(&env(
        t(0),
        Command::Capture {
            principal: Principal::Merchant(0),
            order: u64::from(o.order),
            amount: None,
        },
    ))
    .unwrap();
    // Due 14 days after issue; the clock passes it, then the order is paid.
    e.apply(&env(t(20), Command::AdvanceClock { to: t(20) }))
        .unwrap();
    let owed = e.balance(Principal::System, &cus(0)).unwrap().total.get();
    assert!(owed > 3_000, "delay damages accrued: {owed}");
    e.apply(&env(t(20), payment(0, owed, "late"))).unwrap();
    let s = e.customer_score(Principal::System, &cus(0)).unwrap();
    let events: Vec<ScoreEvent> = s.moves.iter().map(|m| m.event).collect();
    assert!(events.contains(&ScoreEvent::BecameOverdue), "{events:?}");
    assert!(events.contains(&ScoreEvent::PaidLate), "{events:?}");
    assert_eq!(s.account, SCORE_START - 60 - 40);
}

#[test]
fn a_device_in_common_at_authorization_links_and_moves_both_accounts() {
    let mut e = with_rules(4);
    let daily = |c| {
        authorize(
            c,
            Product::Monthly,
            Channel::Online,
            vec![item(Category::DailyGoods, 1_000, 1)],
        )
    };
    // Customer 2 on its device, then customer 3 on the same device (the
    // common helper gives customers 3 and up customer 2's device).
    e.apply(&env(t(1), daily(2))).unwrap();
    assert_eq!(
        e.customer_score(Principal::System, &cus(2))
            .unwrap()
            .account,
        SCORE_START
    );
    e.apply(&env(t(1), daily(3))).unwrap();
    for n in [2, 3] {
        let s = e.customer_score(Principal::System, &cus(n)).unwrap();
        assert_eq!(s.account, SCORE_START - 30, "account {n}");
        assert_eq!(s.moves.last().unwrap().event, ScoreEvent::AccountLinked);
    }
    // Once linked, more orders from the device link nobody new.
    e.apply(&env(t(2), daily(3))).unwrap();
    assert_eq!(
        e.customer_score(Principal::System, &cus(3))
            .unwrap()
            .account,
        SCORE_START - 30
    );
    // Customers 0 and 1 (own devices) never moved.
    assert_eq!(
        e.customer_score(Principal::System, &cus(0))
            .unwrap()
            .account,
        SCORE_START
    );
}
