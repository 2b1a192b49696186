//! The PostgreSQL journal, for production: the journal lives in the
//! database (its replication gives standbys). Tables are created in a schema
//! of their own (`atobarai` by default). One engine at a time per schema:
//! the connection holds a session advisory lock for as long as it lives.
//!
//! The synchronous `postgres` client must not run inside an async runtime,
//! so it lives on a dedicated thread and the trait methods talk to it over a
//! channel.

use crate::snapshot::{SNAPSHOTS_KEPT, join_chunks, newest};
use crate::{Journal, Record, SNAPSHOT_CHUNK_MAX, Snapshot, SnapshotWriter, StoreError};
use std::sync::mpsc;
use std::thread::JoinHandle;

type Job = Box<dyn FnOnce(&mut postgres::Client) + Send>;

/// One PostgreSQL connection living on a thread of its own, driven by jobs
/// sent over a channel.
struct Conn {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Conn {
    /// Connect on a new thread named `name`, run `setup` there, and hand
    /// back its result with the connection.
    fn spawn<T: Send + 'static>(
        name: &str,
        url: &str,
        setup: impl FnOnce(&mut postgres::Client) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<(Conn, T), StoreError> {
        let (ready_tx, ready_rx) = mpsc::channel::<Result<T, StoreError>>();
        let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
        let url = url.to_string();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let client = postgres::Client::connect(&url, postgres::NoTls).map_err(pg);
                let mut client = match client {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                match setup(&mut client) {
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                    Ok(value) => {
                        let _ = ready_tx.send(Ok(value));
                        while let Ok(job) = jobs_rx.recv() {
                            job(&mut client);
                        }
                    }
                }
            })
            .map_err(|e| StoreError::Io {
                path: name.into(),
                source: e,
            })?;
        let value = ready_rx
            .recv()
            .map_err(|_| StoreError::Postgres("connection thread stopped".into()))??;
        Ok((
            Conn {
                jobs: Some(jobs_tx),
                thread: Some(thread),
            },
            value,
        ))
    }

    /// Run `f` on the connection thread and wait for its answer.
    fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut postgres::Client) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let (tx, rx) = mpsc::channel();
        let job: Job = Box::new(move |client| {
            let _ = tx.send(f(client));
        });
        self.jobs
            .as_ref()
            .ok_or_else(|| StoreError::Postgres("journal closed".into()))?
            .send(job)
            .map_err(|_| StoreError::Postgres("connection thread stopped".into()))?;
        rx.recv()
            .map_err(|_| StoreError::Postgres("connection thread stopped".into()))?
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The PostgreSQL journal (see the module docs): tables in a schema of
/// their own, guarded by a session advisory lock, driven from a dedicated
/// thread. Snapshots are written by a second connection
/// ([`Journal::snapshot_writer`]) in chunks, so they never hold up appends.
pub struct PgJournal {
    conn: Conn,
    url: String,
    schema: String,
    last_seq: u64,
}

fn pg(e: postgres::Error) -> StoreError {
    StoreError::Postgres(e.to_string())
}

fn valid_schema(schema: &str) -> bool {
    !schema.is_empty()
        && schema.len() <= 48
        && schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl PgJournal {
    /// Connect, create the schema and tables if needed, and take the
    /// schema's advisory lock (refusing if another engine holds it).
    pub fn open(url: &str, schema: &str) -> Result<PgJournal, StoreError> {
        if !valid_schema(schema) {
            return Err(StoreError::Postgres(format!(
                "schema name {schema:?} must be 1-48 of [a-z0-9_]"
            )));
        }
        let name = schema.to_string();
        let (conn, last_seq) = Conn::spawn("journal-pg", url, move |client| {
            let schema = name;
            client
                .batch_execute(&format!(
                    "CREATE SCHEMA IF NOT EXISTS {schema};
                     SET search_path TO {schema};
                     CREATE TABLE IF NOT EXISTS journal (seq BIGINT PRIMARY KEY, payload BYTEA NOT NULL);
                     CREATE TABLE IF NOT EXISTS snapshot (seq BIGINT PRIMARY KEY, digest BYTEA NOT NULL, len BIGINT NOT NULL, chunks BIGINT NOT NULL);
                     CREATE TABLE IF NOT EXISTS snapshot_chunk (seq BIGINT NOT NULL, idx BIGINT NOT NULL, bytes BYTEA NOT NULL, PRIMARY KEY (seq, idx));
                     CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                ))
                .map_err(pg)?;
            let locked: bool = client
                .query_one(
                    "SELECT pg_try_advisory_lock(hashtext('atobarai:' || $1))",
                    &[&schema],
                )
                .map_err(pg)?
                .get(0);
            if !locked {
                return Err(StoreError::Locked(
                    format!("postgres schema {schema}").into(),
                ));
            }
            let last: Option<i64> = client
                .query_one("SELECT MAX(seq) FROM journal", &[])
                .map_err(pg)?
                .get(0);
            Ok(last.map_or(0, |s| s as u64))
        })?;
        Ok(PgJournal {
            conn,
            url: url.to_string(),
            schema: schema.to_string(),
            last_seq,
        })
    }

    fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut postgres::Client) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        self.conn.run(f)
    }

    /// Drop the schema with everything in it (tests clean up with this).
    pub fn drop_schema(url: &str, schema: &str) -> Result<(), StoreError> {
        if !valid_schema(schema) {
            return Ok(());
        }
        let url = url.to_string();
        let schema = schema.to_string();
        std::thread::spawn(move || {
            let mut client = postgres::Client::connect(&url, postgres::NoTls).map_err(pg)?;
            client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .map_err(pg)
        })
        .join()
        .map_err(|_| StoreError::Postgres("cleanup thread panicked".into()))?
    }
}

/// Snapshots written through a connection of their own (see
/// [`crate::SnapshotWriter`]).
struct PgSnapshots {
    conn: Conn,
}

impl SnapshotWriter for PgSnapshots {
    fn save(&mut self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let seq = i64::try_from(snapshot.seq).unwrap_or(i64::MAX);
        let digest = snapshot.digest.to_vec();
        let len = i64::try_from(snapshot.bytes.len()).unwrap_or(i64::MAX);
        // The chunks are copied once to cross to the connection thread.
        let chunks: Vec<Vec<u8>> = snapshot
            .bytes
            .chunks(SNAPSHOT_CHUNK_MAX)
            .map(<[u8]>::to_vec)
            .collect();
        self.conn.run(move |client| {
            let mut tx = client.transaction().map_err(pg)?;
            tx.execute("DELETE FROM snapshot_chunk WHERE seq = $1", &[&seq])
                .map_err(pg)?;
            let insert = tx
                .prepare("INSERT INTO snapshot_chunk (seq, idx, bytes) VALUES ($1, $2, $3)")
                .map_err(pg)?;
            let count = chunks.len() as i64;
            for (idx, chunk) in (0i64..).zip(&chunks) {
                tx.execute(&insert, &[&seq, &idx, chunk]).map_err(pg)?;
            }
            tx.execute(
                "INSERT INTO snapshot (seq, digest, len, chunks) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (seq) DO UPDATE SET digest = excluded.digest,
                   len = excluded.len, chunks = excluded.chunks",
                &[&seq, &digest, &len, &count],
            )
            .map_err(pg)?;
            tx.execute(
                "DELETE FROM snapshot WHERE seq NOT IN (SELECT seq FROM snapshot ORDER BY seq DESC LIMIT $1)",
                &[&SNAPSHOTS_KEPT],
            )
            .map_err(pg)?;
            tx.execute(
                "DELETE FROM snapshot_chunk WHERE seq NOT IN (SELECT seq FROM snapshot)",
                &[],
            )
            .map_err(pg)?;
            tx.commit().map_err(pg)
        })
    }
}

impl Journal for PgJournal {
    fn append(&mut self, records: &[Record]) -> Result<(), StoreError> {
        for (expected, r) in (self.last_seq + 1..).zip(records) {
            if r.seq != expected {
                return Err(StoreError::Sequence {
                    expected,
                    got: r.seq,
                });
            }
        }
        if records.is_empty() {
            return Ok(());
        }
        let seqs: Vec<i64> = records.iter().map(|r| r.seq as i64).collect();
        let payloads: Vec<Vec<u8>> = records.iter().map(|r| r.payload.clone()).collect();
        let last = records[records.len() - 1].seq;
        self.run(move |client| {
            // One round trip for the whole batch; the commit is the fsync.
            let mut tx = client.transaction().map_err(pg)?;
            tx.execute(
                "INSERT INTO journal (seq, payload) SELECT * FROM UNNEST($1::BIGINT[], $2::BYTEA[])",
                &[&seqs, &payloads],
            )
            .map_err(pg)?;
            tx.commit().map_err(pg)
        })?;
        self.last_seq = last;
        Ok(())
    }

    fn last_seq(&self) -> Result<u64, StoreError> {
        Ok(self.last_seq)
    }

    fn read_after(
        &self,
        after: u64,
        f: &mut dyn FnMut(Record) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        // Page through the journal so a long tail is never held in memory.
        const PAGE: i64 = 10_000;
        let mut from = after as i64;
        loop {
            let page: Vec<(i64, Vec<u8>)> = self.run(move |client| {
                Ok(client
                    .query(
                        "SELECT seq, payload FROM journal WHERE seq > $1 ORDER BY seq LIMIT $2",
                        &[&from, &PAGE],
                    )
                    .map_err(pg)?
                    .into_iter()
                    .map(|row| (row.get(0), row.get(1)))
                    .collect())
            })?;
            let n = page.len();
            for (seq, payload) in page {
                from = seq;
                f(Record {
                    seq: seq as u64,
                    payload,
                })?;
            }
            if (n as i64) < PAGE {
                return Ok(());
            }
        }
    }

    fn snapshot_writer(&self) -> Result<Box<dyn SnapshotWriter>, StoreError> {
        let schema = self.schema.clone();
        let (conn, ()) = Conn::spawn("snapshot-pg", &self.url, move |client| {
            client
                .batch_execute(&format!("SET search_path TO {schema}"))
                .map_err(pg)
        })?;
        Ok(Box::new(PgSnapshots { conn }))
    }

    fn latest_snapshot(&self) -> Result<Option<Snapshot>, StoreError> {
        self.run(|client| {
            let current = match client
                .query_opt(
                    "SELECT seq, digest, len, chunks FROM snapshot ORDER BY seq DESC LIMIT 1",
                    &[],
                )
                .map_err(pg)?
            {
                None => None,
                Some(row) => {
                    let (seq, digest, len, count): (i64, Vec<u8>, i64, i64) =
                        (row.get(0), row.get(1), row.get(2), row.get(3));
                    let chunks: Vec<Vec<u8>> = client
                        .query(
                            "SELECT bytes FROM snapshot_chunk WHERE seq = $1 ORDER BY idx",
                            &[&seq],
                        )
                        .map_err(pg)?
                        .into_iter()
                        .map(|r| r.get(0))
                        .collect();
                    join_chunks(seq as u64, &digest, len as u64, chunks, count as u64)
                }
            };
            // Releases before the snapshot tables kept one row per snapshot.
            let legacy_exists: bool = client
                .query_one("SELECT to_regclass('snapshots') IS NOT NULL", &[])
                .map_err(pg)?
                .get(0);
            let legacy = if legacy_exists {
                client
                    .query_opt(
                        "SELECT seq, digest, bytes FROM snapshots ORDER BY seq DESC LIMIT 1",
                        &[],
                    )
                    .map_err(pg)?
                    .and_then(|row| {
                        let (seq, digest, bytes): (i64, Vec<u8>, Vec<u8>) =
                            (row.get(0), row.get(1), row.get(2));
                        let len = bytes.len() as u64;
                        join_chunks(seq as u64, &digest, len, vec![bytes], 1)
                    })
            } else {
                None
            };
            Ok(newest(current, legacy))
        })
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let key = key.to_string();
        self.run(move |client| {
            Ok(client
                .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
                .map_err(pg)?
                .map(|r| r.get(0)))
        })
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        let (key, value) = (key.to_string(), value.to_string());
        self.run(move |client| {
            client
                .execute(
                    "INSERT INTO meta (key, value) VALUES ($1, $2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    &[&key, &value],
                )
                .map(|_| ())
                .map_err(pg)
        })
    }
}
