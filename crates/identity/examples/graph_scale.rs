//! Builds an identity graph of N synthetic accounts (default 10,000,000) and
//! prints the time, the resident memory (VmRSS / VmHWM from /proc/self/status)
//! and the latency of cluster queries (p50 / p99 / max).
//!
//!     cargo run --release -p atobarai-identity --example graph_scale [N]
//!
//! The synthetic population: households of 1-4 accounts share an address
//! unit; one person in ten has a second account on the same device and one
//! in twenty a third with the same phone; every account has its own e-mail;
//! IP addresses are shared by about four accounts. Key hashes come from a
//! fast mixer, not HMAC, so that the run measures the graph (HMAC throughput
//! is in the criterion bench).

use std::time::Instant;

use atobarai_identity::graph::GraphConfig;
use atobarai_identity::{Graph, KeyHash, LinkKind};

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn hash(kind: u64, n: u64) -> KeyHash {
    let a = splitmix(kind << 56 ^ n);
    let b = splitmix(a ^ 0x5555);
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&a.to_le_bytes());
    out[8..].copy_from_slice(&b.to_le_bytes());
    KeyHash(out)
}

fn status(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_else(|| "?".into())
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    const T0: i64 = 1_780_000_000_000;
    let started = Instant::now();
    let keys_estimate = (n as f64 * 3.8) as usize;
    let mut g = Graph::with_capacity(GraphConfig::default(), n as usize, keys_estimate);
    let mut person = 0u64;
    let mut household = 0u64;
    let mut i = 0u64;
    while i < n {
        // A household of 1-4 people at one address unit.
        household += 1;
        let members = 1 + splitmix(household) % 4;
        for _ in 0..members {
            person += 1;
            let r = splitmix(person ^ 0xABCD);
            let accounts = if r.is_multiple_of(20) {
                3
            } else if r.is_multiple_of(10) {
                2
            } else {
                1
            };
            for k in 0..accounts {
                if i >= n {
                    break;
                }
                let at = T0 + (i as i64) * 1000;
                let a = match g.add_account(at) {
                    Ok(a) => a,
                    Err(e) => panic!("add_account: {e}"),
                };
                let link = |g: &mut Graph, kind: LinkKind, tag: u64, v: u64| {
                    if let Err(e) = g.link(a, kind, hash(tag, v), at) {
                        panic!("link: {e}");
                    }
                };
                let _ = g.set_name(a, hash(9, person));
                // Second account: same device; third: same phone.
                link(
                    &mut g,
                    LinkKind::Phone,
                    1,
                    if k == 2 { person } else { person * 4 + k },
                );
                link(&mut g, LinkKind::Email, 2, i);
                link(&mut g, LinkKind::Device, 3, person);
                link(&mut g, LinkKind::AddressUnit, 4, household);
                link(&mut g, LinkKind::Ip, 5, i / 4);
                i += 1;
            }
        }
    }
    let build = started.elapsed();
    println!("accounts: {}  keys: {}", g.account_count(), g.key_count());
    println!(
        "build: {:.1} s ({:.0} accounts/s, 5 links each)",
        build.as_secs_f64(),
        n as f64 / build.as_secs_f64()
    );
    println!("VmRSS: {}  VmHWM: {}", status("VmRSS:"), status("VmHWM:"));

    // Cluster query latency.
    let queries = 1_000_000u64.min(n * 4);
    let mut lat: Vec<u64> = Vec::with_capacity(queries as usize);
    let mut sink = 0u64;
    for q in 0..queries {
        let a = (splitmix(q ^ 0x77) % n) as u32;
        let t = Instant::now();
        let c = g.cluster_of(a);
        lat.push(t.elapsed().as_nanos() as u64);
        sink = sink.wrapping_add(u64::from(c.unwrap_or(0)));
    }
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p) as usize];
    println!(
        "cluster_of: {} queries, p50 {} ns, p99 {} ns, max {} ns (checksum {sink})",
        queries,
        pct(0.50),
        pct(0.99),
        lat.last().copied().unwrap_or(0)
    );
    let mut lat: Vec<u64> = Vec::with_capacity(100_000);
    for q in 0..100_000u64.min(n) {
        let a = (splitmix(q ^ 0x99) % n) as u32;
        let t = Instant::now();
        let f = g.cluster_features(a, T0);
        lat.push(t.elapsed().as_nanos() as u64);
        sink = sink.wrapping_add(f.map_or(0, |f| f.accounts as u64));
    }
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p) as usize];
    println!(
        "cluster_features: p50 {} ns, p99 {} ns (checksum {sink})",
        pct(0.50),
        pct(0.99)
    );
}
