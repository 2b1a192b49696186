//! The PostgreSQL journal, for production: the journal lives in the
//! database (its replication gives standbys). Tables are created in a schema
//! of their own (`atobarai` by default).
//!
//! **Leadership.** Several members (processes) may open one schema; one of
//! them leads and appends, the others follow. The `leader` table holds one
//! row: the leader's `epoch` (fencing token), its member id, its advertised
//! address, the backend pid of its lease connection and `lease_until`. A
//! member claims the lead when the lease has run out, when the leader's
//! lease connection is gone from `pg_stat_activity` (the process died: its
//! sockets closed), or when it held it itself; every claim raises the epoch.
//! The leader renews the lease from a heartbeat thread (every quarter of the
//! lease) and in every append: the append's transaction first updates the
//! leader row *where the epoch is still its own* and writes nothing if it
//! is not, so a deposed leader that wakes up (a paused process, a stalled
//! machine) cannot append, however late it resumes. Every record stores the
//! epoch it was appended under, and every append notifies the channel
//! `atobarai_<schema>` on commit (LISTEN/NOTIFY), which followers wait on
//! instead of polling. The server's clock decides leases, so members'
//! clocks may disagree.
//!
//! The synchronous `postgres` client must not run inside an async runtime,
//! so it lives on a dedicated thread and the trait methods talk to it over a
//! channel.
//!
//! **TLS** (rustls) follows the URL's `sslmode`, as libpq does:
//!
//! * `disable`: plain TCP, never TLS.
//! * `prefer` (the default): TLS if the server offers it, else plain. The
//!   certificate is not checked (it protects against eavesdropping, not
//!   against an impostor).
//! * `require`: TLS or no connection; the certificate is not checked.
//! * `verify-ca`: TLS, and the server's certificate must chain to a trusted
//!   root; its host name is not checked.
//! * `verify-full`: as `verify-ca`, and the certificate must name the host
//!   connected to.
//!
//! Trusted roots are the public web roots (`webpki-roots`) plus the
//! certificates in the PEM file `sslrootcert=PATH`, if given. As with libpq,
//! `prefer` or `require` with an `sslrootcert` file verify the chain as
//! `verify-ca` does. `allow` and any other value are refused.
//!
//! **Timeouts**, so a hung server fails the call instead of blocking the
//! engine forever: `connect_timeout` (5 s unless the URL sets one), TCP
//! keepalives (idle 30 s, every 10 s, 3 probes) and a TCP user timeout of
//! 30 s unless the URL sets them, and `statement_timeout` = 30 s on every
//! session unless the URL's `options` set one. Connecting as a whole (TCP,
//! TLS, authentication) gives up after twice the connect timeout plus a
//! second, since the client's own timeout covers only the TCP connect. The
//! journal's own calls
//! (appends, reads, settings) also give up waiting 10 s after the statement
//! timeout; the handle is then closed (the node is fail-stop).

use crate::snapshot::{SNAPSHOTS_KEPT, join_chunks, newest};
use crate::{
    Journal, Lead, LeaderInfo, Record, SNAPSHOT_CHUNK_MAX, Snapshot, SnapshotWriter, StoreError,
};
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Connect timeout when the URL gives none.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Statement timeout set on every session unless the URL's options set one.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);
/// How much longer than the statement timeout a journal call waits.
const ANSWER_GRACE: Duration = Duration::from_secs(10);
/// The lease a member holds when none is configured.
const LEASE_DEFAULT: Duration = Duration::from_secs(3);
/// How long [`PgJournal::open`] keeps trying to claim a journal whose
/// leader looks alive (a process just killed leaves its backend for a
/// moment).
const OPEN_CLAIM_GRACE: Duration = Duration::from_secs(2);

/// How to use TLS (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<SslMode, StoreError> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(StoreError::Postgres(format!(
                    "sslmode={other:?} is not supported: use disable, prefer, require, \
                     verify-ca or verify-full"
                )));
            }
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// A connection string taken apart: the settings the client does not know
/// (`sslmode`'s verify modes, `sslrootcert`) removed and kept here.
#[derive(Debug)]
struct ConnSpec {
    config: postgres::Config,
    mode: SslMode,
    root_cert: Option<PathBuf>,
    /// The statement timeout we set, if the URL's options set none.
    statement_timeout: Option<Duration>,
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let v = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Split `key=value` words of a libpq keyword string, keeping quotes.
fn keyword_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let (mut quoted, mut escaped) = (false, false);
    for c in s.chars() {
        match c {
            _ if escaped => {
                word.push(c);
                escaped = false;
            }
            '\\' => {
                word.push(c);
                escaped = true;
            }
            '\'' => {
                word.push(c);
                quoted = !quoted;
            }
            c if c.is_whitespace() && !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// `url` without its `sslmode` and `sslrootcert` settings, and their values.
fn take_tls_settings(url: &str) -> (String, Option<String>, Option<String>) {
    let (mut mode, mut root) = (None, None);
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let Some((base, query)) = url.split_once('?') else {
            return (url.to_string(), None, None);
        };
        let mut kept = Vec::new();
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("sslmode", v)) => mode = Some(percent_decode(v)),
                Some(("sslrootcert", v)) => root = Some(percent_decode(v)),
                _ => kept.push(pair),
            }
        }
        let rest = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        (rest, mode, root)
    } else {
        let unquote = |v: &str| {
            v.trim_matches('\'')
                .replace("\\'", "'")
                .replace("\\\\", "\\")
        };
        let mut kept = Vec::new();
        for word in keyword_words(url) {
            match word.split_once('=').map(|(k, v)| (k.trim(), v)) {
                Some(("sslmode", v)) => mode = Some(unquote(v)),
                Some(("sslrootcert", v)) => root = Some(unquote(v)),
                _ => kept.push(word),
            }
        }
        (kept.join(" "), mode, root)
    }
}

impl ConnSpec {
    fn parse(url: &str) -> Result<ConnSpec, StoreError> {
        let (rest, mode, root) = take_tls_settings(url);
        let mode = mode
            .as_deref()
            .map_or(Ok(SslMode::Prefer), SslMode::parse)?;
        let root_cert = root.filter(|r| r != "system").map(PathBuf::from);
        let mut config: postgres::Config = rest
            .parse()
            .map_err(|e| StoreError::Postgres(format!("invalid connection string: {e}")))?;
        config.ssl_mode(match mode {
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            _ => postgres::config::SslMode::Require,
        });
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        // The client's own default idle time is two hours.
        if config.get_keepalives() && config.get_keepalives_idle() == Duration::from_secs(7200) {
            config.keepalives_idle(Duration::from_secs(30));
        }
        if config.get_keepalives_interval().is_none() {
            config.keepalives_interval(Duration::from_secs(10));
        }
        if config.get_keepalives_retries().is_none() {
            config.keepalives_retries(3);
        }
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(Duration::from_secs(30));
        }
        let own_timeout = config
            .get_options()
            .is_none_or(|o| !o.contains("statement_timeout"));
        Ok(ConnSpec {
            config,
            mode,
            root_cert,
            statement_timeout: own_timeout.then_some(STATEMENT_TIMEOUT),
        })
    }

    /// How long a connection may take, from the TCP connect to the end of
    /// authentication.
    fn connect_within(&self) -> Duration {
        let t = self
            .config
            .get_connect_timeout()
            .copied()
            .unwrap_or(CONNECT_TIMEOUT);
        t.saturating_mul(2).saturating_add(Duration::from_secs(1))
    }

    /// Connect (on the calling thread) and set the session's timeout.
    fn connect(&self) -> Result<postgres::Client, StoreError> {
        let mode = self.mode.as_str();
        let connected = match self.mode {
            SslMode::Disable => self.config.connect(postgres::NoTls),
            _ => {
                let tls = tls::client_config(self.mode, self.root_cert.as_deref())?;
                self.config
                    .connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
            }
        };
        let mut client = connected.map_err(|e| {
            StoreError::Postgres(format!("connecting (sslmode={mode}): {}", error_chain(&e)))
        })?;
        if let Some(t) = self.statement_timeout {
            client
                .batch_execute(&format!("SET statement_timeout = {}", t.as_millis()))
                .map_err(pg)?;
        }
        Ok(client)
    }
}

/// An error with its causes, one after the other.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cause = c.source();
    }
    s
}

/// rustls client configurations for each [`SslMode`] that uses TLS.
mod tls {
    use super::SslMode;
    use crate::StoreError;
    use rustls::DigitallySignedStruct;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::WebPkiSupportedAlgorithms;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::server::ParsedCertificate;
    use std::path::Path;
    use std::sync::Arc;

    fn tls_error(e: impl std::fmt::Display) -> StoreError {
        StoreError::Postgres(format!("TLS setup: {e}"))
    }

    fn roots(root_cert: Option<&Path>) -> Result<rustls::RootCertStore, StoreError> {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(path) = root_cert {
            let bad = |e: &dyn std::fmt::Display| {
                StoreError::Postgres(format!("sslrootcert {}: {e}", path.display()))
            };
            let mut n = 0;
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(&e))? {
                roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
                n += 1;
            }
            if n == 0 {
                return Err(bad(&"no PEM certificate in the file"));
            }
        }
        Ok(roots)
    }

    /// The configuration for `mode` (never [`SslMode::Disable`]).
    pub(super) fn client_config(
        mode: SslMode,
        root_cert: Option<&Path>,
    ) -> Result<rustls::ClientConfig, StoreError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(tls_error)?;
        let algorithms = provider.signature_verification_algorithms;
        let config = match mode {
            SslMode::VerifyFull => builder
                .with_root_certificates(roots(root_cert)?)
                .with_no_client_auth(),
            SslMode::VerifyCa => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOnly {
                    roots: roots(root_cert)?,
                    algorithms,
                }))
                .with_no_client_auth(),
            SslMode::Disable | SslMode::Prefer | SslMode::Require => match root_cert {
                Some(_) => return client_config(SslMode::VerifyCa, root_cert),
                None => builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(AnyCert { algorithms }))
                    .with_no_client_auth(),
            },
        };
        Ok(config)
    }

    /// `verify-ca`: the chain must lead to a trusted root; any host name.
    #[derive(Debug)]
    struct ChainOnly {
        roots: rustls::RootCertStore,
        algorithms: WebPkiSupportedAlgorithms,
    }

    /// `prefer`/`require`: any certificate, though the handshake's
    /// signatures are still checked against it.
    #[derive(Debug)]
    struct AnyCert {
        algorithms: WebPkiSupportedAlgorithms,
    }

    macro_rules! signatures_checked {
        () => {
            fn verify_tls12_signature(
                &self,
                message: &[u8],
                cert: &CertificateDer<'_>,
                dss: &DigitallySignedStruct,
            ) -> Result<HandshakeSignatureValid, rustls::Error> {
                rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
            }

            fn verify_tls13_signature(
                &self,
                message: &[u8],
                cert: &CertificateDer<'_>,
                dss: &DigitallySignedStruct,
            ) -> Result<HandshakeSignatureValid, rustls::Error> {
                rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
            }

            fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
                self.algorithms.supported_schemes()
            }
        };
    }

    impl ServerCertVerifier for ChainOnly {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            let cert = ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_cert_signed_by_trust_anchor(
                &cert,
                &self.roots,
                intermediates,
                now,
                self.algorithms.all,
            )?;
            Ok(ServerCertVerified::assertion())
        }

        signatures_checked!();
    }

    impl ServerCertVerifier for AnyCert {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        signatures_checked!();
    }
}

type Job = Box<dyn FnOnce(&mut postgres::Client) + Send>;

/// One PostgreSQL connection living on a thread of its own, driven by jobs
/// sent over a channel.
struct Conn {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    /// How long [`Conn::run_bounded`] waits for an answer.
    answer_within: Option<Duration>,
    /// Set when the server did not answer in time: no more jobs, and the
    /// (possibly stuck) thread is not joined.
    closed: std::cell::Cell<bool>,
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
        let (connected_tx, connected_rx) = mpsc::channel::<()>();
        let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
        let spec = ConnSpec::parse(url)?;
        let answer_within = spec.statement_timeout.map(|t| t + ANSWER_GRACE);
        let connect_within = spec.connect_within();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let client = spec.connect();
                let mut client = match client {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = connected_tx.send(());
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
        // A server that accepts the connection but never answers would
        // block the connect forever (the client's connect_timeout covers
        // only the TCP connect): give up, leaving the thread behind.
        let stopped = || StoreError::Postgres("connection thread stopped".into());
        match connected_rx.recv_timeout(connect_within) {
            Ok(()) => {}
            // The thread ended before connecting: its error is waiting.
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(ready_rx
                    .recv()
                    .map_err(|_| stopped())?
                    .err()
                    .unwrap_or_else(stopped));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(StoreError::Postgres(format!(
                    "no answer from the server within {} s of connecting",
                    connect_within.as_secs()
                )));
            }
        }
        let value = match answer_within {
            None => ready_rx.recv().map_err(|_| stopped())??,
            Some(within) => ready_rx.recv_timeout(within).map_err(|e| match e {
                mpsc::RecvTimeoutError::Timeout => StoreError::Postgres(format!(
                    "no answer from the server within {} s of setting up",
                    within.as_secs()
                )),
                mpsc::RecvTimeoutError::Disconnected => stopped(),
            })??,
        };
        Ok((
            Conn {
                jobs: Some(jobs_tx),
                thread: Some(thread),
                answer_within,
                closed: std::cell::Cell::new(false),
            },
            value,
        ))
    }

    /// Send `f` to the connection thread; the receiver gets its answer.
    fn send<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut postgres::Client) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<mpsc::Receiver<Result<R, StoreError>>, StoreError> {
        let (tx, rx) = mpsc::channel();
        let job: Job = Box::new(move |client| {
            let _ = tx.send(f(client));
        });
        if self.closed.get() {
            return Err(StoreError::Postgres(
                "connection closed after the server did not answer in time".into(),
            ));
        }
        self.jobs
            .as_ref()
            .ok_or_else(|| StoreError::Postgres("journal closed".into()))?
            .send(job)
            .map_err(|_| StoreError::Postgres("connection thread stopped".into()))?;
        Ok(rx)
    }

    /// Run `f` on the connection thread and wait for its answer, however
    /// long it takes (snapshots: many statements, each bounded by the
    /// statement timeout).
    fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut postgres::Client) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        self.send(f)?
            .recv()
            .map_err(|_| StoreError::Postgres("connection thread stopped".into()))?
    }

    /// Run `f` (a statement or two) on the connection thread and wait at
    /// most the statement timeout plus a grace period. A server that does
    /// not answer by then closes this connection for good: the thread may
    /// stay blocked, but the caller learns of it instead of hanging.
    fn run_bounded<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut postgres::Client) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let rx = self.send(f)?;
        let Some(within) = self.answer_within else {
            return rx
                .recv()
                .map_err(|_| StoreError::Postgres("connection thread stopped".into()))?;
        };
        match rx.recv_timeout(within) {
            Ok(answer) => answer,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(StoreError::Postgres("connection thread stopped".into()))
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Leave the stuck thread behind rather than join it.
                self.closed.set(true);
                Err(StoreError::Postgres(format!(
                    "no answer from the server within {} s; connection closed",
                    within.as_secs()
                )))
            }
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take()
            && !self.closed.get()
        {
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
    member: Member,
    /// Held while this handle leads.
    lease: Option<Lease>,
    /// A follower's LISTEN connection, opened on first wait.
    listener: Option<Conn>,
}

/// One process sharing a PostgreSQL journal: who it is and how long its
/// lease lasts when it leads.
#[derive(Clone, Debug)]
pub struct Member {
    /// Unique per process (a restarted process is a new member).
    pub holder: String,
    /// The base URL where this member answers, shown to clients that ask
    /// a follower to write.
    pub address: String,
    /// How long a lease lasts without renewal: the longest a paused
    /// leader blocks a takeover.
    pub lease: Duration,
}

impl Member {
    /// A member with a fresh id, no address and the default lease (tools
    /// and tests that open a journal by itself).
    pub fn solo() -> Member {
        Member::new(String::new(), LEASE_DEFAULT)
    }

    /// A member with a fresh id (host, pid and start time) answering at
    /// `address`.
    pub fn new(address: String, lease: Duration) -> Member {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
        Member {
            holder: format!("{host}:{}:{nanos:x}", std::process::id()),
            address,
            lease: lease.max(Duration::from_millis(200)),
        }
    }

    fn lease_ms(&self) -> i64 {
        i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX)
    }
}

/// A held lead: the epoch and the heartbeat that renews the lease.
struct Lease {
    epoch: u64,
    /// Set by the heartbeat when a renewal found the epoch gone.
    lost: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Dropped to stop the heartbeat.
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        // The heartbeat gives the lease up on its way out, so the next
        // member need not wait for it to run out.
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The SQL that claims the lead: granted when the lease ran out, when the
/// leader's lease connection is gone, or to the member that holds it.
const CLAIM: &str = "INSERT INTO leader (id, epoch, holder, address, pid, lease_until)
     VALUES (1, 1, $1, $2, pg_backend_pid(), clock_timestamp() + $3::BIGINT * INTERVAL '1 millisecond')
     ON CONFLICT (id) DO UPDATE SET epoch = leader.epoch + 1, holder = excluded.holder,
       address = excluded.address, pid = excluded.pid, lease_until = excluded.lease_until
     WHERE leader.lease_until < clock_timestamp() OR leader.holder = excluded.holder
        OR NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = leader.pid)
     RETURNING epoch";

/// Renew the lease if the epoch is still ours (0 rows: deposed).
const RENEW: &str =
    "UPDATE leader SET lease_until = clock_timestamp() + $3::BIGINT * INTERVAL '1 millisecond'
     WHERE id = 1 AND epoch = $1 AND holder = $2";

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
    /// Connect, create the schema and tables if needed, and claim the lead
    /// as a member of its own ([`Member::solo`]): refused with
    /// [`StoreError::Locked`] while another live member leads.
    pub fn open(url: &str, schema: &str) -> Result<PgJournal, StoreError> {
        let mut journal = PgJournal::open_member(url, schema, Member::solo())?;
        let started = std::time::Instant::now();
        loop {
            match journal.lead()? {
                Lead::Leader { .. } => return Ok(journal),
                Lead::Follower(leader) if started.elapsed() >= OPEN_CLAIM_GRACE => {
                    let by = leader.map_or_else(String::new, |l| {
                        format!(", led by member {} (epoch {})", l.holder, l.epoch)
                    });
                    return Err(StoreError::Locked(
                        format!("postgres schema {schema}{by}").into(),
                    ));
                }
                Lead::Follower(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Connect as `member` and create the schema and tables if needed,
    /// without claiming anything: the handle reads, and appends only once
    /// [`Journal::lead`] made it the leader.
    pub fn open_member(url: &str, schema: &str, member: Member) -> Result<PgJournal, StoreError> {
        if !valid_schema(schema) {
            return Err(StoreError::Postgres(format!(
                "schema name {schema:?} must be 1-48 of [a-z0-9_]"
            )));
        }
        let name = schema.to_string();
        let (conn, last_seq) = Conn::spawn("journal-pg", url, move |client| {
            let schema = name;
            // Members starting together would race on CREATE … IF NOT
            // EXISTS: one at a time, under a transaction-scoped lock.
            let mut tx = client.transaction().map_err(pg)?;
            tx.query_one(
                "SELECT pg_advisory_xact_lock(hashtext('atobarai-setup:' || $1))",
                &[&schema],
            )
            .map_err(pg)?;
            tx.batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {schema};
                 SET LOCAL search_path TO {schema};
                 CREATE TABLE IF NOT EXISTS journal (seq BIGINT PRIMARY KEY, payload BYTEA NOT NULL);
                 ALTER TABLE journal ADD COLUMN IF NOT EXISTS epoch BIGINT NOT NULL DEFAULT 0;
                 CREATE TABLE IF NOT EXISTS snapshot (seq BIGINT PRIMARY KEY, digest BYTEA NOT NULL, len BIGINT NOT NULL, chunks BIGINT NOT NULL);
                 CREATE TABLE IF NOT EXISTS snapshot_chunk (seq BIGINT NOT NULL, idx BIGINT NOT NULL, bytes BYTEA NOT NULL, PRIMARY KEY (seq, idx));
                 CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS leader (id INT PRIMARY KEY CHECK (id = 1), epoch BIGINT NOT NULL,
                   holder TEXT NOT NULL, address TEXT NOT NULL, pid INT NOT NULL, lease_until TIMESTAMPTZ NOT NULL);"
            ))
            .map_err(pg)?;
            tx.commit().map_err(pg)?;
            client
                .batch_execute(&format!("SET search_path TO {schema}"))
                .map_err(pg)?;
            max_seq(client)
        })?;
        Ok(PgJournal {
            conn,
            url: url.to_string(),
            schema: schema.to_string(),
            last_seq,
            member,
            lease: None,
            listener: None,
        })
    }

    /// The member this handle is.
    pub fn member(&self) -> &Member {
        &self.member
    }

    /// Who leads the journal now, as the leader table says (whether or not
    /// its lease still runs).
    pub fn leader(&self) -> Result<Option<LeaderInfo>, StoreError> {
        self.run_bounded(|client| {
            Ok(client
                .query_opt(
                    "SELECT epoch, holder, address FROM leader WHERE id = 1",
                    &[],
                )
                .map_err(pg)?
                .map(|row| LeaderInfo {
                    epoch: row.get::<_, i64>(0) as u64,
                    holder: row.get(1),
                    address: row.get(2),
                }))
        })
    }

    /// The epoch this handle appends under, if it leads and has not been
    /// told it was deposed.
    fn epoch(&self) -> Option<u64> {
        self.lease
            .as_ref()
            .filter(|l| !l.lost.load(std::sync::atomic::Ordering::Relaxed))
            .map(|l| l.epoch)
    }

    /// Open the lease connection and claim the lead on it (its backend
    /// pid is the one followers watch); on success start the heartbeat.
    fn claim(&self) -> Result<Option<Lease>, StoreError> {
        let schema = self.schema.clone();
        let member = self.member.clone();
        let (conn, epoch) = Conn::spawn("lease-pg", &self.url, move |client| {
            client
                .batch_execute(&format!("SET search_path TO {schema}"))
                .map_err(pg)?;
            Ok(client
                .query_opt(
                    CLAIM,
                    &[&member.holder, &member.address, &member.lease_ms()],
                )
                .map_err(pg)?
                .map(|row| row.get::<_, i64>(0) as u64))
        })?;
        let Some(epoch) = epoch else {
            return Ok(None);
        };
        let lost = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let member = self.member.clone();
        let flag = lost.clone();
        let thread = std::thread::Builder::new()
            .name("lease-heartbeat".into())
            .spawn(move || heartbeat(conn, epoch, &member, &flag, &stop_rx))
            .map_err(|e| StoreError::Io {
                path: "lease-heartbeat".into(),
                source: e,
            })?;
        Ok(Some(Lease {
            epoch,
            lost,
            stop: Some(stop_tx),
            thread: Some(thread),
        }))
    }

    fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut postgres::Client) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        self.conn.run(f)
    }

    fn run_bounded<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut postgres::Client) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        self.conn.run_bounded(f)
    }

    /// Drop the schema with everything in it (tests clean up with this).
    pub fn drop_schema(url: &str, schema: &str) -> Result<(), StoreError> {
        if !valid_schema(schema) {
            return Ok(());
        }
        let schema = schema.to_string();
        let (conn, ()) = Conn::spawn("cleanup-pg", url, |_| Ok(()))?;
        conn.run_bounded(move |client| {
            client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .map_err(pg)
        })
    }
}

/// A client for `url` as the journal connects (the URL's `sslmode` and
/// timeouts; see the module docs), for the store's other tables (the key
/// vault). Blocking: call it off any async runtime.
pub(crate) fn connect(url: &str) -> Result<postgres::Client, StoreError> {
    ConnSpec::parse(url)?.connect()
}

/// The highest stored sequence number (0 when empty).
fn max_seq(client: &mut postgres::Client) -> Result<u64, StoreError> {
    let last: Option<i64> = client
        .query_one("SELECT MAX(seq) FROM journal", &[])
        .map_err(pg)?
        .get(0);
    Ok(last.map_or(0, |s| s as u64))
}

/// Renew the lease every quarter of it until told to stop or deposed; on
/// stopping, give the lease up so the next member need not wait it out.
fn heartbeat(
    conn: Conn,
    epoch: u64,
    member: &Member,
    lost: &std::sync::atomic::AtomicBool,
    stop: &mpsc::Receiver<()>,
) {
    let every = member.lease / 4;
    let (holder, lease_ms) = (member.holder.clone(), member.lease_ms());
    let epoch_i = epoch as i64;
    loop {
        match stop.recv_timeout(every) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            _ => {
                let holder = holder.clone();
                let _ = conn.run_bounded(move |client| {
                    client
                        .execute(
                            "UPDATE leader SET lease_until = '-infinity' WHERE id = 1 AND epoch = $1 AND holder = $2",
                            &[&epoch_i, &holder],
                        )
                        .map_err(pg)
                });
                return;
            }
        }
        let h = holder.clone();
        let renewed = conn.run_bounded(move |client| {
            client
                .execute(RENEW, &[&epoch_i, &h, &lease_ms])
                .map_err(pg)
        });
        match renewed {
            Ok(1) => {}
            // Deposed, or the server is gone (its backend with it, so a
            // follower may already have taken over): appends will say so.
            Ok(_) | Err(_) => {
                lost.store(true, std::sync::atomic::Ordering::Relaxed);
                return;
            }
        }
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
        let Some(epoch) = self.epoch() else {
            return Err(match &self.lease {
                Some(l) => StoreError::Fenced { epoch: l.epoch },
                None => StoreError::NotLeader("claim the lead before appending".into()),
            });
        };
        crate::check_consecutive(self.last_seq, records)?;
        if records.is_empty() {
            return Ok(());
        }
        let seqs: Vec<i64> = records.iter().map(|r| r.seq as i64).collect();
        let payloads: Vec<Vec<u8>> = records.iter().map(|r| r.payload.clone()).collect();
        let last = records[records.len() - 1].seq;
        let (holder, lease_ms) = (self.member.holder.clone(), self.member.lease_ms());
        let channel = format!("atobarai_{}", self.schema);
        let epoch_i = epoch as i64;
        let fenced = self.run_bounded(move |client| {
            // One round trip for the whole batch; the commit is the fsync.
            let mut tx = client.transaction().map_err(pg)?;
            // The fence: renew the lease only if the epoch is still ours;
            // the row lock orders this append against any takeover.
            if tx
                .execute(RENEW, &[&epoch_i, &holder, &lease_ms])
                .map_err(pg)?
                != 1
            {
                tx.rollback().map_err(pg)?;
                return Ok(true);
            }
            tx.execute(
                "INSERT INTO journal (seq, payload, epoch)
                 SELECT s, p, $3 FROM UNNEST($1::BIGINT[], $2::BYTEA[]) AS u(s, p)",
                &[&seqs, &payloads, &epoch_i],
            )
            .map_err(pg)?;
            tx.execute("SELECT pg_notify($1, $2)", &[&channel, &last.to_string()])
                .map_err(pg)?;
            tx.commit().map_err(pg)?;
            Ok(false)
        })?;
        if fenced {
            if let Some(l) = &self.lease {
                l.lost.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            return Err(StoreError::Fenced { epoch });
        }
        self.last_seq = last;
        Ok(())
    }

    fn lead(&mut self) -> Result<Lead, StoreError> {
        if let Some(epoch) = self.epoch() {
            return Ok(Lead::Leader { epoch });
        }
        // A lost lease is dropped (its heartbeat stopped) before claiming
        // again: a new claim is a new epoch.
        self.lease = None;
        // Look before claiming: a claim opens a connection (its backend
        // is the one followers watch), which a follower asking every few
        // hundred milliseconds should not do while the leader is alive.
        let holder = self.member.holder.clone();
        let current = self.run_bounded(move |client| {
            Ok(client
                .query_opt(
                    "SELECT epoch, holder, address,
                       lease_until < clock_timestamp() OR holder = $1
                         OR NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = leader.pid)
                     FROM leader WHERE id = 1",
                    &[&holder],
                )
                .map_err(pg)?
                .map(|row| {
                    let info = LeaderInfo {
                        epoch: row.get::<_, i64>(0) as u64,
                        holder: row.get(1),
                        address: row.get(2),
                    };
                    (info, row.get::<_, bool>(3))
                }))
        })?;
        if let Some((info, false)) = current {
            return Ok(Lead::Follower(Some(info)));
        }
        match self.claim()? {
            Some(lease) => {
                let epoch = lease.epoch;
                self.lease = Some(lease);
                // Whatever the last leader appended is ours to continue.
                self.last_seq = self.run_bounded(max_seq)?;
                Ok(Lead::Leader { epoch })
            }
            None => Ok(Lead::Follower(self.leader()?)),
        }
    }

    fn wait_for_records(&mut self, after: u64, within: Duration) -> Result<(), StoreError> {
        if self.listener.is_none() {
            let listen = format!("LISTEN atobarai_{}", self.schema);
            let (conn, ()) = Conn::spawn("listen-pg", &self.url, move |client| {
                client.batch_execute(&listen).map_err(pg)
            })?;
            self.listener = Some(conn);
            // Records appended before LISTEN took effect raise no
            // notification: the caller reads after this anyway.
            return Ok(());
        }
        let _ = after;
        let listener = self.listener.as_ref().expect("set above");
        let waited = listener.run_bounded(move |client| {
            use postgres::fallible_iterator::FallibleIterator;
            let mut n = client.notifications();
            let got = n.timeout_iter(within).next().map_err(pg)?.is_some();
            // Drain what else arrived: one read covers them all.
            while n.iter().next().map_err(pg)?.is_some() {}
            Ok(got)
        });
        if let Err(e) = waited {
            self.listener = None;
            return Err(e);
        }
        Ok(())
    }

    fn stored_last_seq(&self) -> Result<u64, StoreError> {
        self.run_bounded(max_seq)
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
            let page: Vec<(i64, Vec<u8>)> = self.run_bounded(move |client| {
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
        self.run_bounded(move |client| {
            Ok(client
                .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
                .map_err(pg)?
                .map(|r| r.get(0)))
        })
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        let (key, value) = (key.to_string(), value.to_string());
        self.run_bounded(move |client| {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_values_parse_and_unknown_ones_are_refused() {
        for (text, mode) in [
            ("disable", SslMode::Disable),
            ("prefer", SslMode::Prefer),
            ("require", SslMode::Require),
            ("verify-ca", SslMode::VerifyCa),
            ("verify-full", SslMode::VerifyFull),
        ] {
            assert_eq!(SslMode::parse(text).unwrap(), mode);
            assert_eq!(mode.as_str(), text);
        }
        for bad in ["allow", "bogus", "", "Require"] {
            let err = SslMode::parse(bad).unwrap_err().to_string();
            assert!(
                err.contains("sslmode") && err.contains("verify-full"),
                "{err}"
            );
        }
        let err = ConnSpec::parse("postgres://u@h/db?sslmode=sometimes").unwrap_err();
        assert!(
            err.to_string().contains("\"sometimes\" is not supported"),
            "{err}"
        );
    }

    #[test]
    fn tls_settings_come_out_of_urls_and_keyword_strings() {
        let (rest, mode, root) = take_tls_settings(
            "postgres://u@h:5433/db?sslmode=verify-full&application_name=x&sslrootcert=%2Ftmp%2Fca.pem",
        );
        assert_eq!(rest, "postgres://u@h:5433/db?application_name=x");
        assert_eq!(mode.as_deref(), Some("verify-full"));
        assert_eq!(root.as_deref(), Some("/tmp/ca.pem"));
        let (rest, mode, root) = take_tls_settings("postgresql://h/db?sslmode=disable");
        assert_eq!(
            (rest.as_str(), mode.as_deref(), root),
            ("postgresql://h/db", Some("disable"), None)
        );
        let (rest, mode, root) =
            take_tls_settings("host=h  sslmode=require password='a b' sslrootcert='/c a.pem'");
        assert_eq!(rest, "host=h password='a b'");
        assert_eq!(mode.as_deref(), Some("require"));
        assert_eq!(root.as_deref(), Some("/c a.pem"));
    }

    #[test]
    fn timeouts_default_unless_the_url_sets_them() {
        let spec = ConnSpec::parse("postgres://u@h/db").unwrap();
        assert_eq!(spec.mode, SslMode::Prefer);
        assert_eq!(
            spec.config.get_ssl_mode(),
            postgres::config::SslMode::Prefer
        );
        assert_eq!(spec.config.get_connect_timeout(), Some(&CONNECT_TIMEOUT));
        assert_eq!(spec.config.get_keepalives_idle(), Duration::from_secs(30));
        assert_eq!(spec.statement_timeout, Some(STATEMENT_TIMEOUT));
        let spec = ConnSpec::parse(
            "postgres://u@h/db?connect_timeout=2&sslmode=verify-ca&options=-c%20statement_timeout%3D5s",
        )
        .unwrap();
        assert_eq!(
            spec.config.get_connect_timeout(),
            Some(&Duration::from_secs(2))
        );
        assert_eq!(
            spec.config.get_ssl_mode(),
            postgres::config::SslMode::Require
        );
        assert_eq!(spec.statement_timeout, None);
    }

    #[test]
    fn tls_configurations_build_and_a_missing_root_file_is_an_error() {
        for mode in [
            SslMode::Prefer,
            SslMode::Require,
            SslMode::VerifyCa,
            SslMode::VerifyFull,
        ] {
            tls::client_config(mode, None).unwrap();
        }
        let missing = std::path::Path::new("/nonexistent/atobarai-ca.pem");
        let err = tls::client_config(SslMode::VerifyFull, Some(missing)).unwrap_err();
        assert!(
            err.to_string().contains("sslrootcert /nonexistent"),
            "{err}"
        );
    }

    /// A stand-in server on a free port: `answer` is called with each
    /// accepted connection (on a thread of its own).
    fn fake_server(answer: fn(std::net::TcpStream)) -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || answer(stream));
            }
        });
        port
    }

    #[test]
    fn sslmode_require_fails_fast_when_the_server_has_no_tls() {
        use std::io::{Read, Write};
        // Answers the client's SSLRequest with "N" (no TLS), as a server
        // with ssl=off does.
        let port = fake_server(|mut s| {
            let mut request = [0u8; 8];
            if s.read_exact(&mut request).is_ok() {
                let _ = s.write_all(b"N");
                let _ = s.read(&mut [0u8; 64]);
            }
        });
        let started = std::time::Instant::now();
        let url = format!("postgres://u@127.0.0.1:{port}/db?sslmode=require");
        let err = PgJournal::open(&url, "atb").err().unwrap().to_string();
        assert!(
            err.contains("sslmode=require") && err.contains("TLS"),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_server_that_never_answers_fails_the_connect() {
        // Accepts, reads, and says nothing for longer than the test waits.
        let port = fake_server(|mut s| {
            let _ = std::io::Read::read(&mut s, &mut [0u8; 64]);
            std::thread::sleep(Duration::from_secs(30));
        });
        let started = std::time::Instant::now();
        let url = format!("postgres://u@127.0.0.1:{port}/db?sslmode=disable&connect_timeout=1");
        let err = PgJournal::open(&url, "atb").err().unwrap().to_string();
        assert!(
            err.contains("no answer from the server within 3 s"),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(6));
    }

    /// Against TEST_DATABASE_URL: the session gets its statement timeout.
    #[test]
    fn sessions_get_a_statement_timeout() {
        let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
            eprintln!("SKIPPED sessions_get_a_statement_timeout: TEST_DATABASE_URL is not set");
            return;
        };
        let mut client = ConnSpec::parse(&url).unwrap().connect().unwrap();
        let row = client.query_one("SHOW statement_timeout", &[]).unwrap();
        assert_eq!(row.get::<_, String>(0), "30s");
    }
}
