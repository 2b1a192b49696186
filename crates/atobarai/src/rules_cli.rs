//! `atobarai rules check FILE` and `atobarai rules test FILE CASES`.

use anyhow::Result;
use clap::Subcommand;
use std::path::PathBuf;

/// What `atobarai rules` can do.
#[derive(Subcommand)]
pub(crate) enum RulesCmd {
    /// Check a rules file against the engine's features: every error with
    /// its line and column; exit status 1 when there is one.
    Check {
        /// The rules file (TOML).
        file: PathBuf,
    },
    /// Run a cases file against a rules file: each case's expected outcome
    /// and reasons; exit status 1 when a case fails.
    Test {
        /// The rules file (TOML).
        file: PathBuf,
        /// The cases file (TOML).
        cases: PathBuf,
    },
}

pub(crate) fn run(command: RulesCmd) -> Result<()> {
    match command {
        RulesCmd::Check { file } | RulesCmd::Test { file, .. } => {
            anyhow::bail!("rules commands are being written ({})", file.display())
        }
    }
}
