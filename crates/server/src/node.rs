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
//! **When the journal cannot be written** (the database restarted, the disk
//! is full), the batches not yet durable are refused (their callers get
//! `503` with `Retry-After` and retry with the same idempotency key), and the
//! node enters *recovery*: the engine refuses commands at once (fail fast)
//! while reads go on from the reader, the journal thread reconnects with
//! backoff, reads back whatever of the failed batch did reach the journal
//! (a commit whose answer was lost), claims the journal again, proves it
//! writable, and resets the engine thread to a copy of the reader's state —
//! exactly what is durable. Writes then resume without a restart.
//!
//! **Leader and followers** (a PostgreSQL journal shared by several
//! nodes): one node leads (see `atobarai_store::PgJournal`'s leases and
//! epochs) and appends; the others follow: their journal thread waits on
//! the journal's notifications, feeds what the leader appended to their
//! reader (which answers reads as on the leader), and claims the lead when
//! the leader's lease runs out or its connection is gone. A follower's
//! engine thread holds no state and refuses commands naming the leader; on
//! taking over, it gets a copy of the reader's state (caught up to the end
//! of the journal first). A leader whose append is fenced (another node took
//! over while it was stalled) refuses that batch and becomes a follower.

use crate::auth::KeyCache;
use crate::metrics::{CommandLabels, DecisionLabels, Metrics};
use atobarai_core::{At, Config};
use atobarai_engine::{Applied, Command, CommandError, Engine, Envelope, Idem, Outcome};
use atobarai_store::{
    DataDir, Journal, Lead, Member, Record, Snapshot, SnapshotWriter, StoreError,
};
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

fn open_store(spec: &StoreSpec, member: &Member) -> Result<OpenStore, StoreError> {
    match spec {
        StoreSpec::Dir(path) => {
            let dir = DataDir::open(path)?;
            Ok(OpenStore {
                journal: Box::new(dir.journal()?),
                _lock: Some(dir),
            })
        }
        StoreSpec::Postgres { url, schema } => Ok(OpenStore {
            journal: Box::new(atobarai_store::PgJournal::open_member(
                url,
                schema,
                member.clone(),
            )?),
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
    /// Sharing the journal with other nodes (PostgreSQL).
    pub cluster: ClusterOptions,
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

/// Why the node did not take a command (or a read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    /// The node is shutting down.
    Stopped,
    /// The journal cannot be written just now; the node is reconnecting.
    /// Nothing of the command was kept: retry it (same idempotency key).
    JournalDown,
    /// Another node leads the journal; the leader's address if known.
    NotLeader(Option<String>),
}

/// How a node takes part in a shared journal, as `GET /healthz` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleView {
    /// `leader`, `follower` or `recovering`.
    pub role: &'static str,
    /// The epoch of the lead this node holds or follows (0: unshared).
    pub epoch: u64,
    /// The leader's advertised address, when another node leads.
    pub leader: Option<String>,
    /// Records in the journal that this node's reader has not applied.
    pub lag: u64,
}

const LEADER: u8 = 0;
const FOLLOWER: u8 = 1;
const RECOVERING: u8 = 2;

/// What the node's threads share about its part in the journal.
#[derive(Default)]
struct ClusterState {
    role: std::sync::atomic::AtomicU8,
    epoch: std::sync::atomic::AtomicU64,
    leader: std::sync::Mutex<Option<atobarai_store::LeaderInfo>>,
    /// The journal's end as last seen, and what the reader was given.
    stored: std::sync::atomic::AtomicU64,
    durable: std::sync::atomic::AtomicU64,
}

impl ClusterState {
    fn role(&self) -> u8 {
        self.role.load(std::sync::atomic::Ordering::Acquire)
    }

    fn set_role(&self, role: u8) {
        self.role.store(role, std::sync::atomic::Ordering::Release);
    }

    fn set_leader(&self, leader: Option<atobarai_store::LeaderInfo>) {
        if let Some(l) = &leader {
            self.epoch
                .store(l.epoch, std::sync::atomic::Ordering::Relaxed);
        }
        if let Ok(mut g) = self.leader.lock() {
            *g = leader;
        }
    }

    fn leader_address(&self) -> Option<String> {
        self.leader
            .lock()
            .ok()
            .and_then(|g| g.as_ref().map(|l| l.address.clone()))
            .filter(|a| !a.is_empty())
    }

    /// Why a command is refused when this node does not lead.
    fn refusal(&self) -> Unavailable {
        match self.role() {
            FOLLOWER => Unavailable::NotLeader(self.leader_address()),
            _ => Unavailable::JournalDown,
        }
    }

    fn view(&self) -> RoleView {
        use std::sync::atomic::Ordering::Relaxed;
        let role = self.role();
        RoleView {
            role: match role {
                LEADER => "leader",
                FOLLOWER => "follower",
                _ => "recovering",
            },
            epoch: self.epoch.load(Relaxed),
            leader: if role == LEADER {
                None
            } else {
                self.leader_address()
            },
            lag: self
                .stored
                .load(Relaxed)
                .saturating_sub(self.durable.load(Relaxed)),
        }
    }
}

/// How this node shares a journal with others (PostgreSQL only; other
/// backends have one writer by construction).
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// The base URL this node answers at, shown by followers to clients
    /// that ask them to write.
    pub advertise: String,
    /// How long the leader's lease lasts without renewal.
    pub lease: std::time::Duration,
    /// How long a follower waits on the journal's notifications before it
    /// looks again (and checks whether the leader is still there).
    pub follow_poll: std::time::Duration,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            advertise: String::new(),
            lease: std::time::Duration::from_secs(3),
            follow_poll: std::time::Duration::from_millis(200),
        }
    }
}

type Reply = Box<dyn FnOnce() + Send>;
type ReadFn = Box<dyn FnOnce(&Engine) -> Reply + Send>;
/// What a command's caller gets: the engine's answer once durable, or why
/// the node did not take it.
type Answer = Result<Result<Applied, CommandError>, Unavailable>;

/// A command's answer waiting for its batch to be durable.
struct Pending {
    reply: tokio::sync::oneshot::Sender<Answer>,
    result: Result<Applied, CommandError>,
}

// Nearly every message is a command, so boxing it would only add an
// allocation per request.
#[allow(clippy::large_enum_variant)]
enum Msg {
    Command {
        idem: Option<Idem>,
        command: Command,
        reply: tokio::sync::oneshot::Sender<Answer>,
    },
    Shutdown(tokio::sync::oneshot::Sender<()>),
    /// Lead from this state (exactly what is durable) on: the journal
    /// thread took the lead or recovered. Batches carry `generation`.
    Reset {
        engine: Box<Engine>,
        generation: u64,
    },
}

/// What the engine thread hands the writer: records to make durable, the
/// envelopes behind them (for the reader) and the answers to release.
#[derive(Default)]
struct Batch {
    records: Vec<Record>,
    envelopes: Vec<Envelope>,
    replies: Vec<Pending>,
    /// The engine state's generation: batches applied to a state the
    /// journal thread has since given up on are refused.
    generation: u64,
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
    cluster: Arc<ClusterState>,
    snapshot_every: Arc<std::sync::atomic::AtomicU64>,
    pub keys: Arc<KeyCache>,
    pub metrics: Arc<Metrics>,
    pub clock: ClockMode,
    /// Gift-card codes' secret, redemption attempt limits and cluster
    /// previews (the shell's side of the issuer: `http_gift_cards`).
    pub gift_cards: Arc<crate::http_gift_cards::GiftCardShell>,
    /// Verification codes' secret and the SMS / e-mail gateways (`[sms]`).
    pub verifications: Arc<crate::sms::VerificationShell>,
    threads: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

/// `config` as history is replayed under it: the lifecycle terms of a
/// journal (or snapshot) that never journaled any are
/// [`Terms::legacy`](atobarai_core::lifecycle::Terms::legacy), the rules
/// in force before the lifecycle existed; the first `SetTerms` record (or a
/// snapshot's terms) replaces them. The node journals the configured terms
/// at start when they differ.
pub fn history_config(mut config: Config) -> Config {
    config.set_terms(atobarai_core::lifecycle::Terms::legacy());
    config
}

/// Load the engine from a journal: newest snapshot, then every record after
/// it. `progress(done, total)` is called as records replay.
pub fn load_engine(
    journal: &dyn Journal,
    config: Config,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Engine, NodeError> {
    let config = history_config(config);
    let mut engine = match journal.latest_snapshot()? {
        Some(s) => match Engine::restore(config.clone(), &s.bytes) {
            Ok(engine) => {
                // The digest recorded with a snapshot is of its body as
                // written. A snapshot of an older layout was upgraded by
                // the restore (its body grew), so its digest is checked
                // against the body it was written with; a current one
                // against the restored state (which proves the restore).
                let digest_ok = match atobarai_engine::format::snapshot::decode(&s.bytes) {
                    Ok((version, body)) if version < atobarai_engine::format::snapshot::CURRENT => {
                        <[u8; 32]>::from(<sha2::Sha256 as sha2::Digest>::digest(body)) == s.digest
                    }
                    _ => engine.digest() == s.digest,
                };
                if !digest_ok || engine.applied() != s.seq {
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
        let gift_cards = Arc::new(crate::http_gift_cards::GiftCardShell::new(
            &opts.config.gift_cards,
        ));
        let verifications = Arc::new(crate::sms::VerificationShell::from_config(
            &opts.config.sms,
            match &opts.store {
                StoreSpec::Dir(dir) => dir.as_path(),
                _ => std::path::Path::new("."),
            },
        ));
        let member = Member::new(opts.cluster.advertise.clone(), opts.cluster.lease);
        let mut store = open_store(&opts.store, &member)?;
        let lead = store.journal.lead()?;
        let cluster = Arc::new(ClusterState::default());
        let leading = match lead {
            Lead::Leader { epoch } => {
                cluster.set_role(LEADER);
                cluster
                    .epoch
                    .store(epoch, std::sync::atomic::Ordering::Relaxed);
                true
            }
            Lead::Follower(leader) => {
                tracing::info!(leader = ?leader, "another node leads the journal; following it");
                cluster.set_role(FOLLOWER);
                cluster.set_leader(leader);
                false
            }
        };
        let engine = load_engine(store.journal.as_ref(), opts.config.clone(), progress)?;
        let rules_journaled = !leading || engine.rules_journaled(&opts.config.rules());
        let terms_journaled = !leading || engine.terms_are(&opts.config.terms());
        let risk_rules = risk_rules_to_journal(&engine, &opts.config.risk)?.filter(|_| leading);
        if leading {
            store.journal.set_meta("clock", opts.clock.as_str())?;
        }
        let durable = engine.applied();
        cluster
            .durable
            .store(durable, std::sync::atomic::Ordering::Relaxed);
        cluster.stored.store(
            store.journal.stored_last_seq()?,
            std::sync::atomic::Ordering::Relaxed,
        );
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
        // A follower's engine thread holds no state until it leads.
        let (engine, follower) = if leading {
            let follower = copy_engine(&engine, &opts.config)?;
            (Some(engine), follower)
        } else {
            (None, engine)
        };

        let snapshots = store.journal.snapshot_writer()?;
        let (tx, rx) = flume::bounded::<Msg>(ENGINE_QUEUE_MAX);
        let (wtx, wrx) = flume::bounded::<ToWriter>(WRITER_QUEUE_MAX);
        let (read_tx, read_rx) = flume::unbounded::<ToReader>();
        let engine_thread = {
            let (metrics, wtx) = (metrics.clone(), wtx.clone());
            let clock = opts.clock;
            let cluster = cluster.clone();
            std::thread::Builder::new()
                .name("engine".into())
                .spawn(move || engine_loop(engine, rx, wtx, clock, &metrics, &cluster))
                .map_err(NodeError::Thread)?
        };
        let writer_thread = {
            let journaler = Journaler {
                spec: opts.store.clone(),
                member,
                config: opts.config.clone(),
                store: Some(store),
                wrx,
                read_tx: read_tx.clone(),
                etx: tx.clone(),
                cluster: cluster.clone(),
                keys: keys.clone(),
                metrics: metrics.clone(),
                poll: opts.cluster.follow_poll,
                durable,
                generation: 0,
                shutdown: None,
            };
            std::thread::Builder::new()
                .name("journal".into())
                .spawn(move || {
                    journaler.run(if leading {
                        Mode::Leading
                    } else {
                        Mode::Following
                    })
                })
                .map_err(NodeError::Thread)?
        };
        let snapshot_every = Arc::new(std::sync::atomic::AtomicU64::new(
            opts.snapshot_every.max(1),
        ));
        let (stx, srx) = flume::bounded::<ToSaver>(1);
        let saver_thread = {
            let metrics = metrics.clone();
            let spec = opts.store.clone();
            std::thread::Builder::new()
                .name("snapshots".into())
                .spawn(move || saver_loop(snapshots, &spec, srx, wtx, &metrics))
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
            cluster,
            snapshot_every,
            keys,
            metrics,
            clock: opts.clock,
            gift_cards,
            verifications,
            threads: std::sync::Mutex::new(vec![
                engine_thread,
                writer_thread,
                reader_thread,
                saver_thread,
            ]),
        };
        // What the configuration puts in force at start, when it differs
        // from what is journaled: it applies from now on, and history keeps
        // replaying under what it ran with.
        if !rules_journaled {
            tracing::info!("journaling the configured credit/billing rules");
            node.journal_at_start(Command::SetRules {
                rules: Box::new(opts.config.rules()),
            })
            .map_err(NodeError::Rules)?;
        }
        if !terms_journaled {
            tracing::info!("journaling the configured lifecycle terms and products");
            node.journal_at_start(Command::SetTerms {
                terms: Box::new(opts.config.terms()),
            })
            .map_err(NodeError::Rules)?;
        }
        if let Some(source) = risk_rules {
            tracing::info!("putting the configured risk rule set in force");
            node.journal_at_start(Command::SetRiskRules {
                source,
                author: CONFIG_AUTHOR.into(),
            })
            .map_err(NodeError::RiskRules)?;
        }
        Ok(node)
    }

    /// Journal a configured rule set at start; why not, as text.
    fn journal_at_start(&self, command: Command) -> Result<(), String> {
        match self.submit_blocking(None, command) {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(format!("not journaled: {e:?}")),
        }
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
            .map_err(|_| Unavailable::Stopped)?;
        rx.await.map_err(|_| Unavailable::Stopped)?
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
            .map_err(|_| Unavailable::Stopped)?;
        rx.blocking_recv().map_err(|_| Unavailable::Stopped)?
    }

    /// This node's part in the journal (leader, follower, recovering).
    pub fn role(&self) -> RoleView {
        self.cluster.view()
    }

    /// Whether this node leads (appends to) the journal now.
    pub fn is_leader(&self) -> bool {
        self.cluster.role() == LEADER
    }

    /// Read engine state on the reader thread (never the engine thread):
    /// the state holds every command whose answer was released before this
    /// call, and nothing that is not yet durable.
    pub async fn read<R, F>(&self, f: F) -> Result<R, Unavailable>
    where
        R: Send + 'static,
        F: FnOnce(&Engine) -> R + Send + 'static,
    {
        let _permit = self
            .reads
            .acquire()
            .await
            .map_err(|_| Unavailable::Stopped)?;
        let (reply, rx) = tokio::sync::oneshot::channel();
        let read: ReadFn = Box::new(move |engine: &Engine| {
            let value = f(engine);
            Box::new(move || {
                let _ = reply.send(value);
            }) as Reply
        });
        self.read_tx
            .send(ToReader::Read(read))
            .map_err(|_| Unavailable::Stopped)?;
        rx.await.map_err(|_| Unavailable::Stopped)
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

/// A copy of `engine` through the snapshot encoding, checked against its
/// digest like any restore.
fn copy_engine(engine: &Engine, config: &Config) -> Result<Engine, NodeError> {
    let (bytes, digest) = engine.snapshot_with_digest();
    let copy = Engine::restore(config.clone(), &bytes).map_err(|e| NodeError::Corrupt {
        seq: engine.applied(),
        reason: format!("a copy of the state: {e}"),
    })?;
    if copy.digest() != digest {
        return Err(NodeError::SnapshotDigest {
            seq: engine.applied(),
        });
    }
    Ok(copy)
}

fn engine_loop(
    mut engine: Option<Engine>,
    rx: flume::Receiver<Msg>,
    wtx: flume::Sender<ToWriter>,
    clock: ClockMode,
    metrics: &Metrics,
    cluster: &ClusterState,
) {
    let mut generation = 0u64;
    while let Ok(first) = rx.recv() {
        let mut batch = Batch {
            generation,
            ..Batch::default()
        };
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
                    // Not leading (following, or the journal is down):
                    // refuse at once, touching nothing.
                    let engine = match engine.as_mut() {
                        Some(e) if cluster.role() == LEADER => e,
                        _ => {
                            let _ = reply.send(Err(cluster.refusal()));
                            if taken < ENGINE_BATCH_MAX {
                                next = rx.try_recv().ok();
                            }
                            continue;
                        }
                    };
                    let at = now_for(clock, engine);
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
                            (
                                Command::AddMerchant { .. }
                                | Command::AddIssuerMerchant { .. }
                                | Command::AddOperator { .. },
                                _,
                            ) => {
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
                    batch.replies.push(Pending { reply, result });
                }
                Msg::Reset {
                    engine: fresh,
                    generation: g,
                } => {
                    // Everything batched so far belongs to the state given
                    // up on: send it on to be refused, then lead from the
                    // durable state.
                    let stale = std::mem::take(&mut batch);
                    if wtx.send(ToWriter::Batch(stale)).is_err() {
                        return;
                    }
                    engine = Some(*fresh);
                    generation = g;
                    batch.generation = g;
                    cluster.set_role(LEADER);
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
        if let Some(engine) = &engine {
            let stats = engine.stats();
            metrics.customers.set(stats.customers as i64);
            metrics.orders.set(stats.orders as i64);
        }
        let last = batch.shutdown.is_some();
        if wtx.send(ToWriter::Batch(batch)).is_err() || last {
            return;
        }
    }
}

/// What the journal thread is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Appending the engine's batches.
    Leading,
    /// Tailing another node's appends into the reader.
    Following,
    /// Reconnecting after the journal failed.
    Recovering,
}

/// The journal thread: appends as leader, tails as follower, reconnects
/// after failures (see the module docs).
struct Journaler {
    spec: StoreSpec,
    member: Member,
    config: Config,
    /// `None` after a failure until reopened.
    store: Option<OpenStore>,
    wrx: flume::Receiver<ToWriter>,
    read_tx: flume::Sender<ToReader>,
    etx: flume::Sender<Msg>,
    cluster: Arc<ClusterState>,
    keys: Arc<KeyCache>,
    metrics: Arc<Metrics>,
    poll: std::time::Duration,
    /// The last record handed to the reader (everything up to it durable).
    durable: u64,
    /// The engine state batches must come from to be appended.
    generation: u64,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

/// The journal thread is done (shut down, or the node is gone).
struct Exit;

impl Journaler {
    fn run(mut self, mut mode: Mode) {
        loop {
            let next = match mode {
                Mode::Leading => self.lead(),
                Mode::Following => self.follow(),
                Mode::Recovering => self.recover(),
            };
            match next {
                Ok(m) => mode = m,
                Err(Exit) => return,
            }
        }
    }

    fn set_durable(&mut self, seq: u64) {
        self.durable = seq;
        self.cluster
            .durable
            .store(seq, std::sync::atomic::Ordering::Relaxed);
    }

    /// Give every answer of `b` the refusal `why` (nothing of it is
    /// durable); a shutdown it carries goes ahead.
    fn refuse(&mut self, b: Batch, why: &Unavailable) -> Result<(), Exit> {
        for p in b.replies {
            let _ = p.reply.send(Err(why.clone()));
        }
        match b.shutdown {
            Some(reply) => self.begin_shutdown(reply),
            None => Ok(()),
        }
    }

    fn begin_shutdown(&mut self, reply: tokio::sync::oneshot::Sender<()>) -> Result<(), Exit> {
        self.shutdown = Some(reply);
        if self.read_tx.send(ToReader::Final).is_err() {
            let _ = self.shutdown.take().map(|r| r.send(()));
            return Err(Exit);
        }
        Ok(())
    }

    fn finish(&mut self) -> Exit {
        if let Some(reply) = self.shutdown.take() {
            let _ = reply.send(());
        }
        Exit
    }

    /// Refuse whatever the engine thread sent (when not leading), waiting
    /// at most `within` for the first message.
    fn drain(&mut self, within: std::time::Duration) -> Result<(), Exit> {
        let mut first = Some(within);
        loop {
            let msg = match first.take() {
                Some(w) if !w.is_zero() => match self.wrx.recv_timeout(w) {
                    Ok(m) => m,
                    Err(flume::RecvTimeoutError::Timeout) => return Ok(()),
                    Err(flume::RecvTimeoutError::Disconnected) => return Err(self.finish()),
                },
                _ => match self.wrx.try_recv() {
                    Ok(m) => m,
                    Err(flume::TryRecvError::Empty) => return Ok(()),
                    Err(flume::TryRecvError::Disconnected) => return Err(self.finish()),
                },
            };
            match msg {
                ToWriter::Batch(b) => {
                    let why = self.cluster.refusal();
                    self.refuse(b, &why)?;
                }
                ToWriter::Final => return Err(self.finish()),
            }
        }
    }

    fn lead(&mut self) -> Result<Mode, Exit> {
        let idle = std::time::Duration::from_millis(500);
        loop {
            let first = match self.wrx.recv_timeout(idle) {
                Ok(m) => m,
                Err(flume::RecvTimeoutError::Disconnected) => return Err(self.finish()),
                Err(flume::RecvTimeoutError::Timeout) => {
                    // Idle: make sure the lead is still ours (a lease lost
                    // while nothing was appended).
                    let still = self.store.as_mut().map(|s| s.journal.lead());
                    match still {
                        Some(Ok(Lead::Leader { .. })) => continue,
                        Some(Ok(Lead::Follower(leader))) => {
                            return Ok(self.step_down(leader));
                        }
                        _ => return Ok(self.fail_over_to(Mode::Recovering)),
                    }
                }
            };
            // Every batch waiting shares one transaction (group commit).
            let mut batches = Vec::new();
            let mut next = Some(first);
            while let Some(msg) = next.take() {
                match msg {
                    ToWriter::Batch(b) if b.generation != self.generation => {
                        self.refuse(b, &Unavailable::JournalDown)?;
                    }
                    ToWriter::Batch(b) => batches.push(b),
                    ToWriter::Final => return Err(self.finish()),
                }
                if self.shutdown.is_none() && !batches.iter().any(|b| b.shutdown.is_some()) {
                    next = self.wrx.try_recv().ok();
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
            if !records.is_empty() {
                let appended = match self.store.as_mut() {
                    Some(s) => s.journal.append(&records),
                    None => Err(StoreError::NotLeader("journal closed".into())),
                };
                if let Err(e) = appended {
                    tracing::error!(error = %e, "journal append failed; refusing the batch");
                    self.metrics.journal_failures.inc();
                    let (why, mode) = if e.is_leadership() {
                        let leader = self
                            .store
                            .as_mut()
                            .and_then(|s| s.journal.lead().ok())
                            .and_then(|l| match l {
                                Lead::Follower(l) => l,
                                Lead::Leader { .. } => None,
                            });
                        self.cluster.set_leader(leader.clone());
                        (
                            Unavailable::NotLeader(leader.map(|l| l.address)),
                            Mode::Following,
                        )
                    } else {
                        (Unavailable::JournalDown, Mode::Recovering)
                    };
                    for b in batches {
                        self.refuse(b, &why)?;
                    }
                    return Ok(self.fail_over_to(mode));
                }
            }
            self.metrics
                .journal_commit_seconds
                .observe(started.elapsed().as_secs_f64());
            self.metrics
                .journal_batch_records
                .observe(records.len() as f64);
            self.metrics.journal_records.inc_by(records.len() as u64);
            if let Some(last) = records.last() {
                self.set_durable(last.seq);
                self.cluster
                    .stored
                    .store(last.seq, std::sync::atomic::Ordering::Relaxed);
            }
            for b in batches {
                for (id, principal, hash) in b.keys {
                    self.keys.insert(id, principal, hash);
                }
                // The reader gets the durable envelopes before the answers
                // leave: a read sent after an answer sees its command.
                if !b.envelopes.is_empty() {
                    let _ = self.read_tx.send(ToReader::Apply(b.envelopes));
                }
                for p in b.replies {
                    let _ = p.reply.send(Ok(p.result));
                }
                if let Some(reply) = b.shutdown {
                    self.begin_shutdown(reply)?;
                }
            }
        }
    }

    /// Stop leading: the engine's state past `durable` is given up (its
    /// batches are refused from now on) and commands are refused at once.
    fn fail_over_to(&mut self, mode: Mode) -> Mode {
        self.generation += 1;
        self.cluster.set_role(match mode {
            Mode::Following => FOLLOWER,
            _ => RECOVERING,
        });
        mode
    }

    fn step_down(&mut self, leader: Option<atobarai_store::LeaderInfo>) -> Mode {
        tracing::warn!(leader = ?leader, "another node took the journal over; following it");
        self.cluster.set_leader(leader);
        self.fail_over_to(Mode::Following)
    }

    /// Feed the reader every record after `durable` (as decoded envelopes),
    /// refreshing the key cache when keys were added.
    fn catch_up(&mut self) -> Result<(), StoreError> {
        let Some(store) = self.store.as_ref() else {
            return Err(StoreError::NotLeader("journal closed".into()));
        };
        const CHUNK: usize = 1_024;
        let mut envelopes = Vec::new();
        let mut keys_changed = false;
        let mut last = self.durable;
        let read_tx = self.read_tx.clone();
        let mut corrupt: Option<(u64, String)> = None;
        store
            .journal
            .read_after(self.durable, &mut |record| {
                match Envelope::decode_record(&record.payload) {
                    Ok((env, _)) => {
                        keys_changed |= matches!(
                            env.command,
                            Command::AddMerchant { .. }
                                | Command::AddIssuerMerchant { .. }
                                | Command::AddOperator { .. }
                        );
                        envelopes.push(env);
                        last = record.seq;
                    }
                    Err(e) => {
                        corrupt = Some((record.seq, e.to_string()));
                        return Err(StoreError::Sequence {
                            expected: record.seq,
                            got: record.seq,
                        });
                    }
                }
                if envelopes.len() >= CHUNK {
                    let _ = read_tx.send(ToReader::Apply(std::mem::take(&mut envelopes)));
                }
                Ok(())
            })
            .or_else(|e| if corrupt.is_some() { Ok(()) } else { Err(e) })?;
        if !envelopes.is_empty() {
            let _ = read_tx.send(ToReader::Apply(envelopes));
        }
        if let Some((seq, reason)) = corrupt {
            // A record this version cannot decode: never apply past it.
            tracing::error!(seq, reason, "journal record cannot be decoded");
            eprintln!("atobarai: journal record {seq} cannot be decoded ({reason}); stopping");
            std::process::exit(70);
        }
        if keys_changed {
            let keys = self.keys.clone();
            let _ = read_tx.send(ToReader::Read(Box::new(move |engine: &Engine| {
                for (id, principal, hash) in engine.keys() {
                    keys.insert(id, principal, hash);
                }
                Box::new(|| {}) as Reply
            })));
        }
        self.set_durable(last);
        Ok(())
    }

    /// Take the lead: the reader holds exactly what is durable (caught up
    /// to the journal's end); the engine thread gets a copy of it.
    fn take_lead(&mut self, epoch: u64) -> Result<Mode, Exit> {
        let (tx, rx) = std::sync::mpsc::channel();
        let read: ReadFn = Box::new(move |engine: &Engine| {
            let _ = tx.send(engine.snapshot_with_digest());
            Box::new(|| {}) as Reply
        });
        if self.read_tx.send(ToReader::Read(read)).is_err() {
            return Err(self.finish());
        }
        let Ok((bytes, digest)) = rx.recv() else {
            return Err(self.finish());
        };
        let engine = match Engine::restore(self.config.clone(), &bytes) {
            Ok(e) if e.digest() == digest => e,
            _ => {
                eprintln!("atobarai: the reader's state does not copy; stopping");
                std::process::exit(70);
            }
        };
        drop(bytes);
        self.generation += 1;
        self.cluster
            .epoch
            .store(epoch, std::sync::atomic::Ordering::Relaxed);
        self.cluster.set_leader(None);
        tracing::info!(epoch, seq = self.durable, "leading the journal");
        if self
            .etx
            .send(Msg::Reset {
                engine: Box::new(engine),
                generation: self.generation,
            })
            .is_err()
        {
            return Err(self.finish());
        }
        Ok(Mode::Leading)
    }

    /// Catch up and claim the lead if it is free; `Ok(None)`: follow.
    fn try_lead(&mut self) -> Result<Option<u64>, StoreError> {
        // The journal's end before reading it: while a long catch-up runs,
        // the lag shows the whole backlog.
        let stored = self
            .store
            .as_ref()
            .ok_or_else(|| StoreError::NotLeader("journal closed".into()))?
            .journal
            .stored_last_seq()?;
        self.cluster
            .stored
            .store(stored, std::sync::atomic::Ordering::Relaxed);
        self.catch_up()?;
        let store = self
            .store
            .as_mut()
            .ok_or_else(|| StoreError::NotLeader("journal closed".into()))?;
        match store.journal.lead()? {
            Lead::Leader { epoch } => {
                // Claimed: nobody else appends now; read to the very end.
                self.catch_up()?;
                let store = self.store.as_mut().expect("open");
                let end = store.journal.last_seq()?;
                if end != self.durable {
                    return Err(StoreError::Sequence {
                        expected: self.durable,
                        got: end,
                    });
                }
                // Prove the journal writable before taking commands.
                store.journal.set_meta("lead", &epoch.to_string())?;
                Ok(Some(epoch))
            }
            Lead::Follower(leader) => {
                self.cluster.set_leader(leader);
                Ok(None)
            }
        }
    }

    fn reopen(&mut self) -> Result<(), StoreError> {
        if self.store.is_none() {
            self.store = Some(open_store(&self.spec, &self.member)?);
        }
        Ok(())
    }

    fn follow(&mut self) -> Result<Mode, Exit> {
        let mut backoff = std::time::Duration::from_millis(100);
        loop {
            self.drain(std::time::Duration::ZERO)?;
            let step = self.reopen().and_then(|()| self.try_lead());
            match step {
                Ok(Some(epoch)) => return self.take_lead(epoch),
                Ok(None) => {
                    backoff = std::time::Duration::from_millis(100);
                    let waited = self
                        .store
                        .as_mut()
                        .map(|s| s.journal.wait_for_records(self.durable, self.poll));
                    if let Some(Err(e)) = waited {
                        tracing::warn!(error = %e, "following: waiting on the journal failed");
                        self.store = None;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "following: journal unavailable; reconnecting");
                    self.store = None;
                    self.drain(backoff)?;
                    backoff = (backoff * 2).min(std::time::Duration::from_secs(2));
                }
            }
        }
    }

    fn recover(&mut self) -> Result<Mode, Exit> {
        let mut backoff = std::time::Duration::from_millis(50);
        loop {
            // Reconnect from scratch: the old handle may hold a broken
            // connection (the embedded store's lock goes and comes back).
            self.store = None;
            self.drain(std::time::Duration::ZERO)?;
            match self.reopen().and_then(|()| self.try_lead()) {
                Ok(Some(epoch)) => {
                    tracing::info!(seq = self.durable, "journal writable again; resuming");
                    return self.take_lead(epoch);
                }
                Ok(None) => return Ok(self.fail_over_to(Mode::Following)),
                Err(e) => {
                    tracing::warn!(error = %e, "journal still unavailable");
                    self.drain(backoff)?;
                    backoff = (backoff * 2).min(std::time::Duration::from_secs(2));
                }
            }
        }
    }
}

/// Save the reader's snapshots through the store's own snapshot writer,
/// apart from the journal: appends never wait for a snapshot.
fn saver_loop(
    mut writer: Box<dyn SnapshotWriter>,
    spec: &StoreSpec,
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
            Err(e) => {
                tracing::error!(error = %e, seq = snapshot.seq, "snapshot not saved");
                // A networked store's connection may be gone for good:
                // the next snapshot goes through a fresh one.
                if let Some(Ok(fresh)) = reopen_snapshots(spec) {
                    writer = fresh;
                }
            }
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

/// A fresh snapshot writer for a networked store (`None` for the embedded
/// one, whose writer has no connection to lose).
fn reopen_snapshots(spec: &StoreSpec) -> Option<Result<Box<dyn SnapshotWriter>, StoreError>> {
    match spec {
        StoreSpec::Dir(_) => None,
        StoreSpec::Postgres { url, schema } => Some(
            atobarai_store::PgJournal::open_member(url, schema, Member::solo())
                .and_then(|j| j.snapshot_writer()),
        ),
        StoreSpec::Nats { url, stream } => {
            Some(atobarai_store::NatsJournal::open(url, stream).and_then(|j| j.snapshot_writer()))
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
                cluster: Default::default(),
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
        let store = open_store(&StoreSpec::Dir(dir.path().to_path_buf()), &Member::solo()).unwrap();
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
                // The terms and the built-in risk rules, once: unchanged since.
                "set_terms",
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
                cluster: Default::default(),
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
                cluster: Default::default(),
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
                    tax_rates: Vec::new(),
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

    /// A snapshot written by the previous release (layout version 6, the
    /// golden one of the engine's format tests) upgrades on load: the
    /// node starts from it instead of refusing its digest, and a corrupted
    /// copy (same bytes, another recorded digest) is still refused.
    #[test]
    fn a_previous_layout_snapshot_upgrades_and_keeps_its_digest_check() {
        use sha2::Digest as _;
        let bytes = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../engine/tests/golden/snapshot/v6.bin"),
        )
        .unwrap();
        let (version, body) = atobarai_engine::format::snapshot::decode(&bytes).unwrap();
        assert_eq!(version, 6);
        let digest: [u8; 32] = sha2::Sha256::digest(body).into();
        let seq = Engine::restore(Config::default(), &bytes)
            .unwrap()
            .applied();
        let mut j = SqliteJournal::in_memory().unwrap();
        j.save_snapshot(&Snapshot {
            seq,
            digest,
            bytes: bytes.clone(),
        })
        .unwrap();
        let loaded = load_engine(&j, Config::default(), &mut |_, _| {}).unwrap();
        assert_eq!(loaded.applied(), seq);
        j.save_snapshot(&Snapshot {
            seq,
            digest: [0; 32],
            bytes,
        })
        .unwrap();
        assert!(matches!(
            load_engine(&j, Config::default(), &mut |_, _| {}),
            Err(NodeError::SnapshotDigest { .. })
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
                cluster: Default::default(),
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
        let store = open_store(&StoreSpec::Dir(dir.path().to_path_buf()), &Member::solo()).unwrap();
        let snapshot = store.journal.latest_snapshot().unwrap().unwrap();
        // Rules, terms and risk rules journaled at start + 10 merchants;
        // the final snapshot is taken by the reader at shutdown.
        assert_eq!(snapshot.seq, 13);
        assert_eq!(snapshot.digest, digest);
        let replayed =
            load_engine(store.journal.as_ref(), Config::default(), &mut |_, _| {}).unwrap();
        assert_eq!(replayed.digest(), digest);
    }
}
