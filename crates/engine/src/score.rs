//! The behaviour score (動的与信): a number per account, 0 to 1,000, that
//! moves as the customer behaves, and the limit step it puts the account
//! on. Deterministic and event-driven: each event below moves it by a fixed
//! amount, written down here and tested one by one.
//!
//! | event | move | when |
//! |---|---|---|
//! | `paid_on_time` | +15 | an order is paid in full (by a payment or with points) on or before its due date (or before it has one) |
//! | `steady_month` | +10 | a monthly statement is issued while nothing is overdue |
//! | `liquid_heavy_order` | −10 | an order approved (or held) whose liquid goods are half its value or more |
//! | `account_linked` | −30 | the account joins an identity cluster with other accounts (at registration, or by a device in common at an authorization), or one joins its cluster |
//! | `paid_late` | −40 | an order is paid in full after its due date |
//! | `payment_reversed` | −50 | a payment is returned by its channel |
//! | `became_overdue` | −60 | the first missed due date of an overdue spell (dunning starts) |
//!
//! Scores run from the first journaled risk rule set on (`SetRiskRules`,
//! which the server journals at start): a journal written before them
//! replays as it ran — no score moves a limit it did not move live — and a
//! snapshot upgraded from before them starts every account at
//! [`SCORE_START`].
//!
//! Every account starts at [`SCORE_START`]; the score is clamped to
//! `0..=1000`. A person's score, shown to operators, is the lowest of the
//! accounts of their identity cluster (the cluster's limit is the members'
//! smallest, so the worst-behaved account already sets it).
//!
//! **Limit steps.** The account's limit is its product base (the sign-up
//! limit, or the bank-debit limit) times the step's share, rounded down to
//! ¥1,000 — and never below what the account already owes or holds
//! (exposure), so a lower step never puts a customer over their limit:
//!
//! | score | share of the base limit |
//! |---|---|
//! | 500 and above | 100 % |
//! | 350 – 499 | 60 % |
//! | 200 – 349 | 30 % |
//! | below 200 | 10 % |
//!
//! The limit changes on the event that crosses a step (with a
//! `limit.changed` webhook event), never above the product's cap: the base
//! *is* the cap (¥50,000 on sign-up, ¥100,000 with bank debit), so good
//! behaviour restores the full limit and bad behaviour lowers it.

use atobarai_core::{At, Yen};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Where every account starts.
pub const SCORE_START: u16 = 600;
/// The highest score.
pub const SCORE_MAX: u16 = 1_000;
/// Moves kept per account for operators.
pub const MOVES_KEPT: usize = 8;
/// `(lowest score of the step, percent of the base limit)`, highest first.
pub const STEPS: [(u16, i64); 4] = [(500, 100), (350, 60), (200, 30), (0, 10)];

/// What moves the score (see the module docs for the table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScoreEvent {
    /// An order paid in full on or before its due date.
    PaidOnTime,
    /// A monthly statement issued while nothing is overdue.
    SteadyMonth,
    /// An order approved or held with liquid goods ≥ half its value.
    LiquidHeavyOrder,
    /// The account's identity cluster gained an account.
    AccountLinked,
    /// An order paid in full after its due date.
    PaidLate,
    /// A payment returned by its channel.
    PaymentReversed,
    /// The first missed due date of an overdue spell.
    BecameOverdue,
}

impl ScoreEvent {
    /// Every event, in declaration order.
    pub const ALL: [ScoreEvent; 7] = [
        ScoreEvent::PaidOnTime,
        ScoreEvent::SteadyMonth,
        ScoreEvent::LiquidHeavyOrder,
        ScoreEvent::AccountLinked,
        ScoreEvent::PaidLate,
        ScoreEvent::PaymentReversed,
        ScoreEvent::BecameOverdue,
    ];

    /// How far the event moves the score.
    pub const fn delta(self) -> i16 {
        match self {
            ScoreEvent::PaidOnTime => 15,
            ScoreEvent::SteadyMonth => 10,
            ScoreEvent::LiquidHeavyOrder => -10,
            ScoreEvent::AccountLinked => -30,
            ScoreEvent::PaidLate => -40,
            ScoreEvent::PaymentReversed => -50,
            ScoreEvent::BecameOverdue => -60,
        }
    }

    /// The API spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            ScoreEvent::PaidOnTime => "paid_on_time",
            ScoreEvent::SteadyMonth => "steady_month",
            ScoreEvent::LiquidHeavyOrder => "liquid_heavy_order",
            ScoreEvent::AccountLinked => "account_linked",
            ScoreEvent::PaidLate => "paid_late",
            ScoreEvent::PaymentReversed => "payment_reversed",
            ScoreEvent::BecameOverdue => "became_overdue",
        }
    }

    /// Why the limit moved, in Japanese.
    pub const fn text_ja(self) -> &'static str {
        match self {
            ScoreEvent::PaidOnTime => "期限内のお支払い実績により、ご利用可能枠が見直されました。",
            ScoreEvent::SteadyMonth => "継続的なご利用実績により、ご利用可能枠が見直されました。",
            ScoreEvent::LiquidHeavyOrder => {
                "換金性の高い商品のご購入が多いため、ご利用可能枠が見直されました。"
            }
            ScoreEvent::AccountLinked => {
                "関連するアカウントが確認されたため、ご利用可能枠が見直されました。"
            }
            ScoreEvent::PaidLate => "お支払いの遅れにより、ご利用可能枠が見直されました。",
            ScoreEvent::PaymentReversed => {
                "お支払いの取り消しがあったため、ご利用可能枠が見直されました。"
            }
            ScoreEvent::BecameOverdue => {
                "お支払い期限を過ぎた請求があるため、ご利用可能枠が見直されました。"
            }
        }
    }

    /// Why the limit moved, in English.
    pub const fn text_en(self) -> &'static str {
        match self {
            ScoreEvent::PaidOnTime => "The limit was reviewed after payments made on time.",
            ScoreEvent::SteadyMonth => "The limit was reviewed after steady use.",
            ScoreEvent::LiquidHeavyOrder => {
                "The limit was reviewed after purchases heavy in resellable or cash-equivalent goods."
            }
            ScoreEvent::AccountLinked => "The limit was reviewed after linked accounts were found.",
            ScoreEvent::PaidLate => "The limit was reviewed after a late payment.",
            ScoreEvent::PaymentReversed => "The limit was reviewed after a payment was returned.",
            ScoreEvent::BecameOverdue => "The limit was reviewed after a missed due date.",
        }
    }
}

/// One move of the score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreMove {
    /// When.
    pub at: At,
    /// Why.
    pub event: ScoreEvent,
    /// The score after it.
    pub score_after: u16,
}

/// One account's score.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountScore {
    /// 0..=1000.
    pub score: u16,
    /// The last moves, oldest first (at most [`MOVES_KEPT`]).
    pub moves: VecDeque<ScoreMove>,
    /// The event that last changed the limit step, if any did.
    pub limit_reason: Option<ScoreEvent>,
}

impl Default for AccountScore {
    fn default() -> Self {
        AccountScore {
            score: SCORE_START,
            moves: VecDeque::new(),
            limit_reason: None,
        }
    }
}

impl AccountScore {
    /// Move the score for `event`; the score after.
    pub fn apply(&mut self, at: At, event: ScoreEvent) -> u16 {
        let moved = i32::from(self.score).saturating_add(i32::from(event.delta()));
        self.score = u16::try_from(moved.clamp(0, i32::from(SCORE_MAX))).unwrap_or(0);
        if self.moves.len() >= MOVES_KEPT {
            self.moves.pop_front();
        }
        self.moves.push_back(ScoreMove {
            at,
            event,
            score_after: self.score,
        });
        self.score
    }
}

/// The step's share of the base limit, percent.
pub fn step_percent(score: u16) -> i64 {
    STEPS
        .iter()
        .find(|(from, _)| score >= *from)
        .map_or(10, |(_, pct)| *pct)
}

/// The limit for `base` at `score`: the step's share, rounded down to
/// ¥1,000, never below `floor` (what the account owes or holds) nor above
/// `base`.
pub fn stepped_limit(base: Yen, score: u16, floor: Yen) -> Yen {
    let share = base
        .get()
        .saturating_mul(step_percent(score))
        .checked_div(100)
        .unwrap_or(0);
    let rounded = share.saturating_sub(share.rem_euclid(1_000));
    Yen::new(
        rounded
            .max(floor.get().max(0))
            .min(base.get().max(floor.get())),
    )
}

/// Every account's score, by customer index (accounts without an entry
/// are at [`SCORE_START`] with no moves: a snapshot upgraded from before
/// scores existed).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreBook {
    /// By customer index.
    pub accounts: Vec<AccountScore>,
}

impl ScoreBook {
    /// Account `ci`'s score (the default when it has none yet).
    pub fn get(&self, ci: u32) -> AccountScore {
        self.accounts.get(ci as usize).cloned().unwrap_or_default()
    }

    /// Account `ci`'s score, created at the start value if needed.
    pub fn get_mut(&mut self, ci: u32) -> &mut AccountScore {
        let i = ci as usize;
        if self.accounts.len() <= i {
            self.accounts
                .resize(i.saturating_add(1), AccountScore::default());
        }
        &mut self.accounts[i]
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(n: i64) -> At {
        At::from_unix_ms(1_780_000_000_000 + n * 60_000)
    }

    #[test]
    fn every_event_moves_the_score_by_its_documented_amount() {
        let table = [
            (ScoreEvent::PaidOnTime, 15),
            (ScoreEvent::SteadyMonth, 10),
            (ScoreEvent::LiquidHeavyOrder, -10),
            (ScoreEvent::AccountLinked, -30),
            (ScoreEvent::PaidLate, -40),
            (ScoreEvent::PaymentReversed, -50),
            (ScoreEvent::BecameOverdue, -60),
        ];
        assert_eq!(table.len(), ScoreEvent::ALL.len());
        for (event, delta) in table {
            let mut s = AccountScore::default();
            let after = s.apply(at(0), event);
            assert_eq!(
                i32::from(after) - i32::from(SCORE_START),
                delta,
                "{event:?}"
            );
            assert_eq!(s.moves.back().unwrap().event, event);
        }
    }

    #[test]
    fn steps_follow_the_table_and_never_go_below_what_is_owed() {
        let base = Yen::new(50_000);
        assert_eq!(stepped_limit(base, 600, Yen::ZERO), Yen::new(50_000));
        assert_eq!(stepped_limit(base, 500, Yen::ZERO), Yen::new(50_000));
        assert_eq!(stepped_limit(base, 499, Yen::ZERO), Yen::new(30_000));
        assert_eq!(stepped_limit(base, 349, Yen::ZERO), Yen::new(15_000));
        assert_eq!(stepped_limit(base, 0, Yen::ZERO), Yen::new(5_000));
        assert_eq!(stepped_limit(base, 0, Yen::new(27_300)), Yen::new(27_300));
        // ¥55,000 × 60 % = ¥33,000; ¥33,333 rounds down to ¥33,000.
        assert_eq!(
            stepped_limit(Yen::new(55_555), 400, Yen::ZERO),
            Yen::new(33_000)
        );
    }

    proptest! {
        #[test]
        fn each_event_moves_the_documented_way_from_any_score(
            start in 0u16..=1000, which in 0usize..7
        ) {
            let event = ScoreEvent::ALL[which];
            let mut s = AccountScore { score: start, ..AccountScore::default() };
            let after = s.apply(at(1), event);
            let expected = (i32::from(start) + i32::from(event.delta())).clamp(0, 1000);
            prop_assert_eq!(i32::from(after), expected);
            if event.delta() > 0 { prop_assert!(after >= start); } else { prop_assert!(after <= start); }
            prop_assert!(s.moves.len() <= MOVES_KEPT);
        }

        #[test]
        fn the_limit_stays_within_the_cap_and_above_what_is_owed(
            base in 0i64..200_000, score in 0u16..=1000, owed in -10_000i64..200_000
        ) {
            let l = stepped_limit(Yen::new(base), score, Yen::new(owed));
            prop_assert!(l.get() >= owed.max(0));
            prop_assert!(l.get() <= base.max(owed));
            prop_assert!(l.get() >= 0);
        }
    }
}
