//! The key vault: each customer's data key (DEK), wrapped by a
//! key-encryption key (KEK) of the shell's keyring, under a random
//! 16-byte *subject* that the sealed record in the journal names.
//!
//! The journal is immutable; the vault is not. Deleting a subject's row
//! (*crypto-shredding*) makes every ciphertext sealed under that key
//! unreadable forever, wherever the journal, its snapshots and their
//! backups went, while the records themselves stay and replay unchanged.
//! Rotating the KEK never touches the journal either: a DEK is re-wrapped
//! in place ([`Vault::rewrap`]).
//!
//! Like the journal, the vault stores opaque bytes: it never sees a clear
//! key or any personal data (wrapping happens in the shell).
//!
//! Backends: [`SqliteVault`] (`vault.sqlite` in the data directory,
//! `secure_delete` on, the WAL checkpointed and truncated after every
//! deletion), [`PgVault`] (a table in the journal's PostgreSQL schema),
//! [`NatsVault`] (a key-value bucket beside the journal's stream) and
//! [`MemoryVault`] (tests, benchmarks).

use crate::StoreError;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A data key as the vault keeps it: wrapped, with the id of the KEK that
/// wrapped it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrappedKey {
    /// The id of the key-encryption key in the keyring.
    pub kek_id: String,
    /// The wrapped data key (nonce, ciphertext and tag; opaque here).
    pub wrapped: Vec<u8>,
}

/// Per-subject wrapped data keys. Every call is blocking I/O: call it off
/// the async runtime (`spawn_blocking`).
pub trait Vault: Send + Sync {
    /// Keep `key` for `subject`, durably, before returning. A subject
    /// already present is an error (subjects are random and never reused).
    fn put(&self, subject: &[u8; 16], key: &WrappedKey) -> Result<(), StoreError>;
    /// The key of `subject`, or `None` when it was never stored or was shredded.
    fn get(&self, subject: &[u8; 16]) -> Result<Option<WrappedKey>, StoreError>;
    /// Shred `subject`'s key; `true` if there was one. Idempotent.
    fn delete(&self, subject: &[u8; 16]) -> Result<bool, StoreError>;
    /// How many keys each KEK wraps, by KEK id (ascending).
    fn count_by_kek(&self) -> Result<Vec<(String, u64)>, StoreError>;
    /// Up to `limit` subjects whose key `kek_id` wraps, with their keys.
    fn wrapped_with(
        &self,
        kek_id: &str,
        limit: usize,
    ) -> Result<Vec<([u8; 16], WrappedKey)>, StoreError>;
    /// Replace `subject`'s key with `to` if it is still wrapped by
    /// `from_kek` (so a concurrent shredding is never undone); `true` if
    /// replaced.
    fn rewrap(
        &self,
        subject: &[u8; 16],
        from_kek: &str,
        to: &WrappedKey,
    ) -> Result<bool, StoreError>;
}

fn subject_of(bytes: &[u8]) -> Option<[u8; 16]> {
    bytes.try_into().ok()
}

/// Keys per key-encryption key, by id, for the vaults that hold or list
/// every key in process (memory, NATS); the SQL vaults count in SQL.
fn count_by_kek<'a>(keys: impl Iterator<Item = &'a WrappedKey>) -> Vec<(String, u64)> {
    let mut counts = std::collections::BTreeMap::<String, u64>::new();
    for k in keys {
        let n = counts.entry(k.kek_id.clone()).or_default();
        *n = n.saturating_add(1);
    }
    counts.into_iter().collect()
}

fn limit_i64(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

// ----- memory ----------------------------------------------------------------

/// A vault in memory (tests and benchmarks): gone when dropped.
#[derive(Default)]
pub struct MemoryVault {
    keys: Mutex<std::collections::BTreeMap<[u8; 16], WrappedKey>>,
}

impl MemoryVault {
    /// An empty vault.
    pub fn new() -> MemoryVault {
        MemoryVault::default()
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<[u8; 16], WrappedKey>> {
        // A panic while holding the lock cannot leave the map half-changed
        // (each call makes one change): keep using it.
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Vault for MemoryVault {
    fn put(&self, subject: &[u8; 16], key: &WrappedKey) -> Result<(), StoreError> {
        let mut keys = self.keys();
        if keys.contains_key(subject) {
            return Err(StoreError::Vault("subject already has a key".into()));
        }
        keys.insert(*subject, key.clone());
        Ok(())
    }

    fn get(&self, subject: &[u8; 16]) -> Result<Option<WrappedKey>, StoreError> {
        Ok(self.keys().get(subject).cloned())
    }

    fn delete(&self, subject: &[u8; 16]) -> Result<bool, StoreError> {
        Ok(self.keys().remove(subject).is_some())
    }

    fn count_by_kek(&self) -> Result<Vec<(String, u64)>, StoreError> {
        Ok(count_by_kek(self.keys().values()))
    }

    fn wrapped_with(
        &self,
        kek_id: &str,
        limit: usize,
    ) -> Result<Vec<([u8; 16], WrappedKey)>, StoreError> {
        Ok(self
            .keys()
            .iter()
            .filter(|(_, k)| k.kek_id == kek_id)
            .take(limit)
            .map(|(s, k)| (*s, k.clone()))
            .collect())
    }

    fn rewrap(
        &self,
        subject: &[u8; 16],
        from_kek: &str,
        to: &WrappedKey,
    ) -> Result<bool, StoreError> {
        let mut keys = self.keys();
        match keys.get_mut(subject) {
            Some(k) if k.kek_id == from_kek => {
                *k = to.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

// ----- SQLite ----------------------------------------------------------------

/// The vault of the embedded backend: its own SQLite file (`vault.sqlite`
/// in the data directory), apart from the journal so that shredding a key
/// never rewrites a journal page. `secure_delete` overwrites a deleted
/// key's bytes in the file; the WAL is checkpointed and truncated after
/// each deletion so no copy stays in it.
pub struct SqliteVault {
    conn: Mutex<rusqlite::Connection>,
    path: PathBuf,
}

const SQLITE_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS data_keys (
    subject BLOB PRIMARY KEY CHECK (length(subject) = 16),
    kek_id TEXT NOT NULL,
    wrapped BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS data_keys_by_kek ON data_keys (kek_id);";

impl SqliteVault {
    /// The file name in a data directory.
    pub const FILE: &'static str = "vault.sqlite";

    /// Open (creating) `DIR/vault.sqlite`.
    pub fn open_dir(dir: &Path) -> Result<SqliteVault, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        SqliteVault::open(&dir.join(SqliteVault::FILE))
    }

    /// Open (creating) the vault file at `path`.
    pub fn open(path: &Path) -> Result<SqliteVault, StoreError> {
        let conn = rusqlite::Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SQLITE_SCHEMA)?;
        restrict_permissions(path);
        Ok(SqliteVault {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
        })
    }

    /// Where the vault lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, rusqlite::Connection> {
        // rusqlite rolls back an unfinished statement on its own.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Owner-only permissions on a file holding keys (best effort: not every
/// file system has modes).
fn restrict_permissions(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = path;
}

impl Vault for SqliteVault {
    fn put(&self, subject: &[u8; 16], key: &WrappedKey) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO data_keys (subject, kek_id, wrapped) VALUES (?1, ?2, ?3)",
            rusqlite::params![&subject[..], key.kek_id, key.wrapped],
        )?;
        Ok(())
    }

    fn get(&self, subject: &[u8; 16]) -> Result<Option<WrappedKey>, StoreError> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn()
            .query_row(
                "SELECT kek_id, wrapped FROM data_keys WHERE subject = ?1",
                [&subject[..]],
                |row| {
                    Ok(WrappedKey {
                        kek_id: row.get(0)?,
                        wrapped: row.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    fn delete(&self, subject: &[u8; 16]) -> Result<bool, StoreError> {
        let conn = self.conn();
        let n = conn.execute("DELETE FROM data_keys WHERE subject = ?1", [&subject[..]])?;
        // Copy the zeroed pages back and empty the WAL, which still held
        // the page with the key.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(n > 0)
    }

    fn count_by_kek(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT kek_id, COUNT(*) FROM data_keys GROUP BY kek_id ORDER BY kek_id")?;
        let rows = stmt.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, n) = row?;
            out.push((id, u64::try_from(n).unwrap_or(0)));
        }
        Ok(out)
    }

    fn wrapped_with(
        &self,
        kek_id: &str,
        limit: usize,
    ) -> Result<Vec<([u8; 16], WrappedKey)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT subject, wrapped FROM data_keys WHERE kek_id = ?1 ORDER BY subject LIMIT ?2",
        )?;
        let rows = stmt.query_map(rusqlite::params![kek_id, limit_i64(limit)], |row| {
            Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (subject, wrapped) = row?;
            let subject = subject_of(&subject)
                .ok_or_else(|| StoreError::Vault("a stored subject is not 16 bytes".into()))?;
            out.push((
                subject,
                WrappedKey {
                    kek_id: kek_id.to_string(),
                    wrapped,
                },
            ));
        }
        Ok(out)
    }

    fn rewrap(
        &self,
        subject: &[u8; 16],
        from_kek: &str,
        to: &WrappedKey,
    ) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "UPDATE data_keys SET kek_id = ?1, wrapped = ?2 WHERE subject = ?3 AND kek_id = ?4",
            rusqlite::params![to.kek_id, to.wrapped, &subject[..], from_kek],
        )?;
        Ok(n > 0)
    }
}

// ----- PostgreSQL --------------------------------------------------------------

/// The vault of the PostgreSQL backend: table `data_keys` in the journal's
/// schema, on its own connection (the journal's connection is the
/// writer's), connected as the journal is: TLS by the URL's `sslmode`,
/// the same connect and statement timeouts.
pub struct PgVault {
    client: Mutex<postgres::Client>,
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

impl PgVault {
    /// Connect and create `SCHEMA.data_keys` if needed. Blocking: call it
    /// off the async runtime.
    pub fn open(url: &str, schema: &str) -> Result<PgVault, StoreError> {
        if !valid_schema(schema) {
            return Err(StoreError::Postgres(format!(
                "schema name {schema:?} must be 1-48 of [a-z0-9_]"
            )));
        }
        // Connected as the journal is (`sslmode`, TLS roots, timeouts).
        let mut client = crate::postgres::connect(url)?;
        client
            .batch_execute(&format!(
                "SET statement_timeout = 30000;
                 CREATE SCHEMA IF NOT EXISTS {schema};
                 SET search_path TO {schema};
                 CREATE TABLE IF NOT EXISTS data_keys (
                     subject BYTEA PRIMARY KEY CHECK (length(subject) = 16),
                     kek_id TEXT NOT NULL,
                     wrapped BYTEA NOT NULL
                 );
                 CREATE INDEX IF NOT EXISTS data_keys_by_kek ON data_keys (kek_id);"
            ))
            .map_err(pg)?;
        Ok(PgVault {
            client: Mutex::new(client),
        })
    }

    fn client(&self) -> std::sync::MutexGuard<'_, postgres::Client> {
        self.client.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Vault for PgVault {
    fn put(&self, subject: &[u8; 16], key: &WrappedKey) -> Result<(), StoreError> {
        self.client()
            .execute(
                "INSERT INTO data_keys (subject, kek_id, wrapped) VALUES ($1, $2, $3)",
                &[&&subject[..], &key.kek_id, &key.wrapped],
            )
            .map_err(pg)?;
        Ok(())
    }

    fn get(&self, subject: &[u8; 16]) -> Result<Option<WrappedKey>, StoreError> {
        let row = self
            .client()
            .query_opt(
                "SELECT kek_id, wrapped FROM data_keys WHERE subject = $1",
                &[&&subject[..]],
            )
            .map_err(pg)?;
        Ok(row.map(|r| WrappedKey {
            kek_id: r.get(0),
            wrapped: r.get(1),
        }))
    }

    fn delete(&self, subject: &[u8; 16]) -> Result<bool, StoreError> {
        let n = self
            .client()
            .execute("DELETE FROM data_keys WHERE subject = $1", &[&&subject[..]])
            .map_err(pg)?;
        Ok(n > 0)
    }

    fn count_by_kek(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let rows = self
            .client()
            .query(
                "SELECT kek_id, COUNT(*) FROM data_keys GROUP BY kek_id ORDER BY kek_id",
                &[],
            )
            .map_err(pg)?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.get::<_, String>(0),
                    u64::try_from(r.get::<_, i64>(1)).unwrap_or(0),
                )
            })
            .collect())
    }

    fn wrapped_with(
        &self,
        kek_id: &str,
        limit: usize,
    ) -> Result<Vec<([u8; 16], WrappedKey)>, StoreError> {
        let rows = self
            .client()
            .query(
                "SELECT subject, wrapped FROM data_keys WHERE kek_id = $1 ORDER BY subject LIMIT $2",
                &[&kek_id, &limit_i64(limit)],
            )
            .map_err(pg)?;
        rows.iter()
            .map(|r| {
                let subject: Vec<u8> = r.get(0);
                let subject = subject_of(&subject)
                    .ok_or_else(|| StoreError::Vault("a stored subject is not 16 bytes".into()))?;
                Ok((
                    subject,
                    WrappedKey {
                        kek_id: kek_id.to_string(),
                        wrapped: r.get(1),
                    },
                ))
            })
            .collect()
    }

    fn rewrap(
        &self,
        subject: &[u8; 16],
        from_kek: &str,
        to: &WrappedKey,
    ) -> Result<bool, StoreError> {
        let n = self
            .client()
            .execute(
                "UPDATE data_keys SET kek_id = $1, wrapped = $2 WHERE subject = $3 AND kek_id = $4",
                &[&to.kek_id, &to.wrapped, &&subject[..], &from_kek],
            )
            .map_err(pg)?;
        Ok(n > 0)
    }
}

// ----- NATS JetStream key-value --------------------------------------------------

/// The vault of the NATS backend: a key-value bucket `<STREAM>_VAULT`
/// (one value per key, file storage) on the journal's server, so every
/// node of one journal reads the same keys. The key is the subject in hex;
/// the value the KEK id's length (one byte), the id, then the wrapped key.
/// Shredding *purges* the key (every revision). Like any log-structured
/// store, JetStream may keep a purged message's bytes in its files until
/// it compacts them; SQLite's `secure_delete` has no counterpart here.
pub struct NatsVault {
    rt: Option<tokio::runtime::Runtime>,
    kv: async_nats::jetstream::kv::Store,
}

const NATS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

fn nats_err(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Nats(format!("{what}: {e}"))
}

fn encode_value(key: &WrappedKey) -> Result<bytes::Bytes, StoreError> {
    let id = key.kek_id.as_bytes();
    let len = u8::try_from(id.len())
        .map_err(|_| StoreError::Vault("a key-encryption key id is at most 255 bytes".into()))?;
    let mut v = Vec::with_capacity(
        1usize
            .saturating_add(id.len())
            .saturating_add(key.wrapped.len()),
    );
    v.push(len);
    v.extend_from_slice(id);
    v.extend_from_slice(&key.wrapped);
    Ok(v.into())
}

fn decode_value(v: &[u8]) -> Result<WrappedKey, StoreError> {
    let bad = || StoreError::Vault("a stored key value is malformed".into());
    let (&len, rest) = v.split_first().ok_or_else(bad)?;
    let len = usize::from(len);
    if rest.len() < len {
        return Err(bad());
    }
    let (id, wrapped) = rest.split_at(len);
    Ok(WrappedKey {
        kek_id: String::from_utf8(id.to_vec()).map_err(|_| bad())?,
        wrapped: wrapped.to_vec(),
    })
}

fn subject_key(subject: &[u8; 16]) -> String {
    subject.iter().map(|b| format!("{b:02x}")).collect()
}

fn key_subject(key: &str) -> Option<[u8; 16]> {
    if key.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        let hex = key.get(i.saturating_mul(2)..i.saturating_mul(2).saturating_add(2))?;
        *o = u8::from_str_radix(hex, 16).ok()?;
    }
    Some(out)
}

impl NatsVault {
    /// Connect to `url` and open (creating) the bucket `<stream>_VAULT`.
    /// Blocking, on a small runtime of its own.
    pub fn open(url: &str, stream: &str) -> Result<NatsVault, StoreError> {
        if stream.is_empty()
            || stream.len() > 64
            || !stream
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(StoreError::Nats(format!(
                "stream name {stream:?} must be 1-64 of A-Z a-z 0-9 _ -"
            )));
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("vault-nats")
            .enable_all()
            .build()
            .map_err(|source| StoreError::Io {
                path: "vault-nats".into(),
                source,
            })?;
        let (url, bucket) = (url.to_string(), format!("{stream}_VAULT"));
        let kv = nats_block(&rt, async move {
            use async_nats::jetstream::stream;
            let connecting = async_nats::ConnectOptions::new()
                .name("atobarai-vault")
                .connection_timeout(NATS_TIMEOUT)
                .request_timeout(Some(NATS_TIMEOUT))
                .connect(url.as_str());
            let client = tokio::time::timeout(NATS_TIMEOUT, connecting)
                .await
                .map_err(|_| StoreError::Nats(format!("connecting to {url}: timed out")))?
                .map_err(|e| nats_err(&format!("connecting to {url}"), e))?;
            let js = async_nats::jetstream::ContextBuilder::new()
                .timeout(NATS_TIMEOUT)
                .build(client);
            if js.get_key_value(&bucket).await.is_err() {
                // Laid out as the client lays out a bucket, created directly
                // (as the journal's settings bucket is, for older servers).
                js.get_or_create_stream(stream::Config {
                    name: format!("KV_{bucket}"),
                    description: Some("atobarai key vault: wrapped data keys".into()),
                    subjects: vec![format!("$KV.{bucket}.>")],
                    max_messages_per_subject: 1,
                    storage: stream::StorageType::File,
                    allow_rollup: true,
                    deny_delete: false,
                    allow_direct: true,
                    discard: stream::DiscardPolicy::New,
                    ..Default::default()
                })
                .await
                .map_err(|e| nats_err(&format!("creating bucket {bucket}"), e))?;
            }
            js.get_key_value(&bucket)
                .await
                .map_err(|e| nats_err(&format!("opening bucket {bucket}"), e))
        })?;
        Ok(NatsVault { rt: Some(rt), kv })
    }

    fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(
            async_nats::jetstream::kv::Store,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<R, StoreError>> + Send>,
        >,
    ) -> Result<R, StoreError> {
        match &self.rt {
            Some(rt) => nats_block(rt, f(self.kv.clone())),
            None => Err(StoreError::Nats("vault closed".into())),
        }
    }

    /// Every (subject, key) in the bucket.
    fn all(&self) -> Result<Vec<([u8; 16], WrappedKey)>, StoreError> {
        self.run(|kv| {
            Box::pin(async move {
                use futures_util::StreamExt;
                let mut keys = kv.keys().await.map_err(|e| nats_err("listing keys", e))?;
                let mut out = Vec::new();
                while let Some(key) = keys.next().await {
                    let key = key.map_err(|e| nats_err("listing keys", e))?;
                    let Some(subject) = key_subject(&key) else {
                        continue;
                    };
                    if let Some(v) = kv
                        .get(key)
                        .await
                        .map_err(|e| nats_err("reading a key", e))?
                    {
                        out.push((subject, decode_value(&v)?));
                    }
                }
                out.sort_by_key(|a| a.0);
                Ok(out)
            })
        })
    }
}

/// Run `fut` on `rt` and wait for it from this thread (spawned, so it also
/// works when the caller sits inside another runtime).
fn nats_block<R: Send + 'static>(
    rt: &tokio::runtime::Runtime,
    fut: impl std::future::Future<Output = Result<R, StoreError>> + Send + 'static,
) -> Result<R, StoreError> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    rt.spawn(async move {
        let _ = tx.send(tokio::time::timeout(NATS_TIMEOUT.saturating_mul(2), fut).await);
    });
    match rx.recv() {
        Ok(Ok(answer)) => answer,
        Ok(Err(_)) => Err(StoreError::Nats("the server did not answer in time".into())),
        Err(_) => Err(StoreError::Nats("the vault's runtime stopped".into())),
    }
}

impl Drop for NatsVault {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl Vault for NatsVault {
    fn put(&self, subject: &[u8; 16], key: &WrappedKey) -> Result<(), StoreError> {
        let (k, v) = (subject_key(subject), encode_value(key)?);
        self.run(move |kv| {
            Box::pin(async move {
                kv.create(k, v)
                    .await
                    .map(|_| ())
                    .map_err(|e| StoreError::Vault(format!("storing a key: {e}")))
            })
        })
    }

    fn get(&self, subject: &[u8; 16]) -> Result<Option<WrappedKey>, StoreError> {
        let k = subject_key(subject);
        let v = self.run(move |kv| {
            Box::pin(async move { kv.get(k).await.map_err(|e| nats_err("reading a key", e)) })
        })?;
        v.map(|v| decode_value(&v)).transpose()
    }

    fn delete(&self, subject: &[u8; 16]) -> Result<bool, StoreError> {
        let k = subject_key(subject);
        self.run(move |kv| {
            Box::pin(async move {
                let had = kv
                    .get(k.clone())
                    .await
                    .map_err(|e| nats_err("reading a key", e))?
                    .is_some();
                if had {
                    kv.purge(k)
                        .await
                        .map_err(|e| nats_err("purging a key", e))?;
                }
                Ok(had)
            })
        })
    }

    fn count_by_kek(&self) -> Result<Vec<(String, u64)>, StoreError> {
        Ok(count_by_kek(self.all()?.iter().map(|(_, k)| k)))
    }

    fn wrapped_with(
        &self,
        kek_id: &str,
        limit: usize,
    ) -> Result<Vec<([u8; 16], WrappedKey)>, StoreError> {
        Ok(self
            .all()?
            .into_iter()
            .filter(|(_, k)| k.kek_id == kek_id)
            .take(limit)
            .collect())
    }

    fn rewrap(
        &self,
        subject: &[u8; 16],
        from_kek: &str,
        to: &WrappedKey,
    ) -> Result<bool, StoreError> {
        let (k, v, from) = (
            subject_key(subject),
            encode_value(to)?,
            from_kek.to_string(),
        );
        self.run(move |kv| {
            Box::pin(async move {
                let Some(entry) = kv
                    .entry(k.clone())
                    .await
                    .map_err(|e| nats_err("reading a key", e))?
                else {
                    return Ok(false);
                };
                if entry.operation != async_nats::jetstream::kv::Operation::Put
                    || decode_value(&entry.value)?.kek_id != from
                {
                    return Ok(false);
                }
                // Only if nobody changed or purged it since it was read.
                Ok(kv.update(k, v, entry.revision).await.is_ok())
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shredded_key_leaves_no_bytes_in_the_file_or_the_wal() {
        let dir = tempfile::tempdir().unwrap();
        let v = SqliteVault::open_dir(dir.path()).unwrap();
        let secret = [0xC7u8; 72];
        v.put(
            &[9; 16],
            &WrappedKey {
                kek_id: "k3".into(),
                wrapped: secret.to_vec(),
            },
        )
        .unwrap();
        let found = |dir: &Path| {
            std::fs::read_dir(dir).unwrap().any(|f| {
                let bytes = std::fs::read(f.unwrap().path()).unwrap_or_default();
                bytes.windows(secret.len()).any(|w| w == secret)
            })
        };
        assert!(found(dir.path()), "the key is stored");
        assert!(v.delete(&[9; 16]).unwrap());
        assert!(!found(dir.path()), "no copy in the file or the WAL");
        drop(v);
        let again = SqliteVault::open_dir(dir.path()).unwrap();
        assert_eq!(again.get(&[9; 16]).unwrap(), None);
        assert_eq!(again.count_by_kek().unwrap(), vec![]);
    }

    #[test]
    fn nats_values_and_keys_round_trip() {
        let k = WrappedKey {
            kek_id: "k12".into(),
            wrapped: vec![1, 2, 3],
        };
        assert_eq!(decode_value(&encode_value(&k).unwrap()).unwrap(), k);
        assert!(decode_value(&[5, b'a']).is_err());
        assert!(decode_value(&[]).is_err());
        let s = [0xAB; 16];
        assert_eq!(key_subject(&subject_key(&s)), Some(s));
        assert_eq!(key_subject("zz"), None);
        assert_eq!(key_subject(&"g".repeat(32)), None);
    }
}
