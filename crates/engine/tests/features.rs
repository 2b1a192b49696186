//! The risk features through the engine: a policy that records what it
//! was shown, fed by the same commands the HTTP API sends.

mod common;

use atobarai_core::{At, Category, Channel, Product};
use atobarai_engine::risk::features::{F, Features};
use atobarai_engine::risk::{RiskAction, RiskContext, RiskPolicy, RiskVerdict};
use atobarai_engine::{AuthorizeInput, Command, Engine, LineItem};
use common::*;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Features>>>);

impl RiskPolicy for Recorder {
    fn assess(&self, ctx: &RiskContext<'_>) -> RiskVerdict {
        self.0.lock().unwrap().push(ctx.features.clone());
        RiskVerdict {
            action: RiskAction::Approve,
            reasons: Vec::new(),
        }
    }
}

impl Recorder {
    fn last(&self) -> Features {
        self.0.lock().unwrap().last().cloned().unwrap()
    }
}

fn engine(customers: u32) -> (Engine, Recorder) {
    let rec = Recorder::default();
    let mut e = Engine::with_policy(Default::default(), Box::new(rec.clone()));
    let t = at("2026-06-01T10:00:00+09:00");
    e.apply(&env(
        t,
        Command::AddMerchant {
            name: "shop".into(),
            key_id: "k0".into(),
            secret_sha256: [0; 32],
        },
    ))
    .unwrap();
    for n in 0..customers {
        e.apply(&env(t, register(0, profile(n)))).unwrap();
    }
    (e, rec)
}

fn sku(category: Category, sku: &str, price: i64) -> LineItem {
    LineItem {
        sku: sku.into(),
        ..item(category, price, 1)
    }
}

fn order(customer: u64, device: &str, ip: &str, items: Vec<LineItem>) -> Command {
    Command::Authorize {
        merchant: 0,
        session: session_keys(device, ip),
        input: AuthorizeInput {
            merchant_order_id: "o".into(),
            customer,
            product: Product::Monthly,
            channel: Channel::Online,
            items,
            shipping_address: "東京都千代田区霞が関1-3-1".into(),
            device_id: device.into(),
            ip: ip.into(),
            tax_rates: Vec::new(),
        },
    }
}

fn day(n: i64) -> At {
    at("2026-06-02T12:00:00+09:00").plus_ms(n * 86_400_000)
}

#[test]
fn the_evasive_playbook_shows_as_padding_cadence_and_pay_then_rebuy() {
    let (mut e, rec) = engine(1);
    let cart = |gift: i64, brand: &str| {
        vec![
            sku(Category::DailyGoods, "detergent", 480),
            sku(Category::DailyGoods, "tissue", 398),
            sku(Category::GiftCard, brand, gift),
        ]
    };
    e.apply(&env(
        day(0),
        order(0, "d-0", "198.51.100.7", cart(3_000, "gc-a")),
    ))
    .unwrap();
    let f = rec.last();
    assert!(f.flag(F::CartPadded));
    assert_eq!(f.int(F::CartTotal), 3_878);
    assert_eq!(f.int(F::CartGiftCardYen), 3_000);
    assert_eq!(f.int(F::CartCashEquivalentShareBp), 7_735);
    assert_eq!(f.int(F::HistLiquidOrders90d), 0);
    assert_eq!(f.int(F::HistDaysSinceLiquid), -1);
    assert!(
        !f.flag(F::SessionDeviceNew),
        "a first order has nothing to compare with"
    );
    assert!(!f.flag(F::HistLiquidCadenceRegular));

    e.apply(&env(
        day(14),
        order(0, "d-0", "198.51.100.7", cart(4_000, "gc-b")),
    ))
    .unwrap();
    e.apply(&env(day(27), payment(0, 1_000, "pay-1"))).unwrap();
    e.apply(&env(
        day(28),
        order(0, "d-0", "198.51.100.7", cart(3_000, "gc-c")),
    ))
    .unwrap();
    let f = rec.last();
    assert_eq!(f.int(F::HistLiquidOrders30d), 2);
    assert_eq!(f.int(F::HistLiquidYen30d), 7_000);
    assert_eq!(f.int(F::HistMaxLiquidYen), 4_000);
    assert_eq!(f.int(F::HistDaysSinceLiquid), 14);
    assert_eq!(f.int(F::HistSameAmount30d), 1, "day 0 was ¥3,000 too");
    assert_eq!(f.int(F::HistSameSku30d), 0, "brands varied");
    assert!(f.flag(F::HistLiquidCadenceRegular), "every 14 days");
    assert_eq!(f.int(F::HistLiquidIntervalsSeen), 2);
    assert_eq!(f.int(F::HistHoursSincePayment), 24);
    assert_eq!(f.int(F::HistOrdersSeen), 2);
    assert_eq!(f.int(F::AccountAgeDays), 29, "registered on June 1st");
    assert!(!f.flag(F::SessionDeviceNew));
}

#[test]
fn a_takeover_shows_a_new_device_and_network_on_an_old_account() {
    let (mut e, rec) = engine(2);
    e.apply(&env(
        day(0),
        order(
            1,
            "phone-of-1",
            "198.51.100.7",
            vec![sku(Category::Food, "rice", 2_000)],
        ),
    ))
    .unwrap();
    let attack = vec![
        sku(Category::GiftCard, "gc-a", 10_000),
        sku(Category::GiftCard, "gc-a", 10_000),
        sku(Category::Cosmetics, "lip", 900),
    ];
    e.apply(&env(
        day(40),
        order(1, "emulator-9", "203.0.113.50", attack),
    ))
    .unwrap();
    let f = rec.last();
    assert!(f.flag(F::SessionDeviceNew));
    assert!(f.flag(F::SessionIpNew));
    assert_eq!(f.int(F::SessionDeviceAccounts), 1);
    assert_eq!(f.int(F::HistCashEquivalentOrders90d), 0);
    assert_eq!(f.int(F::HistMaxLiquidYen), 0, "never bought a gift card");
    assert_eq!(f.int(F::CartGiftCardYen), 20_000);
    assert_eq!(f.int(F::HistSameSku30d), 0);
    // The same crew's device on the second account.
    e.apply(&env(
        day(40),
        order(
            0,
            "emulator-9",
            "203.0.113.50",
            vec![sku(Category::GiftCard, "gc-a", 10_000)],
        ),
    ))
    .unwrap();
    let f = rec.last();
    assert_eq!(f.int(F::SessionDeviceAccounts), 2);
    assert_eq!(f.int(F::SessionIpAccounts), 2);
    assert_eq!(f.int(F::ClusterAccounts), 2, "a shared device joins them");
    assert_eq!(
        f.int(F::ClusterLiquidOrders30d),
        1,
        "the other account's gift cards"
    );
}

#[test]
fn velocity_counts_every_try_and_declines_separately() {
    let (mut e, rec) = engine(1);
    for i in 0..3 {
        e.apply(&env(
            day(0).plus_ms(i * 600_000),
            order(
                0,
                "d",
                "198.51.100.7",
                vec![sku(Category::GiftCard, "gc", 10_000)],
            ),
        ))
        .unwrap();
    }
    let f = rec.last();
    assert_eq!(f.int(F::HistOrders1h), 2);
    assert_eq!(f.int(F::HistOrders24h), 2);
    assert_eq!(f.int(F::HistSameAmount30d), 2);
    assert_eq!(f.int(F::HistSameSku30d), 2);
    assert_eq!(f.int(F::HistYen24h), 20_000);
    // Past the ¥50,000 limit the credit rules decline (the policy is not
    // asked), and the next try counts the declines.
    for i in 3..7 {
        e.apply(&env(
            day(0).plus_ms(i * 600_000),
            order(
                0,
                "d",
                "198.51.100.7",
                vec![sku(Category::GiftCard, "gc", 15_000)],
            ),
        ))
        .unwrap();
    }
    e.apply(&env(
        day(0).plus_ms(8 * 600_000),
        order(
            0,
            "d",
            "198.51.100.7",
            vec![sku(Category::Food, "rice", 100)],
        ),
    ))
    .unwrap();
    let f = rec.last();
    assert_eq!(f.int(F::HistDeclined24h), 3);
    assert_eq!(f.int(F::HistOrders1h), 4, "tries at 20-50 minutes ago");
    assert_eq!(f.int(F::HistOrders24h), 7);
    assert_eq!(f.int(F::HistYen24h), 45_000);
    assert_eq!(f.int(F::AccountExposure), 45_000);
    assert_eq!(f.int(F::AccountUtilizationBp), 9_020);
    assert_eq!(f.int(F::CartLiquidYen), 0);
}

#[test]
fn cash_equivalent_history_leaves_electronics_out_and_counts_padding() {
    let (mut e, rec) = engine(2);
    // An earphone (resellable electronics) is liquid, not a cash-equivalent.
    e.apply(&env(
        day(0),
        order(
            0,
            "d-0",
            "198.51.100.7",
            vec![sku(Category::Electronics, "earphones", 12_000)],
        ),
    ))
    .unwrap();
    // A present among daily goods, then a gift card alone.
    e.apply(&env(
        day(10),
        order(
            0,
            "d-0",
            "198.51.100.7",
            vec![
                sku(Category::DailyGoods, "detergent", 480),
                sku(Category::GiftCard, "gc-a", 3_000),
            ],
        ),
    ))
    .unwrap();
    e.apply(&env(
        day(50),
        order(
            0,
            "d-0",
            "198.51.100.7",
            vec![sku(Category::GiftCard, "gc-b", 5_000)],
        ),
    ))
    .unwrap();
    let f = rec.last();
    assert_eq!(f.int(F::HistMaxLiquidYen), 12_000);
    assert_eq!(
        f.int(F::HistMaxCashEquivalentYen),
        3_000,
        "electronics left out"
    );
    assert_eq!(f.int(F::HistDaysSinceCashEquivalent), 40);
    assert_eq!(f.int(F::HistDaysSinceLiquid), 40);
    assert_eq!(
        f.int(F::HistCashEquivalentOrders30d),
        0,
        "day 10 is 40 days ago"
    );
    assert_eq!(f.int(F::HistPaddedOrders90d), 1);
    assert_eq!(f.int(F::ClusterCashEquivalentOrders30d), 0);

    // Within the hour, the gift card alone counts (held or approved), and
    // the first order of a fresh account has no cash-equivalent history.
    e.apply(&env(
        day(50).plus_ms(600_000),
        order(
            0,
            "d-0",
            "198.51.100.7",
            vec![sku(Category::GiftCard, "gc-c", 2_000)],
        ),
    ))
    .unwrap();
    let f = rec.last();
    assert_eq!(f.int(F::HistDaysSinceCashEquivalent), 0);
    assert_eq!(f.int(F::HistCashEquivalentOrders30d), 1);
    assert_eq!(f.int(F::HistMaxCashEquivalentYen), 5_000);
    assert_eq!(
        f.int(F::HistPaddedOrders90d),
        1,
        "the second gift card was alone"
    );
    assert_eq!(
        f.int(F::ClusterCashEquivalentOrders30d),
        1,
        "alone: its own"
    );
    e.apply(&env(
        day(50),
        order(
            1,
            "d-1",
            "198.51.100.9",
            vec![sku(Category::Food, "rice", 2_000)],
        ),
    ))
    .unwrap();
    let f = rec.last();
    assert_eq!(f.int(F::HistDaysSinceCashEquivalent), -1);
    assert_eq!(f.int(F::HistMaxCashEquivalentYen), 0);
}

#[test]
fn a_shared_device_adds_the_other_accounts_cash_equivalents_to_the_cluster() {
    let (mut e, rec) = engine(2);
    e.apply(&env(
        day(0),
        order(
            0,
            "shared",
            "198.51.100.7",
            vec![sku(Category::GiftCard, "gc-a", 5_000)],
        ),
    ))
    .unwrap();
    e.apply(&env(
        day(1),
        order(
            0,
            "shared",
            "198.51.100.7",
            vec![sku(Category::Electronics, "charger", 3_000)],
        ),
    ))
    .unwrap();
    e.apply(&env(
        day(2),
        order(
            1,
            "shared",
            "198.51.100.7",
            vec![sku(Category::PrepaidEmoney, "emoney", 5_000)],
        ),
    ))
    .unwrap();
    let f = rec.last();
    assert_eq!(f.int(F::ClusterAccounts), 2);
    assert_eq!(f.int(F::ClusterLiquidOrders30d), 2, "gift card and charger");
    assert_eq!(
        f.int(F::ClusterCashEquivalentOrders30d),
        1,
        "the charger is no cash-equivalent"
    );
    assert_eq!(f.int(F::HistCashEquivalentOrders30d), 0, "its own: none");
}
