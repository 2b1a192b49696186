//! Credit and order-lifecycle scenarios through the engine's public API.

mod common;
use atobarai_core::{At, Category, Channel, Product};
use atobarai_engine::{Command, Engine, Principal, ReviewVerdict, SuspensionInput};
use common::*;

fn customer(e: &Engine, id: u64) -> C {
    customer_totals(e, &atobarai_core::ids::encode("cus", id))
}

fn order_idx(view: &O) -> u64 {
    u64::from(view.order)
}

#[test]
fn authorize_capture_pay_restores_the_limit() {
    let mut e = engine_with(1);
    let t = at("2026-06-10T12:00:00+09:00");
    let a = e
        .apply(&env(
            t,
            authorize(
                0,
                Product::Monthly,
                Channel::Online,
                vec![item(Category::DailyGoods, 3000, 2)],
            ),
        ))
        .unwrap();
    let o = order_of(&a.outcome);
    assert_eq!(
        (o.decision.as_str(), o.amount, o.available_after),
        ("approve", 6000, 44000)
    );
    let c = e
        .apply(&env(
            t,
            Command::Capture {
                principal: Principal::Merchant(0),
                order: order_idx(&o),
                amount: None,
            },
        ))
        .unwrap();
    let captured = order_of(&c.outcome);
    assert_eq!(captured.due_date.as_deref(), Some("2026-07-10"));
    assert_eq!(customer(&e, 0).exposure, 6000);
    e.apply(&env(t, payment(0, 6000, "pay-1"))).unwrap();
    let view = customer(&e, 0);
    assert_eq!(
        (view.exposure, view.available, view.outstanding),
        (0, 50000, 0)
    );
    e.check_invariants().unwrap();
}

#[test]
fn over_limit_is_declined_with_its_code_and_holds_nothing() {
    let mut e = engine_with(1);
    let t = at("2026-06-10T12:00:00+09:00");
    let a = e
        .apply(&env(
            t,
            authorize(
                0,
                Product::Monthly,
                Channel::Online,
                vec![item(Category::Fashion, 50001, 1)],
            ),
        ))
        .unwrap();
    let o = order_of(&a.outcome);
    assert_eq!(o.decision, "decline");
    assert_eq!(o.reasons[0].code, "limit_exceeded");
    assert!(o.reasons[0].message_ja.contains("枠"));
    assert_eq!(customer(&e, 0).exposure, 0);
}

#[test]
fn per_order_cap_and_shared_limit() {
    let mut e = engine_with(1);
    let t = at("2026-06-10T12:00:00+09:00");
    // Bank debit raises the shared limit to ¥100,000; per-order stays ≤ ¥55,000.
    e.apply(&env(
        t,
        Command::SetPaymentMethod {
            principal: Principal::Merchant(0),
            customer: 0,
            payment_method: atobarai_core::PaymentMethod::BankDebit,
        },
    ))
    .unwrap();
    assert_eq!(customer(&e, 0).limit, 100_000);
    let a = e
        .apply(&env(
            t,
            authorize(
                0,
                Product::PerOrder,
                Channel::Online,
                vec![item(Category::Food, 55000, 1)],
            ),
        ))
        .unwrap();
    assert_eq!(order_of(&a.outcome).decision, "approve");
    let b = e
        .apply(&env(
            t,
            authorize(
                0,
                Product::PerOrder,
                Channel::Online,
                vec![item(Category::Food, 1, 1)],
            ),
        ))
        .unwrap();
    assert_eq!(
        order_of(&b.outcome).reasons[0].code,
        "product_limit_exceeded"
    );
    // The monthly product still has ¥45,000 of the shared limit.
    let m = e
        .apply(&env(
            t,
            authorize(
                0,
                Product::Monthly,
                Channel::Online,
                vec![item(Category::Food, 45000, 1)],
            ),
        ))
        .unwrap();
    assert_eq!(order_of(&m.outcome).decision, "approve");
    let n = e
        .apply(&env(
            t,
            authorize(
                0,
                Product::Monthly,
                Channel::Online,
                vec![item(Category::Food, 1, 1)],
            ),
        ))
        .unwrap();
    assert_eq!(order_of(&n.outcome).reasons[0].code, "limit_exceeded");
    e.check_invariants().unwrap();
}

#[test]
fn overdue_invoice_on_one_product_blocks_the_other() {
    let mut e = engine_with(1);
    let t = at("2026-06-10T12:00:00+09:00");
    let a = e
        .apply(&env(
            t,
            authorize(
                0,
                Product::PerOrder,
                Channel::Online,
                vec![item(Category::Food, 1000, 1)],
            ),
        ))
        .unwrap();
    let oi = order_idx(&order_of(&a.outcome));
    e.apply(&env(
        t,
        Command::Capture {
            principal: Principal::Merchant(0),
            order: oi,
            amount: None,
        },
    ))
    .unwrap();
    // Due 2026-06-24; on the 24th it is not yet overdue, on the 25th it is.
    let on_due = at("2026-06-24T23:59:00+09:00");
    let b = e
        .apply(&env(
            on_due,
            authorize(
                0,
                Product::Monthly,
                Channel::Online,
                vec![item(Category::Food, 100, 1)],
            ),
        ))
        .unwrap();
    assert_eq!(order_of(&b.outcome).decision, "approve");
    let late = at("2026-06-25T00:00:00+09:00");
    let c = e
        .apply(&env(
            late,
            authorize(
                0,
                Product::Monthly,
                Channel::Online,
                vec![item(Category::Food, 100, 1)],
            ),
        ))
        .unwrap();
    assert_eq!(order_of(&c.outcome).reasons[0].code, "overdue_invoice");
    assert!(customer(&e, 0).overdue);
    e.apply(&env(late, payment(0, 1000, "p1"))).unwrap();
    let d = e
        .apply(&env(
            late,
            authorize(
                0,
                Product::Monthly,
                Channel::Online,
                vec![item(Category::Food, 100, 1)],
            ),
        ))
        .unwrap();
    assert_eq!(order_of(&d.outcome).decision, "approve");
}

#[test]
fn in_store_needs_paid_online_history() {
    // The credit rules' own gate, without the lifecycle's eKYC gate (see
    // tests/lifecycle.rs for verified customers' caps).
    let mut config = atobarai_core::Config::default();
    config.set_terms(atobarai_core::lifecycle::Terms::legacy());
    let mut e = engine_with_config(1, config);
    let t = at("2026-06-10T12:00:00+09:00");
    let a = e
        .apply(&env(
            t,
            authorize(
                0,
                Product::Monthly,
                Channel::InStore,
                vec![item(Category::Food, 500, 1)],
            ),
        ))
        .unwrap();
    assert_eq!(
        order_of(&a.outcome).reasons[0].code,
        "in_store_history_insufficient"
    );
    for n in 0..3 {
        let o = e
            .apply(&env(
                t,
                authorize(
                    0,
                    Product::Monthly,
                    Channel::Online,
                    vec![item(Category::Food, 1000, 1)],
                ),
            ))
            .unwrap();
        let oi = order_idx(&order_of(&o.outcome));
        e.apply(&env(
            t,
            Command::Capture {
                principal: Principal::Merchant(0),
                order: oi,
                amount: None,
            },
        ))
        .unwrap();
        e.apply(&env(t, payment(0, 1000, &format!("p{n}"))))
            .unwrap();
    }
    let b = e
        .apply(&env(
            t,
            authorize(
                0,
                Product::Monthly,
                Channel::InStore,
                vec![item(Category::Food, 15000, 1)],
            ),
        ))
        .unwrap();
    assert_eq!(order_of(&b.outcome).decision, "approve");
    let c = e
        .apply(&env(
            t,
            authorize(
                0,
                Product::Monthly,
                Channel::InStore,
                vec![item(Category::Food, 1, 1)],
            ),
        ))
        .unwrap();
    assert_eq!(
        order_of(&c.outcome).reasons[0].code,
        "in_store_limit_exceeded"
    );
}

#[test]
fn partial_capture_releases_the_rest_and_refund_after_payment_becomes_credit() {
    let mut e = engine_with(1);
    let t = at("2026-06-10T12:00:00+09:00");
    let a = e
        .apply(&env(
            t,
            authorize(
                0,
                Product::Monthly,
                Channel::Online,
                vec![item(Category::Food, 10000, 1)],
            ),
        ))
        .unwrap();
    let oi = order_idx(&order_of(&a.outcome));
    e.apply(&env(
        t,
        Command::Capture {
            principal: Principal::Merchant(0),
            order: oi,
            amount: Some(atobarai_core::Yen::new(8000)),
        },
    ))
    .unwrap();
    assert_eq!(customer(&e, 0).exposure, 8000);
    e.apply(&env(t, payment(0, 8000, "p1"))).unwrap();
    let r = e
        .apply(&env(
            t,
            Command::Refund {
                principal: Principal::Merchant(0),
                order: oi,
                amount: atobarai_core::Yen::new(3000),
            },
        ))
        .unwrap();
    assert_eq!(order_of(&r.outcome).refunded, 3000);
    let c = customer(&e, 0);
    // A credit balance offsets only what is owed: available stays at the
    // limit, never above it.
    assert_eq!(
        (c.credit_balance, c.exposure, c.available),
        (3000, -3000, 50000)
    );
    // The credit pays the next invoice at capture.
    let b = e
        .apply(&env(
            t,
            authorize(
                0,
                Product::Monthly,
                Channel::Online,
                vec![item(Category::Food, 5000, 1)],
            ),
        ))
        .unwrap();
    let bi = order_idx(&order_of(&b.outcome));
    let cap = e
        .apply(&env(
            t,
            Command::Capture {
                principal: Principal::Merchant(0),
                order: bi,
                amount: None,
            },
        ))
        .unwrap();
    assert_eq!(order_of(&cap.outcome).paid, 3000);
    assert_eq!(customer(&e, 0).exposure, 2000);
    e.check_invariants().unwrap();
}

#[test]
fn errors_change_nothing() {
    let mut e = engine_with(1);
    let t = at("2026-06-10T12:00:00+09:00");
    // As the node does: the day's billing work is its own command.
    e.apply(&env(t, Command::AdvanceClock { to: t })).unwrap();
    let before = e.digest();
    let bad = [
        authorize(
            7,
            Product::Monthly,
            Channel::Online,
            vec![item(Category::Food, 1, 1)],
        ),
        authorize(
            0,
            Product::PerOrder,
            Channel::InStore,
            vec![item(Category::Food, 1, 1)],
        ),
        authorize(0, Product::Monthly, Channel::Online, vec![]),
        authorize(
            0,
            Product::Monthly,
            Channel::Online,
            vec![item(Category::Food, i64::MAX, 2)],
        ),
        authorize(
            0,
            Product::Monthly,
            Channel::Online,
            vec![item(Category::Food, 0, 1)],
        ),
        Command::Capture {
            principal: Principal::Merchant(0),
            order: 99,
            amount: None,
        },
        Command::AdvanceClock {
            to: At::from_unix_ms(0),
        },
    ];
    for cmd in bad {
        assert!(e.apply(&env(t, cmd)).is_err());
        assert_eq!(e.digest(), before);
    }
}

#[test]
fn another_merchants_customer_is_not_found() {
    let mut e = engine_with(1);
    let t = at("2026-06-10T12:00:00+09:00");
    e.apply(&env(
        t,
        Command::AddMerchant {
            name: "other".into(),
            key_id: "k1".into(),
            secret_sha256: [1; 32],
        },
    ))
    .unwrap();
    let mut cmd = authorize(
        0,
        Product::Monthly,
        Channel::Online,
        vec![item(Category::Food, 1, 1)],
    );
    if let Command::Authorize { merchant, .. } = &mut cmd {
        *merchant = 1;
    }
    let err = e.apply(&env(t, cmd)).unwrap_err();
    assert_eq!(
        (err.code, err.field),
        ("customer_not_found", Some("customer"))
    );
}

#[test]
fn category_suspension_at_its_instant_then_lifted() {
    let mut e = engine_with(1);
    let from = at("2018-02-03T15:03:00+09:00");
    e.apply(&env(
        from,
        Command::AddSuspension {
            input: SuspensionInput {
                category: Category::GiftCard,
                merchant: None,
                channel: Some(Channel::Online),
                from: at("2026-06-10T15:03:00+09:00"),
                until: None,
            },
        },
    ))
    .unwrap();
    let cart = || {
        vec![
            item(Category::DailyGoods, 500, 1),
            item(Category::GiftCard, 2000, 1),
        ]
    };
    let before = e
        .apply(&env(
            at("2026-06-10T15:02:59+09:00"),
            authorize(0, Product::Monthly, Channel::Online, cart()),
        ))
        .unwrap();
    assert_ne!(order_of(&before.outcome).decision, "decline");
    let after = e
        .apply(&env(
            at("2026-06-10T15:03:00+09:00"),
            authorize(0, Product::Monthly, Channel::Online, cart()),
        ))
        .unwrap();
    assert_eq!(
        order_of(&after.outcome).reasons[0].code,
        "category_suspended"
    );
    e.apply(&env(
        at("2026-06-11T00:00:00+09:00"),
        Command::LiftSuspension { suspension: 0 },
    ))
    .unwrap();
    let lifted = e
        .apply(&env(
            at("2026-06-11T00:00:01+09:00"),
            authorize(0, Product::Monthly, Channel::Online, cart()),
        ))
        .unwrap();
    assert_ne!(order_of(&lifted.outcome).decision, "decline");
}

#[test]
fn cash_equivalent_cart_is_held_for_review_and_an_analyst_decides() {
    let mut e = engine_with(1);
    let t = at("2026-06-10T12:00:00+09:00");
    let a = e
        .apply(&env(
            t,
            authorize(
                0,
                Product::Monthly,
                Channel::Online,
                vec![item(Category::GiftCard, 10000, 1)],
            ),
        ))
        .unwrap();
    let o = order_of(&a.outcome);
    assert_eq!(
        (o.decision.as_str(), o.status.as_str()),
        ("review", "in_review")
    );
    assert_eq!(o.reasons[0].code, "cash_equivalent_only_cart");
    assert_eq!(customer(&e, 0).held, 10000);
    let err = e
        .apply(&env(
            t,
            Command::Capture {
                principal: Principal::Merchant(0),
                order: order_idx(&o),
                amount: None,
            },
        ))
        .unwrap_err();
    assert_eq!(err.code, "order_in_review");
    let d = e
        .apply(&env(
            t,
            Command::ResolveReview {
                order: order_idx(&o),
                verdict: ReviewVerdict::Decline,
            },
        ))
        .unwrap();
    assert_eq!(order_of(&d.outcome).status, "declined");
    assert_eq!(customer(&e, 0).held, 0);
}

#[test]
fn snapshot_round_trips_to_the_same_digest() {
    let mut e = engine_with(3);
    let t = at("2026-06-10T12:00:00+09:00");
    e.apply(&env(
        t,
        authorize(
            1,
            Product::Monthly,
            Channel::Online,
            vec![item(Category::Food, 1200, 1)],
        ),
    ))
    .unwrap();
    e.apply(&env(t, payment(2, 500, "p"))).unwrap();
    let restored = Engine::restore(Default::default(), &e.snapshot()).unwrap();
    assert_eq!(restored.digest(), e.digest());
    assert!(Engine::restore(Default::default(), b"garbage").is_err());
}
