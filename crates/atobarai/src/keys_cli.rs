//! `atobarai keys`: the keyring of key-encryption keys that wrap each
//! customer's data key (see `atobarai_server::privacy`), and the opening of
//! the keyring and key vault for `serve`.

use anyhow::{Context, Result, bail};
use atobarai_core::Config;
use atobarai_server::privacy::{Keyring, Privacy, rewrap_all};
use atobarai_store::{NatsVault, PgVault, SqliteVault, Vault};
use clap::Subcommand;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Subcommand)]
pub(crate) enum KeysCmd {
    /// Add a new key and make it active: data keys of new registrations are
    /// wrapped with it; older ones stay readable with their key until it is
    /// retired. Nothing in the journal is rewritten. Creates the keyring if
    /// there is none. A running server picks the change up by itself.
    Rotate {
        #[command(flatten)]
        store: super::StoreArgs,
        /// The keyring file (default: `[encryption] keyring`, else DATA_DIR/keyring).
        #[arg(long)]
        keyring: Option<PathBuf>,
    },
    /// List the keys, the active one, and how many data keys each wraps.
    List {
        #[command(flatten)]
        store: super::StoreArgs,
        /// The keyring file.
        #[arg(long)]
        keyring: Option<PathBuf>,
    },
    /// Retire a key: re-wrap every data key it wraps with the active key
    /// (the vault only; the journal is not touched), then remove it from
    /// the keyring. The active key cannot be retired: rotate first.
    Retire {
        /// The key id.
        id: String,
        #[command(flatten)]
        store: super::StoreArgs,
        /// The keyring file.
        #[arg(long)]
        keyring: Option<PathBuf>,
    },
    /// Write every wrapped data key of the vault to a file (for moving a
    /// journal to another backend with `export`/`import`: the sealed
    /// records need their keys in the new place). The keys stay wrapped:
    /// the file is useless without the keyring, and holds no personal data.
    ExportVault {
        #[command(flatten)]
        store: super::StoreArgs,
        /// The file to write (refused if it exists).
        #[arg(long)]
        out: PathBuf,
    },
    /// Put the keys of a file written by `keys export-vault` into this
    /// store's vault (a key already there must be the same).
    ImportVault {
        #[command(flatten)]
        store: super::StoreArgs,
        /// The file to read.
        #[arg(long = "in")]
        input: PathBuf,
    },
}

const VAULT_FILE_HEADER: &str = "ATBVAULT1";

/// Every (subject, key) of `vault`, KEK by KEK.
fn all_keys(vault: &dyn Vault) -> Result<Vec<([u8; 16], atobarai_store::WrappedKey)>> {
    let mut out = Vec::new();
    for (kek, _) in vault.count_by_kek()? {
        out.extend(vault.wrapped_with(&kek, usize::MAX)?);
    }
    Ok(out)
}

fn export_vault(store: &super::StoreArgs, out: &std::path::Path) -> Result<()> {
    use std::io::Write;
    if out.exists() {
        bail!(
            "{} exists: remove it or choose another --out",
            out.display()
        );
    }
    let keys = all_keys(open_vault(store)?.as_ref())?;
    let mut text = format!("{VAULT_FILE_HEADER}\n");
    for (subject, key) in &keys {
        text.push_str(&format!(
            "{} {} {}\n",
            hex(subject),
            key.kek_id,
            hex(&key.wrapped)
        ));
    }
    text.push_str(&format!("end {}\n", keys.len()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .with_context(|| format!("creating {}", out.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    println!("{} data keys written to {}", keys.len(), out.display());
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

/// The keys of a vault file, checked whole before anything is written.
fn parse_vault_file(text: &str) -> Result<Vec<([u8; 16], atobarai_store::WrappedKey)>> {
    let mut lines = text.lines().enumerate();
    if lines.next().map(|(_, l)| l) != Some(VAULT_FILE_HEADER) {
        bail!("not a vault file (no {VAULT_FILE_HEADER} header)");
    }
    let mut keys = Vec::new();
    for (i, line) in lines {
        let n = i + 1;
        match line.split(' ').collect::<Vec<_>>().as_slice() {
            ["end", count] => {
                if count.parse::<usize>().ok() != Some(keys.len()) {
                    bail!(
                        "line {n}: the file is incomplete (count {count}, {} keys)",
                        keys.len()
                    );
                }
                return Ok(keys);
            }
            [subject, kek, wrapped] => {
                let subject: [u8; 16] = unhex(subject)
                    .and_then(|b| b.try_into().ok())
                    .with_context(|| format!("line {n}: a subject is 32 hex digits"))?;
                let wrapped =
                    unhex(wrapped).with_context(|| format!("line {n}: the key is not hex"))?;
                keys.push((
                    subject,
                    atobarai_store::WrappedKey {
                        kek_id: (*kek).to_string(),
                        wrapped,
                    },
                ));
            }
            _ => bail!("line {n}: expected `SUBJECT KEK WRAPPED` or `end COUNT`"),
        }
    }
    bail!("the file is truncated (no `end` line)")
}

fn import_vault(store: &super::StoreArgs, input: &std::path::Path) -> Result<()> {
    let text =
        std::fs::read_to_string(input).with_context(|| format!("reading {}", input.display()))?;
    let keys = parse_vault_file(&text)?;
    let vault = open_vault(store)?;
    let (mut added, mut present) = (0u64, 0u64);
    for (subject, key) in &keys {
        match vault.get(subject)? {
            Some(existing) if existing == *key => present += 1,
            Some(_) => bail!(
                "subject {} already has another key in this vault; nothing more imported",
                hex(subject)
            ),
            None => {
                vault.put(subject, key)?;
                added += 1;
            }
        }
    }
    println!("{added} data keys imported, {present} already there");
    Ok(())
}

/// The keyring file in use: `--keyring`, else the configuration's, else
/// `keyring` in the data directory.
fn keyring_path(store: &super::StoreArgs, config: &Config, given: Option<PathBuf>) -> PathBuf {
    given
        .or_else(|| config.encryption.keyring.clone())
        .unwrap_or_else(|| store.data_dir.join("keyring"))
}

/// The vault beside the journal: a table in the PostgreSQL schema, a
/// key-value bucket beside a NATS journal's stream, else `vault.sqlite` in
/// the data directory.
pub(crate) fn open_vault(store: &super::StoreArgs) -> Result<Arc<dyn Vault>> {
    Ok(match &store.database {
        Some(url) if url.starts_with("nats://") => {
            let (url, stream) = match super::nats_spec(url) {
                super::StoreSpec::Nats { url, stream } => (url, stream),
                _ => unreachable!("nats_spec makes a NATS spec"),
            };
            Arc::new(NatsVault::open(&url, &stream).context("opening the key vault in NATS")?)
        }
        Some(url) => Arc::new(
            PgVault::open(url, &store.schema).context("opening the key vault in PostgreSQL")?,
        ),
        None => Arc::new(SqliteVault::open_dir(&store.data_dir).context("opening the key vault")?),
    })
}

/// The keyring and vault `serve` seals personal data with.
///
/// Without `[encryption] keyring`: on the embedded store, `keyring` in the
/// data directory (created with one random key and a loud warning at the
/// first start); on a shared journal (PostgreSQL, NATS) nothing is sealed
/// and a warning says so, because a keyring made up by each node would
/// differ between the nodes of one journal, leaving each unable to read
/// what the others sealed.
pub(crate) fn open_privacy(
    store: &super::StoreArgs,
    config: &Config,
) -> Result<Option<Arc<Privacy>>> {
    if config.encryption.keyring.is_none() && store.database.is_some() {
        tracing::warn!(
            "no [encryption] keyring configured for a shared journal: registrations are journaled \
             with their personal data in clear. Create one with `atobarai keys rotate --keyring PATH`, \
             give every node the same file and set [encryption] keyring"
        );
        return Ok(None);
    }
    let path = keyring_path(store, config, None);
    if !path.exists() {
        if config.encryption.keyring.is_some() {
            bail!(
                "the configured keyring {} does not exist; create it with `atobarai keys rotate --keyring {}`",
                path.display(),
                path.display()
            );
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        Keyring::generate("k1").save(&path)?;
        tracing::warn!(
            keyring = %path.display(),
            "no [encryption] keyring configured: created one with a random key in the data directory. \
             Keep a copy apart from the data (losing it loses every customer's personal data; \
             a backup holding both protects nothing) and set [encryption] keyring in production"
        );
    }
    let vault = open_vault(store)?;
    Ok(Some(Arc::new(Privacy::from_file(&path, vault)?)))
}

pub(crate) fn run(command: KeysCmd) -> Result<()> {
    match command {
        KeysCmd::Rotate { store, keyring } => {
            let config = super::load_config(store.config.as_ref())?;
            let path = keyring_path(&store, &config, keyring);
            let mut ring = if path.exists() {
                Keyring::load(&path)?
            } else {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                Keyring::generate("k0")
            };
            let fresh = !path.exists();
            let id = ring.rotate();
            if fresh {
                ring.remove("k0").ok();
            }
            ring.save(&path)?;
            println!("{id}");
            eprintln!(
                "key {id} is active in {}; keys kept: {}",
                path.display(),
                ring.ids().join(", ")
            );
            Ok(())
        }
        KeysCmd::List { store, keyring } => {
            let config = super::load_config(store.config.as_ref())?;
            let path = keyring_path(&store, &config, keyring);
            let ring = Keyring::load(&path)?;
            let counts = open_vault(&store)?.count_by_kek()?;
            for id in ring.ids() {
                let n = counts.iter().find(|(k, _)| *k == id).map_or(0, |(_, n)| *n);
                let active = if id == ring.active_id() {
                    " (active)"
                } else {
                    ""
                };
                println!("{id}{active}\t{n} data keys");
            }
            for (id, n) in counts.iter().filter(|(k, _)| !ring.ids().contains(k)) {
                println!("{id} (MISSING from the keyring)\t{n} data keys");
            }
            Ok(())
        }
        KeysCmd::ExportVault { store, out } => export_vault(&store, &out),
        KeysCmd::ImportVault { store, input } => import_vault(&store, &input),
        KeysCmd::Retire { id, store, keyring } => {
            let config = super::load_config(store.config.as_ref())?;
            let path = keyring_path(&store, &config, keyring);
            let mut ring = Keyring::load(&path)?;
            if id == ring.active_id() {
                bail!("{id} is the active key: `atobarai keys rotate` first");
            }
            if !ring.ids().contains(&id) {
                bail!("{id} is not in {}", path.display());
            }
            let vault = open_vault(&store)?;
            let moved = rewrap_all(&ring, vault.as_ref(), &id)?;
            let left = vault
                .count_by_kek()?
                .into_iter()
                .find(|(k, _)| *k == id)
                .map_or(0, |(_, n)| n);
            if left > 0 {
                bail!("{left} data keys are still wrapped with {id}; run retire again");
            }
            ring.remove(&id).map_err(anyhow::Error::msg)?;
            ring.save(&path)?;
            println!(
                "{id} retired; {moved} data keys re-wrapped with {}",
                ring.active_id()
            );
            Ok(())
        }
    }
}
