//! `atobarai verify`, `atobarai export` and `atobarai import`: check a
//! journal by replaying it, and move a journal between backends through a
//! portable, checksummed file.
//!
//! ```text
//! atobarai verify [--data-dir DIR | --journal URL [--schema S]] [--config FILE] [--every N]
//! atobarai export [--data-dir DIR | --journal URL [--schema S]] --out FILE
//! atobarai import --in FILE (--data-dir DIR | --journal URL [--schema S])
//!                 [--config FILE] [--expect-digest HEX]
//! ```
//!
//! `--journal` takes `postgres://…` (the tables in `--schema`, `atobarai`
//! by default, as `serve --database … --schema …`) or
//! `nats://host:port[/stream]` (stream `ATOBARAI` by default). Without
//! either, `verify` and `export` read `$ATOBARAI_DATA_DIR` or
//! `./atobarai-data`; `import` wants its target named.
//!
//! **verify** replays every record into a fresh engine, read only: on a
//! data directory it opens `journal.sqlite` without taking the directory's
//! lock, so a running server may keep appending (the replay sees the
//! journal as of its start). A networked journal is opened through its
//! backend, which takes the schema's advisory lock (PostgreSQL): stop the
//! server first there. Each record must decode, apply, change the state
//! (the engine's position equals the record's seq) and, for an
//! authorization, reproduce the decision recorded with it;
//! `Engine::check_invariants` runs every `--every` records (10,000) and at
//! the end; when the replay reaches the newest stored snapshot's seq, the
//! engine's digest must equal the snapshot's (a snapshot written by an
//! older state layout is reported and not compared). A summary table goes
//! to stdout; any failure exits non-zero naming the first bad record's seq.
//!
//! **export** streams the journal's records into a file (nothing is held
//! in memory but one record). Snapshots are not exported: they are a cache
//! of the journal, rebuilt by the node (it replays the whole journal when
//! there is no snapshot, and takes new ones as it runs). Neither is the
//! journal's `meta` (the clock mode the node last ran with, rewritten at
//! every start). The file is written beside `--out` and renamed into place
//! only when complete; an existing `--out` is refused.
//!
//! **import** refuses a target that holds a record or a snapshot, then
//! reads the file twice: first to check everything (magic, every record's
//! CRC, seqs 1, 2, 3 … without a gap, that every payload decodes as a
//! journal record, the trailer's count and SHA-256, nothing after it) —
//! nothing is written from a damaged file — then to append the records in
//! batches of 1,000, seqs preserved. It then replays the target as
//! `verify` does and prints the digest, checked against `--expect-digest`
//! when given (the digest `verify` prints for the source).
//!
//! # The file (`ATBJRNL1`)
//!
//! All integers little-endian.
//!
//! ```text
//! magic    8 bytes   "ATBJRNL1"
//! record   repeated, one per journal record, in seq order from 1:
//!            seq      u64   (never 0)
//!            len      u32
//!            payload  len bytes (the record exactly as the journal holds it)
//!            crc      u32   CRC-32 (IEEE 802.3, as zlib) of seq ‖ len ‖ payload
//! trailer  end      u64   0 (no record has seq 0: this marks the trailer)
//!          count    u64   the number of records
//!          sha256   32 bytes: SHA-256 of every byte before it (magic,
//!                   records, end marker and count)
//! ```
//!
//! Nothing may follow the trailer. The per-record CRC points at the first
//! damaged record (its seq and byte offset); the trailer's SHA-256 covers
//! the whole file, so a truncated or altered file is refused even where
//! the CRCs happen to agree.

use anyhow::{Context, Result, anyhow, bail};
use atobarai_core::Config;
use atobarai_engine::{Engine, Envelope, Outcome};
use atobarai_server::StoreSpec;
use atobarai_store::{DataDir, Journal, Record, Snapshot, StoreError};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The file's first eight bytes (the format's version is in them).
pub(crate) const MAGIC: &[u8; 8] = b"ATBJRNL1";
/// Records appended per call to [`Journal::append`] on import.
const IMPORT_BATCH: usize = 1_000;
/// The largest payload a file may declare (a record is a command: far
/// below this; the bound keeps a damaged length from allocating much).
const PAYLOAD_MAX: u32 = 256 << 20;

/// Which journal: a data directory or a networked journal.
#[derive(clap::Args, Clone)]
pub(crate) struct JournalArgs {
    /// Directory of the embedded store (its `journal.sqlite`); `verify` and
    /// `export` default to $ATOBARAI_DATA_DIR, then `./atobarai-data`.
    #[arg(long, conflicts_with = "journal")]
    data_dir: Option<PathBuf>,
    /// A networked journal instead: `postgres://…` (tables in --schema) or
    /// `nats://host:port[/stream]` (stream `ATOBARAI` by default).
    #[arg(long)]
    journal: Option<String>,
    /// PostgreSQL schema holding the journal tables (with a postgres --journal).
    #[arg(long, default_value = "atobarai")]
    schema: String,
}

/// Arguments of `atobarai verify`.
#[derive(clap::Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    source: JournalArgs,
    /// Configuration file the server runs with (TOML), if any.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Check every invariant after this many records (and at the end).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    every: u64,
}

/// Arguments of `atobarai export`.
#[derive(clap::Args)]
pub(crate) struct ExportArgs {
    #[command(flatten)]
    pub(crate) source: JournalArgs,
    /// The file to write (refused if it exists).
    #[arg(long)]
    pub(crate) out: PathBuf,
}

/// Arguments of `atobarai import`.
#[derive(clap::Args)]
pub(crate) struct ImportArgs {
    /// A file written by `atobarai export`.
    #[arg(long = "in")]
    input: PathBuf,
    #[command(flatten)]
    target: JournalArgs,
    /// Configuration file the server runs with (TOML), for the replay
    /// after the import.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Fail unless the imported journal replays to this digest (hex, as
    /// `verify` prints it).
    #[arg(long)]
    expect_digest: Option<String>,
}

impl JournalArgs {
    /// The store these arguments name; `default_dir`: fall back to
    /// $ATOBARAI_DATA_DIR or `./atobarai-data` when none is named.
    fn spec(&self, default_dir: bool) -> Result<StoreSpec> {
        if let Some(url) = &self.journal {
            return journal_spec(url, &self.schema);
        }
        if let Some(dir) = &self.data_dir {
            return Ok(StoreSpec::Dir(dir.clone()));
        }
        if !default_dir {
            bail!("name the target journal: --data-dir DIR or --journal URL");
        }
        Ok(StoreSpec::Dir(
            std::env::var_os("ATOBARAI_DATA_DIR")
                .map_or_else(|| PathBuf::from("./atobarai-data"), PathBuf::from),
        ))
    }
}

/// `postgres://…` / `postgresql://…` or `nats://host:port[/stream]`.
fn journal_spec(url: &str, schema: &str) -> Result<StoreSpec> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(StoreSpec::Postgres {
            url: url.to_string(),
            schema: schema.to_string(),
        });
    }
    if let Some(rest) = url.strip_prefix("nats://") {
        let (server, stream) = match rest.split_once('/') {
            Some((server, stream)) if !stream.trim_matches('/').is_empty() => {
                (server, stream.trim_matches('/'))
            }
            Some((server, _)) => (server, "ATOBARAI"),
            None => (rest, "ATOBARAI"),
        };
        return Ok(StoreSpec::Nats {
            url: format!("nats://{server}"),
            stream: stream.to_string(),
        });
    }
    bail!("--journal {url:?}: expected a postgres://… or nats://… URL")
}

/// An open journal, what to call it in messages, and (for a data
/// directory opened to write) its lock.
struct Opened {
    journal: Box<dyn Journal>,
    name: String,
    _lock: Option<DataDir>,
}

/// Open the journal `spec` names. `write`: take the data directory's lock
/// (and create it); otherwise open an existing `journal.sqlite` without
/// the lock, as a reader beside a running server.
fn open(spec: &StoreSpec, write: bool) -> Result<Opened> {
    match spec {
        StoreSpec::Dir(dir) => {
            let path = dir.join("journal.sqlite");
            if write {
                let data = DataDir::open(dir).map_err(|e| match e {
                    StoreError::Locked(p) => anyhow!(
                        "{} is in use by a running atobarai; stop it before importing",
                        p.display()
                    ),
                    other => anyhow!("opening {}: {other}", dir.display()),
                })?;
                let journal = data
                    .journal()
                    .with_context(|| format!("opening {}", path.display()))?;
                Ok(Opened {
                    journal: Box::new(journal),
                    name: path.display().to_string(),
                    _lock: Some(data),
                })
            } else {
                if !path.exists() {
                    bail!("no journal at {}", path.display());
                }
                let journal = atobarai_store::SqliteJournal::open(&path)
                    .with_context(|| format!("opening {}", path.display()))?;
                Ok(Opened {
                    journal: Box::new(journal),
                    name: path.display().to_string(),
                    _lock: None,
                })
            }
        }
        StoreSpec::Postgres { url, schema } => {
            let journal = atobarai_store::PgJournal::open(url, schema).map_err(|e| match e {
                StoreError::Locked(what) => anyhow!(
                    "{} is in use by a running atobarai (it holds the schema's lock); stop it first",
                    what.display()
                ),
                other => anyhow!("opening the PostgreSQL journal (schema {schema}): {other}"),
            })?;
            Ok(Opened {
                journal: Box::new(journal),
                name: format!("postgres schema {schema}"),
                _lock: None,
            })
        }
        StoreSpec::Nats { url, stream } => {
            let journal = atobarai_store::NatsJournal::open(url, stream)
                .with_context(|| format!("opening the NATS journal (stream {stream})"))?;
            Ok(Opened {
                journal: Box::new(journal),
                name: format!("nats stream {stream}"),
                _lock: None,
            })
        }
    }
}

fn bar(len: u64, template: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

// ----- verify ---------------------------------------------------------------

/// What became of the newest stored snapshot.
enum SnapshotCheck {
    None,
    Matched(u64),
    OlderLayout(u64),
}

/// A replay that passed every check.
struct Replayed {
    records: u64,
    kinds: BTreeMap<&'static str, u64>,
    decisions: u64,
    invariant_checks: u64,
    snapshot: SnapshotCheck,
    digest: [u8; 32],
    elapsed: Duration,
}

/// Replay `journal` into a fresh engine with every check of `verify`;
/// `snapshot`: the newest stored one, compared when the replay reaches it.
fn replay_checked(
    journal: &dyn Journal,
    config: Config,
    every: u64,
    snapshot: Option<Snapshot>,
) -> Result<Replayed> {
    let started = Instant::now();
    let config = atobarai_server::node::history_config(config);
    let mut engine = Engine::new(config.clone());
    let last = journal.last_seq()?;
    let progress = bar(
        last,
        "{spinner} verifying {pos}/{len} records [{bar:40}] {eta}",
    );
    let mut kinds: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut decisions = 0u64;
    let mut invariant_checks = 0u64;
    let mut snapshot_check = SnapshotCheck::None;
    let mut records = 0u64;
    let mut failure: Option<anyhow::Error> = None;
    let compare = |engine: &Engine, s: &Snapshot| -> Result<SnapshotCheck> {
        if engine.digest() == s.digest {
            return Ok(SnapshotCheck::Matched(s.seq));
        }
        match Engine::restore(config.clone(), &s.bytes) {
            Err(e) if e.code == "snapshot_format_old" => Ok(SnapshotCheck::OlderLayout(s.seq)),
            _ => bail!(
                "record {}: the replayed state's digest {} differs from the stored snapshot's {}",
                s.seq,
                hex(&engine.digest()),
                hex(&s.digest)
            ),
        }
    };
    if let Some(s) = snapshot.as_ref().filter(|s| s.seq == 0) {
        snapshot_check = compare(&engine, s)?;
    }
    let read = journal.read_after(0, &mut |record| {
        let seq = record.seq;
        let step = (|| -> Result<()> {
            if seq != records + 1 {
                bail!(
                    "record {}: missing (the journal goes from {records} to {seq})",
                    records + 1
                );
            }
            let (envelope, recorded) = Envelope::decode_record(&record.payload)
                .map_err(|e| anyhow!("record {seq} does not decode: {e}"))?;
            let applied = engine
                .apply(&envelope)
                .map_err(|e| anyhow!("record {seq} does not apply: {e}"))?;
            if let (Some(recorded), Outcome::Order(o)) = (recorded, &applied.outcome) {
                if o.decision != recorded {
                    bail!(
                        "record {seq}: decision changed on replay: recorded {}, replayed {}",
                        recorded.as_str(),
                        o.decision.as_str()
                    );
                }
                decisions += 1;
            }
            if engine.applied() != seq {
                bail!("record {seq} did not change the state on replay");
            }
            *kinds.entry(envelope.command.name()).or_default() += 1;
            records = seq;
            if seq.is_multiple_of(every) {
                engine
                    .check_invariants()
                    .map_err(|e| anyhow!("record {seq}: an invariant fails after it: {e}"))?;
                invariant_checks += 1;
            }
            if let Some(s) = snapshot.as_ref().filter(|s| s.seq == seq) {
                snapshot_check = compare(&engine, s)?;
            }
            Ok(())
        })();
        if seq.is_multiple_of(4096) {
            progress.set_position(seq);
        }
        match step {
            Ok(()) => Ok(()),
            Err(e) => {
                failure = Some(e);
                // Stop reading: the failure is reported below.
                Err(StoreError::Sequence {
                    expected: seq,
                    got: seq,
                })
            }
        }
    });
    progress.finish_and_clear();
    if let Some(f) = failure {
        return Err(f);
    }
    read.context("reading the journal")?;
    if let Some(s) = &snapshot
        && s.seq > records
    {
        bail!(
            "the newest snapshot is of record {} but the journal ends at record {records}",
            s.seq
        );
    }
    if records == 0 || !records.is_multiple_of(every) {
        engine
            .check_invariants()
            .map_err(|e| anyhow!("record {records}: an invariant fails at the end: {e}"))?;
        invariant_checks += 1;
    }
    Ok(Replayed {
        records,
        kinds,
        decisions,
        invariant_checks,
        snapshot: snapshot_check,
        digest: engine.digest(),
        elapsed: started.elapsed(),
    })
}

fn print_summary(name: &str, every: u64, r: &Replayed) {
    let secs = r.elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        r.records as f64 / secs
    } else {
        0.0
    };
    println!("{:<18}{name}", "journal");
    println!("{:<18}{}", "records", r.records);
    println!("{:<18}{}", "decisions checked", r.decisions);
    println!(
        "{:<18}{} (every {every} records and at the end)",
        "invariant checks", r.invariant_checks
    );
    let snapshot = match r.snapshot {
        SnapshotCheck::None => "no (none stored)".to_string(),
        SnapshotCheck::Matched(seq) => format!("yes (record {seq}: digest equal)"),
        SnapshotCheck::OlderLayout(seq) => {
            format!("no (record {seq}: written by an older state layout, not compared)")
        }
    };
    println!("{:<18}{snapshot}", "snapshot checked");
    println!("{:<18}{}", "digest", hex(&r.digest));
    println!("{:<18}{secs:.2} s ({rate:.0} records/s)", "time");
    if !r.kinds.is_empty() {
        println!("commands");
        for (kind, n) in &r.kinds {
            println!("  {kind:<24}{n:>10}");
        }
    }
}

pub(crate) fn verify(args: &VerifyArgs) -> Result<()> {
    let config = super::load_config(args.config.as_ref())?;
    let opened = open(&args.source.spec(true)?, false)?;
    let snapshot = opened
        .journal
        .latest_snapshot()
        .context("reading the newest snapshot")?;
    let replayed = replay_checked(opened.journal.as_ref(), config, args.every, snapshot)
        .with_context(|| format!("verifying {}", opened.name))?;
    print_summary(&opened.name, args.every, &replayed);
    println!("ok: every record replays and every check passes");
    Ok(())
}

// ----- the file ------------------------------------------------------------

/// A writer that hashes every byte it passes on.
struct Hashing<W> {
    inner: W,
    sha: Sha256,
    written: u64,
}

impl<W: Write> Hashing<W> {
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.sha.update(bytes);
        self.written += bytes.len() as u64;
        self.inner.write_all(bytes)
    }
}

/// Write `records` (in seq order from 1) as an `ATBJRNL1` file to `out`;
/// the record count. `next` yields each record in turn.
fn write_file<W: Write>(
    out: W,
    mut each: impl FnMut(&mut dyn FnMut(&Record) -> Result<()>) -> Result<()>,
) -> Result<(u64, [u8; 32], u64)> {
    let mut w = Hashing {
        inner: out,
        sha: Sha256::new(),
        written: 0,
    };
    w.put(MAGIC)?;
    let mut count = 0u64;
    each(&mut |record: &Record| {
        if record.seq != count + 1 {
            bail!(
                "record {}: missing from the journal (it goes from {count} to {})",
                count + 1,
                record.seq
            );
        }
        let len = u32::try_from(record.payload.len())
            .ok()
            .filter(|&l| l <= PAYLOAD_MAX)
            .ok_or_else(|| anyhow!("record {}: payload too large", record.seq))?;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&record.seq.to_le_bytes());
        crc.update(&len.to_le_bytes());
        crc.update(&record.payload);
        w.put(&record.seq.to_le_bytes())?;
        w.put(&len.to_le_bytes())?;
        w.put(&record.payload)?;
        w.put(&crc.finalize().to_le_bytes())?;
        count = record.seq;
        Ok(())
    })?;
    w.put(&0u64.to_le_bytes())?;
    w.put(&count.to_le_bytes())?;
    let sha: [u8; 32] = w.sha.clone().finalize().into();
    w.inner.write_all(&sha)?;
    w.inner.flush()?;
    Ok((count, sha, w.written + 32))
}

/// A damaged file: what is wrong, where.
fn damaged(offset: u64, seq: Option<u64>, what: impl std::fmt::Display) -> anyhow::Error {
    match seq {
        Some(seq) => anyhow!("damaged journal file at byte {offset} (record {seq}): {what}"),
        None => anyhow!("damaged journal file at byte {offset}: {what}"),
    }
}

/// Reads an `ATBJRNL1` file, checking as it goes.
struct FileReader<R> {
    inner: R,
    /// Bytes consumed so far.
    offset: u64,
    /// The file's length (a declared payload must fit in what is left).
    len: u64,
    sha: Sha256,
}

impl<R: Read> FileReader<R> {
    /// Read exactly `buf.len()` bytes of the part starting at `start` (for
    /// the error), hashing them.
    fn take(&mut self, buf: &mut [u8], start: u64, seq: Option<u64>, what: &str) -> Result<()> {
        self.inner.read_exact(buf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                damaged(
                    start,
                    seq,
                    format!("the file ends inside {what} (truncated)"),
                )
            } else {
                anyhow!("reading the journal file: {e}")
            }
        })?;
        self.sha.update(&*buf);
        self.offset += buf.len() as u64;
        Ok(())
    }

    /// Check every byte of the file, calling `each` for each record in
    /// order; the record count.
    fn read_all(mut self, each: &mut dyn FnMut(Record) -> Result<()>) -> Result<u64> {
        let mut magic = [0u8; 8];
        self.take(&mut magic, 0, None, "the header")?;
        if &magic != MAGIC {
            bail!(damaged(
                0,
                None,
                "not an atobarai journal file (the header is not ATBJRNL1)"
            ));
        }
        let mut count = 0u64;
        loop {
            let start = self.offset;
            let expected = count + 1;
            let mut head = [0u8; 8];
            self.take(&mut head, start, Some(expected), "a record's header")?;
            let seq = u64::from_le_bytes(head);
            if seq == 0 {
                break;
            }
            if seq != expected {
                bail!(damaged(
                    start,
                    Some(expected),
                    format!("seq {seq} where record {expected} belongs")
                ));
            }
            let mut len = [0u8; 4];
            self.take(&mut len, start, Some(seq), "a record's header")?;
            let len = u32::from_le_bytes(len);
            let left = self.len.saturating_sub(self.offset);
            if len > PAYLOAD_MAX || u64::from(len) > left {
                bail!(damaged(
                    start,
                    Some(seq),
                    format!(
                        "a payload of {len} bytes does not fit in the {left} bytes left \
                         (the file is truncated, or the length is damaged)"
                    )
                ));
            }
            let mut payload = vec![0u8; len as usize];
            self.take(&mut payload, start, Some(seq), "a record's payload")?;
            let mut crc = [0u8; 4];
            self.take(&mut crc, start, Some(seq), "a record's checksum")?;
            let mut want = crc32fast::Hasher::new();
            want.update(&seq.to_le_bytes());
            want.update(&len.to_le_bytes());
            want.update(&payload);
            if want.finalize() != u32::from_le_bytes(crc) {
                bail!(damaged(start, Some(seq), "checksum mismatch"));
            }
            each(Record { seq, payload })?;
            count = seq;
        }
        let start = self.offset - 8;
        let mut n = [0u8; 8];
        self.take(&mut n, start, None, "the trailer")?;
        let n = u64::from_le_bytes(n);
        if n != count {
            bail!(damaged(
                start,
                None,
                format!("the trailer counts {n} records, the file holds {count}")
            ));
        }
        let computed: [u8; 32] = self.sha.clone().finalize().into();
        let mut stored = [0u8; 32];
        let at = self.offset;
        self.inner.read_exact(&mut stored).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                damaged(at, None, "the file ends inside the trailer (truncated)")
            } else {
                anyhow!("reading the journal file: {e}")
            }
        })?;
        if stored != computed {
            bail!(damaged(
                at,
                None,
                "the file's SHA-256 does not match its trailer"
            ));
        }
        let mut extra = [0u8; 1];
        match self.inner.read(&mut extra) {
            Ok(0) => Ok(count),
            Ok(_) => bail!(damaged(
                at + 32,
                None,
                "bytes after the trailer (the file should end there)"
            )),
            Err(e) => Err(anyhow!("reading the journal file: {e}")),
        }
    }
}

/// Check the whole file from its start, calling `each` per record.
fn read_file(
    file: &mut File,
    len: u64,
    progress: &ProgressBar,
    each: &mut dyn FnMut(Record) -> Result<()>,
) -> Result<u64> {
    file.rewind()?;
    let reader = FileReader {
        inner: progress.wrap_read(BufReader::with_capacity(1 << 20, &mut *file)),
        offset: 0,
        len,
        sha: Sha256::new(),
    };
    reader.read_all(each)
}

// ----- export ---------------------------------------------------------------

pub(crate) fn export(args: &ExportArgs) -> Result<()> {
    if args.out.exists() {
        bail!(
            "{} exists: remove it or choose another --out",
            args.out.display()
        );
    }
    let opened = open(&args.source.spec(true)?, false)?;
    let started = Instant::now();
    let last = opened.journal.last_seq()?;
    let mut partial = args.out.clone().into_os_string();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let file = File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
    let progress = bar(
        last,
        "{spinner} exporting {pos}/{len} records [{bar:40}] {eta}",
    );
    let written = write_file(BufWriter::with_capacity(1 << 20, &file), |put| {
        let mut failure = None;
        let read = opened.journal.read_after(0, &mut |record| {
            if record.seq.is_multiple_of(4096) {
                progress.set_position(record.seq);
            }
            put(&record).map_err(|e| {
                failure = Some(e);
                StoreError::Sequence {
                    expected: record.seq,
                    got: record.seq,
                }
            })
        });
        match failure {
            Some(e) => Err(e),
            None => read.context("reading the journal"),
        }
    })
    .and_then(|w| {
        file.sync_all()?;
        Ok(w)
    });
    progress.finish_and_clear();
    let (count, sha, bytes) = match written {
        Ok(w) => w,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e.context(format!("exporting {}", opened.name)));
        }
    };
    std::fs::rename(&partial, &args.out)
        .with_context(|| format!("renaming {} into place", partial.display()))?;
    println!(
        "{count} records of {} exported to {} ({bytes} bytes, SHA-256 {}) in {:.2} s",
        opened.name,
        args.out.display(),
        hex(&sha),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

// ----- import ---------------------------------------------------------------

fn parse_digest(text: &str) -> Result<[u8; 32]> {
    let text = text.trim();
    let bad = || anyhow!("--expect-digest {text:?}: expected 64 hex digits");
    if text.len() != 64 || !text.is_ascii() {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

pub(crate) fn import(args: &ImportArgs) -> Result<()> {
    let expect = args
        .expect_digest
        .as_deref()
        .map(parse_digest)
        .transpose()?;
    let config = super::load_config(args.config.as_ref())?;
    let started = Instant::now();
    let mut file =
        File::open(&args.input).with_context(|| format!("opening {}", args.input.display()))?;
    let len = file
        .metadata()
        .with_context(|| format!("reading {}", args.input.display()))?
        .len();
    let mut target = open(&args.target.spec(false)?, true)?;
    let held = target.journal.last_seq()?;
    if held != 0 {
        bail!(
            "{} is not empty (it holds {held} records): import only into an empty journal",
            target.name
        );
    }
    if let Some(s) = target.journal.latest_snapshot()? {
        bail!(
            "{} holds no record but a snapshot (of record {}): import only into an empty store",
            target.name,
            s.seq
        );
    }

    // Pass 1: check everything; nothing is written.
    let progress = bar(
        len,
        "{spinner} checking {bytes}/{total_bytes} [{bar:40}] {eta}",
    );
    let count = read_file(&mut file, len, &progress, &mut |record| {
        Envelope::decode_record(&record.payload)
            .map(|_| ())
            .map_err(|e| anyhow!("record {} does not decode: {e}", record.seq))
    });
    progress.finish_and_clear();
    let count =
        count.with_context(|| format!("{} refused, nothing imported", args.input.display()))?;

    // Pass 2: append in batches.
    let progress = bar(
        len,
        "{spinner} importing {bytes}/{total_bytes} [{bar:40}] {eta}",
    );
    let mut batch: Vec<Record> = Vec::with_capacity(IMPORT_BATCH);
    let mut appended = 0u64;
    let journal = target.journal.as_mut();
    let mut flush = |batch: &mut Vec<Record>, appended: &mut u64| -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        journal.append(batch).with_context(|| {
            format!(
                "appending records {}..={}",
                batch.first().map_or(0, |r| r.seq),
                batch.last().map_or(0, |r| r.seq)
            )
        })?;
        *appended = batch.last().map_or(*appended, |r| r.seq);
        batch.clear();
        Ok(())
    };
    let copied = read_file(&mut file, len, &progress, &mut |record| {
        batch.push(record);
        if batch.len() >= IMPORT_BATCH {
            flush(&mut batch, &mut appended)?;
        }
        Ok(())
    })
    .and_then(|n| {
        flush(&mut batch, &mut appended)?;
        Ok(n)
    });
    progress.finish_and_clear();
    if let Err(e) = copied {
        bail!(
            "import stopped after record {appended} (the file changed since it was checked, or the target failed): \
             {} holds records 1..={appended}; empty it before importing again: {e:#}",
            target.name
        );
    }
    let imported = started.elapsed();

    // Pass 3: replay what the target now holds.
    let replayed =
        replay_checked(target.journal.as_ref(), config, 10_000, None).with_context(|| {
            format!(
                "the {count} imported records are in {}, but they do not replay",
                target.name
            )
        })?;
    if replayed.records != count {
        bail!(
            "{} holds {} records after importing {count}",
            target.name,
            replayed.records
        );
    }
    println!(
        "{count} records imported from {} into {} in {:.2} s, replayed in {:.2} s",
        args.input.display(),
        target.name,
        imported.as_secs_f64(),
        replayed.elapsed.as_secs_f64()
    );
    println!("digest {}", hex(&replayed.digest));
    if let Some(want) = expect
        && want != replayed.digest
    {
        bail!(
            "the imported journal replays to digest {}, not the expected {}",
            hex(&replayed.digest),
            hex(&want)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_of(records: &[Record]) -> Vec<u8> {
        let mut out = Vec::new();
        write_file(&mut out, |put| {
            for r in records {
                put(r)?;
            }
            Ok(())
        })
        .unwrap();
        out
    }

    fn read(bytes: &[u8]) -> Result<Vec<Record>> {
        let mut got = Vec::new();
        FileReader {
            inner: bytes,
            offset: 0,
            len: bytes.len() as u64,
            sha: Sha256::new(),
        }
        .read_all(&mut |r| {
            got.push(r);
            Ok(())
        })?;
        Ok(got)
    }

    fn records(n: u64) -> Vec<Record> {
        (1..=n)
            .map(|seq| Record {
                seq,
                payload: (0..(seq * 7 % 23) as u8).collect(),
            })
            .collect()
    }

    #[test]
    fn a_file_reads_back_as_written() {
        for n in [0, 1, 5] {
            let rs = records(n);
            assert_eq!(read(&file_of(&rs)).unwrap(), rs);
        }
    }

    #[test]
    fn every_truncation_and_every_bit_flip_is_refused() {
        let bytes = file_of(&records(6));
        for cut in 0..bytes.len() {
            assert!(read(&bytes[..cut]).is_err(), "truncated at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(read(&longer).is_err());
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                assert!(read(&b).is_err(), "bit {bit} of byte {i}");
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap deterministic fuzz: random-ish bytes behind a valid magic.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for len in 0..2_000usize {
            let mut b = MAGIC.to_vec();
            for _ in 0..len % 97 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b.push(x as u8);
            }
            let _ = read(&b);
        }
    }

    #[test]
    fn the_error_names_the_record_and_offset() {
        let bytes = file_of(&records(3));
        let mut b = bytes.clone();
        // The second record's payload: after the magic and record 1
        // (8 + 4 + 7 + 4 bytes).
        let second = 8 + (8 + 4 + 7 + 4);
        b[second + 12] ^= 0xFF;
        let e = read(&b).unwrap_err().to_string();
        assert!(e.contains("record 2"), "{e}");
        assert!(e.contains(&format!("byte {second}")), "{e}");
    }
}
