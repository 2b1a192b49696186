//! `atobarai backtest`: the journal replayed with a trial rule set beside
//! the live decisions (see `atobarai_engine`'s backtest module for what is
//! and is not counterfactual), reported as a terminal table, JSON and HTML.

use crate::replay::Step;
use anyhow::{Context, Result, bail};
use atobarai_core::{JstDate, ids};
use atobarai_engine::{BacktestResult, Decision, Engine, prefix};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Example orders listed per rule.
const EXAMPLES_MAX: usize = 5;

/// Arguments of `atobarai backtest`.
#[derive(clap::Args)]
pub(crate) struct BacktestArgs {
    /// Directory of the embedded store whose journal is replayed (read
    /// only; a running server may keep writing it).
    #[arg(long, default_value = "./atobarai-data", env = "ATOBARAI_DATA_DIR")]
    data_dir: PathBuf,
    /// The rule set to try (TOML rules file).
    #[arg(long)]
    rules: PathBuf,
    /// First day (JST, `YYYY-MM-DD`) whose decisions are compared.
    #[arg(long)]
    from: Option<String>,
    /// Last day (JST, `YYYY-MM-DD`) whose decisions are compared.
    #[arg(long)]
    to: Option<String>,
    /// Configuration file the server runs with (TOML), if any.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Directory to write `backtest.json` and `backtest.html` into.
    #[arg(long)]
    report: Option<PathBuf>,
}

/// The report, as written to `backtest.json`.
#[derive(Serialize)]
struct Report {
    journal_records: u64,
    rules_file: String,
    trial_set: String,
    trial_set_version: u32,
    from: Option<String>,
    to: Option<String>,
    evaluated: u64,
    changed: u64,
    /// `live → trial` counts, e.g. `"approve→review"`.
    matrix: BTreeMap<String, u64>,
    rules: Vec<RuleRow>,
    /// Live reasons (rule ids or built-in reason codes) of decisions the
    /// trial set would approve instead.
    released: Vec<ReleasedRow>,
    examples: Vec<Example>,
}

#[derive(Serialize)]
struct RuleRow {
    id: String,
    hits_live: u64,
    hits_shadow: u64,
    /// Decisions changed with this rule among the trial's deciding rules.
    changed: u64,
    examples: Vec<String>,
}

#[derive(Serialize)]
struct ReleasedRow {
    live_reason: String,
    orders: u64,
    examples: Vec<String>,
}

#[derive(Serialize)]
struct Example {
    order: String,
    at: String,
    amount: i64,
    live: &'static str,
    live_why: Vec<String>,
    trial: &'static str,
    trial_why: Vec<String>,
}

fn parse_day(s: &str, what: &str) -> Result<JstDate> {
    JstDate::parse(s).map_err(|_| anyhow::anyhow!("--{what} {s:?} is not a date (YYYY-MM-DD)"))
}

pub(crate) fn run(args: BacktestArgs) -> Result<()> {
    let source = std::fs::read_to_string(&args.rules)
        .with_context(|| format!("reading {}", args.rules.display()))?;
    let trial = atobarai_engine::risk::rules::compile(&source).map_err(|errors| {
        let listed: Vec<String> = errors
            .iter()
            .map(|e| format!("{}:{e}", args.rules.display()))
            .collect();
        anyhow::anyhow!("the rules file does not check:\n{}", listed.join("\n"))
    })?;
    let (set_name, set_version) = (trial.name.clone(), trial.version);
    let from = args
        .from
        .as_deref()
        .map(|s| parse_day(s, "from"))
        .transpose()?;
    let to = args.to.as_deref().map(|s| parse_day(s, "to")).transpose()?;
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        bail!("--from is after --to");
    }
    let config = super::load_config(args.config.as_ref())?;
    let mut engine = Engine::new(atobarai_server::node::history_config(config));
    let mut trial = Some(trial);
    let replayed = crate::replay::replay(&args.data_dir, &mut engine, |engine, envelope| {
        let day = envelope.at.jst_date();
        if to.is_some_and(|t| day > t) {
            return Step::Stop;
        }
        if from.is_none_or(|f| day >= f)
            && let Some(set) = trial.take()
        {
            engine.start_backtest(set);
        }
        Step::Apply
    })?;
    let Some(result) = engine.finish_backtest() else {
        bail!("no decision in the range: nothing was compared");
    };
    let report = build_report(
        &result,
        replayed,
        &args.rules.display().to_string(),
        (set_name, set_version),
        (args.from, args.to),
    );
    print!("{}", table(&report));
    if let Some(dir) = &args.report {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(
            dir.join("backtest.json"),
            serde_json::to_vec_pretty(&report)?,
        )?;
        std::fs::write(dir.join("backtest.html"), html(&report))?;
        println!("report written to {}", dir.display());
    }
    Ok(())
}

fn name(d: Decision) -> &'static str {
    d.as_str()
}

fn order_id(oi: u32) -> String {
    ids::encode(prefix::ORDER, u64::from(oi))
}

fn build_report(
    r: &BacktestResult,
    records: u64,
    rules_file: &str,
    (trial_set, trial_set_version): (String, u32),
    (from, to): (Option<String>, Option<String>),
) -> Report {
    let all = [Decision::Approve, Decision::Review, Decision::Decline];
    let mut matrix = BTreeMap::new();
    for live in all {
        for trial in all {
            let n = r.matrix[atobarai_engine::decision_index(live)]
                [atobarai_engine::decision_index(trial)];
            matrix.insert(format!("{}→{}", name(live), name(trial)), n);
        }
    }
    let mut rules: Vec<RuleRow> = r
        .trial_rules
        .iter()
        .zip(&r.trial_hits)
        .map(|(id, h)| RuleRow {
            id: id.clone(),
            hits_live: h[0],
            hits_shadow: h[1],
            changed: 0,
            examples: Vec::new(),
        })
        .collect();
    let mut released: BTreeMap<String, (u64, Vec<String>)> = BTreeMap::new();
    for c in &r.changed {
        for id in &c.trial_why {
            if let Some(row) = rules.iter_mut().find(|row| &row.id == id) {
                row.changed += 1;
                if row.examples.len() < EXAMPLES_MAX {
                    row.examples.push(order_id(c.order));
                }
            }
        }
        if c.trial == Decision::Approve {
            for why in &c.live_why {
                let e = released.entry(why.clone()).or_default();
                e.0 += 1;
                if e.1.len() < EXAMPLES_MAX {
                    e.1.push(order_id(c.order));
                }
            }
        }
    }
    let changed = u64::try_from(r.changed.len())
        .unwrap_or(u64::MAX)
        .saturating_add(r.changed_not_kept);
    Report {
        journal_records: records,
        rules_file: rules_file.to_owned(),
        trial_set,
        trial_set_version,
        from,
        to,
        evaluated: r.evaluated,
        changed,
        matrix,
        rules,
        released: released
            .into_iter()
            .map(|(live_reason, (orders, examples))| ReleasedRow {
                live_reason,
                orders,
                examples,
            })
            .collect(),
        examples: r
            .changed
            .iter()
            .take(50)
            .map(|c| Example {
                order: order_id(c.order),
                at: c.at.to_rfc3339_jst(),
                amount: c.amount.get(),
                live: name(c.live),
                live_why: c.live_why.clone(),
                trial: name(c.trial),
                trial_why: c.trial_why.clone(),
            })
            .collect(),
    }
}

fn pct(n: u64, of: u64) -> String {
    if of == 0 {
        return "-".into();
    }
    // Basis points in integers, printed with two decimals.
    let bp = n.saturating_mul(10_000) / of;
    format!("{}.{:02} %", bp / 100, bp % 100)
}

/// Columns padded to their widest cell (by characters).
fn grid(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let pad = width[c].saturating_sub(cell.chars().count());
            let _ = write!(out, "{cell}{} ", " ".repeat(pad));
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
        if i == 0 {
            let total: usize = width.iter().sum::<usize>() + cols;
            out.push_str(&"-".repeat(total.saturating_sub(1)));
            out.push('\n');
        }
    }
    out
}

fn table(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "backtest of {} (set {} v{}) over {} journal records{}{}",
        r.rules_file,
        r.trial_set,
        r.trial_set_version,
        r.journal_records,
        r.from
            .as_deref()
            .map(|f| format!(", from {f}"))
            .unwrap_or_default(),
        r.to.as_deref()
            .map(|t| format!(", to {t}"))
            .unwrap_or_default(),
    );
    let _ = writeln!(
        out,
        "decisions compared: {}   changed: {} ({})\n",
        r.evaluated,
        r.changed,
        pct(r.changed, r.evaluated)
    );
    let mut m = vec![vec![
        "live \\ trial".to_owned(),
        "approve".into(),
        "review".into(),
        "decline".into(),
    ]];
    for live in ["approve", "review", "decline"] {
        let mut row = vec![live.to_owned()];
        for trial in ["approve", "review", "decline"] {
            row.push(r.matrix[&format!("{live}→{trial}")].to_string());
        }
        m.push(row);
    }
    out.push_str(&grid(&m));
    out.push('\n');
    let mut rules = vec![vec![
        "trial rule".to_owned(),
        "hits live".into(),
        "hits shadow".into(),
        "changed".into(),
        "examples".into(),
    ]];
    for row in &r.rules {
        rules.push(vec![
            row.id.clone(),
            row.hits_live.to_string(),
            row.hits_shadow.to_string(),
            row.changed.to_string(),
            row.examples.join(" "),
        ]);
    }
    out.push_str(&grid(&rules));
    if !r.released.is_empty() {
        out.push('\n');
        let mut rel = vec![vec![
            "released (live reason)".to_owned(),
            "orders".into(),
            "examples".into(),
        ]];
        for row in &r.released {
            rel.push(vec![
                row.live_reason.clone(),
                row.orders.to_string(),
                row.examples.join(" "),
            ]);
        }
        out.push_str(&grid(&rel));
    }
    out
}

use atobarai_core::html::escape as esc;

fn html(r: &Report) -> String {
    let mut out = String::from(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>atobarai backtest</title>\
         <style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}\
         td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}\
         .bar{background:#c33;height:10px;display:inline-block}</style>",
    );
    let _ = write!(
        out,
        "<h1>Backtest of {}</h1><p>Trial set <b>{} v{}</b> over {} journal records. \
         Decisions compared: {}; changed: {} ({}).</p>",
        esc(&r.rules_file),
        esc(&r.trial_set),
        r.trial_set_version,
        r.journal_records,
        r.evaluated,
        r.changed,
        esc(&pct(r.changed, r.evaluated)),
    );
    out.push_str("<h2>Live → trial</h2><table><tr><th>live \\ trial</th><th>approve</th><th>review</th><th>decline</th></tr>");
    for live in ["approve", "review", "decline"] {
        let _ = write!(out, "<tr><td>{live}</td>");
        for trial in ["approve", "review", "decline"] {
            let _ = write!(out, "<td>{}</td>", r.matrix[&format!("{live}→{trial}")]);
        }
        out.push_str("</tr>");
    }
    out.push_str("</table><h2>Trial rules</h2><table><tr><th>rule</th><th>hits live</th><th>hits shadow</th><th>changed</th><th></th><th>examples</th></tr>");
    let most = r.rules.iter().map(|x| x.changed).max().unwrap_or(0).max(1);
    for row in &r.rules {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><span class=\"bar\" style=\"width:{}px\"></span></td><td>{}</td></tr>",
            esc(&row.id),
            row.hits_live,
            row.hits_shadow,
            row.changed,
            row.changed.saturating_mul(200) / most,
            esc(&row.examples.join(" "))
        );
    }
    out.push_str("</table>");
    if !r.released.is_empty() {
        out.push_str("<h2>Released (live reason → trial approves)</h2><table><tr><th>live reason</th><th>orders</th><th>examples</th></tr>");
        for row in &r.released {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&row.live_reason),
                row.orders,
                esc(&row.examples.join(" "))
            );
        }
        out.push_str("</table>");
    }
    out.push_str("<h2>First changed decisions</h2><table><tr><th>order</th><th>at</th><th>amount</th><th>live</th><th>trial</th></tr>");
    for e in &r.examples {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>¥{}</td><td>{} {}</td><td>{} {}</td></tr>",
            esc(&e.order),
            esc(&e.at),
            e.amount,
            e.live,
            esc(&e.live_why.join(", ")),
            e.trial,
            esc(&e.trial_why.join(", "))
        );
    }
    out.push_str("</table></html>\n");
    out
}
