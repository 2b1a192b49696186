//! Storage formats, forever: golden records of every format version
//! decode to the envelopes built here from literals; a journal and a
//! snapshot written by the last unversioned release still load; records and
//! snapshots round-trip; no input makes a decoder panic.

use atobarai_core::config::{
    BillingConfig, CreditConfig, DunningConfig, HubThresholds, LimitsConfig, Rules,
};
use atobarai_core::{At, Category, Channel, JstDate, PaymentMethod, Product, Yen};
use atobarai_engine::format::record::{self, DecodedRecord};
use atobarai_engine::format::snapshot;
use atobarai_engine::webhook::EventKind;
use atobarai_engine::{
    AuthorizeInput, Command, CustomerProfile, Decision, Engine, Envelope, FormatError, Idem,
    IdentityKeys, KeyHash, LineItem, Outcome, PaymentInput, PersonalData, Principal, ReviewVerdict,
    RevocationReason, RevocationTarget, Role, SealedPii, SealedProfile, SessionKeys,
    SuspensionInput,
};
use proptest::prelude::*;
use std::path::PathBuf;

fn golden() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The rules in the `set_rules` golden records: main's defaults at 0a1de24
/// with the sign-up limit changed, spelled out so that a later change of a
/// default cannot change what the frozen bytes are expected to mean. The
/// fields added since are what a legacy record upgrades to (no overpayment
/// limit, merchants record payments, no hub keys: history as it ran).
fn frozen_rules() -> Rules {
    Rules {
        credit: CreditConfig {
            signup_limit_yen: Yen::new(77_000),
            bank_debit_limit_yen: Yen::new(100_000),
            per_order_outstanding_cap_yen: Yen::new(55_000),
            in_store_cap_yen: Yen::new(15_000),
            in_store_new_customer_cap_yen: Yen::new(0),
            in_store_paid_online_orders_min: 3,
            age_years_min: 18,
        },
        billing: BillingConfig {
            per_order_due_days: 14,
            convenience_store_due_day: 10,
            paper_bill_due_day: 20,
            bank_debit_day: 27,
            convenience_store_fee_yen: Yen::new(209),
            paper_bill_fee_yen: Yen::new(209),
            bank_debit_fee_yen: Yen::new(0),
            late_fee_yen: Yen::new(100),
            late_fee_days: vec![10, 25],
            delay_damages_bp_per_year: 1_460,
            points_bp: 50,
            points_paid_tier_bp: 150,
            paid_tier_fee_yen: Yen::new(300),
            points_expiry_months: 6,
            overpayment_tolerance_yen: Yen::AMOUNT_MAX,
            merchants_record_payments: true,
        },
        limits: LimitsConfig {
            line_items_max: 100,
            line_quantity_max: 10_000,
            id_chars_max: 64,
            text_chars_max: 200,
            request_body_bytes_max: 65_536,
            idempotency_retention_hours: 24,
        },
        dunning: DunningConfig {
            reminder_days: 1,
            phone_call_days: 7,
            suspension_days: 14,
            payment_plan_offer_days: 30,
        },
        hub_threshold: HubThresholds {
            phone: u32::MAX,
            email: u32::MAX,
            device: u32::MAX,
        },
    }
}

fn kh(b: u8) -> KeyHash {
    KeyHash([b; 16])
}

fn t(s: &str) -> At {
    At::parse_rfc3339(s).unwrap()
}

/// One envelope per command, built from literals only.
fn samples() -> Vec<(&'static str, Envelope, Option<Decision>)> {
    let at = t("2026-06-01T10:00:00+09:00");
    let idem = Some(Idem {
        principal: Principal::Merchant(3),
        key: "key-0001".into(),
        request_hash: [0x5A; 16],
    });
    let rules = frozen_rules();
    let cmds: Vec<(Command, Option<Idem>, Option<Decision>)> = vec![
        (
            Command::AddMerchant {
                name: "ショップ".into(),
                key_id: "mk_1".into(),
                secret_sha256: [1; 32],
            },
            None,
            None,
        ),
        (
            Command::AddOperator {
                name: "ops".into(),
                role: Role::Payments,
                key_id: "ok_1".into(),
                secret_sha256: [2; 32],
            },
            None,
            None,
        ),
        (
            Command::RegisterCustomer {
                merchant: 3,
                profile: CustomerProfile {
                    external_id: "c-42".into(),
                    name: "山田 太郎".into(),
                    name_kana: "ヤマダ タロウ".into(),
                    birth_date: JstDate::parse("1990-04-01").unwrap(),
                    phone: "090-1234-5678".into(),
                    email: "taro@example.jp".into(),
                    postal_code: "100-0013".into(),
                    address: "東京都千代田区霞が関1-3-1".into(),
                },
                payment_method: PaymentMethod::BankDebit,
                identity: IdentityKeys {
                    phone: Some(kh(0x11)),
                    email: None,
                    address_unit: Some(kh(0x13)),
                    name: Some(kh(0x14)),
                },
            },
            idem.clone(),
            None,
        ),
        (
            Command::Authorize {
                merchant: 3,
                input: AuthorizeInput {
                    merchant_order_id: "o-9".into(),
                    customer: 42,
                    product: Product::Monthly,
                    channel: Channel::InStore,
                    items: vec![
                        LineItem {
                            sku: "SKU-1".into(),
                            name: "洗剤".into(),
                            category: Category::DailyGoods,
                            unit_price: Yen::new(1_280),
                            quantity: 2,
                        },
                        LineItem {
                            sku: "SKU-2".into(),
                            name: "gift".into(),
                            category: Category::GiftCard,
                            unit_price: Yen::new(5_000),
                            quantity: 1,
                        },
                    ],
                    shipping_address: "東京都千代田区霞が関1-3-1".into(),
                    device_id: "dev-1".into(),
                    ip: "203.0.113.7".into(),
                    tax_rates: Vec::new(),
                },
                session: SessionKeys {
                    device: Some(kh(0x21)),
                    ip: None,
                },
            },
            idem.clone(),
            Some(Decision::Review),
        ),
        (
            Command::Capture {
                principal: Principal::Merchant(3),
                order: 7,
                amount: Some(Yen::new(2_560)),
            },
            idem.clone(),
            None,
        ),
        (
            Command::Cancel {
                principal: Principal::Operator(1, Role::Admin),
                order: 8,
            },
            None,
            None,
        ),
        (
            Command::Refund {
                principal: Principal::Merchant(3),
                order: 7,
                amount: Yen::new(1_000),
            },
            None,
            None,
        ),
        (
            Command::RecordPayment {
                principal: Principal::Operator(2, Role::Payments),
                input: PaymentInput {
                    customer: 42,
                    amount: Yen::new(3_210),
                    channel: "convenience_store".into(),
                    reference: "ref-1".into(),
                },
            },
            None,
            None,
        ),
        (
            Command::SetPaymentMethod {
                principal: Principal::Merchant(3),
                customer: 42,
                payment_method: PaymentMethod::PaperBill,
            },
            None,
            None,
        ),
        (
            Command::AdvanceClock {
                to: t("2026-07-01T00:00:00+09:00"),
            },
            None,
            None,
        ),
        (
            Command::AddSuspension {
                input: SuspensionInput {
                    category: Category::GiftCard,
                    merchant: Some(3),
                    channel: None,
                    from: t("2026-06-02T00:00:00+09:00"),
                    until: Some(t("2026-06-30T00:00:00+09:00")),
                },
            },
            None,
            None,
        ),
        (Command::LiftSuspension { suspension: 5 }, None, None),
        (
            Command::ResolveReview {
                order: 7,
                verdict: ReviewVerdict::Decline,
            },
            None,
            None,
        ),
        (
            Command::RedeemPoints {
                principal: Principal::Merchant(3),
                customer: 42,
                points: 150,
            },
            None,
            None,
        ),
        (
            Command::ReversePayment {
                principal: Principal::Operator(2, Role::Payments),
                payment: 9,
                reason: "charge-back".into(),
            },
            None,
            None,
        ),
        (
            Command::SetMembership {
                principal: Principal::System,
                customer: 42,
                paid: true,
            },
            None,
            None,
        ),
        (
            Command::AgreePaymentPlan {
                principal: Principal::Operator(1, Role::Admin),
                customer: 42,
                instalments: 6,
            },
            None,
            None,
        ),
        (
            Command::AddWebhookEndpoint {
                url: "https://hooks.example.jp/atobarai".into(),
                key_nonce: [0x33; 16],
                events: vec![EventKind::InvoiceIssued, EventKind::DunningStep],
            },
            None,
            None,
        ),
        (Command::RemoveWebhookEndpoint { endpoint: 2 }, None, None),
        (
            Command::WebhooksDelivered {
                endpoint: 2,
                through: 1_000,
                failed: vec![3, 998],
            },
            None,
            None,
        ),
        (
            Command::SetRules {
                rules: Box::new(rules),
            },
            None,
            None,
        ),
        (
            Command::SetRiskRules {
                source: "[set]\nname = \"golden\"\nversion = 1\n".into(),
                author: "ops-1".into(),
            },
            None,
            None,
        ),
        (
            Command::SetModel {
                source: "{\"format\": \"atobarai-scorecard\"}".into(),
                shadow: true,
                author: "ops-2".into(),
            },
            None,
            None,
        ),
        (
            Command::RegisterSealedCustomer {
                merchant: 3,
                profile: SealedProfile {
                    external_id: "c-43".into(),
                    born_by: JstDate::parse("1991-05-02").unwrap(),
                    pii: SealedPii {
                        scheme: 1,
                        subject: [0x21; 16],
                        nonce: [0x22; 24],
                        ciphertext: vec![0x23, 0x24, 0x25, 0x26],
                    },
                },
                payment_method: PaymentMethod::PaperBill,
                identity: IdentityKeys {
                    phone: Some(kh(0x31)),
                    email: Some(kh(0x32)),
                    address_unit: None,
                    name: Some(kh(0x34)),
                },
            },
            idem.clone(),
            None,
        ),
        (
            Command::EraseCustomerPii {
                principal: Principal::Operator(1, Role::Admin),
                customer: 42,
            },
            None,
            None,
        ),
        (
            Command::AddIssuerMerchant {
                name: "ギフト発行所".into(),
                key_id: "mk_issuer".into(),
                secret_sha256: [0x41; 32],
            },
            None,
            None,
        ),
        (
            Command::CaptureGiftCards {
                principal: Principal::Merchant(4),
                order: 7,
                amount: None,
                codes: vec![[0x51; 32], [0x52; 32]],
            },
            idem.clone(),
            None,
        ),
        (
            Command::RedeemGiftCard {
                principal: Principal::Merchant(4),
                code: [0x51; 32],
                wallet: "w-1".into(),
            },
            idem.clone(),
            None,
        ),
        (
            Command::RevokeGiftCards {
                principal: Principal::Operator(1, Role::Admin),
                target: RevocationTarget::Cards(vec![0, 1]),
                reason: RevocationReason::ScamVictim,
            },
            None,
            None,
        ),
        (
            Command::AppealGiftCard {
                principal: Principal::Merchant(4),
                wallet: "w-1".into(),
                card: 0,
                evidence: "receipt R-123: bought at the counter".into(),
            },
            idem.clone(),
            None,
        ),
        (
            Command::DecideGiftCardAppeal {
                principal: Principal::Operator(1, Role::Admin),
                appeal: 0,
                reinstate: true,
                note: "receipt checked".into(),
            },
            None,
            None,
        ),
        (
            Command::SpendWallet {
                principal: Principal::Merchant(4),
                wallet: "w-1".into(),
                amount: Yen::new(1_200),
                reference: "pos-77".into(),
            },
            idem.clone(),
            None,
        ),
        (
            Command::SetTerms {
                terms: Box::new(atobarai_core::lifecycle::Terms::default()),
            },
            None,
            None,
        ),
        (
            Command::SignUp {
                merchant: 3,
                registration: atobarai_engine::Registration::Sealed(SealedProfile {
                    external_id: "c-44".into(),
                    born_by: JstDate::parse("2007-12-31").unwrap(),
                    pii: SealedPii {
                        scheme: 1,
                        subject: [0x51; 16],
                        nonce: [0x52; 24],
                        ciphertext: vec![0x53, 0x54],
                    },
                }),
                payment_method: PaymentMethod::ConvenienceStore,
                identity: IdentityKeys {
                    phone: Some(kh(0x55)),
                    email: Some(kh(0x56)),
                    address_unit: Some(kh(0x57)),
                    name: None,
                },
                signup: atobarai_engine::SignUpFacts {
                    verification: Some(7),
                    consent: Some(atobarai_engine::ParentalConsent {
                        by: "山田 花子（母）".into(),
                        at: t("2026-05-30T18:00:00+09:00"),
                    }),
                    session: SessionKeys {
                        device: Some(kh(0x58)),
                        ip: None,
                    },
                },
            },
            idem.clone(),
            None,
        ),
        (
            Command::RecordEkyc {
                principal: Principal::Operator(1, Role::Admin),
                customer: 12,
                result: atobarai_engine::EkycResult {
                    status: atobarai_engine::EkycStatus::Rejected,
                    reason: Some("document_address_mismatch".into()),
                    address_matched: false,
                    name_matched: true,
                    birth_date_matched: true,
                },
            },
            idem.clone(),
            None,
        ),
        (
            Command::IssuePaymentCode {
                principal: Principal::Merchant(3),
                customer: 12,
                code: [0x61; 32],
                ceiling: Some(Yen::new(3_000)),
            },
            idem.clone(),
            None,
        ),
        (
            Command::AuthorizeWithCode {
                merchant: 5,
                code: [0x61; 32],
                input: AuthorizeInput {
                    merchant_order_id: "pos-1".into(),
                    customer: 0,
                    product: Product::Monthly,
                    channel: Channel::InStore,
                    items: vec![LineItem {
                        sku: "SKU-1".into(),
                        name: "おにぎり".into(),
                        category: Category::Food,
                        unit_price: Yen::new(150),
                        quantity: 2,
                    }],
                    shipping_address: String::new(),
                    device_id: "pos-7".into(),
                    ip: String::new(),
                    tax_rates: Vec::new(),
                },
                session: SessionKeys {
                    device: Some(kh(0x62)),
                    ip: None,
                },
            },
            idem.clone(),
            Some(Decision::Approve),
        ),
        (
            Command::FreezeCustomer {
                principal: Principal::Merchant(3),
                customer: 12,
                reason: "身に覚えのない請求".into(),
            },
            idem.clone(),
            None,
        ),
        (
            Command::UnfreezeCustomer {
                principal: Principal::Operator(1, Role::Admin),
                customer: 12,
            },
            idem.clone(),
            None,
        ),
        (
            Command::ResolveSignUpReview {
                principal: Principal::Operator(1, Role::Admin),
                customer: 12,
                approve: false,
            },
            idem.clone(),
            None,
        ),
        (
            Command::StartVerification {
                principal: Principal::Merchant(4),
                channel: atobarai_engine::ContactKind::Phone,
                target: kh(0x41),
                code: [0x41; 32],
                ip: Some(kh(0x42)),
            },
            idem.clone(),
            None,
        ),
        (
            Command::ConfirmVerification {
                principal: Principal::Merchant(4),
                verification: 7,
                code: [0x42; 32],
            },
            idem.clone(),
            None,
        ),
        (
            Command::ChangeContact {
                principal: Principal::Operator(1, Role::Admin),
                customer: 12,
                verification: 7,
            },
            idem.clone(),
            None,
        ),
    ];
    cmds.into_iter()
        .map(|(command, idem, decision)| (command.name(), Envelope { at, idem, command }, decision))
        .collect()
}

// ----- golden records ------------------------------------------------------

/// The golden directories and the version each one's records must report.
const GOLDEN_VERSIONS: &[(&str, u8)] = &[("legacy", record::LEGACY), ("v1", 1), ("v2", 2)];
/// The last command tag the legacy (unversioned) release knew: its golden
/// directory has no record of a later command.
const LEGACY_TAG_MAX: u16 = 21;

#[test]
fn the_samples_cover_every_command_tag_once() {
    let mut tags: Vec<u16> = samples().iter().map(|(_, e, _)| e.command.tag()).collect();
    tags.sort_unstable();
    assert_eq!(tags, (1..=43).collect::<Vec<u16>>());
}

/// Every golden record of every version decodes, forever, to the envelope
/// and decision the test builds from literals.
#[test]
fn golden_records_decode_forever() {
    for &(dir, version) in GOLDEN_VERSIONS {
        for (name, expected, decision) in samples() {
            if version == record::LEGACY && expected.command.tag() > LEGACY_TAG_MAX {
                continue;
            }
            let path = golden().join(dir).join(format!("{name}.bin"));
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            let decoded = record::decode(&bytes).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            assert_eq!(decoded.version, version, "{path:?}");
            assert_eq!(decoded.envelope, expected, "{path:?}");
            assert_eq!(decoded.decision, decision, "{path:?}");
            assert_eq!(
                Envelope::decode_record(&bytes).unwrap(),
                (expected, decision)
            );
        }
    }
}

/// The current encoder still writes the current version's golden bytes
/// exactly (the encoding of a version never drifts).
#[test]
fn the_current_encoder_writes_the_current_golden_bytes() {
    let dir = golden().join(format!("v{}", record::CURRENT));
    for (name, env, decision) in samples() {
        let golden = std::fs::read(dir.join(format!("{name}.bin"))).unwrap();
        assert_eq!(record::encode(&env, decision), golden, "{name}");
        assert_eq!(golden[0], record::MARKER);
        assert_eq!(golden[1], record::CURRENT);
        assert_eq!(
            u16::from_le_bytes([golden[2], golden[3]]),
            env.command.tag()
        );
    }
}

/// Records of a version's new fields that the shared samples (which every
/// version must decode alike) cannot show: version 2's stated tax rates.
fn samples_v2_only() -> Vec<(&'static str, Envelope, Option<Decision>)> {
    let (mut env, decision) = sample("authorize");
    if let Command::Authorize { input, .. } = &mut env.command {
        input.tax_rates = vec![Some(8), None];
    }
    vec![("authorize_stated_tax_rates", env, decision)]
}

/// An authorization stating a rate per line decodes from its frozen
/// version-2 bytes; the same order in a version-1 record states none.
#[test]
fn an_authorization_states_tax_rates_from_version_2() {
    for (name, env, decision) in samples_v2_only() {
        let bytes = std::fs::read(golden().join("v2").join(format!("{name}.bin"))).unwrap();
        let decoded = record::decode(&bytes).unwrap();
        assert_eq!(decoded.version, 2);
        assert_eq!(decoded.envelope, env);
        assert_eq!(decoded.decision, decision);
        assert_eq!(record::encode(&env, decision), bytes);
    }
    let v1 = std::fs::read(golden().join("v1/authorize.bin")).unwrap();
    let Command::Authorize { input, .. } = record::decode(&v1).unwrap().envelope.command else {
        panic!("an authorization");
    };
    assert!(input.tax_rates.is_empty());
}

/// Writes the golden records of the current version that do not exist yet.
/// Run it once when a new version is introduced; it never overwrites a
/// file (old versions are frozen forever).
#[test]
#[ignore = "writes golden files for a new format version"]
fn write_golden_records() {
    let dir = golden().join(format!("v{}", record::CURRENT));
    std::fs::create_dir_all(&dir).unwrap();
    let extra = if record::CURRENT == 2 {
        samples_v2_only()
    } else {
        Vec::new()
    };
    for (name, env, decision) in samples().into_iter().chain(extra) {
        let path = dir.join(format!("{name}.bin"));
        if !path.exists() {
            std::fs::write(path, record::encode(&env, decision)).unwrap();
        }
    }
}

/// Writes `snapshot/v<CURRENT>.bin` if it does not exist: the engine after
/// the legacy journal, in the current container and layout. Run it once
/// when a new snapshot version is introduced.
#[test]
#[ignore = "writes the golden snapshot of a new snapshot version"]
fn write_golden_snapshot() {
    let path = golden().join(format!("snapshot/v{}.bin", snapshot::CURRENT));
    if !path.exists() {
        std::fs::write(path, legacy_journal_with_gift_cards().snapshot()).unwrap();
    }
}

/// The state of snapshot version 5, then an issuer, an order of two gift
/// cards captured with their codes, one redeemed into wallet `w-1` and
/// revoked for resale: the state of snapshot version 6.
fn legacy_journal_with_gift_cards() -> Engine {
    let mut engine = legacy_journal_with_personal_data();
    let at = engine.now();
    let issuer = engine.stats().merchants as u32;
    let (_, Envelope { command, .. }, _) = samples()
        .into_iter()
        .find(|(name, ..)| *name == "authorize")
        .unwrap();
    let Command::Authorize {
        mut input, session, ..
    } = command
    else {
        unreachable!()
    };
    let (_, Envelope { command, .. }, _) = samples()
        .into_iter()
        .find(|(name, ..)| *name == "register_customer")
        .unwrap();
    let Command::RegisterCustomer {
        mut profile,
        payment_method,
        identity,
        ..
    } = command
    else {
        unreachable!()
    };
    profile.external_id = "golden-gift-buyer".into();
    input.customer = engine.stats().customers as u64;
    input.channel = Channel::Online;
    input.merchant_order_id = "golden-gift-1".into();
    input.items = vec![LineItem {
        sku: "GC-1000".into(),
        name: "gift card ¥1,000".into(),
        category: Category::GiftCard,
        unit_price: Yen::new(1_000),
        quantity: 2,
    }];
    let mut apply = |command| {
        engine
            .apply(&Envelope {
                at,
                idem: None,
                command,
            })
            .unwrap()
    };
    apply(Command::AddIssuerMerchant {
        name: "issuer".into(),
        key_id: "mk_golden_issuer".into(),
        secret_sha256: [0x61; 32],
    });
    apply(Command::RegisterCustomer {
        merchant: issuer,
        profile,
        payment_method,
        identity,
    });
    let Outcome::Order(order) = apply(Command::Authorize {
        merchant: issuer,
        input,
        session,
    })
    .outcome
    else {
        unreachable!()
    };
    assert_eq!(order.decision, Decision::Approve, "{order:?}");
    apply(Command::CaptureGiftCards {
        principal: Principal::Merchant(issuer),
        order: u64::from(order.order),
        amount: None,
        codes: vec![[0x71; 32], [0x72; 32]],
    });
    apply(Command::RedeemGiftCard {
        principal: Principal::Merchant(issuer),
        code: [0x71; 32],
        wallet: "w-1".into(),
    });
    apply(Command::RevokeGiftCards {
        principal: Principal::System,
        target: RevocationTarget::Code([0x71; 32]),
        reason: RevocationReason::Resale,
    });
    engine
}

/// The state of snapshot version 4, then a sealed registration (customer
/// 2) and the erasure of customer 0's clear profile: the state of snapshot
/// version 5.
fn legacy_journal_with_personal_data() -> Engine {
    let mut engine = legacy_journal_with_risk_rules();
    let at = engine.now();
    let (_, Envelope { command, .. }, _) = samples()
        .into_iter()
        .find(|(name, ..)| *name == "register_sealed_customer")
        .unwrap();
    let Command::RegisterSealedCustomer {
        profile,
        payment_method,
        identity,
        ..
    } = command
    else {
        unreachable!()
    };
    for command in [
        Command::RegisterSealedCustomer {
            merchant: 0,
            profile,
            payment_method,
            identity,
        },
        Command::EraseCustomerPii {
            principal: Principal::System,
            customer: 0,
        },
    ] {
        engine
            .apply(&Envelope {
                at,
                idem: None,
                command,
            })
            .unwrap();
    }
    engine
}

/// A small rule set the version-4 snapshot carries: one live flag and one
/// shadow review, both firing on the order below.
const GOLDEN_RULES: &str = r#"[set]
name = "golden"
version = 1
description = "Frozen with snapshot version 4."

[[rule]]
id = "any_gift_card"
version = 2
description = "Flags every gift card."
when = 'cart.gift_card_yen > 0'
action = "flag"
reason = "gift_card_in_cart"
text_ja = "ギフトカードを含むご注文です。"
text_en = "The cart holds a gift card."

[[rule]]
id = "padded_gift_card"
version = 1
description = "Shadow: gift cards among ordinary goods."
when = 'cart.padded && cart.lines >= 2'
action = "review"
reason = "padded_gift_card"
text_ja = "ギフトカードが日用品と一緒に注文されています。"
text_en = "A gift card among ordinary goods."
mode = "shadow"
"#;

/// The legacy journal, then a rule set and one order it decides (customer
/// 1, who owes nothing overdue): the state of snapshot version 4.
fn legacy_journal_with_risk_rules() -> Engine {
    let mut engine = replay_legacy_journal();
    let at = engine.now();
    engine
        .apply(&Envelope {
            at,
            idem: None,
            command: Command::SetRiskRules {
                source: GOLDEN_RULES.into(),
                author: "golden".into(),
            },
        })
        .unwrap();
    let (_, Envelope { command, .. }, _) = samples()
        .into_iter()
        .find(|(name, ..)| *name == "authorize")
        .unwrap();
    let Command::Authorize {
        mut input, session, ..
    } = command
    else {
        unreachable!()
    };
    input.customer = 1;
    input.channel = Channel::Online;
    input.merchant_order_id = "golden-risk-1".into();
    let applied = engine
        .apply(&Envelope {
            at,
            idem: None,
            command: Command::Authorize {
                merchant: 0,
                input,
                session,
            },
        })
        .unwrap();
    let Outcome::Order(o) = applied.outcome else {
        unreachable!()
    };
    assert_eq!(o.decision, Decision::Approve);
    let risk = o.risk.expect("the rules fired");
    assert_eq!(risk.fired.len(), 2);
    engine
}

// ----- the legacy marker proof -----------------------------------------------

#[test]
fn a_legacy_record_never_starts_with_the_marker() {
    // Boundaries of the zigzag varint's first byte, then the proptest below.
    for ms in [0, 1, 63, 64, 65, 127, 128, i64::MAX / 2, i64::MAX] {
        let first = postcard::to_stdvec(&At::from_unix_ms(ms)).unwrap()[0];
        assert_eq!(first % 2, 0, "{ms}");
        assert_ne!(first, record::MARKER);
    }
    // Only a time before 1970 could produce it.
    assert_eq!(
        postcard::to_stdvec(&At::from_unix_ms(-22)).unwrap()[0],
        0x2B
    );
    assert_eq!(
        postcard::to_stdvec(&At::from_unix_ms(-86)).unwrap()[0],
        record::MARKER
    );
    for (name, env, _) in samples() {
        if env.command.tag() > LEGACY_TAG_MAX {
            continue;
        }
        let legacy = std::fs::read(golden().join("legacy").join(format!("{name}.bin"))).unwrap();
        assert_ne!(legacy[0], record::MARKER, "{name}");
    }
    for legacy in legacy_journal() {
        assert_ne!(legacy[0], record::MARKER);
    }
}

// ----- explicit refusals -----------------------------------------------------

fn sample(name: &str) -> (Envelope, Option<Decision>) {
    samples()
        .into_iter()
        .find(|(n, ..)| *n == name)
        .map(|(_, e, d)| (e, d))
        .unwrap()
}

/// Splits a v1 record into header, envelope section, body section and
/// trailers (test-side re-implementation of the layout).
fn parts(bytes: &[u8]) -> (&[u8], &[u8], &[u8], &[u8]) {
    fn section(b: &[u8]) -> (&[u8], &[u8]) {
        let (len, n) = if b[0] < 0x80 {
            (b[0] as usize, 1)
        } else {
            ((b[0] & 0x7F) as usize | (b[1] as usize) << 7, 2)
        };
        b.split_at(n + len)
    }
    let (header, rest) = bytes.split_at(4);
    let (envelope, rest) = section(rest);
    let (body, trailers) = section(rest);
    (header, envelope, body, trailers)
}

#[test]
fn an_appended_field_is_refused_not_misread() {
    // What the issue describes: a longer body (an appended field) must not
    // decode as the old command, and the trailer must not be eaten by it.
    let (env, decision) = sample("authorize");
    let bytes = record::encode(&env, decision);
    let (header, envelope, body, trailers) = parts(&bytes);
    assert_eq!(
        trailers,
        &[0x01, 0x01, 0x02][..],
        "decision trailer: review"
    );
    let mut longer = body[1..].to_vec();
    longer.push(0x00);
    let mut forged = [header, envelope].concat();
    forged.push(longer.len() as u8);
    forged.extend_from_slice(&longer);
    forged.extend_from_slice(trailers);
    assert_eq!(
        record::decode(&forged),
        Err(FormatError::TrailingBytes("body"))
    );
}

#[test]
fn malformed_records_are_refused_with_a_reason() {
    let (env, decision) = sample("authorize");
    let good = record::encode(&env, decision);
    let (header, envelope, body, _) = parts(&good);
    let with = |trailers: &[u8]| [header, envelope, body, trailers].concat();

    let mut newer = good.clone();
    newer[1] = record::CURRENT + 1;
    assert_eq!(
        record::decode(&newer),
        Err(FormatError::UnknownRecordVersion(record::CURRENT + 1))
    );
    let mut unknown = good.clone();
    unknown[2] = 0xEE;
    assert_eq!(
        record::decode(&unknown),
        Err(FormatError::UnknownCommandTag(0xEE))
    );
    assert_eq!(
        record::decode(&[record::MARKER]),
        Err(FormatError::Truncated("header"))
    );
    assert_eq!(
        record::decode(&good[..good.len() - 1]),
        Err(FormatError::Truncated("trailer"))
    );
    // Decision byte out of range.
    assert_eq!(
        record::decode(&with(&[0x01, 0x01, 0x09])),
        Err(FormatError::BadTrailer { tag: 0x01 })
    );
    // Repeated trailer.
    assert_eq!(
        record::decode(&with(&[0x01, 0x01, 0x00, 0x01, 0x01, 0x00])),
        Err(FormatError::TrailerOrder(0x01))
    );
    // Unknown must-understand trailer.
    assert_eq!(
        record::decode(&with(&[0x01, 0x01, 0x00, 0x02, 0x00])),
        Err(FormatError::UnknownTrailer(0x02))
    );
    // Unknown optional trailer: skipped, the decision still read.
    let skipped = record::decode(&with(&[0x01, 0x01, 0x01, 0x90, 0x02, 0xAA, 0xBB])).unwrap();
    assert_eq!(skipped.decision, Some(Decision::Decline));
    assert_eq!(skipped.envelope, env);
    // A decision on anything but an authorization.
    let (capture, _) = sample("capture");
    let mut on_capture = record::encode(&capture, None);
    on_capture.extend_from_slice(&[0x01, 0x01, 0x00]);
    assert_eq!(
        record::decode(&on_capture),
        Err(FormatError::TrailerNotAllowed {
            tag: 0x01,
            command: "capture"
        })
    );
    // Legacy: a damaged trailer, and trailing garbage.
    let legacy = std::fs::read(golden().join("legacy/authorize.bin")).unwrap();
    let mut bad = legacy.clone();
    *bad.last_mut().unwrap() = 9;
    assert_eq!(record::decode(&bad), Err(FormatError::LegacyTrailer));
    let mut longer = legacy.clone();
    longer.push(0);
    assert_eq!(record::decode(&longer), Err(FormatError::LegacyTrailer));
    assert!(matches!(record::decode(&[]), Err(FormatError::Legacy(_))));
}

// ----- round trip and fuzz ---------------------------------------------------

/// A command of the variant of sample `i` (modulo the samples) built from
/// a few random values.
fn build(i: u16, n: u64, m: u32, s: String, flag: bool) -> Command {
    let mut all = samples();
    let len = all.len();
    let (_, env, _) = all.swap_remove(usize::from(i) % len);
    let principal = if flag {
        Principal::Merchant(m)
    } else {
        Principal::Operator(m, Role::Analyst)
    };
    let yen = Yen::new(n as i64 % 1_000_000_000);
    match env.command {
        Command::AddMerchant { .. } => Command::AddMerchant {
            name: s.clone(),
            key_id: s,
            secret_sha256: [m as u8; 32],
        },
        Command::AddOperator { .. } => Command::AddOperator {
            name: s.clone(),
            role: if flag { Role::Admin } else { Role::Payments },
            key_id: s,
            secret_sha256: [n as u8; 32],
        },
        Command::RegisterCustomer {
            mut profile,
            identity,
            ..
        } => {
            profile.external_id = s;
            Command::RegisterCustomer {
                merchant: m,
                profile,
                payment_method: if flag {
                    PaymentMethod::ConvenienceStore
                } else {
                    PaymentMethod::BankDebit
                },
                identity,
            }
        }
        Command::Authorize {
            mut input,
            mut session,
            ..
        } => {
            input.customer = n;
            input.merchant_order_id = s;
            if flag {
                input.items.truncate(1);
                session.ip = Some(KeyHash([m as u8; 16]));
            }
            Command::Authorize {
                merchant: m,
                input,
                session,
            }
        }
        Command::Capture { .. } => Command::Capture {
            principal,
            order: n,
            amount: flag.then_some(yen),
        },
        Command::Cancel { .. } => Command::Cancel {
            principal,
            order: n,
        },
        Command::Refund { .. } => Command::Refund {
            principal,
            order: n,
            amount: yen,
        },
        Command::RecordPayment { .. } => Command::RecordPayment {
            principal,
            input: PaymentInput {
                customer: n,
                amount: yen,
                channel: "bank".into(),
                reference: s,
            },
        },
        Command::SetPaymentMethod { .. } => Command::SetPaymentMethod {
            principal,
            customer: n,
            payment_method: PaymentMethod::PaperBill,
        },
        Command::AdvanceClock { .. } => Command::AdvanceClock {
            to: At::from_unix_ms(n as i64),
        },
        Command::AddSuspension { mut input } => {
            input.merchant = flag.then_some(m);
            input.until = None;
            Command::AddSuspension { input }
        }
        Command::LiftSuspension { .. } => Command::LiftSuspension { suspension: n },
        Command::ResolveReview { .. } => Command::ResolveReview {
            order: n,
            verdict: if flag {
                ReviewVerdict::Approve
            } else {
                ReviewVerdict::Decline
            },
        },
        Command::RedeemPoints { .. } => Command::RedeemPoints {
            principal,
            customer: n,
            points: -(m as i64),
        },
        Command::ReversePayment { .. } => Command::ReversePayment {
            principal,
            payment: n,
            reason: s,
        },
        Command::SetMembership { .. } => Command::SetMembership {
            principal,
            customer: n,
            paid: flag,
        },
        Command::AgreePaymentPlan { .. } => Command::AgreePaymentPlan {
            principal,
            customer: n,
            instalments: m,
        },
        Command::AddWebhookEndpoint { .. } => Command::AddWebhookEndpoint {
            url: s,
            key_nonce: [m as u8; 16],
            events: EventKind::ALL[..(n % 7) as usize].to_vec(),
        },
        Command::RemoveWebhookEndpoint { .. } => Command::RemoveWebhookEndpoint { endpoint: n },
        Command::WebhooksDelivered { .. } => Command::WebhooksDelivered {
            endpoint: n,
            through: u64::from(m),
            failed: (0..m % 5).map(u64::from).collect(),
        },
        Command::SetRules { mut rules } => {
            rules.credit.age_years_min = m as i32;
            Command::SetRules { rules }
        }
        Command::SetRiskRules { .. } => Command::SetRiskRules {
            source: s.repeat((n % 4) as usize),
            author: m.to_string(),
        },
        Command::SetModel { .. } => Command::SetModel {
            source: s.repeat((n % 3) as usize),
            shadow: flag,
            author: m.to_string(),
        },
        Command::RegisterSealedCustomer {
            mut profile,
            identity,
            ..
        } => {
            profile.external_id = s.clone();
            profile.pii.subject = [m as u8; 16];
            profile.pii.ciphertext = s.into_bytes();
            Command::RegisterSealedCustomer {
                merchant: m,
                profile,
                payment_method: PaymentMethod::ConvenienceStore,
                identity,
            }
        }
        Command::EraseCustomerPii { .. } => Command::EraseCustomerPii {
            principal,
            customer: n,
        },
        Command::AddIssuerMerchant { .. } => Command::AddIssuerMerchant {
            name: s.clone(),
            key_id: s,
            secret_sha256: [m as u8; 32],
        },
        Command::CaptureGiftCards { .. } => Command::CaptureGiftCards {
            principal,
            order: n,
            amount: flag.then_some(yen),
            codes: (0..m % 5).map(|i| [i as u8; 32]).collect(),
        },
        Command::RedeemGiftCard { .. } => Command::RedeemGiftCard {
            principal,
            code: [n as u8; 32],
            wallet: s,
        },
        Command::RevokeGiftCards { .. } => Command::RevokeGiftCards {
            principal,
            target: match n % 3 {
                0 => RevocationTarget::Code([m as u8; 32]),
                1 => RevocationTarget::Order(u64::from(m)),
                _ => RevocationTarget::Cards((0..m % 7).map(u64::from).collect()),
            },
            reason: if flag {
                RevocationReason::Fraud
            } else {
                RevocationReason::TermsBreach
            },
        },
        Command::AppealGiftCard { .. } => Command::AppealGiftCard {
            principal,
            wallet: s.clone(),
            card: n,
            evidence: s,
        },
        Command::DecideGiftCardAppeal { .. } => Command::DecideGiftCardAppeal {
            principal,
            appeal: n,
            reinstate: flag,
            note: s,
        },
        Command::SpendWallet { .. } => Command::SpendWallet {
            principal,
            wallet: s.clone(),
            amount: yen,
            reference: s,
        },
        Command::SetTerms { .. } => {
            let mut terms = atobarai_core::lifecycle::Terms::default();
            terms.lifecycle.payment_code_ttl_secs = (n % 3_600) as i64;
            terms.lifecycle.ekyc_required_for_in_store = flag;
            Command::SetTerms {
                terms: Box::new(terms),
            }
        }
        Command::SignUp {
            registration,
            identity,
            mut signup,
            ..
        } => {
            signup.verification = flag.then_some(n);
            Command::SignUp {
                merchant: m,
                registration,
                payment_method: PaymentMethod::PaperBill,
                identity,
                signup,
            }
        }
        Command::RecordEkyc { mut result, .. } => {
            result.reason = Some(s);
            result.address_matched = flag;
            Command::RecordEkyc {
                principal,
                customer: n,
                result,
            }
        }
        Command::IssuePaymentCode { .. } => Command::IssuePaymentCode {
            principal,
            customer: n,
            code: [m as u8; 32],
            ceiling: flag.then_some(yen),
        },
        Command::AuthorizeWithCode {
            mut input, session, ..
        } => {
            input.merchant_order_id = s;
            Command::AuthorizeWithCode {
                merchant: m,
                code: [n as u8; 32],
                input,
                session,
            }
        }
        Command::FreezeCustomer { .. } => Command::FreezeCustomer {
            principal,
            customer: n,
            reason: s,
        },
        Command::UnfreezeCustomer { .. } => Command::UnfreezeCustomer {
            principal,
            customer: n,
        },
        Command::ResolveSignUpReview { .. } => Command::ResolveSignUpReview {
            principal,
            customer: n,
            approve: flag,
        },
        Command::StartVerification { channel, .. } => Command::StartVerification {
            principal,
            channel,
            target: KeyHash([m as u8; 16]),
            code: [n as u8; 32],
            ip: flag.then_some(KeyHash([n as u8; 16])),
        },
        Command::ConfirmVerification { .. } => Command::ConfirmVerification {
            principal,
            verification: n,
            code: [m as u8; 32],
        },
        Command::ChangeContact { .. } => Command::ChangeContact {
            principal,
            customer: n,
            verification: u64::from(m),
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn records_round_trip(
        i in 0..64u16,
        n in any::<u64>(),
        m in any::<u32>(),
        s in "[a-zA-Z0-9ぁ-ん]{0,40}",
        flag in any::<bool>(),
        at in any::<i64>(),
        key in proptest::option::of("[ -~]{0,64}"),
        decision in 0..4u8,
    ) {
        let command = build(i, n, m, s, flag);
        let decision = match (&command, decision) {
            (Command::Authorize { .. }, 0) => Some(Decision::Approve),
            (Command::Authorize { .. }, 1) => Some(Decision::Decline),
            (Command::Authorize { .. }, 2) => Some(Decision::Review),
            _ => None,
        };
        let env = Envelope {
            at: At::from_unix_ms(at),
            idem: key.map(|key| Idem {
                principal: Principal::Merchant(m),
                key,
                request_hash: command.fingerprint(),
            }),
            command,
        };
        let bytes = record::encode(&env, decision);
        prop_assert_eq!(bytes[0], record::MARKER);
        prop_assert_eq!(
            record::decode(&bytes),
            Ok(DecodedRecord { version: record::CURRENT, envelope: env.clone(), decision })
        );
        prop_assert_eq!(Envelope::decode(&env.encode()), Ok(env));
    }

    /// The marker proof: a legacy record's first byte (the first byte of
    /// postcard(at)) is even for every `at ≥ 0`; the marker is odd.
    #[test]
    fn a_non_negative_time_never_encodes_to_the_marker(ms in 0..=i64::MAX) {
        let first = postcard::to_stdvec(&At::from_unix_ms(ms)).unwrap()[0];
        prop_assert_eq!(first % 2, 0);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = record::decode(&bytes);
        let mut marked = vec![record::MARKER, record::CURRENT];
        marked.extend_from_slice(&bytes);
        let _ = record::decode(&marked);
        let _ = snapshot::open(&bytes);
        let _ = snapshot::ChunkIndex::decode(&bytes);
        let mut snap = b"ATBSNAP3".to_vec();
        snap.extend_from_slice(&bytes);
        let _ = snapshot::open(&snap);
    }

    /// Golden records with a byte changed, cut short or extended: an error
    /// or some envelope, never a panic.
    #[test]
    fn damaged_records_never_panic(
        which in 0..23usize,
        legacy in any::<bool>(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let (name, env, _) = samples().swap_remove(which);
        let legacy = legacy && env.command.tag() <= LEGACY_TAG_MAX;
        let dir = if legacy { "legacy" } else { "v2" };
        let mut bytes = std::fs::read(golden().join(dir).join(format!("{name}.bin"))).unwrap();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        let _ = record::decode(&bytes);
        let _ = record::decode(&bytes[..cut.index(bytes.len())]);
        bytes.push(byte);
        let _ = record::decode(&bytes);
    }

    #[test]
    fn snapshots_round_trip(body in proptest::collection::vec(any::<u8>(), 0..2048), chunk in 1..300usize) {
        let snap = snapshot::encode(&body);
        prop_assert_eq!(snapshot::decode(&snap), Ok((snapshot::CURRENT, &body[..])));
        let opened = snapshot::open(&snap).unwrap();
        prop_assert_eq!(opened.as_ref(), &body[..]);
        let (index, chunks) = snapshot::split(&snap, chunk);
        prop_assert!(chunks.iter().all(|c| c.len() <= chunk));
        let index = snapshot::ChunkIndex::decode(&index.encode()).unwrap();
        prop_assert_eq!(snapshot::join(&index, &chunks).unwrap(), snap);
    }
}

// ----- snapshots ---------------------------------------------------------------

/// The version-2 snapshot committed from main (the engine after the legacy
/// journal) is recognised as too old to upgrade — the state layout changed
/// with version 3 and no step was written — so the node replays instead
/// (never "corrupt"); the committed version-3 snapshot of the same history
/// restores to the state a replay reaches.
#[test]
fn a_version_2_snapshot_is_too_old_and_version_3_upgrades() {
    let v2 = std::fs::read(golden().join("snapshot/v2.bin")).unwrap();
    let (version, body) = snapshot::decode(&v2).unwrap();
    assert_eq!(version, 2);
    assert_eq!(&v2[..8], b"ATBSNAP2");
    assert_eq!(
        snapshot::upgrade(2, body.to_vec()),
        Err(FormatError::SnapshotTooOld(2))
    );
    let refused = Engine::restore(Default::default(), &v2).err().unwrap();
    assert_eq!(refused.code, "snapshot_format_old");

    let v3 = std::fs::read(golden().join("snapshot/v3.bin")).unwrap();
    assert_eq!(&v3[..8], b"ATBSNAP3");
    let engine = Engine::restore(Default::default(), &v3).unwrap();
    assert_eq!(engine.applied(), legacy_journal().len() as u64);
    check_journal_outcomes(&engine);
    assert_eq!(engine.digest(), replay_legacy_journal().digest());
}

/// The version-4 snapshot keeps a rule set and a decision record: restored,
/// the order shows the rules that fired with the values they read, and the
/// state is the one the same commands reach today.
#[test]
fn a_version_4_snapshot_restores_its_rule_sets_and_records() {
    let v4 = std::fs::read(golden().join("snapshot/v4.bin")).unwrap();
    assert_eq!(&v4[..8], b"ATBSNAP4");
    let engine = Engine::restore(Default::default(), &v4).unwrap();
    check_journal_outcomes(&engine);
    assert_eq!(engine.digest(), legacy_journal_with_risk_rules().digest());
    let sets = engine.risk_rule_sets();
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0].name, "golden");
    assert_eq!(
        (sets[0].rules[0].hits_live, sets[0].rules[1].hits_shadow),
        (1, 1)
    );
    let last = engine.stats().orders as u64 - 1;
    let o = engine
        .order(Principal::System, &atobarai_core::ids::encode("ord", last))
        .unwrap();
    let risk = o.risk.unwrap();
    assert_eq!(risk.rule_set, 1);
    assert_eq!(risk.fired[0].id, "any_gift_card");
    assert_eq!(
        risk.fired[0].features,
        vec![(
            "cart.gift_card_yen".to_owned(),
            atobarai_engine::risk::book::RecordedValue::Int(5_000)
        )]
    );
    assert!(risk.fired[1].shadow);
    assert!(risk.reasons.is_empty(), "a flag gives no reason");
}

/// The version-5 snapshot keeps sealed personal data as ciphertext and
/// an erasure: restored, customer 2 is sealed (the engine holds its
/// ciphertext, not its name), customer 0 is erased with its money history
/// unchanged, and the state is the one the same commands reach today. The
/// version-4 snapshot upgrades to version 5 with every profile clear.
#[test]
fn a_version_5_snapshot_restores_sealed_and_erased_personal_data() {
    let v5 = std::fs::read(golden().join("snapshot/v5.bin")).unwrap();
    assert_eq!(&v5[..8], b"ATBSNAP5");
    let engine = Engine::restore(Default::default(), &v5).unwrap();
    check_journal_outcomes(&engine);
    assert_eq!(
        engine.digest(),
        legacy_journal_with_personal_data().digest()
    );
    let cus = |n| atobarai_core::ids::encode("cus", n);
    match engine.personal_data(Principal::System, &cus(2)).unwrap() {
        PersonalData::Sealed {
            external_id, pii, ..
        } => {
            assert_eq!(external_id, "c-43");
            assert_eq!(pii.subject, [0x21; 16]);
            assert_eq!(pii.ciphertext, [0x23, 0x24, 0x25, 0x26]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        engine
            .personal_data(Principal::System, &cus(0))
            .unwrap()
            .state(),
        "erased"
    );
    assert_eq!(
        engine
            .personal_data(Principal::System, &cus(1))
            .unwrap()
            .state(),
        "clear"
    );

    let v4 = std::fs::read(golden().join("snapshot/v4.bin")).unwrap();
    let upgraded = snapshot::open(&v4).unwrap();
    let v4_body = snapshot::decode(&v4).unwrap().1;
    assert_eq!(
        upgraded.len(),
        v4_body.len()
            + 1
            + snapshot::EMPTY_GIFT_CARD_BOOK_V6.len()
            + snapshot::EMPTY_LIFECYCLE_BOOK_V7.len()
            + snapshot::EMPTY_DOCUMENT_BOOK_V8.len(),
        "empty books appended"
    );
    let engine = Engine::restore(Default::default(), &v4).unwrap();
    for n in 0..2 {
        assert_eq!(
            engine
                .personal_data(Principal::System, &cus(n))
                .unwrap()
                .state(),
            "clear"
        );
    }
}

/// The version-6 snapshot keeps the gift-card book: restored, the
/// revoked card took its ¥1,000 back from wallet `w-1` (balance zero, two
/// entries), the other card still redeems, and the state is the one the same
/// commands reach today. The version-5 snapshot upgrades with an empty book.
#[test]
fn a_version_6_snapshot_restores_gift_cards_and_wallets() {
    let v6 = std::fs::read(golden().join("snapshot/v6.bin")).unwrap();
    assert_eq!(&v6[..8], b"ATBSNAP6");
    let mut engine = Engine::restore(Default::default(), &v6).unwrap();
    check_journal_outcomes(&engine);
    assert_eq!(engine.digest(), legacy_journal_with_gift_cards().digest());
    let w = engine.wallet(Principal::System, "w-1").unwrap();
    assert_eq!(w.balance, Yen::ZERO);
    assert_eq!(w.entries.len(), 2);
    let issuer = (engine.stats().merchants - 1) as u32;
    assert!(engine.is_gift_card_issuer(issuer));
    let redeemed = engine
        .apply(&Envelope {
            at: engine.now(),
            idem: None,
            command: Command::RedeemGiftCard {
                principal: Principal::Merchant(issuer),
                code: [0x72; 32],
                wallet: "w-1".into(),
            },
        })
        .unwrap();
    assert_eq!(
        redeemed.outcome,
        Outcome::WalletBalance {
            wallet: "w-1".into(),
            balance: Yen::new(1_000)
        }
    );

    let v5 = std::fs::read(golden().join("snapshot/v5.bin")).unwrap();
    let upgraded = snapshot::open(&v5).unwrap();
    let v5_body = snapshot::decode(&v5).unwrap().1;
    let gift_cards_end = v5_body.len() + snapshot::EMPTY_GIFT_CARD_BOOK_V6.len();
    assert_eq!(
        &upgraded[v5_body.len()..gift_cards_end],
        snapshot::EMPTY_GIFT_CARD_BOOK_V6
    );
    let lifecycle_end = gift_cards_end + snapshot::EMPTY_LIFECYCLE_BOOK_V7.len();
    assert_eq!(
        &upgraded[gift_cards_end..lifecycle_end],
        snapshot::EMPTY_LIFECYCLE_BOOK_V7
    );
    assert_eq!(&upgraded[lifecycle_end..], snapshot::EMPTY_DOCUMENT_BOOK_V8);
    let engine = Engine::restore(Default::default(), &v5).unwrap();
    assert_eq!(engine.gift_cards_issued(), 0);
    assert!(engine.wallet(Principal::System, "w-1").is_err());
}

/// The version-8 snapshot (the state of v6 in the layout with the
/// document book) restores to the state the same commands reach today.
#[test]
fn a_version_8_snapshot_restores() {
    let v8 = std::fs::read(golden().join("snapshot/v8.bin")).unwrap();
    assert_eq!(&v8[..8], b"ATBSNAP8");
    let engine = Engine::restore(Default::default(), &v8).unwrap();
    check_journal_outcomes(&engine);
    assert_eq!(engine.digest(), legacy_journal_with_gift_cards().digest());
}

#[test]
fn an_engine_snapshot_survives_the_container() {
    let engine = replay_legacy_journal();
    let (bytes, digest) = engine.snapshot_with_digest();
    assert_eq!(digest, engine.digest());
    let body = snapshot::open(&bytes).unwrap().into_owned();
    let again = snapshot::encode(&body);
    assert_eq!(again, bytes);
    assert_eq!(
        Engine::restore(Default::default(), &bytes)
            .unwrap()
            .digest(),
        engine.digest()
    );
}

#[test]
fn damaged_or_unknown_snapshots_are_refused() {
    let snap = snapshot::encode(b"state");
    let mut flipped = snap.clone();
    *flipped.last_mut().unwrap() ^= 1;
    assert_eq!(snapshot::open(&flipped), Err(FormatError::SnapshotChecksum));
    assert_eq!(
        snapshot::open(&snap[..snap.len() - 1]),
        Err(FormatError::SnapshotLength)
    );
    assert_eq!(
        snapshot::open(&snap[..20]),
        Err(FormatError::SnapshotLength)
    );
    assert_eq!(snapshot::open(b"NOTASNAP"), Err(FormatError::NotASnapshot));
    assert_eq!(snapshot::open(b"ATBSNAP"), Err(FormatError::NotASnapshot));
    for (bytes, err) in [
        (&b"ATBSNAP1xx"[..], FormatError::SnapshotTooOld(1)),
        (&b"ATBSNAP\x00"[..], FormatError::SnapshotTooOld(0)),
        (&b"ATBSNAP9xx"[..], FormatError::SnapshotTooNew(9)),
    ] {
        let e = snapshot::open(bytes).unwrap_err();
        assert!(e.is_snapshot_version());
        assert_eq!(e, err);
    }
    assert!(!FormatError::SnapshotChecksum.is_snapshot_version());
    assert_eq!(
        snapshot::upgrade(snapshot::CURRENT, Vec::new()),
        Err(FormatError::SnapshotTooNew(snapshot::CURRENT))
    );
}

#[test]
fn chunks_join_back_only_when_complete_and_intact() {
    let snap = snapshot::encode(&(0..1000u32).map(|i| i as u8).collect::<Vec<_>>());
    let (index, chunks) = snapshot::split(&snap, 100);
    assert_eq!(chunks.len(), snap.len().div_ceil(100));
    assert_eq!(index.total_len, snap.len() as u64);
    let encoded = index.encode();
    assert_eq!(&encoded[..8], b"ATBSIDX1");
    assert_eq!(snapshot::ChunkIndex::decode(&encoded).unwrap(), index);
    assert_eq!(snapshot::join(&index, &chunks).unwrap(), snap);

    let mut owned: Vec<Vec<u8>> = chunks.iter().map(|c| c.to_vec()).collect();
    owned[3][7] ^= 0x40;
    assert_eq!(snapshot::join(&index, &owned), Err(FormatError::Chunk(3)));
    assert!(snapshot::join(&index, &chunks[..chunks.len() - 1]).is_err());
    let mut swapped = chunks.clone();
    swapped.swap(0, 1);
    assert_eq!(snapshot::join(&index, &swapped), Err(FormatError::Chunk(0)));
    let mut forged = index.clone();
    forged.total_len = u64::MAX;
    assert!(snapshot::join(&forged, &chunks).is_err());
    assert!(snapshot::ChunkIndex::decode(&encoded[..encoded.len() - 1]).is_err());
    let mut zero = encoded.clone();
    zero[16..24].copy_from_slice(&0u64.to_le_bytes());
    assert!(snapshot::ChunkIndex::decode(&zero).is_err());

    // The cap: never more than 256 MiB per chunk.
    let (index, chunks) = snapshot::split(&snap, usize::MAX);
    assert_eq!(index.chunk_len, snapshot::CHUNK_MAX as u64);
    assert_eq!(chunks.len(), 1);
    assert_eq!(snapshot::CHUNK_MAX, 256 * 1024 * 1024);
}

// ----- the legacy journal ------------------------------------------------------

/// The records of a journal as main's node wrote it: the configured rules
/// first (`golden/legacy/set_rules.bin`: the node journals them when it
/// opens a fresh store), then `golden/legacy/journal.bin` (u32 LE length +
/// record each).
fn legacy_journal() -> Vec<Vec<u8>> {
    let bytes = std::fs::read(golden().join("legacy/journal.bin")).unwrap();
    let mut rest = &bytes[..];
    let mut out = vec![std::fs::read(golden().join("legacy/set_rules.bin")).unwrap()];
    while !rest.is_empty() {
        let (len, tail) = rest.split_at(4);
        let len = u32::from_le_bytes(len.try_into().unwrap()) as usize;
        let (record, tail) = tail.split_at(len);
        out.push(record.to_vec());
        rest = tail;
    }
    out
}

/// Replay it as the node does: decode, apply, compare recorded decisions.
fn replay_legacy_journal() -> Engine {
    let mut engine = Engine::new(Default::default());
    for (seq, bytes) in legacy_journal().iter().enumerate() {
        let (env, recorded) = Envelope::decode_record(bytes).unwrap();
        let applied = engine
            .apply(&env)
            .unwrap_or_else(|e| panic!("record {}: {e:?}", seq + 1));
        assert!(applied.changed);
        assert_eq!(engine.applied(), seq as u64 + 1);
        if let Outcome::Order(o) = &applied.outcome
            && matches!(env.command, Command::Authorize { .. })
        {
            assert_eq!(recorded, Some(o.decision), "record {}", seq + 1);
        } else {
            assert_eq!(recorded, None);
        }
    }
    engine.check_invariants().unwrap();
    engine
}

/// What the legacy journal leaves behind (the same under full replay and
/// under the committed snapshot).
fn check_journal_outcomes(engine: &Engine) {
    let ord = |n| atobarai_core::ids::encode("ord", n);
    let cus = |n| atobarai_core::ids::encode("cus", n);
    // Customer 0: a per-order invoice of ¥3,000 due 16 June, paid on the
    // 20th; the four days' delay damages were paid first.
    let o0 = engine.order(Principal::System, &ord(0)).unwrap();
    assert_eq!(o0.status.as_str(), "captured");
    assert_eq!(o0.captured, Yen::new(3_000));
    assert_eq!(o0.paid, Yen::new(2_996));
    let b0 = engine.balance(Principal::System, &cus(0)).unwrap();
    assert_eq!(b0.total, Yen::new(4));
    assert!(b0.overdue);
    // Customer 1: ¥5,000 on the monthly product, closed into the July
    // statement with its ¥209 convenience-store fee; ¥5,000 paid.
    let o1 = engine.order(Principal::System, &ord(1)).unwrap();
    assert_eq!(o1.status.as_str(), "captured");
    assert_eq!(o1.paid, Yen::new(4_791));
    let b1 = engine.balance(Principal::System, &cus(1)).unwrap();
    assert_eq!(b1.total, Yen::new(209));
    assert!(!b1.overdue);
    assert_eq!(
        engine.now(),
        At::parse_rfc3339("2026-07-05T15:00:00+09:00").unwrap()
    );
}

/// A journal written by the last unversioned release replays under this
/// code: every record decodes (decisions included) and applies.
#[test]
fn a_legacy_journal_replays() {
    let records = legacy_journal();
    assert_eq!(records.len(), 15);
    let names: Vec<&str> = records
        .iter()
        .map(|r| {
            let d = record::decode(r).unwrap();
            assert_eq!(d.version, record::LEGACY);
            d.envelope.command.name()
        })
        .collect();
    assert_eq!(
        names,
        [
            "set_rules",
            "add_merchant",
            "add_operator",
            "register_customer",
            "register_customer",
            "authorize",
            "advance_clock",
            "capture",
            "authorize",
            "capture",
            "advance_clock",
            "record_payment",
            "advance_clock",
            "advance_clock",
            "record_payment",
        ]
    );
    let engine = replay_legacy_journal();
    check_journal_outcomes(&engine);
    // The same journal re-encoded in the current format replays to the
    // same state.
    let mut again = Engine::new(Default::default());
    for r in &records {
        let (env, decision) = Envelope::decode_record(r).unwrap();
        let current = record::encode(&env, decision);
        again
            .apply(&Envelope::decode_record(&current).unwrap().0)
            .unwrap();
    }
    assert_eq!(again.digest(), engine.digest());
}
