//! The product, channel, payment-method and category taxonomy of `API.md`,
//! and the liquidity class of each category: how easily goods of that
//! category turn into cash, which is what cash-out (現金化) abuse exploits.

use serde::{Deserialize, Serialize};

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parse the API spelling; `None` for anything else.
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// The credit products sharing one limit: the two built-in ones and the
/// products billed with a partner (`crate::products`), identified by
/// `crate::products::product_id` of their configured name. Appended last,
/// so journal records and snapshots written before it decode unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Product {
    PerOrder,
    Monthly,
    Partner(u32),
}

impl Product {
    /// The built-in products.
    pub const ALL: &'static [Product] = &[Product::PerOrder, Product::Monthly];

    /// The API spelling of the built-in products; `"partner"` for every
    /// product billed with a partner (its configured name is in the catalog).
    pub const fn as_str(self) -> &'static str {
        match self {
            Product::PerOrder => "per_order",
            Product::Monthly => "monthly",
            Product::Partner(_) => "partner",
        }
    }

    /// Parse the API spelling of a built-in product; `None` for anything
    /// else (configured products resolve through the catalog).
    pub fn parse(s: &str) -> Option<Product> {
        match s {
            "per_order" => Some(Product::PerOrder),
            "monthly" => Some(Product::Monthly),
            _ => None,
        }
    }
}

impl std::fmt::Display for Product {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

string_enum! {
    /// Where the purchase happens.
    Channel { Online => "online", InStore => "in_store" }
}

string_enum! {
    /// How a customer pays the monthly statement; decides its due day and fee.
    PaymentMethod {
        ConvenienceStore => "convenience_store",
        PaperBill => "paper_bill",
        BankDebit => "bank_debit",
    }
}

string_enum! {
    /// Line-item categories (API.md's minimum set).
    Category {
        GiftCard => "gift_card",
        PrepaidEmoney => "prepaid_emoney",
        GameConsole => "game_console",
        Smartphone => "smartphone",
        Electronics => "electronics",
        DailyGoods => "daily_goods",
        Fashion => "fashion",
        Cosmetics => "cosmetics",
        Food => "food",
        DigitalContent => "digital_content",
        Other => "other",
    }
}

string_enum! {
    /// How directly goods of a category convert to cash.
    LiquidityClass {
        GiftCard => "gift_card",
        PrepaidEmoney => "prepaid_emoney",
        ResellableElectronics => "resellable_electronics",
        Ordinary => "ordinary",
    }
}

impl Category {
    pub const fn liquidity(self) -> LiquidityClass {
        match self {
            Category::GiftCard => LiquidityClass::GiftCard,
            Category::PrepaidEmoney => LiquidityClass::PrepaidEmoney,
            Category::GameConsole | Category::Smartphone | Category::Electronics => {
                LiquidityClass::ResellableElectronics
            }
            Category::DailyGoods
            | Category::Fashion
            | Category::Cosmetics
            | Category::Food
            | Category::DigitalContent
            | Category::Other => LiquidityClass::Ordinary,
        }
    }
}

impl LiquidityClass {
    /// Cash-equivalent classes: a code or balance that can be sold as is.
    pub const fn is_cash_equivalent(self) -> bool {
        matches!(
            self,
            LiquidityClass::GiftCard | LiquidityClass::PrepaidEmoney
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_round_trips() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(*c));
            let json = serde_json::to_string(c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
        }
        for p in Product::ALL {
            assert_eq!(Product::parse(p.as_str()), Some(*p));
        }
        for p in PaymentMethod::ALL {
            assert_eq!(PaymentMethod::parse(p.as_str()), Some(*p));
        }
        assert_eq!(Channel::parse("in_store"), Some(Channel::InStore));
        assert_eq!(Channel::parse("In_Store"), None);
    }

    #[test]
    fn liquidity_classes() {
        assert_eq!(Category::GiftCard.liquidity(), LiquidityClass::GiftCard);
        assert_eq!(
            Category::GameConsole.liquidity(),
            LiquidityClass::ResellableElectronics
        );
        assert_eq!(Category::DailyGoods.liquidity(), LiquidityClass::Ordinary);
        assert!(Category::PrepaidEmoney.liquidity().is_cash_equivalent());
        assert!(!Category::Smartphone.liquidity().is_cash_equivalent());
    }
}
