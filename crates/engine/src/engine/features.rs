//! Computing the risk features ([`crate::risk::features`]) for one
//! authorization from engine state: the cart, the account, a bounded walk
//! over the customer's recent orders (and its identity cluster's), the
//! session's device and IP network, and the identity graph. No I/O, no
//! clock: the same state and order give the same features.

use super::Engine;
use crate::command::{AuthorizeInput, LineItem};
use crate::identity::{ClusterCredit, SessionSeen};
use crate::risk::features::{
    CLUSTER_MEMBER_ORDERS_MAX, CLUSTER_MEMBERS_MAX, F, Features, HISTORY_ORDERS_MAX,
    HISTORY_WINDOW_DAYS,
};
use crate::state::{Decision, Order};
use atobarai_core::{At, LiquidityClass, Yen};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Liquid orders whose times feed the cadence feature.
const CADENCE_ORDERS_MAX: usize = 6;

/// Yen by liquidity class of a list of lines (saturating: a cart's total is
/// bounded by `Yen::AMOUNT_MAX` long before any of these could overflow).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Mix {
    gift_card: i64,
    prepaid: i64,
    resellable: i64,
    ordinary: i64,
    max_liquid_unit: i64,
}

impl Mix {
    fn of(items: &[LineItem]) -> Mix {
        let mut m = Mix::default();
        for i in items {
            let line = i
                .unit_price
                .checked_mul(i.quantity)
                .unwrap_or(Yen::AMOUNT_MAX)
                .get();
            let class = i.category.liquidity();
            let slot = match class {
                LiquidityClass::GiftCard => &mut m.gift_card,
                LiquidityClass::PrepaidEmoney => &mut m.prepaid,
                LiquidityClass::ResellableElectronics => &mut m.resellable,
                LiquidityClass::Ordinary => &mut m.ordinary,
            };
            *slot = slot.saturating_add(line);
            if class != LiquidityClass::Ordinary {
                m.max_liquid_unit = m.max_liquid_unit.max(i.unit_price.get());
            }
        }
        m
    }

    fn cash_equivalent(&self) -> i64 {
        self.gift_card.saturating_add(self.prepaid)
    }

    fn liquid(&self) -> i64 {
        self.cash_equivalent().saturating_add(self.resellable)
    }

    fn total(&self) -> i64 {
        self.liquid().saturating_add(self.ordinary)
    }

    /// The amount a same-amount repeat is judged on: the cash-equivalent
    /// yen when there are any, else the liquid yen.
    fn repeat_amount(&self) -> i64 {
        match self.cash_equivalent() {
            0 => self.liquid(),
            ce => ce,
        }
    }
}

/// `part / whole` in basis points (0 when `whole` is not positive).
fn basis_points(part: i64, whole: i64) -> i64 {
    if whole <= 0 {
        return 0;
    }
    // i128: part × 10,000 cannot overflow.
    let bp = i128::from(part)
        .saturating_mul(10_000)
        .checked_div(i128::from(whole))
        .unwrap_or(0);
    i64::try_from(bp).unwrap_or(i64::MAX)
}

fn counts(o: &Order) -> bool {
    matches!(o.decision, Decision::Approve | Decision::Review)
}

impl Engine {
    /// The customer's orders, newest first, at most `max` of them and none
    /// older than the history window.
    fn recent_orders(&self, ci: u32, at: At, max: usize) -> impl Iterator<Item = &Order> + '_ {
        let horizon = at
            .unix_ms()
            .saturating_sub(HISTORY_WINDOW_DAYS.saturating_mul(DAY_MS));
        self.orders_of_customer(ci)
            .map_while(|oi| self.state.orders.get(oi as usize))
            .take(max)
            .take_while(move |o| o.authorized_at.unix_ms() >= horizon)
    }

    /// Every feature for an order of customer `ci` about to be decided.
    /// `seen` says whether the session's device and IP network were linked
    /// to the account before this order; `cluster` is the credit view of
    /// its identity cluster (`None` when alone).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn risk_features(
        &self,
        at: At,
        merchant: u32,
        ci: u32,
        input: &AuthorizeInput,
        amount: Yen,
        seen: SessionSeen,
        cluster: Option<&ClusterCredit>,
    ) -> Features {
        let mut f = Features::default();
        let now = at.unix_ms();
        let c = &self.state.customers[ci as usize];

        // The cart.
        let mix = Mix::of(&input.items);
        let total = amount.get();
        f.set_int(F::CartTotal, total);
        f.set_int(
            F::CartLines,
            i64::try_from(input.items.len()).unwrap_or(i64::MAX),
        );
        f.set_int(F::CartLiquidYen, mix.liquid());
        f.set_int(F::CartCashEquivalentYen, mix.cash_equivalent());
        f.set_int(F::CartGiftCardYen, mix.gift_card);
        f.set_int(F::CartPrepaidYen, mix.prepaid);
        f.set_int(F::CartResellableYen, mix.resellable);
        f.set_int(F::CartOrdinaryYen, mix.ordinary);
        f.set_int(
            F::CartLiquidShareBp,
            basis_points(mix.liquid(), mix.total()),
        );
        f.set_int(
            F::CartCashEquivalentShareBp,
            basis_points(mix.cash_equivalent(), mix.total()),
        );
        f.set_bool(F::CartPadded, mix.cash_equivalent() > 0 && mix.ordinary > 0);
        f.set_int(F::CartMaxLiquidUnitYen, mix.max_liquid_unit);
        f.set_str(F::OrderChannel, input.channel.as_str());
        f.set_str(F::OrderProduct, input.product.as_str());
        // JST = UTC+9; rem_euclid keeps the hour in 0..24 for any time.
        let hour = now
            .saturating_add(9 * HOUR_MS)
            .div_euclid(HOUR_MS)
            .rem_euclid(24);
        f.set_int(F::OrderHourJst, hour);

        // The account.
        let age_days = now.saturating_sub(c.created_at.unix_ms()).max(0) / DAY_MS;
        f.set_int(F::AccountAgeDays, age_days);
        f.set_int(F::AccountOrdersApproved, i64::from(c.orders_approved));
        f.set_int(F::AccountPaidOrders, i64::from(c.paid_online_orders));
        f.set_int(F::AccountLimit, c.limit.get());
        let exposure = c.exposure().get();
        f.set_int(F::AccountExposure, exposure);
        f.set_int(
            F::AccountUtilizationBp,
            basis_points(exposure.max(0).saturating_add(total), c.limit.get()),
        );

        // The customer's recent history.
        let ago = |o: &Order| now.saturating_sub(o.authorized_at.unix_ms());
        let liquid_skus: Vec<&str> = input
            .items
            .iter()
            .filter(|i| i.category.liquidity() != LiquidityClass::Ordinary)
            .map(|i| i.sku.as_str())
            .collect();
        let repeat = mix.repeat_amount();
        let (mut o1h, mut o24h, mut o7d, mut dec24h) = (0i64, 0i64, 0i64, 0i64);
        let (mut yen24h, mut yen30d, mut seen_n, mut seen_yen) = (0i64, 0i64, 0i64, 0i64);
        let (mut l7, mut l30, mut l90, mut ly30, mut ly90, mut ce90) =
            (0i64, 0i64, 0i64, 0i64, 0i64, 0i64);
        let (mut max_liquid, mut last_liquid, mut same_amount, mut same_sku) =
            (0i64, None::<i64>, 0i64, 0i64);
        let (mut ce30, mut max_ce, mut last_ce, mut padded90) = (0i64, 0i64, None::<i64>, 0i64);
        let mut liquid_times: Vec<i64> = Vec::with_capacity(CADENCE_ORDERS_MAX.saturating_add(1));
        if mix.liquid() > 0 {
            liquid_times.push(now);
        }
        for o in self.recent_orders(ci, at, HISTORY_ORDERS_MAX) {
            let age = ago(o);
            let one = |window: i64| i64::from(age < window);
            o1h = o1h.saturating_add(one(HOUR_MS));
            o24h = o24h.saturating_add(one(DAY_MS));
            o7d = o7d.saturating_add(one(7 * DAY_MS));
            if o.decision == Decision::Decline {
                dec24h = dec24h.saturating_add(one(DAY_MS));
                continue;
            }
            if !counts(o) {
                continue;
            }
            let amt = o.amount.get();
            if age < DAY_MS {
                yen24h = yen24h.saturating_add(amt);
            }
            if age < 30 * DAY_MS {
                yen30d = yen30d.saturating_add(amt);
            }
            seen_n = seen_n.saturating_add(1);
            seen_yen = seen_yen.saturating_add(amt);
            let m = Mix::of(&o.detail.items);
            if m.liquid() == 0 {
                continue;
            }
            max_liquid = max_liquid.max(m.liquid());
            if last_liquid.is_none() {
                last_liquid = Some(age);
            }
            let ce = m.cash_equivalent();
            if ce > 0 {
                max_ce = max_ce.max(ce);
                if last_ce.is_none() {
                    last_ce = Some(age);
                }
                if age < 30 * DAY_MS {
                    ce30 = ce30.saturating_add(1);
                }
                if age < 90 * DAY_MS && m.ordinary > 0 {
                    padded90 = padded90.saturating_add(1);
                }
            }
            if liquid_times.len() <= CADENCE_ORDERS_MAX {
                liquid_times.push(o.authorized_at.unix_ms());
            }
            if age < 7 * DAY_MS {
                l7 = l7.saturating_add(1);
            }
            if age < 30 * DAY_MS {
                l30 = l30.saturating_add(1);
                ly30 = ly30.saturating_add(m.liquid());
                if repeat > 0 && m.repeat_amount() == repeat {
                    same_amount = same_amount.saturating_add(1);
                }
                if o.detail
                    .items
                    .iter()
                    .any(|i| liquid_skus.contains(&i.sku.as_str()))
                {
                    same_sku = same_sku.saturating_add(1);
                }
            }
            if age < 90 * DAY_MS {
                l90 = l90.saturating_add(1);
                ly90 = ly90.saturating_add(m.liquid());
                if m.cash_equivalent() > 0 {
                    ce90 = ce90.saturating_add(1);
                }
            }
        }
        f.set_int(F::HistOrders1h, o1h);
        f.set_int(F::HistOrders24h, o24h);
        f.set_int(F::HistOrders7d, o7d);
        f.set_int(F::HistDeclined24h, dec24h);
        f.set_int(F::HistYen24h, yen24h);
        f.set_int(F::HistYen30d, yen30d);
        f.set_int(F::HistOrdersSeen, seen_n);
        f.set_int(
            F::HistAvgOrderYen,
            seen_yen.checked_div(seen_n).unwrap_or(0),
        );
        f.set_int(F::HistLiquidOrders7d, l7);
        f.set_int(F::HistLiquidOrders30d, l30);
        f.set_int(F::HistLiquidOrders90d, l90);
        f.set_int(F::HistLiquidYen30d, ly30);
        f.set_int(F::HistLiquidYen90d, ly90);
        f.set_int(F::HistCashEquivalentOrders90d, ce90);
        f.set_int(F::HistMaxLiquidYen, max_liquid);
        f.set_int(
            F::HistDaysSinceLiquid,
            last_liquid.map_or(-1, |age| age / DAY_MS),
        );
        f.set_int(F::HistSameAmount30d, same_amount);
        f.set_int(F::HistSameSku30d, same_sku);
        let (regular, intervals) = cadence(&liquid_times, mix.liquid() > 0);
        f.set_bool(F::HistLiquidCadenceRegular, regular);
        f.set_int(F::HistLiquidIntervalsSeen, intervals);
        f.set_int(
            F::HistHoursSincePayment,
            self.idx
                .last_payment_ms(ci)
                .map_or(-1, |t| now.saturating_sub(t).max(0) / HOUR_MS),
        );

        // The session.
        let ordered_before = c.orders_approved > 0 || seen_n > 0 || o7d > 0;
        f.set_bool(F::SessionDeviceNew, ordered_before && seen.device_new);
        f.set_bool(F::SessionIpNew, ordered_before && seen.ip_new);
        f.set_int(F::SessionDeviceAccounts, i64::from(seen.device_accounts));
        f.set_int(F::SessionIpAccounts, i64::from(seen.ip_accounts));

        // The identity cluster.
        f.set_int(
            F::ClusterAccounts,
            cluster.map_or(1, |k| i64::from(k.accounts)),
        );
        f.set_int(
            F::ClusterExposure,
            cluster.map_or(exposure, |k| k.exposure_with(c.exposure()).get()),
        );
        f.set_int(F::ClusterLimit, cluster.map_or(c.limit, |k| k.limit).get());
        f.set_bool(
            F::ClusterMemberOverdue,
            cluster.is_some_and(|k| k.other_overdue),
        );
        let mut cluster_liquid = l30;
        let mut cluster_ce = ce30;
        if cluster.is_some() {
            for m in self
                .state
                .identity
                .cluster_members_capped(ci, CLUSTER_MEMBERS_MAX)
            {
                if m == ci {
                    continue;
                }
                for o in self
                    .recent_orders(m, at, CLUSTER_MEMBER_ORDERS_MAX)
                    .filter(|o| counts(o) && ago(o) < 30 * DAY_MS)
                {
                    let mix = Mix::of(&o.detail.items);
                    if mix.liquid() > 0 {
                        cluster_liquid = cluster_liquid.saturating_add(1);
                    }
                    if mix.cash_equivalent() > 0 {
                        cluster_ce = cluster_ce.saturating_add(1);
                    }
                }
            }
        }
        f.set_int(F::ClusterLiquidOrders30d, cluster_liquid);
        f.set_int(F::ClusterCashEquivalentOrders30d, cluster_ce);
        f.set_int(F::HistCashEquivalentOrders30d, ce30);
        f.set_int(F::HistMaxCashEquivalentYen, max_ce);
        f.set_int(
            F::HistDaysSinceCashEquivalent,
            last_ce.map_or(-1, |age| age / DAY_MS),
        );
        f.set_int(F::HistPaddedOrders90d, padded90);
        let (_, address_new) = self.state.identity.features(ci, at);
        f.set_int(F::AddressNewAccounts30d, i64::from(address_new));
        f.set_int(
            F::ClusterHubKeys,
            i64::from(self.state.identity.hub_features(ci).hub_keys),
        );
        let v = self
            .idx
            .velocity
            .read(merchant, &input.device_id, &input.ip, now);
        f.set_int(F::DeviceOrders1h, v.device_orders_1h);
        f.set_int(F::DeviceOrders24h, v.device_orders_24h);
        f.set_int(F::DeviceAccounts24h, v.device_accounts_24h);
        f.set_int(F::IpOrders1h, v.ip_orders_1h);
        f.set_int(F::IpOrders24h, v.ip_orders_24h);
        f.set_int(F::IpAccounts24h, v.ip_accounts_24h);
        f.set_int(F::IpLiquidOrders24h, v.ip_liquid_orders_24h);
        f.set_int(F::MerchantOrders1h, v.merchant_orders_1h);
        f.set_int(F::MerchantLiquidOrders1h, v.merchant_liquid_orders_1h);
        f.set_int(F::MerchantLiquidShare24hBp, v.merchant_liquid_share_24h_bp);
        let (phone_verified, changed_days) = self.contact_features(ci, now);
        f.set_bool(F::CustomerPhoneVerified, phone_verified);
        f.set_int(F::CustomerContactChangedDays, changed_days);
        f
    }
}

/// Is the spacing of liquid orders a schedule? `times` newest first (the
/// order under decision first when `includes_this`). Regular: at least
/// three liquid orders with this one among them, every interval between
/// 7 and 35 days, and the longest within 7 days of the shortest. Returns
/// (regular, intervals seen).
fn cadence(times: &[i64], includes_this: bool) -> (bool, i64) {
    let intervals: Vec<i64> = times
        .windows(2)
        .map(|w| w[0].saturating_sub(w[1]))
        .collect();
    let n = i64::try_from(intervals.len()).unwrap_or(i64::MAX);
    if !includes_this || intervals.len() < 2 {
        return (false, n);
    }
    let lo = intervals.iter().copied().min().unwrap_or(0);
    let hi = intervals.iter().copied().max().unwrap_or(0);
    let regular = lo >= 7 * DAY_MS && hi <= 35 * DAY_MS && hi.saturating_sub(lo) <= 7 * DAY_MS;
    (regular, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basis_points_are_bounded_and_defined() {
        assert_eq!(basis_points(1, 4), 2_500);
        assert_eq!(basis_points(5, 0), 0);
        assert_eq!(basis_points(i64::MAX, 1), i64::MAX);
        assert_eq!(basis_points(3_000, 12_000), 2_500);
    }

    #[test]
    fn cadence_needs_three_regular_liquid_orders_including_this_one() {
        let d = DAY_MS;
        let t = 200 * d;
        assert_eq!(cadence(&[t, t - 14 * d, t - 28 * d], true), (true, 2));
        assert_eq!(cadence(&[t, t - 14 * d, t - 35 * d], true), (true, 2));
        // Too irregular: 14 then 30 days.
        assert_eq!(cadence(&[t, t - 14 * d, t - 44 * d], true), (false, 2));
        // Too dense: every 2 days is velocity, not cadence.
        assert_eq!(cadence(&[t, t - 2 * d, t - 4 * d], true), (false, 2));
        // Only two orders.
        assert_eq!(cadence(&[t, t - 14 * d], true), (false, 1));
        // This order holds no liquid goods.
        assert_eq!(
            cadence(&[t - 14 * d, t - 28 * d, t - 42 * d], false),
            (false, 2)
        );
    }
}
