//! Personas: who lives in the market, in what shares, and the market-wide
//! settings a personas file may change.
//!
//! A personas file is TOML. Every key is optional; a persona left out keeps
//! its built-in share, and a share of `0` switches the persona off (it then
//! produces no person and no order). Shares are weights: they are divided by
//! their sum, so they need not add up to 1.
//!
//! ```toml
//! [shares]
//! honest = 0.83
//! cashout_evasive = 0.02
//! scam_victim = 0
//!
//! [market]
//! analyst = "decline"       # what the simulated analyst does with held orders
//! takeover_wave_at = 0.6    # when the account-takeover wave hits, as a fraction of the horizon
//! scam_after_days = 30      # a scam victim's history before the call
//! takeover_crew_accounts = 8  # accounts a takeover crew works from one device
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A kind of market participant. The label of every order the simulator
/// sends is its person's persona (kept in the simulator, never sent).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Persona {
    /// An honest shopper: varied baskets, all products and payment methods,
    /// pays early, on time, late or (rarely) never; a present now and then.
    Honest,
    /// A member of a household: several people at one address, each with
    /// their own phone, e-mail and devices, most sharing the home IP.
    Household,
    /// A dormitory resident: many people at one building address, most
    /// sharing the building's network.
    Dormitory,
    /// An honest person with two or three accounts (one per shop) whose
    /// address and name are written differently across accounts and orders.
    VariantSpelling,
    /// Naive cash-out: gift-card-only carts, the same amount on consecutive
    /// days, often a large gift card as the first order.
    CashoutNaive,
    /// Evasive cash-out, the DOMAIN.md playbook: an honest-looking history,
    /// then a small gift card among daily goods every 2–3 weeks, paid early,
    /// brands and amounts varied, slowly growing.
    CashoutEvasive,
    /// Cash-out over several accounts of one person (spelling variants and a
    /// device or phone in common, or only an address and a name).
    CashoutMultiAccount,
    /// Game consoles and smartphones bought on credit to resell.
    Resale,
    /// Prepaid / e-money top-ups bought on credit (layering).
    PrepaidLayering,
    /// An honest account hit in the account-takeover wave: new device and IP,
    /// gift cards up to the limit, never paid. The person's own earlier
    /// orders are honest (not targets).
    AccountTakeover,
    /// An honest shopper who, on a caller's instruction, suddenly buys large
    /// gift cards unlike their history.
    ScamVictim,
}

impl Persona {
    /// Every persona, in report order.
    pub const ALL: &'static [Persona] = &[
        Persona::Honest,
        Persona::Household,
        Persona::Dormitory,
        Persona::VariantSpelling,
        Persona::CashoutNaive,
        Persona::CashoutEvasive,
        Persona::CashoutMultiAccount,
        Persona::Resale,
        Persona::PrepaidLayering,
        Persona::AccountTakeover,
        Persona::ScamVictim,
    ];

    /// The persona's position in [`Persona::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The name used in files and reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            Persona::Honest => "honest",
            Persona::Household => "household",
            Persona::Dormitory => "dormitory",
            Persona::VariantSpelling => "variant_spelling",
            Persona::CashoutNaive => "cashout_naive",
            Persona::CashoutEvasive => "cashout_evasive",
            Persona::CashoutMultiAccount => "cashout_multi_account",
            Persona::Resale => "resale",
            Persona::PrepaidLayering => "prepaid_layering",
            Persona::AccountTakeover => "account_takeover",
            Persona::ScamVictim => "scam_victim",
        }
    }

    /// Whether some of the persona's orders are ones screening should stop
    /// (its *target* orders).
    pub const fn has_targets(self) -> bool {
        !self.is_honest_group()
    }

    /// The honest groups whose declines and reviews are false ones.
    pub const fn is_honest_group(self) -> bool {
        matches!(
            self,
            Persona::Honest | Persona::Household | Persona::Dormitory | Persona::VariantSpelling
        )
    }

    /// The built-in share of persons.
    pub const fn default_share(self) -> f64 {
        match self {
            Persona::Honest => 0.83,
            Persona::Household => 0.06,
            Persona::Dormitory => 0.03,
            Persona::VariantSpelling => 0.02,
            Persona::CashoutNaive => 0.01,
            Persona::CashoutEvasive => 0.01,
            Persona::CashoutMultiAccount => 0.005,
            Persona::Resale => 0.005,
            Persona::PrepaidLayering => 0.005,
            Persona::AccountTakeover => 0.02,
            Persona::ScamVictim => 0.005,
        }
    }
}

impl std::fmt::Display for Persona {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the simulated analyst does with orders held for review, at the end
/// of the day they were held. The analyst never sees labels: one verdict
/// for every held order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnalystVerdict {
    /// Decline every held order (the held amount is released).
    Decline,
    /// Approve every held order (it is then captured and billed).
    Approve,
}

/// Market-wide settings of a personas file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MarketSettings {
    /// The analyst's verdict on held orders.
    pub analyst: AnalystVerdict,
    /// When the account-takeover wave hits, as a fraction of the horizon (0–1).
    pub takeover_wave_at: f64,
    /// Days of ordinary history a scam victim has before the call.
    pub scam_after_days: u32,
    /// Accounts one account-takeover crew works from one device (1: a new
    /// device for every account). Below the device hub threshold (20) the
    /// engine may join a crew's accounts into one identity cluster.
    pub takeover_crew_accounts: u32,
}

impl Default for MarketSettings {
    fn default() -> Self {
        MarketSettings {
            analyst: AnalystVerdict::Decline,
            takeover_wave_at: 0.6,
            scam_after_days: 30,
            takeover_crew_accounts: 8,
        }
    }
}

/// The personas file as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct PersonasFile {
    shares: BTreeMap<String, f64>,
    market: MarketSettings,
}

/// Shares per persona (normalized to sum to 1) and the market settings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Personas {
    /// Share of persons per persona, in [`Persona::ALL`] order; sums to 1.
    pub shares: Vec<(Persona, f64)>,
    /// Market-wide settings.
    pub market: MarketSettings,
}

impl Default for Personas {
    fn default() -> Self {
        let sum: f64 = Persona::ALL.iter().map(|p| p.default_share()).sum();
        Personas {
            shares: Persona::ALL
                .iter()
                .map(|&p| (p, p.default_share() / sum))
                .collect(),
            market: MarketSettings::default(),
        }
    }
}

/// A personas file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PersonasError {
    /// Not valid TOML or not the expected shape.
    #[error("personas file: {0}")]
    Parse(String),
    /// A share names no persona.
    #[error("personas file: unknown persona {0:?} (known: {1})")]
    UnknownPersona(String, String),
    /// A share or setting out of range.
    #[error("personas file: {0}")]
    OutOfRange(String),
}

impl Personas {
    /// Parse a personas file (see the module docs).
    pub fn from_toml(text: &str) -> Result<Personas, PersonasError> {
        let file: PersonasFile =
            toml::from_str(text).map_err(|e| PersonasError::Parse(e.to_string()))?;
        let mut raw: BTreeMap<Persona, f64> = Persona::ALL
            .iter()
            .map(|&p| (p, p.default_share()))
            .collect();
        for (name, share) in &file.shares {
            let persona = Persona::ALL
                .iter()
                .copied()
                .find(|p| p.as_str() == name)
                .ok_or_else(|| {
                    let known: Vec<&str> = Persona::ALL.iter().map(|p| p.as_str()).collect();
                    PersonasError::UnknownPersona(name.clone(), known.join(", "))
                })?;
            if !share.is_finite() || *share < 0.0 {
                return Err(PersonasError::OutOfRange(format!(
                    "share of {name} must be a number ≥ 0, not {share}"
                )));
            }
            raw.insert(persona, *share);
        }
        let m = &file.market;
        if !(0.0..=1.0).contains(&m.takeover_wave_at) {
            return Err(PersonasError::OutOfRange(
                "market.takeover_wave_at must be between 0 and 1".into(),
            ));
        }
        if m.takeover_crew_accounts == 0 {
            return Err(PersonasError::OutOfRange(
                "market.takeover_crew_accounts must be at least 1".into(),
            ));
        }
        Personas::from_weights(raw, file.market)
    }

    /// Shares from weights (divided by their sum).
    pub fn from_weights(
        weights: BTreeMap<Persona, f64>,
        market: MarketSettings,
    ) -> Result<Personas, PersonasError> {
        let sum: f64 = weights.values().sum();
        if !(sum > 0.0 && sum.is_finite()) {
            return Err(PersonasError::OutOfRange(
                "at least one persona needs a share above 0".into(),
            ));
        }
        Ok(Personas {
            shares: Persona::ALL
                .iter()
                .map(|&p| (p, weights.get(&p).copied().unwrap_or(0.0) / sum))
                .collect(),
            market,
        })
    }

    /// The share of `persona` (0 when switched off).
    pub fn share(&self, persona: Persona) -> f64 {
        self.shares
            .iter()
            .find(|(p, _)| *p == persona)
            .map_or(0.0, |(_, s)| *s)
    }

    /// How many of `n` persons each persona gets: largest remainder, so the
    /// counts add up to `n` and each is within one person of its share.
    pub fn allocate(&self, n: u32) -> Vec<(Persona, u32)> {
        let total = f64::from(n);
        let mut out: Vec<(Persona, u32, f64)> = self
            .shares
            .iter()
            .map(|&(p, s)| {
                let exact = s * total;
                let floor = exact.floor();
                // Shares are in [0, 1], so `floor` is in [0, n].
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let whole = floor as u32;
                (p, whole, exact - floor)
            })
            .collect();
        let assigned: u32 = out.iter().map(|(_, c, _)| *c).sum();
        let mut left = n.saturating_sub(assigned);
        let mut order: Vec<usize> = (0..out.len()).collect();
        // Largest remainder first; ties in persona order (deterministic).
        order.sort_by(|&a, &b| out[b].2.total_cmp(&out[a].2).then(a.cmp(&b)));
        for i in order {
            if left == 0 {
                break;
            }
            if out[i].2 > 0.0 {
                out[i].1 += 1;
                left -= 1;
            }
        }
        out.into_iter().map(|(p, c, _)| (p, c)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_sum_to_one_and_allocate_exactly() {
        let p = Personas::default();
        let sum: f64 = p.shares.iter().map(|(_, s)| s).sum();
        assert!((sum - 1.0).abs() < 1e-9);
        for n in [1, 7, 100, 1_000, 12_345] {
            let a = p.allocate(n);
            assert_eq!(a.iter().map(|(_, c)| c).sum::<u32>(), n);
        }
    }

    #[test]
    fn the_example_file_is_the_defaults() {
        let text = include_str!("../personas.example.toml");
        assert_eq!(Personas::from_toml(text).unwrap(), Personas::default());
    }

    #[test]
    fn file_overrides_and_switches_off() {
        let p = Personas::from_toml("[shares]\nscam_victim = 0\nhonest = 1.0\n").unwrap();
        assert_eq!(p.share(Persona::ScamVictim), 0.0);
        assert!(p.allocate(1000).contains(&(Persona::ScamVictim, 0)));
        assert!(Personas::from_toml("[shares]\nnobody = 1\n").is_err());
        assert!(Personas::from_toml("[shares]\nhonest = -1\n").is_err());
        assert!(Personas::from_toml("not toml [").is_err());
        let off = Persona::ALL
            .iter()
            .map(|p| format!("{} = 0", p.as_str()))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(Personas::from_toml(&format!("[shares]\n{off}\n")).is_err());
    }
}
