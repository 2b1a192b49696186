//! The node: an engine thread, a journal-writer thread and a reader thread.
//!
//! ```text
//! commands ─(bounded)─► engine thread ─(bounded)─► writer thread ──► answers
//!                       stamps time, applies,      appends all pending
//!                       encodes records            batches in ONE
//!                                                  transaction, fsync
//!                                                       │ durable envelopes
//!                                                       ▼ (in journal order)
//! reads ──────────────────────────────────────────► reader thread
//!                                                   a second engine that
//!                                                   applies what is durable,
//!                                                   answers reads, takes
//!                                                   snapshots
//!                                                       │ (bounded 1)
//!                                                       ▼
//!                                                   snapshot thread: saves
//!                                                   through the store's own
//!                                                   snapshot writer
//! ```
//!
//! The engine applies batch N+1 while the writer fsyncs batch N, and every
//! batch the writer finds waiting shares one fsync (group commit). Answers to
//! commands are released only after everything applied before them is
//! durable. Reads never reach the engine thread: they are answered by the
//! reader, a follower engine in the same process fed with the envelopes the
//! writer has made durable (the engine is deterministic, so applying the same
//! envelopes in the same order gives the same state). The writer hands a
//! batch's envelopes to the reader *before* it releases the batch's answers,
//! so a read sent after an answer arrived sees that command (read your
//! writes), and no read ever sees state a crash could lose. Snapshots are
//! serialized on the reader too: a snapshot of a million customers delays
//! reads while it is encoded, never decisions; it is saved by a fourth
//! thread through the store's snapshot writer (its own file or connection),
//! so the journal's appends never queue behind a gigabyte of state. The price is a second copy of
//! the state in memory and the apply work done twice (the reader's share is
//! small next to HTTP and fsync).
//!
//! If the journal cannot be written the process stops (fail-stop): engine
//! state would otherwise run ahead of the journal.

use crate::auth::KeyCache;
use crate::metrics::{CommandLabels, DecisionLabels, Metrics};
use atobarai_core::{At, Config};
use atobarai_engine::{Applied, Command, CommandError, Engine, Envelope, Idem, Outcome};
use atobarai_store::{DataDir, Journal, Record, Snapshot, SnapshotWriter, StoreError};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

/// Messages waiting for the engine thread, at most.
const ENGINE_QUEUE_MAX: usize = 16_384;
/// Messages the engine thread takes into one batch, at most.
const ENGINE_BATCH_MAX: usize = 4_096;
/// Batches applied but not yet durable, at most (back-pressure on the engine).
const WRITER_QUEUE_MAX: usize = 8;
/// Reads waiting for the reader thread, at most (back-pressure on readers;
/// the reader's queue itself is unbounded so that the writer never waits
/// for a snapshot being written).
const READS_IN_FLIGHT_MAX: usize = 16_384;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockMode {
    /// Commands carry wall-clock time (never earlier than the last one).
    System,
    /// Time moves only by `POST /v1/admin/clock`.
    Manual,
}

impl ClockMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ClockMode::System => "system",
            ClockMode::Manual => "manual",
        }
    }
}

/// Where the journal lives.
#[derive(Clone, Debug)]
pub enum StoreSpec {
    /// The embedded SQLite store in a data directory.
    Dir(PathBuf),
    /// PostgreSQL: a connection URL and the schema holding the tables.
    Postgres { url: String, schema: String },
    /// NATS JetStream: a server URL and the journal's stream name.
    Nats { url: String, stream: String },
}

/// An open journal and whatever keeps it exclusively ours (the data-dir
/// lock; PostgreSQL's advisory lock lives in the journal's connection).
struct OpenStore {
    journal: Box<dyn Journal>,
    _lock: Option<DataDir>,
}

fn open_store(spec: &StoreSpec) -> Result<OpenStore, StoreError> {
    match spec {
        StoreSpec::Dir(path) => {
            let dir = DataDir::open(path)?;
            Ok(OpenStore {
                journal: Box::new(dir.journal()?),
                _lock: Some(dir),
            })
        }
        StoreSpec::Postgres { url, schema } => Ok(OpenStore {
            journal: Box::new(atobarai_store::PgJournal::open(url, schema)?),
            _lock: None,
        }),
        // One writer per stream is enforced by the server's
        // expected-last-sequence check on every append.
        StoreSpec::Nats { url, stream } => Ok(OpenStore {
            journal: Box::new(atobarai_store::NatsJournal::open(url, stream)?),
            _lock: None,
        }),
    }
}

#[derive(Clone, Debug)]
pub struct NodeOptions {
    pub store: StoreSpec,
    pub clock: ClockMode,
    pub config: Config,
    /// Take a snapshot after this many journaled commands.
    pub snapshot_every: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("journal record {seq} cannot be decoded: {reason}")]
    Corrupt { seq: u64, reason: String },
    #[error("journal record {seq} no longer applies: {error}")]
    Diverged { seq: u64, error: CommandError },
    #[error("snapshot at {seq} does not match its digest")]
    SnapshotDigest { seq: u64 },
    #[error("failed to start a thread: {0}")]
    Thread(std::io::Error),
    #[error("the configured rules could not be journaled: {0}")]
    Rules(String),
    #[error("risk rules: {0}")]
    RiskRules(String),
    #[error(
        "journal record {seq}: the authorization was answered {recorded} but replays as {replayed} \
         under this version; history must not change (restore the previous version, or migrate)"
    )]
    DecisionChanged {
        seq: u64,
        recorded: &'static str,
        replayed: &'static str,
    },
}

/// The node is gone (shut down, or stopped after a journal failure).
#[derive(Debug, Clone, Copy)]
pub struct Unavailable;

type Reply = Box<dyn FnOnce() + Send>;
type ReadFn = Box<dyn FnOnce(&Engine) -> Reply + Send>;

// Nearly every message is a command, so boxing it would only add an
// allocation per request.
#[allow(clippy::large_enum_variant)]
enum Msg {
    Command {
        idem: Option<Idem>,
        command: Command,
        reply: tokio::sync::oneshot::Sender<Result<Applied, CommandError>>,
    },
    Shutdown(tokio::sync::oneshot::Sender<()>),
}

/// What the engine thread hands the writer: records to make durable, the
/// envelopes behind them (for the reader) and the answers to release.
#[derive(Default)]
struct Batch {
    records: Vec<Record>,
    envelopes: Vec<Envelope>,
    replies: Vec<Reply>,
    keys: Vec<(String, atobarai_engine::Principal, [u8; 32])>,
    /// Set on the last batch: answered once the reader's final snapshot
    /// is saved.
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Messages to the writer thread.
enum ToWriter {
    Batch(Batch),
    /// The snapshot thread's last word at shutdown: the final snapshot is
    /// saved (or there was none to take).
    Final,
}

/// Messages to the snapshot thread.
enum ToSaver {
    /// A snapshot taken by the reader (of durable state only).
    Save(Snapshot),
    /// The reader's last word at shutdown: its final snapshot, if any.
    Final(Option<Snapshot>),
}

/// Messages to the reader thread, in journal order.
enum ToReader {
    /// Envelopes now durable, to apply.
    Apply(Vec<Envelope>),
    Read(ReadFn),
    /// Shutting down: take a final snapshot and stop.
    Final,
}

pub struct Node {
    tx: flume::Sender<Msg>,
    read_tx: flume::Sender<ToReader>,
    reads: Arc<tokio::sync::Semaphore>,
    snapshot_every: Arc<std::sync::atomic::AtomicU64>,
    pub keys: Arc<KeyCache>,
    pub metrics: Arc<Metrics>,
    pub clock: ClockMode,
    threads: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

/// Load the engine from a journal: newest snapshot, then every record after
/// it. `progress(done, total)` is called as records replay.
pub fn load_engine(
    journal: &dyn Journal,
    config: Config,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Engine, NodeError> {
    let mut engine = match journal.latest_snapshot()? {
        Some(s) => match Engine::restore(config.clone(), &s.bytes) {
            Ok(engine) => {
                if engine.digest() != s.digest || engine.applied() != s.seq {
                    return Err(NodeError::SnapshotDigest { seq: s.seq });
                }
                engine
            }
            // A snapshot is a cache of the journal (which is never pruned):
            // after an upgrade that changed the state layout, rebuild from
            // the first record. The commands are replayed under this
            // version's rules.
            Err(e) if e.code == "snapshot_format_old" => {
                tracing::warn!(
                    seq = s.seq,
                    "snapshot written by an older state layout; replaying the whole journal"
                );
                Engine::new(config)
            }
            Err(e) => {
                return Err(NodeError::Corrupt {
                    seq: s.seq,
                    reason: e.to_string(),
                });
            }
        },
        None => Engine::new(config),
    };
    let from = engine.applied();
    let total = journal.last_seq()?.saturating_sub(from);
    let mut failure: Option<NodeError> = None;
    let mut done = 0u64;
    journal
        .read_after(from, &mut |record| {
            let outcome = Envelope::decode_record(&record.payload)
                .map_err(|e| NodeError::Corrupt {
                    seq: record.seq,
                    reason: e.to_string(),
                })
                .and_then(|(env, recorded)| {
                    let applied = engine.apply(&env).map_err(|error| NodeError::Diverged {
                        seq: record.seq,
                        error,
                    })?;
                    match (recorded, &applied.outcome) {
                        (Some(recorded), Outcome::Order(o)) if o.decision != recorded => {
                            Err(NodeError::DecisionChanged {
                                seq: record.seq,
                                recorded: recorded.as_str(),
                                replayed: o.decision.as_str(),
                            })
                        }
                        _ => Ok(applied),
                    }
                });
            match outcome {
                Ok(_) if engine.applied() == record.seq => {}
                Ok(_) => {
                    failure = Some(NodeError::Corrupt {
                        seq: record.seq,
                        reason: "record did not change state on replay".into(),
                    })
                }
                Err(e) => failure = Some(e),
            }
            done += 1;
            if done.is_multiple_of(65_536) || done == total {
                progress(done, total);
            }
            if failure.is_some() {
                // Stop reading: surface the failure below.
                return Err(StoreError::Sequence {
                    expected: record.seq,
                    got: record.seq,
                });
            }
            Ok(())
        })
        .or_else(|e| if failure.is_some() { Ok(()) } else { Err(e) })?;
    if let Some(f) = failure {
        return Err(f);
    }
    Ok(engine)
}

/// The author of the rule sets the node puts in force from the
/// configuration (`risk.rules_file`, or the built-in default).
pub const CONFIG_AUTHOR: &str = "config";

/// The configured risk rule set's text, if the node must journal it at
/// start: the configured file (or the built-in `rules/default.toml`) when
/// its text differs both from the set in force and from the set the
/// configuration last put in force. So a set put in force through the API
/// stays in force across restarts until the configured file changes, and
/// an unchanged configuration journals nothing.
///
/// With `risk.baseline_policy` nothing is journaled; a store in which a
/// rule set is already in force is refused (the engine has no command to
/// withdraw one, and the configuration would misstate what decides).
fn risk_rules_to_journal(
    engine: &Engine,
    config: &atobarai_core::config::RiskConfig,
) -> Result<Option<String>, NodeError> {
    let sets = engine.risk_rule_sets();
    if config.baseline_policy {
        return match sets.last() {
            None => Ok(None),
            Some(set) => Err(NodeError::RiskRules(format!(
                "risk.baseline_policy is set, but rule set {} ({:?}) is in force in this store \
                 and cannot be withdrawn; unset risk.baseline_policy",
                set.version, set.name
            ))),
        };
    }
    let (source, origin) = match &config.rules_file {
        None => (
            atobarai_engine::risk::rules::DEFAULT_RULES.to_owned(),
            "the built-in rules/default.toml".to_owned(),
        ),
        Some(path) => (
            std::fs::read_to_string(path).map_err(|e| {
                NodeError::RiskRules(format!(
                    "risk.rules_file {} cannot be read: {e}",
                    path.display()
                ))
            })?,
            path.display().to_string(),
        ),
    };
    let set = atobarai_engine::risk::rules::compile_shared(&source).map_err(|errors| {
        let listed: Vec<String> = errors
            .iter()
            .map(|e| format!("{origin}:{}:{}: {}", e.line, e.column, e.message))
            .collect();
        NodeError::RiskRules(format!(
            "the configured rules file does not check:\n  {}",
            listed.join("\n  ")
        ))
    })?;
    let digest = set.digest();
    let in_force = sets.last().map(|s| s.digest);
    let configured_last = sets
        .iter()
        .rev()
        .find(|s| s.author == CONFIG_AUTHOR)
        .map(|s| s.digest);
    if in_force == Some(digest) || configured_last == Some(digest) {
        Ok(None)
    } else {
        Ok(Some(source))
    }
}

impl Node {
    /// Open the data directory, load the engine and start the threads.
    pub fn open(opts: NodeOptions, progress: &mut dyn FnMut(u64, u64)) -> Result<Node, NodeError> {
        let mut store = open_store(&opts.store)?;
        let engine = load_engine(store.journal.as_ref(), opts.config.clone(), progress)?;
        let rules_journaled = engine.rules_journaled(&opts.config.rules());
        let risk_rules = risk_rules_to_journal(&engine, &opts.config.risk)?;
        store.journal.set_meta("clock", opts.clock.as_str())?;
        let keys = Arc::new(KeyCache::default());
        for (id, principal, hash) in engine.keys() {
            keys.insert(id, principal, hash);
        }
        let metrics = Arc::new(Metrics::default());
        let stats = engine.stats();
        metrics.customers.set(stats.customers as i64);
        metrics.orders.set(stats.orders as i64);

        // The reader starts from the same state: a copy through the
        // snapshot encoding (checked against the digest like any restore).
        let (copy, digest) = engine.snapshot_with_digest();
        let follower =
            Engine::restore(opts.config.clone(), &copy).map_err(|e| NodeError::Corrupt {
                seq: engine.applied(),
                reason: format!("the reader's copy of the state: {e}"),
            })?;
        drop(copy);
        if follower.digest() != digest {
            return Err(NodeError::SnapshotDigest {
                seq: engine.applied(),
            });
        }

        let snapshots = store.journal.snapshot_writer()?;
        let (tx, rx) = flume::bounded::<Msg>(ENGINE_QUEUE_MAX);
        let (wtx, wrx) = flume::bounded::<ToWriter>(WRITER_QUEUE_MAX);
        let (read_tx, read_rx) = flume::unbounded::<ToReader>();
        let engine_thread = {
            let (metrics, wtx) = (metrics.clone(), wtx.clone());
            let clock = opts.clock;
            std::thread::Builder::new()
                .name("engine".into())
                .spawn(move || engine_loop(engine, rx, wtx, clock, &metrics))
                .map_err(NodeError::Thread)?
        };
        let writer_thread = {
            let (keys, metrics, read_tx) = (keys.clone(), metrics.clone(), read_tx.clone());
            std::thread::Builder::new()
                .name("journal".into())
                .spawn(move || writer_loop(store, wrx, read_tx, &keys, &metrics))
                .map_err(NodeError::Thread)?
        };
        let snapshot_every = Arc::new(std::sync::atomic::AtomicU64::new(
            opts.snapshot_every.max(1),
        ));
        let (stx, srx) = flume::bounded::<ToSaver>(1);
        let saver_thread = {
            let metrics = metrics.clone();
            std::thread::Builder::new()
                .name("snapshots".into())
                .spawn(move || saver_loop(snapshots, srx, wtx, &metrics))
                .map_err(NodeError::Thread)?
        };
        let reader_thread = {
            let every = snapshot_every.clone();
            std::thread::Builder::new()
                .name("reader".into())
                .spawn(move || reader_loop(follower, read_rx, stx, every))
                .map_err(NodeError::Thread)?
        };
        let node = Node {
            tx,
            read_tx,
            reads: Arc::new(tokio::sync::Semaphore::new(READS_IN_FLIGHT_MAX)),
            snapshot_every,
            keys,
            metrics,
            clock: opts.clock,
            threads: std::sync::Mutex::new(vec![
                engine_thread,
                writer_thread,
                reader_thread,
                saver_thread,
            ]),
        };
        if !rules_journaled {
            // The configured rules differ from the journaled ones (or none
            // were journaled yet): they apply from now on, and history keeps
            // replaying under the rules it ran with.
            tracing::info!("journaling the configured credit/billing rules");
            match node.submit_blocking(
                None,
                Command::SetRules {
                    rules: Box::new(opts.config.rules()),
                },
            ) {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(NodeError::Rules(e.to_string())),
                Err(_) => return Err(NodeError::Rules("the node stopped".into())),
            }
        }
        if let Some(source) = risk_rules {
            tracing::info!("putting the configured risk rule set in force");
            match node.submit_blocking(
                None,
                Command::SetRiskRules {
                    source,
                    author: CONFIG_AUTHOR.into(),
                },
            ) {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(NodeError::RiskRules(e.to_string())),
                Err(_) => return Err(NodeError::RiskRules("the node stopped".into())),
            }
        }
        Ok(node)
    }

    /// Apply a command; the answer arrives once it is durable.
    pub async fn submit(
        &self,
        idem: Option<Idem>,
        command: Command,
    ) -> Result<Result<Applied, CommandError>, Unavailable> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.tx
            .send_async(Msg::Command {
                idem,
                command,
                reply,
            })
            .await
            .map_err(|_| Unavailable)?;
        rx.await.map_err(|_| Unavailable)
    }

    /// The same as [`Node::submit`] for callers outside an async runtime.
    pub fn submit_blocking(
        &self,
        idem: Option<Idem>,
        command: Command,
    ) -> Result<Result<Applied, CommandError>, Unavailable> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.tx
            .send(Msg::Command {
                idem,
                command,
                reply,
            })
            .map_err(|_| Unavailable)?;
        rx.blocking_recv().map_err(|_| Unavailable)
    }

    /// Read engine state on the reader thread (never the engine thread):
    /// the state holds every command whose answer was released before this
    /// call, and nothing that is not yet durable.
    pub async fn read<R, F>(&self, f: F) -> Result<R, Unavailable>
    where
        R: Send + 'static,
        F: FnOnce(&Engine) -> R + Send + 'static,
    {
        let _permit = self.reads.acquire().await.map_err(|_| Unavailable)?;
        let (reply, rx) = tokio::sync::oneshot::channel();
        let read: ReadFn = Box::new(move |engine: &Engine| {
            let value = f(engine);
            Box::new(move || {
                let _ = reply.send(value);
            }) as Reply
        });
        self.read_tx
            .send(ToReader::Read(read))
            .map_err(|_| Unavailable)?;
        rx.await.map_err(|_| Unavailable)
    }

    /// Take a snapshot every `n` journaled commands from now on (benchmarks
    /// and operators tuning start-up time against snapshot work).
    pub fn set_snapshot_every(&self, n: u64) {
        self.snapshot_every
            .store(n.max(1), std::sync::atomic::Ordering::Relaxed);
    }

    /// Snapshot, flush and stop the threads.
    pub fn shutdown(&self) {
        let (reply, rx) = tokio::sync::oneshot::channel();
        if self.tx.send(Msg::Shutdown(reply)).is_ok() {
            let _ = rx.blocking_recv();
        }
        let threads = self
            .threads
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default();
        for t in threads {
            let _ = t.join();
        }
    }

    pub async fn shutdown_async(self: Arc<Self>) {
        let node = self.clone();
        let _ = tokio::task::spawn_blocking(move || node.shutdown()).await;
    }
}

fn now_for(clock: ClockMode, engine: &Engine) -> At {
    match clock {
        ClockMode::System => At::from_timestamp(jiff::Timestamp::now()).max(engine.now()),
        ClockMode::Manual => engine.now(),
    }
}

fn result_label(r: &Result<Applied, CommandError>) -> &'static str {
    match r {
        Ok(a) if a.changed => "ok",
        Ok(_) => "replayed",
        Err(e) => match e.kind {
            atobarai_engine::ErrorKind::Invalid => "invalid",
            atobarai_engine::ErrorKind::NotFound => "not_found",
            atobarai_engine::ErrorKind::Conflict => "conflict",
            atobarai_engine::ErrorKind::Forbidden => "forbidden",
        },
    }
}

fn engine_loop(
    mut engine: Engine,
    rx: flume::Receiver<Msg>,
    wtx: flume::Sender<ToWriter>,
    clock: ClockMode,
    metrics: &Metrics,
) {
    while let Ok(first) = rx.recv() {
        let mut batch = Batch::default();
        let mut next = Some(first);
        let mut taken = 0usize;
        while let Some(msg) = next.take() {
            taken += 1;
            match msg {
                Msg::Command {
                    idem,
                    command,
                    reply,
                } => {
                    let at = now_for(clock, &engine);
                    if engine.needs_tick(at) {
                        // A new day: its billing work (month close, late
                        // fees, damages, expiry) is journaled on its own.
                        let tick = Envelope {
                            at,
                            idem: None,
                            command: Command::AdvanceClock { to: at },
                        };
                        if let Ok(applied) = engine.apply(&tick)
                            && applied.changed
                        {
                            batch.records.push(Record {
                                seq: engine.applied(),
                                payload: tick.encode(),
                            });
                            batch.envelopes.push(tick);
                        }
                    }
                    let env = Envelope { at, idem, command };
                    let result = engine.apply(&env);
                    metrics
                        .commands
                        .get_or_create(&CommandLabels {
                            command: env.command.name(),
                            result: result_label(&result),
                        })
                        .inc();
                    if let Ok(applied) = &result
                        && applied.changed
                    {
                        batch.records.push(Record {
                            seq: engine.applied(),
                            payload: env.encode_record(&applied.outcome),
                        });
                        match (&env.command, &applied.outcome) {
                            (Command::AddMerchant { .. } | Command::AddOperator { .. }, _) => {
                                batch.keys = engine.keys();
                            }
                            (Command::Authorize { .. }, Outcome::Order(o)) => {
                                let decision = match o.decision.as_str() {
                                    "approve" => "approve",
                                    "review" => "review",
                                    _ => "decline",
                                };
                                metrics
                                    .decisions
                                    .get_or_create(&DecisionLabels { decision })
                                    .inc();
                            }
                            _ => {}
                        }
                        batch.envelopes.push(env);
                    }
                    batch.replies.push(Box::new(move || {
                        let _ = reply.send(result);
                    }));
                }
                Msg::Shutdown(reply) => {
                    batch.shutdown = Some(reply);
                    break;
                }
            }
            if taken < ENGINE_BATCH_MAX {
                next = rx.try_recv().ok();
            }
        }
        let stats = engine.stats();
        metrics.customers.set(stats.customers as i64);
        metrics.orders.set(stats.orders as i64);
        let last = batch.shutdown.is_some();
        if wtx.send(ToWriter::Batch(batch)).is_err() || last {
            return;
        }
    }
}

fn writer_loop(
    mut store: OpenStore,
    wrx: flume::Receiver<ToWriter>,
    read_tx: flume::Sender<ToReader>,
    keys: &KeyCache,
    metrics: &Metrics,
) {
    let mut shutdown: Option<tokio::sync::oneshot::Sender<()>> = None;
    while let Ok(first) = wrx.recv() {
        // Every batch waiting shares one transaction (group commit).
        let mut batches = Vec::new();
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                ToWriter::Batch(b) => batches.push(b),
                ToWriter::Final => {
                    if let Some(reply) = shutdown.take() {
                        let _ = reply.send(());
                    }
                    return;
                }
            }
            if shutdown.is_none() && !batches.iter().any(|b| b.shutdown.is_some()) {
                next = wrx.try_recv().ok();
            }
        }
        if batches.is_empty() {
            continue;
        }
        let records: Vec<Record> = batches
            .iter_mut()
            .flat_map(|b| std::mem::take(&mut b.records))
            .collect();
        let started = Instant::now();
        if !records.is_empty()
            && let Err(e) = store.journal.append(&records)
        {
            fail_stop(&e);
        }
        metrics
            .journal_commit_seconds
            .observe(started.elapsed().as_secs_f64());
        metrics.journal_batch_records.observe(records.len() as f64);
        metrics.journal_records.inc_by(records.len() as u64);
        for b in batches {
            for (id, principal, hash) in b.keys {
                keys.insert(id, principal, hash);
            }
            // The reader gets the durable envelopes before the answers
            // leave: a read sent after an answer sees its command.
            if !b.envelopes.is_empty() {
                let _ = read_tx.send(ToReader::Apply(b.envelopes));
            }
            for reply in b.replies {
                reply();
            }
            if let Some(reply) = b.shutdown {
                shutdown = Some(reply);
                if read_tx.send(ToReader::Final).is_err() {
                    let _ = shutdown.take().map(|r| r.send(()));
                    return;
                }
            }
        }
    }
}

/// Save the reader's snapshots through the store's own snapshot writer,
/// apart from the journal: appends never wait for a snapshot.
fn saver_loop(
    mut writer: Box<dyn SnapshotWriter>,
    rx: flume::Receiver<ToSaver>,
    wtx: flume::Sender<ToWriter>,
    metrics: &Metrics,
) {
    let mut save = |snapshot: &Snapshot| {
        let started = Instant::now();
        match writer.save(snapshot) {
            Ok(()) => metrics
                .snapshot_save_seconds
                .observe(started.elapsed().as_secs_f64()),
            // A missing snapshot only slows the next start; keep serving.
            Err(e) => tracing::error!(error = %e, seq = snapshot.seq, "snapshot not saved"),
        }
    };
    while let Ok(msg) = rx.recv() {
        match msg {
            ToSaver::Save(s) => save(&s),
            ToSaver::Final(s) => {
                if let Some(s) = s {
                    save(&s);
                }
                let _ = wtx.send(ToWriter::Final);
                return;
            }
        }
    }
}

fn reader_loop(
    mut engine: Engine,
    rx: flume::Receiver<ToReader>,
    stx: flume::Sender<ToSaver>,
    snapshot_every: Arc<std::sync::atomic::AtomicU64>,
) {
    let mut last_snapshot = engine.applied();
    let snapshot = |engine: &Engine| {
        let (bytes, digest) = engine.snapshot_with_digest();
        Snapshot {
            seq: engine.applied(),
            digest,
            bytes,
        }
    };
    while let Ok(msg) = rx.recv() {
        match msg {
            ToReader::Apply(envelopes) => {
                for env in &envelopes {
                    // The engine thread applied this envelope to the same
                    // state; a difference here is a determinism bug.
                    if let Err(e) = engine.apply(env) {
                        tracing::error!(error = %e, command = env.command.name(),
                            "the reader could not apply a durable command");
                        eprintln!("atobarai: the reader diverged from the engine ({e}); stopping");
                        std::process::exit(70);
                    }
                }
                let every = snapshot_every.load(std::sync::atomic::Ordering::Relaxed);
                // One snapshot in flight at most: while the last one is still
                // being saved, the next is taken later, not queued.
                if engine.applied().saturating_sub(last_snapshot) >= every && stx.is_empty() {
                    last_snapshot = engine.applied();
                    if stx.send(ToSaver::Save(snapshot(&engine))).is_err() {
                        return;
                    }
                }
            }
            ToReader::Read(f) => f(&engine)(),
            ToReader::Final => {
                let last = (engine.applied() != last_snapshot).then(|| snapshot(&engine));
                let _ = stx.send(ToSaver::Final(last));
                return;
            }
        }
    }
}

fn fail_stop(e: &StoreError) -> ! {
    tracing::error!(error = %e, "journal write failed; stopping so no answer outruns the journal");
    eprintln!("atobarai: journal write failed ({e}); stopping");
    std::process::exit(70)
}

#[cfg(test)]
mod tests {
    use super::*;
    use atobarai_engine::Command;
    use atobarai_store::{Record, Snapshot, SqliteJournal};

    fn record(seq: u64, at_ms: i64, command: Command) -> Record {
        Record {
            seq,
            payload: Envelope {
                at: atobarai_core::At::from_unix_ms(at_ms),
                idem: None,
                command,
            }
            .encode(),
        }
    }

    fn node_at(dir: &std::path::Path, signup_limit: i64) -> Node {
        let mut config = Config::default();
        config.credit.signup_limit_yen = atobarai_core::Yen::new(signup_limit);
        node_with(dir, config)
    }

    /// A node on `dir` under `config`, manual clock, a snapshot every two
    /// commands.
    fn node_with(dir: &std::path::Path, config: Config) -> Node {
        Node::open(
            NodeOptions {
                store: StoreSpec::Dir(dir.to_path_buf()),
                clock: ClockMode::Manual,
                config,
                snapshot_every: 2,
            },
            &mut |_, _| {},
        )
        .unwrap()
    }

    fn profile(n: u32) -> atobarai_engine::CustomerProfile {
        atobarai_engine::CustomerProfile {
            external_id: format!("c-{n}"),
            name: "山田 太郎".into(),
            name_kana: "ヤマダ タロウ".into(),
            birth_date: atobarai_core::JstDate::parse("1990-04-01").unwrap(),
            phone: "090-1234-5678".into(),
            email: "taro@example.jp".into(),
            postal_code: "100-0013".into(),
            address: "東京都千代田区霞が関1-3-1".into(),
        }
    }

    fn register(node: &Node, n: u32) -> u32 {
        let command = Command::RegisterCustomer {
            merchant: 0,
            identity: Default::default(),
            payment_method: atobarai_core::PaymentMethod::ConvenienceStore,
            profile: profile(n),
        };
        match node
            .submit_blocking(None, command)
            .unwrap()
            .unwrap()
            .outcome
        {
            Outcome::Customer(c) => c.customer,
            other => panic!("{other:?}"),
        }
    }

    fn limit(node: &Node, ci: u32) -> i64 {
        let id = atobarai_core::ids::encode(atobarai_engine::prefix::CUSTOMER, u64::from(ci));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(node.read(move |e| e.customer(atobarai_engine::Principal::System, &id)))
            .unwrap()
            .unwrap()
            .limit
            .get()
    }

    /// A changed configuration applies from the restart on; history replays
    /// under the rules it ran with (here: a customer registered under a
    /// ¥50,000 sign-up limit keeps it after the limit becomes ¥30,000, also
    /// across snapshots and a second restart).
    #[test]
    fn configured_rules_are_journaled_and_history_keeps_its_rules() {
        let dir = tempfile::tempdir().unwrap();
        let node = node_at(dir.path(), 50_000);
        node.submit_blocking(
            None,
            Command::AddMerchant {
                name: "m".into(),
                key_id: "k".into(),
                secret_sha256: [0; 32],
            },
        )
        .unwrap()
        .unwrap();
        let june = atobarai_core::At::parse_rfc3339("2026-06-01T10:00:00+09:00").unwrap();
        node.submit_blocking(None, Command::AdvanceClock { to: june })
            .unwrap()
            .unwrap();
        let first = register(&node, 1);
        assert_eq!(limit(&node, first), 50_000);
        node.shutdown();
        drop(node);

        let node = node_at(dir.path(), 30_000);
        assert_eq!(limit(&node, first), 50_000, "history keeps its rules");
        let second = register(&node, 2);
        assert_eq!(limit(&node, second), 30_000, "the new rules apply from now");
        node.shutdown();
        drop(node);

        // Same configuration again: nothing new to journal, same state.
        let node = node_at(dir.path(), 30_000);
        assert_eq!(
            (limit(&node, first), limit(&node, second)),
            (50_000, 30_000)
        );
        node.shutdown();
        drop(node);
        let store = open_store(&StoreSpec::Dir(dir.path().to_path_buf())).unwrap();
        let mut names = Vec::new();
        store
            .journal
            .read_after(0, &mut |r| {
                names.push(Envelope::decode(&r.payload).unwrap().command.name());
                Ok(())
            })
            .unwrap();
        assert_eq!(
            names,
            [
                "set_rules",
                // The built-in risk rules, once: unchanged since.
                "set_risk_rules",
                "add_merchant",
                "advance_clock",
                "register_customer",
                "set_rules",
                "register_customer"
            ]
        );
    }

    fn node_with_risk(dir: &std::path::Path, risk: atobarai_core::config::RiskConfig) -> Node {
        node_with(
            dir,
            Config {
                risk,
                ..Config::default()
            },
        )
    }

    fn risk_sets(node: &Node) -> Vec<(u32, String, String)> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(node.read(|e| {
            e.risk_rule_sets()
                .into_iter()
                .map(|s| (s.version, s.name, s.author))
                .collect()
        }))
        .unwrap()
    }

    const MINE: &str = r#"
[set]
name = "mine"
version = 1

[[rule]]
id = "big_cart"
version = 1
when = 'cart.total >= 40_000'
action = "review"
reason = "big_cart"
text_ja = "確認が必要です。"
text_en = "Held for review."
"#;

    /// The configured rule set is journaled when the configured text
    /// changes, not on every start; a set put in force by an operator stays
    /// in force until the configured file changes.
    #[test]
    fn configured_risk_rules_are_journaled_when_the_configuration_changes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mine.toml");
        let data = dir.path().join("data");
        let node = node_with_risk(&data, Default::default());
        assert_eq!(
            risk_sets(&node),
            [(1, "default".to_string(), "config".to_string())]
        );
        node.shutdown();
        drop(node);

        // Unchanged configuration: nothing journaled.
        let node = node_with_risk(&data, Default::default());
        assert_eq!(risk_sets(&node).len(), 1);
        // An operator puts another set in force.
        node.submit_blocking(
            None,
            Command::SetRiskRules {
                source: MINE.into(),
                author: "ops".into(),
            },
        )
        .unwrap()
        .unwrap();
        node.shutdown();
        drop(node);

        // The configuration did not change: the operator's set stays.
        let node = node_with_risk(&data, Default::default());
        let sets = risk_sets(&node);
        assert_eq!(sets.len(), 2);
        assert_eq!(sets[1].2, "ops");
        node.shutdown();
        drop(node);

        // The configured file changes: it is put in force.
        std::fs::write(&file, MINE.replace("40_000", "45_000")).unwrap();
        let risk = atobarai_core::config::RiskConfig {
            rules_file: Some(file.clone()),
            baseline_policy: false,
        };
        let node = node_with_risk(&data, risk.clone());
        let sets = risk_sets(&node);
        assert_eq!(sets.len(), 3);
        assert_eq!((sets[2].0, sets[2].2.as_str()), (3, "config"));
        node.shutdown();
        drop(node);

        // A file that does not check stops the start with its positions.
        std::fs::write(&file, "[set]\nname = 1\n").unwrap();
        let config = Config {
            risk,
            ..Config::default()
        };
        match Node::open(
            NodeOptions {
                store: StoreSpec::Dir(data.clone()),
                clock: ClockMode::Manual,
                config,
                snapshot_every: 2,
            },
            &mut |_, _| {},
        ) {
            Err(NodeError::RiskRules(m)) => {
                assert!(m.contains(&format!("{}:2:", file.display())), "{m}")
            }
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("started with a bad rules file"),
        }

        // The baseline policy cannot be configured over a set in force.
        let mut config = Config::default();
        config.risk.baseline_policy = true;
        match Node::open(
            NodeOptions {
                store: StoreSpec::Dir(data.clone()),
                clock: ClockMode::Manual,
                config,
                snapshot_every: 2,
            },
            &mut |_, _| {},
        ) {
            Err(NodeError::RiskRules(m)) => assert!(m.contains("rule set 3"), "{m}"),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("started on the baseline over a rule set"),
        }

        // On a fresh store it journals no rule set.
        let fresh = dir.path().join("fresh");
        let node = node_with_risk(
            &fresh,
            atobarai_core::config::RiskConfig {
                rules_file: None,
                baseline_policy: true,
            },
        );
        assert!(risk_sets(&node).is_empty());
        node.shutdown();
    }

    /// The journal keeps each authorization's decision; a replay that
    /// decides otherwise (changed decision code) stops with the record
    /// number instead of silently rewriting what a merchant was told.
    #[test]
    fn a_changed_decision_on_replay_is_refused() {
        let june = 1_780_268_400_000; // 2026-06-01T08:00+09:00
        let customer = profile(1);
        let authorize = Envelope {
            at: atobarai_core::At::from_unix_ms(june + 1),
            idem: None,
            command: Command::Authorize {
                merchant: 0,
                session: Default::default(),
                input: atobarai_engine::AuthorizeInput {
                    merchant_order_id: "o-1".into(),
                    customer: 0,
                    product: atobarai_core::Product::Monthly,
                    channel: atobarai_core::Channel::Online,
                    items: vec![atobarai_engine::LineItem {
                        sku: "S".into(),
                        name: "洗剤".into(),
                        category: atobarai_core::Category::DailyGoods,
                        unit_price: atobarai_core::Yen::new(1_000),
                        quantity: 1,
                    }],
                    shipping_address: "東京都千代田区霞が関1-3-1".into(),
                    device_id: "d".into(),
                    ip: "203.0.113.7".into(),
                },
            },
        };
        // The authorization's record with the decision it recorded (legacy
        // records with and without one: engine tests/format.rs).
        let with = |decision| atobarai_engine::format::record::encode(&authorize, decision);
        let journal_with = |last: Vec<u8>| {
            let mut j = SqliteJournal::in_memory().unwrap();
            j.append(&[
                record(
                    1,
                    june,
                    Command::AddMerchant {
                        name: "m".into(),
                        key_id: "k".into(),
                        secret_sha256: [0; 32],
                    },
                ),
                record(
                    2,
                    june,
                    Command::RegisterCustomer {
                        merchant: 0,
                        profile: customer.clone(),
                        payment_method: atobarai_core::PaymentMethod::ConvenienceStore,
                        identity: Default::default(),
                    },
                ),
                Record {
                    seq: 3,
                    payload: last,
                },
            ])
            .unwrap();
            j
        };
        // Recorded approve (what this version decides), or no decision (a
        // record from before decisions were recorded): loads.
        for last in [with(Some(atobarai_engine::Decision::Approve)), with(None)] {
            let e = load_engine(&journal_with(last), Config::default(), &mut |_, _| {}).unwrap();
            assert_eq!(e.applied(), 3);
        }
        // Recorded decline: refused, naming the record.
        let decline = with(Some(atobarai_engine::Decision::Decline));
        match load_engine(&journal_with(decline), Config::default(), &mut |_, _| {}) {
            Err(NodeError::DecisionChanged {
                seq: 3,
                recorded: "decline",
                replayed: "approve",
            }) => {}
            other => panic!("{:?}", other.map(|e| e.applied())),
        }
        // A damaged trailer is corruption.
        let mut damaged = with(Some(atobarai_engine::Decision::Approve));
        *damaged.last_mut().unwrap() = 9;
        assert!(matches!(
            load_engine(&journal_with(damaged), Config::default(), &mut |_, _| {}),
            Err(NodeError::Corrupt { seq: 3, .. })
        ));
    }

    /// A snapshot from an older state layout is skipped (it is a cache):
    /// the whole journal replays; a snapshot that is merely corrupt is
    /// still an error.
    #[test]
    fn an_old_layout_snapshot_falls_back_to_a_full_replay() {
        let mut j = SqliteJournal::in_memory().unwrap();
        let records: Vec<Record> = (1..=3)
            .map(|i| {
                record(
                    i,
                    1_780_000_000_000 + i as i64,
                    Command::AddMerchant {
                        name: format!("m{i}"),
                        key_id: format!("k{i}"),
                        secret_sha256: [0; 32],
                    },
                )
            })
            .collect();
        j.append(&records).unwrap();
        let expected = load_engine(&j, Config::default(), &mut |_, _| {}).unwrap();
        assert_eq!(expected.applied(), 3);

        let mut old = b"ATBSNAP1".to_vec();
        old.extend_from_slice(&[0xff; 40]);
        j.save_snapshot(&Snapshot {
            seq: 3,
            digest: [0; 32],
            bytes: old,
        })
        .unwrap();
        let loaded = load_engine(&j, Config::default(), &mut |_, _| {}).unwrap();
        assert_eq!(loaded.applied(), 3);
        assert_eq!(loaded.digest(), expected.digest());

        j.save_snapshot(&Snapshot {
            seq: 3,
            digest: [0; 32],
            bytes: b"garbage".to_vec(),
        })
        .unwrap();
        assert!(matches!(
            load_engine(&j, Config::default(), &mut |_, _| {}),
            Err(NodeError::Corrupt { seq: 3, .. })
        ));
    }
}

#[cfg(test)]
mod reader_tests {
    use super::*;

    fn node(dir: &std::path::Path, snapshot_every: u64) -> Node {
        Node::open(
            NodeOptions {
                store: StoreSpec::Dir(dir.to_path_buf()),
                clock: ClockMode::Manual,
                config: Config::default(),
                snapshot_every,
            },
            &mut |_, _| {},
        )
        .unwrap()
    }

    fn add_merchant(node: &Node, n: u32) {
        node.submit_blocking(
            None,
            Command::AddMerchant {
                name: format!("m{n}"),
                key_id: format!("k{n}"),
                secret_sha256: [0; 32],
            },
        )
        .unwrap()
        .unwrap();
    }

    /// A read in progress does not hold up commands: the read below waits
    /// until a command has been answered, which could never happen if reads
    /// ran on the engine thread.
    #[test]
    fn a_slow_read_never_blocks_a_command() {
        let dir = tempfile::tempdir().unwrap();
        let node = Arc::new(node(dir.path(), 1_000));
        add_merchant(&node, 0);
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let (entered_tx, entered_rx) = std::sync::mpsc::channel::<()>();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let reading = {
            let node = node.clone();
            rt.spawn(async move {
                node.read(move |e| {
                    let _ = entered_tx.send(());
                    // Blocks the reader until the command below is answered.
                    done_rx
                        .recv_timeout(std::time::Duration::from_secs(30))
                        .map(|_| e.stats().merchants)
                })
                .await
            })
        };
        // The read is running on the reader thread now.
        entered_rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .unwrap();
        add_merchant(&node, 1);
        done_tx.send(()).unwrap();
        let seen = rt.block_on(reading).unwrap().unwrap();
        // The read was taken before the second merchant was applied there.
        assert_eq!(seen, Ok(1));
        node.shutdown();
    }

    /// Every answered command is visible to the next read, and the reader's
    /// state equals the engine's (same digest after a restart from the
    /// reader's snapshots).
    #[test]
    fn reads_see_every_answered_command_and_snapshots_come_from_the_reader() {
        let dir = tempfile::tempdir().unwrap();
        let node = node(dir.path(), 3);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for n in 0..10 {
            add_merchant(&node, n);
            let seen = rt.block_on(node.read(|e| e.stats().merchants)).unwrap();
            assert_eq!(seen, n as usize + 1);
        }
        let digest = rt.block_on(node.read(|e| e.digest())).unwrap();
        node.shutdown();
        drop(node);
        let store = open_store(&StoreSpec::Dir(dir.path().to_path_buf())).unwrap();
        let snapshot = store.journal.latest_snapshot().unwrap().unwrap();
        // Rules and risk rules journaled at start + 10 merchants; the final
        // snapshot is taken by the reader at shutdown.
        assert_eq!(snapshot.seq, 12);
        assert_eq!(snapshot.digest, digest);
        let replayed =
            load_engine(store.journal.as_ref(), Config::default(), &mut |_, _| {}).unwrap();
        assert_eq!(replayed.digest(), digest);
    }
}
