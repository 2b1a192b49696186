//! The market's own cost and the market in process, on one core.
//!
//! `cargo bench -p atobarai-sim --bench market`
//! (scale: `ATOBARAI_SIM_BENCH_CUSTOMERS`, default 20000;
//! `ATOBARAI_SIM_BENCH_DAYS`, default 180).
//!
//! 1. A null driver that approves everything and remembers nothing: what
//!    generating the population, the carts and the behaviour costs.
//! 2. The engine in process: the whole report, as `atobarai simulate` runs it.

use atobarai_core::{At, JstDate, Yen};
use atobarai_sim::driver::in_process::InProcess;
use atobarai_sim::driver::{
    AuthOutcome, Balance, CustomerRef, Decision, Driver, DriverError, OrderRef, OrderRequest,
    Registration,
};
use atobarai_sim::{Options, run};
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Default)]
struct Null {
    customers: u64,
    orders: u64,
}

impl Driver for Null {
    fn name(&self) -> &'static str {
        "null"
    }
    fn setup(&mut self, _: &[&str], _: At) -> Result<(), DriverError> {
        Ok(())
    }
    fn advance(&mut self, _: At) -> Result<(), DriverError> {
        Ok(())
    }
    fn register(&mut self, _: At, _: &Registration) -> Result<Option<CustomerRef>, DriverError> {
        self.customers += 1;
        Ok(Some(CustomerRef(self.customers)))
    }
    fn authorize(&mut self, _: At, _: &OrderRequest) -> Result<AuthOutcome, DriverError> {
        self.orders += 1;
        Ok(AuthOutcome {
            order: Some(OrderRef(self.orders)),
            decision: Decision::Approve,
            reasons: Vec::new(),
            fired: Vec::new(),
        })
    }
    fn capture(&mut self, at: At, _: usize, _: OrderRef) -> Result<Option<JstDate>, DriverError> {
        Ok(at.jst_date().plus_days(14).ok())
    }
    fn resolve_review(&mut self, _: At, _: OrderRef, _: bool) -> Result<(), DriverError> {
        Ok(())
    }
    fn balance(&mut self, _: CustomerRef) -> Result<Balance, DriverError> {
        Ok(Balance {
            principal: Yen::new(1_000),
            total: Yen::new(1_000),
            overdue: false,
        })
    }
    fn cluster(&mut self, c: CustomerRef) -> Result<u64, DriverError> {
        Ok(c.0)
    }
    fn pay(
        &mut self,
        _: At,
        _: CustomerRef,
        _: Yen,
        _: &str,
        _: &str,
    ) -> Result<bool, DriverError> {
        Ok(true)
    }
}

fn env_u32(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let customers = env_u32("ATOBARAI_SIM_BENCH_CUSTOMERS", 20_000);
    let days = env_u32("ATOBARAI_SIM_BENCH_DAYS", 180);
    let opts = Options::new(customers, days, 1);

    let started = Instant::now();
    let mut null = Null::default();
    let r = run(&opts, &mut null, &mut |_| {}).expect("null market");
    let s = started.elapsed().as_secs_f64();
    println!(
        "null driver:  {customers} persons × {days} days: {} orders in {s:.2} s = {:.0} orders/s (the simulator's own cost)",
        r.totals.orders,
        r.totals.orders as f64 / s
    );

    let started = Instant::now();
    let mut engine = InProcess::new(Default::default());
    let r = run(&opts, &mut engine, &mut |_| {}).expect("in-process market");
    let s = started.elapsed().as_secs_f64();
    let stats = engine.engine().stats();
    println!(
        "in process:   {customers} persons × {days} days: {} orders in {s:.2} s = {:.0} orders/s; {} engine commands applied = {:.0} commands/s",
        r.totals.orders,
        r.totals.orders as f64 / s,
        stats.applied,
        stats.applied as f64 / s
    );
}
