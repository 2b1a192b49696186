//! Payment rules: who may record and reverse payments, how much, and what a
//! credit balance may (not) buy; overflow attempts through commands.

mod common;
use atobarai_core::{Category, Channel, Product, Yen};
use atobarai_engine::{AvailableScope, Command, Engine, ErrorKind, PaymentInput, Principal, Role};
use common::*;

const T: &str = "2026-06-10T12:00:00+09:00";

fn pay_as(principal: Principal, customer: u64, amount: i64, reference: &str) -> Command {
    Command::RecordPayment {
        principal,
        input: PaymentInput {
            customer,
            amount: Yen::new(amount),
            channel: "bank".into(),
            reference: reference.into(),
        },
    }
}

fn refused(e: &mut Engine, c: Command) -> atobarai_engine::CommandError {
    let before = e.digest();
    let err = e.apply(&env(at(T), c)).unwrap_err();
    assert_eq!(e.digest(), before, "a refused command changed state");
    err
}

#[test]
fn the_probe_payment_is_refused_and_changes_nothing() {
    let mut e = engine_with(1);
    tick(&mut e, T);
    // Owes nothing: ¥1,000,000,000,000 is far above owed + tolerance.
    let err = refused(&mut e, payment(0, 1_000_000_000_000, "probe"));
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(err.code, "payment_exceeds_balance");
    assert_eq!(err.field, Some("amount"));
    // A ¥900M order is still declined on the ¥50,000 limit.
    let a = e
        .apply(&env(
            at(T),
            authorize(
                0,
                Product::Monthly,
                Channel::Online,
                vec![item(Category::Food, 900_000_000, 1)],
            ),
        ))
        .unwrap();
    assert_eq!(order_of(&a.outcome).decision, "decline");
}

#[test]
fn a_payment_up_to_owed_plus_tolerance_is_accepted() {
    let mut e = engine_with(1);
    capture_all(&mut e, T, 10_000, Product::PerOrder);
    // Owed 10,000; default tolerance 1,000.
    let err = refused(&mut e, payment(0, 11_001, "too-much"));
    assert_eq!(err.code, "payment_exceeds_balance");
    e.apply(&env(at(T), payment(0, 11_000, "ok"))).unwrap();
    let c = customer_totals(&e, &cus(0));
    assert_eq!((c.outstanding, c.credit_balance), (0, 1_000));
    e.check_invariants().unwrap();
}

#[test]
fn a_credit_balance_never_raises_available_above_the_limit() {
    let mut e = engine_with(1);
    capture_all(&mut e, T, 10_000, Product::PerOrder);
    e.apply(&env(at(T), payment(0, 11_000, "p"))).unwrap();
    let c = customer_totals(&e, &cus(0));
    assert_eq!((c.exposure, c.available, c.limit), (-1_000, 50_000, 50_000));
    let v = e.customer(Principal::System, &cus(0)).unwrap();
    assert_eq!(v.account_available, Yen::new(50_000));
    assert_eq!(v.available_scope, AvailableScope::Account);
    // An order of limit + credit is declined.
    let a = e
        .apply(&env(
            at(T),
            authorize(
                0,
                Product::Monthly,
                Channel::Online,
                vec![item(Category::Food, 51_000, 1)],
            ),
        ))
        .unwrap();
    assert_eq!(order_of(&a.outcome).decision, "decline");
    assert!(
        order_of(&a.outcome)
            .reasons
            .iter()
            .any(|r| r.code == "limit_exceeded")
    );
}

#[test]
fn merchants_and_analysts_cannot_record_or_reverse_payments() {
    let mut e = engine_with(1);
    capture_all(&mut e, T, 10_000, Product::PerOrder);
    for who in [
        Principal::Merchant(0),
        Principal::Operator(0, Role::Analyst),
    ] {
        let err = refused(&mut e, pay_as(who, 0, 5_000, "m"));
        assert_eq!((err.kind, err.code), (ErrorKind::Forbidden, "forbidden"));
    }
    let admin = Principal::Operator(0, Role::Admin);
    e.apply(&env(at(T), pay_as(admin, 0, 5_000, "a"))).unwrap();
    let err = refused(
        &mut e,
        Command::ReversePayment {
            principal: Principal::Merchant(0),
            payment: 0,
            reason: "chargeback".into(),
        },
    );
    assert_eq!(err.kind, ErrorKind::Forbidden);
    e.apply(&env(
        at(T),
        Command::ReversePayment {
            principal: Principal::Operator(1, Role::Payments),
            payment: 0,
            reason: "returned".into(),
        },
    ))
    .unwrap();
    e.check_invariants().unwrap();
}

#[test]
fn a_payments_key_can_do_nothing_else() {
    let mut e = engine_with(1);
    tick(&mut e, T);
    let a = e
        .apply(&env(
            at(T),
            authorize(
                0,
                Product::PerOrder,
                Channel::Online,
                vec![item(Category::Food, 4_000, 1)],
            ),
        ))
        .unwrap();
    let order = u64::from(order_of(&a.outcome).order);
    let p = Principal::Operator(0, Role::Payments);
    let attempts = [
        Command::Capture {
            principal: p,
            order,
            amount: None,
        },
        Command::Cancel {
            principal: p,
            order,
        },
        Command::Refund {
            principal: p,
            order,
            amount: Yen::new(1),
        },
        Command::SetPaymentMethod {
            principal: p,
            customer: 0,
            payment_method: atobarai_core::PaymentMethod::BankDebit,
        },
        Command::RedeemPoints {
            principal: p,
            customer: 0,
            points: 1,
        },
        Command::SetMembership {
            principal: p,
            customer: 0,
            paid: true,
        },
        Command::AgreePaymentPlan {
            principal: p,
            customer: 0,
            instalments: 3,
        },
    ];
    for c in attempts {
        let err = refused(&mut e, c);
        assert_eq!(err.kind, ErrorKind::Forbidden, "{err}");
    }
    assert_eq!(
        e.identity(p, &cus(0)).unwrap_err().kind,
        ErrorKind::Forbidden
    );
    // Reading a customer (to match a payment) is allowed.
    e.customer(p, &cus(0)).unwrap();
}

#[test]
fn overflow_attempts_are_errors_not_panics() {
    let mut e = engine_with(1);
    capture_all(&mut e, T, 10_000, Product::PerOrder);
    for amount in [i64::MAX, i64::MAX - 1, Yen::AMOUNT_MAX.get(), i64::MIN, -1] {
        let err = refused(&mut e, payment(0, amount, &format!("x{amount}")));
        assert_eq!(err.kind, ErrorKind::Invalid, "{amount}: {err}");
    }
    for (price, qty) in [(i64::MAX, 2), (Yen::AMOUNT_MAX.get(), 2), (i64::MAX, 1)] {
        let err = refused(
            &mut e,
            authorize(
                0,
                Product::Monthly,
                Channel::Online,
                vec![item(Category::Food, price, qty)],
            ),
        );
        assert_eq!(err.code, "amount_too_large");
    }
    let a = e
        .apply(&env(
            at(T),
            authorize(
                0,
                Product::Monthly,
                Channel::Online,
                vec![item(Category::Food, 1_000, 1)],
            ),
        ))
        .unwrap();
    let order = u64::from(order_of(&a.outcome).order);
    for amount in [i64::MAX, i64::MIN, Yen::AMOUNT_MAX.get()] {
        let err = refused(
            &mut e,
            Command::Capture {
                principal: Principal::Merchant(0),
                order,
                amount: Some(Yen::new(amount)),
            },
        );
        assert_eq!(err.code, "capture_exceeds_authorized");
    }
    e.apply(&env(
        at(T),
        Command::Capture {
            principal: Principal::Merchant(0),
            order,
            amount: None,
        },
    ))
    .unwrap();
    for amount in [i64::MAX, i64::MIN] {
        let err = refused(
            &mut e,
            Command::Refund {
                principal: Principal::Merchant(0),
                order,
                amount: Yen::new(amount),
            },
        );
        assert_eq!(err.code, "refund_exceeds_captured");
    }
    for points in [i64::MAX, i64::MIN] {
        refused(
            &mut e,
            Command::RedeemPoints {
                principal: Principal::Merchant(0),
                customer: 0,
                points,
            },
        );
    }
    // Mid-9999: no statement or due date after it exists; refused up front
    // rather than failing inside the day's billing work.
    let far = atobarai_core::At::from_unix_ms(253_385_020_799_000);
    let err = refused(&mut e, Command::AdvanceClock { to: far });
    assert_eq!(err.code, "time_out_of_range");
    // The largest representable time never panics.
    let max = atobarai_core::At::from_unix_ms(i64::MAX);
    let _ = e.apply(&env(max, Command::AdvanceClock { to: max }));
    e.check_invariants().unwrap();
}
