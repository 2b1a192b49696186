//! `atobarai model train|report`: weight-of-evidence scorecards.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use atobarai_model::{Model, Table, TrainConfig, TrainSpec};
use clap::Subcommand;

/// What `atobarai model` can do.
#[derive(Subcommand)]
pub(crate) enum ModelCmd {
    /// Fit a weight-of-evidence scorecard from a tab-separated file and write
    /// the model file (JSON, versioned, SHA-256 checked on load).
    Train(Box<TrainArgs>),
    /// Write a self-contained HTML page of a model: ROC curves, the score
    /// distribution by class, each attribute's bins.
    Report {
        /// The model file.
        model: PathBuf,
        /// The page to write (default: the model's path with `.html`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write a training file from a store's journal: one row per
    /// authorization, the risk features at decision time and the outcome
    /// observed since (`paid_on_time`, `paid_late`, `overdue`, `defaulted`,
    /// `operator_declined`, …).
    Dataset(Box<crate::dataset_cli::DatasetArgs>),
    /// Load a model file on a running server (`PUT /v1/admin/models`, admin
    /// key): `live`, its score is `model.score` for the rules; `shadow`,
    /// scored and recorded only. Checked here first.
    Load {
        /// The model file.
        model: PathBuf,
        /// `live` or `shadow`.
        #[arg(long, value_parser = ["live", "shadow"], default_value = "shadow")]
        mode: String,
        /// The server's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080", env = "ATOBARAI_SERVER")]
        server: String,
        /// An admin operator key.
        #[arg(long, env = "ATOBARAI_ADMIN_KEY", hide_env_values = true)]
        key: String,
    },
}

/// `atobarai model train`.
#[derive(clap::Args)]
pub(crate) struct TrainArgs {
    /// Training data: UTF-8, tab-separated, a header line.
    #[arg(long)]
    data: PathBuf,
    /// The label column.
    #[arg(long)]
    label: String,
    /// The label value of the positive ("bad") class.
    #[arg(long)]
    positive: String,
    /// A column of `train` / `test`: train on `train`, measure on `test`.
    #[arg(long)]
    split: Option<String>,
    /// Where to write the model file.
    #[arg(long)]
    out: PathBuf,
    /// A column that is not an attribute (an id, a date); repeatable.
    #[arg(long)]
    ignore: Vec<String>,
    /// Drop attributes whose information value is below this.
    #[arg(long, default_value_t = TrainConfig::default().min_iv)]
    min_iv: f64,
    /// Most bins per attribute (missing and unseen not counted).
    #[arg(long, default_value_t = TrainConfig::default().max_bins)]
    max_bins: usize,
    /// Least share of an attribute's non-missing training rows in a bin.
    #[arg(long, default_value_t = TrainConfig::default().min_bin_share)]
    min_bin_share: f64,
    /// Quantile bins a numeric attribute starts from.
    #[arg(long, default_value_t = TrainConfig::default().fine_bins)]
    fine_bins: usize,
    /// Most distinct values of a categorical attribute (more is an error).
    #[arg(long, default_value_t = TrainConfig::default().max_categories)]
    max_categories: usize,
    /// L2 penalty of the logistic fit.
    #[arg(long, default_value_t = TrainConfig::default().l2)]
    l2: f64,
    /// Score at the base odds.
    #[arg(long, default_value_t = TrainConfig::default().base_score)]
    base_score: f64,
    /// Good:bad odds that score the base score.
    #[arg(long, default_value_t = TrainConfig::default().base_odds)]
    base_odds: f64,
    /// Points to double the odds.
    #[arg(long, default_value_t = TrainConfig::default().pdo)]
    pdo: f64,
    /// Print how long reading, fitting and writing took.
    #[arg(long)]
    timing: bool,
}

pub(crate) fn run(command: ModelCmd) -> Result<()> {
    match command {
        ModelCmd::Train(args) => train(&args),
        ModelCmd::Report { model, out } => report(&model, out),
        ModelCmd::Dataset(args) => crate::dataset_cli::run(&args),
        ModelCmd::Load {
            model,
            mode,
            server,
            key,
        } => load(&model, &mode, &server, &key),
    }
}

fn load(path: &std::path::Path, mode: &str, server: &str, key: &str) -> Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let info = atobarai_engine::load_model(&text)
        .map_err(|e| anyhow::anyhow!("{} does not load: {e}", path.display()))?;
    let (status, body) = crate::admin_http::put_json(
        server,
        "/v1/admin/models",
        key,
        &serde_json::json!({ "model": text, "mode": mode }),
    )?;
    if !status.is_success() {
        anyhow::bail!(
            "the server refused the model ({status}): {}",
            body["error"]["message"].as_str().unwrap_or("no message")
        );
    }
    println!(
        "model version {} loaded {} ({} features: {})",
        body["version"],
        body["mode"].as_str().unwrap_or(mode),
        info.attributes.len(),
        info.attributes.join(", ")
    );
    Ok(())
}

fn train(args: &TrainArgs) -> Result<()> {
    let started = Instant::now();
    let bytes =
        std::fs::read(&args.data).with_context(|| format!("reading {}", args.data.display()))?;
    let table =
        Table::from_tsv(&bytes).with_context(|| format!("reading {}", args.data.display()))?;
    let read = started.elapsed();
    let spec = TrainSpec {
        label: args.label.clone(),
        positive: args.positive.clone(),
        split: args.split.clone(),
        ignore: args.ignore.clone(),
    };
    let config = TrainConfig {
        fine_bins: args.fine_bins,
        max_bins: args.max_bins,
        min_bin_share: args.min_bin_share,
        max_categories: args.max_categories,
        min_iv: args.min_iv,
        l2: args.l2,
        base_score: args.base_score,
        base_odds: args.base_odds,
        pdo: args.pdo,
    };
    let fit_started = Instant::now();
    let model = atobarai_model::train(&table, &spec, &config).context("training the scorecard")?;
    let fit = fit_started.elapsed();
    let write_started = Instant::now();
    model.save(&args.out).context("writing the model")?;
    let write = write_started.elapsed();
    print!("{}", summary(&model));
    println!("model written to {}", args.out.display());
    if args.timing {
        println!(
            "timing: read {:.1} ms, fit {:.1} ms ({} rows × {} columns), write {:.1} ms",
            read.as_secs_f64() * 1e3,
            fit.as_secs_f64() * 1e3,
            table.rows().len(),
            table.columns().len(),
            write.as_secs_f64() * 1e3,
        );
    }
    Ok(())
}

fn summary(model: &Model) -> String {
    use std::fmt::Write as _;
    let card = model.card();
    let mut s = String::new();
    let width = card
        .attributes
        .iter()
        .map(|a| a.name.chars().count())
        .chain(card.dropped.iter().map(|d| d.name.chars().count()))
        .max()
        .unwrap_or(9)
        .max(9);
    let _ = writeln!(
        s,
        "{:<width$}  {:<11}  {:>4}  {:>7}  {:>7}",
        "attribute", "kind", "bins", "IV", "coef"
    );
    for a in &card.attributes {
        let kind = match a.kind {
            atobarai_model::model::AttributeKind::Numeric => "numeric",
            atobarai_model::model::AttributeKind::Categorical => "categorical",
        };
        let _ = writeln!(
            s,
            "{:<width$}  {kind:<11}  {:>4}  {:>7.4}  {:>7.4}",
            a.name,
            a.bins.len() - 2,
            a.iv,
            a.coefficient
        );
    }
    for d in &card.dropped {
        let _ = writeln!(s, "{:<width$}  dropped: {}", d.name, d.reason);
    }
    let t = &card.training;
    let _ = writeln!(
        s,
        "\n{:<6}  {:>6}  {:>6}  {:>7}  {:>7}  {:>7}",
        "rows", "count", "bad", "AUC", "KS", "Gini"
    );
    let mut line = |name: &str, m: &atobarai_model::Metrics| {
        let _ = writeln!(
            s,
            "{name:<6}  {:>6}  {:>6}  {:>7.4}  {:>7.4}  {:>7.4}",
            m.rows, m.positives, m.auc, m.ks, m.gini
        );
    };
    line("train", &t.train);
    match &t.test {
        Some(m) => line("test", m),
        None if t.split.is_some() => {
            let _ = writeln!(s, "test    (no test rows with both classes: not measured)");
        }
        None => {}
    }
    s
}

fn report(path: &std::path::Path, out: Option<PathBuf>) -> Result<()> {
    let model = Model::load(path).with_context(|| format!("loading {}", path.display()))?;
    let out = out.unwrap_or_else(|| path.with_extension("html"));
    anyhow::ensure!(
        out != path,
        "the report would overwrite the model file; pass --out"
    );
    std::fs::write(&out, atobarai_model::report::html(&model))
        .with_context(|| format!("writing {}", out.display()))?;
    println!("report written to {}", out.display());
    Ok(())
}
