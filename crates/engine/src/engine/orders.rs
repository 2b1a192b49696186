//! An order after its decision: capture, cancel, refund, and the
//! invoices, ledger entries and credit notes they produce.

use super::Engine;
use super::access::status_conflict;
use crate::billing::{CreditNote, Invoice, Tier};
use crate::checked::{Bounded, id32};
use crate::command::Principal;
use crate::due;
use crate::error::CommandError;
use crate::state::OrderStatus;
use crate::view::Outcome;
use crate::webhook::{EventKind, Stored};
use atobarai_billing::invoice::{credit_note_number, invoice_number};
use atobarai_billing::points::points_to_claw_back;
use atobarai_billing::postings::{self};
use atobarai_billing::schedule::YearMonth;
use atobarai_core::{At, Product, Yen};
use atobarai_ledger::{Account, EntryKind, Points, transfer};

impl Engine {
    pub(crate) fn capture(
        &mut self,
        at: At,
        principal: Principal,
        order: u64,
        amount: Option<Yen>,
    ) -> Result<Outcome, CommandError> {
        let oi = self.order_index_for_write(principal, order)?;
        let o = &self.state.orders[oi as usize];
        match o.status {
            OrderStatus::Authorized => {}
            other => return Err(status_conflict(other, "captured")),
        }
        let captured = amount.unwrap_or(o.amount);
        if !captured.is_positive() || captured > o.amount {
            return Err(CommandError::invalid(
                "capture_exceeds_authorized",
                "amount",
                format!("capture must be between ¥1 and the authorized {}", o.amount),
            ));
        }
        let (ci, product, channel, authorized) = (o.customer, o.product, o.channel, o.amount);
        let c = &self.state.customers[ci as usize];
        let today = at.jst_date();
        let (current, pending) = (c.payment_method, c.pending_method);
        let due_date = match product {
            Product::Partner(_) => self.partner_due_date(product, today),
            _ => due::due_date(&self.config.billing, product, today, |on| {
                due::method_in_effect(current, pending, on)
            }),
        };

        let o = &mut self.state.orders[oi as usize];
        o.status = OrderStatus::Captured;
        o.captured = captured;
        o.captured_at = Some(at);
        o.due_date = Some(due_date);
        let c = &mut self.state.customers[ci as usize];
        let (owed_before, held_before) = (c.outstanding, c.held);
        c.capture(product, channel, authorized, captured);
        // Postcondition: the whole hold ended and the captured part is owed.
        assert_eq!(
            c.held.checked_add(authorized).bounded("held"),
            held_before,
            "capture released the hold"
        );
        assert_eq!(
            c.outstanding.checked_sub(captured).bounded("outstanding"),
            owed_before,
            "capture made the captured amount owed"
        );
        c.open_order(&self.state.orders, oi);
        self.on_capture(at, oi);
        // A credit balance pays new invoices first.
        let credit = self.state.customers[ci as usize].credit;
        if credit.is_positive() {
            let applied = self.pay_down(at, ci, credit).applied();
            let c = &mut self.state.customers[ci as usize];
            assert!(applied <= c.credit, "credit applied beyond the balance");
            c.credit = c.credit.checked_sub(applied).bounded("credit");
            self.post(postings::credit_applied(at, u64::from(oi), ci, applied));
        }
        Ok(Outcome::Order(self.order_view(oi)))
    }

    pub(crate) fn cancel(
        &mut self,
        principal: Principal,
        order: u64,
    ) -> Result<Outcome, CommandError> {
        let oi = self.order_index_for_write(principal, order)?;
        let o = &self.state.orders[oi as usize];
        if !o.status.holds_limit() {
            return Err(status_conflict(o.status, "cancelled"));
        }
        let (ci, amount, product, channel) = (o.customer, o.amount, o.product, o.channel);
        self.state.orders[oi as usize].status = OrderStatus::Cancelled;
        self.state.customers[ci as usize].release(product, channel, amount);
        Ok(Outcome::Order(self.order_view(oi)))
    }

    pub(crate) fn refund(
        &mut self,
        at: At,
        principal: Principal,
        order: u64,
        amount: Yen,
    ) -> Result<Outcome, CommandError> {
        let oi = self.order_index_for_write(principal, order)?;
        let o = &self.state.orders[oi as usize];
        if o.status != OrderStatus::Captured {
            return Err(status_conflict(o.status, "refunded"));
        }
        let refundable = o.refundable();
        if !amount.is_positive() || amount > refundable {
            return Err(CommandError::invalid(
                "refund_exceeds_captured",
                "amount",
                format!("refund must be between ¥1 and the refundable {refundable}"),
            ));
        }
        let owed_before = o.owed();
        let o = &mut self.state.orders[oi as usize];
        o.refunded = o.refunded.checked_add(amount).bounded("refunded");
        if o.refunded == o.captured {
            o.status = OrderStatus::Refunded;
        }
        let owed_after = o.owed();
        let (ci, product, channel) = (o.customer, o.product, o.channel);
        let reduced = owed_before
            .checked_sub(owed_after)
            .bounded("refund reduction");
        // Precondition of what follows: a refund lowers what is owed by at
        // most its amount; the rest was already paid and comes back as credit.
        assert!(
            !reduced.is_negative() && reduced <= amount,
            "refund of {amount} reduced the owed amount by {reduced}"
        );
        let to_credit = amount.checked_sub(reduced).bounded("refund to credit");
        let c = &mut self.state.customers[ci as usize];
        let (outstanding_before, credit_before) = (c.outstanding, c.credit);
        c.settle(product, channel, reduced);
        // What the customer had already paid on the refunded part comes back
        // as a credit balance.
        c.credit = c.credit.checked_add(to_credit).bounded("credit");
        // Postcondition: the refund is split exactly between what is owed
        // and the credit balance.
        assert_eq!(
            outstanding_before
                .checked_sub(c.outstanding)
                .and_then(|d| d.checked_add(c.credit.checked_sub(credit_before)?))
                .bounded("refund split"),
            amount,
            "refund split between owed and credit"
        );
        if owed_before.is_positive() && owed_after == Yen::ZERO {
            c.open_orders.retain(|&x| x != oi);
        }
        self.on_refund(at, oi, reduced, amount);
        self.void_refunded_gift_cards(at, principal, oi);
        Ok(Outcome::Order(self.order_view(oi)))
    }

    /// After a capture: the per-order invoice (or a place on next month's
    /// statement) and the ledger entry.
    pub(crate) fn on_capture(&mut self, at: At, oi: u32) {
        let o = &self.state.orders[oi as usize];
        let (ci, merchant, product, captured) = (o.customer, o.merchant, o.product, o.captured);
        let due_on = o.due_date.unwrap_or_else(|| at.jst_date());
        let c = &mut self.state.customers[ci as usize];
        let method = c.payment_method;
        let b = c.billing.get_or_insert_with(Default::default);
        match product {
            Product::PerOrder => {
                let issued_on = at.jst_date();
                let number = invoice_number(
                    Product::PerOrder,
                    issued_on,
                    ci,
                    id32(b.invoices.len()).checked_add(1).bounded("invoices"),
                );
                b.invoices.push(Invoice {
                    number: number.to_string(),
                    product,
                    order: Some(oi),
                    month: None,
                    issued_on,
                    due_on,
                    method,
                    purchases: captured,
                    fee: Yen::ZERO,
                    membership_fee: Yen::ZERO,
                    orders: 1,
                });
                let i = b.invoices.len().checked_sub(1).bounded("invoices");
                self.post(postings::capture(at, u64::from(oi), ci, merchant, captured));
                self.emit_invoice_issued(at, ci, i);
            }
            Product::Monthly => {
                b.month_orders.push(oi);
                self.post(postings::capture(at, u64::from(oi), ci, merchant, captured));
            }
            // On the partner's monthly bill: no invoice of the provider's
            // own; the partner's settlement file lists the charge.
            Product::Partner(_) => {
                self.post(postings::capture(at, u64::from(oi), ci, merchant, captured));
            }
        }
    }

    /// Ledger entries of a refund of `amount` of which `reduced` lowered
    /// what was owed and the rest came back as credit; points granted on the
    /// refunded amount are taken back.
    pub(crate) fn on_refund(&mut self, at: At, oi: u32, reduced: Yen, amount: Yen) {
        let cfg = self.config.billing.clone();
        let o = &self.state.orders[oi as usize];
        let (ci, merchant, granted) = (o.customer, o.merchant, o.points_granted);
        let tier = if o.points_paid_tier {
            Tier::Paid
        } else {
            Tier::Standard
        };
        let net_after = o.refundable();
        self.post(postings::refund(at, u64::from(oi), ci, merchant, reduced));
        self.issue_credit_note(at, oi, amount);
        let to_credit = amount.checked_sub(reduced).bounded("refund to credit");
        if to_credit.is_positive() {
            self.post(Ok(transfer(
                at,
                EntryKind::Refund,
                u64::from(oi),
                Account::MerchantPayable(merchant),
                Account::CustomerCredit(ci),
                to_credit,
            )));
        }
        if granted > 0 {
            // Points were granted under validated rules, so the same rules
            // compute the claw-back; the wallet takes any positive amount
            // (into a deficit if spent). A failure is a broken invariant.
            let back = points_to_claw_back(Points::new(granted), net_after, tier, &cfg)
                .bounded("points to claw back");
            if back.is_positive() {
                self.state.customers[ci as usize]
                    .billing
                    .as_deref_mut()
                    .bounded("billing state of a customer with points")
                    .points
                    .claw_back(u64::from(oi), back, at.jst_date())
                    .bounded("points claw-back");
                let o = &mut self.state.orders[oi as usize];
                o.points_granted = o.points_granted.checked_sub(back.get()).bounded("points");
                self.post(postings::points_released(
                    at,
                    u64::from(oi),
                    EntryKind::PointsClawBack,
                    back,
                ));
            }
        }
    }

    /// A refund of an order already on an issued invoice or statement: a
    /// credit note against that document.
    pub(crate) fn issue_credit_note(&mut self, at: At, oi: u32, amount: Yen) {
        let o = &self.state.orders[oi as usize];
        let ci = o.customer;
        let month = o.captured_at.map(|t| YearMonth::of(t.jst_date()));
        let product = o.product;
        let today = at.jst_date();
        let Some(b) = self.state.customers[ci as usize].billing.as_deref_mut() else {
            return;
        };
        if product == Product::Monthly && b.month_orders.contains(&oi) {
            // Not invoiced yet: the statement will bill the net amount.
            return;
        }
        if matches!(product, Product::Partner(_)) {
            // The partner's bill, not a document of ours: the settlement
            // file carries the refund.
            return;
        }
        let found = b.invoices.iter().position(|i| match product {
            Product::PerOrder => i.order == Some(oi),
            Product::Monthly => i.product == Product::Monthly && i.month == month,
            Product::Partner(_) => false,
        });
        // Every captured order is on an invoice (per order) or, once its
        // month closed, on that month's statement. Only a catch-up that
        // jumped a gap of over ten idle years leaves older orders on a later
        // statement; there is then no document to note against.
        debug_assert!(found.is_some(), "refunded order {oi} is on no invoice");
        let Some(ii) = found else { return };
        let invoice = b.invoices[ii].number.clone();
        let earlier = Yen::checked_sum(
            b.credit_notes
                .iter()
                .filter(|n| n.invoice == invoice)
                .map(|n| n.amount),
        )
        .bounded("credit notes of one invoice");
        let amount_after = b.invoices[ii]
            .purchases
            .checked_sub(earlier)
            .and_then(|y| y.checked_sub(amount))
            .bounded("invoice amount after credit notes");
        let seq = id32(b.credit_notes.len())
            .checked_add(1)
            .bounded("credit notes");
        let number = credit_note_number(today, ci, seq).to_string();
        b.credit_notes.push(CreditNote {
            number,
            invoice,
            order: oi,
            issued_on: today,
            amount,
            amount_after,
        });
        let note = id32(b.credit_notes.len())
            .checked_sub(1)
            .bounded("credit notes");
        self.emit(
            at,
            EventKind::CreditNoteIssued,
            ci,
            Stored::CreditNote(note),
        );
    }
}
