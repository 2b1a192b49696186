//! The NATS JetStream journal: the journal is a JetStream stream, so a
//! JetStream cluster (a stream with three replicas) gives a replicated log.
//!
//! Layout, for a journal named `NAME`:
//!
//! * the stream `NAME` (file storage, subjects `NAME.journal`, no limits,
//!   message deletes and purges denied) holds one message per [`Record`],
//!   whose stream sequence *is* the record's `seq`. The stream must hold the
//!   journal and nothing else from its first message on: [`NatsJournal::open`]
//!   creates it when missing and refuses a stream whose numbering does not
//!   start at 1 without gaps, or that takes other subjects or drops messages.
//!   To replicate, create the stream beforehand with the same subjects and
//!   three replicas: `open` uses an existing empty stream as it is.
//! * the key-value bucket `NAME_META` holds [`Journal::meta`].
//! * the object store `NAME_SNAP` holds the newest few snapshots, one object
//!   each (`snapshot-<seq>`), chunked below the server's `max_payload`. Its
//!   metadata, written after the last chunk, is what makes an object
//!   visible, so a reader sees a whole snapshot or none.
//!
//! **Fencing.** Every message is published with `Nats-Expected-Last-Sequence`
//! set to `seq - 1`: the server stores it only when the stream ends exactly
//! at `seq - 1`, so two writers can never both append `seq`. A writer whose
//! view is stale gets [`StoreError::Sequence`] and writes nothing.
//!
//! **Batches.** JetStream (before 2.12) has no atomic multi-message publish.
//! A batch is published as one pipelined run of messages: the first fenced
//! by expected-last-sequence, each later one also by
//! `Nats-Expected-Last-Msg-Id` naming the message before it (ids carry this
//! handle's own random id). The server refuses every message after the
//! first refused one, so what is stored is always a prefix of the batch, in
//! order, each record whole. A batch refused at its first message (another
//! writer, or a payload above `max_payload`, which is checked before
//! anything is sent) writes nothing. A batch cut short midway (connection
//! lost, server restart, ack timeout) may leave a prefix: the error says so
//! and this handle refuses every later append. The node is fail-stop: it
//! stops on any journal error, and on reopen `last_seq` and `read_after`
//! show the prefix exactly as if it had been appended as a batch of its own.
//!
//! **Durability.** An acknowledged message is in the server's file store,
//! and in a cluster on a quorum of replicas. Whether the server fsyncs each
//! write is its own setting (`sync_interval`, NATS 2.10 and later; `always`
//! syncs before acknowledging).
//!
//! The trait is synchronous and called from plain threads, while the client
//! is async: each handle owns a small tokio runtime (one worker thread, like
//! the PostgreSQL backend's connection thread) and waits for the futures it
//! spawns there. Connects and requests have explicit timeouts, so a server
//! that stops answering fails the call instead of hanging the engine.

use crate::snapshot::SNAPSHOTS_KEPT;
use crate::{Journal, Record, SNAPSHOT_CHUNK_MAX, Snapshot, SnapshotWriter, StoreError};
use async_nats::jetstream::{self, consumer, kv, object_store, stream};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// Longest wait for a TCP connection and the server's greeting.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for one JetStream request or publish acknowledgement.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Records read per round of [`Journal::read_after`].
const READ_PAGE: usize = 10_000;
/// Room left for headers when checking a payload against `max_payload`.
const HEADER_ROOM: usize = 512;

fn nats(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Nats(format!("{what}: {e}"))
}

/// Stream names become subjects and bucket names: keep them plain.
fn valid_stream(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A small runtime of its own: one worker thread, named `name`.
fn runtime(name: &str) -> Result<tokio::runtime::Runtime, StoreError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(name)
        .enable_all()
        .build()
        .map_err(|source| StoreError::Io {
            path: name.into(),
            source,
        })
}

/// Run `fut` on `rt` and wait for it from this (non-async) thread. Spawning
/// rather than `block_on` also works when the caller sits inside another
/// runtime.
fn block<R: Send + 'static>(
    rt: &tokio::runtime::Runtime,
    fut: impl Future<Output = Result<R, StoreError>> + Send + 'static,
) -> Result<R, StoreError> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    rt.spawn(async move {
        let _ = tx.send(fut.await);
    });
    rx.recv()
        .map_err(|_| StoreError::Nats("the NATS runtime stopped".into()))?
}

/// A runtime with a connected client and its JetStream context. Dropping it
/// stops the runtime (and with it the connection).
struct Conn {
    rt: Option<tokio::runtime::Runtime>,
    client: async_nats::Client,
    js: jetstream::Context,
}

impl Conn {
    fn open(name: &str, url: &str) -> Result<Conn, StoreError> {
        let rt = runtime(name)?;
        let url = url.to_string();
        let conn_name = format!("atobarai-{name}");
        let (client, js) = block(&rt, async move {
            let connecting = async_nats::ConnectOptions::new()
                .name(conn_name)
                .connection_timeout(CONNECT_TIMEOUT)
                .request_timeout(Some(REQUEST_TIMEOUT))
                .connect(url.as_str());
            let client = tokio::time::timeout(CONNECT_TIMEOUT + Duration::from_secs(1), connecting)
                .await
                .map_err(|_| StoreError::Nats(format!("connecting to {url}: timed out")))?
                .map_err(|e| nats(&format!("connecting to {url}"), e))?;
            let js = jetstream::ContextBuilder::new()
                .timeout(REQUEST_TIMEOUT)
                .backpressure_on_inflight(true)
                .build(client.clone());
            Ok((client, js))
        })?;
        Ok(Conn {
            rt: Some(rt),
            client,
            js,
        })
    }

    fn run<R: Send + 'static>(
        &self,
        fut: impl Future<Output = Result<R, StoreError>> + Send + 'static,
    ) -> Result<R, StoreError> {
        match &self.rt {
            Some(rt) => block(rt, fut),
            None => Err(StoreError::Nats("journal closed".into())),
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            // Nothing is in flight: every call waited for its answer.
            rt.shutdown_background();
        }
    }
}

/// Whether a stream in state (`first`, `last`, `messages`) numbers the
/// journal from 1 without gaps; its last sequence if so.
fn numbering_matches(first: u64, last: u64, messages: u64) -> Result<u64, String> {
    if messages == 0 && last == 0 {
        return Ok(0);
    }
    if first == 1 && messages == last {
        return Ok(last);
    }
    Err(format!(
        "its sequence numbering does not match a journal (first {first}, last {last}, \
         {messages} messages): a journal stream must be fresh and never purged"
    ))
}

/// Refuse a stream that would not keep every record under its own number.
fn check_stream(info: &stream::Info, subject: &str) -> Result<u64, StoreError> {
    let c = &info.config;
    let name = &c.name;
    let refuse = |why: String| Err(StoreError::Nats(format!("stream {name}: {why}")));
    if c.subjects != [subject.to_string()] {
        return refuse(format!(
            "takes subjects {:?}, a journal stream takes only {subject:?}",
            c.subjects
        ));
    }
    if c.retention != stream::RetentionPolicy::Limits
        || c.max_messages > 0
        || c.max_bytes > 0
        || c.max_age > Duration::ZERO
        || c.max_messages_per_subject > 0
    {
        return refuse("drops messages (retention or limits set); a journal keeps all".into());
    }
    if c.sealed {
        return refuse("is sealed".into());
    }
    let s = &info.state;
    numbering_matches(s.first_sequence, s.last_sequence, s.messages).or_else(refuse)
}

/// The key under which `key` is kept in the meta bucket: plain keys as they
/// are, anything else hex-encoded behind `=` (which plain keys never hold).
fn meta_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        key.to_string()
    } else {
        format!("={}", to_hex(key.as_bytes()))
    }
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

fn snapshot_name(seq: u64) -> String {
    format!("snapshot-{seq:020}")
}

fn snapshot_seq(name: &str) -> Option<u64> {
    name.strip_prefix("snapshot-")?.parse().ok()
}

/// The journal in a NATS JetStream stream (see the module docs).
pub struct NatsJournal {
    conn: Conn,
    url: String,
    stream: String,
    subject: String,
    meta: kv::Store,
    /// This handle's random id, prefixed to its message ids.
    writer: String,
    last_seq: u64,
    /// Set when an append failed midway: the handle appends no more.
    broken: Option<String>,
}

impl NatsJournal {
    /// Connect to the server at `url` (e.g. `nats://127.0.0.1:4222`) and
    /// open the journal `stream`, creating its stream and buckets if
    /// missing; refuses a stream that does not number the journal from 1.
    pub fn open(url: &str, stream: &str) -> Result<NatsJournal, StoreError> {
        if !valid_stream(stream) {
            return Err(StoreError::Nats(format!(
                "stream name {stream:?} must be 1-64 of [A-Za-z0-9_-]"
            )));
        }
        let conn = Conn::open("journal-nats", url)?;
        let subject = format!("{stream}.journal");
        let js = conn.js.clone();
        let (name, subj) = (stream.to_string(), subject.clone());
        let (last_seq, meta) = conn.run(async move {
            let config = stream::Config {
                name: name.clone(),
                subjects: vec![subj.clone()],
                storage: stream::StorageType::File,
                retention: stream::RetentionPolicy::Limits,
                discard: stream::DiscardPolicy::New,
                deny_delete: true,
                deny_purge: true,
                // Message ids only chain the messages of one batch.
                duplicate_window: Duration::from_secs(10),
                description: Some("atobarai journal".into()),
                ..Default::default()
            };
            let mut handle = match js.get_stream(&name).await {
                Ok(s) => s,
                Err(_) => js
                    .create_stream(config)
                    .await
                    .map_err(|e| nats(&format!("creating stream {name}"), e))?,
            };
            let info = handle
                .info()
                .await
                .map_err(|e| nats(&format!("stream {name}"), e))?;
            let last = check_stream(info, &subj)?;
            let bucket = format!("{name}_META");
            if js.get_key_value(&bucket).await.is_err() {
                // The bucket's stream laid out as key-value buckets are
                // (`KV_<bucket>`, subjects `$KV.<bucket>.>`), created
                // directly: the client's `create_key_value` first asks for
                // account details in a form servers before 2.11 don't send.
                js.get_or_create_stream(stream::Config {
                    name: format!("KV_{bucket}"),
                    description: Some("atobarai journal settings".into()),
                    subjects: vec![format!("$KV.{bucket}.>")],
                    max_messages_per_subject: 1,
                    storage: stream::StorageType::File,
                    allow_rollup: true,
                    deny_delete: true,
                    allow_direct: true,
                    discard: stream::DiscardPolicy::New,
                    ..Default::default()
                })
                .await
                .map_err(|e| nats(&format!("creating bucket {bucket}"), e))?;
            }
            let meta = js
                .get_key_value(&bucket)
                .await
                .map_err(|e| nats(&format!("opening bucket {bucket}"), e))?;
            Ok((last, meta))
        })?;
        // The inbox name ends in a fresh random id (a NUID).
        let inbox = conn.client.new_inbox();
        let writer = inbox.rsplit('.').next().unwrap_or(&inbox).to_string();
        Ok(NatsJournal {
            conn,
            url: url.to_string(),
            stream: stream.to_string(),
            subject,
            meta,
            writer,
            last_seq,
            broken: None,
        })
    }

    /// Delete the journal `stream` with its meta bucket and snapshots (tests
    /// clean up with this). Missing parts are no error.
    pub fn delete(url: &str, stream: &str) -> Result<(), StoreError> {
        if !valid_stream(stream) {
            return Ok(());
        }
        let conn = Conn::open("cleanup-nats", url)?;
        let js = conn.js.clone();
        let names = [
            stream.to_string(),
            format!("KV_{stream}_META"),
            format!("OBJ_{stream}_SNAP"),
        ];
        conn.run(async move {
            for name in names {
                if let Err(e) = js.delete_stream(&name).await {
                    let missing = matches!(e.kind(),
                        jetstream::context::GetStreamErrorKind::JetStream(j)
                            if j.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND);
                    if !missing {
                        return Err(nats(&format!("deleting stream {name}"), e));
                    }
                }
            }
            Ok(())
        })
    }

    fn message_id(writer: &str, seq: u64) -> String {
        format!("{writer}-{seq}")
    }

    /// The stream's last sequence as the server has it now.
    fn stored_last(&self) -> Result<u64, StoreError> {
        let js = self.conn.js.clone();
        let name = self.stream.clone();
        self.conn.run(async move {
            let s = js
                .get_stream_no_info(&name)
                .await
                .map_err(|e| nats(&format!("stream {name}"), e))?;
            let info = s
                .get_info()
                .await
                .map_err(|e| nats(&format!("stream {name}"), e))?;
            Ok(info.state.last_sequence)
        })
    }
}

/// How a pipelined batch ended.
enum Outcome {
    /// Every record stored under its own number.
    Stored,
    /// Nothing was sent (refused before sending).
    NotSent(String),
    /// The first record was refused by the fence: nothing stored.
    Fenced,
    /// Cut short: records up to `confirmed` were acknowledged; more may be
    /// stored.
    Broken { confirmed: u64, why: String },
}

impl Journal for NatsJournal {
    fn append(&mut self, records: &[Record]) -> Result<(), StoreError> {
        if let Some(why) = &self.broken {
            return Err(StoreError::Nats(format!(
                "journal handle stopped after a failed append ({why}); reopen it"
            )));
        }
        crate::check_consecutive(self.last_seq, records)?;
        let (Some(first), Some(last)) = (records.first(), records.last()) else {
            return Ok(());
        };
        let (first, last) = (first.seq, last.seq);
        let max_payload = self.conn.client.server_info().max_payload;
        if let Some(big) = records
            .iter()
            .find(|r| r.payload.len().saturating_add(HEADER_ROOM) > max_payload)
        {
            return Err(StoreError::Nats(format!(
                "record {} is {} bytes, above the server's max_payload of {max_payload} \
                 (less {HEADER_ROOM} for headers); nothing written",
                big.seq,
                big.payload.len()
            )));
        }
        let messages: Vec<(u64, bytes::Bytes)> = records
            .iter()
            .map(|r| (r.seq, bytes::Bytes::copy_from_slice(&r.payload)))
            .collect();
        let js = self.conn.js.clone();
        let subject = self.subject.clone();
        let writer = self.writer.clone();
        let outcome = self.conn.run(async move {
            let mut acks = Vec::with_capacity(messages.len());
            let mut send_error = None;
            for (seq, payload) in messages {
                let prev = seq.saturating_sub(1);
                let mut msg = jetstream::message::PublishMessage::build()
                    .payload(payload)
                    .message_id(NatsJournal::message_id(&writer, seq))
                    .expected_last_sequence(prev);
                if seq > first {
                    msg = msg.expected_last_message_id(NatsJournal::message_id(&writer, prev));
                }
                match js.send_publish(subject.clone(), msg).await {
                    Ok(ack) => acks.push((seq, ack)),
                    Err(e) => {
                        send_error = Some(format!("publishing record {seq}: {e}"));
                        break;
                    }
                }
            }
            if acks.is_empty() {
                return Ok(Outcome::NotSent(send_error.unwrap_or_default()));
            }
            let mut confirmed = first - 1;
            let mut failure: Option<(u64, String, bool)> = None;
            for (seq, ack) in acks {
                match ack.await {
                    Ok(a) if a.sequence == seq && !a.duplicate => {
                        if failure.is_none() {
                            confirmed = seq;
                        }
                    }
                    Ok(a) => {
                        failure.get_or_insert((
                            seq,
                            format!(
                                "record {seq} acknowledged as stream sequence {} (duplicate: {})",
                                a.sequence, a.duplicate
                            ),
                            false,
                        ));
                    }
                    Err(e) => {
                        let fenced = matches!(
                            e.kind(),
                            jetstream::context::PublishErrorKind::WrongLastSequence
                                | jetstream::context::PublishErrorKind::WrongLastMessageId
                        );
                        failure.get_or_insert((seq, format!("record {seq}: {e}"), fenced));
                    }
                }
            }
            Ok(match (failure, send_error) {
                (None, None) => Outcome::Stored,
                (Some((seq, _, true)), _) if seq == first => Outcome::Fenced,
                (Some((_, why, _)), _) | (None, Some(why)) => Outcome::Broken { confirmed, why },
            })
        })?;
        match outcome {
            Outcome::Stored => {
                self.last_seq = last;
                Ok(())
            }
            Outcome::NotSent(why) => Err(StoreError::Nats(format!("{why}; nothing written"))),
            Outcome::Fenced => {
                // Another writer got there first; this handle's view is
                // stale and stays so (reopen and replay to continue).
                let stored = self.stored_last()?;
                Err(StoreError::Sequence {
                    expected: stored.saturating_add(1),
                    got: first,
                })
            }
            Outcome::Broken { confirmed, why } => {
                let msg = format!(
                    "append of records {first}..={last} failed midway: {why}; records up to \
                     {confirmed} are stored (later ones may be too)"
                );
                self.broken = Some(msg.clone());
                Err(StoreError::Nats(msg))
            }
        }
    }

    fn last_seq(&self) -> Result<u64, StoreError> {
        Ok(self.last_seq)
    }

    fn read_after(
        &self,
        after: u64,
        f: &mut dyn FnMut(Record) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let end = self.stored_last()?;
        if after >= end {
            return Ok(());
        }
        // One ordered consumer for the whole read, carried from page to
        // page so a long tail is never held in memory.
        let js = self.conn.js.clone();
        let (name, subject) = (self.stream.clone(), self.subject.clone());
        let mut messages: consumer::pull::Ordered = self.conn.run(async move {
            let s = js
                .get_stream_no_info(&name)
                .await
                .map_err(|e| nats(&format!("stream {name}"), e))?;
            s.create_consumer(consumer::pull::OrderedConfig {
                filter_subject: subject,
                deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: after + 1,
                },
                ..Default::default()
            })
            .await
            .map_err(|e| nats("creating a reader", e))?
            .messages()
            .await
            .map_err(|e| nats("reading the journal", e))
        })?;
        let mut next = after + 1;
        while next <= end {
            let (page, rest) = self.conn.run(async move {
                let mut page = Vec::new();
                let mut seq = next;
                while seq <= end && page.len() < READ_PAGE {
                    let msg = tokio::time::timeout(REQUEST_TIMEOUT, messages.next())
                        .await
                        .map_err(|_| StoreError::Nats(format!("reading record {seq}: timed out")))?
                        .ok_or_else(|| StoreError::Nats(format!("reading record {seq}: ended")))?
                        .map_err(|e| nats(&format!("reading record {seq}"), e))?;
                    let got = msg
                        .info()
                        .map_err(|e| nats(&format!("reading record {seq}"), e))?
                        .stream_sequence;
                    if got != seq {
                        return Err(StoreError::Nats(format!(
                            "journal stream has a gap: expected record {seq}, got {got}"
                        )));
                    }
                    page.push(Record {
                        seq,
                        payload: msg.payload.to_vec(),
                    });
                    seq += 1;
                }
                Ok((page, messages))
            })?;
            messages = rest;
            for r in page {
                next = r.seq + 1;
                f(r)?;
            }
        }
        Ok(())
    }

    fn snapshot_writer(&self) -> Result<Box<dyn SnapshotWriter>, StoreError> {
        Ok(Box::new(NatsSnapshots::open(&self.url, &self.stream)?))
    }

    fn latest_snapshot(&self) -> Result<Option<Snapshot>, StoreError> {
        NatsSnapshots::open(&self.url, &self.stream)?.latest()
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let (kv, k) = (self.meta.clone(), meta_key(key));
        let value = self.conn.run(async move {
            kv.get(k.as_str())
                .await
                .map_err(|e| nats(&format!("reading meta {k}"), e))
        })?;
        value
            .map(|v| {
                String::from_utf8(v.to_vec())
                    .map_err(|_| StoreError::Nats(format!("meta {key} is not UTF-8")))
            })
            .transpose()
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        let (kv, k) = (self.meta.clone(), meta_key(key));
        let value = bytes::Bytes::copy_from_slice(value.as_bytes());
        self.conn.run(async move {
            kv.put(k.as_str(), value)
                .await
                .map(|_| ())
                .map_err(|e| nats(&format!("writing meta {k}"), e))
        })
    }
}

/// Snapshots in the journal's object store, through a connection (and
/// runtime) of their own (see [`crate::SnapshotWriter`]).
struct NatsSnapshots {
    conn: Conn,
    store: object_store::ObjectStore,
}

impl NatsSnapshots {
    fn open(url: &str, stream: &str) -> Result<NatsSnapshots, StoreError> {
        if !valid_stream(stream) {
            return Err(StoreError::Nats(format!(
                "stream name {stream:?} is invalid"
            )));
        }
        let conn = Conn::open("snapshot-nats", url)?;
        let js = conn.js.clone();
        let bucket = format!("{stream}_SNAP");
        let store = conn.run(async move {
            match js.get_object_store(&bucket).await {
                Ok(s) => Ok(s),
                Err(_) => js
                    .create_object_store(object_store::Config {
                        bucket: bucket.clone(),
                        storage: stream::StorageType::File,
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| nats(&format!("creating object store {bucket}"), e)),
            }
        })?;
        Ok(NatsSnapshots { conn, store })
    }

    /// Stored snapshots as (seq, object name), newest first.
    async fn list(store: &object_store::ObjectStore) -> Result<Vec<(u64, String)>, StoreError> {
        let mut list = store
            .list()
            .await
            .map_err(|e| nats("listing snapshots", e))?;
        let mut found = Vec::new();
        loop {
            let item = tokio::time::timeout(REQUEST_TIMEOUT, list.next())
                .await
                .map_err(|_| StoreError::Nats("listing snapshots: timed out".into()))?;
            let Some(info) = item else { break };
            let info = info.map_err(|e| nats("listing snapshots", e))?;
            if let Some(seq) = snapshot_seq(&info.name) {
                found.push((seq, info.name));
            }
        }
        found.sort_unstable_by(|a, b| b.cmp(a));
        Ok(found)
    }

    fn latest(&self) -> Result<Option<Snapshot>, StoreError> {
        let store = self.store.clone();
        self.conn.run(async move {
            for (seq, name) in Self::list(&store).await? {
                // Pruned between the listing and now: try the next.
                let Ok(mut object) = store.get(&name).await else {
                    continue;
                };
                let info = object.info().clone();
                let digest = info
                    .metadata
                    .get("digest")
                    .and_then(|d| from_hex(d))
                    .and_then(|d| <[u8; 32]>::try_from(d).ok());
                let Some(digest) = digest else { continue };
                let mut bytes = Vec::with_capacity(info.size);
                // The client checks the object's SHA-256 as it reads.
                object
                    .read_to_end(&mut bytes)
                    .await
                    .map_err(|e| nats(&format!("reading snapshot {seq}"), e))?;
                if bytes.len() != info.size {
                    continue;
                }
                return Ok(Some(Snapshot { seq, digest, bytes }));
            }
            Ok(None)
        })
    }
}

impl SnapshotWriter for NatsSnapshots {
    fn save(&mut self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let seq = snapshot.seq;
        let chunk = self
            .conn
            .client
            .server_info()
            .max_payload
            .saturating_sub(HEADER_ROOM)
            .clamp(1024, SNAPSHOT_CHUNK_MAX);
        let meta = object_store::ObjectMetadata {
            name: snapshot_name(seq),
            description: Some(format!("atobarai snapshot as of record {seq}")),
            chunk_size: Some(chunk),
            metadata: HashMap::from([("digest".to_string(), to_hex(&snapshot.digest))]),
            headers: None,
        };
        // The bytes are copied once to cross to the runtime's thread.
        let bytes = snapshot.bytes.clone();
        let store = self.store.clone();
        self.conn.run(async move {
            let mut reader: &[u8] = &bytes;
            store
                .put(meta, &mut reader)
                .await
                .map_err(|e| nats(&format!("saving snapshot {seq}"), e))?;
            let kept = usize::try_from(SNAPSHOTS_KEPT).unwrap_or(usize::MAX);
            for (old, name) in Self::list(&store).await?.into_iter().skip(kept) {
                store
                    .delete(&name)
                    .await
                    .map_err(|e| nats(&format!("pruning snapshot {old}"), e))?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_gapless_stream_from_one_is_a_journal() {
        assert_eq!(numbering_matches(0, 0, 0), Ok(0));
        assert_eq!(numbering_matches(1, 5, 5), Ok(5));
        // Purged (empty but numbered on), trimmed at the front, or with a gap.
        assert!(numbering_matches(6, 5, 0).is_err());
        assert!(numbering_matches(2, 5, 4).is_err());
        assert!(numbering_matches(1, 5, 4).is_err());
    }

    #[test]
    fn meta_keys_and_hex_round_trip() {
        assert_eq!(meta_key("clock"), "clock");
        assert_eq!(meta_key("a b"), "=612062");
        assert_eq!(meta_key(""), "=");
        assert_eq!(
            from_hex(&to_hex(&[0, 1, 254, 255])),
            Some(vec![0, 1, 254, 255])
        );
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex("zz"), None);
        assert_eq!(snapshot_seq(&snapshot_name(42)), Some(42));
        assert_eq!(snapshot_seq("other"), None);
        assert!(valid_stream("ATOBARAI_1-x"));
        assert!(!valid_stream("a.b"));
        assert!(!valid_stream(""));
    }
}
