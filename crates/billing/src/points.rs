//! Points: earned on paid purchases, spent as a discount on a monthly
//! statement, expiring six months after grant.
//!
//! Rules, stated exactly:
//! - **Earning**: per order, `floor(paid_amount × bp / 10_000)` points, with
//!   `bp = points_bp` (50: 1 point per ¥200) or, for a customer on the paid
//!   tier in the order's purchase month, `points_paid_tier_bp` (150: 1.5 %).
//!   `paid_amount` is the captured amount minus refunds. Floor per order:
//!   ¥399 earns 1 point, two orders of ¥199 earn none.
//! - **When**: on the JST date of the payment that brings the order's
//!   principal to zero (payment allocation decides which payment that is).
//!   Nothing is granted for an unpaid or partly paid order.
//! - **Paid tier**: ¥300 a month (`paid_tier_fee_yen`), billed on the
//!   statement as a membership-fee line like any fee.
//! - **Expiry**: a lot granted on day D expires on D + `points_expiry_months`
//!   months (same day of month, clamped to the month's end: granted Aug 31
//!   → expires Feb 28/29). It is usable up to the day before; on the expiry
//!   date [`PointsWallet::expire`] removes it.
//! - **Use**: oldest-expiring lot first (FIFO), as a discount on a monthly
//!   statement, ¥1 per point. A use cannot be undone: there is no
//!   "un-redeem", and refunding a purchase paid partly with points does not
//!   give points back.
//! - **Claw-back on refund**: when an order is refunded after its points
//!   were granted, the points granted on the refunded part are taken back:
//!   `granted − floor(amount_after_refund × bp / 10_000)` (so the result
//!   equals the points the net amount would have earned). They come first
//!   from the same order's lot if still unexpired and unused, then from the
//!   other unexpired lots oldest first, and whatever is still missing becomes
//!   a **deficit**: the balance goes negative, the one documented case, and
//!   the next grants pay the deficit off before creating a lot.

use crate::error::BillingError;
use crate::schedule::YearMonth;
use atobarai_core::config::BillingConfig;
use atobarai_core::{JstDate, Yen};
use atobarai_ledger::Points;
use serde::{Deserialize, Serialize};

/// Most lots a wallet holds (six months of daily purchases is ~180).
pub const LOTS_MAX: usize = 4_096;

/// Most points one grant may carry: the points ledger's per-posting maximum
/// (a larger grant could not be posted anyway). With at most [`LOTS_MAX`]
/// lots a wallet holds at most 2^12 × 10^12 < 2^52 points, so sums over its
/// lots cannot overflow.
pub const POINTS_GRANT_MAX: i64 = 1_000_000_000_000;

/// Whether the customer is on the paid tier for a purchase's month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Standard,
    Paid,
}

/// Points earned by an order whose net paid amount is `paid_amount`.
pub fn points_for_purchase(
    paid_amount: Yen,
    tier: Tier,
    cfg: &BillingConfig,
) -> Result<Points, BillingError> {
    if paid_amount.is_negative() {
        return Err(BillingError::NotPositive);
    }
    let bp = match tier {
        Tier::Standard => cfg.points_bp,
        Tier::Paid => cfg.points_paid_tier_bp,
    };
    if bp < 0 {
        return Err(BillingError::Config(
            "points basis points must not be negative",
        ));
    }
    Ok(Points::new(paid_amount.mul_ratio_floor(bp, 10_000)?.get()))
}

/// Points to claw back when an order that earned `granted` is refunded down
/// to `amount_after_refund`.
pub fn points_to_claw_back(
    granted: Points,
    amount_after_refund: Yen,
    tier: Tier,
    cfg: &BillingConfig,
) -> Result<Points, BillingError> {
    let keep = points_for_purchase(amount_after_refund, tier, cfg)?;
    let excess = granted.checked_sub(keep).ok_or(BillingError::Overflow)?;
    Ok(excess.max(Points::ZERO))
}

/// `date` plus `months`, same day of month clamped to the month's end.
pub fn add_months_clamped(date: JstDate, months: i32) -> Result<JstDate, BillingError> {
    Ok(YearMonth::of(date)
        .plus_months(months)?
        .day_clamped(date.day()))
}

/// Points granted together, expiring together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointsLot {
    /// Wallet-local sequence number.
    pub id: u64,
    /// The order that earned the points.
    pub source: u64,
    pub granted_on: JstDate,
    pub expires_on: JstDate,
    pub granted: Points,
    pub remaining: Points,
}

/// What a grant did: how much paid off a deficit, and the lot created.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub to_deficit: Points,
    pub lot: Option<u64>,
    pub to_lot: Points,
}

/// What a claw-back took from lots and what it left as a deficit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClawBack {
    pub from_lots: Points,
    pub to_deficit: Points,
}

/// A customer's points: lots in grant order and a claw-back deficit.
///
/// Invariants (checked by [`PointsWallet::check`]): every lot has
/// `0 ≤ remaining ≤ granted`; the deficit is ≥ 0; a positive deficit means
/// no lot has points left (grants pay deficits first, claw-backs empty lots
/// first).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointsWallet {
    lots: Vec<PointsLot>,
    deficit: Points,
    next_lot: u64,
}

impl PointsWallet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn lots(&self) -> &[PointsLot] {
        &self.lots
    }

    pub fn deficit(&self) -> Points {
        self.deficit
    }

    /// Points usable on `today` (unexpired lots) minus any deficit: negative
    /// only after a claw-back that found too few points.
    pub fn balance(&self, today: JstDate) -> Points {
        // 0 ≤ usable < 2^52 and 0 ≤ deficit ≤ i64::MAX: the difference is
        // at least −i64::MAX.
        self.usable(today)
            .checked_sub(self.deficit)
            .expect("usable ≥ 0 and deficit ≥ 0")
    }

    /// Points in unexpired lots on `today`.
    pub fn usable(&self, today: JstDate) -> Points {
        sum_points(
            self.lots
                .iter()
                .filter(|l| l.expires_on > today)
                .map(|l| l.remaining),
        )
    }

    /// Grant `points` earned by order `source` on `granted_on`.
    pub fn grant(
        &mut self,
        source: u64,
        points: Points,
        granted_on: JstDate,
        cfg: &BillingConfig,
    ) -> Result<Grant, BillingError> {
        if !points.is_positive() {
            return Err(BillingError::NotPositive);
        }
        if points.get() > POINTS_GRANT_MAX {
            return Err(BillingError::Overflow);
        }
        let expires_on = add_months_clamped(granted_on, i32::from(cfg.points_expiry_months))?;
        // 0 ≤ to_deficit ≤ points and ≤ deficit: both differences are in
        // range and not negative.
        let to_deficit = points.min(self.deficit);
        let to_lot = points.checked_sub(to_deficit).expect("to_deficit ≤ points");
        if to_lot.is_positive() && self.lots.len() >= LOTS_MAX {
            return Err(BillingError::TooMany {
                got: self.lots.len().saturating_add(1),
                max: LOTS_MAX,
            });
        }
        let next_lot = self.next_lot.checked_add(1).ok_or(BillingError::Overflow)?;
        self.deficit = self
            .deficit
            .checked_sub(to_deficit)
            .expect("to_deficit ≤ deficit");
        let lot = if to_lot.is_positive() {
            let id = self.next_lot;
            self.next_lot = next_lot;
            self.lots.push(PointsLot {
                id,
                source,
                granted_on,
                expires_on,
                granted: to_lot,
                remaining: to_lot,
            });
            Some(id)
        } else {
            None
        };
        assert_eq!(
            to_deficit.checked_add(to_lot),
            Some(points),
            "points: a grant pays the deficit and the new lot, nothing else"
        );
        debug_assert_eq!(self.check(), Ok(()));
        Ok(Grant {
            to_deficit,
            lot,
            to_lot,
        })
    }

    /// Spend `points` on `today`, oldest-expiring lot first. Returns the
    /// points taken from each lot. On error nothing changes.
    pub fn redeem(
        &mut self,
        points: Points,
        today: JstDate,
    ) -> Result<Vec<(u64, Points)>, BillingError> {
        if !points.is_positive() {
            return Err(BillingError::NotPositive);
        }
        let available = self.balance(today);
        if available < points {
            return Err(BillingError::InsufficientPoints {
                requested: points.get(),
                available: available.get().max(0),
            });
        }
        let mut order: Vec<usize> = (0..self.lots.len())
            .filter(|&i| self.lots[i].expires_on > today && self.lots[i].remaining.is_positive())
            .collect();
        order.sort_by_key(|&i| (self.lots[i].expires_on, self.lots[i].id));
        let mut left = points;
        let mut taken = Vec::new();
        for i in order {
            if !left.is_positive() {
                break;
            }
            let lot = &mut self.lots[i];
            let take = take_from_lot(lot, &mut left);
            taken.push((lot.id, take));
        }
        self.prune();
        // Postcondition: the balance covered the request, so exactly the
        // points requested were taken, each lot giving a positive amount.
        assert!(
            left == Points::ZERO
                && taken.iter().all(|(_, p)| p.is_positive())
                && sum_points(taken.iter().map(|(_, p)| *p)) == points,
            "points: a redemption takes exactly what was asked"
        );
        debug_assert_eq!(self.check(), Ok(()));
        Ok(taken)
    }

    /// Remove what has expired by `today`; returns the points expired.
    pub fn expire(&mut self, today: JstDate) -> Points {
        let expired = sum_points(
            self.lots
                .iter()
                .filter(|l| l.expires_on <= today)
                .map(|l| l.remaining),
        );
        self.lots.retain(|l| l.expires_on > today);
        self.prune();
        expired
    }

    /// Take back `points` granted for order `source` (a refund), on `today`.
    pub fn claw_back(
        &mut self,
        source: u64,
        points: Points,
        today: JstDate,
    ) -> Result<ClawBack, BillingError> {
        if !points.is_positive() {
            return Err(BillingError::NotPositive);
        }
        let mut order: Vec<usize> = (0..self.lots.len())
            .filter(|&i| self.lots[i].expires_on > today && self.lots[i].remaining.is_positive())
            .collect();
        // Same order's lot first, then oldest-expiring.
        order.sort_by_key(|&i| {
            let l = &self.lots[i];
            (l.source != source, l.expires_on, l.id)
        });
        // Check the deficit can absorb the worst case before changing a lot,
        // so that an error changes nothing.
        self.deficit
            .checked_add(points)
            .ok_or(BillingError::Overflow)?;
        let mut left = points;
        for i in order {
            if !left.is_positive() {
                break;
            }
            take_from_lot(&mut self.lots[i], &mut left);
        }
        // 0 ≤ left ≤ points.
        let from_lots = points.checked_sub(left).expect("left ≤ points");
        self.deficit = self
            .deficit
            .checked_add(left)
            .expect("checked above with the larger amount");
        self.prune();
        assert_eq!(
            from_lots.checked_add(left),
            Some(points),
            "points: a claw-back takes from lots or adds to the deficit, exactly"
        );
        debug_assert_eq!(self.check(), Ok(()));
        Ok(ClawBack {
            from_lots,
            to_deficit: left,
        })
    }

    /// Check the wallet's invariants (see the type docs).
    pub fn check(&self) -> Result<(), String> {
        if self.deficit.is_negative() {
            return Err("negative deficit".into());
        }
        for l in &self.lots {
            if l.remaining.is_negative() || l.remaining > l.granted {
                return Err(format!("lot {} out of range", l.id));
            }
        }
        if self.deficit.is_positive() && self.lots.iter().any(|l| l.remaining.is_positive()) {
            return Err("deficit while lots hold points".into());
        }
        Ok(())
    }

    fn prune(&mut self) {
        self.lots.retain(|l| l.remaining.is_positive());
    }
}

/// Take `min(left, lot.remaining)` (≥ 0) from `lot`, lowering `left` by as
/// much; returns what was taken. Both subtractions stay in `0..=value`.
fn take_from_lot(lot: &mut PointsLot, left: &mut Points) -> Points {
    let take = (*left).min(lot.remaining).max(Points::ZERO);
    lot.remaining = lot.remaining.checked_sub(take).expect("take ≤ remaining");
    *left = left.checked_sub(take).expect("take ≤ left");
    take
}

/// The sum of points held in one wallet's lots (or taken from them): at most
/// [`LOTS_MAX`] values of at most [`POINTS_GRANT_MAX`] each, so it cannot
/// overflow for a wallet this module built.
fn sum_points(mut points: impl Iterator<Item = Points>) -> Points {
    points
        .try_fold(Points::ZERO, Points::checked_add)
        .expect("≤ LOTS_MAX lots of ≤ POINTS_GRANT_MAX points")
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> JstDate {
        JstDate::parse(s).unwrap()
    }

    #[test]
    fn earning_rules() {
        let cfg = BillingConfig::default();
        let p = |yen, tier| {
            points_for_purchase(Yen::new(yen), tier, &cfg)
                .unwrap()
                .get()
        };
        assert_eq!(p(199, Tier::Standard), 0);
        assert_eq!(p(200, Tier::Standard), 1);
        assert_eq!(p(399, Tier::Standard), 1);
        assert_eq!(p(30_000, Tier::Standard), 150);
        assert_eq!(p(30_000, Tier::Paid), 450);
        assert_eq!(p(66, Tier::Paid), 0);
        assert_eq!(p(67, Tier::Paid), 1);
        // Refund ¥10,000 of ¥30,000: keep 100, claw back 50.
        assert_eq!(
            points_to_claw_back(Points::new(150), Yen::new(20_000), Tier::Standard, &cfg),
            Ok(Points::new(50))
        );
    }

    #[test]
    fn oversized_grants_and_overflowing_claw_backs_are_refused_unchanged() {
        let cfg = BillingConfig::default();
        let mut w = PointsWallet::new();
        assert_eq!(
            w.grant(1, Points::new(POINTS_GRANT_MAX + 1), d("2026-08-01"), &cfg),
            Err(BillingError::Overflow)
        );
        assert_eq!(w, PointsWallet::new());
        w.grant(1, Points::new(POINTS_GRANT_MAX), d("2026-08-01"), &cfg)
            .unwrap();
        // A claw-back of everything into a deficit near i64::MAX works once…
        let c = w
            .claw_back(1, Points::new(i64::MAX), d("2026-08-02"))
            .unwrap();
        assert_eq!(c.from_lots, Points::new(POINTS_GRANT_MAX));
        assert_eq!(c.to_deficit, Points::new(i64::MAX - POINTS_GRANT_MAX));
        // …and the next one, which would overflow the deficit, is refused
        // and changes nothing; so is a grant above the limit.
        let before = w.clone();
        assert_eq!(
            w.claw_back(2, Points::new(i64::MAX), d("2026-08-03")),
            Err(BillingError::Overflow)
        );
        assert_eq!(w, before);
        assert_eq!(
            w.grant(2, Points::new(POINTS_GRANT_MAX + 1), d("2026-08-03"), &cfg),
            Err(BillingError::Overflow)
        );
        assert_eq!(w, before);
        assert_eq!(w.check(), Ok(()));
        // Claw-back arithmetic: granted − kept, never below zero.
        assert_eq!(
            points_to_claw_back(Points::new(0), Yen::new(20_000), Tier::Standard, &cfg),
            Ok(Points::ZERO)
        );
        assert_eq!(
            points_to_claw_back(
                Points::new(i64::MIN),
                Yen::new(20_000),
                Tier::Standard,
                &cfg
            ),
            Err(BillingError::Overflow)
        );
    }

    #[test]
    fn expiry_is_six_months_clamped() {
        let cfg = BillingConfig::default();
        let mut w = PointsWallet::new();
        w.grant(1, Points::new(100), d("2026-08-31"), &cfg).unwrap();
        assert_eq!(w.lots()[0].expires_on, d("2027-02-28"));
        assert_eq!(w.balance(d("2027-02-27")), Points::new(100));
        assert_eq!(w.balance(d("2027-02-28")), Points::ZERO);
        assert_eq!(w.expire(d("2027-02-28")), Points::new(100));
        assert!(w.lots().is_empty());
        w.grant(2, Points::new(1), d("2027-08-31"), &cfg).unwrap();
        assert_eq!(w.lots()[0].expires_on, d("2028-02-29"));
    }

    #[test]
    fn fifo_use_and_claw_back_into_deficit() {
        let cfg = BillingConfig::default();
        let mut w = PointsWallet::new();
        w.grant(1, Points::new(100), d("2026-01-10"), &cfg).unwrap();
        w.grant(2, Points::new(50), d("2026-02-10"), &cfg).unwrap();
        let taken = w.redeem(Points::new(120), d("2026-03-01")).unwrap();
        assert_eq!(taken, vec![(0, Points::new(100)), (1, Points::new(20))]);
        assert_eq!(
            w.redeem(Points::new(31), d("2026-03-01")),
            Err(BillingError::InsufficientPoints {
                requested: 31,
                available: 30
            })
        );
        // Order 1 is refunded in full: its 100 points are gone (used), so
        // the claw-back takes order 2's remaining 30 and leaves 70 owed.
        let c = w.claw_back(1, Points::new(100), d("2026-03-02")).unwrap();
        assert_eq!(
            c,
            ClawBack {
                from_lots: Points::new(30),
                to_deficit: Points::new(70)
            }
        );
        assert_eq!(w.balance(d("2026-03-02")), Points::new(-70));
        // The next grant pays the deficit first.
        let g = w.grant(3, Points::new(100), d("2026-04-10"), &cfg).unwrap();
        assert_eq!((g.to_deficit, g.to_lot), (Points::new(70), Points::new(30)));
        assert_eq!(w.balance(d("2026-04-10")), Points::new(30));
        w.check().unwrap();
    }

    #[derive(Debug, Clone)]
    enum Op {
        Grant(u64, i64),
        Redeem(i64),
        ClawBack(u64, i64),
        Wait(i32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0u64..5, 1i64..500).prop_map(|(s, p)| Op::Grant(s, p)),
            2 => (1i64..400).prop_map(Op::Redeem),
            1 => (0u64..5, 1i64..300).prop_map(|(s, p)| Op::ClawBack(s, p)),
            2 => (0i32..90).prop_map(Op::Wait),
        ]
    }

    proptest! {
        #[test]
        fn wallet_invariants(ops in prop::collection::vec(op(), 1..60)) {
            let cfg = BillingConfig::default();
            let mut w = PointsWallet::new();
            let mut today = d("2026-01-01");
            let mut clawed_to_deficit = 0i64;
            for op in ops {
                let before = w.clone();
                match op {
                    Op::Grant(s, p) => { w.grant(s, Points::new(p), today, &cfg).unwrap(); }
                    Op::Redeem(p) => {
                        let usable = w.balance(today);
                        match w.redeem(Points::new(p), today) {
                            Ok(taken) => {
                                prop_assert_eq!(taken.iter().map(|(_, x)| x.get()).sum::<i64>(), p);
                                prop_assert_eq!(w.balance(today).get(), usable.get() - p);
                                // FIFO: every lot still holding points expires no
                                // earlier than every lot taken from, except the last.
                                let taken_ids: Vec<u64> = taken.iter().map(|(id, _)| *id).collect();
                                let key = |id: u64| before.lots().iter().find(|l| l.id == id).map(|l| (l.expires_on, l.id));
                                if let Some(&last) = taken_ids.last() {
                                    for l in w.lots().iter().filter(|l| l.expires_on > today && l.id != last) {
                                        prop_assert!(Some((l.expires_on, l.id)) > key(last));
                                    }
                                }
                            }
                            Err(_) => prop_assert_eq!(&w, &before),
                        }
                    }
                    Op::ClawBack(s, p) => {
                        let c = w.claw_back(s, Points::new(p), today).unwrap();
                        prop_assert_eq!(c.from_lots.get() + c.to_deficit.get(), p);
                        clawed_to_deficit += c.to_deficit.get();
                    }
                    Op::Wait(days) => {
                        today = today.plus_days(days).unwrap();
                        let held = w.usable(today);
                        let expired = w.expire(today);
                        // Expiry removes only what was no longer usable.
                        prop_assert_eq!(w.usable(today), held);
                        prop_assert!(w.lots().iter().all(|l| l.expires_on > today));
                        prop_assert!(expired.get() >= 0);
                    }
                }
                prop_assert!(w.check().is_ok(), "{:?}", w.check());
                // Negative only through a claw-back deficit.
                if w.balance(today).is_negative() {
                    prop_assert!(clawed_to_deficit > 0 && w.deficit().is_positive());
                }
            }
        }
    }
}
