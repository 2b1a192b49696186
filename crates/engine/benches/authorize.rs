//! Criterion: one authorization against an engine holding 1M customers.
//! `cargo bench -p atobarai-engine --bench authorize`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::time::Duration;

// The production binary uses mimalloc too.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "common/mod.rs"]
mod common;
use common::*;

const CUSTOMERS: u32 = 1_000_000;

fn authorize(c: &mut Criterion) {
    let mut engine = engine_with_customers(CUSTOMERS);
    let mut picker = Picker(0x9E37_79B9_7F4A_7C15);
    let mut seq = 0u64;
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("authorize_1m_customers", |b| {
        b.iter(|| {
            seq += 1;
            let env = authorization(seq, picker.next(u64::from(CUSTOMERS)));
            engine.apply(&env).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, authorize);
criterion_main!(benches);
