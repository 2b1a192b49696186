//! Posting money events to the double-entry ledger held in state.

use super::Engine;
use crate::checked::Bounded;
use atobarai_billing::BillingError;
use atobarai_billing::postings::YenEntry;
use atobarai_core::{At, Yen};
use atobarai_ledger::{Account, EntryKind, NewEntry, Posting};

impl Engine {
    /// Post a balanced entry. A zero amount posts nothing. Any other refusal
    /// is a bug; it is counted (never panics) and reported by
    /// [`Engine::check_invariants`].
    pub(crate) fn post(&mut self, entry: Result<YenEntry, BillingError>) {
        match entry {
            Ok(e) => {
                if self.state.ledger.post(e).is_err() {
                    self.state.ledger_errors = self.state.ledger_errors.saturating_add(1);
                }
            }
            Err(BillingError::NotPositive) => {}
            Err(_) => self.state.ledger_errors = self.state.ledger_errors.saturating_add(1),
        }
    }

    /// Ledger entry of a received payment: cash in; receivable down by
    /// what was applied, customer credit up by the rest.
    pub(crate) fn post_payment(
        &mut self,
        at: At,
        payment: u32,
        ci: u32,
        amount: Yen,
        applied: Yen,
    ) {
        let mut postings = vec![Posting::debit(Account::Cash, amount)];
        if applied.is_positive() {
            postings.push(Posting::credit(Account::CustomerReceivable(ci), applied));
        }
        let to_credit = amount.checked_sub(applied).bounded("payment to credit");
        if to_credit.is_positive() {
            postings.push(Posting::credit(Account::CustomerCredit(ci), to_credit));
        }
        self.post(Ok(NewEntry {
            at,
            kind: EntryKind::Payment,
            reference: u64::from(payment),
            postings,
        }));
    }
}
