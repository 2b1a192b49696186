//! An order after its decision: capture, cancel, refund, and the
//! invoices, ledger entries and credit notes they produce.

use super::Engine;
use super::access::status_conflict;
use crate::billing::{CreditNote, Invoice, Tier};
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
use atobarai_core::{At, Channel, Product, Yen};
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
        let due_date = due::due_date(&self.config.billing, product, today, |on| {
            due::method_in_effect(current, pending, on)
        });

        let o = &mut self.state.orders[oi as usize];
        o.status = OrderStatus::Captured;
        o.captured = captured;
        o.captured_at = Some(at);
        o.due_date = Some(due_date);
        let c = &mut self.state.customers[ci as usize];
        let released = Yen::new(authorized.get() - captured.get());
        c.held = Yen::new(c.held.get() - authorized.get());
        c.outstanding = Yen::new(c.outstanding.get() + captured.get());
        if product == Product::PerOrder {
            c.per_order_exposure = Yen::new(c.per_order_exposure.get() - released.get());
        }
        if channel == Channel::InStore {
            c.in_store_exposure = Yen::new(c.in_store_exposure.get() - released.get());
        }
        c.open_order(&self.state.orders, oi);
        self.on_capture(at, oi);
        // A credit balance pays new invoices first.
        let credit = self.state.customers[ci as usize].credit;
        if credit.is_positive() {
            let applied = self.pay_down(at, ci, credit).applied();
            let c = &mut self.state.customers[ci as usize];
            c.credit = Yen::new(c.credit.get() - applied.get());
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
        self.release_hold(ci, amount, product, channel);
        Ok(Outcome::Order(self.order_view(oi)))
    }

    pub(crate) fn release_hold(
        &mut self,
        ci: u32,
        amount: Yen,
        product: Product,
        channel: Channel,
    ) {
        let c = &mut self.state.customers[ci as usize];
        c.held = Yen::new(c.held.get() - amount.get());
        if product == Product::PerOrder {
            c.per_order_exposure = Yen::new(c.per_order_exposure.get() - amount.get());
        }
        if channel == Channel::InStore {
            c.in_store_exposure = Yen::new(c.in_store_exposure.get() - amount.get());
        }
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
        let refundable = Yen::new(o.captured.get() - o.refunded.get());
        if !amount.is_positive() || amount > refundable {
            return Err(CommandError::invalid(
                "refund_exceeds_captured",
                "amount",
                format!("refund must be between ¥1 and the refundable {refundable}"),
            ));
        }
        let owed_before = o.owed();
        let o = &mut self.state.orders[oi as usize];
        o.refunded = Yen::new(o.refunded.get() + amount.get());
        if o.refunded == o.captured {
            o.status = OrderStatus::Refunded;
        }
        let owed_after = o.owed();
        let (ci, product, channel) = (o.customer, o.product, o.channel);
        let reduced = owed_before.get() - owed_after.get();
        let c = &mut self.state.customers[ci as usize];
        c.settle(product, channel, reduced);
        // What the customer had already paid on the refunded part comes back
        // as a credit balance.
        c.credit = Yen::new(c.credit.get() + (amount.get() - reduced));
        if owed_before.is_positive() && owed_after == Yen::ZERO {
            c.open_orders.retain(|&x| x != oi);
        }
        self.on_refund(at, oi, Yen::new(reduced), amount);
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
                    b.invoices.len() as u32 + 1,
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
                let i = b.invoices.len() - 1;
                self.post(postings::capture(at, u64::from(oi), ci, merchant, captured));
                self.emit_invoice_issued(at, ci, i);
            }
            Product::Monthly => {
                b.month_orders.push(oi);
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
        let net_after = Yen::new(o.captured.get() - o.refunded.get());
        self.post(postings::refund(at, u64::from(oi), ci, merchant, reduced));
        self.issue_credit_note(at, oi, amount);
        let to_credit = Yen::new(amount.get() - reduced.get());
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
        if granted > 0
            && let Ok(back) = points_to_claw_back(Points::new(granted), net_after, tier, &cfg)
            && back.is_positive()
        {
            let taken = self.state.customers[ci as usize]
                .billing
                .as_deref_mut()
                .map(|b| {
                    b.points
                        .claw_back(u64::from(oi), back, at.jst_date())
                        .is_ok()
                })
                .unwrap_or(false);
            if taken {
                self.state.orders[oi as usize].points_granted -= back.get();
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
        let found = b.invoices.iter().position(|i| match product {
            Product::PerOrder => i.order == Some(oi),
            Product::Monthly => i.product == Product::Monthly && i.month == month,
        });
        let Some(ii) = found else { return };
        let invoice = b.invoices[ii].number.clone();
        let earlier: i64 = b
            .credit_notes
            .iter()
            .filter(|n| n.invoice == invoice)
            .map(|n| n.amount.get())
            .sum();
        let amount_after = Yen::new(b.invoices[ii].purchases.get() - earlier - amount.get());
        let number = credit_note_number(today, ci, b.credit_notes.len() as u32 + 1).to_string();
        b.credit_notes.push(CreditNote {
            number,
            invoice,
            order: oi,
            issued_on: today,
            amount,
            amount_after,
        });
        let note = (b.credit_notes.len() - 1) as u32;
        self.emit(
            at,
            EventKind::CreditNoteIssued,
            ci,
            Stored::CreditNote(note),
        );
    }
}
