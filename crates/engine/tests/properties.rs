//! Property tests over random command sequences:
//! - after every approve, exposure ≤ limit (the engine also asserts it);
//! - available ≤ limit for every customer after every command;
//! - running totals always equal totals recomputed from orders and payments;
//! - a failed command leaves the digest unchanged;
//! - replaying the journal of changing commands reproduces the digest, and so
//!   does restoring a snapshot taken midway then replaying the rest;
//! - with merchant 0 a gift-card issuer (most cases), gift cards are issued,
//!   redeemed, spent, revoked (any target and reason), voided by refunds,
//!   appealed and reinstated among the other commands, and the gift-card
//!   book's invariants hold (`check_invariants`).

mod common;
use atobarai_core::{Category, Channel, PaymentMethod, Product, Yen};
use atobarai_engine::{
    Command, Engine, Envelope, Idem, Principal, RevocationReason, RevocationTarget, Role,
};
use common::*;
use proptest::prelude::*;

const CUSTOMERS: u32 = 4;

#[derive(Clone, Debug)]
enum Op {
    Authorize {
        customer: u64,
        product: bool,
        in_store: bool,
        category: usize,
        price: i64,
        qty: i64,
    },
    Capture {
        order: u64,
        part: Option<i64>,
    },
    Cancel {
        order: u64,
    },
    Refund {
        order: u64,
        amount: i64,
    },
    Pay {
        customer: u64,
        amount: i64,
        reference: u8,
    },
    Method {
        customer: u64,
        bank: bool,
    },
    Advance {
        hours: i64,
    },
    Redeem {
        customer: u64,
        points: i64,
    },
    Reverse {
        payment: u64,
    },
    Member {
        customer: u64,
        paid: bool,
    },
    Plan {
        customer: u64,
        instalments: u32,
    },
    Hook {
        nonce: u8,
    },
    Ack {
        through: u64,
        failed: bool,
    },
    Rules {
        low: bool,
    },
    /// An operator erases a customer's personal data (money untouched).
    Erase {
        customer: u64,
    },
    /// A gift card (the `card`-th code issued) redeemed into a wallet.
    RedeemCard {
        card: u64,
        wallet: u8,
    },
    /// An operator revokes a card, an order's cards or a list of cards.
    RevokeCards {
        target: u8,
        n: u64,
        reason: u8,
    },
    /// A wallet holder appeals a card's revocation.
    AppealCard {
        card: u64,
        wallet: u8,
    },
    /// An operator decides an appeal.
    DecideAppeal {
        appeal: u64,
        reinstate: bool,
    },
    /// Capture one of the latest orders (issuing its gift cards, if any).
    CaptureRecent {
        back: u64,
    },
    /// A small order of gift cards with a daily-goods line.
    GiftOrder {
        customer: u64,
        price: i64,
        qty: i64,
    },
    /// The issuer records a purchase paid from a wallet.
    Spend {
        wallet: u8,
        amount: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        // Mostly small carts (approved, so there is something to capture,
        // refund, pay and reverse), some large ones (declines, holds).
        4 => (0..CUSTOMERS as u64 + 1, any::<bool>(), prop::bool::weighted(0.2), 0..11usize, prop_oneof![3 => 1..4_000i64, 1 => 1..30_000i64], 1..3i64)
            .prop_map(|(customer, product, in_store, category, price, qty)| Op::Authorize { customer, product, in_store, category, price, qty }),
        3 => (0..8u64, prop::option::of(1..8_000i64)).prop_map(|(order, part)| Op::Capture { order, part }),
        1 => (0..8u64).prop_map(|order| Op::Cancel { order }),
        2 => (0..8u64, 1..6_000i64).prop_map(|(order, amount)| Op::Refund { order, amount }),
        2 => (0..CUSTOMERS as u64, 1..40_000i64, 0..20u8).prop_map(|(customer, amount, reference)| Op::Pay { customer, amount, reference }),
        1 => (0..CUSTOMERS as u64, any::<bool>()).prop_map(|(customer, bank)| Op::Method { customer, bank }),
        1 => (0..24 * 20i64).prop_map(|hours| Op::Advance { hours }),
        1 => (0..CUSTOMERS as u64, 1..300i64).prop_map(|(customer, points)| Op::Redeem { customer, points }),
        1 => (0..12u64).prop_map(|payment| Op::Reverse { payment }),
        1 => (0..CUSTOMERS as u64, any::<bool>()).prop_map(|(customer, paid)| Op::Member { customer, paid }),
        1 => (0..CUSTOMERS as u64, 1..6u32).prop_map(|(customer, instalments)| Op::Plan { customer, instalments }),
        1 => (0..4u8).prop_map(|nonce| Op::Hook { nonce }),
        1 => (0..30u64, any::<bool>()).prop_map(|(through, failed)| Op::Ack { through, failed }),
        1 => any::<bool>().prop_map(|low| Op::Rules { low }),
        1 => (0..CUSTOMERS as u64).prop_map(|customer| Op::Erase { customer }),
        3 => (0..6u64, 0..3u8).prop_map(|(card, wallet)| Op::RedeemCard { card, wallet }),
        2 => (0..3u8, 0..6u64, 0..4u8).prop_map(|(target, n, reason)| Op::RevokeCards { target, n, reason }),
        1 => (0..6u64, 0..3u8).prop_map(|(card, wallet)| Op::AppealCard { card, wallet }),
        1 => (0..4u64, any::<bool>()).prop_map(|(appeal, reinstate)| Op::DecideAppeal { appeal, reinstate }),
        1 => (0..3u8, 1..6_000i64).prop_map(|(wallet, amount)| Op::Spend { wallet, amount }),
        3 => (0..3u64).prop_map(|back| Op::CaptureRecent { back }),
        3 => (0..CUSTOMERS as u64, 1..3_000i64, 1..4i64).prop_map(|(customer, price, qty)| Op::GiftOrder { customer, price, qty }),
    ]
}

fn command(op: &Op, e: &Engine) -> Command {
    let now = e.now();
    let wallet = |w: u8| format!("w-{w}");
    if let Op::CaptureRecent { back } = *op {
        let order = (e.stats().orders as u64).saturating_sub(1 + back);
        return command(&Op::Capture { order, part: None }, e);
    }
    match *op {
        Op::Authorize {
            customer,
            product,
            in_store,
            category,
            price,
            qty,
        } => authorize(
            customer,
            if product {
                Product::PerOrder
            } else {
                Product::Monthly
            },
            if in_store {
                Channel::InStore
            } else {
                Channel::Online
            },
            vec![
                item(Category::ALL[category], price, qty),
                item(Category::DailyGoods, 100, 1),
            ],
        ),
        Op::Capture { order, part } => match e.gift_card_units(Principal::System, order) {
            // An issuer's gift cards: one fresh code per unit.
            Ok(units) if units > 0 => {
                let first = e.gift_cards_issued() as u64;
                Command::CaptureGiftCards {
                    principal: Principal::Merchant(0),
                    order,
                    // Mostly in full (a partial capture is refused).
                    amount: part.filter(|p| p % 4 == 0).map(Yen::new),
                    codes: (first..first + u64::from(units)).map(code_hash).collect(),
                }
            }
            _ => Command::Capture {
                principal: Principal::Merchant(0),
                order,
                amount: part.map(Yen::new),
            },
        },
        Op::Cancel { order } => Command::Cancel {
            principal: Principal::Merchant(0),
            order,
        },
        Op::Refund { order, amount } => Command::Refund {
            principal: Principal::Merchant(0),
            order,
            amount: Yen::new(amount),
        },
        Op::Pay {
            customer,
            amount,
            reference,
        } => payment(customer, amount, &format!("r{reference}")),
        Op::Method { customer, bank } => Command::SetPaymentMethod {
            principal: Principal::Merchant(0),
            customer,
            payment_method: if bank {
                PaymentMethod::BankDebit
            } else {
                PaymentMethod::PaperBill
            },
        },
        Op::Advance { hours } => Command::AdvanceClock {
            to: now.plus_ms(hours * 3_600_000),
        },
        Op::Redeem { customer, points } => Command::RedeemPoints {
            principal: Principal::Merchant(0),
            customer,
            points,
        },
        Op::Reverse { payment } => Command::ReversePayment {
            principal: Principal::Operator(0, Role::Payments),
            payment,
            reason: "returned".into(),
        },
        Op::Member { customer, paid } => Command::SetMembership {
            principal: Principal::System,
            customer,
            paid,
        },
        Op::Plan {
            customer,
            instalments,
        } => Command::AgreePaymentPlan {
            principal: Principal::System,
            customer,
            instalments,
        },
        Op::Hook { nonce } => Command::AddWebhookEndpoint {
            url: "https://example.invalid/hook".into(),
            key_nonce: [nonce; 16],
            events: atobarai_engine::webhook::EventKind::ALL.to_vec(),
        },
        Op::Ack { through, failed } => Command::WebhooksDelivered {
            endpoint: 0,
            through,
            failed: if failed { vec![through] } else { vec![] },
        },
        // Operators change the configuration between restarts: a lower
        // sign-up limit and a shorter per-order due date.
        Op::Rules { low } => {
            let mut config = atobarai_core::Config::default();
            if low {
                config.credit.signup_limit_yen = Yen::new(20_000);
                config.billing.per_order_due_days = 7;
            }
            Command::SetRules {
                rules: Box::new(config.rules()),
            }
        }
        Op::Erase { customer } => Command::EraseCustomerPii {
            principal: Principal::System,
            customer,
        },
        Op::RedeemCard { card, wallet: w } => Command::RedeemGiftCard {
            principal: Principal::Merchant(0),
            code: code_hash(card),
            wallet: wallet(w),
        },
        Op::RevokeCards { target, n, reason } => Command::RevokeGiftCards {
            principal: Principal::Operator(0, Role::Admin),
            target: match target {
                0 => RevocationTarget::Code(code_hash(n)),
                1 => RevocationTarget::Order(n % 8),
                _ => RevocationTarget::Cards((n..n + 3).collect()),
            },
            reason: [
                RevocationReason::Fraud,
                RevocationReason::Resale,
                RevocationReason::ScamVictim,
                RevocationReason::TermsBreach,
            ][usize::from(reason % 4)],
        },
        Op::AppealCard { card, wallet: w } => Command::AppealGiftCard {
            principal: Principal::Merchant(0),
            wallet: wallet(w),
            card,
            evidence: "receipt".into(),
        },
        Op::DecideAppeal { appeal, reinstate } => Command::DecideGiftCardAppeal {
            principal: Principal::Operator(0, Role::Admin),
            appeal,
            reinstate,
            note: "checked".into(),
        },
        Op::CaptureRecent { .. } => unreachable!("handled above"),
        Op::GiftOrder {
            customer,
            price,
            qty,
        } => authorize(
            customer,
            Product::Monthly,
            Channel::Online,
            vec![
                item(Category::GiftCard, price, qty),
                item(Category::DailyGoods, 100, 1),
            ],
        ),
        Op::Spend { wallet: w, amount } => Command::SpendWallet {
            principal: Principal::Merchant(0),
            wallet: wallet(w),
            amount: Yen::new(amount),
            reference: "pos".into(),
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_and_replay_reproduces_the_digest(ops in prop::collection::vec((op(), prop::option::of(0..6u8)), 1..120), cut in 0usize..120, issuer in prop::bool::weighted(0.7)) {
        let start = || engine_with_merchant(CUSTOMERS, Default::default(), issuer);
        let mut e = start();
        let mut journal: Vec<Envelope> = Vec::new();
        let mut snapshot_at: Option<(usize, Vec<u8>)> = None;
        for (i, (op, key)) in ops.iter().enumerate() {
            if i == cut.min(ops.len() - 1) {
                snapshot_at = Some((journal.len(), e.snapshot()));
            }
            let now = e.now();
            let mut envelope = env(now.plus_ms(60_000), command(op, &e));
            // Some commands carry an idempotency key from a small pool, so
            // replays (same key, same command) and reuses both happen.
            envelope.idem = key.map(|k| Idem {
                principal: Principal::Merchant(0),
                key: format!("key-{k}"),
                request_hash: envelope.command.fingerprint(),
            });
            // As the node does: a new day's billing work is its own command.
            if e.needs_tick(envelope.at) {
                let tick = env(envelope.at, Command::AdvanceClock { to: envelope.at });
                e.apply(&tick).expect("the clock moves forward");
                journal.push(tick);
            }
            let before = e.digest();
            match e.apply(&envelope) {
                Ok(applied) => {
                    if let atobarai_engine::Outcome::Order(o) = &applied.outcome
                        && o.decision != atobarai_engine::Decision::Decline && matches!(op, Op::Authorize { .. })
                    {
                        let c = customer_totals(&e, &atobarai_core::ids::encode("cus", u64::from(o.customer)));
                        prop_assert!(c.exposure <= c.limit, "exposure {} > limit {}", c.exposure, c.limit);
                    }
                    if applied.changed {
                        journal.push(envelope);
                    } else {
                        prop_assert_eq!(e.digest(), before);
                    }
                }
                Err(_) => prop_assert_eq!(e.digest(), before),
            }
            if let Err(msg) = e.check_invariants() {
                prop_assert!(false, "{}", msg);
            }
            // A credit balance never lifts what may be spent above the
            // limit, for the account or its identity cluster.
            for ci in 0..u64::from(CUSTOMERS) {
                let v = e.customer(Principal::System, &atobarai_core::ids::encode("cus", ci)).unwrap();
                prop_assert!(v.available <= v.limit, "available {} > limit {}", v.available, v.limit);
                prop_assert!(v.account_available <= v.limit);
                prop_assert!(v.available <= v.account_available);
            }
        }

        // Full replay from the same starting point.
        let mut replay = start();
        for envelope in &journal {
            replay.apply(envelope).expect("a journaled command applies again");
        }
        prop_assert_eq!(replay.digest(), e.digest());

        // Snapshot midway + replay of the tail.
        let (from, bytes) = snapshot_at.expect("snapshot taken");
        let mut restored = Engine::restore(Default::default(), &bytes).unwrap();
        for envelope in &journal[from..] {
            restored.apply(envelope).expect("tail applies");
        }
        prop_assert_eq!(restored.digest(), e.digest());
    }
}
