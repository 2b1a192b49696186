//! `atobarai documents render --month 2026-06 --out DIR`: every monthly
//! statement of a purchase month as a PDF (or HTML) file, for the
//! print-and-mail vendor, with a progress bar and a manifest.
//!
//! The journal is replayed read only (a running server may keep writing
//! it). Documents are rendered on every core; each file is written whole
//! or not at all (`File::create_new`, then one write), and a document that
//! cannot be made (an erased addressee, an address too long for the
//! envelope window, figures that disagree with the statement as issued)
//! is listed with its reason and leaves no file. The command fails when
//! any document failed, after writing the others.

use anyhow::{Context, Result, bail};
use atobarai_core::JstDate;
use atobarai_engine::{Engine, Principal};
use atobarai_server::documents::{DocumentService, build, registered};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// `atobarai documents …`.
#[derive(clap::Subcommand)]
pub(crate) enum DocumentsCmd {
    /// Render every statement of a purchase month.
    Render(RenderArgs),
}

/// The file format to write.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// A4 PDF with the embedded Japanese font.
    Pdf,
    /// The same document as one HTML page.
    Html,
}

/// Arguments of `atobarai documents render`.
#[derive(clap::Args)]
pub(crate) struct RenderArgs {
    /// The purchase month, `YYYY-MM` (its statements are issued on the 1st
    /// of the month after).
    #[arg(long)]
    month: String,
    /// The directory to write into (created; existing files are never
    /// overwritten).
    #[arg(long)]
    out: PathBuf,
    /// `pdf` or `html`.
    #[arg(long, value_enum, default_value_t = Format::Pdf)]
    format: Format,
    /// The day the documents show what is owed on (`YYYY-MM-DD`); the
    /// engine's day after the replay by default.
    #[arg(long)]
    as_of: Option<String>,
    /// Directory of the embedded store whose journal is replayed.
    #[arg(long, default_value = "./atobarai-data", env = "ATOBARAI_DATA_DIR")]
    data_dir: PathBuf,
    /// Configuration file the server runs with (TOML), if any.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The keyring sealed personal data opens with (default: the
    /// configured one, else `keyring` in the data directory).
    #[arg(long)]
    keyring: Option<PathBuf>,
}

pub(crate) fn run(cmd: DocumentsCmd) -> Result<()> {
    match cmd {
        DocumentsCmd::Render(args) => render(&args),
    }
}

fn render(args: &RenderArgs) -> Result<()> {
    let month = crate::settlement_cli::parse_month(&args.month)?;
    let config = super::load_config(args.config.as_ref())?;
    if let Err(problems) = config.validate() {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        bail!("the configuration has problems:\n  {}", list.join("\n  "));
    }
    let privacy = open_privacy(args, &config)?;
    let service = DocumentService::new(config.documents.clone());
    let mut engine = Engine::new(atobarai_server::node::history_config(config));
    crate::replay::replay(&args.data_dir, &mut engine, |_, _| {
        crate::replay::Step::Apply
    })?;
    let as_of = match &args.as_of {
        Some(d) => {
            JstDate::parse(d).map_err(|e| anyhow::anyhow!("--as-of must be YYYY-MM-DD: {e}"))?
        }
        None => engine.now().jst_date(),
    };
    let numbers = engine
        .statements_of_month(Principal::System, month)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // The engine stays on this thread; the facts of each statement are
    // gathered first (cheap), then rendered on every core.
    let sources: Vec<(String, Result<atobarai_engine::DocumentSource, String>)> = numbers
        .into_iter()
        .map(|n| {
            let s = engine
                .document_source(Principal::System, &n)
                .map_err(|e| e.to_string());
            (n, s)
        })
        .collect();
    drop(engine);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let pdf = match args.format {
        Format::Pdf => Some(
            service
                .pdf()
                .map_err(|e| anyhow::anyhow!("the PDF renderer: {e}"))?,
        ),
        Format::Html => None,
    };
    let bar = ProgressBar::new(sources.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} rendering [{bar:40}] {pos}/{len} statements ({per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let started = std::time::Instant::now();
    let next = AtomicUsize::new(0);
    let written = Mutex::new(Vec::<(String, String, i64, u64)>::new());
    let failed = Mutex::new(Vec::<(String, String)>::new());
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let ext = match args.format {
        Format::Pdf => "pdf",
        Format::Html => "html",
    };
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((number, source)) = sources.get(i) else {
                        break;
                    };
                    let result = one(
                        source,
                        &service,
                        privacy.as_deref(),
                        pdf.as_deref(),
                        number,
                        as_of,
                        &args.out.join(format!("{number}.{ext}")),
                    );
                    match result {
                        Ok((customer, to_pay, bytes)) => written
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push((number.clone(), customer, to_pay, bytes)),
                        Err(e) => failed
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push((number.clone(), format!("{e:#}"))),
                    }
                    bar.inc(1);
                }
            });
        }
    });
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    let mut written = written.into_inner().unwrap_or_else(|p| p.into_inner());
    written.sort();
    let failed = failed.into_inner().unwrap_or_else(|p| p.into_inner());
    write_manifest(&args.out, &written, ext)?;
    let bytes: u64 = written.iter().map(|w| w.3).sum();
    eprintln!(
        "{} statements of {} rendered to {} in {:.2} s ({:.0} documents/s, {} bytes, as of {as_of}); manifest.csv lists them",
        written.len(),
        args.month,
        args.out.display(),
        elapsed.as_secs_f64(),
        written.len() as f64 / elapsed.as_secs_f64().max(1e-9),
        bytes
    );
    if !failed.is_empty() {
        for (number, why) in &failed {
            eprintln!("  {number}: {why}");
        }
        bail!(
            "{} statements could not be rendered (listed above)",
            failed.len()
        );
    }
    Ok(())
}

/// One document: built, rendered, written whole. Returns the customer,
/// the amount to pay and the file's size.
fn one(
    source: &Result<atobarai_engine::DocumentSource, String>,
    service: &DocumentService,
    privacy: Option<&atobarai_server::privacy::Privacy>,
    pdf: Option<&atobarai_documents::pdf::PdfRenderer>,
    number: &str,
    as_of: JstDate,
    path: &Path,
) -> Result<(String, i64, u64)> {
    let source = source
        .as_ref()
        .map_err(|e| anyhow::anyhow!("{number}: {e}"))?;
    let who = registered(&source.personal, privacy)?;
    let doc = build(&service.config, source, who.as_ref(), as_of)?;
    let bytes = match pdf {
        Some(r) => r.render(&doc)?,
        None => atobarai_documents::html::render(&doc).into_bytes(),
    };
    let mut f = std::fs::File::create_new(path)
        .with_context(|| format!("creating {} (it must not exist)", path.display()))?;
    f.write_all(&bytes)?;
    Ok((doc.customer, doc.to_pay.get(), bytes.len() as u64))
}

/// `manifest.csv`: one line per file written, for the vendor's run.
fn write_manifest(out: &Path, written: &[(String, String, i64, u64)], ext: &str) -> Result<()> {
    let path = out.join("manifest.csv");
    let f = std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(f);
    w.write_record(["number", "customer", "to_pay_yen", "file", "bytes"])?;
    for (number, customer, to_pay, bytes) in written {
        w.write_record([
            number.as_str(),
            customer.as_str(),
            &to_pay.to_string(),
            &format!("{number}.{ext}"),
            &bytes.to_string(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// The keyring and vault, when the data directory (or the configuration)
/// has a keyring; never creates one.
fn open_privacy(
    args: &RenderArgs,
    config: &atobarai_core::Config,
) -> Result<Option<std::sync::Arc<atobarai_server::privacy::Privacy>>> {
    let path = args
        .keyring
        .clone()
        .or_else(|| config.encryption.keyring.clone())
        .unwrap_or_else(|| args.data_dir.join("keyring"));
    if !path.exists() {
        return Ok(None);
    }
    let store = super::StoreArgs {
        data_dir: args.data_dir.clone(),
        database: None,
        schema: "atobarai".into(),
        config: args.config.clone(),
    };
    let vault = crate::keys_cli::open_vault(&store)?;
    Ok(Some(std::sync::Arc::new(
        atobarai_server::privacy::Privacy::from_file(&path, vault)?,
    )))
}
