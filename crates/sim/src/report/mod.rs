//! The detection report: outcomes joined with the labels the simulator kept.
//!
//! # Definitions
//!
//! - **Caught**: an order declined or held for review at authorization,
//!   whatever the reason. Reasons are split into *credit* reasons (the
//!   credit rules: `limit_exceeded`, `product_limit_exceeded`,
//!   `in_store_limit_exceeded`, `in_store_history_insufficient`,
//!   `overdue_invoice`, `account_suspended`) and *risk* reasons (everything
//!   else: the risk policy's codes such as `cash_equivalent_only_cart`,
//!   `first_use_cash_equivalent`, and `category_suspended`). A decision with
//!   any credit reason counts as credit.
//! - **Liquid purchase**: an order whose cart holds at least one liquid item:
//!   a gift card, prepaid / e-money, or resellable electronics (game consoles,
//!   smartphones, electronics), per `Category::liquidity`.
//! - **Target order**: an order the simulator labelled as one screening
//!   should stop (cash-out, resale, layering, the account-takeover crew's,
//!   the scam victim's instructed purchases). Cover orders (an evasive
//!   cash-outer's honest-looking history) and a victim's own orders are not
//!   targets.
//! - **Caught by the k-th liquid purchase** (k = 1, 2, 3), per persona: among
//!   persons with at least one liquid target order, the share whose first
//!   caught liquid target order is among their first k liquid target orders.
//!   A person who stopped before making k liquid purchases and was never
//!   caught counts as not caught. The *risk* variant counts only catches
//!   with a risk reason.
//! - **Approved before the first catch**: per person, target orders approved
//!   (and their yen) before the person's first caught target order; all of
//!   them for a person never caught. Summed over the persona's persons.
//! - **False declines and reviews**: declines and reviews of the orders of
//!   the honest groups (honest shoppers, households, dormitories, people
//!   whose details are written differently across accounts).
//! - **Credit loss**: principal still owed at the market's close by accounts
//!   that are overdue then (what collections would have to recover or write
//!   off). Late fees and damages are not counted.
//! - **Approved volume**: the yen of orders approved at authorization.
//! - **Per-rule hits** (in process only: over HTTP the driver sees reasons,
//!   not rules): per rule of the risk rule set in force, the orders it
//!   fired on, split into the honest groups' orders, target orders and the
//!   abusive personas' other orders; *alone* counts the orders this rule
//!   decides by itself: for a live rule, no other live rule fired; for a
//!   shadow rule, no live rule fired and the order was approved (what
//!   making it live would add).

use crate::driver::{AuthOutcome, Balance, Decision, RuleInfo};
use crate::personas::{Persona, Personas};
use crate::scenario::Label;
use atobarai_core::Yen;
use serde::Serialize;
use std::collections::BTreeMap;

pub mod html;
pub mod json;
pub mod table;

/// Reason codes of the credit rules (everything else is a risk reason).
pub const CREDIT_REASONS: &[&str] = &[
    "limit_exceeded",
    "product_limit_exceeded",
    "in_store_limit_exceeded",
    "in_store_history_insufficient",
    "overdue_invoice",
    "account_suspended",
];

/// Whether a reason code comes from the credit rules.
pub fn is_credit_reason(code: &str) -> bool {
    CREDIT_REASONS.contains(&code)
}

#[derive(Clone, Debug, Default)]
struct PersonTrack {
    liquid_targets: u32,
    first_catch: Option<u32>,
    first_risk_catch: Option<u32>,
    caught_any_target: bool,
    approved_before: u64,
    approved_yen_before: i64,
}

#[derive(Clone, Debug, Default)]
struct RuleTally {
    fired: u64,
    honest: u64,
    honest_alone: u64,
    household_dormitory: u64,
    targets: u64,
    targets_alone: u64,
    other: u64,
    by_persona: BTreeMap<&'static str, u64>,
}

#[derive(Clone, Debug, Default)]
struct Stats {
    persons: u32,
    accounts: u32,
    registrations_refused: u32,
    orders: u64,
    approved: u64,
    reviewed: u64,
    declined: u64,
    refused: u64,
    approved_yen: i64,
    targets: u64,
    targets_approved: u64,
    targets_caught: u64,
    targets_approved_yen: i64,
    non_targets: u64,
    declined_credit: u64,
    declined_risk: u64,
    reviewed_credit: u64,
    reviewed_risk: u64,
    reasons: BTreeMap<String, u64>,
    credit_loss_yen: i64,
    owed_at_close_yen: i64,
    overdue_accounts: u32,
}

/// Collects outcomes with their labels while a market runs.
pub struct Collector {
    /// Per persona, by [`Persona::index`].
    stats: Vec<Stats>,
    tracks: Vec<PersonTrack>,
    payments: u64,
    payments_refused: u64,
    paid_yen: i64,
    reviews_resolved: u64,
    /// Cluster → the persons with an account in it (at the close).
    clusters: BTreeMap<u64, Vec<u32>>,
    /// (person, cluster) of every account at the close.
    person_clusters: Vec<(u32, u64)>,
    /// Per rule id: where it fired.
    rules: BTreeMap<String, RuleTally>,
    /// Every numbered order's label, in the order they were answered.
    order_labels: Vec<OrderLabel>,
}

/// The simulator's label of one order the engine numbered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderLabel {
    /// The engine's dense order index.
    pub order: u64,
    /// The persona of the person behind it.
    pub persona: Persona,
    /// Whether screening should stop it.
    pub target: bool,
}

fn add(a: &mut i64, b: Yen) {
    *a = a.saturating_add(b.get());
}

impl Collector {
    /// A collector for a population of `persons` with their personas.
    pub fn new<'a>(persons: impl Iterator<Item = (Persona, usize)> + 'a) -> Collector {
        let mut stats: Vec<Stats> = vec![Stats::default(); Persona::ALL.len()];
        let mut n = 0;
        for (persona, accounts) in persons {
            if let Some(s) = stats.get_mut(persona.index()) {
                s.persons += 1;
                s.accounts += u32::try_from(accounts).unwrap_or(0);
            }
            n += 1;
        }
        Collector {
            stats,
            tracks: vec![PersonTrack::default(); n],
            payments: 0,
            payments_refused: 0,
            paid_yen: 0,
            reviews_resolved: 0,
            clusters: BTreeMap::new(),
            person_clusters: Vec::new(),
            rules: BTreeMap::new(),
            order_labels: Vec::new(),
        }
    }

    /// The labels of the orders answered so far (taken out).
    pub fn take_order_labels(&mut self) -> Vec<OrderLabel> {
        std::mem::take(&mut self.order_labels)
    }

    fn tally_rules(&mut self, label: Label, out: &AuthOutcome) {
        let live = out.fired.iter().filter(|f| !f.shadow).count();
        for f in &out.fired {
            let alone = if f.shadow {
                live == 0 && out.decision == Decision::Approve
            } else {
                live == 1
            };
            let t = self.rules.entry(f.id.clone()).or_default();
            t.fired += 1;
            *t.by_persona.entry(label.persona.as_str()).or_default() += 1;
            if label.persona.is_honest_group() {
                t.honest += 1;
                t.honest_alone += u64::from(alone);
                if matches!(label.persona, Persona::Household | Persona::Dormitory) {
                    t.household_dormitory += 1;
                }
            } else if label.target {
                t.targets += 1;
                t.targets_alone += u64::from(alone);
            } else {
                t.other += 1;
            }
        }
    }

    fn stats(&mut self, p: Persona) -> &mut Stats {
        &mut self.stats[p.index()]
    }

    /// A registration was sent.
    pub fn registration(&mut self, persona: Persona, accepted: bool) {
        if !accepted {
            self.stats(persona).registrations_refused += 1;
        }
    }

    /// An authorization was answered.
    pub fn order(&mut self, label: Label, amount: Yen, liquid: bool, out: &AuthOutcome) {
        if let Some(o) = out.order {
            self.order_labels.push(OrderLabel {
                order: o.0,
                persona: label.persona,
                target: label.target,
            });
        }
        if !out.fired.is_empty() {
            self.tally_rules(label, out);
        }
        let s = self.stats(label.persona);
        s.orders += 1;
        let credit = out.reasons.iter().any(|r| is_credit_reason(r));
        match out.decision {
            Decision::Approve => {
                s.approved += 1;
                add(&mut s.approved_yen, amount);
            }
            Decision::Review => s.reviewed += 1,
            Decision::Decline => s.declined += 1,
            Decision::Refused => s.refused += 1,
        }
        for r in &out.reasons {
            *s.reasons.entry(r.clone()).or_default() += 1;
        }
        if !label.target {
            s.non_targets += 1;
            match (out.decision, credit) {
                (Decision::Decline, true) => s.declined_credit += 1,
                (Decision::Decline, false) => s.declined_risk += 1,
                (Decision::Review, true) => s.reviewed_credit += 1,
                (Decision::Review, false) => s.reviewed_risk += 1,
                _ => {}
            }
            return;
        }
        s.targets += 1;
        if matches!(out.decision, Decision::Review | Decision::Decline) {
            s.targets_caught += 1;
        }
        if out.decision == Decision::Approve {
            s.targets_approved += 1;
            add(&mut s.targets_approved_yen, amount);
        }
        let Some(t) = self.tracks.get_mut(label.person as usize) else {
            return;
        };
        let is_catch = matches!(out.decision, Decision::Review | Decision::Decline);
        if liquid {
            t.liquid_targets += 1;
            if is_catch && t.first_catch.is_none() {
                t.first_catch = Some(t.liquid_targets);
            }
            if is_catch && !credit && t.first_risk_catch.is_none() {
                t.first_risk_catch = Some(t.liquid_targets);
            }
        }
        if !t.caught_any_target {
            if is_catch {
                t.caught_any_target = true;
            } else if out.decision == Decision::Approve {
                t.approved_before += 1;
                add(&mut t.approved_yen_before, amount);
            }
        }
    }

    /// A payment was sent.
    pub fn payment(&mut self, amount: Yen, accepted: bool) {
        if accepted {
            self.payments += 1;
            add(&mut self.paid_yen, amount);
        } else {
            self.payments_refused += 1;
        }
    }

    /// The analyst settled a held order.
    pub fn review_resolved(&mut self, _approved: bool) {
        self.reviews_resolved += 1;
    }

    /// An account at the close: its identity cluster and balance.
    pub fn closing_account(&mut self, persona: Persona, person: u32, cluster: u64, b: Balance) {
        self.clusters.entry(cluster).or_default().push(person);
        self.person_clusters.push((person, cluster));
        let s = self.stats(persona);
        add(&mut s.owed_at_close_yen, b.total);
        if b.overdue {
            s.overdue_accounts += 1;
            add(&mut s.credit_loss_yen, b.principal);
        }
    }

    /// The report, given the persons' personas (to join tracks to personas)
    /// and the rules of the risk rule set in force (in its order).
    pub fn finish(
        mut self,
        meta: MarketMeta,
        personas_of: &[Persona],
        rules: &[RuleInfo],
    ) -> Report {
        let mut rule_rows = Vec::new();
        let row = |info: Option<&RuleInfo>, id: &str, t: RuleTally| RuleRow {
            id: id.to_string(),
            version: info.map_or(0, |i| i.version),
            action: info.map_or("", |i| i.action),
            shadow: info.is_some_and(|i| i.shadow),
            reason: info.map_or_else(String::new, |i| i.reason.clone()),
            fired: t.fired,
            honest: t.honest,
            honest_alone: t.honest_alone,
            household_dormitory: t.household_dormitory,
            targets: t.targets,
            targets_alone: t.targets_alone,
            other: t.other,
            by_persona: t
                .by_persona
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        };
        for info in rules {
            let t = self.rules.remove(&info.id).unwrap_or_default();
            rule_rows.push(row(Some(info), &info.id, t));
        }
        // Rules the driver did not list (none in process), by id.
        for (id, t) in std::mem::take(&mut self.rules) {
            rule_rows.push(row(None, &id, t));
        }
        // Per person: linked to another person's account; all accounts joined.
        let mut linked = vec![false; personas_of.len()];
        let mut seen: Vec<Option<u64>> = vec![None; personas_of.len()];
        let mut split = vec![false; personas_of.len()];
        let mut n_accounts = vec![0u32; personas_of.len()];
        for &(person, cluster) in &self.person_clusters {
            let i = person as usize;
            if i >= linked.len() {
                continue;
            }
            n_accounts[i] += 1;
            if self
                .clusters
                .get(&cluster)
                .is_some_and(|ps| ps.iter().any(|&q| q != person))
            {
                linked[i] = true;
            }
            match seen[i] {
                None => seen[i] = Some(cluster),
                Some(c) if c != cluster => split[i] = true,
                Some(_) => {}
            }
        }
        let mut links: BTreeMap<Persona, (u32, u32, u32)> = BTreeMap::new();
        for (i, p) in personas_of.iter().enumerate() {
            let accounts = n_accounts[i];
            let e = links.entry(*p).or_default();
            if linked[i] {
                e.0 += 1;
            }
            if accounts >= 2 {
                e.1 += 1;
                if !split[i] {
                    e.2 += 1;
                }
            }
        }
        let mut per: BTreeMap<Persona, Vec<&PersonTrack>> = BTreeMap::new();
        for (t, p) in self.tracks.iter().zip(personas_of) {
            per.entry(*p).or_default().push(t);
        }
        let mut rows = Vec::new();
        let mut honest = Vec::new();
        let mut totals = Totals::default();
        for (&persona, s) in Persona::ALL.iter().zip(&self.stats) {
            totals.persons += s.persons;
            totals.accounts += s.accounts;
            totals.orders += s.orders;
            totals.approved += s.approved;
            totals.reviewed += s.reviewed;
            totals.declined += s.declined;
            totals.refused += s.refused;
            totals.approved_volume_yen = totals.approved_volume_yen.saturating_add(s.approved_yen);
            totals.credit_loss_yen = totals.credit_loss_yen.saturating_add(s.credit_loss_yen);
            totals.owed_at_close_yen = totals.owed_at_close_yen.saturating_add(s.owed_at_close_yen);
            let tracks = per.get(&persona).map(Vec::as_slice).unwrap_or(&[]);
            let buyers: Vec<&&PersonTrack> =
                tracks.iter().filter(|t| t.liquid_targets > 0).collect();
            let share_by = |k: u32, f: fn(&PersonTrack) -> Option<u32>| {
                ratio(
                    buyers
                        .iter()
                        .filter(|t| f(t).is_some_and(|c| c <= k))
                        .count() as u64,
                    buyers.len() as u64,
                )
            };
            let caught_by = [1, 2, 3].map(|k| share_by(k, |t| t.first_catch));
            let caught_by_risk = [1, 2, 3].map(|k| share_by(k, |t| t.first_risk_catch));
            let (before, before_yen) = tracks.iter().fold((0u64, 0i64), |(n, y), t| {
                (
                    n + t.approved_before,
                    y.saturating_add(t.approved_yen_before),
                )
            });
            let (linked_persons, multi, joined) = links.get(&persona).copied().unwrap_or_default();
            if persona.has_targets() {
                rows.push(PersonaRow {
                    linked_to_other_persons: linked_persons,
                    multi_account_persons: multi,
                    accounts_joined: joined,
                    persona: persona.as_str(),
                    persons: s.persons,
                    accounts: s.accounts,
                    orders: s.orders,
                    approved: s.approved,
                    reviewed: s.reviewed,
                    declined: s.declined,
                    refused: s.refused,
                    approved_yen: s.approved_yen,
                    target_orders: s.targets,
                    target_orders_approved: s.targets_approved,
                    target_orders_caught: s.targets_caught,
                    target_caught_share: ratio(s.targets_caught, s.targets),
                    target_yen_approved: s.targets_approved_yen,
                    liquid_buyers: buyers.len() as u64,
                    caught_by_1st: caught_by[0],
                    caught_by_2nd: caught_by[1],
                    caught_by_3rd: caught_by[2],
                    risk_caught_by_1st: caught_by_risk[0],
                    risk_caught_by_2nd: caught_by_risk[1],
                    risk_caught_by_3rd: caught_by_risk[2],
                    never_caught: tracks
                        .iter()
                        .filter(|t| t.liquid_targets > 0 && t.first_catch.is_none())
                        .count() as u64,
                    approved_orders_before_first_catch: before,
                    approved_yen_before_first_catch: before_yen,
                    credit_loss_yen: s.credit_loss_yen,
                    reasons: s.reasons.clone(),
                });
            }
            if persona.is_honest_group() || s.non_targets > 0 {
                honest.push(HonestRow {
                    linked_to_other_persons: linked_persons,
                    group: persona.as_str(),
                    honest_group: persona.is_honest_group(),
                    persons: s.persons,
                    accounts: s.accounts,
                    registrations_refused: s.registrations_refused,
                    orders: s.non_targets,
                    declined: s.declined_credit + s.declined_risk,
                    reviewed: s.reviewed_credit + s.reviewed_risk,
                    decline_rate: ratio(s.declined_credit + s.declined_risk, s.non_targets),
                    review_rate: ratio(s.reviewed_credit + s.reviewed_risk, s.non_targets),
                    risk_rate: ratio(s.declined_risk + s.reviewed_risk, s.non_targets),
                    declined_credit: s.declined_credit,
                    declined_risk: s.declined_risk,
                    reviewed_credit: s.reviewed_credit,
                    reviewed_risk: s.reviewed_risk,
                    credit_loss_yen: s.credit_loss_yen,
                    reasons: if persona.is_honest_group() {
                        s.reasons.clone()
                    } else {
                        BTreeMap::new()
                    },
                });
            }
        }
        totals.payments = self.payments;
        totals.payments_refused = self.payments_refused;
        totals.paid_yen = self.paid_yen;
        totals.reviews_resolved = self.reviews_resolved;
        Report {
            market: meta,
            personas: rows,
            honest,
            rules: rule_rows,
            totals,
        }
    }
}

/// `num / den` rounded to 4 decimals (0 when `den` is 0).
fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        return 0.0;
    }
    #[allow(clippy::cast_precision_loss)]
    let r = num as f64 / den as f64;
    (r * 10_000.0).round() / 10_000.0
}

/// What market the report is about.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MarketMeta {
    /// The seed.
    pub seed: u64,
    /// Persons in the market.
    pub customers: u32,
    /// Days the market ran.
    pub days: u32,
    /// The first day (JST).
    pub start: String,
    /// The rules the engine ran with (`shipped` or the file's name).
    pub rules: String,
    /// What the analyst did with held orders.
    pub analyst: crate::personas::AnalystVerdict,
    /// The configured share of each persona and the persons it got.
    pub personas: Vec<PersonaShare>,
}

impl MarketMeta {
    /// The meta block of a market.
    pub fn new(
        seed: u64,
        customers: u32,
        days: u32,
        start: String,
        rules: String,
        personas: &Personas,
    ) -> MarketMeta {
        let counts = personas.allocate(customers);
        MarketMeta {
            seed,
            customers,
            days,
            start,
            rules,
            analyst: personas.market.analyst,
            personas: personas
                .shares
                .iter()
                .zip(counts)
                .map(|(&(p, share), (_, persons))| PersonaShare {
                    persona: p.as_str(),
                    share: (share * 1e6).round() / 1e6,
                    persons,
                })
                .collect(),
        }
    }
}

/// A persona's configured share and head count.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PersonaShare {
    /// The persona.
    pub persona: &'static str,
    /// Its configured share of persons.
    pub share: f64,
    /// Persons it got.
    pub persons: u32,
}

/// Detection figures for a persona with target orders.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PersonaRow {
    /// The persona.
    pub persona: &'static str,
    /// Persons.
    pub persons: u32,
    /// Accounts they hold.
    pub accounts: u32,
    /// Orders sent (targets and others).
    pub orders: u64,
    /// Approved at authorization.
    pub approved: u64,
    /// Held for review.
    pub reviewed: u64,
    /// Declined.
    pub declined: u64,
    /// Refused as invalid.
    pub refused: u64,
    /// Yen approved (all the persona's orders).
    pub approved_yen: i64,
    /// Target orders sent.
    pub target_orders: u64,
    /// Target orders approved.
    pub target_orders_approved: u64,
    /// Target orders declined or held.
    pub target_orders_caught: u64,
    /// Target orders declined or held / target orders.
    pub target_caught_share: f64,
    /// Yen of target orders approved.
    pub target_yen_approved: i64,
    /// Persons with at least one liquid target order.
    pub liquid_buyers: u64,
    /// Share of them caught by their 1st liquid purchase.
    pub caught_by_1st: f64,
    /// … by their 2nd.
    pub caught_by_2nd: f64,
    /// … by their 3rd.
    pub caught_by_3rd: f64,
    /// Share caught with a risk reason by the 1st liquid purchase.
    pub risk_caught_by_1st: f64,
    /// … by the 2nd.
    pub risk_caught_by_2nd: f64,
    /// … by the 3rd.
    pub risk_caught_by_3rd: f64,
    /// Liquid buyers never caught.
    pub never_caught: u64,
    /// Target orders approved before each person's first catch, summed.
    pub approved_orders_before_first_catch: u64,
    /// Their yen.
    pub approved_yen_before_first_catch: i64,
    /// Principal owed by overdue accounts at the close.
    pub credit_loss_yen: i64,
    /// Persons whose identity cluster at the close holds another person's account.
    pub linked_to_other_persons: u32,
    /// Persons with two or more registered accounts.
    pub multi_account_persons: u32,
    /// Of those, persons whose accounts all ended in one identity cluster
    /// (the engine knew them for one person and gave them one limit).
    pub accounts_joined: u32,
    /// Count per reason code over the persona's orders.
    pub reasons: BTreeMap<String, u64>,
}

/// False declines and reviews of a group's non-target orders.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HonestRow {
    /// The group (persona).
    pub group: &'static str,
    /// Whether it is one of the honest groups (else: non-target orders of
    /// another persona, e.g. a victim's own orders).
    pub honest_group: bool,
    /// Persons.
    pub persons: u32,
    /// Accounts.
    pub accounts: u32,
    /// Registrations the server refused.
    pub registrations_refused: u32,
    /// Non-target orders.
    pub orders: u64,
    /// Declined.
    pub declined: u64,
    /// Held for review.
    pub reviewed: u64,
    /// Declined / orders.
    pub decline_rate: f64,
    /// Held / orders.
    pub review_rate: f64,
    /// Declined or held for a risk reason / orders.
    pub risk_rate: f64,
    /// Declined for a credit reason.
    pub declined_credit: u64,
    /// Declined for a risk reason.
    pub declined_risk: u64,
    /// Held for a credit reason.
    pub reviewed_credit: u64,
    /// Held for a risk reason.
    pub reviewed_risk: u64,
    /// Principal owed by overdue accounts at the close.
    pub credit_loss_yen: i64,
    /// Persons whose identity cluster at the close holds another person's
    /// account (a false link for an honest group).
    pub linked_to_other_persons: u32,
    /// Count per reason code (honest groups only).
    pub reasons: BTreeMap<String, u64>,
}

/// Where one risk rule fired: what it catches and what it costs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleRow {
    /// The rule's id.
    pub id: String,
    /// The rule's own version.
    pub version: u32,
    /// `decline`, `review`, `cap`, `flag` or `approve`.
    pub action: &'static str,
    /// A shadow rule (its hits never changed a decision).
    pub shadow: bool,
    /// Its reason code.
    pub reason: String,
    /// Orders it fired on.
    pub fired: u64,
    /// Of them, orders of the honest groups (its cost, or would-be cost in shadow).
    pub honest: u64,
    /// Honest orders it decided alone (see the module docs).
    pub honest_alone: u64,
    /// Of the honest orders, households' and dormitories' ones.
    pub household_dormitory: u64,
    /// Target orders it fired on (what it catches).
    pub targets: u64,
    /// Target orders it decided alone.
    pub targets_alone: u64,
    /// The abusive personas' other orders (cover orders, victims' own orders).
    pub other: u64,
    /// Orders it fired on, per persona.
    pub by_persona: BTreeMap<String, u64>,
}

/// Market-wide totals.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Totals {
    /// Persons.
    pub persons: u32,
    /// Accounts.
    pub accounts: u32,
    /// Orders sent.
    pub orders: u64,
    /// Approved.
    pub approved: u64,
    /// Held for review.
    pub reviewed: u64,
    /// Declined.
    pub declined: u64,
    /// Refused as invalid.
    pub refused: u64,
    /// Approved volume, yen.
    pub approved_volume_yen: i64,
    /// Credit loss, yen (principal of accounts overdue at the close).
    pub credit_loss_yen: i64,
    /// Everything owed at the close, yen.
    pub owed_at_close_yen: i64,
    /// Payments accepted.
    pub payments: u64,
    /// Payments refused.
    pub payments_refused: u64,
    /// Yen paid.
    pub paid_yen: i64,
    /// Held orders the analyst settled.
    pub reviews_resolved: u64,
}

/// The report of one market.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The market.
    pub market: MarketMeta,
    /// Detection per persona with target orders.
    pub personas: Vec<PersonaRow>,
    /// False declines and reviews per honest group (and other non-target orders).
    pub honest: Vec<HonestRow>,
    /// Per risk rule: where it fired (empty without a rule set, or over HTTP).
    pub rules: Vec<RuleRow>,
    /// Totals.
    pub totals: Totals,
}
