//! Phishing-wave alert: when the share of liquid-goods orders placed from
//! a device new to their account jumps above its own recent baseline, an
//! alert is raised (webhook `risk.alert`, a metric); the operator decides
//! on the kill switch (a category suspension).
//!
//! Deterministic and bounded: orders are counted in JST-agnostic hour
//! buckets of engine time; the baseline is the share over the previous
//! [`BASELINE_HOURS`] hours. An hour alerts at most once, when all of:
//! - at least [`ORDERS_MIN`] liquid orders reached the risk rules in it;
//! - its share of new-device liquid orders is at least
//!   [`FACTOR`] × the baseline share, and at least [`MARGIN_BP`] above it
//!   (a quiet baseline near zero does not alert on a handful of orders);
//! - the baseline rests on at least [`BASELINE_ORDERS_MIN`] orders.

use atobarai_core::At;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Hours the baseline looks back over (one week).
pub const BASELINE_HOURS: usize = 168;
/// Liquid orders an hour needs before it can alert.
pub const ORDERS_MIN: u32 = 20;
/// Orders the baseline needs before alerts are raised at all.
pub const BASELINE_ORDERS_MIN: u64 = 200;
/// How many times the baseline share the hour must reach.
pub const FACTOR: u64 = 2;
/// And by how many basis points above the baseline, at least.
pub const MARGIN_BP: u64 = 1_500;
/// Alerts kept for operators.
pub const ALERTS_KEPT: usize = 1_000;

const MS_PER_HOUR: i64 = 3_600_000;

/// `part / whole` in basis points (0 for an empty whole).
pub fn share_bp(part: u32, whole: u32) -> u32 {
    if whole == 0 {
        return 0;
    }
    let bp = u64::from(part)
        .saturating_mul(10_000)
        .checked_div(u64::from(whole))
        .unwrap_or(0);
    u32::try_from(bp).unwrap_or(u32::MAX)
}

/// One hour's counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourCounts {
    /// Liquid-goods orders that reached the risk rules.
    pub liquid: u32,
    /// Of them, from a device new to the account.
    pub new_device: u32,
}

/// A raised alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaveAlert {
    /// When the order that crossed the threshold arrived.
    pub at: At,
    /// Liquid orders in the hour so far.
    pub orders: u32,
    /// Of them from new devices.
    pub new_device: u32,
    /// The hour's new-device share, basis points.
    pub share_bp: u32,
    /// The baseline share, basis points.
    pub baseline_bp: u32,
}

/// The detector's state (part of the engine state: replay gives the same
/// alerts).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaveDetector {
    /// The hour being counted (unix ms / 1 h); 0 before the first order.
    pub hour: i64,
    /// Its counts.
    pub now: HourCounts,
    /// The hours before it, newest last (gaps count as empty hours).
    pub past: VecDeque<HourCounts>,
    /// The hour that last alerted (each hour alerts once).
    pub alerted_hour: Option<i64>,
    /// Alerts raised, newest last (at most [`ALERTS_KEPT`]).
    pub alerts: VecDeque<WaveAlert>,
}

impl WaveDetector {
    /// Count one liquid order at `at`; an alert if this order makes the
    /// hour cross the threshold.
    pub fn observe(&mut self, at: At, device_new: bool) -> Option<WaveAlert> {
        let hour = at.unix_ms().div_euclid(MS_PER_HOUR);
        if hour > self.hour {
            // Close the hour (and any empty hours since), bounded.
            let gap = usize::try_from(hour.saturating_sub(self.hour)).unwrap_or(usize::MAX);
            if self.hour != 0 || self.now != HourCounts::default() {
                self.past.push_back(self.now);
                for _ in 1..gap.min(BASELINE_HOURS) {
                    self.past.push_back(HourCounts::default());
                }
            }
            while self.past.len() > BASELINE_HOURS {
                self.past.pop_front();
            }
            self.hour = hour;
            self.now = HourCounts::default();
        }
        // Time never goes back in the engine; an order stamped in an hour
        // already closed counts in the open one.
        self.now.liquid = self.now.liquid.saturating_add(1);
        if device_new {
            self.now.new_device = self.now.new_device.saturating_add(1);
        }
        if self.alerted_hour == Some(self.hour) || self.now.liquid < ORDERS_MIN {
            return None;
        }
        let (base_orders, base_new) = self.past.iter().fold((0u64, 0u64), |(o, n), h| {
            (
                o.saturating_add(u64::from(h.liquid)),
                n.saturating_add(u64::from(h.new_device)),
            )
        });
        if base_orders < BASELINE_ORDERS_MIN {
            return None;
        }
        let baseline_bp = base_new
            .saturating_mul(10_000)
            .checked_div(base_orders)
            .unwrap_or(0);
        let share_bp = u64::from(share_bp(self.now.new_device, self.now.liquid));
        if share_bp < baseline_bp.saturating_mul(FACTOR)
            || share_bp < baseline_bp.saturating_add(MARGIN_BP)
        {
            return None;
        }
        self.alerted_hour = Some(self.hour);
        let alert = WaveAlert {
            at,
            orders: self.now.liquid,
            new_device: self.now.new_device,
            share_bp: u32::try_from(share_bp).unwrap_or(u32::MAX),
            baseline_bp: u32::try_from(baseline_bp).unwrap_or(u32::MAX),
        };
        if self.alerts.len() >= ALERTS_KEPT {
            self.alerts.pop_front();
        }
        self.alerts.push_back(alert);
        Some(alert)
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    fn hour(h: i64, minute: i64) -> At {
        At::from_unix_ms(1_780_000_000_000 + h * MS_PER_HOUR + minute * 60_000)
    }

    /// A steady week: 30 liquid orders an hour, 3 of them (10 %) from
    /// new devices.
    fn steady_week() -> WaveDetector {
        let mut d = WaveDetector::default();
        for h in 0..168 {
            for i in 0..30 {
                assert_eq!(d.observe(hour(h, i), i % 10 == 0), None, "hour {h}");
            }
        }
        d
    }

    #[test]
    fn a_steady_share_never_alerts() {
        let mut d = steady_week();
        for i in 0..60 {
            assert_eq!(d.observe(hour(168, i % 60), i % 10 == 0), None);
        }
        assert!(d.alerts.is_empty());
    }

    #[test]
    fn a_jump_in_new_device_liquid_orders_alerts_once_per_hour() {
        let mut d = steady_week();
        let mut alerts = Vec::new();
        // A wave: half the liquid orders from new devices.
        for i in 0..40 {
            if let Some(a) = d.observe(hour(168, i), i % 2 == 0) {
                alerts.push(a);
            }
        }
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        let a = alerts[0];
        assert_eq!(a.orders, ORDERS_MIN);
        assert_eq!(a.baseline_bp, 1_000);
        assert!(a.share_bp >= 3_000, "{a:?}");
        // The next hour can alert again if the wave goes on.
        let again = (0..40)
            .filter_map(|i| d.observe(hour(169, i), i % 2 == 0))
            .count();
        assert_eq!(again, 1);
        assert_eq!(d.alerts.len(), 2);
    }

    #[test]
    fn too_few_orders_or_too_thin_a_baseline_never_alert() {
        let mut d = steady_week();
        // 19 orders, all new devices: below ORDERS_MIN.
        for i in 0..19 {
            assert_eq!(d.observe(hour(168, i), true), None);
        }
        // A fresh detector has no baseline yet.
        let mut fresh = WaveDetector::default();
        for i in 0..100 {
            assert_eq!(fresh.observe(hour(0, i % 60), true), None);
        }
    }

    #[test]
    fn memory_is_bounded_by_the_baseline_window() {
        let mut d = WaveDetector::default();
        for h in 0..1_000 {
            d.observe(hour(h * 3, 0), false);
        }
        assert!(d.past.len() <= BASELINE_HOURS);
        // A gap of years closes in bounded work.
        d.observe(hour(1_000_000, 0), false);
        assert!(d.past.len() <= BASELINE_HOURS);
    }
}
