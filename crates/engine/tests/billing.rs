//! Billing through the engine: the DOMAIN.md worked example, statements,
//! allocation order, points, and the ledger invariants.

mod common;
use atobarai_core::{Product, Yen};
use atobarai_engine::{Command, Principal};
use common::*;

/// DOMAIN.md: ¥30,000 of June purchases, due July 10, unpaid → late fees
/// 100 on Aug 10 and 200 on Aug 25; damages 30000 × 14.6% / 365 = ¥12 a day.
#[test]
fn worked_example() {
    let mut e = engine_with(1);
    capture_all(
        &mut e,
        "2026-06-15T12:00:00+09:00",
        30_000,
        Product::Monthly,
    );
    tick(&mut e, "2026-07-01T00:00:00+09:00");
    let (_, invoices, _) = e.invoices(Principal::System, &cus(0)).unwrap();
    assert_eq!(invoices.len(), 1);
    let s = &invoices[0];
    assert_eq!(
        (s.issued_on.to_string(), s.due_on.to_string()),
        ("2026-07-01".into(), "2026-07-10".into())
    );
    assert_eq!((s.purchases, s.fee), (Yen::new(30_000), Yen::new(209)));

    tick(&mut e, "2026-07-10T23:59:00+09:00");
    let b = e.balance(Principal::System, &cus(0)).unwrap();
    assert_eq!(
        (b.late_fees, b.delay_damages, b.overdue),
        (Yen::ZERO, Yen::ZERO, false)
    );

    tick(&mut e, "2026-08-09T12:00:00+09:00");
    let b = e.balance(Principal::System, &cus(0)).unwrap();
    assert_eq!(b.late_fees, Yen::ZERO);
    assert_eq!(b.delay_damages, Yen::new(12 * 30)); // Jul 11 – Aug 9

    tick(&mut e, "2026-08-10T00:00:00+09:00");
    let b = e.balance(Principal::System, &cus(0)).unwrap();
    assert_eq!(b.late_fees, Yen::new(100));

    tick(&mut e, "2026-08-25T09:00:00+09:00");
    let b = e.balance(Principal::System, &cus(0)).unwrap();
    assert_eq!(b.late_fees, Yen::new(200));
    assert_eq!(b.delay_damages, Yen::new(12 * 46)); // Jul 11 – Aug 25
    assert_eq!(b.fees, Yen::new(209));
    assert_eq!(b.total, Yen::new(30_000 + 209 + 200 + 552));
    assert!(b.overdue);
    let actions: Vec<_> = b
        .dunning
        .iter()
        .map(|d| format!("{:?}@{}", d.action, d.on))
        .collect();
    assert_eq!(
        actions,
        [
            "Reminder@2026-07-11",
            "PhoneCall@2026-07-17",
            "Suspension@2026-07-24",
            "PaymentPlanOffer@2026-08-09"
        ]
    );
    e.check_invariants().unwrap();

    // Allocation: fees, then late fees, then damages, then principal.
    let t = at("2026-08-25T10:00:00+09:00");
    e.apply(&env(t, payment(0, 1_000, "p1"))).unwrap();
    let b = e.balance(Principal::System, &cus(0)).unwrap();
    // 1,000 = 209 fee + 200 late fees + 552 damages + 39 principal.
    assert_eq!(
        (b.fees, b.late_fees, b.delay_damages),
        (Yen::ZERO, Yen::ZERO, Yen::ZERO)
    );
    assert_eq!(b.principal, Yen::new(30_000 - 39));
    e.check_invariants().unwrap();

    // Paying the rest clears everything; no more accrual afterwards.
    e.apply(&env(t, payment(0, b.total.get(), "p2"))).unwrap();
    tick(&mut e, "2026-09-10T09:00:00+09:00");
    let b = e.balance(Principal::System, &cus(0)).unwrap();
    assert_eq!((b.total, b.overdue), (Yen::ZERO, false));
    // 30,000 paid in full → 150 points (0.5 %).
    assert_eq!(b.points, 150);
    e.check_invariants().unwrap();
}

#[test]
fn per_order_invoice_at_capture_and_points_after_payment_then_refund_claws_back() {
    let mut e = engine_with(1);
    let oi = capture_all(
        &mut e,
        "2026-06-15T12:00:00+09:00",
        10_000,
        Product::PerOrder,
    );
    let (_, invoices, _) = e.invoices(Principal::System, &cus(0)).unwrap();
    assert_eq!(invoices[0].due_on.to_string(), "2026-06-29");
    assert!(invoices[0].number.starts_with("P20260615-"));
    let number = invoices[0].number.clone();
    assert_eq!(
        e.invoice(Principal::System, &number).unwrap().1.purchases,
        Yen::new(10_000)
    );
    assert!(e.invoice(Principal::Merchant(7), &number).is_err());

    let t = at("2026-06-20T12:00:00+09:00");
    tick(&mut e, "2026-06-20T12:00:00+09:00");
    e.apply(&env(t, payment(0, 10_000, "p1"))).unwrap();
    assert_eq!(e.balance(Principal::System, &cus(0)).unwrap().points, 50);
    e.apply(&env(
        t,
        Command::Refund {
            principal: Principal::Merchant(0),
            order: oi,
            amount: Yen::new(4_000),
        },
    ))
    .unwrap();
    let b = e.balance(Principal::System, &cus(0)).unwrap();
    assert_eq!((b.points, b.credit_balance), (30, Yen::new(4_000)));
    e.check_invariants().unwrap();

    // Points expire six months after the grant.
    tick(&mut e, "2026-12-20T00:00:00+09:00");
    assert_eq!(e.balance(Principal::System, &cus(0)).unwrap().points, 0);
    e.check_invariants().unwrap();
}

#[test]
fn paid_statement_before_issue_carries_no_fee() {
    let mut e = engine_with(1);
    capture_all(&mut e, "2026-06-15T12:00:00+09:00", 5_000, Product::Monthly);
    e.apply(&env(
        at("2026-06-20T12:00:00+09:00"),
        payment(0, 5_000, "early"),
    ))
    .unwrap();
    tick(&mut e, "2026-07-01T00:00:00+09:00");
    let (_, invoices, _) = e.invoices(Principal::System, &cus(0)).unwrap();
    assert_eq!(
        (invoices[0].purchases, invoices[0].fee),
        (Yen::new(5_000), Yen::ZERO)
    );
    assert_eq!(
        e.balance(Principal::System, &cus(0)).unwrap().total,
        Yen::ZERO
    );
}

#[test]
fn points_pay_part_of_the_monthly_statement_and_cannot_exceed_it() {
    let mut e = engine_with(1);
    capture_all(
        &mut e,
        "2026-06-15T12:00:00+09:00",
        30_000,
        Product::Monthly,
    );
    let t = at("2026-06-16T12:00:00+09:00");
    tick(&mut e, "2026-06-16T12:00:00+09:00");
    e.apply(&env(t, payment(0, 30_000, "p1"))).unwrap();
    assert_eq!(e.balance(Principal::System, &cus(0)).unwrap().points, 150);

    // Only per-order debt: points cannot pay it.
    capture_all(
        &mut e,
        "2026-06-16T12:00:00+09:00",
        1_000,
        Product::PerOrder,
    );
    let redeem = |points| Command::RedeemPoints {
        principal: Principal::Merchant(0),
        customer: 0,
        points,
    };
    let before = e.digest();
    let err = e.apply(&env(t, redeem(100))).unwrap_err();
    assert_eq!(
        (err.code, err.field),
        ("points_exceed_statement", Some("points"))
    );
    assert_eq!(e.digest(), before);

    capture_all(&mut e, "2026-06-16T12:00:00+09:00", 1_000, Product::Monthly);
    let err = e.apply(&env(t, redeem(151))).unwrap_err();
    assert_eq!(err.code, "points_insufficient");
    assert_eq!(
        e.apply(&env(t, redeem(0))).unwrap_err().code,
        "points_not_positive"
    );
    e.apply(&env(t, redeem(100))).unwrap();
    let b = e.balance(Principal::System, &cus(0)).unwrap();
    assert_eq!((b.points, b.principal), (50, Yen::new(1_000 + 900)));
    e.check_invariants().unwrap();
}
