//! The customer lifecycle: sign-up (SMS-verified phone, parental consent,
//! re-registration screening), identity verification (eKYC), freezes and
//! one-time in-store payment codes. Snapshot version 7 appended its book.
//!
//! Every rule read here comes from the journaled terms
//! (`self.config.lifecycle`, set by `SetTerms`), never from constants.

use super::Engine;
use crate::checked::{Bounded, id32};
use crate::command::{
    AuthorizeInput, EkycResult, EkycStatus, ParentalConsent, Principal, Registration, SignUpFacts,
};
use crate::error::CommandError;
use crate::identity::{IdentityKeys, SessionKeys};
use crate::reason::{Reason, ReasonCode};
use crate::state::CustomerStatus;
use crate::view::Outcome;
use crate::webhook::{EventKind, Stored};
use atobarai_core::lifecycle::Terms;
use atobarai_core::{At, Channel, PaymentMethod, Yen};
use atobarai_identity::LinkKind;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Longest free text kept (freeze reasons, consent, eKYC reasons), chars.
pub const LIFECYCLE_TEXT_CHARS_MAX: usize = 500;
/// Accounts examined per shared key by the re-registration screen.
const SHARING_SCAN_MAX: usize = 200;
/// Evidence items kept per sign-up review.
const EVIDENCE_MAX: usize = 20;

/// The lifecycle's part of the state (snapshot version 7; keep it last).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LifecycleBook {
    /// The terms last journaled (`SetTerms`); a restored snapshot uses
    /// these, not the configuration file.
    pub terms: Option<Box<Terms>>,
    /// Per customer: what the lifecycle knows (only customers it touched).
    pub customers: BTreeMap<u32, CustomerLife>,
    /// Payment codes ever issued, in issue order.
    pub payment_codes: Vec<PaymentCode>,
    /// SMS verifications.
    pub verifications: super::verifications::VerificationBook,
}

/// What the lifecycle knows about one customer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerLife {
    /// Signed up with an SMS-verified phone (or verified one since).
    pub phone_verified: bool,
    /// The last verified change of phone or e-mail.
    pub contact_changed_at: Option<At>,
    /// Identity verification.
    pub ekyc: Option<EkycRecord>,
    /// A parent's consent given at sign-up.
    pub consent: Option<ParentalConsent>,
    /// A freeze in force.
    pub frozen: Option<Freeze>,
    /// A sign-up held for review, and its outcome.
    pub signup_review: Option<SignUpReview>,
}

/// The latest eKYC verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EkycRecord {
    /// The verdict and its checks.
    pub result: EkycResult,
    /// When it arrived.
    pub at: At,
}

/// A freeze the customer asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Freeze {
    /// When.
    pub at: At,
    /// Who froze (the customer's channel or an operator).
    pub by: Principal,
    /// Why.
    pub reason: String,
}

/// Why a sign-up was held: an account sharing a key had trouble.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignUpReview {
    /// When it was held.
    pub at: At,
    /// The shared keys and the trouble behind each.
    pub evidence: Vec<TroubleEvidence>,
    /// `None` while held; the operator's verdict after.
    pub approved: Option<bool>,
}

/// One shared key to an account with trouble.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TroubleEvidence {
    /// Which key the accounts share.
    pub link: LinkKind,
    /// Index of the other account.
    pub customer: u32,
    /// What it did.
    pub trouble: Trouble,
}

/// Past trouble that holds a re-registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Trouble {
    /// Purchases suspended by dunning (a default).
    Defaulted,
    /// Money owed past its due date.
    Overdue,
    /// Bought a gift card that was revoked.
    RevokedGiftCard,
}

impl Trouble {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Trouble::Defaulted => "defaulted",
            Trouble::Overdue => "overdue",
            Trouble::RevokedGiftCard => "revoked_gift_card",
        }
    }
}

/// A one-time in-store payment code (only its keyed hash is kept).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PaymentCode {
    /// Keyed hash of the code.
    pub hash: [u8; 32],
    /// The customer it pays for.
    pub customer: u32,
    /// When it was issued.
    pub issued_at: At,
    /// When it stops working.
    pub expires_at: At,
    /// The most it may pay.
    pub ceiling: Option<Yen>,
    /// The order it paid (or was refused for): a code is spent by its
    /// first use, whatever the decision.
    pub used_by: Option<u32>,
}

/// Lookups derived from the book (rebuilt on restore).
#[derive(Default)]
pub(crate) struct LifecycleIndex {
    code_by_hash: FxHashMap<[u8; 32], u32>,
    /// Per customer: its codes, oldest first.
    codes_of: FxHashMap<u32, Vec<u32>>,
}

impl LifecycleIndex {
    pub(crate) fn rebuild(book: &LifecycleBook) -> LifecycleIndex {
        let mut idx = LifecycleIndex::default();
        for (i, c) in book.payment_codes.iter().enumerate() {
            idx.add_code(id32(i), c);
        }
        idx
    }

    fn add_code(&mut self, i: u32, c: &PaymentCode) {
        self.code_by_hash.insert(c.hash, i);
        self.codes_of.entry(c.customer).or_default().push(i);
    }
}

impl LifecycleBook {
    /// The lifecycle facts of customer `ci` (empty when none).
    pub(crate) fn customer(&self, ci: u32) -> Option<&CustomerLife> {
        self.customers.get(&ci)
    }

    /// The lifecycle facts of customer `ci`, created empty when missing.
    pub(crate) fn customer_mut(&mut self, ci: u32) -> &mut CustomerLife {
        self.customers.entry(ci).or_default()
    }
}

/// A customer's lifecycle as callers see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleView {
    /// Index of the customer.
    pub customer: u32,
    /// The phone was proved by SMS.
    pub phone_verified: bool,
    /// The last verified change of phone or e-mail.
    pub contact_changed_at: Option<At>,
    /// `None` before any eKYC verdict.
    pub ekyc: Option<EkycRecord>,
    /// A parent's consent given at sign-up.
    pub consent: Option<ParentalConsent>,
    /// A freeze in force.
    pub frozen: Option<Freeze>,
    /// A sign-up review (held or decided).
    pub signup_review: Option<SignUpReview>,
    /// Payment codes issued and not yet used or expired.
    pub payment_codes_open: u32,
}

/// A payment code just issued.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedCode {
    /// Index of the code.
    pub code: u64,
    /// Index of the customer.
    pub customer: u32,
    /// When it stops working.
    pub expires_at: At,
    /// The most it may pay.
    pub ceiling: Option<Yen>,
}

impl Engine {
    /// Put the terms in force from now on.
    pub(crate) fn set_terms(&mut self, terms: &Terms) -> Result<Outcome, CommandError> {
        self.config.set_terms(terms.clone());
        self.state.lifecycle.terms = Some(Box::new(terms.clone()));
        Ok(Outcome::TermsSet)
    }

    /// True when the journaled terms equal `terms`.
    pub fn terms_are(&self, terms: &Terms) -> bool {
        self.state.lifecycle.terms.as_deref() == Some(terms)
    }

    /// A sign-up: the registration with its lifecycle facts. Everything is
    /// checked before anything changes.
    pub(crate) fn sign_up(
        &mut self,
        at: At,
        merchant: u32,
        registration: &Registration,
        payment_method: PaymentMethod,
        identity: &IdentityKeys,
        signup: &SignUpFacts,
    ) -> Result<Outcome, CommandError> {
        self.merchant(merchant)?;
        let birth = match registration {
            Registration::Clear(p) => p.birth_date,
            Registration::Sealed(p) => p.born_by,
        };
        if let Some(v) = signup.verification {
            let phone = identity.phone.as_ref().ok_or_else(|| {
                CommandError::invalid(
                    "phone_required",
                    "phone",
                    "a verified sign-up needs the phone that was verified",
                )
            })?;
            self.check_signup_verification(at, v, phone)?;
        }
        let consent_needed = self.check_consent(at, birth, signup.consent.as_ref())?;
        // The registration checks the rest (merchant id, birth date, the
        // age minimum) and changes nothing when it refuses.
        let outcome =
            self.register_signed_up(at, merchant, registration, payment_method, identity)?;
        let ci = id32(
            self.state
                .customers
                .len()
                .checked_sub(1)
                .bounded("new customer"),
        );
        self.state.identity.link_session(ci, at, &signup.session);
        if let Some(v) = signup.verification {
            self.use_verification(v, ci);
        }
        let life = self.state.lifecycle.customer_mut(ci);
        life.phone_verified = signup.verification.is_some();
        if consent_needed {
            life.consent = signup.consent.clone();
        }
        self.hold_if_past_trouble(at, ci, identity, &signup.session);
        // An empty record is no record (keeps the book small).
        if *self.state.lifecycle.customer_mut(ci) == CustomerLife::default() {
            self.state.lifecycle.customers.remove(&ci);
        }
        Ok(match outcome {
            Outcome::Customer(_) => Outcome::Customer(self.customer_view_at(ci, at)),
            other => other,
        })
    }

    /// Whether a customer born on (or by) `birth` needs a parent's consent
    /// under the terms in force, and whether `consent` is acceptable; a
    /// registration without the consent it needs is refused.
    pub(crate) fn check_consent(
        &self,
        at: At,
        birth: atobarai_core::JstDate,
        consent: Option<&ParentalConsent>,
    ) -> Result<bool, CommandError> {
        let rules = &self.config.lifecycle;
        let today = at.jst_date();
        // Below the minimum age the registration refuses on its own
        // (`age_below_minimum`), consent or not.
        let age = birth.age_on(today);
        let needed = rules.consent_below_years > 0
            && birth <= today
            && age >= self.config.credit.age_years_min
            && age < rules.consent_below_years;
        match consent {
            None if needed => Err(CommandError::invalid(
                "parental_consent_required",
                "parental_consent",
                format!(
                    "customers under {} need a parent's consent (who consented and when)",
                    rules.consent_below_years
                ),
            )),
            Some(c) if c.at > at => Err(CommandError::invalid(
                "parental_consent_in_future",
                "parental_consent.at",
                "the consent is dated after the sign-up",
            )),
            Some(c)
                if c.by.trim().is_empty() || c.by.chars().count() > LIFECYCLE_TEXT_CHARS_MAX =>
            {
                Err(CommandError::invalid(
                    "parental_consent_invalid",
                    "parental_consent.by",
                    format!("who consented: 1 to {LIFECYCLE_TEXT_CHARS_MAX} characters"),
                ))
            }
            _ => Ok(needed),
        }
    }

    /// Hold the new account `ci` for review when it shares a key with an
    /// account in trouble (and the terms ask for it). Every registration
    /// command calls this once the account exists.
    pub(crate) fn hold_if_past_trouble(
        &mut self,
        at: At,
        ci: u32,
        identity: &IdentityKeys,
        session: &SessionKeys,
    ) {
        if !self.config.lifecycle.hold_reregistration_with_trouble {
            return;
        }
        let evidence = self.past_trouble(ci, identity, session);
        if !evidence.is_empty() {
            self.state.lifecycle.customer_mut(ci).signup_review = Some(SignUpReview {
                at,
                evidence,
                approved: None,
            });
        }
    }

    /// Accounts sharing a phone, e-mail, address unit or device with `ci`
    /// that defaulted, owe past their due date or bought a revoked gift
    /// card.
    fn past_trouble(
        &self,
        ci: u32,
        identity: &IdentityKeys,
        session: &SessionKeys,
    ) -> Vec<TroubleEvidence> {
        let today = self.state.now.jst_date();
        let keys = [
            (LinkKind::Phone, identity.phone),
            (LinkKind::Email, identity.email),
            (LinkKind::AddressUnit, identity.address_unit),
            (LinkKind::Device, session.device),
        ];
        let mut out = Vec::new();
        for (link, key) in keys {
            let Some(key) = key else { continue };
            for other in self
                .state
                .identity
                .accounts_sharing(link, &key, SHARING_SCAN_MAX)
            {
                if other == ci || out.len() >= EVIDENCE_MAX {
                    continue;
                }
                let c = &self.state.customers[other as usize];
                let trouble = if c.status == CustomerStatus::Suspended {
                    Some(Trouble::Defaulted)
                } else if self.is_overdue(c, today) {
                    Some(Trouble::Overdue)
                } else if self.bought_revoked_gift_card(other) {
                    Some(Trouble::RevokedGiftCard)
                } else {
                    None
                };
                if let Some(trouble) = trouble {
                    out.push(TroubleEvidence {
                        link,
                        customer: other,
                        trouble,
                    });
                }
            }
        }
        out
    }

    /// An identity-verification verdict.
    pub(crate) fn record_ekyc(
        &mut self,
        at: At,
        principal: Principal,
        customer: u64,
        result: &EkycResult,
    ) -> Result<Outcome, CommandError> {
        self.require_operator(principal)?;
        let ci = self.any_customer(customer)?;
        check_text(result.reason.as_deref().unwrap_or(""), "reason", true)?;
        if result.status == EkycStatus::Verified
            && !(result.address_matched && result.name_matched && result.birth_date_matched)
        {
            return Err(CommandError::invalid(
                "ekyc_checks_failed",
                "status",
                "a verified verdict needs the address, name and birth date to match",
            ));
        }
        self.state.lifecycle.customer_mut(ci).ekyc = Some(EkycRecord {
            result: result.clone(),
            at,
        });
        Ok(Outcome::Lifecycle(Box::new(self.lifecycle_view(ci, at))))
    }

    /// Freeze a customer's credit at their request.
    pub(crate) fn freeze_customer(
        &mut self,
        at: At,
        principal: Principal,
        customer: u64,
        reason: &str,
    ) -> Result<Outcome, CommandError> {
        let ci = self.customer_of(principal, customer)?;
        check_text(reason, "reason", true)?;
        let life = self.state.lifecycle.customer_mut(ci);
        if life.frozen.is_none() {
            life.frozen = Some(Freeze {
                at,
                by: principal,
                reason: reason.to_string(),
            });
            self.emit(at, EventKind::CustomerFrozen, ci, Stored::CustomerFrozen);
        }
        Ok(Outcome::Lifecycle(Box::new(self.lifecycle_view(ci, at))))
    }

    /// Lift a freeze (operators only).
    pub(crate) fn unfreeze_customer(
        &mut self,
        at: At,
        principal: Principal,
        customer: u64,
    ) -> Result<Outcome, CommandError> {
        self.require_operator(principal)?;
        let ci = self.any_customer(customer)?;
        if let Some(life) = self.state.lifecycle.customers.get_mut(&ci) {
            life.frozen = None;
        }
        Ok(Outcome::Lifecycle(Box::new(self.lifecycle_view(ci, at))))
    }

    /// An operator's verdict on a held sign-up.
    pub(crate) fn resolve_signup_review(
        &mut self,
        at: At,
        principal: Principal,
        customer: u64,
        approve: bool,
    ) -> Result<Outcome, CommandError> {
        self.require_operator(principal)?;
        let ci = self.any_customer(customer)?;
        let review = self
            .state
            .lifecycle
            .customers
            .get_mut(&ci)
            .and_then(|l| l.signup_review.as_mut())
            .filter(|r| r.approved.is_none())
            .ok_or_else(|| {
                CommandError::conflict("not_in_review", "the sign-up is not held for review")
            })?;
        review.approved = Some(approve);
        if !approve {
            self.state.customers[ci as usize].status = CustomerStatus::Suspended;
        }
        Ok(Outcome::Lifecycle(Box::new(self.lifecycle_view(ci, at))))
    }

    /// Issue a one-time payment code.
    pub(crate) fn issue_payment_code(
        &mut self,
        at: At,
        principal: Principal,
        customer: u64,
        code: [u8; 32],
        ceiling: Option<Yen>,
    ) -> Result<Outcome, CommandError> {
        let ci = self.customer_of(principal, customer)?;
        if let Some(c) = ceiling
            && (!c.is_positive() || c > Yen::AMOUNT_MAX)
        {
            return Err(CommandError::invalid(
                "amount_not_positive",
                "ceiling",
                "a ceiling must be a positive amount",
            ));
        }
        if self.idx.lifecycle.code_by_hash.contains_key(&code) {
            return Err(CommandError::conflict(
                "payment_code_taken",
                "this code was drawn before; draw another",
            ));
        }
        // A code is offered only to a customer who could pay with it.
        if let Some(reason) = self.in_store_gate(ci) {
            return Err(CommandError::conflict(reason.code(), reason.message_en()));
        }
        let open = self.open_codes(ci, at);
        if open >= self.config.lifecycle.payment_codes_open_max {
            return Err(CommandError::conflict(
                "payment_codes_open_max",
                "too many unused payment codes; use or let one expire first",
            ));
        }
        let expires_at = at.plus_ms(
            self.config
                .lifecycle
                .payment_code_ttl_secs
                .checked_mul(1_000)
                .bounded("code ttl"),
        );
        let index = id32(self.state.lifecycle.payment_codes.len());
        let issued = PaymentCode {
            hash: code,
            customer: ci,
            issued_at: at,
            expires_at,
            ceiling,
            used_by: None,
        };
        self.idx.lifecycle.add_code(index, &issued);
        self.state.lifecycle.payment_codes.push(issued);
        Ok(Outcome::PaymentCode(IssuedCode {
            code: u64::from(index),
            customer: ci,
            expires_at,
            ceiling,
        }))
    }

    /// The customer's codes neither used nor expired at `at`. O(the
    /// customer's codes of the last day): codes are issued in time order
    /// and live at most an hour (`payment_code_ttl_secs` ≤ 3600), so the
    /// scan stops at the first one issued over a day before.
    fn open_codes(&self, ci: u32, at: At) -> u32 {
        let Some(codes) = self.idx.lifecycle.codes_of.get(&ci) else {
            return 0;
        };
        let mut n = 0u32;
        for &i in codes.iter().rev() {
            let c = &self.state.lifecycle.payment_codes[i as usize];
            if c.issued_at.plus_ms(86_400_000) < at {
                break;
            }
            if c.used_by.is_none() && c.expires_at > at {
                n = n.saturating_add(1);
            }
        }
        n
    }

    /// A store's authorization with a payment code.
    pub(crate) fn authorize_with_code(
        &mut self,
        at: At,
        merchant: u32,
        code: [u8; 32],
        input: &AuthorizeInput,
        session: &SessionKeys,
    ) -> Result<Outcome, CommandError> {
        self.merchant(merchant)?;
        let &index = self.idx.lifecycle.code_by_hash.get(&code).ok_or_else(|| {
            CommandError::not_found("payment_code_unknown", "payment_code", "payment code")
        })?;
        let c = &self.state.lifecycle.payment_codes[index as usize];
        if c.used_by.is_some() {
            return Err(CommandError::conflict(
                "payment_code_used",
                "this payment code was already used",
            )
            .field("payment_code"));
        }
        if at >= c.expires_at {
            return Err(CommandError::conflict(
                "payment_code_expired",
                "this payment code has expired",
            )
            .field("payment_code"));
        }
        if input.channel != Channel::InStore {
            return Err(CommandError::invalid(
                "channel_not_supported",
                "channel",
                "a payment code pays in store only",
            ));
        }
        let amount = super::authorize::order_amount(input)?;
        if let Some(ceiling) = c.ceiling
            && amount > ceiling
        {
            return Err(CommandError::conflict(
                "payment_code_ceiling_exceeded",
                format!("the order exceeds the code's ceiling of {ceiling}"),
            )
            .field("items"));
        }
        let ci = c.customer;
        let mut input = input.clone();
        input.customer = u64::from(ci);
        let outcome = self.authorize_for(at, merchant, ci, &input, session)?;
        if let Outcome::Order(o) = &outcome {
            self.state.lifecycle.payment_codes[index as usize].used_by = Some(o.order);
        }
        Ok(outcome)
    }

    /// Why an authorization of customer `ci` is declined outright by the
    /// lifecycle: a freeze, a sign-up held or refused.
    pub(crate) fn lifecycle_declines(&self, ci: u32, channel: Channel) -> Vec<Reason> {
        let mut out = Vec::new();
        if let Some(life) = self.state.lifecycle.customer(ci) {
            if life.frozen.is_some() {
                out.push(ReasonCode::CustomerFrozen.into());
            }
            if life
                .signup_review
                .as_ref()
                .is_some_and(|r| r.approved.is_none())
            {
                out.push(ReasonCode::SignUpInReview.into());
            }
        }
        if channel == Channel::InStore
            && let Some(code) = self.in_store_gate(ci)
        {
            out.push(code.into());
        }
        out
    }

    /// `Some(reason)` when the customer may not use in-store credit yet.
    fn in_store_gate(&self, ci: u32) -> Option<ReasonCode> {
        if self.config.lifecycle.ekyc_required_for_in_store && !self.ekyc_verified(ci) {
            Some(ReasonCode::EkycRequired)
        } else {
            None
        }
    }

    pub(crate) fn ekyc_verified(&self, ci: u32) -> bool {
        self.state
            .lifecycle
            .customer(ci)
            .and_then(|l| l.ekyc.as_ref())
            .is_some_and(|e| e.result.status == EkycStatus::Verified)
    }

    /// The in-store cap of an eKYC-verified customer (`None` for the
    /// others: the credit rules' caps apply).
    pub(crate) fn verified_in_store_cap(&self, ci: u32, experienced: bool) -> Option<Yen> {
        let l = &self.config.lifecycle;
        self.ekyc_verified(ci).then_some(if experienced {
            l.in_store_cap_yen
        } else {
            l.in_store_new_customer_cap_yen
        })
    }

    /// A customer's lifecycle as callers see it.
    pub fn lifecycle_view(&self, ci: u32, at: At) -> LifecycleView {
        let life = self
            .state
            .lifecycle
            .customer(ci)
            .cloned()
            .unwrap_or_default();
        LifecycleView {
            customer: ci,
            phone_verified: life.phone_verified,
            contact_changed_at: life.contact_changed_at,
            ekyc: life.ekyc,
            consent: life.consent,
            frozen: life.frozen,
            signup_review: life.signup_review,
            payment_codes_open: self.open_codes(ci, at),
        }
    }

    /// The lifecycle of customer `customer` as `principal` may see it.
    pub fn customer_lifecycle(
        &self,
        principal: Principal,
        customer: u64,
    ) -> Result<LifecycleView, CommandError> {
        let ci = self.customer_index(principal, customer)?;
        Ok(self.lifecycle_view(ci, self.state.now))
    }

    /// Customer `customer` as `principal` may act on it: its own merchant,
    /// an admin operator, the command line.
    fn customer_of(&self, principal: Principal, customer: u64) -> Result<u32, CommandError> {
        self.customer_index_for_write(principal, customer)
    }

    fn any_customer(&self, customer: u64) -> Result<u32, CommandError> {
        self.customer_index(Principal::System, customer)
    }

    fn require_operator(&self, principal: Principal) -> Result<(), CommandError> {
        super::access::check_admin(principal, "only an admin operator may do this")
    }
}

fn check_text(s: &str, field: &'static str, may_be_empty: bool) -> Result<(), CommandError> {
    let n = s.chars().count();
    if (!may_be_empty && n == 0) || n > LIFECYCLE_TEXT_CHARS_MAX {
        return Err(CommandError::invalid(
            "text_length",
            field,
            format!("at most {LIFECYCLE_TEXT_CHARS_MAX} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The snapshot upgrade 6 → 7 appends exactly an empty book.
    #[test]
    fn the_frozen_empty_book_is_the_empty_books_encoding() {
        assert_eq!(
            postcard::to_stdvec(&LifecycleBook::default()).unwrap(),
            crate::format::snapshot::EMPTY_LIFECYCLE_BOOK_V7
        );
    }
}
