//! `atobarai`: the command line. It parses arguments, sets up telemetry and
//! configuration, and hands over to the library crates; no business logic
//! lives here.

use anyhow::{Context, Result, bail};
use atobarai_core::{Config, ids};
use atobarai_engine::{Command, Outcome, Role, prefix};
use atobarai_server::node::NodeError;
use atobarai_server::{AppState, ClockMode, ClusterOptions, Node, NodeOptions, StoreSpec};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::sync::Arc;

mod admin_http;
mod backtest_cli;
mod dataset_cli;
mod documents_cli;
mod identity_cli;
mod journal_tools;
mod keys_cli;
mod model_cli;
mod replay;
mod rules_cli;
mod settlement_cli;

// mimalloc: measurably faster than glibc malloc for the engine's many small
// allocations, with no fragmentation growth under steady load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "atobarai",
    version,
    about = "Deferred payment (後払い) engine: credit decisions, billing and abuse detection"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(clap::Args, Clone)]
struct StoreArgs {
    /// Directory of the embedded store (journal and snapshots).
    #[arg(long, default_value = "./atobarai-data", env = "ATOBARAI_DATA_DIR")]
    data_dir: PathBuf,
    /// PostgreSQL URL for the journal instead of the embedded store, or a
    /// NATS JetStream one: `nats://host:port[/stream]` (stream `ATOBARAI`
    /// by default).
    #[arg(long, env = "ATOBARAI_DATABASE")]
    database: Option<String>,
    /// PostgreSQL schema holding the journal tables (with --database).
    #[arg(long, default_value = "atobarai")]
    schema: String,
    /// Configuration file (TOML); `ATOBARAI__SECTION__KEY` variables override it.
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the HTTP API on the store.
    Serve {
        #[command(flatten)]
        store: StoreArgs,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// `system`: wall time; `manual`: time moves only by POST /v1/admin/clock.
        #[arg(long, value_enum, default_value_t = Clock::System)]
        clock: Clock,
        /// Take a snapshot after this many journaled commands.
        #[arg(long, default_value_t = 1_000_000)]
        snapshot_every: u64,
        #[command(flatten)]
        limits: ServeLimits,
        #[command(flatten)]
        cluster: ClusterArgs,
    },
    /// Manage merchants.
    Merchant {
        #[command(subcommand)]
        command: MerchantCmd,
    },
    /// Move the engine's clock forward to the start of DATE (JST), running
    /// every day's billing work on the way: month close and statements,
    /// late fees, delay damages, dunning, point expiry. For operators running
    /// on a manual clock, or catching up a store that was offline.
    Tick {
        /// `YYYY-MM-DD` (00:00 JST) or an RFC 3339 time.
        #[arg(long)]
        until: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Manage operators (risk analysts and administrators).
    Operator {
        #[command(subcommand)]
        command: OperatorCmd,
    },
    /// Identity tools (no store is opened).
    Identity {
        #[command(subcommand)]
        command: identity_cli::IdentityCmd,
    },
    /// The synthetic market: a seeded population of honest shoppers and
    /// abusers, driven in process or against a server, and its detection report.
    Simulate(Box<atobarai_sim::cli::SimulateArgs>),
    /// Risk rules files: check one, run its cases (no store is opened).
    Rules {
        #[command(subcommand)]
        command: rules_cli::RulesCmd,
    },
    /// Replay the journal with another risk rule set and report which
    /// decisions would change, by rule, with example orders.
    Backtest(Box<backtest_cli::BacktestArgs>),
    /// Credit scorecards: fit one from a TSV file, report it as HTML.
    Model {
        #[command(subcommand)]
        command: model_cli::ModelCmd,
    },
    /// Replay a journal read only and check it: every record decodes and
    /// applies, every recorded decision is reproduced, every invariant
    /// holds, the newest snapshot's digest matches; prints the digest.
    Verify(Box<journal_tools::VerifyArgs>),
    /// Write a journal to a portable, checksummed file (records only:
    /// snapshots are a cache, rebuilt from the journal); `export settlement`
    /// writes a partner's monthly settlement file (CSV).
    Export(Box<settlement_cli::ExportCmd>),
    /// Load a file written by `export` into an empty journal (checked
    /// whole before anything is written), then replay it and print the digest.
    Import(Box<journal_tools::ImportArgs>),
    /// Keys that protect personal data at rest: rotate, list, retire.
    Keys {
        #[command(subcommand)]
        command: keys_cli::KeysCmd,
    },
    /// Billing documents: `documents render --month YYYY-MM --out DIR`
    /// writes every statement of a month as PDF for the print vendor.
    Documents {
        #[command(subcommand)]
        command: documents_cli::DocumentsCmd,
    },
}

/// Connection limits of `serve` (each also read from the environment).
#[derive(clap::Args, Clone, Copy)]
struct ServeLimits {
    /// Seconds a client has to send a request's headers (also how long a
    /// kept-alive connection may wait for its next request).
    #[arg(long, default_value_t = 10, env = "ATOBARAI_HEADER_TIMEOUT_SECS",
          value_parser = clap::value_parser!(u64).range(1..=3_600))]
    header_timeout_secs: u64,
    /// Seconds a client has to send a request's body (408 after).
    #[arg(long, default_value_t = 30, env = "ATOBARAI_BODY_TIMEOUT_SECS",
          value_parser = clap::value_parser!(u64).range(1..=3_600))]
    body_timeout_secs: u64,
    /// Seconds a connection may move no byte while no request is handled.
    #[arg(long, default_value_t = 60, env = "ATOBARAI_IDLE_TIMEOUT_SECS",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    idle_timeout_secs: u64,
    /// Most connections open at once (further clients wait in the backlog);
    /// lowered to stay below the process's open-file limit.
    #[arg(long, default_value_t = 10_000, env = "ATOBARAI_MAX_CONNECTIONS",
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,
}

/// Several nodes on one PostgreSQL journal: one leads, the others follow
/// (serve reads, refuse writes naming the leader) and take over when it
/// dies.
#[derive(clap::Args, Clone)]
struct ClusterArgs {
    /// The base URL other nodes give clients that send them writes
    /// (default: `http://` and the address listened on).
    #[arg(long, env = "ATOBARAI_ADVERTISE")]
    advertise: Option<String>,
    /// Milliseconds the leader's lease lasts without renewal: the longest
    /// a stalled (not dead) leader holds up a takeover.
    #[arg(long, default_value_t = 3_000, env = "ATOBARAI_LEASE_MS",
          value_parser = clap::value_parser!(u64).range(200..=600_000))]
    lease_ms: u64,
}

#[derive(Subcommand)]
enum MerchantCmd {
    /// Add a merchant; prints its API key as the last line.
    Add {
        name: String,
        /// The merchant operates a gift-card program: capturing its
        /// `gift_card` lines issues codes.
        #[arg(long)]
        gift_card_issuer: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum OperatorCmd {
    /// Add an operator; prints its API key as the last line.
    Add {
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Clock {
    System,
    Manual,
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Admin,
    Analyst,
    /// A payment channel: records and reverses payments, nothing else.
    Payments,
}

fn load_config(path: Option<&PathBuf>) -> Result<Config> {
    let mut builder = config::Config::builder();
    if let Some(p) = path {
        builder = builder.add_source(config::File::from(p.as_path()));
    }
    builder = builder.add_source(
        config::Environment::with_prefix("ATOBARAI")
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true),
    );
    let cfg: Config = builder
        .build()
        .context("reading configuration")?
        .try_deserialize()
        .context("configuration has an invalid value")?;
    if let Err(problems) = cfg.validate() {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        anyhow::bail!("configuration out of range:\n  {}", list.join("\n  "));
    }
    Ok(cfg)
}

/// `nats://host:port[/stream]`: the server URL and the journal's stream
/// (`ATOBARAI` when the URL names none).
fn nats_spec(url: &str) -> StoreSpec {
    let rest = url.trim_start_matches("nats://");
    let (server, stream) = match rest.split_once('/') {
        Some((server, stream)) if !stream.trim_matches('/').is_empty() => {
            (server, stream.trim_matches('/'))
        }
        Some((server, _)) => (server, "ATOBARAI"),
        None => (rest, "ATOBARAI"),
    };
    StoreSpec::Nats {
        url: format!("nats://{server}"),
        stream: stream.to_string(),
    }
}

fn open_node(
    store: &StoreArgs,
    clock: ClockMode,
    snapshot_every: u64,
    cluster: Option<ClusterOptions>,
) -> Result<Node> {
    // Administrative commands write: they need the journal to themselves.
    let exclusive = cluster.is_none();
    let mut config = load_config(store.config.as_ref())?;
    // The identity secret stays in the shell: the engine sees only hashes.
    config.identity.key_secret.clear();
    let bar = ProgressBar::hidden();
    bar.set_style(
        ProgressStyle::with_template("replaying journal {bar:40} {pos}/{len} records ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut progress = |done: u64, total: u64| {
        if bar.is_hidden() && total > 100_000 {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
        bar.set_length(total);
        bar.set_position(done);
    };
    let opts = NodeOptions {
        store: match &store.database {
            Some(url) if url.starts_with("nats://") => nats_spec(url),
            Some(url) => StoreSpec::Postgres {
                url: url.clone(),
                schema: store.schema.clone(),
            },
            None => StoreSpec::Dir(store.data_dir.clone()),
        },
        clock,
        config,
        snapshot_every,
        cluster: cluster.unwrap_or_default(),
    };
    let in_use = |what: &str| {
        anyhow::anyhow!(
            "{what} is in use by a running atobarai; stop it, or add merchants with POST /v1/admin/merchants"
        )
    };
    let node = Node::open(opts, &mut progress).map_err(|e| match e {
        NodeError::Store(atobarai_store::StoreError::Locked(what)) => {
            in_use(&what.display().to_string())
        }
        other => anyhow::Error::new(other),
    })?;
    if exclusive && !node.is_leader() {
        node.shutdown();
        return Err(in_use(&format!("postgres schema {}", store.schema)));
    }
    bar.finish_and_clear();
    Ok(node)
}

fn add_key(store: &StoreArgs, name: &str, role: Option<Role>, issuer: bool) -> Result<()> {
    // Keys are stamped with the engine's own clock, never wall time, so
    // adding a key does not move a manual-clock store forward.
    let node = open_node(store, ClockMode::Manual, u64::MAX, None)?;
    let minted = atobarai_server::auth::mint();
    let command = match role {
        None if issuer => Command::AddIssuerMerchant {
            name: name.to_string(),
            key_id: minted.key_id,
            secret_sha256: minted.secret_sha256,
        },
        None => Command::AddMerchant {
            name: name.to_string(),
            key_id: minted.key_id,
            secret_sha256: minted.secret_sha256,
        },
        Some(role) => Command::AddOperator {
            name: name.to_string(),
            role,
            key_id: minted.key_id,
            secret_sha256: minted.secret_sha256,
        },
    };
    let result = node
        .submit_blocking(None, command)
        .map_err(|_| anyhow::anyhow!("the engine stopped"))?;
    node.shutdown();
    let applied = result.map_err(|e| anyhow::anyhow!("{e}"))?;
    match applied.outcome {
        Outcome::Merchant(g) => println!(
            "merchant {} ({}) added; its API key:",
            ids::encode(prefix::MERCHANT, u64::from(g.index)),
            g.name
        ),
        Outcome::Operator(g) => println!(
            "operator {} ({}) added; its API key:",
            ids::encode(prefix::OPERATOR, u64::from(g.index)),
            g.name
        ),
        other => bail!("unexpected outcome {other:?}"),
    }
    println!("{}", minted.key);
    Ok(())
}

fn tick(store: &StoreArgs, until: &str) -> Result<()> {
    let to = match atobarai_core::JstDate::parse(until) {
        Ok(day) => day.start_at(),
        Err(_) => atobarai_core::At::parse_rfc3339(until).map_err(|_| {
            anyhow::anyhow!("--until {until:?} is neither YYYY-MM-DD nor an RFC 3339 time")
        })?,
    };
    let node = open_node(store, ClockMode::Manual, u64::MAX, None)?;
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(format!("billing every day up to {}", to.to_rfc3339_jst()));
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let result = node.submit_blocking(None, Command::AdvanceClock { to });
    spinner.finish_and_clear();
    node.shutdown();
    let applied = result
        .map_err(|_| anyhow::anyhow!("the engine stopped"))?
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Outcome::Clock { now } = applied.outcome {
        println!("clock at {}", now.to_rfc3339_jst());
    }
    Ok(())
}

/// On the system clock, move the engine into each new JST day as it starts
/// (checked every 30 s), so month close, late fees, damages, dunning and
/// point expiry happen on time even when no request arrives.
async fn day_ticker(node: Arc<Node>) {
    let mut ticked: Option<atobarai_core::JstDate> = None;
    loop {
        let now = atobarai_core::At::from_timestamp(jiff::Timestamp::now());
        if ticked.is_none_or(|d| now.jst_date() > d) {
            match node.submit(None, Command::AdvanceClock { to: now }).await {
                Ok(Ok(_)) => ticked = Some(now.jst_date()),
                // A request stamped a later instant first: the day is
                // already being processed; try again next round.
                Ok(Err(e)) => tracing::debug!(error = %e, "day tick skipped"),
                Err(atobarai_server::node::Unavailable::Stopped) => return,
                // Following, or the journal is down: the leader ticks.
                Err(_) => {}
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}

fn serve(
    store: StoreArgs,
    listen: String,
    clock: Clock,
    snapshot_every: u64,
    limits_args: ServeLimits,
    cluster: ClusterArgs,
) -> Result<()> {
    let clock = match clock {
        Clock::System => ClockMode::System,
        Clock::Manual => ClockMode::Manual,
    };
    // Bound before the node opens: a follower names its own address, and
    // the port may be chosen by the system.
    let listener =
        std::net::TcpListener::bind(&listen).with_context(|| format!("binding {listen}"))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let cluster = ClusterOptions {
        advertise: cluster
            .advertise
            .unwrap_or_else(|| format!("http://{addr}")),
        lease: std::time::Duration::from_millis(cluster.lease_ms),
        ..ClusterOptions::default()
    };
    let node = Arc::new(open_node(&store, clock, snapshot_every, Some(cluster))?);
    let config = load_config(store.config.as_ref())?;
    if config.identity.is_development_secret() {
        tracing::warn!(
            "identity.key_secret is the published development value; set ATOBARAI__IDENTITY__KEY_SECRET in production"
        );
    }
    if config.gift_cards.code_secret == atobarai_core::config::GIFT_CARD_CODE_SECRET_DEV {
        tracing::warn!(
            "gift_cards.code_secret is the published development value; set ATOBARAI__GIFT_CARDS__CODE_SECRET in production"
        );
    }
    // Personal fields are sealed before they are journaled (issue 12, item 4).
    let identity = atobarai_server::IdentitySecret::new(&config.identity.key_secret)
        .with_ekyc(config.ekyc.clone());
    let identity = match keys_cli::open_privacy(&store, &config)? {
        Some(privacy) => identity.with_privacy(privacy),
        None => identity,
    };
    let limits = Arc::new(config.limits);
    let webhooks = config.webhooks;
    let documents = Arc::new(atobarai_server::documents::DocumentService::new(
        config.documents,
    ));
    if webhooks.is_development_key() {
        tracing::warn!(
            "webhooks.signing_key is the published development value; set ATOBARAI__WEBHOOKS__SIGNING_KEY in production"
        );
    }
    let open_files = atobarai_server::serve::open_file_limit();
    let wanted = usize::try_from(limits_args.max_connections).unwrap_or(usize::MAX);
    let max_connections = atobarai_server::serve::connection_cap(wanted, open_files);
    if max_connections < wanted {
        tracing::warn!(
            wanted,
            max_connections,
            open_files,
            "--max-connections lowered to stay below the open-file limit"
        );
    }
    let serve_options = atobarai_server::ServeOptions {
        header_read_timeout: std::time::Duration::from_secs(limits_args.header_timeout_secs),
        idle_timeout: std::time::Duration::from_secs(limits_args.idle_timeout_secs),
        max_connections,
        ..Default::default()
    };
    let body_timeout = std::time::Duration::from_secs(limits_args.body_timeout_secs);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let nats = store
            .database
            .as_ref()
            .is_some_and(|d| d.starts_with("nats://"));
        let postgres = store.database.is_some() && !nats;
        let role = node.role().role;
        tracing::info!(%addr, clock = clock.as_str(), postgres, nats, role, "listening");
        println!(
            "atobarai listening on http://{addr} (clock: {})",
            clock.as_str()
        );
        if clock == ClockMode::System {
            tokio::spawn(day_ticker(node.clone()));
        }
        let (stop_webhooks, stop) = tokio::sync::watch::channel(false);
        let dispatcher = tokio::spawn(atobarai_server::webhook::run(
            node.clone(),
            webhooks.clone(),
            stop,
        ));
        let app = atobarai_server::router(AppState {
            node: node.clone(),
            limits,
            identity,
            webhooks: Arc::new(webhooks),
            documents,
            body_timeout,
        });
        atobarai_server::serve(listener, app, serve_options, shutdown_signal())
            .await
            .context("serving HTTP")?;
        let _ = stop_webhooks.send(true);
        let _ = dispatcher.await;
        node.shutdown_async().await;
        tracing::info!("stopped");
        Ok(())
    })
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ATOBARAI_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Cmd::Serve {
            store,
            listen,
            clock,
            snapshot_every,
            limits,
            cluster,
        } => serve(store, listen, clock, snapshot_every, limits, cluster),
        Cmd::Merchant {
            command:
                MerchantCmd::Add {
                    name,
                    gift_card_issuer,
                    store,
                },
        } => add_key(&store, &name, None, gift_card_issuer),
        Cmd::Tick { until, store } => tick(&store, &until),
        Cmd::Operator {
            command: OperatorCmd::Add { name, role, store },
        } => {
            let role = match role {
                RoleArg::Admin => Role::Admin,
                RoleArg::Analyst => Role::Analyst,
                RoleArg::Payments => Role::Payments,
            };
            add_key(&store, &name, Some(role), false)
        }
        Cmd::Identity { command } => identity_cli::run(command, |config| {
            Ok(load_config(config)?.identity.key_secret)
        }),
        Cmd::Simulate(args) => atobarai_sim::cli::run_cli(*args),
        Cmd::Rules { command } => rules_cli::run(command),
        Cmd::Backtest(args) => backtest_cli::run(*args),
        Cmd::Model { command } => model_cli::run(command),
        Cmd::Verify(args) => journal_tools::verify(&args),
        Cmd::Export(args) => settlement_cli::run(*args),
        Cmd::Import(args) => journal_tools::import(&args),
        Cmd::Keys { command } => keys_cli::run(command),
        Cmd::Documents { command } => documents_cli::run(command),
    }
}
