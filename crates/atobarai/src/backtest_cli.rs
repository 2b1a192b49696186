//! `atobarai backtest`: the journal replayed with another rule set.

use anyhow::Result;
use std::path::PathBuf;

/// Arguments of `atobarai backtest`.
#[derive(clap::Args)]
pub(crate) struct BacktestArgs {
    /// Directory of the embedded store whose journal is replayed.
    #[arg(long, default_value = "./atobarai-data", env = "ATOBARAI_DATA_DIR")]
    data_dir: PathBuf,
    /// The rule set to try (TOML rules file).
    #[arg(long)]
    rules: PathBuf,
}

pub(crate) fn run(args: BacktestArgs) -> Result<()> {
    anyhow::bail!("backtest is being written ({})", args.rules.display())
}
