//! Read-only queries: customers, orders, balances, invoices.

use super::Engine;
use crate::billing::{BalanceView, CreditNote, CustomerBilling, Invoice};
use crate::checked::Bounded;
use crate::command::Principal;
use crate::error::CommandError;
use crate::exposure::cluster_available;
use crate::identity::IdentityView;
use crate::prefix;
use crate::view::AvailableScope;
use crate::view::{CustomerView, OrderView, PaymentView};
use atobarai_core::{At, Yen, ids};

impl Engine {
    /// A customer by public id (`cus_…`), if `principal` may see it.
    pub fn customer(&self, principal: Principal, id: &str) -> Result<CustomerView, CommandError> {
        let customer = ids::decode(prefix::CUSTOMER, id)
            .ok_or_else(|| CommandError::not_found("customer_not_found", "id", "customer"))?;
        let ci = self
            .customer_index(principal, customer)
            .map_err(|e| e.field("id"))?;
        Ok(self.customer_view_at(ci, self.state.now))
    }

    /// Who a customer is linked to (operators only): its identity cluster,
    /// the members with their links and the evidence chain to each, and the
    /// accounts sharing only an address or a recent IP.
    pub fn identity(&self, principal: Principal, id: &str) -> Result<IdentityView, CommandError> {
        match principal {
            Principal::Merchant(_) => {
                return Err(CommandError::forbidden("identity is for operators"));
            }
            // A payment channel needs a customer and its balance, never who
            // the customer is linked to.
            Principal::Operator(_, crate::command::Role::Payments) => {
                return Err(CommandError::forbidden(
                    "identity is not for payment-channel keys",
                ));
            }
            Principal::Operator(..) | Principal::System => {}
        }
        let customer = ids::decode(prefix::CUSTOMER, id)
            .ok_or_else(|| CommandError::not_found("customer_not_found", "id", "customer"))?;
        let ci = self
            .customer_index(principal, customer)
            .map_err(|e| e.field("id"))?;
        self.state
            .identity
            .view(ci, self.state.now)
            .ok_or_else(|| CommandError::not_found("customer_not_found", "id", "customer"))
    }

    /// An order by public id (`ord_…`), if `principal` may see it.
    pub fn order(&self, principal: Principal, id: &str) -> Result<OrderView, CommandError> {
        let order = ids::decode(prefix::ORDER, id)
            .ok_or_else(|| CommandError::not_found("order_not_found", "id", "order"))?;
        let oi = self.order_index(principal, order)?;
        Ok(self.order_view(oi))
    }

    /// The figure decisions use: the account's available, capped by its
    /// identity cluster's when it has one.
    pub(crate) fn decision_available(&self, ci: u32, at: At) -> (Yen, AvailableScope) {
        let c = &self.state.customers[ci as usize];
        let today = at.jst_date();
        match self
            .state
            .identity
            .cluster_credit(ci, &self.state.customers, |m| self.is_overdue(m, today))
        {
            Some(k) => (
                c.available().min(cluster_available(&k, c)),
                AvailableScope::IdentityCluster,
            ),
            None => (c.available(), AvailableScope::Account),
        }
    }

    pub(crate) fn customer_view_at(&self, ci: u32, at: At) -> CustomerView {
        let c = &self.state.customers[ci as usize];
        let (available, available_scope) = self.decision_available(ci, at);
        CustomerView {
            customer: ci,
            external_id: c.profile.external_id.clone(),
            limit: c.limit,
            exposure: c.exposure(),
            available,
            available_scope,
            account_available: c.available(),
            status: c.status,
            payment_method: c.payment_method,
            payment_method_next: c.pending_method,
            held: c.held,
            outstanding: c.outstanding,
            credit_balance: c.credit,
            per_order_exposure: c.per_order_exposure,
            in_store_exposure: c.in_store_exposure,
            overdue: self.is_overdue(c, at.jst_date()),
            created_at: c.created_at,
            tier: c
                .billing
                .as_deref()
                .map_or(atobarai_billing::points::Tier::Standard, |b| {
                    b.tier_on(at.jst_date())
                }),
            tier_ends_after: c
                .billing
                .as_deref()
                .and_then(|b| b.membership)
                .and_then(|m| m.ends_after),
        }
    }

    pub(crate) fn order_view(&self, oi: u32) -> OrderView {
        let o = &self.state.orders[oi as usize];
        OrderView {
            order: oi,
            customer: o.customer,
            merchant_order_id: o.merchant_order_id.clone(),
            product: o.product,
            channel: o.channel,
            status: o.status,
            decision: o.decision,
            amount: o.amount,
            captured: o.captured,
            refunded: o.refunded,
            paid: o.paid,
            available_after: o.available_after,
            reasons: o.reasons.iter().map(|r| r.code).collect(),
            due_date: o.due_date,
            authorized_at: o.authorized_at,
            captured_at: o.captured_at,
            risk: self.order_risk(oi),
        }
    }

    pub(crate) fn payment_view(&self, pi: u32) -> PaymentView {
        let p = &self.state.payments[pi as usize];
        PaymentView {
            payment: pi,
            customer: p.customer,
            amount: p.amount,
            applied: p.applied,
            channel: p.channel.clone(),
            reference: p.reference.clone(),
            exposure_after: p.exposure_after,
            available_after: p.available_after,
            received_at: p.at,
            reversed: p.reversed.as_deref().cloned(),
        }
    }

    pub(crate) fn customer_from_id(
        &self,
        principal: Principal,
        id: &str,
    ) -> Result<u32, CommandError> {
        let customer = ids::decode(prefix::CUSTOMER, id)
            .ok_or_else(|| CommandError::not_found("customer_not_found", "id", "customer"))?;
        self.customer_index(principal, customer)
            .map_err(|e| e.field("id"))
    }

    /// What a customer owes today, by kind.
    pub fn balance(&self, principal: Principal, id: &str) -> Result<BalanceView, CommandError> {
        let ci = self.customer_from_id(principal, id)?;
        let c = &self.state.customers[ci as usize];
        let today = self.state.now.jst_date();
        let b = c.billing.as_deref();
        let get = |f: fn(&CustomerBilling) -> Yen| b.map_or(Yen::ZERO, f);
        let (fees, late_fees, damages, returned) = (
            get(|b| b.fees_owed),
            get(|b| b.late_fees_owed),
            get(|b| b.damages_owed),
            get(|b| b.reversal_owed),
        );
        let overdue = self.is_overdue(c, today);
        Ok(BalanceView {
            customer: ci,
            principal: c.outstanding,
            fees,
            late_fees,
            delay_damages: damages,
            returned_payments: returned,
            points: b.map_or(0, |b| b.points.balance(today).get()),
            total: Yen::checked_sum([c.outstanding, fees, late_fees, damages, returned])
                .bounded("balance total"),
            overdue,
            credit_balance: c.credit,
            dunning: b.map_or_else(Vec::new, |b| b.dunning.clone()),
        })
    }

    /// A customer's invoices and statements, newest last.
    pub fn invoices(
        &self,
        principal: Principal,
        id: &str,
    ) -> Result<(u32, Vec<Invoice>, Vec<CreditNote>), CommandError> {
        let ci = self.customer_from_id(principal, id)?;
        let c = &self.state.customers[ci as usize];
        let b = c.billing.as_deref();
        Ok((
            ci,
            b.map_or_else(Vec::new, |b| b.invoices.clone()),
            b.map_or_else(Vec::new, |b| b.credit_notes.clone()),
        ))
    }

    /// One invoice by its number (which names its customer).
    pub fn invoice(
        &self,
        principal: Principal,
        number: &str,
    ) -> Result<(u32, Invoice, Vec<CreditNote>), CommandError> {
        let not_found = || CommandError::not_found("invoice_not_found", "id", "invoice");
        if !atobarai_billing::invoice::InvoiceNumber::is_valid(number) {
            return Err(not_found());
        }
        let customer: u64 = number
            .split('-')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(not_found)?;
        let ci = self
            .customer_index(principal, customer)
            .map_err(|_| not_found())?;
        let c = &self.state.customers[ci as usize];
        let b = c.billing.as_deref().ok_or_else(not_found)?;
        let invoice = b
            .invoices
            .iter()
            .find(|i| i.number == number)
            .ok_or_else(not_found)?;
        let notes = b
            .credit_notes
            .iter()
            .filter(|n| n.invoice == number)
            .cloned()
            .collect();
        Ok((ci, invoice.clone(), notes))
    }

    /// A customer's credit notes, oldest first.
    pub fn credit_notes(
        &self,
        principal: Principal,
        id: &str,
    ) -> Result<Vec<CreditNote>, CommandError> {
        let ci = self.customer_from_id(principal, id)?;
        Ok(self.state.customers[ci as usize]
            .billing
            .as_deref()
            .map_or_else(Vec::new, |b| b.credit_notes.clone()))
    }
}
