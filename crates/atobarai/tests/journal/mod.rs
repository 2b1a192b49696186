//! Journals written the way the node writes them (encoded records with
//! the decision trailer), for the CLI commands that replay a store.
#![allow(dead_code)]

use atobarai_core::{At, Category, Channel, JstDate, PaymentMethod, Product, Yen};
use atobarai_engine::format::record;
use atobarai_engine::{
    AuthorizeInput, Command, CustomerProfile, Engine, Envelope, LineItem, Outcome, PaymentInput,
    Principal, Role,
};
use atobarai_store::{Journal, Record, SqliteJournal};
use std::path::Path;

/// 12:00 JST `day` days after 2 June 2026.
pub fn at(day: i64) -> At {
    At::parse_rfc3339("2026-06-02T12:00:00+09:00")
        .unwrap()
        .plus_ms(day * 86_400_000)
}

pub fn env(at: At, command: Command) -> Envelope {
    Envelope {
        at,
        idem: None,
        command,
    }
}

pub fn merchant() -> Command {
    Command::AddMerchant {
        name: "shop".into(),
        key_id: "k0".into(),
        secret_sha256: [0; 32],
    }
}

/// Customer `n`: their own phone and e-mail, one shared address.
pub fn customer(n: u32) -> Command {
    Command::RegisterCustomer {
        merchant: 0,
        identity: Default::default(),
        payment_method: PaymentMethod::ConvenienceStore,
        profile: CustomerProfile {
            external_id: format!("c-{n}"),
            name: "山田 太郎".into(),
            name_kana: "ヤマダ タロウ".into(),
            birth_date: JstDate::parse("1990-04-01").unwrap(),
            phone: format!("090-1234-{:04}", 5678 + n),
            email: format!("taro{n}@example.jp"),
            postal_code: "100-0013".into(),
            address: "東京都千代田区霞が関1-3-1".into(),
        },
    }
}

/// A monthly online order of one line.
pub fn order(customer: u64, n: u32, category: Category, price: i64, product: Product) -> Command {
    Command::Authorize {
        merchant: 0,
        session: Default::default(),
        input: AuthorizeInput {
            merchant_order_id: format!("o-{n}"),
            customer,
            product,
            channel: Channel::Online,
            items: vec![LineItem {
                sku: format!("{category:?}"),
                name: "item".into(),
                category,
                unit_price: Yen::new(price),
                quantity: 1,
            }],
            shipping_address: "東京都千代田区霞が関1-3-1".into(),
            device_id: "dev".into(),
            ip: "203.0.113.9".into(),
            tax_rates: Vec::new(),
        },
    }
}

pub fn gift_card(customer: u64, n: u32, price: i64) -> Command {
    order(customer, n, Category::GiftCard, price, Product::Monthly)
}

pub fn capture(order: u64) -> Command {
    Command::Capture {
        principal: Principal::Merchant(0),
        order,
        amount: None,
    }
}

pub fn payment(customer: u64, amount: i64, reference: &str) -> Command {
    Command::RecordPayment {
        principal: Principal::Operator(0, Role::Payments),
        input: PaymentInput {
            customer,
            amount: Yen::new(amount),
            channel: "convenience_store".into(),
            reference: reference.into(),
        },
    }
}

/// Apply `commands` to a fresh engine and journal them in `dir` as the
/// node does; the engine after them.
pub fn write(dir: &Path, commands: &[Envelope]) -> Engine {
    std::fs::create_dir_all(dir).unwrap();
    let mut journal = SqliteJournal::open(&dir.join("journal.sqlite")).unwrap();
    let mut engine = Engine::new(Default::default());
    let mut records = Vec::new();
    for (i, e) in commands.iter().enumerate() {
        let applied = engine
            .apply(e)
            .unwrap_or_else(|err| panic!("command {i}: {err:?}"));
        let decision = match (&e.command, &applied.outcome) {
            (Command::Authorize { .. }, Outcome::Order(o)) => Some(o.decision),
            _ => None,
        };
        records.push(Record {
            seq: i as u64 + 1,
            payload: record::encode(e, decision),
        });
    }
    journal.append(&records).unwrap();
    engine
}
