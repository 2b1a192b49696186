//! Collections through the engine: payment reversals, payment plans, the
//! paid tier, credit notes and the webhook outbox.

mod common;
use atobarai_core::{Product, Yen};
use atobarai_engine::billing::PlanStatus;
use atobarai_engine::webhook::EventKind;
use atobarai_engine::{Command, Engine, Outcome, Principal, Role};
use common::*;

fn apply(e: &mut Engine, when: &str, c: Command) -> Outcome {
    e.apply(&env(at(when), c)).unwrap().outcome
}

fn payment_index(o: &Outcome) -> u64 {
    match o {
        Outcome::Payment(p) => u64::from(p.payment),
        other => panic!("expected a payment, got {other:?}"),
    }
}

fn reverse(e: &mut Engine, when: &str, payment: u64) -> Outcome {
    apply(
        e,
        when,
        Command::ReversePayment {
            principal: Principal::Operator(0, Role::Payments),
            payment,
            reason: "bank_debit_failed".into(),
        },
    )
}

/// The DOMAIN.md customer pays everything on Aug 25, then the payment is
/// returned: the balance is exactly what it was before the payment, the
/// points it earned are gone, and late fees and damages resume.
#[test]
fn a_returned_payment_puts_everything_back() {
    let mut e = engine_with(1);
    capture_all(
        &mut e,
        "2026-06-15T12:00:00+09:00",
        30_000,
        Product::Monthly,
    );
    tick(&mut e, "2026-08-25T09:00:00+09:00");
    let before = e.balance(Principal::System, &cus(0)).unwrap();
    assert_eq!(before.total, Yen::new(30_000 + 209 + 200 + 552));
    let paid = apply(
        &mut e,
        "2026-08-25T10:00:00+09:00",
        payment(0, before.total.get() + 1_000, "p1"),
    );
    let after_pay = e.balance(Principal::System, &cus(0)).unwrap();
    assert_eq!(after_pay.total, Yen::ZERO);
    assert_eq!(after_pay.credit_balance, Yen::new(1_000));
    assert_eq!(after_pay.points, 150);
    e.check_invariants().unwrap();

    let out = reverse(&mut e, "2026-08-26T10:00:00+09:00", payment_index(&paid));
    let Outcome::Payment(p) = out else { panic!() };
    let r = p.reversed.expect("marked reversed");
    assert_eq!(r.shortfall, Yen::ZERO);
    let b = e.balance(Principal::System, &cus(0)).unwrap();
    assert_eq!(
        (b.principal, b.fees, b.late_fees, b.delay_damages),
        (
            before.principal,
            before.fees,
            before.late_fees,
            before.delay_damages
        )
    );
    assert_eq!(
        (b.credit_balance, b.points, b.overdue),
        (Yen::ZERO, 0, true)
    );
    e.check_invariants().unwrap();

    // Damages resume from the reversal on (¥12 a day), the next late fee
    // comes on Sep 10.
    tick(&mut e, "2026-09-10T09:00:00+09:00");
    let b = e.balance(Principal::System, &cus(0)).unwrap();
    assert_eq!(b.late_fees, Yen::new(300));
    assert_eq!(b.delay_damages, Yen::new(552 + 12 * 16));
    e.check_invariants().unwrap();

    // A second reversal of the same payment is refused and changes nothing.
    let digest = e.digest();
    let err = e
        .apply(&env(
            at("2026-09-10T10:00:00+09:00"),
            Command::ReversePayment {
                principal: Principal::Operator(0, Role::Payments),
                payment: payment_index(&paid),
                reason: "again".into(),
            },
        ))
        .unwrap_err();
    assert_eq!(err.code, "payment_already_reversed");
    assert_eq!(e.digest(), digest);
}

/// An over-payment left credit that a later capture spent; when the
/// payment is returned that part cannot come back from the credit balance
/// and is owed as a reversal shortfall (paid first by the next payment).
#[test]
fn reversal_after_the_credit_was_spent_leaves_a_shortfall() {
    // A prepayment of ¥5,000 while nothing is owed: allowed only under a
    // tolerance that large.
    let mut config = atobarai_core::Config::default();
    config.billing.overpayment_tolerance_yen = Yen::new(5_000);
    let mut e = engine_with_config(1, config);
    let paid = apply(
        &mut e,
        "2026-06-02T10:00:00+09:00",
        payment(0, 5_000, "pre"),
    );
    capture_all(
        &mut e,
        "2026-06-03T12:00:00+09:00",
        3_000,
        Product::PerOrder,
    );
    let b = e.balance(Principal::System, &cus(0)).unwrap();
    assert_eq!(
        (b.credit_balance, b.principal),
        (Yen::new(2_000), Yen::ZERO)
    );

    let Outcome::Payment(p) = reverse(&mut e, "2026-06-04T10:00:00+09:00", payment_index(&paid))
    else {
        panic!()
    };
    assert_eq!(p.reversed.unwrap().shortfall, Yen::new(3_000));
    let b = e.balance(Principal::System, &cus(0)).unwrap();
    assert_eq!(b.credit_balance, Yen::ZERO);
    assert_eq!(b.total, Yen::new(3_000));
    e.check_invariants().unwrap();

    apply(
        &mut e,
        "2026-06-05T10:00:00+09:00",
        payment(0, 3_000, "again"),
    );
    let b = e.balance(Principal::System, &cus(0)).unwrap();
    assert_eq!((b.total, b.credit_balance), (Yen::ZERO, Yen::ZERO));
    e.check_invariants().unwrap();
}

/// A plan pauses late fees, damages and dunning while instalments are met;
/// a missed instalment breaks it and accrual resumes.
#[test]
fn payment_plan_pauses_accrual_until_an_instalment_is_missed() {
    let mut e = engine_with(1);
    capture_all(
        &mut e,
        "2026-06-15T12:00:00+09:00",
        30_000,
        Product::Monthly,
    );
    tick(&mut e, "2026-08-10T09:00:00+09:00");
    let owed = e.balance(Principal::System, &cus(0)).unwrap();
    assert_eq!(owed.late_fees, Yen::new(100));

    // Merchants cannot agree plans.
    let err = e
        .apply(&env(
            at("2026-08-10T10:00:00+09:00"),
            Command::AgreePaymentPlan {
                principal: Principal::Merchant(0),
                customer: 0,
                instalments: 3,
            },
        ))
        .unwrap_err();
    assert_eq!(err.kind, atobarai_engine::ErrorKind::Forbidden);

    let Outcome::Plan(plan) = apply(
        &mut e,
        "2026-08-10T10:00:00+09:00",
        Command::AgreePaymentPlan {
            principal: Principal::System,
            customer: 0,
            instalments: 3,
        },
    ) else {
        panic!()
    };
    assert_eq!(plan.debt, owed.total);
    let dues: Vec<String> = plan
        .instalments
        .iter()
        .map(|i| format!("{} {}", i.due_on, i.amount.get()))
        .collect();
    // Convenience store: the 10th of each following month; the first
    // instalment carries the remainder.
    let third = owed.total.get() / 3;
    assert_eq!(
        dues,
        [
            format!("2026-09-10 {}", owed.total.get() - 2 * third),
            format!("2026-10-10 {third}"),
            format!("2026-11-10 {third}"),
        ]
    );

    // First instalment paid on time: nothing accrues through October 10.
    let first = plan.instalments[0].amount.get();
    apply(&mut e, "2026-09-09T10:00:00+09:00", payment(0, first, "i1"));
    tick(&mut e, "2026-10-10T12:00:00+09:00");
    let b = e.balance(Principal::System, &cus(0)).unwrap();
    assert_eq!(b.late_fees, Yen::ZERO, "paid first to fees");
    assert_eq!(b.total, Yen::new(owed.total.get() - first));
    e.check_invariants().unwrap();

    // The second instalment (due Oct 10) is missed: broken on Oct 11, then
    // damages and late fees run again.
    tick(&mut e, "2026-10-11T09:00:00+09:00");
    let plan = e.payment_plan(Principal::System, &cus(0)).unwrap().unwrap();
    assert_eq!(plan.status, PlanStatus::Broken);
    assert_eq!(plan.status_on.to_string(), "2026-10-11");
    tick(&mut e, "2026-10-25T09:00:00+09:00");
    let b = e.balance(Principal::System, &cus(0)).unwrap();
    assert_eq!(b.late_fees, Yen::new(100));
    assert!(b.delay_damages.is_positive());
    e.check_invariants().unwrap();
}

#[test]
fn plan_completes_when_everything_is_paid_and_is_refused_when_nothing_is_owed() {
    let mut e = engine_with(1);
    let err = e
        .apply(&env(
            at("2026-06-02T10:00:00+09:00"),
            Command::AgreePaymentPlan {
                principal: Principal::System,
                customer: 0,
                instalments: 2,
            },
        ))
        .unwrap_err();
    assert_eq!(err.code, "nothing_owed");
    capture_all(
        &mut e,
        "2026-06-03T12:00:00+09:00",
        9_000,
        Product::PerOrder,
    );
    for bad in [0, 1, 25] {
        let err = e
            .apply(&env(
                at("2026-06-03T13:00:00+09:00"),
                Command::AgreePaymentPlan {
                    principal: Principal::System,
                    customer: 0,
                    instalments: bad,
                },
            ))
            .unwrap_err();
        assert_eq!(
            (err.code, err.field),
            ("instalments_out_of_range", Some("instalments"))
        );
    }
    apply(
        &mut e,
        "2026-06-03T13:00:00+09:00",
        Command::AgreePaymentPlan {
            principal: Principal::System,
            customer: 0,
            instalments: 2,
        },
    );
    apply(
        &mut e,
        "2026-06-04T10:00:00+09:00",
        payment(0, 9_000, "all"),
    );
    let plan = e.payment_plan(Principal::System, &cus(0)).unwrap().unwrap();
    assert_eq!(
        (plan.status, plan.paid),
        (PlanStatus::Completed, Yen::new(9_000))
    );
    e.check_invariants().unwrap();
}

/// The paid tier: ¥300 on the statement of every month it was active,
/// points at 1.5 %, a cancellation ends it with the month.
#[test]
fn paid_tier_is_billed_monthly_and_earns_one_and_a_half_percent() {
    let mut e = engine_with(1);
    let member = |paid| Command::SetMembership {
        principal: Principal::System,
        customer: 0,
        paid,
    };
    apply(&mut e, "2026-06-20T10:00:00+09:00", member(true));
    capture_all(
        &mut e,
        "2026-06-21T12:00:00+09:00",
        10_000,
        Product::Monthly,
    );
    tick(&mut e, "2026-07-01T09:00:00+09:00");
    let (_, invoices, _) = e.invoices(Principal::System, &cus(0)).unwrap();
    let june = invoices.last().unwrap();
    assert_eq!(
        (june.purchases, june.fee, june.membership_fee),
        (Yen::new(10_000), Yen::new(209), Yen::new(300))
    );
    let b = e.balance(Principal::System, &cus(0)).unwrap();
    assert_eq!(b.total, Yen::new(10_509));
    apply(
        &mut e,
        "2026-07-02T10:00:00+09:00",
        payment(0, 10_509, "june"),
    );
    let b = e.balance(Principal::System, &cus(0)).unwrap();
    assert_eq!(b.points, 150, "1.5 % of ¥10,000");

    // Cancelled in July: July is still billed (a statement with only the
    // membership fee), August is not.
    apply(&mut e, "2026-07-15T10:00:00+09:00", member(false));
    tick(&mut e, "2026-08-01T09:00:00+09:00");
    let (_, invoices, _) = e.invoices(Principal::System, &cus(0)).unwrap();
    let july = invoices.last().unwrap();
    assert_eq!(july.month.unwrap().to_string(), "2026-07");
    assert_eq!(
        (july.purchases, july.membership_fee, july.orders),
        (Yen::ZERO, Yen::new(300), 0)
    );
    apply(&mut e, "2026-08-02T10:00:00+09:00", payment(0, 509, "july"));
    capture_all(
        &mut e,
        "2026-08-03T12:00:00+09:00",
        10_000,
        Product::Monthly,
    );
    tick(&mut e, "2026-09-01T09:00:00+09:00");
    let (_, invoices, _) = e.invoices(Principal::System, &cus(0)).unwrap();
    let august = invoices.last().unwrap();
    assert_eq!(august.membership_fee, Yen::ZERO);
    apply(
        &mut e,
        "2026-09-02T10:00:00+09:00",
        payment(0, 10_209, "aug"),
    );
    let b = e.balance(Principal::System, &cus(0)).unwrap();
    assert_eq!(b.points, 150 + 50, "back to 0.5 %");
    e.check_invariants().unwrap();
}

/// A refund after an invoice was issued: a credit note against it, and the
/// re-issued amount.
#[test]
fn refunds_after_invoicing_issue_credit_notes() {
    let mut e = engine_with(1);
    let oi = capture_all(
        &mut e,
        "2026-06-15T12:00:00+09:00",
        10_000,
        Product::PerOrder,
    );
    let refund = |amount| Command::Refund {
        principal: Principal::Merchant(0),
        order: oi,
        amount: Yen::new(amount),
    };
    apply(&mut e, "2026-06-16T10:00:00+09:00", refund(2_500));
    apply(&mut e, "2026-06-17T10:00:00+09:00", refund(1_000));
    let (_, invoices, notes) = e.invoices(Principal::System, &cus(0)).unwrap();
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0].invoice, invoices[0].number);
    assert!(notes[0].number.starts_with("C20260616-"));
    assert_eq!(
        (notes[0].amount_after, notes[1].amount_after),
        (Yen::new(7_500), Yen::new(6_500))
    );
    let (_, _, for_invoice) = e.invoice(Principal::System, &invoices[0].number).unwrap();
    assert_eq!(for_invoice.len(), 2);

    // Monthly: before the close no credit note (the statement bills the
    // net), after it one against the statement.
    let m = capture_all(&mut e, "2026-06-20T12:00:00+09:00", 8_000, Product::Monthly);
    let refund_m = |amount| Command::Refund {
        principal: Principal::Merchant(0),
        order: m,
        amount: Yen::new(amount),
    };
    apply(&mut e, "2026-06-21T10:00:00+09:00", refund_m(1_000));
    assert_eq!(e.credit_notes(Principal::System, &cus(0)).unwrap().len(), 2);
    tick(&mut e, "2026-07-01T09:00:00+09:00");
    apply(&mut e, "2026-07-02T10:00:00+09:00", refund_m(2_000));
    let notes = e.credit_notes(Principal::System, &cus(0)).unwrap();
    let (_, invoices, _) = e.invoices(Principal::System, &cus(0)).unwrap();
    let statement = invoices.last().unwrap();
    assert_eq!(statement.purchases, Yen::new(7_000));
    assert_eq!(notes[2].invoice, statement.number);
    assert_eq!(notes[2].amount_after, Yen::new(5_000));
    e.check_invariants().unwrap();
}

/// Events are kept only for subscribers, in order, and dropped once
/// acknowledged.
#[test]
fn webhook_outbox_keeps_events_until_acknowledged() {
    let mut e = engine_with(1);
    // No endpoint: nothing is recorded.
    capture_all(
        &mut e,
        "2026-06-02T12:00:00+09:00",
        1_000,
        Product::PerOrder,
    );
    assert!(e.webhook_batches(10).is_empty());

    apply(
        &mut e,
        "2026-06-02T13:00:00+09:00",
        Command::AddWebhookEndpoint {
            url: "https://example.invalid/hooks".into(),
            key_nonce: [1; 16],
            events: vec![EventKind::InvoiceIssued, EventKind::CustomerOverdue],
        },
    );
    let reused = e
        .apply(&env(
            at("2026-06-02T13:00:00+09:00"),
            Command::AddWebhookEndpoint {
                url: "https://example.invalid/x".into(),
                key_nonce: [1; 16],
                events: vec![EventKind::InvoiceIssued],
            },
        ))
        .unwrap_err();
    assert_eq!(reused.code, "key_nonce_reused");

    capture_all(
        &mut e,
        "2026-06-03T12:00:00+09:00",
        2_000,
        Product::PerOrder,
    );
    apply(&mut e, "2026-06-04T10:00:00+09:00", payment(0, 500, "part"));
    // Unpaid invoices of Jun 2 and 3 are due Jun 16 and 17: overdue on the 17th.
    tick(&mut e, "2026-06-18T09:00:00+09:00");
    let batches = e.webhook_batches(10);
    assert_eq!(batches.len(), 1);
    let kinds: Vec<EventKind> = batches[0].events.iter().map(|ev| ev.kind).collect();
    // The payment was not subscribed to, so it was not recorded at all.
    assert_eq!(
        kinds,
        [EventKind::InvoiceIssued, EventKind::CustomerOverdue]
    );
    let seqs: Vec<u64> = batches[0].events.iter().map(|ev| ev.seq).collect();
    assert_eq!(seqs, [1, 2]);

    apply(
        &mut e,
        "2026-06-18T09:01:00+09:00",
        Command::WebhooksDelivered {
            endpoint: 0,
            through: 1,
            failed: vec![],
        },
    );
    let left = e.webhook_batches(10);
    assert_eq!(left[0].events.len(), 1);
    apply(
        &mut e,
        "2026-06-18T09:02:00+09:00",
        Command::WebhooksDelivered {
            endpoint: 0,
            through: 2,
            failed: vec![2],
        },
    );
    assert!(e.webhook_batches(10).is_empty());
    let v = &e.webhook_endpoints()[0];
    assert_eq!((v.delivered, v.failed.clone(), v.pending), (1, vec![2], 0));
    // An acknowledgement past the last event is refused.
    let err = e
        .apply(&env(
            at("2026-06-18T09:03:00+09:00"),
            Command::WebhooksDelivered {
                endpoint: 0,
                through: 99,
                failed: vec![],
            },
        ))
        .unwrap_err();
    assert_eq!(err.code, "event_not_found");
    // Snapshot and restore keep the outbox and cursors.
    let restored = Engine::restore(Default::default(), &e.snapshot()).unwrap();
    assert_eq!(restored.digest(), e.digest());
    assert_eq!(restored.webhook_endpoints(), e.webhook_endpoints());
}

/// Fees alone (here only the paid tier's ¥300) unpaid past the statement's
/// due date make the customer overdue: new purchases are declined until
/// they are paid.
#[test]
fn unpaid_statement_fees_block_like_unpaid_purchases() {
    let mut e = engine_with(1);
    apply(
        &mut e,
        "2026-06-20T10:00:00+09:00",
        Command::SetMembership {
            principal: Principal::System,
            customer: 0,
            paid: true,
        },
    );
    // Cancelled the same day: June is the only month billed.
    apply(
        &mut e,
        "2026-06-20T11:00:00+09:00",
        Command::SetMembership {
            principal: Principal::System,
            customer: 0,
            paid: false,
        },
    );
    tick(&mut e, "2026-07-10T09:00:00+09:00");
    let b = e.balance(Principal::System, &cus(0)).unwrap();
    assert_eq!((b.fees, b.overdue), (Yen::new(300 + 209), false));
    tick(&mut e, "2026-07-11T09:00:00+09:00");
    assert!(e.balance(Principal::System, &cus(0)).unwrap().overdue);
    let declined = apply(
        &mut e,
        "2026-07-11T10:00:00+09:00",
        authorize(
            0,
            Product::Monthly,
            atobarai_core::Channel::Online,
            vec![item(atobarai_core::Category::Food, 1_000, 1)],
        ),
    );
    assert_eq!(order_of(&declined).decision, "decline");
    // The customer is reminded (the day after the due date) and, from the
    // month after, charged the ¥100 late fee; no damages without principal.
    tick(&mut e, "2026-08-10T09:00:00+09:00");
    let b = e.balance(Principal::System, &cus(0)).unwrap();
    assert_eq!(
        b.dunning.first().map(|d| (d.action, d.on.to_string())),
        Some((
            atobarai_engine::billing::DunningAction::Reminder,
            "2026-07-11".into()
        ))
    );
    assert_eq!((b.late_fees, b.delay_damages), (Yen::new(100), Yen::ZERO));
    // Paid in full: no longer overdue, nothing more accrues.
    let all = apply(&mut e, "2026-08-11T10:00:00+09:00", payment(0, 609, "all"));
    tick(&mut e, "2026-08-26T09:00:00+09:00");
    let b = e.balance(Principal::System, &cus(0)).unwrap();
    assert_eq!((b.total, b.overdue), (Yen::ZERO, false));
    reverse(&mut e, "2026-08-27T10:00:00+09:00", payment_index(&all));
    let b = e.balance(Principal::System, &cus(0)).unwrap();
    assert_eq!(
        (b.fees, b.late_fees, b.overdue),
        (Yen::new(509), Yen::new(100), true)
    );
    e.check_invariants().unwrap();
}

/// Fees paid on time, then the payment is returned: overdue again.
#[test]
fn a_returned_fee_payment_makes_the_fees_overdue_again() {
    let mut e = engine_with(1);
    apply(
        &mut e,
        "2026-06-20T10:00:00+09:00",
        Command::SetMembership {
            principal: Principal::System,
            customer: 0,
            paid: true,
        },
    );
    tick(&mut e, "2026-07-11T09:00:00+09:00");
    // Paid, then returned: overdue again.
    let paid = apply(&mut e, "2026-07-12T10:00:00+09:00", payment(0, 509, "fees"));
    assert!(!e.balance(Principal::System, &cus(0)).unwrap().overdue);
    reverse(&mut e, "2026-07-13T10:00:00+09:00", payment_index(&paid));
    let b = e.balance(Principal::System, &cus(0)).unwrap();
    assert_eq!((b.fees, b.overdue), (Yen::new(509), true));
    e.check_invariants().unwrap();
}
