//! Builders shared by the engine's integration tests.
#![allow(dead_code)]

use atobarai_core::{At, Category, Channel, JstDate, PaymentMethod, Product, Yen};
use atobarai_engine::{
    AuthorizeInput, Command, CustomerProfile, Engine, Envelope, IdentityKeys, KeyHash, LineItem,
    LinkKind, Outcome, PaymentInput, Principal, Role, SessionKeys,
};
use atobarai_identity::{KeyName, Kind, key_hash, normalize};

/// The HMAC secret the tests play the shell with.
pub const SECRET: &[u8] = b"engine-test-secret";

fn hashed(kind: Kind, name: KeyName, link: LinkKind, value: &str) -> Option<KeyHash> {
    normalize(kind, value)
        .key(name)
        .map(|k| key_hash(SECRET, link, k))
}

/// The keys the shell computes at registration (as `dto.rs` does).
pub fn identity_keys(p: &CustomerProfile) -> IdentityKeys {
    let address = format!("〒{} {}", p.postal_code, p.address);
    let name = normalize(Kind::Name, &p.name);
    IdentityKeys {
        phone: hashed(Kind::Phone, KeyName::Phone, LinkKind::Phone, &p.phone),
        email: hashed(Kind::Email, KeyName::Email, LinkKind::Email, &p.email),
        address_unit: hashed(
            Kind::Address,
            KeyName::AddressUnit,
            LinkKind::AddressUnit,
            &address,
        ),
        name: name
            .key(KeyName::Name)
            .or(name.key(KeyName::NameKana))
            .map(|k| key_hash(SECRET, LinkKind::Name, k)),
    }
}

/// The keys the shell computes at authorization: device, IP network.
pub fn session_keys(device_id: &str, ip: &str) -> SessionKeys {
    let net = normalize(Kind::Ip, ip);
    SessionKeys {
        device: hashed(Kind::Device, KeyName::Device, LinkKind::Device, device_id),
        ip: net
            .key(KeyName::Ip24)
            .or(net.key(KeyName::Ip64))
            .map(|k| key_hash(SECRET, LinkKind::Ip, k)),
    }
}

pub fn register(merchant: u32, profile: CustomerProfile) -> Command {
    Command::RegisterCustomer {
        merchant,
        identity: identity_keys(&profile),
        profile,
        payment_method: PaymentMethod::ConvenienceStore,
    }
}

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
        // One phone and e-mail each: customers of `engine_with` are distinct
        // people who share an address (a dormitory: never merged).
        phone: format!("090-1234-{:04}", 5678 + n),
        email: format!("taro{n}@example.jp"),
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
    // Each customer has its own device, except that customers 3 and up use
    // customer 2's: their first authorization merges them with customer 2.
    let device_id = format!("dev-{}", customer.min(2));
    let ip = "203.0.113.7";
    Command::Authorize {
        merchant: 0,
        session: session_keys(&device_id, ip),
        input: AuthorizeInput {
            merchant_order_id: "o-1".into(),
            customer,
            product,
            channel,
            items,
            shipping_address: "東京都千代田区霞が関1-3-1".into(),
            device_id,
            ip: ip.into(),
            tax_rates: Vec::new(),
        },
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

/// An engine with one merchant and `customers` customers, at 2026-06-01.
pub fn engine_with(customers: u32) -> Engine {
    engine_with_config(customers, Default::default())
}

/// As [`engine_with`], under `config`.
pub fn engine_with_config(customers: u32, config: atobarai_core::Config) -> Engine {
    engine_with_merchant(customers, config, false)
}

/// As [`engine_with`], merchant 0 a gift-card issuer when `issuer`.
pub fn engine_with_merchant(customers: u32, config: atobarai_core::Config, issuer: bool) -> Engine {
    let mut e = Engine::new(config);
    let t = at("2026-06-01T10:00:00+09:00");
    let (name, key_id, secret_sha256) = ("shop".to_string(), "k0".to_string(), [0; 32]);
    e.apply(&env(
        t,
        if issuer {
            Command::AddIssuerMerchant {
                name,
                key_id,
                secret_sha256,
            }
        } else {
            Command::AddMerchant {
                name,
                key_id,
                secret_sha256,
            }
        },
    ))
    .unwrap();
    for n in 0..customers {
        e.apply(&env(t, register(0, profile(n)))).unwrap();
    }
    e
}

/// The keyed hash the tests give the `k`-th gift-card code ever issued.
pub fn code_hash(k: u64) -> [u8; 32] {
    let mut h = [0x5A; 32];
    h[..8].copy_from_slice(&k.to_le_bytes());
    h
}

/// An order as a merchant would read it: strings and plain integers.
#[derive(Clone, Debug)]
pub struct O {
    pub order: u32,
    pub customer: String,
    pub decision: String,
    pub status: String,
    pub amount: i64,
    pub captured: i64,
    pub refunded: i64,
    pub paid: i64,
    pub available_after: i64,
    pub due_date: Option<String>,
    pub reasons: Vec<R>,
}

#[derive(Clone, Debug)]
pub struct R {
    pub code: &'static str,
    pub message_ja: &'static str,
}

pub fn order_of(outcome: &Outcome) -> O {
    match outcome {
        Outcome::Order(o) => O {
            order: o.order,
            customer: atobarai_core::ids::encode("cus", u64::from(o.customer)),
            decision: o.decision.as_str().to_string(),
            status: o.status.as_str().to_string(),
            amount: o.amount.get(),
            captured: o.captured.get(),
            refunded: o.refunded.get(),
            paid: o.paid.get(),
            available_after: o.available_after.get(),
            due_date: o.due_date.map(|d| d.to_string()),
            reasons: o
                .reasons
                .iter()
                .map(|r| R {
                    code: r.code(),
                    message_ja: r.message_ja(),
                })
                .collect(),
        },
        other => panic!("expected an order, got {other:?}"),
    }
}

/// A customer's totals as plain integers.
#[derive(Clone, Debug)]
pub struct C {
    pub limit: i64,
    pub exposure: i64,
    pub available: i64,
    pub held: i64,
    pub outstanding: i64,
    pub credit_balance: i64,
    pub overdue: bool,
}

pub fn customer_totals(e: &Engine, id: &str) -> C {
    let c = e.customer(Principal::System, id).unwrap();
    C {
        limit: c.limit.get(),
        exposure: c.exposure.get(),
        available: c.available.get(),
        held: c.held.get(),
        outstanding: c.outstanding.get(),
        credit_balance: c.credit_balance.get(),
        overdue: c.overdue,
    }
}

// ----- billing helpers -----------------------------------------------------

pub fn cus(n: u64) -> String {
    atobarai_core::ids::encode("cus", n)
}

pub fn tick(e: &mut Engine, when: &str) {
    let t = at(when);
    e.apply(&env(t, Command::AdvanceClock { to: t })).unwrap();
}

pub fn capture_all(e: &mut Engine, when: &str, price: i64, product: Product) -> u64 {
    let t = at(when);
    let a = e
        .apply(&env(
            t,
            authorize(
                0,
                product,
                Channel::Online,
                vec![item(Category::Food, price, 1)],
            ),
        ))
        .unwrap();
    let o = order_of(&a.outcome);
    assert_eq!(o.decision, "approve");
    e.apply(&env(
        t,
        Command::Capture {
            principal: Principal::Merchant(0),
            order: u64::from(o.order),
            amount: None,
        },
    ))
    .unwrap();
    u64::from(o.order)
}
