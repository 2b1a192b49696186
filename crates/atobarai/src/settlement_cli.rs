//! `atobarai export settlement --partner carrier --month 2026-03`: a
//! partner's monthly settlement file (CSV, RFC 4180, UTF-8): one line per
//! charge or refund of the partner's products the ledger posted in that JST
//! month, then the totals (charges, refunds, net, the partner's fee and
//! what it pays the provider). The journal is replayed read only (a running
//! server may keep writing it); the totals come from the ledger and are
//! checked against the order book before anything is written.
//!
//! `atobarai export --out FILE` (no subcommand) still writes the portable
//! journal file (`journal_tools`).

use anyhow::{Context, Result, bail};
use atobarai_billing::schedule::YearMonth;
use atobarai_engine::{Engine, PartnerSettlement};
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `atobarai export`: a journal file, or a subcommand.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct ExportCmd {
    #[command(subcommand)]
    pub(crate) what: Option<ExportWhat>,
    /// The journal to export (without a subcommand).
    #[command(flatten)]
    pub(crate) source: crate::journal_tools::JournalArgs,
    /// The file to write (refused if it exists).
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
}

/// What `atobarai export` writes besides the journal file.
#[derive(clap::Subcommand)]
pub(crate) enum ExportWhat {
    /// A partner's monthly settlement file (CSV) from the journal.
    Settlement(Box<SettlementArgs>),
}

/// Arguments of `atobarai export settlement`.
#[derive(clap::Args)]
pub(crate) struct SettlementArgs {
    /// The partner, as the product catalog names it (`partner = "…"`).
    #[arg(long)]
    partner: String,
    /// The JST month, `YYYY-MM`.
    #[arg(long)]
    month: String,
    /// Directory of the embedded store whose journal is replayed.
    #[arg(long, default_value = "./atobarai-data", env = "ATOBARAI_DATA_DIR")]
    data_dir: PathBuf,
    /// The CSV file to write (refused if it exists); standard output when
    /// not given.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Configuration file the server runs with (TOML), if any.
    #[arg(long)]
    config: Option<PathBuf>,
}

pub(crate) fn run(cmd: ExportCmd) -> Result<()> {
    match (cmd.what, cmd.out) {
        (Some(ExportWhat::Settlement(args)), _) => settlement(&args),
        (None, Some(out)) => crate::journal_tools::export(&crate::journal_tools::ExportArgs {
            source: cmd.source,
            out,
        }),
        (None, None) => bail!("export needs --out FILE, or a subcommand (settlement)"),
    }
}

/// `YYYY-MM` as a month.
pub(crate) fn parse_month(s: &str) -> Result<YearMonth> {
    let bad = || anyhow::anyhow!("--month must be YYYY-MM (e.g. 2026-03), not {s:?}");
    let (y, m) = s.split_once('-').ok_or_else(bad)?;
    if y.len() != 4 || m.len() != 2 {
        return Err(bad());
    }
    let year: i16 = y.parse().map_err(|_| bad())?;
    let month: i8 = m.parse().map_err(|_| bad())?;
    YearMonth::new(year, month).map_err(|_| bad())
}

fn settlement(args: &SettlementArgs) -> Result<()> {
    let month = parse_month(&args.month)?;
    if let Some(out) = &args.out
        && out.exists()
    {
        bail!("{} exists; refusing to overwrite it", out.display());
    }
    let config = super::load_config(args.config.as_ref())?;
    let mut engine = Engine::new(atobarai_server::node::history_config(config));
    crate::replay::replay(&args.data_dir, &mut engine, |_, _| {
        crate::replay::Step::Apply
    })?;
    let Some(s) = engine.partner_settlement(&args.partner, month) else {
        bail!(
            "no product of the catalog in force is billed with partner {:?}",
            args.partner
        );
    };
    if !s.reconciles() {
        bail!(
            "the ledger's charges ({}) and the orders captured ({}) disagree for {} {}: \
             nothing written",
            s.charges,
            s.orders_captured,
            args.partner,
            args.month
        );
    }
    let mut buf = Vec::new();
    write_csv(&s, &mut buf)?;
    match &args.out {
        Some(out) => {
            let mut f = std::fs::File::create_new(out)
                .with_context(|| format!("creating {}", out.display()))?;
            f.write_all(&buf)?;
            f.sync_all()?;
            eprintln!(
                "{} lines for {} {} written to {} (net {}, payable {})",
                s.lines.len(),
                args.partner,
                args.month,
                out.display(),
                s.net,
                s.payable
            );
        }
        None => std::io::stdout().write_all(&buf)?,
    }
    Ok(())
}

/// The settlement as CSV: a header, the lines, then `total_*` rows whose
/// `amount` is the figure named in `kind`.
pub(crate) fn write_csv(s: &PartnerSettlement, out: impl Write) -> Result<()> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record([
        "partner",
        "month",
        "date",
        "kind",
        "order",
        "merchant_order_id",
        "customer",
        "merchant",
        "product",
        "amount_yen",
    ])?;
    let month = format!("{:04}-{:02}", s.month.year(), s.month.month());
    for l in &s.lines {
        w.write_record([
            s.partner.as_str(),
            &month,
            &l.date.to_string(),
            l.kind,
            &l.order,
            &l.merchant_order_id,
            &l.customer,
            &l.merchant,
            &l.product,
            &l.amount.get().to_string(),
        ])?;
    }
    for (kind, amount) in [
        ("total_charges", s.charges),
        ("total_refunds", s.refunds),
        ("total_net", s.net),
        ("total_partner_fee", s.partner_fee),
        ("total_payable", s.payable),
    ] {
        w.write_record([
            s.partner.as_str(),
            &month,
            "",
            kind,
            "",
            "",
            "",
            "",
            "",
            &amount.get().to_string(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_strictly() {
        let m = parse_month("2026-03").unwrap();
        assert_eq!((m.year(), m.month()), (2026, 3));
        for bad in ["2026-3", "2026-13", "202603", "x-03", "2026-00", ""] {
            assert!(parse_month(bad).is_err(), "{bad}");
        }
    }
}
