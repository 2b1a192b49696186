//! Exposure bookkeeping: the one place that moves a customer's running
//! totals (`held`, `outstanding`, per-order and in-store exposure).
//!
//! One mechanism, not two: an authorization's hold lives only in these
//! running totals. The ledger crate's two-phase holds are not used by the
//! engine. A hold reserves *limit*, not money: nothing is owed or paid until
//! capture, so the double-entry book has nothing to record before then (the
//! capture posts the receivable). Keeping holds out of the ledger also keeps
//! a decision O(1) on the customer's totals and leaves the ledger's bound on
//! open holds out of the authorization path.
//!
//! Every change is checked: totals are sums of amounts bounded by
//! [`Yen::AMOUNT_MAX`] and kept under the limit by the credit rules, so an
//! overflow here is a broken invariant and stops the engine.

use crate::checked::Bounded;
use crate::identity::ClusterCredit;
use crate::state::Customer;
use atobarai_core::{Channel, Product, Yen};

impl Customer {
    /// Apply `f` to the held or owed total and to the product and channel
    /// exposures an order of `product` on `channel` counts in.
    fn shift(
        &mut self,
        product: Product,
        channel: Channel,
        owed: bool,
        f: impl Fn(Yen) -> Result<Yen, atobarai_core::MoneyError>,
    ) {
        let total = if owed {
            &mut self.outstanding
        } else {
            &mut self.held
        };
        *total = f(*total).bounded("customer exposure total");
        if product == Product::PerOrder {
            self.per_order_exposure = f(self.per_order_exposure).bounded("per-order exposure");
        }
        if channel == Channel::InStore {
            self.in_store_exposure = f(self.in_store_exposure).bounded("in-store exposure");
        }
    }

    /// An approve or a review: `amount` is held against the limit.
    pub(crate) fn hold(&mut self, product: Product, channel: Channel, amount: Yen) {
        self.shift(product, channel, false, |t| t.checked_add(amount));
    }

    /// A hold ends (cancel, declined review, or capture): `amount` no longer
    /// held.
    pub(crate) fn release(&mut self, product: Product, channel: Channel, amount: Yen) {
        self.shift(product, channel, false, |t| t.checked_sub(amount));
    }

    /// `amount` of an order is owed (captured, or owed again after a
    /// returned payment).
    pub(crate) fn owe(&mut self, product: Product, channel: Channel, amount: Yen) {
        self.shift(product, channel, true, |t| t.checked_add(amount));
    }

    /// `amount` of an order is no longer owed (paid, paid with points, or
    /// refunded).
    pub(crate) fn settle(&mut self, product: Product, channel: Channel, amount: Yen) {
        self.shift(product, channel, true, |t| t.checked_sub(amount));
    }

    /// A capture of `captured` out of an authorized `authorized`: the whole
    /// hold ends and the captured part is owed.
    pub(crate) fn capture(
        &mut self,
        product: Product,
        channel: Channel,
        authorized: Yen,
        captured: Yen,
    ) {
        self.release(product, channel, authorized);
        self.owe(product, channel, captured);
    }
}

/// What the customer may still spend under its identity cluster's shared
/// limit: the cluster limit less every member's exposure, each member's
/// credit balance counting as zero (so never above the limit).
pub(crate) fn cluster_available(k: &ClusterCredit, c: &Customer) -> Yen {
    k.limit
        .checked_sub(k.exposure_with(c.exposure()))
        .bounded("cluster available")
}
