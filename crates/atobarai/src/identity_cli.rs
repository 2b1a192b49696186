//! `atobarai identity normalize`: what the normalizers make of a value, and
//! the keyed hashes the server would store for it. Pure: opens no store.

use anyhow::Result;
use atobarai_identity::{KeyName, Kind, LinkKind, Normalized, key_hash, normalize};
use clap::{Subcommand, ValueEnum};
use serde::Serialize;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum IdentityCmd {
    /// Print the canonical form, match keys and flags of VALUE, and the
    /// keyed hashes (with `identity.key_secret` from --config or
    /// ATOBARAI__IDENTITY__KEY_SECRET) as the identity view shows them.
    Normalize {
        #[arg(long, value_enum)]
        kind: KindArg,
        value: String,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Configuration file (for the identity secret only).
        #[arg(long, env = "ATOBARAI_CONFIG")]
        config: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum KindArg {
    Address,
    Name,
    Phone,
    Email,
    Device,
    Ip,
}

impl KindArg {
    fn kind(self) -> Kind {
        match self {
            KindArg::Address => Kind::Address,
            KindArg::Name => Kind::Name,
            KindArg::Phone => Kind::Phone,
            KindArg::Email => Kind::Email,
            KindArg::Device => Kind::Device,
            KindArg::Ip => Kind::Ip,
        }
    }
}

/// The graph link a key is hashed under by the server, if it hashes it.
fn hashed_as(name: KeyName) -> Option<LinkKind> {
    match name {
        KeyName::AddressUnit => Some(LinkKind::AddressUnit),
        KeyName::Phone => Some(LinkKind::Phone),
        KeyName::Email => Some(LinkKind::Email),
        KeyName::Device => Some(LinkKind::Device),
        KeyName::Name | KeyName::NameKana => Some(LinkKind::Name),
        KeyName::Ip24 | KeyName::Ip64 => Some(LinkKind::Ip),
        KeyName::AddressBuilding | KeyName::AddressBlock | KeyName::Ip32 => None,
    }
}

#[derive(Serialize)]
struct Hashed {
    key: KeyName,
    link: &'static str,
    hash: String,
}

#[derive(Serialize)]
struct Report<'a> {
    #[serde(flatten)]
    normalized: &'a Normalized,
    hashes: Vec<Hashed>,
}

pub fn run(
    cmd: IdentityCmd,
    secret: impl FnOnce(Option<&PathBuf>) -> Result<String>,
) -> Result<()> {
    match cmd {
        IdentityCmd::Normalize {
            kind,
            value,
            json,
            config,
        } => {
            let n = normalize(kind.kind(), &value);
            let secret = secret(config.as_ref())?;
            let hashes: Vec<Hashed> = n
                .keys
                .iter()
                .filter_map(|k| {
                    let link = hashed_as(k.name)?;
                    Some(Hashed {
                        key: k.name,
                        link: link.as_str(),
                        hash: key_hash(secret.as_bytes(), link, &k.value).to_hex(),
                    })
                })
                .collect();
            if json {
                let report = Report {
                    normalized: &n,
                    hashes,
                };
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{n}");
                for h in &hashes {
                    let name = serde_json::to_value(h.key)?;
                    println!("hash {}: {}", name.as_str().unwrap_or("?"), h.hash);
                }
            }
            if !n.is_valid() {
                // Printed above; the exit status says it too, for scripts.
                std::process::exit(1);
            }
            Ok(())
        }
    }
}
