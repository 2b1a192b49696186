//! `atobarai model dataset`: one row per authorization of a store's
//! journal — the risk features as they were at the decision (captured
//! while the journal replays, so nothing from after the decision can leak
//! in) and the outcome observed at the end — ready for `model train`.

use crate::replay::Step;
use anyhow::{Context, Result};
use atobarai_engine::{DatasetOptions, DatasetRecorder, Engine, write_dataset};
use std::path::PathBuf;

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

pub(crate) fn run(args: &DatasetArgs) -> Result<()> {
    let config = super::load_config(args.config.as_ref())?;
    let mut engine = Engine::new(atobarai_server::node::history_config(config));
    let recorder = DatasetRecorder::install(&mut engine);
    let replayed = crate::replay::replay(&args.data_dir, &mut engine, |_, _| Step::Apply)?;
    let rows = recorder.finish(&mut engine);
    let file = std::fs::File::create(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let counts = write_dataset(
        &engine,
        &rows,
        DatasetOptions {
            default_after_days: args.default_after_days,
            test_every: args.test_every,
        },
        &[],
        &mut |_, _| {},
        file,
    )
    .with_context(|| format!("writing {}", args.out.display()))?;
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
