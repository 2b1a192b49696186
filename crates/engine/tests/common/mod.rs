//! Builders shared by the engine's integration tests.
#![allow(dead_code)]

use atobarai_core::{At, Category, Channel, JstDate, PaymentMethod, Product, Yen};
use atobarai_engine::{
    AuthorizeInput, Command, CustomerProfile, Engine, Envelope, LineItem, Outcome, PaymentInput,
    Principal,
};

pub fn at(s: &str) -> At {
    At::parse_rfc3339(s).unwrap()
}

pub fn env(at: At, command: Command) -> Envelope {
    Envelope {
        at,
        idem: None,
        command,
    }
}

pub fn profile(n: u32) -> CustomerProfile {
    CustomerProfile {
        external_id: format!("c-{n}"),
        name: "山田 太郎".into(),
        name_kana: "ヤマダ タロウ".into(),
        birth_date: JstDate::parse("1990-04-01").unwrap(),
        phone: "090-1234-5678".into(),
        email: "taro@example.jp".into(),
        postal_code: "100-0013".into(),
        address: "東京都千代田区霞が関1-3-1".into(),
    }
}

pub fn item(category: Category, price: i64, qty: i64) -> LineItem {
    LineItem {
        sku: "SKU-1".into(),
        name: "item".into(),
        category,
        unit_price: Yen::new(price),
        quantity: qty,
    }
}

pub fn authorize(
    customer: u64,
    product: Product,
    channel: Channel,
    items: Vec<LineItem>,
) -> Command {
    Command::Authorize {
        merchant: 0,
        input: AuthorizeInput {
            merchant_order_id: "o-1".into(),
            customer,
            product,
            channel,
            items,
            shipping_address: "東京都千代田区霞が関1-3-1".into(),
            device_id: "dev-1".into(),
            ip: "203.0.113.7".into(),
        },
    }
}

pub fn payment(customer: u64, amount: i64, reference: &str) -> Command {
    Command::RecordPayment {
        principal: Principal::Merchant(0),
        input: PaymentInput {
            customer,
            amount: Yen::new(amount),
            channel: "convenience_store".into(),
            reference: reference.into(),
        },
    }
}

/// An engine with one merchant and `customers` customers, at 2026-06-01.
pub fn engine_with(customers: u32) -> Engine {
    let mut e = Engine::new(Default::default());
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
        e.apply(&env(
            t,
            Command::RegisterCustomer {
                merchant: 0,
                profile: profile(n),
                payment_method: PaymentMethod::ConvenienceStore,
            },
        ))
        .unwrap();
    }
    e
}

pub fn order_of(outcome: &Outcome) -> &atobarai_engine::OrderView {
    match outcome {
        Outcome::Order(o) => o,
        other => panic!("expected an order, got {other:?}"),
    }
}
