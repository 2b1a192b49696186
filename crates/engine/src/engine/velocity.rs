//! Velocities of the session's device, its IP network and the merchant:
//! how many orders (and from how many accounts) each has carried lately.
//! Derived from the orders themselves (their raw device id and IP), so it
//! lives in the indexes and is rebuilt on restore; an order is counted
//! after its own decision, so a decision sees only earlier orders.
//!
//! Bounded: a device or network keeps its last [`RING`] orders (its counts
//! read "16 or more" at the cap); a merchant keeps [`MERCHANT_HOURS`]
//! hourly buckets. The maps grow with the distinct devices and networks
//! ever seen (one small ring each).

use rustc_hash::{FxHashMap, FxHasher};
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};

/// Orders kept per device and per network.
pub(crate) const RING: usize = 16;
/// Hourly buckets kept per merchant.
pub(crate) const MERCHANT_HOURS: usize = 24;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

#[derive(Clone, Copy, Debug)]
struct Hit {
    ms: i64,
    customer: u32,
    liquid: bool,
}

#[derive(Clone, Copy, Debug, Default)]
struct Bucket {
    hour: i64,
    orders: u32,
    liquid: u32,
}

/// What a decision reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Velocities {
    pub device_orders_1h: i64,
    pub device_orders_24h: i64,
    pub device_accounts_24h: i64,
    pub ip_orders_1h: i64,
    pub ip_orders_24h: i64,
    pub ip_accounts_24h: i64,
    pub ip_liquid_orders_24h: i64,
    pub merchant_orders_1h: i64,
    pub merchant_liquid_orders_1h: i64,
    pub merchant_liquid_share_24h_bp: i64,
}

#[derive(Default)]
pub(crate) struct Velocity {
    device: FxHashMap<u64, VecDeque<Hit>>,
    net: FxHashMap<u64, VecDeque<Hit>>,
    merchant: Vec<VecDeque<Bucket>>,
}

fn key(s: impl Hash) -> u64 {
    let mut h = FxHasher::default();
    s.hash(&mut h);
    h.finish()
}

/// The device's key (none for an empty id).
fn device_key(device: &str) -> Option<u64> {
    let d = device.trim();
    (!d.is_empty()).then(|| key(d))
}

/// The IP's network: /24 for IPv4, /64 for IPv6 (none if it does not parse).
fn net_key(ip: &str) -> Option<u64> {
    match ip.trim().parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            Some(key((4u8, [a, b, c])))
        }
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            Some(key((6u8, [s[0], s[1], s[2], s[3]])))
        }
    }
}

fn push(ring: &mut VecDeque<Hit>, hit: Hit) {
    if ring.len() >= RING {
        ring.pop_front();
    }
    ring.push_back(hit);
}

/// Orders, distinct accounts and liquid orders in the ring since `from`.
fn count(ring: Option<&VecDeque<Hit>>, from_1h: i64, from_24h: i64) -> (i64, i64, i64, i64) {
    let Some(ring) = ring else {
        return (0, 0, 0, 0);
    };
    let (mut h1, mut h24, mut liquid) = (0i64, 0i64, 0i64);
    let mut accounts: [u32; RING] = [u32::MAX; RING];
    let mut distinct = 0usize;
    for hit in ring {
        if hit.ms >= from_24h {
            h24 = h24.saturating_add(1);
            if hit.liquid {
                liquid = liquid.saturating_add(1);
            }
            if !accounts[..distinct].contains(&hit.customer) && distinct < RING {
                accounts[distinct] = hit.customer;
                distinct = distinct.saturating_add(1);
            }
        }
        if hit.ms >= from_1h {
            h1 = h1.saturating_add(1);
        }
    }
    (h1, h24, i64::try_from(distinct).unwrap_or(0), liquid)
}

impl Velocity {
    /// Count an order (in order-index order).
    pub(crate) fn add(
        &mut self,
        merchant: u32,
        customer: u32,
        device: &str,
        ip: &str,
        at_ms: i64,
        liquid: bool,
    ) {
        let hit = Hit {
            ms: at_ms,
            customer,
            liquid,
        };
        if let Some(k) = device_key(device) {
            push(self.device.entry(k).or_default(), hit);
        }
        if let Some(k) = net_key(ip) {
            push(self.net.entry(k).or_default(), hit);
        }
        let m = merchant as usize;
        if self.merchant.len() <= m {
            self.merchant
                .resize_with(m.saturating_add(1), VecDeque::new);
        }
        let buckets = &mut self.merchant[m];
        let hour = at_ms.div_euclid(HOUR_MS);
        match buckets.back_mut() {
            Some(b) if b.hour >= hour => {
                b.orders = b.orders.saturating_add(1);
                b.liquid = b.liquid.saturating_add(u32::from(liquid));
            }
            _ => {
                if buckets.len() >= MERCHANT_HOURS {
                    buckets.pop_front();
                }
                buckets.push_back(Bucket {
                    hour,
                    orders: 1,
                    liquid: u32::from(liquid),
                });
            }
        }
    }

    /// The velocities an order at `now_ms` reads (earlier orders only).
    pub(crate) fn read(&self, merchant: u32, device: &str, ip: &str, now_ms: i64) -> Velocities {
        let from_1h = now_ms.saturating_sub(HOUR_MS);
        let from_24h = now_ms.saturating_sub(DAY_MS);
        let mut v = Velocities::default();
        let d = device_key(device).and_then(|k| self.device.get(&k));
        (
            v.device_orders_1h,
            v.device_orders_24h,
            v.device_accounts_24h,
            _,
        ) = count(d, from_1h, from_24h);
        let n = net_key(ip).and_then(|k| self.net.get(&k));
        (
            v.ip_orders_1h,
            v.ip_orders_24h,
            v.ip_accounts_24h,
            v.ip_liquid_orders_24h,
        ) = count(n, from_1h, from_24h);
        if let Some(buckets) = self.merchant.get(merchant as usize) {
            let hour = now_ms.div_euclid(HOUR_MS);
            let (mut orders_24h, mut liquid_24h) = (0i64, 0i64);
            for b in buckets {
                // The current hour and the one before: "the last hour" at
                // bucket resolution.
                if b.hour >= hour.saturating_sub(1) {
                    v.merchant_orders_1h = v.merchant_orders_1h.saturating_add(i64::from(b.orders));
                    v.merchant_liquid_orders_1h = v
                        .merchant_liquid_orders_1h
                        .saturating_add(i64::from(b.liquid));
                }
                if b.hour > hour.saturating_sub(24) {
                    orders_24h = orders_24h.saturating_add(i64::from(b.orders));
                    liquid_24h = liquid_24h.saturating_add(i64::from(b.liquid));
                }
            }
            v.merchant_liquid_share_24h_bp = liquid_24h
                .saturating_mul(10_000)
                .checked_div(orders_24h)
                .unwrap_or(0);
        }
        v
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    const T: i64 = 1_780_000_000_000;

    #[test]
    fn devices_and_networks_count_orders_and_accounts_in_their_windows() {
        let mut v = Velocity::default();
        // Three accounts on one device and one /24 within the hour; a fourth
        // order two days earlier falls out of both windows.
        // (Orders arrive in time order, as the engine applies them.)
        v.add(0, 9, "dev-a", "203.0.113.5", T - 2 * DAY_MS, true);
        v.add(0, 3, " dev-a ", "203.0.113.200", T - 2 * HOUR_MS, true);
        v.add(0, 1, "dev-a", "203.0.113.5", T - 50 * 60_000, true);
        v.add(0, 2, "dev-a", "203.0.113.77", T - 20 * 60_000, false);
        let r = v.read(0, "dev-a", "203.0.113.1", T);
        assert_eq!(
            (
                r.device_orders_1h,
                r.device_orders_24h,
                r.device_accounts_24h
            ),
            (2, 3, 3)
        );
        assert_eq!(
            (r.ip_orders_1h, r.ip_orders_24h, r.ip_accounts_24h),
            (2, 3, 3)
        );
        assert_eq!(r.ip_liquid_orders_24h, 2);
        // Another network, no device: nothing.
        let r = v.read(0, "", "198.51.100.1", T);
        assert_eq!((r.device_orders_24h, r.ip_orders_24h), (0, 0));
        assert_eq!(
            r.merchant_orders_1h, 2,
            "the current and the previous hour bucket"
        );
        assert_eq!(r.merchant_liquid_share_24h_bp, 6_666);
    }

    #[test]
    fn a_ring_keeps_its_last_orders_only() {
        let mut v = Velocity::default();
        for i in 0..100 {
            v.add(0, i, "hub", "bad ip", T - 1_000 + i64::from(i), false);
        }
        let r = v.read(0, "hub", "bad ip", T);
        assert_eq!(
            (r.device_orders_1h, r.device_accounts_24h),
            (RING as i64, RING as i64)
        );
        assert_eq!(
            r.ip_orders_1h, 0,
            "an IP that does not parse has no network"
        );
        assert_eq!(v.device.get(&key("hub")).map(VecDeque::len), Some(RING));
    }

    #[test]
    fn ipv6_networks_are_slash_64() {
        let mut v = Velocity::default();
        v.add(0, 1, "", "2001:db8:1:2::5", T - 1_000, false);
        assert_eq!(v.read(0, "", "2001:db8:1:2:ffff::1", T).ip_orders_1h, 1);
        assert_eq!(v.read(0, "", "2001:db8:1:3::1", T).ip_orders_1h, 0);
    }
}
