//! `atobarai model dataset`: one row per authorization of a store's
//! journal — the risk features as they were at the decision (captured
//! while the journal replays, so nothing from after the decision can leak
//! in) and the outcome observed at the end — ready for `model train`.

use crate::replay::Step;
use anyhow::{Context, Result};
use atobarai_engine::risk::features::{FEATURES, FeatureValue};
use atobarai_engine::{Engine, OrderOutcome};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Arguments of `atobarai model dataset`.
#[derive(clap::Args)]
pub(crate) struct DatasetArgs {
    /// Directory of the embedded store whose journal is replayed.
    #[arg(long, default_value = "./atobarai-data", env = "ATOBARAI_DATA_DIR")]
    data_dir: PathBuf,
    /// The TSV file to write.
    #[arg(long)]
    out: PathBuf,
    /// Days past the due date after which an unpaid order counts as
    /// `defaulted`.
    #[arg(long, default_value_t = 60)]
    default_after_days: i64,
    /// Every N-th row (by order number) goes to `test` in the `split`
    /// column, the rest to `train`.
    #[arg(long, default_value_t = 3)]
    test_every: u32,
    /// Configuration file the server runs with (TOML), if any.
    #[arg(long)]
    config: Option<PathBuf>,
}

/// One tapped decision: the order and its features, already formatted.
struct Row {
    order: u32,
    at: String,
    cells: String,
}

fn cell(v: FeatureValue, out: &mut String) {
    match v {
        FeatureValue::Int(i) => {
            let _ = write!(out, "{i}");
        }
        FeatureValue::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        FeatureValue::Str(s) => out.push_str(s),
    }
}

/// The rows of a replayed journal with their outcomes, as TSV, and how
/// many rows each outcome has.
fn dataset_tsv(
    engine: &Engine,
    rows: &[Row],
    args: &DatasetArgs,
) -> (String, std::collections::BTreeMap<&'static str, u64>) {
    let mut counts = std::collections::BTreeMap::new();
    let outcomes = engine.order_outcomes(args.default_after_days);
    let mut out = String::from("order\tat");
    for d in FEATURES {
        out.push('\t');
        out.push_str(d.name);
    }
    out.push_str("\tdecision\toutcome\tsplit\n");
    for r in rows {
        let Some(outcome) = outcomes.get(r.order as usize) else {
            continue;
        };
        *counts.entry(outcome.as_str()).or_default() += 1;
        let decision = match outcome {
            OrderOutcome::Declined => "decline",
            _ => "approve_or_review",
        };
        let split = if args.test_every > 0 && r.order % args.test_every == 0 {
            "test"
        } else {
            "train"
        };
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{decision}\t{}\t{split}",
            atobarai_core::ids::encode(atobarai_engine::prefix::ORDER, u64::from(r.order)),
            r.at,
            r.cells,
            outcome.as_str()
        );
    }
    (out, counts)
}

pub(crate) fn run(args: &DatasetArgs) -> Result<()> {
    let config = super::load_config(args.config.as_ref())?;
    let mut engine = Engine::new(config);
    let rows: Arc<Mutex<Vec<Row>>> = Arc::default();
    let sink = Arc::clone(&rows);
    engine.set_feature_tap(Some(Box::new(move |order, at, features| {
        let mut cells = String::new();
        for (i, (_, v)) in features.iter().enumerate() {
            if i > 0 {
                cells.push('\t');
            }
            cell(v, &mut cells);
        }
        let row = Row {
            order,
            at: at.to_rfc3339_jst(),
            cells,
        };
        sink.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(row);
    })));
    let replayed = crate::replay::replay(&args.data_dir, &mut engine, |_, _| Step::Apply)?;
    engine.set_feature_tap(None);
    let rows = std::mem::take(
        &mut *rows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    let (text, counts) = dataset_tsv(&engine, &rows, args);
    let mut file = std::fs::File::create(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    file.write_all(text.as_bytes())?;
    println!(
        "{} rows from {replayed} journal records written to {}",
        rows.len(),
        args.out.display()
    );
    for (outcome, n) in counts {
        println!("  {outcome:<18} {n}");
    }
    Ok(())
}
