//! `atobarai-sim`: the synthetic market (issue 9). A seeded population of
//! honest shoppers and abusers ([`personas`]) shops, pays and defaults over
//! a horizon of days ([`scenario`]); a [`driver::Driver`] turns each request
//! into engine commands in process or HTTP requests against
//! `atobarai serve --clock manual`, and [`report`] joins the engine's
//! answers with the labels the simulator kept, into the detection report a
//! risk team reads (terminal table, JSON, a self-contained HTML page).
//!
//! Determinism: every random choice comes from ChaCha streams seeded from
//! the seed (one per person), events are ordered by time and a sequence
//! number, and no hash map is iterated into an output. Same seed, same
//! personas, same rules and same commit → the same report, byte for byte,
//! from either driver.
//!
//! Labels (persona, person, target) never leave the simulator: drivers get
//! requests of the types in [`driver`], which have no field for them.

#![deny(missing_docs)]

pub mod addresses;
pub mod catalog;
pub mod cli;
pub mod driver;
pub mod personas;
pub mod population;
pub mod report;
pub mod scenario;

use atobarai_core::JstDate;
use driver::Driver;
use personas::Personas;
use report::{Collector, MarketMeta, Report};
use scenario::{MarketError, MarketSpec, Scenario};

/// The default first day of a market.
pub const DEFAULT_START: &str = "2026-04-01";

/// What to simulate.
#[derive(Clone, Debug)]
pub struct Options {
    /// Persons in the market.
    pub customers: u32,
    /// Days it runs.
    pub days: u32,
    /// The seed.
    pub seed: u64,
    /// Who is in it.
    pub personas: Personas,
    /// The first day (JST).
    pub start: JstDate,
    /// The name of the risk rules the engine runs with (for the report).
    pub rules_name: String,
}

impl Options {
    /// A market of `customers` persons over `days` days with `seed`, the
    /// built-in personas and the shipped rules, from [`DEFAULT_START`].
    pub fn new(customers: u32, days: u32, seed: u64) -> Options {
        Options {
            customers,
            days,
            seed,
            personas: Personas::default(),
            start: default_start(),
            rules_name: "shipped".into(),
        }
    }
}

/// [`DEFAULT_START`] as a date.
pub fn default_start() -> JstDate {
    JstDate::parse(DEFAULT_START).expect("DEFAULT_START is a valid date")
}

/// Run one market on `driver` and report it. `progress` hears the day
/// number as each day starts.
pub fn run<D: Driver>(
    opts: &Options,
    driver: &mut D,
    progress: &mut dyn FnMut(u32),
) -> Result<Report, MarketError> {
    run_labelled(opts, driver, progress).map(|(report, _)| report)
}

/// [`run`], also handing back the simulator's label of every order the
/// engine numbered (for a training dataset: the market's own ground
/// truth, which the engine never sees).
pub fn run_labelled<D: Driver>(
    opts: &Options,
    driver: &mut D,
    progress: &mut dyn FnMut(u32),
) -> Result<(Report, Vec<report::OrderLabel>), MarketError> {
    let mut scenario = Scenario::new(MarketSpec {
        customers: opts.customers,
        days: opts.days,
        seed: opts.seed,
        personas: opts.personas.clone(),
        start: opts.start,
    })?;
    let mut col = Collector::new(
        scenario
            .persons()
            .iter()
            .map(|p| (p.persona, p.accounts.len())),
    );
    scenario.run(driver, &mut col, progress)?;
    let rules = driver.risk_rules();
    let personas_of: Vec<_> = scenario.persons().iter().map(|p| p.persona).collect();
    let meta = MarketMeta::new(
        opts.seed,
        opts.customers,
        opts.days,
        opts.start.to_string(),
        opts.rules_name.clone(),
        &opts.personas,
    );
    let labels = col.take_order_labels();
    Ok((col.finish(meta, &personas_of, &rules), labels))
}
