//! The customer lifecycle through the engine's public API: sign-up facts
//! (consent, re-registration screening), eKYC, in-store caps, payment
//! codes and freezes. Everything a refusal touches stays unchanged.

mod common;

use atobarai_core::lifecycle::Terms;
use atobarai_core::{At, Category, Channel, JstDate, PaymentMethod, Product, Yen};
use atobarai_engine::webhook::{EventData, EventKind};
use atobarai_engine::{
    AuthorizeInput, Command, EkycResult, EkycStatus, Engine, ParentalConsent, Principal,
    Registration, Role, SignUpFacts,
};
use common::*;

const ADMIN: Principal = Principal::Operator(0, Role::Admin);

/// An engine with the seeds' lifecycle terms in force (eKYC for in-store,
/// consent under 20, re-registration screening), a merchant (0), an admin
/// operator (0), an analyst (1) and a store merchant (1), and `n` customers.
fn engine(n: u32) -> Engine {
    let mut e = engine_with(n);
    let t = at("2026-06-01T10:00:00+09:00");
    for (name, role) in [("admin", Role::Admin), ("analyst", Role::Analyst)] {
        e.apply(&env(
            t,
            Command::AddOperator {
                name: name.into(),
                role,
                key_id: format!("op-{name}"),
                secret_sha256: [1; 32],
            },
        ))
        .unwrap();
    }
    e.apply(&env(
        t,
        Command::AddMerchant {
            name: "store".into(),
            key_id: "store".into(),
            secret_sha256: [2; 32],
        },
    ))
    .unwrap();
    e.apply(&env(
        t,
        Command::SetTerms {
            terms: Box::new(Terms::default()),
        },
    ))
    .unwrap();
    e
}

fn apply(e: &mut Engine, when: &str, c: Command) -> Result<atobarai_engine::Outcome, String> {
    e.apply(&env(at(when), c))
        .map(|a| a.outcome)
        .map_err(|err| err.code.to_string())
}

fn ekyc(status: EkycStatus, all_match: bool) -> EkycResult {
    EkycResult {
        status,
        reason: None,
        address_matched: all_match,
        name_matched: all_match,
        birth_date_matched: all_match,
    }
}

fn verify(e: &mut Engine, customer: u64) {
    apply(
        e,
        "2026-06-01T11:00:00+09:00",
        Command::RecordEkyc {
            principal: ADMIN,
            customer,
            result: ekyc(EkycStatus::Verified, true),
        },
    )
    .unwrap();
}

fn in_store(customer: u64, price: i64) -> Command {
    authorize(
        customer,
        Product::Monthly,
        Channel::InStore,
        vec![item(Category::Food, price, 1)],
    )
}

fn sign_up(n: u32, birth: &str, consent: Option<ParentalConsent>) -> Command {
    let mut p = profile(n);
    p.birth_date = JstDate::parse(birth).unwrap();
    Command::SignUp {
        merchant: 0,
        identity: identity_keys(&p),
        registration: Registration::Clear(p),
        payment_method: PaymentMethod::ConvenienceStore,
        signup: SignUpFacts {
            verification: None,
            consent,
            session: session_keys(&format!("dev-signup-{n}"), "198.51.100.7"),
        },
    }
}

fn code_pay(code: u8, price: i64) -> Command {
    Command::AuthorizeWithCode {
        merchant: 1,
        code: [code; 32],
        input: AuthorizeInput {
            merchant_order_id: format!("pos-{code}-{price}"),
            customer: 0,
            product: Product::Monthly,
            channel: Channel::InStore,
            items: vec![item(Category::Food, price, 1)],
            shipping_address: String::new(),
            device_id: "pos-terminal-1".into(),
            ip: String::new(),
            tax_rates: Vec::new(),
        },
        session: session_keys("pos-terminal-1", ""),
    }
}

fn issue(customer: u64, code: u8, ceiling: Option<i64>) -> Command {
    Command::IssuePaymentCode {
        principal: Principal::Merchant(0),
        customer,
        code: [code; 32],
        ceiling: ceiling.map(Yen::new),
    }
}

#[test]
fn under_twenty_needs_a_parents_consent_and_under_eighteen_is_refused() {
    let mut e = engine(1);
    let before = e.digest();
    let when = "2026-06-01T12:00:00+09:00";
    // 19 years old on 2026-06-01.
    assert_eq!(
        apply(&mut e, when, sign_up(10, "2007-03-01", None)).unwrap_err(),
        "parental_consent_required"
    );
    // 17: under the minimum, consent or not.
    let consent = ParentalConsent {
        by: "山田 花子（母）".into(),
        at: at("2026-05-31T09:00:00+09:00"),
    };
    assert_eq!(
        apply(
            &mut e,
            when,
            sign_up(11, "2009-03-01", Some(consent.clone()))
        )
        .unwrap_err(),
        "age_below_minimum"
    );
    assert_eq!(
        apply(&mut e, when, sign_up(12, "2027-01-01", None)).unwrap_err(),
        "birth_date_in_future"
    );
    let mut future = consent.clone();
    future.at = at("2026-06-02T09:00:00+09:00");
    assert_eq!(
        apply(&mut e, when, sign_up(13, "2007-03-01", Some(future))).unwrap_err(),
        "parental_consent_in_future"
    );
    assert_eq!(e.digest(), before, "refusals change nothing");
    // With consent: registered, and who consented and when is kept.
    apply(
        &mut e,
        when,
        sign_up(10, "2007-03-01", Some(consent.clone())),
    )
    .unwrap();
    let life = e.customer_lifecycle(ADMIN, 1).unwrap();
    assert_eq!(life.consent, Some(consent));
    assert!(!life.phone_verified);
    // 20 and over: no consent needed.
    apply(&mut e, when, sign_up(14, "2006-05-31", None)).unwrap();
    // The rule is configuration: with the consent age at 18 a 19-year-old
    // signs up alone.
    let mut terms = Terms::default();
    terms.lifecycle.consent_below_years = 18;
    apply(
        &mut e,
        when,
        Command::SetTerms {
            terms: Box::new(terms),
        },
    )
    .unwrap();
    apply(&mut e, when, sign_up(15, "2007-03-01", None)).unwrap();
}

#[test]
fn in_store_use_needs_ekyc_and_the_verified_caps_apply() {
    let mut e = engine(2);
    let when = "2026-06-02T10:00:00+09:00";
    let o = order_of(&apply(&mut e, when, in_store(0, 1_000)).unwrap());
    assert_eq!(o.decision, "decline");
    assert!(o.reasons.iter().any(|r| r.code == "ekyc_required"), "{o:?}");
    // A verified verdict whose checks failed is refused outright.
    assert_eq!(
        apply(
            &mut e,
            when,
            Command::RecordEkyc {
                principal: ADMIN,
                customer: 0,
                result: ekyc(EkycStatus::Verified, false),
            },
        )
        .unwrap_err(),
        "ekyc_checks_failed"
    );
    // Only an admin operator (the integration) records a verdict.
    for p in [
        Principal::Merchant(0),
        Principal::Operator(1, Role::Analyst),
    ] {
        assert_eq!(
            apply(
                &mut e,
                when,
                Command::RecordEkyc {
                    principal: p,
                    customer: 0,
                    result: ekyc(EkycStatus::Verified, true),
                },
            )
            .unwrap_err(),
            "forbidden"
        );
    }
    verify(&mut e, 0);
    assert_eq!(
        e.customer_lifecycle(ADMIN, 0)
            .unwrap()
            .ekyc
            .unwrap()
            .result
            .status,
        EkycStatus::Verified
    );
    // A new user (no paid online history): ¥2,000 in store.
    let o = order_of(&apply(&mut e, when, in_store(0, 1_500)).unwrap());
    assert_eq!(o.decision, "approve", "{o:?}");
    let o = order_of(&apply(&mut e, when, in_store(0, 600)).unwrap());
    assert_eq!(o.decision, "decline");
    assert!(
        o.reasons
            .iter()
            .any(|r| r.code == "in_store_history_insufficient")
    );
    // A rejected verdict takes in-store use away again.
    apply(
        &mut e,
        when,
        Command::RecordEkyc {
            principal: ADMIN,
            customer: 0,
            result: EkycResult {
                reason: Some("document_address_mismatch".into()),
                ..ekyc(EkycStatus::Rejected, false)
            },
        },
    )
    .unwrap();
    let o = order_of(&apply(&mut e, when, in_store(0, 100)).unwrap());
    assert!(o.reasons.iter().any(|r| r.code == "ekyc_required"));
    // Online is unaffected.
    let o = order_of(
        &apply(
            &mut e,
            when,
            authorize(
                1,
                Product::Monthly,
                Channel::Online,
                vec![item(Category::Food, 1_000, 1)],
            ),
        )
        .unwrap(),
    );
    assert_eq!(o.decision, "approve");
}

#[test]
fn a_payment_code_pays_once_before_it_expires() {
    let mut e = engine(2);
    let when = "2026-06-02T10:00:00+09:00";
    // Not offered before eKYC.
    assert_eq!(
        apply(&mut e, when, issue(0, 1, None)).unwrap_err(),
        "ekyc_required"
    );
    verify(&mut e, 0);
    // Another merchant's customer is not the merchant's to issue for.
    assert_eq!(
        apply(
            &mut e,
            when,
            Command::IssuePaymentCode {
                principal: Principal::Merchant(1),
                customer: 0,
                code: [1; 32],
                ceiling: None,
            },
        )
        .unwrap_err(),
        "customer_not_found"
    );
    let issued = match apply(&mut e, when, issue(0, 1, None)).unwrap() {
        atobarai_engine::Outcome::PaymentCode(c) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(issued.expires_at, at(when).plus_ms(300_000));
    assert_eq!(
        apply(&mut e, when, issue(0, 1, None)).unwrap_err(),
        "payment_code_taken"
    );
    // The store pays with it: customer 0's order, at the store merchant.
    let o = order_of(&apply(&mut e, "2026-06-02T10:01:00+09:00", code_pay(1, 800)).unwrap());
    assert_eq!(
        (o.decision.as_str(), o.customer.as_str()),
        ("approve", cus(0).as_str())
    );
    let order = e
        .order(
            Principal::Merchant(1),
            &atobarai_core::ids::encode("ord", u64::from(o.order)),
        )
        .unwrap();
    assert_eq!(order.channel, Channel::InStore);
    assert!(
        e.order(
            Principal::Merchant(0),
            &atobarai_core::ids::encode("ord", u64::from(o.order))
        )
        .is_err(),
        "the order is the store's"
    );
    // Used: refused with its own code, nothing changed.
    let before = e.digest();
    assert_eq!(
        apply(&mut e, "2026-06-02T10:01:30+09:00", code_pay(1, 100)).unwrap_err(),
        "payment_code_used"
    );
    assert_eq!(e.digest(), before);
    // Expired (five minutes after issue).
    apply(&mut e, "2026-06-02T10:02:00+09:00", issue(0, 2, None)).unwrap();
    assert_eq!(
        apply(&mut e, "2026-06-02T10:07:00+09:00", code_pay(2, 100)).unwrap_err(),
        "payment_code_expired"
    );
    // A ceiling the customer set.
    apply(&mut e, "2026-06-02T10:08:00+09:00", issue(0, 3, Some(500))).unwrap();
    assert_eq!(
        apply(&mut e, "2026-06-02T10:08:10+09:00", code_pay(3, 501)).unwrap_err(),
        "payment_code_ceiling_exceeded"
    );
    // Over the in-store cap: declined, and the code is spent.
    apply(&mut e, "2026-06-02T10:08:00+09:00", issue(0, 4, None)).unwrap();
    let o = order_of(&apply(&mut e, "2026-06-02T10:08:20+09:00", code_pay(4, 1_500)).unwrap());
    assert_eq!(o.decision, "decline");
    assert!(
        o.reasons
            .iter()
            .any(|r| r.code == "in_store_history_insufficient")
    );
    assert_eq!(
        apply(&mut e, "2026-06-02T10:08:30+09:00", code_pay(4, 100)).unwrap_err(),
        "payment_code_used"
    );
    // Unknown codes, online use.
    assert_eq!(
        apply(&mut e, "2026-06-02T10:08:40+09:00", code_pay(9, 100)).unwrap_err(),
        "payment_code_unknown"
    );
    apply(&mut e, "2026-06-02T10:09:00+09:00", issue(0, 5, None)).unwrap();
    let mut online = code_pay(5, 100);
    if let Command::AuthorizeWithCode { input, .. } = &mut online {
        input.channel = Channel::Online;
    }
    assert_eq!(
        apply(&mut e, "2026-06-02T10:09:10+09:00", online).unwrap_err(),
        "channel_not_supported"
    );
    // At most three unused codes at a time (3, 5 and one more).
    apply(&mut e, "2026-06-02T10:09:00+09:00", issue(0, 6, None)).unwrap();
    assert_eq!(
        apply(&mut e, "2026-06-02T10:09:00+09:00", issue(0, 7, None)).unwrap_err(),
        "payment_codes_open_max"
    );
    // A snapshot keeps the codes: the used one stays used.
    let restored = Engine::restore(Default::default(), &e.snapshot_with_digest().0).unwrap();
    assert_eq!(restored.digest(), e.digest());
    let mut restored = restored;
    assert_eq!(
        apply(&mut restored, "2026-06-02T10:09:20+09:00", code_pay(1, 100)).unwrap_err(),
        "payment_code_used"
    );
    let o = order_of(&apply(&mut restored, "2026-06-02T10:09:20+09:00", code_pay(6, 100)).unwrap());
    assert_eq!(o.decision, "approve");
}

#[test]
fn a_frozen_customer_is_declined_until_an_admin_lifts_it() {
    let mut e = engine(1);
    apply(
        &mut e,
        "2026-06-01T10:00:00+09:00",
        Command::AddWebhookEndpoint {
            url: "https://hooks.example.jp/a".into(),
            key_nonce: [0; 16],
            events: vec![EventKind::CustomerFrozen],
        },
    )
    .unwrap();
    let when = "2026-06-02T10:00:00+09:00";
    apply(
        &mut e,
        when,
        Command::FreezeCustomer {
            principal: Principal::Merchant(0),
            customer: 0,
            reason: "身に覚えのない請求があります".into(),
        },
    )
    .unwrap();
    let online = || {
        authorize(
            0,
            Product::Monthly,
            Channel::Online,
            vec![item(Category::Food, 100, 1)],
        )
    };
    let o = order_of(&apply(&mut e, when, online()).unwrap());
    assert_eq!(o.decision, "decline");
    assert_eq!(o.reasons[0].code, "customer_frozen");
    let batches = e.webhook_batches(10);
    let ev = &batches[0].events[0];
    assert_eq!(ev.kind, EventKind::CustomerFrozen);
    match &ev.data {
        EventData::CustomerFrozen { frozen_at, reason } => {
            assert_eq!(*frozen_at, Some(at(when)));
            assert_eq!(reason.as_deref(), Some("身に覚えのない請求があります"));
        }
        other => panic!("{other:?}"),
    }
    // The merchant cannot lift it; an analyst cannot; an admin can.
    for p in [
        Principal::Merchant(0),
        Principal::Operator(1, Role::Analyst),
    ] {
        assert_eq!(
            apply(
                &mut e,
                when,
                Command::UnfreezeCustomer {
                    principal: p,
                    customer: 0
                }
            )
            .unwrap_err(),
            "forbidden"
        );
    }
    apply(
        &mut e,
        when,
        Command::UnfreezeCustomer {
            principal: ADMIN,
            customer: 0,
        },
    )
    .unwrap();
    assert_eq!(
        order_of(&apply(&mut e, when, online()).unwrap()).decision,
        "approve"
    );
}

#[test]
fn a_sign_up_sharing_a_phone_with_an_overdue_account_is_held_with_the_evidence() {
    let mut e = engine(1);
    // Customer 0 buys on the per-order invoice and never pays.
    capture_all(
        &mut e,
        "2026-06-01T12:00:00+09:00",
        5_000,
        Product::PerOrder,
    );
    tick(&mut e, "2026-06-20T10:00:00+09:00");
    // The same person signs up again with the same phone, another e-mail.
    let mut p = profile(0);
    p.external_id = "c-again".into();
    p.email = "other@example.jp".into();
    p.address = "大阪府大阪市北区梅田1-1-1".into();
    p.postal_code = "530-0001".into();
    let signup = Command::SignUp {
        merchant: 0,
        identity: identity_keys(&p),
        registration: Registration::Clear(p),
        payment_method: PaymentMethod::ConvenienceStore,
        signup: SignUpFacts::default(),
    };
    apply(&mut e, "2026-06-20T11:00:00+09:00", signup).unwrap();
    let life = e.customer_lifecycle(ADMIN, 1).unwrap();
    let review = life.signup_review.expect("held");
    assert_eq!(review.approved, None);
    assert_eq!(review.evidence.len(), 1, "{review:?}");
    assert_eq!(review.evidence[0].customer, 0);
    assert_eq!(review.evidence[0].link.as_str(), "phone");
    assert_eq!(review.evidence[0].trouble.as_str(), "overdue");
    let buy = || {
        authorize(
            1,
            Product::Monthly,
            Channel::Online,
            vec![item(Category::Food, 100, 1)],
        )
    };
    let o = order_of(&apply(&mut e, "2026-06-20T11:01:00+09:00", buy()).unwrap());
    assert!(
        o.reasons.iter().any(|r| r.code == "sign_up_in_review"),
        "{o:?}"
    );
    // Declined by an operator: the account is suspended.
    apply(
        &mut e,
        "2026-06-20T12:00:00+09:00",
        Command::ResolveSignUpReview {
            principal: ADMIN,
            customer: 1,
            approve: false,
        },
    )
    .unwrap();
    assert_eq!(
        apply(
            &mut e,
            "2026-06-20T12:00:00+09:00",
            Command::ResolveSignUpReview {
                principal: ADMIN,
                customer: 1,
                approve: true,
            },
        )
        .unwrap_err(),
        "not_in_review"
    );
    let o = order_of(&apply(&mut e, "2026-06-20T12:01:00+09:00", buy()).unwrap());
    assert!(
        o.reasons.iter().any(|r| r.code == "account_suspended"),
        "{o:?}"
    );
    // A clean sign-up (its own phone, e-mail, address, device) is not held;
    // one at the overdue account's address is, with that evidence.
    let mut clean = sign_up(7, "1990-01-01", None);
    if let Command::SignUp {
        registration: Registration::Clear(p),
        identity,
        ..
    } = &mut clean
    {
        p.address = "北海道札幌市中央区北1条西2丁目1".into();
        p.postal_code = "060-0001".into();
        *identity = identity_keys(p);
    }
    apply(&mut e, "2026-06-20T12:00:00+09:00", clean).unwrap();
    assert!(
        e.customer_lifecycle(ADMIN, 2)
            .unwrap()
            .signup_review
            .is_none()
    );
    apply(
        &mut e,
        "2026-06-20T12:00:00+09:00",
        sign_up(8, "1990-01-01", None),
    )
    .unwrap();
    let review = e
        .customer_lifecycle(ADMIN, 3)
        .unwrap()
        .signup_review
        .unwrap();
    assert_eq!(review.evidence[0].link.as_str(), "address_unit");
    // A merchant's plain registration is screened the same way.
    let mut p = profile(0);
    p.external_id = "c-plain".into();
    p.email = "plain@example.jp".into();
    apply(&mut e, "2026-06-20T12:00:00+09:00", register(0, p)).unwrap();
    let review = e
        .customer_lifecycle(ADMIN, 4)
        .unwrap()
        .signup_review
        .unwrap();
    assert!(
        review
            .evidence
            .iter()
            .any(|x| x.link.as_str() == "phone" && x.customer == 0),
        "{review:?}"
    );
}

#[test]
fn history_before_the_terms_replays_under_the_legacy_terms() {
    // Legacy terms: no eKYC gate, the credit rules' caps (0 without paid
    // history) decide in store, as before the lifecycle existed.
    let mut config = atobarai_core::Config::default();
    config.set_terms(Terms::legacy());
    let mut e = engine_with_config(1, config);
    let o = order_of(&apply(&mut e, "2026-06-02T10:00:00+09:00", in_store(0, 100)).unwrap());
    assert!(o.reasons.iter().all(|r| r.code != "ekyc_required"), "{o:?}");
    assert!(
        o.reasons
            .iter()
            .any(|r| r.code == "in_store_history_insufficient")
    );
    // The terms journaled later take over, and a snapshot keeps them.
    apply(
        &mut e,
        "2026-06-02T10:00:00+09:00",
        Command::SetTerms {
            terms: Box::new(Terms::default()),
        },
    )
    .unwrap();
    assert!(e.terms_are(&Terms::default()));
    let mut legacy_config = atobarai_core::Config::default();
    legacy_config.set_terms(Terms::legacy());
    let restored = Engine::restore(legacy_config, &e.snapshot_with_digest().0).unwrap();
    assert_eq!(restored.config().lifecycle, Terms::default().lifecycle);
}

#[test]
fn freeze_texts_are_bounded() {
    let mut e = engine(1);
    let long = "あ".repeat(501);
    assert_eq!(
        apply(
            &mut e,
            "2026-06-02T10:00:00+09:00",
            Command::FreezeCustomer {
                principal: Principal::Merchant(0),
                customer: 0,
                reason: long,
            },
        )
        .unwrap_err(),
        "text_length"
    );
    let _ = At::default();
}

#[test]
fn a_verified_phone_change_links_the_account_to_that_phones_accounts() {
    let mut e = engine(2);
    let when = "2026-06-02T10:00:00+09:00";
    assert_eq!(
        e.customer(Principal::System, &cus(0))
            .unwrap()
            .available_scope,
        atobarai_engine::AvailableScope::Account
    );
    // Customer 0 moves to customer 1's phone number, verified by SMS.
    let phone = identity_keys(&profile(1)).phone.unwrap();
    let started = apply(
        &mut e,
        when,
        Command::StartVerification {
            principal: Principal::Merchant(0),
            channel: atobarai_engine::ContactKind::Phone,
            target: phone,
            code: [7; 32],
            ip: None,
        },
    )
    .unwrap();
    let atobarai_engine::Outcome::Verification(v) = started else {
        panic!("{started:?}")
    };
    apply(
        &mut e,
        when,
        Command::ConfirmVerification {
            principal: Principal::Merchant(0),
            verification: v.verification,
            code: [7; 32],
        },
    )
    .unwrap();
    apply(
        &mut e,
        when,
        Command::ChangeContact {
            principal: Principal::Merchant(0),
            customer: 0,
            verification: v.verification,
        },
    )
    .unwrap();
    let life = e.customer_lifecycle(ADMIN, 0).unwrap();
    assert_eq!(life.contact_changed_at, Some(at(when)));
    // One person now: the two accounts share a limit.
    assert_eq!(
        e.customer(Principal::System, &cus(0))
            .unwrap()
            .available_scope,
        atobarai_engine::AvailableScope::IdentityCluster
    );
}
