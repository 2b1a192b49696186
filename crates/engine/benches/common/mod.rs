//! Shared set-up for the engine benchmarks: an engine with N customers.
#![allow(dead_code)]

use atobarai_core::{At, Category, Channel, JstDate, PaymentMethod, Product, Yen};
use atobarai_engine::{
    AuthorizeInput, Command, CustomerProfile, Engine, Envelope, Idem, IdentityKeys, LineItem,
    Principal, SessionKeys,
};
use atobarai_identity::KeyHash;

/// A distinct keyed hash per (customer, field): what the shell would send
/// for real, distinct people.
fn key(customer: u64, field: u8) -> Option<KeyHash> {
    // splitmix64: uniform like the HMAC outputs the shell sends.
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let seed = customer.wrapping_mul(16).wrapping_add(u64::from(field));
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&mix(seed).to_le_bytes());
    k[8..].copy_from_slice(&mix(seed ^ 0xFFFF).to_le_bytes());
    Some(KeyHash(k))
}

pub fn t0() -> At {
    At::parse_rfc3339("2026-06-10T12:00:00+09:00").unwrap()
}

pub fn engine_with_customers(n: u32) -> Engine {
    let mut e = Engine::new(Default::default());
    let apply = |e: &mut Engine, command| {
        e.apply(&Envelope {
            at: t0(),
            idem: None,
            command,
        })
        .unwrap();
    };
    apply(
        &mut e,
        Command::AddMerchant {
            name: "bench".into(),
            key_id: "k".into(),
            secret_sha256: [0; 32],
        },
    );
    for i in 0..n {
        apply(
            &mut e,
            Command::RegisterCustomer {
                merchant: 0,
                profile: CustomerProfile {
                    external_id: format!("c-{i}"),
                    name: "山田 太郎".into(),
                    name_kana: "ヤマダ タロウ".into(),
                    birth_date: JstDate::parse("1990-04-01").unwrap(),
                    phone: format!("090{:08}", i),
                    email: format!("user{i}@example.jp"),
                    postal_code: "100-0013".into(),
                    address: "東京都千代田区霞が関1-3-1 霞ビル101".into(),
                },
                payment_method: PaymentMethod::ConvenienceStore,
                identity: IdentityKeys {
                    phone: key(u64::from(i), 1),
                    email: key(u64::from(i), 2),
                    address_unit: key(u64::from(i), 3),
                    name: key(u64::from(i), 4),
                },
            },
        );
    }
    e
}

/// A realistic authorization: 2 items, online, monthly, with an idempotency key.
pub fn authorization(seq: u64, customer: u64) -> Envelope {
    Envelope {
        at: t0(),
        idem: Some(Idem {
            principal: Principal::Merchant(0),
            key: format!("bench-{seq}"),
            request_hash: [7; 16],
        }),
        command: Command::Authorize {
            merchant: 0,
            input: AuthorizeInput {
                merchant_order_id: format!("o-{seq}"),
                customer,
                product: Product::Monthly,
                channel: Channel::Online,
                items: vec![
                    LineItem {
                        sku: "DG-1".into(),
                        name: "洗剤".into(),
                        category: Category::DailyGoods,
                        unit_price: Yen::new(480),
                        quantity: 2,
                    },
                    LineItem {
                        sku: "ST-9".into(),
                        name: "ボールペン".into(),
                        category: Category::Other,
                        unit_price: Yen::new(120),
                        quantity: 1,
                    },
                ],
                shipping_address: "東京都千代田区霞が関1-3-1 霞ビル101".into(),
                device_id: "dev-9f2c".into(),
                ip: "203.0.113.7".into(),
                tax_rates: Vec::new(),
            },
            session: SessionKeys {
                device: key(customer, 5),
                ip: key(customer % 65_536, 6),
            },
        },
    }
}

/// xorshift64*: a deterministic customer picker.
pub struct Picker(pub u64);

impl Picker {
    pub fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// A scale knob from the environment (`cargo bench` passes no options).
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}
