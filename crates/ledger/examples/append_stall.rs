//! Times every single `post` while appending many entries to one yen
//! journal, to expose stalls from growing the entry storage.
//!
//! `cargo run --release -p atobarai-ledger --example append_stall [COUNT]`
//! (COUNT defaults to 20,000,000). Prints the count, p50, p99, p99.99 and
//! max of the per-post times, and the positions of the slowest posts.

use atobarai_core::{At, Yen};
use atobarai_ledger::{Account, EntryKind, YenLedger, transfer};
use std::time::{Duration, Instant};

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .map(|s| s.replace('_', "").parse().expect("COUNT must be a number"))
        .unwrap_or(20_000_000);
    let switches_before = involuntary_switches();
    let mut ledger = YenLedger::new();
    // Nanoseconds per post, saturated at u32::MAX (~4.3 s).
    let mut times: Vec<u32> = Vec::with_capacity(count);
    let started = Instant::now();
    for i in 0..count {
        let entry = transfer(
            At::from_unix_ms(1_700_000_000_000 + i as i64),
            EntryKind::Capture,
            i as u64,
            Account::CustomerReceivable((i % 100_000) as u32),
            Account::MerchantPayable((i % 1_000) as u32),
            Yen::new(1 + (i % 50_000) as i64),
        );
        let t = Instant::now();
        ledger.post(entry).expect("post");
        let dt = t.elapsed();
        times.push(u32::try_from(dt.as_nanos()).unwrap_or(u32::MAX));
    }
    let total = started.elapsed();
    let preempted = involuntary_switches()
        .zip(switches_before)
        .map(|(a, b)| a - b);
    assert_eq!(ledger.entries().len(), count);

    let mut worst: Vec<(u32, usize)> = times.iter().enumerate().map(|(i, t)| (*t, i)).collect();
    worst.sort_unstable_by(|a, b| b.cmp(a));
    worst.truncate(5);
    let times_at = times.clone();
    let mut sorted = times;
    sorted.sort_unstable();
    let pct = |p: f64| {
        let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        Duration::from_nanos(u64::from(sorted[i]))
    };
    println!("count   {count}");
    println!("total   {total:?}");
    println!("p50     {:?}", pct(0.50));
    println!("p99     {:?}", pct(0.99));
    println!("p99.99  {:?}", pct(0.9999));
    println!(
        "max     {:?}",
        Duration::from_nanos(u64::from(*sorted.last().expect("count > 0")))
    );
    let slowest: Vec<String> = worst
        .iter()
        .map(|(t, i)| format!("#{i} {:?}", Duration::from_nanos(u64::from(*t))))
        .collect();
    println!("slowest {}", slowest.join(", "));
    // Where a doubling Vec would have reallocated (also chunk boundaries).
    let at_powers: Vec<String> = (16..usize::BITS)
        .map(|k| 1usize << k)
        .take_while(|i| *i < count)
        .map(|i| format!("#{i} {:?}", Duration::from_nanos(u64::from(times_at[i]))))
        .collect();
    println!("at 2^k  {}", at_powers.join(", "));
    // Each is a time slice lost to another process: an outlier of a few ms
    // at a random position is that, not the journal.
    if let Some(n) = preempted {
        println!("involuntary context switches during the run: {n}");
    }
}

/// This thread's involuntary context switches so far (Linux only).
fn involuntary_switches() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/thread-self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("nonvoluntary_ctxt_switches:"))
        .and_then(|v| v.trim().parse().ok())
}
