//! The product catalog (`[[products]]`): each credit product the provider
//! sells, as configuration: its billing cycle, the channels it is sold on,
//! its caps (per product, per channel, per merchant), its due rule, the
//! partner's fee and whether it earns points. The catalog is part of the
//! journaled terms ([`crate::lifecycle::Terms`]).
//!
//! Product identity in the journal: the two built-in products keep their
//! [`Product`] variants (`per_order`, `monthly`); every product billed with
//! a partner is [`Product::Partner`] carrying [`product_id`] of its name (a
//! stable 32-bit hash), so an authorization's body and an order keep the
//! product without any new field. A configured catalog replaces the default
//! one whole: list `per_order` and `monthly` too to keep selling them.

use crate::money::Yen;
use crate::taxonomy::{Channel, Product};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The configured products, in configuration order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProductCatalog {
    pub products: Vec<ProductDef>,
}

/// How a product's charges are billed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cycle {
    /// An invoice per order (the built-in `per_order` product).
    PerOrder,
    /// One statement per month (the built-in `monthly` product).
    Monthly,
    /// On a partner's monthly bill (carrier billing): the partner bills the
    /// customer and settles with the provider from a settlement file.
    PartnerMonthly,
}

impl Cycle {
    pub const fn as_str(self) -> &'static str {
        match self {
            Cycle::PerOrder => "per_order",
            Cycle::Monthly => "monthly",
            Cycle::PartnerMonthly => "partner_monthly",
        }
    }
}

/// One product.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductDef {
    /// The API spelling (`"product"` in an authorization): lower-case
    /// letters, digits and `_`, at most 32.
    pub name: String,
    /// How its charges are billed.
    pub cycle: Cycle,
    /// The partner whose bill carries the charges (`partner_monthly` only).
    #[serde(default)]
    pub partner: Option<String>,
    /// Channels it is sold on (`online`, `in_store`).
    pub channels: Vec<String>,
    /// The most one customer may be charged on this product in one billing
    /// cycle (one order for `per_order`, a JST calendar month otherwise);
    /// `None`: only the credit rules apply.
    #[serde(default)]
    pub cap_yen: Option<Yen>,
    /// The same cap per channel.
    #[serde(default)]
    pub channel_caps_yen: BTreeMap<String, Yen>,
    /// The same cap per merchant, by the merchant's registered name.
    #[serde(default)]
    pub merchant_caps_yen: BTreeMap<String, Yen>,
    /// `partner_monthly`: the day of the month after the purchase month on
    /// which the partner's bill is due (1–28). The built-in cycles take
    /// their due rules from `[billing]`.
    #[serde(default)]
    pub due_day: Option<i8>,
    /// `partner_monthly`: the partner's collection fee in basis points of
    /// the net charges it bills, deducted in the settlement file.
    #[serde(default)]
    pub partner_fee_bp: u32,
    /// Whether paying this product's charges earns points.
    #[serde(default = "yes")]
    pub points: bool,
}

fn yes() -> bool {
    true
}

/// The stable identity of a configured product in the journal and in
/// orders: FNV-1a (32 bits) of its name.
pub fn product_id(name: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

impl ProductDef {
    fn builtin(name: &str, cycle: Cycle, channels: &[Channel]) -> ProductDef {
        ProductDef {
            name: name.into(),
            cycle,
            partner: None,
            channels: channels.iter().map(|c| c.as_str().to_string()).collect(),
            cap_yen: None,
            channel_caps_yen: BTreeMap::new(),
            merchant_caps_yen: BTreeMap::new(),
            due_day: None,
            partner_fee_bp: 0,
            points: true,
        }
    }

    /// The [`Product`] an authorization of this product carries.
    pub fn product(&self) -> Product {
        match self.cycle {
            Cycle::PerOrder => Product::PerOrder,
            Cycle::Monthly => Product::Monthly,
            Cycle::PartnerMonthly => Product::Partner(product_id(&self.name)),
        }
    }

    /// Is it sold on `channel`?
    pub fn sold_on(&self, channel: Channel) -> bool {
        self.channels.iter().any(|c| c == channel.as_str())
    }

    /// The partner's bill due day (1–28; 27 when not configured).
    pub fn partner_due_day(&self) -> i8 {
        self.due_day.unwrap_or(27)
    }
}

impl Default for ProductCatalog {
    /// Today's two products: per-order invoices online only (its outstanding
    /// cap is `credit.per_order_outstanding_cap_yen`, a credit rule), the
    /// monthly statement online and in store (in-store caps are credit
    /// rules too). No product-level caps.
    fn default() -> Self {
        ProductCatalog {
            products: vec![
                ProductDef::builtin("per_order", Cycle::PerOrder, &[Channel::Online]),
                ProductDef::builtin(
                    "monthly",
                    Cycle::Monthly,
                    &[Channel::Online, Channel::InStore],
                ),
            ],
        }
    }
}

impl ProductCatalog {
    /// The product an authorization names (by its [`Product`]).
    pub fn get(&self, product: Product) -> Option<&ProductDef> {
        self.products.iter().find(|d| d.product() == product)
    }

    /// The product called `name`.
    pub fn by_name(&self, name: &str) -> Option<&ProductDef> {
        self.products.iter().find(|d| d.name == name)
    }

    /// The products billed on `partner`'s bill.
    pub fn of_partner<'a>(&'a self, partner: &'a str) -> impl Iterator<Item = &'a ProductDef> {
        self.products
            .iter()
            .filter(move |d| d.partner.as_deref() == Some(partner))
    }

    /// Every problem found, as `(field, message)`, fields as
    /// `products[i].key`. `limit` is the credit limit no cap may exceed.
    pub fn problems(&self, limit: Yen) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.products.len() > 64 {
            out.push(("products".into(), "at most 64 products".into()));
            return out;
        }
        let mut seen_ids: BTreeMap<u32, &str> = BTreeMap::new();
        for (i, d) in self.products.iter().enumerate() {
            let mut push = |key: &str, message: String| {
                out.push((format!("products[{i}].{key}"), message));
            };
            if !is_slug(&d.name) {
                push(
                    "name",
                    "must be 1 to 32 lower-case letters, digits or '_'".into(),
                );
            }
            match (d.name.as_str(), d.cycle) {
                ("per_order", Cycle::PerOrder) | ("monthly", Cycle::Monthly) => {}
                ("per_order" | "monthly", _) => push(
                    "cycle",
                    format!("the built-in product {} keeps its own cycle", d.name),
                ),
                (_, Cycle::PerOrder | Cycle::Monthly) => push(
                    "cycle",
                    "a configured product other than per_order and monthly is billed with a \
                     partner (partner_monthly)"
                        .into(),
                ),
                (_, Cycle::PartnerMonthly) => {}
            }
            match (&d.partner, d.cycle) {
                (Some(p), Cycle::PartnerMonthly) if !is_slug(p) => push(
                    "partner",
                    "must be 1 to 32 lower-case letters, digits or '_'".into(),
                ),
                (None, Cycle::PartnerMonthly) => push(
                    "partner",
                    "a partner_monthly product names its partner".into(),
                ),
                (Some(_), Cycle::PerOrder | Cycle::Monthly) => push(
                    "partner",
                    "only a partner_monthly product has a partner".into(),
                ),
                _ => {}
            }
            if let Some(day) = d.due_day {
                if d.cycle != Cycle::PartnerMonthly {
                    push(
                        "due_day",
                        "only a partner_monthly product has a due day (the built-in products \
                         take theirs from [billing])"
                            .into(),
                    );
                } else if !(1..=28).contains(&day) {
                    push("due_day", "must be between 1 and 28".into());
                }
            }
            if d.partner_fee_bp > 10_000 {
                push("partner_fee_bp", "must be between 0 and 10000".into());
            } else if d.partner_fee_bp > 0 && d.cycle != Cycle::PartnerMonthly {
                push(
                    "partner_fee_bp",
                    "only a partner_monthly product has a partner fee".into(),
                );
            }
            if d.channels.is_empty() {
                push("channels", "must name at least one channel".into());
            }
            for (j, c) in d.channels.iter().enumerate() {
                if Channel::parse(c).is_none() {
                    push(
                        "channels",
                        format!("unknown channel {c:?} (known: online, in_store)"),
                    );
                } else if d.channels[..j].contains(c) {
                    push("channels", format!("channel {c:?} is listed twice"));
                }
            }
            if d.name == "per_order" && d.channels.iter().any(|c| c == "in_store") {
                push(
                    "channels",
                    "the per-order invoice product is sold online only".into(),
                );
            }
            let cap_ok = |cap: Yen| cap.is_positive() && cap <= limit;
            let cap_message = || format!("must be between ¥1 and the credit limit ({limit})");
            if let Some(cap) = d.cap_yen
                && !cap_ok(cap)
            {
                push("cap_yen", cap_message());
            }
            for (c, &cap) in &d.channel_caps_yen {
                if Channel::parse(c).is_none() {
                    push(
                        "channel_caps_yen",
                        format!("unknown channel {c:?} (known: online, in_store)"),
                    );
                } else if !d.channels.contains(c) {
                    push(
                        "channel_caps_yen",
                        format!("channel {c:?} is not among the product's channels"),
                    );
                }
                if !cap_ok(cap) {
                    push("channel_caps_yen", format!("{c}: {}", cap_message()));
                }
            }
            for (m, &cap) in &d.merchant_caps_yen {
                if m.trim().is_empty() || m.chars().count() > 200 {
                    push(
                        "merchant_caps_yen",
                        "a merchant name must be 1 to 200 characters".into(),
                    );
                }
                if !cap_ok(cap) {
                    push("merchant_caps_yen", format!("{m}: {}", cap_message()));
                }
            }
            if is_slug(&d.name)
                && let Some(other) = seen_ids.insert(product_id(&d.name), &d.name)
            {
                push(
                    "name",
                    if other == d.name {
                        format!("product {:?} is defined twice", d.name)
                    } else {
                        format!("collides with product {other:?}; choose another name")
                    },
                );
            }
        }
        out
    }
}

fn is_slug(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn carrier() -> ProductDef {
        ProductDef {
            name: "carrier".into(),
            cycle: Cycle::PartnerMonthly,
            partner: Some("carrier".into()),
            channels: vec!["online".into()],
            cap_yen: Some(Yen::new(50_000)),
            channel_caps_yen: BTreeMap::new(),
            merchant_caps_yen: [("App Store".to_string(), Yen::new(30_000))].into(),
            due_day: Some(27),
            partner_fee_bp: 300,
            points: false,
        }
    }

    #[test]
    fn the_default_catalog_is_todays_two_products_and_checks() {
        let c = ProductCatalog::default();
        assert_eq!(c.products.len(), 2);
        assert_eq!(c.get(Product::PerOrder).unwrap().name, "per_order");
        assert!(!c.get(Product::PerOrder).unwrap().sold_on(Channel::InStore));
        assert!(c.get(Product::Monthly).unwrap().sold_on(Channel::InStore));
        assert!(c.problems(Yen::new(50_000)).is_empty());
    }

    #[test]
    fn a_carrier_product_parses_from_toml_and_checks() {
        let text = r#"
            [[products]]
            name = "per_order"
            cycle = "per_order"
            channels = ["online"]

            [[products]]
            name = "carrier"
            cycle = "partner_monthly"
            partner = "carrier"
            channels = ["online"]
            cap_yen = 50000
            merchant_caps_yen = { "App Store" = 30000 }
            due_day = 27
            partner_fee_bp = 300
            points = false
        "#;
        #[derive(Deserialize)]
        struct File {
            products: ProductCatalog,
        }
        let f: File = toml::from_str(text).unwrap();
        assert_eq!(f.products.products[1], carrier());
        assert!(f.products.problems(Yen::new(50_000)).is_empty());
        let id = product_id("carrier");
        assert_eq!(
            f.products.get(Product::Partner(id)).unwrap().name,
            "carrier"
        );
        assert_eq!(f.products.of_partner("carrier").count(), 1);
    }

    #[test]
    fn a_cap_above_the_limit_and_an_unknown_channel_are_named() {
        let mut d = carrier();
        d.merchant_caps_yen
            .insert("App Store".into(), Yen::new(60_000));
        d.channels.push("vending_machine".into());
        let c = ProductCatalog { products: vec![d] };
        let p = c.problems(Yen::new(50_000));
        let fields: Vec<&str> = p.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            ["products[0].channels", "products[0].merchant_caps_yen"]
        );
    }

    #[test]
    fn duplicates_and_missing_partners_are_named() {
        let mut d = carrier();
        d.partner = None;
        let c = ProductCatalog {
            products: vec![carrier(), d],
        };
        let fields: Vec<String> = c
            .problems(Yen::new(50_000))
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(fields, ["products[1].partner", "products[1].name"]);
    }
}
