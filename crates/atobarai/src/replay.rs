//! Replaying a data directory's journal (read only: a running server may
//! keep writing it) into an engine, with a progress bar — the shared path
//! of `backtest` and `model dataset`.

use anyhow::{Context, Result, bail};
use atobarai_engine::{Engine, Envelope};
use atobarai_store::Journal;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;

/// What to do with the next envelope.
pub(crate) enum Step {
    /// Apply it.
    Apply,
    /// Stop before it.
    Stop,
}

/// Replay the journal of `data_dir` into `engine`; `before` sees each
/// envelope (and the engine) first. Returns the records applied.
pub(crate) fn replay(
    data_dir: &Path,
    engine: &mut Engine,
    mut before: impl FnMut(&mut Engine, &Envelope) -> Step,
) -> Result<u64> {
    let path = data_dir.join("journal.sqlite");
    if !path.exists() {
        bail!("no journal at {}", path.display());
    }
    let journal = atobarai_store::SqliteJournal::open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    let bar = ProgressBar::new(journal.last_seq()?);
    bar.set_style(
        ProgressStyle::with_template("{spinner} replaying {pos}/{len} records [{bar:40}] {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut done = false;
    let mut replayed = 0u64;
    let mut failure: Option<anyhow::Error> = None;
    journal.read_after(0, &mut |record| {
        if done {
            return Ok(());
        }
        let envelope = match Envelope::decode_record(&record.payload) {
            Ok((envelope, _)) => envelope,
            Err(e) => {
                failure = Some(anyhow::anyhow!(
                    "record {} does not decode: {e}",
                    record.seq
                ));
                done = true;
                return Ok(());
            }
        };
        if let Step::Stop = before(engine, &envelope) {
            done = true;
            return Ok(());
        }
        if let Err(e) = engine.apply(&envelope) {
            failure = Some(anyhow::anyhow!("record {} does not apply: {e}", record.seq));
            done = true;
            return Ok(());
        }
        replayed += 1;
        if replayed.is_multiple_of(4096) {
            bar.set_position(replayed);
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    match failure {
        Some(e) => Err(e),
        None => Ok(replayed),
    }
}
