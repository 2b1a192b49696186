//! `atobarai model train|report`: weight-of-evidence scorecards.

use anyhow::Result;
use clap::Subcommand;

/// What `atobarai model` can do.
#[derive(Subcommand)]
pub(crate) enum ModelCmd {
    /// Fit a scorecard (being written).
    Train,
}

pub(crate) fn run(command: ModelCmd) -> Result<()> {
    match command {
        ModelCmd::Train => anyhow::bail!("model training is being written"),
    }
}
