//! `atobarai rules check FILE` and `atobarai rules test FILE CASES`: a
//! rules file checked against the engine's features exactly as the server
//! checks it before putting it in force (no store needed).

use anyhow::{Context, Result, bail};
use atobarai_rules::{Action, Mode, RuleError, RuleSet};
use clap::Subcommand;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What `atobarai rules` can do.
#[derive(Subcommand)]
pub(crate) enum RulesCmd {
    /// Check a rules file against the engine's features: every error with
    /// its line and column; exit status 1 when there is one.
    Check {
        /// The rules file (TOML).
        file: PathBuf,
    },
    /// Run a cases file against a rules file: each case's expected outcome
    /// and reasons; exit status 1 when a case fails.
    Test {
        /// The rules file (TOML).
        file: PathBuf,
        /// The cases file (TOML).
        cases: PathBuf,
    },
    /// Put a rules file in force on a running server (hot reload: checked
    /// here first, then `PUT /v1/admin/rules` with an admin key; decisions
    /// are not paused). Prints the new rule-set version.
    Apply {
        /// The rules file (TOML).
        file: PathBuf,
        /// The server's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080", env = "ATOBARAI_SERVER")]
        server: String,
        /// An admin operator key.
        #[arg(long, env = "ATOBARAI_ADMIN_KEY", hide_env_values = true)]
        key: String,
    },
}

pub(crate) fn run(command: RulesCmd) -> Result<()> {
    match command {
        RulesCmd::Apply { file, server, key } => {
            load(&file)?;
            let text = read(&file)?;
            apply(&file, &server, &key, text)
        }
        RulesCmd::Check { file } => {
            let set = load(&file)?;
            print!("{}", rules_table(&set));
            Ok(())
        }
        RulesCmd::Test { file, cases } => {
            let set = load(&file)?;
            let text = read(&cases)?;
            let report = atobarai_rules::run_cases(&set, &text).map_err(|errors| {
                print_errors(&cases, &errors);
                anyhow::anyhow!(
                    "{} does not check: {} error{}",
                    cases.display(),
                    errors.len(),
                    plural(errors.len())
                )
            })?;
            let expected = expectations(&text);
            print!("{}", cases_table(&report, &expected));
            if !report.all_passed() {
                bail!(
                    "{} of {} case{} failed",
                    report.failed(),
                    report.cases.len(),
                    plural(report.cases.len())
                );
            }
            Ok(())
        }
    }
}

/// `PUT /v1/admin/rules` and what came back.
fn apply(file: &Path, server: &str, key: &str, text: String) -> Result<()> {
    let (status, body) = crate::admin_http::put_json(
        server,
        "/v1/admin/rules",
        key,
        &serde_json::json!({ "rules": text }),
    )?;
    if status.is_success() {
        println!(
            "rule set {} v{} in force as version {} (by {})",
            body["name"].as_str().unwrap_or("?"),
            body["file_version"],
            body["version"],
            body["author"].as_str().unwrap_or("?")
        );
        return Ok(());
    }
    if let Some(details) = body["error"]["details"].as_array() {
        for d in details {
            eprintln!(
                "{}:{}:{}: {}",
                file.display(),
                d["line"],
                d["column"],
                d["message"].as_str().unwrap_or("")
            );
        }
    }
    bail!(
        "the server refused the rules ({status}): {}",
        body["error"]["message"].as_str().unwrap_or("no message")
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Every error as `file:line:col: message`, on stderr.
fn print_errors(path: &Path, errors: &[RuleError]) {
    for e in errors {
        eprintln!("{}:{}:{}: {}", path.display(), e.line, e.column, e.message);
    }
}

/// The rules file compiled against the engine's features, or every error.
fn load(path: &Path) -> Result<RuleSet> {
    let text = read(path)?;
    atobarai_engine::risk::rules::compile(&text).map_err(|errors| {
        print_errors(path, &errors);
        anyhow::anyhow!(
            "{} does not check: {} error{}",
            path.display(),
            errors.len(),
            plural(errors.len())
        )
    })
}

fn action(a: &Action) -> String {
    match a {
        Action::Decline => "decline".into(),
        Action::Review => "review".into(),
        Action::Cap { cap_yen } => format!("cap ¥{cap_yen}"),
        Action::Flag => "flag".into(),
        Action::Approve => "approve".into(),
    }
}

/// Pads `s` to `width` characters (ids and codes are ASCII; texts are not
/// in the tables).
fn pad(s: &str, width: usize) -> String {
    let n = s.chars().count();
    let mut out = s.to_owned();
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(n)));
    out
}

/// The set's name, version and digest, then one line per rule: id,
/// action, mode, reason.
fn rules_table(set: &RuleSet) -> String {
    let rows: Vec<[String; 4]> = set
        .rules()
        .iter()
        .map(|r| {
            [
                r.id.clone(),
                action(&r.action),
                match r.mode {
                    Mode::Live => "live".into(),
                    Mode::Shadow => "shadow".into(),
                },
                r.reason.clone(),
            ]
        })
        .collect();
    let mut out = format!(
        "{} version {}: {} rule{}, sha256 {}\n",
        set.name,
        set.version,
        set.rules().len(),
        plural(set.rules().len()),
        set.digest_hex()
    );
    out.push_str(&table(["id", "action", "mode", "reason"], &rows));
    out
}

/// Rows under a header, columns as wide as their widest cell.
fn table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == N {
                l.push_str(cell);
            } else {
                l.push_str(&pad(cell, w));
                l.push_str("  ");
            }
        }
        l.trim_end().to_owned() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// What each case of a (checked) cases file expects, in file order:
/// the outcome, with the reasons and cap when the case names them.
fn expectations(cases_text: &str) -> Vec<String> {
    let Ok(doc) = cases_text.parse::<toml::Table>() else {
        return Vec::new();
    };
    let Some(cases) = doc.get("case").and_then(toml::Value::as_array) else {
        return Vec::new();
    };
    cases
        .iter()
        .map(|c| {
            let mut e = c
                .get("expect")
                .and_then(toml::Value::as_str)
                .unwrap_or("?")
                .to_owned();
            if let Some(cap) = c.get("cap_yen").and_then(toml::Value::as_integer) {
                let _ = write!(e, " ¥{cap}");
            }
            if let Some(reasons) = c.get("reasons").and_then(toml::Value::as_array) {
                let list: Vec<&str> = reasons.iter().filter_map(toml::Value::as_str).collect();
                let _ = write!(e, " [{}]", list.join(", "));
            }
            e
        })
        .collect()
}

/// One line per case (result, line, name, expected, actual), each failed
/// expectation under its case, then the totals.
fn cases_table(report: &atobarai_rules::CasesReport, expected: &[String]) -> String {
    let rows: Vec<[String; 5]> = report
        .cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut actual = c.outcome.as_str().to_owned();
            if let Some(cap) = c.cap_yen {
                let _ = write!(actual, " ¥{cap}");
            }
            if !c.reasons.is_empty() {
                let _ = write!(actual, " [{}]", c.reasons.join(", "));
            }
            [
                if c.passed { "ok" } else { "FAILED" }.to_owned(),
                c.line.to_string(),
                c.name.clone(),
                expected.get(i).cloned().unwrap_or_default(),
                actual,
            ]
        })
        .collect();
    let widths_table = table(["result", "line", "case", "expected", "actual"], &rows);
    let mut out = String::new();
    // The table's lines, each failed case followed by what did not match.
    let mut lines = widths_table.lines();
    if let Some(header) = lines.next() {
        out.push_str(header);
        out.push('\n');
    }
    for (line, c) in lines.zip(&report.cases) {
        out.push_str(line);
        out.push('\n');
        for f in &c.failures {
            let _ = writeln!(out, "    - {f}");
        }
    }
    let _ = writeln!(
        out,
        "{} passed, {} failed",
        report.passed(),
        report.failed()
    );
    out
}
