//! `atobarai simulate`: the command line of the synthetic market.

use crate::driver::Driver;
use crate::driver::http::Http;
use crate::driver::in_process::InProcess;
use crate::personas::Personas;
use crate::report::{Report, html, json, table};
use crate::{Options, run, run_labelled};
use anyhow::{Context, Result, bail};
use atobarai_core::{Config, JstDate};
use atobarai_engine::DatasetRecorder;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Arguments of `atobarai simulate`.
#[derive(clap::Args, Clone, Debug)]
pub struct SimulateArgs {
    /// Persons in the market.
    #[arg(long, default_value_t = 10_000)]
    pub customers: u32,
    /// Days the market runs.
    #[arg(long, default_value_t = 180)]
    pub days: u32,
    /// Seed of every random choice (same seed, same commit → same report).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Risk rules file (TOML with `[set]`, as `rules/default.toml`),
    /// journaled with `SetRiskRules` at the market's start; it decides
    /// every authorization's risk. Default: the shipped rules
    /// (`rules/default.toml`, built in).
    #[arg(long, conflicts_with_all = ["compare", "baseline"])]
    pub rules: Option<PathBuf>,
    /// No risk rule set: the engine's built-in `BaselinePolicy` decides
    /// (the policy before rule sets, for comparison).
    #[arg(long, conflicts_with = "compare")]
    pub baseline: bool,
    /// A configuration file as `atobarai serve --config` reads it (TOML):
    /// its credit, billing, limits, dunning and identity settings apply
    /// (with --compare, to both runs). Default: the built-in configuration.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Personas file (TOML: `[shares]` per persona, `[market]` settings).
    #[arg(long)]
    pub personas: Option<PathBuf>,
    /// Drive a running `atobarai serve --clock manual` at this URL instead
    /// of an engine in process (start it on an empty data directory).
    #[arg(long)]
    pub server: Option<String>,
    /// With --server: an admin operator key (clock, shops, reviews).
    #[arg(long, env = "ATOBARAI_SIM_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<String>,
    /// With --server: a payment channel's key (`operator add --role payments`).
    #[arg(long, env = "ATOBARAI_SIM_PAYMENTS_KEY", hide_env_values = true)]
    pub payments_key: Option<String>,
    /// Write report.json and report.html (compare.json and compare.html
    /// with --compare) into this directory.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// One market, two risk rules files, side by side (`@default`: the
    /// shipped rules; `@baseline`: no rule set, the built-in policy).
    #[arg(long, num_args = 2, value_names = ["A", "B"])]
    pub compare: Option<Vec<PathBuf>>,
    /// The market's first day (JST).
    #[arg(long, default_value = crate::DEFAULT_START)]
    pub start: String,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Also write a training dataset (in process only): one row per
    /// authorization with the risk features at decision time and the
    /// outcome at the market's end (as `atobarai model dataset` writes
    /// them), plus the market's own labels: `persona`, `target` (screening
    /// should stop this order) and `abuser` (the person is not in an honest
    /// group). Train on it with `atobarai model train --label target
    /// --positive true --split split`.
    #[arg(long, conflicts_with_all = ["server", "compare"])]
    pub dataset: Option<PathBuf>,
}

/// A configuration file: the server's configuration format (TOML),
/// checked like the server checks it.
pub fn load_config(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading configuration file {}", path.display()))?;
    let config: Config = toml::from_str(&text).with_context(|| {
        format!(
            "configuration file {} is not a valid configuration",
            path.display()
        )
    })?;
    if let Err(problems) = config.validate() {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        bail!(
            "configuration file {} out of range:\n  {}",
            path.display(),
            list.join("\n  ")
        );
    }
    Ok(config)
}

/// Which risk rules decide a market run in process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RiskRules {
    /// No rule set: the engine's built-in policy.
    Baseline,
    /// A rules file's text.
    Set {
        /// Its name in the report.
        name: String,
        /// The file as written.
        source: String,
    },
}

impl RiskRules {
    /// The shipped rules (`rules/default.toml`).
    pub fn shipped() -> RiskRules {
        RiskRules::Set {
            name: "default.toml (shipped)".into(),
            source: atobarai_engine::risk::rules::DEFAULT_RULES.to_string(),
        }
    }

    /// The name the report gives them.
    pub fn name(&self) -> &str {
        match self {
            RiskRules::Baseline => "baseline (no rule set)",
            RiskRules::Set { name, .. } => name,
        }
    }
}

/// A risk rules file, checked as the engine checks it (every error with its
/// line and column). `@default` is the shipped set, `@baseline` none.
pub fn load_rules(path: &Path) -> Result<RiskRules> {
    match path.to_str() {
        Some("@default") => return Ok(RiskRules::shipped()),
        Some("@baseline") => return Ok(RiskRules::Baseline),
        _ => {}
    }
    let source = std::fs::read_to_string(path)
        .with_context(|| format!("reading risk rules file {}", path.display()))?;
    if let Err(errors) = crate::driver::in_process::risk_rule_infos(&source) {
        bail!("risk rules file {}:\n{errors}", path.display());
    }
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(RiskRules::Set { name, source })
}

fn bar(days: u32, quiet: bool, label: &str) -> ProgressBar {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(u64::from(days))
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} day {pos}/{len} {bar:40} {elapsed_precise} (eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix(label.to_string());
    bar
}

struct Timed {
    report: Report,
    seconds: f64,
    requests: Option<u64>,
}

fn one(
    opts: &Options,
    config: Config,
    rules: &RiskRules,
    args: &SimulateArgs,
    label: &str,
) -> Result<Timed> {
    let bar = bar(opts.days, args.quiet, label);
    let mut progress = |day: u32| bar.set_position(u64::from(day));
    let started = Instant::now();
    let (report, requests) = match &args.server {
        None => {
            let mut driver = match rules {
                RiskRules::Baseline => InProcess::new(config),
                RiskRules::Set { source, .. } => InProcess::with_risk_rules(config, source)
                    .map_err(|e| anyhow::anyhow!("risk rules:\n{e}"))?,
            };
            match &args.dataset {
                None => (run(opts, &mut driver, &mut progress)?, None),
                Some(path) => {
                    let recorder = DatasetRecorder::install(driver.engine_mut());
                    let (report, labels) = run_labelled(opts, &mut driver, &mut progress)?;
                    let rows = recorder.finish(driver.engine_mut());
                    write_market_dataset(driver.engine(), &rows, &labels, path)?;
                    (report, None)
                }
            }
        }
        Some(url) => {
            let admin = args
                .admin_key
                .as_deref()
                .context("--server needs --admin-key (or ATOBARAI_SIM_ADMIN_KEY)")?;
            let payments = args
                .payments_key
                .as_deref()
                .context("--server needs --payments-key (or ATOBARAI_SIM_PAYMENTS_KEY)")?;
            let mut driver = Http::new(url, admin, payments, &format!("sim-{}", opts.seed))?;
            let report = run(opts, &mut driver, &mut progress)
                .with_context(|| format!("driving {}", driver.name()))?;
            (report, Some(driver.requests()))
        }
    };
    bar.finish_and_clear();
    Ok(Timed {
        report,
        seconds: started.elapsed().as_secs_f64(),
        requests,
    })
}

/// The dataset rows of a market with its labels as extra columns.
fn write_market_dataset(
    engine: &atobarai_engine::Engine,
    rows: &[atobarai_engine::DatasetRow],
    labels: &[crate::report::OrderLabel],
    path: &Path,
) -> Result<()> {
    let mut by_order: Vec<Option<crate::report::OrderLabel>> = Vec::new();
    for l in labels {
        let Ok(i) = usize::try_from(l.order) else {
            continue;
        };
        if by_order.len() <= i {
            by_order.resize(i + 1, None);
        }
        by_order[i] = Some(*l);
    }
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let counts = atobarai_engine::write_dataset(
        engine,
        rows,
        atobarai_engine::DatasetOptions {
            default_after_days: 60,
            test_every: 3,
        },
        &["persona", "target", "abuser"],
        &mut |order, line| match by_order.get(order as usize).copied().flatten() {
            Some(l) => {
                line.push('\t');
                line.push_str(l.persona.as_str());
                line.push_str(if l.target { "\ttrue" } else { "\tfalse" });
                line.push_str(if l.persona.is_honest_group() {
                    "\tfalse"
                } else {
                    "\ttrue"
                });
            }
            None => line.push_str("\t\t\t"),
        },
        file,
    )
    .with_context(|| format!("writing {}", path.display()))?;
    eprintln!("wrote {} ({} rows)", path.display(), rows.len());
    for (outcome, n) in counts {
        eprintln!("  {outcome:<18} {n}");
    }
    Ok(())
}

fn rate(n: u64, seconds: f64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let n = n as f64;
    if seconds > 0.0 { n / seconds } else { 0.0 }
}

fn timing(t: &Timed) {
    let orders = t.report.totals.orders;
    eprintln!(
        "{} orders in {:.2} s: {:.0} orders/s{}",
        orders,
        t.seconds,
        rate(orders, t.seconds),
        t.requests.map_or_else(String::new, |r| format!(
            "; {r} HTTP requests, {:.0} requests/s",
            rate(r, t.seconds)
        ))
    );
}

fn write(dir: &Path, name: &str, text: &str) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(name);
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// Run `atobarai simulate`.
pub fn run_cli(args: SimulateArgs) -> Result<()> {
    let personas = match &args.personas {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading personas file {}", p.display()))?;
            Personas::from_toml(&text)?
        }
        None => Personas::default(),
    };
    if args.customers == 0 || args.days == 0 {
        bail!("--customers and --days must be at least 1");
    }
    let start = JstDate::parse(&args.start)
        .map_err(|_| anyhow::anyhow!("--start {:?} is not YYYY-MM-DD", args.start))?;
    let mut opts = Options::new(args.customers, args.days, args.seed);
    opts.personas = personas;
    opts.start = start;
    let config = match &args.config {
        Some(path) => {
            if args.server.is_some() {
                bail!(
                    "--config applies in process; a server runs the configuration it was started with (serve --config FILE)"
                );
            }
            load_config(path)?
        }
        None => Config::default(),
    };
    if let Some(files) = &args.compare {
        if args.server.is_some() {
            bail!("--compare runs in process (a server runs one rule set); drop --server");
        }
        let [a, b] = files.as_slice() else {
            bail!("--compare takes two rules files");
        };
        let mut reports = Vec::new();
        for (path, label) in [(a, "A"), (b, "B")] {
            let rules = load_rules(path)?;
            let mut o = opts.clone();
            o.rules_name = rules.name().to_string();
            let t = one(&o, config.clone(), &rules, &args, label)?;
            timing(&t);
            reports.push(t.report);
        }
        let (ra, rb) = (&reports[0], &reports[1]);
        print!("{}", table::render_compare(ra, rb));
        if let Some(dir) = &args.report {
            write(dir, "compare.json", &json::render_compare(ra, rb))?;
            write(dir, "compare.html", &html::render_compare(ra, rb))?;
        }
        return Ok(());
    }
    if args.server.is_some() && (args.rules.is_some() || args.baseline) {
        bail!(
            "--rules and --baseline apply in process; a server decides with the risk rules it runs"
        );
    }
    let rules = match &args.rules {
        Some(path) => load_rules(path)?,
        None if args.baseline => RiskRules::Baseline,
        None => RiskRules::shipped(),
    };
    opts.rules_name = if args.server.is_some() {
        "the server's".into()
    } else {
        rules.name().to_string()
    };
    let t = one(&opts, config, &rules, &args, "market")?;
    print!("{}", table::render(&t.report));
    timing(&t);
    if let Some(dir) = &args.report {
        write(dir, "report.json", &json::render(&t.report))?;
        write(dir, "report.html", &html::render(&t.report))?;
    }
    Ok(())
}
