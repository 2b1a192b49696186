//! Products as configuration: the catalog in force (`self.config.products`,
//! journaled with the terms) decides which products and channels an
//! authorization may name, and its caps per product, per channel and per
//! merchant are credit rules (they can only decline).
//!
//! A cap limits what one customer is charged on the product in one billing
//! cycle: a single order for a per-order product, the JST calendar month of
//! the authorization for the monthly and partner products (approved or held
//! orders count their amount, captured ones what was captured and not
//! refunded; declined and cancelled ones nothing). The default catalog has
//! no caps, so it decides exactly as the engine did before the catalog.

use super::Engine;
use crate::checked::Bounded;
use crate::command::AuthorizeInput;
use crate::error::CommandError;
use crate::reason::{Reason, ReasonCode};
use crate::state::OrderStatus;
use atobarai_core::products::Cycle;
use atobarai_core::{At, Channel, Product, Yen};

impl Engine {
    /// The product and channel an authorization names must be in the
    /// catalog in force: `unknown_product` (field `product`) or
    /// `channel_not_supported` (field `channel`); nothing changes.
    pub(crate) fn product_check(&self, input: &AuthorizeInput) -> Result<(), CommandError> {
        let Some(def) = self.config.products.get(input.product) else {
            return Err(CommandError::invalid(
                "unknown_product",
                "product",
                "product has an unknown value (not in the product catalog)",
            ));
        };
        if !def.sold_on(input.channel) {
            return Err(CommandError::invalid(
                "channel_not_supported",
                "channel",
                if input.product == Product::PerOrder {
                    "the per-order invoice product is sold online only".to_string()
                } else {
                    format!(
                        "the {} product is not sold on the {} channel",
                        def.name, input.channel
                    )
                },
            ));
        }
        Ok(())
    }

    /// The catalog's caps for this authorization of `amount`: the product
    /// cap, the cap of its channel and the cap of its merchant. Declines
    /// with `product_limit_exceeded` when any would be exceeded.
    pub(crate) fn product_declines(
        &self,
        at: At,
        merchant: u32,
        ci: u32,
        input: &AuthorizeInput,
        amount: Yen,
    ) -> Option<Reason> {
        let def = self.config.products.get(input.product)?;
        let merchant_cap = self
            .state
            .merchants
            .get(merchant as usize)
            .and_then(|m| def.merchant_caps_yen.get(&m.name).copied());
        let channel_cap = def.channel_caps_yen.get(input.channel.as_str()).copied();
        if def.cap_yen.is_none() && merchant_cap.is_none() && channel_cap.is_none() {
            return None;
        }
        let spent = if def.cycle == Cycle::PerOrder {
            CycleSpend::default()
        } else {
            self.month_spend(at, ci, input.product, input.channel, merchant)
        };
        let over = |cap: Option<Yen>, spent: Yen| {
            cap.is_some_and(|cap| amount > cap.checked_sub(spent).bounded("product cap room"))
        };
        if over(def.cap_yen, spent.product)
            || over(channel_cap, spent.channel)
            || over(merchant_cap, spent.merchant)
        {
            Some(ReasonCode::ProductCapExceeded.into())
        } else {
            None
        }
    }

    /// What customer `ci` was charged on `product` in the JST month of
    /// `at`: in all, on `channel`, at `merchant`. Walks the customer's
    /// orders newest first and stops at the month's start (orders are
    /// appended in time order).
    fn month_spend(
        &self,
        at: At,
        ci: u32,
        product: Product,
        channel: Channel,
        merchant: u32,
    ) -> CycleSpend {
        let since = at.jst_date().first_of_month().start_at();
        let mut out = CycleSpend::default();
        for oi in self.orders_of_customer(ci) {
            let Some(o) = self.state.orders.get(oi as usize) else {
                break;
            };
            if o.authorized_at < since {
                break;
            }
            if o.product == product {
                let charged = match o.status {
                    s if s.holds_limit() => o.amount,
                    OrderStatus::Captured | OrderStatus::Refunded => o.refundable(),
                    _ => Yen::ZERO,
                };
                let add = |t: Yen| t.checked_add(charged).bounded("cycle spend");
                out.product = add(out.product);
                if o.channel == channel {
                    out.channel = add(out.channel);
                }
                if o.merchant == merchant {
                    out.merchant = add(out.merchant);
                }
            }
        }
        out
    }
}

#[derive(Default)]
struct CycleSpend {
    product: Yen,
    channel: Yen,
    merchant: Yen,
}

impl Engine {
    /// The due date of a charge on a partner's bill captured on `captured_on`:
    /// the product's `due_day` of the following month (the 27th when the
    /// product left the catalog since it was authorized).
    pub(crate) fn partner_due_date(
        &self,
        product: Product,
        captured_on: atobarai_core::JstDate,
    ) -> atobarai_core::JstDate {
        let day = self
            .config
            .products
            .get(product)
            .map_or(27, |d| d.partner_due_day());
        captured_on
            .first_of_next_month()
            .ok()
            .and_then(|first| first.plus_days(i32::from(day).saturating_sub(1)).ok())
            .unwrap_or(captured_on)
    }
}
