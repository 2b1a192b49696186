//! Contact verification (issue 14 item 2): a code sent by SMS (or e-mail)
//! to a phone number (or address) the customer claims, confirmed before a
//! sign-up or a change of contact is accepted.
//!
//! The shell draws the code, journals [`Command::StartVerification`] with
//! only its keyed hash (HMAC under `sms.code_secret`) and the identity keys
//! of the target and of the requesting IP network, and sends the message
//! once the command is durable. Everything that limits abuse is decided
//! here, from the journaled terms (`lifecycle.verification_*`), so it holds
//! across restarts and failover and replays the same:
//!
//! - at most `verification_sends_per_phone_hour` codes to one target and
//!   `verification_sends_per_ip_hour` from one IP network in any hour
//!   (`verification_rate_limited`, field `phone` or `ip`; nothing written);
//! - a code may be confirmed for `verification_ttl_secs`
//!   (`verification_expired`);
//! - a wrong code is an outcome (journaled, `attempts_left` falls) and after
//!   `verification_attempts_max` wrong codes the verification is spent
//!   (`verification_attempts_exhausted`);
//! - a confirmed verification may complete one sign-up or one contact
//!   change within [`USE_WINDOW_SECS`] of its confirmation, once
//!   (`verification_used`).
//!
//! Verifications live in a queue by id (ids are consecutive); those past
//! their use window are dropped from the front as new ones start, so the
//! book holds about an hour and a half of traffic, never all history. An id
//! below the queue's front answers `verification_expired`.
//!
//! [`Command::StartVerification`]: crate::command::Command::StartVerification

use super::Engine;
use crate::command::{ContactKind, Principal};
use crate::error::{CommandError, ErrorKind};
use crate::view::Outcome;
use atobarai_core::At;
use atobarai_core::lifecycle::LifecycleConfig;
use atobarai_identity::KeyHash;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// How long after its confirmation a verification may complete a sign-up
/// or a contact change, seconds.
pub const USE_WINDOW_SECS: i64 = 3_600;
/// `customer.contact_changed_days` of a customer whose phone and e-mail
/// never changed.
pub const CONTACT_NEVER_CHANGED_DAYS: i64 = 99_999;
/// The rate limits' window, milliseconds.
const HOUR_MS: i64 = 3_600_000;

/// One verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Verification {
    /// Who asked for it (only the same merchant may confirm and use it).
    pub(crate) by: Principal,
    /// A phone number or an e-mail address.
    pub(crate) channel: ContactKind,
    /// The identity key of the target (phone or e-mail).
    pub(crate) target: KeyHash,
    /// The requesting IP network's key, if known.
    pub(crate) ip: Option<KeyHash>,
    /// Keyed hash of the code sent.
    pub(crate) code: [u8; 32],
    pub(crate) created: At,
    pub(crate) expires: At,
    /// Wrong codes so far.
    pub(crate) wrong: u32,
    /// When the right code was confirmed.
    pub(crate) verified_at: Option<At>,
    /// The customer whose sign-up or contact change used it.
    pub(crate) used_by: Option<u32>,
}

/// Verifications started, confirmed and used, the send counters of the
/// last hour, and the login ids (verified phones) of customers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct VerificationBook {
    /// The id of `live[0]`.
    first: u64,
    /// Verifications from `first` on, by id.
    live: VecDeque<Verification>,
    /// Verifications from this id on are counted in `per_target`/`per_ip`
    /// (started within the last hour).
    counted_from: u64,
    /// Codes sent per target in the last hour.
    per_target: BTreeMap<KeyHash, u32>,
    /// Codes requested per IP network in the last hour.
    per_ip: BTreeMap<KeyHash, u32>,
    /// Verified phones that are a customer's login id.
    logins: BTreeMap<KeyHash, u32>,
    /// Per customer: the last verified contact change.
    changes: BTreeMap<u32, ContactChange>,
}

/// A verified change of a customer's phone or e-mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactChange {
    /// Phone or e-mail.
    pub channel: ContactKind,
    /// The identity key of the new phone or e-mail.
    pub target: KeyHash,
    /// When it changed.
    pub at: At,
}

/// What a verification looks like from outside.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationView {
    /// Index of the verification.
    pub verification: u64,
    /// Phone or e-mail.
    pub channel: ContactKind,
    /// When the code was sent.
    pub created_at: At,
    /// Until when the code may be confirmed.
    pub expires_at: At,
    /// Wrong codes still allowed.
    pub attempts_left: u32,
    /// When the right code was confirmed.
    pub verified_at: Option<At>,
    /// The customer whose sign-up or contact change used it.
    pub used_by: Option<u64>,
}

fn expired(what: &str) -> CommandError {
    CommandError::new(
        ErrorKind::Conflict,
        "verification_expired",
        format!("this verification {what}; start a new one"),
    )
    .field("id")
}

fn not_found() -> CommandError {
    CommandError::not_found("verification_not_found", "id", "verification")
}

fn used() -> CommandError {
    CommandError::conflict(
        "verification_used",
        "this verification was already used; start a new one",
    )
    .field("verification")
}

/// Constant-time equality of two code hashes.
fn same_code(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl VerificationBook {
    /// The verification `id`: not found (never started, or another
    /// merchant's), or expired (dropped from the book).
    fn get(&self, id: u64, by: Principal) -> Result<&Verification, CommandError> {
        if id < self.first {
            return Err(expired("has expired"));
        }
        let v = usize::try_from(id.saturating_sub(self.first))
            .ok()
            .and_then(|i| self.live.get(i))
            .ok_or_else(not_found)?;
        if !same_owner(by, v.by) {
            return Err(not_found());
        }
        Ok(v)
    }

    fn get_mut(&mut self, id: u64) -> Option<&mut Verification> {
        let i = usize::try_from(id.checked_sub(self.first)?).ok()?;
        self.live.get_mut(i)
    }

    fn next_id(&self) -> u64 {
        self.first.saturating_add(self.live.len() as u64)
    }

    /// Forget counts older than an hour and verifications past their use.
    fn expire(&mut self, at: At) {
        let hour_ago = at.plus_ms(-HOUR_MS);
        while let Some(v) = usize::try_from(self.counted_from.saturating_sub(self.first))
            .ok()
            .and_then(|i| self.live.get(i))
            .filter(|v| v.created <= hour_ago)
        {
            decrement(&mut self.per_target, &v.target);
            if let Some(ip) = v.ip {
                decrement(&mut self.per_ip, &ip);
            }
            self.counted_from = self.counted_from.saturating_add(1);
        }
        let used_before = at.plus_ms(-USE_WINDOW_SECS * 1_000);
        while self
            .live
            .front()
            .is_some_and(|v| v.expires <= used_before && self.first < self.counted_from)
        {
            self.live.pop_front();
            self.first = self.first.saturating_add(1);
        }
    }

    /// Start a verification (checks first, then changes).
    fn start(
        &mut self,
        terms: &LifecycleConfig,
        at: At,
        v: Verification,
    ) -> Result<u64, CommandError> {
        self.expire(at);
        let limited = |field: &'static str, what: &str, n: u32| {
            CommandError::new(
                ErrorKind::Conflict,
                "verification_rate_limited",
                format!("too many codes requested for this {what} in the last hour (at most {n})"),
            )
            .field(field)
        };
        let phone_field = match v.channel {
            ContactKind::Phone => "phone",
            ContactKind::Email => "email",
        };
        let sends = terms.verification_sends_per_phone_hour;
        if self.per_target.get(&v.target).copied().unwrap_or(0) >= sends {
            return Err(limited(phone_field, phone_field, sends));
        }
        let sends_ip = terms.verification_sends_per_ip_hour;
        if let Some(ip) = &v.ip
            && self.per_ip.get(ip).copied().unwrap_or(0) >= sends_ip
        {
            return Err(limited("ip", "IP network", sends_ip));
        }
        let n = self.per_target.entry(v.target).or_default();
        *n = n.saturating_add(1);
        if let Some(ip) = v.ip {
            let n = self.per_ip.entry(ip).or_default();
            *n = n.saturating_add(1);
        }
        let id = self.next_id();
        self.live.push_back(v);
        Ok(id)
    }

    /// Confirm a code: `(verified, attempts_left)`; a wrong code is counted.
    fn confirm(
        &mut self,
        terms: &LifecycleConfig,
        at: At,
        by: Principal,
        id: u64,
        code: &[u8; 32],
    ) -> Result<(bool, u32), CommandError> {
        let max = terms.verification_attempts_max;
        let v = self.get(id, by)?;
        if v.used_by.is_some() || v.verified_at.is_some() {
            return Err(used().field("id"));
        }
        if v.wrong >= max {
            return Err(CommandError::conflict(
                "verification_attempts_exhausted",
                "too many wrong codes for this verification; start a new one",
            )
            .field("code"));
        }
        if at >= v.expires {
            return Err(expired("has expired"));
        }
        let right = same_code(&v.code, code);
        let Some(v) = self.get_mut(id) else {
            return Err(not_found());
        };
        if right {
            v.verified_at = Some(at);
        } else {
            v.wrong = v.wrong.saturating_add(1);
        }
        Ok((right, max.saturating_sub(v.wrong)))
    }

    /// Is verification `id` confirmed, unused, within its use window, of
    /// `channel` (when given), and for `target` (when given)? Its channel
    /// and target.
    fn check_usable(
        &self,
        at: At,
        by: Principal,
        id: u64,
        channel: Option<ContactKind>,
        target: Option<&KeyHash>,
    ) -> Result<(ContactKind, KeyHash), CommandError> {
        let v = self.get(id, by).map_err(|e| e.field("verification"))?;
        if v.used_by.is_some() {
            return Err(used());
        }
        let Some(verified) = v.verified_at else {
            return Err(CommandError::conflict(
                "verification_unconfirmed",
                "this verification's code was not confirmed",
            )
            .field("verification"));
        };
        if at >= verified.plus_ms(USE_WINDOW_SECS * 1_000) {
            return Err(expired("was confirmed too long ago").field("verification"));
        }
        if channel.is_some_and(|c| c != v.channel) {
            return Err(CommandError::invalid(
                "verification_mismatch",
                "verification",
                "this verification is for another kind of contact",
            ));
        }
        if target.is_some_and(|t| *t != v.target) {
            return Err(CommandError::invalid(
                "verification_mismatch",
                "phone",
                "this verification is for another phone number",
            ));
        }
        Ok((v.channel, v.target))
    }

    /// The customer whose login id `phone` is.
    pub(crate) fn login_of(&self, phone: &KeyHash) -> Option<u32> {
        self.logins.get(phone).copied()
    }

    /// For a sign-up: `verification` is a confirmed phone verification for
    /// `phone`, unused, confirmed less than [`USE_WINDOW_SECS`] ago, and
    /// the phone is no customer's login id yet. (Whoever asked for the
    /// verification, knowing the code for this phone is what counts.)
    pub(crate) fn check_signup_verification(
        &self,
        at: At,
        verification: u64,
        phone: &KeyHash,
    ) -> Result<(), CommandError> {
        let anyone = Principal::System;
        self.check_usable(
            at,
            anyone,
            verification,
            Some(ContactKind::Phone),
            Some(phone),
        )?;
        if self.logins.contains_key(phone) {
            return Err(CommandError::conflict(
                "phone_registered",
                "this phone number is already another customer's login id",
            )
            .field("phone"));
        }
        Ok(())
    }

    /// Mark `verification` used by `customer`'s sign-up (after
    /// [`Self::check_signup_verification`]): its phone becomes the
    /// customer's login id.
    pub(crate) fn use_verification(&mut self, verification: u64, customer: u32) {
        let Some(v) = self.get_mut(verification) else {
            return;
        };
        v.used_by = Some(customer);
        if v.channel == ContactKind::Phone {
            let phone = v.target;
            self.logins.insert(phone, customer);
        }
    }

    /// A view of verification `id` (for `by`).
    pub(crate) fn view(
        &self,
        terms: &LifecycleConfig,
        by: Principal,
        id: u64,
    ) -> Result<VerificationView, CommandError> {
        let v = self.get(id, by)?;
        Ok(VerificationView {
            verification: id,
            channel: v.channel,
            created_at: v.created,
            expires_at: v.expires,
            attempts_left: terms.verification_attempts_max.saturating_sub(v.wrong),
            verified_at: v.verified_at,
            used_by: v.used_by.map(u64::from),
        })
    }
}

fn decrement(map: &mut BTreeMap<KeyHash, u32>, key: &KeyHash) {
    if let Some(n) = map.get_mut(key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(key);
        }
    }
}

/// Merchants see only their own verifications; operators and the command
/// line see every one.
fn same_owner(caller: Principal, owner: Principal) -> bool {
    match caller {
        Principal::Merchant(_) => caller == owner,
        Principal::Operator(..) | Principal::System => true,
    }
}

/// Who may start, confirm and use verifications: merchants (their sign-up
/// apps), admin operators (the provider's own app) and the command line.
fn check_verifier(principal: Principal) -> Result<(), CommandError> {
    super::access::check_writer(principal)
}

impl Engine {
    /// `StartVerification`.
    pub(crate) fn start_verification(
        &mut self,
        at: At,
        principal: Principal,
        channel: ContactKind,
        target: KeyHash,
        code: [u8; 32],
        ip: Option<KeyHash>,
    ) -> Result<Outcome, CommandError> {
        check_verifier(principal)?;
        if let Principal::Merchant(m) = principal {
            self.merchant(m)?;
        }
        let terms = &self.config.lifecycle;
        let ttl_ms = terms.verification_ttl_secs.saturating_mul(1_000);
        let v = Verification {
            by: principal,
            channel,
            target,
            ip,
            code,
            created: at,
            expires: at.plus_ms(ttl_ms),
            wrong: 0,
            verified_at: None,
            used_by: None,
        };
        let book = &mut self.state.lifecycle.verifications;
        let id = book.start(terms, at, v)?;
        let view = book.view(terms, principal, id)?;
        Ok(Outcome::Verification(Box::new(view)))
    }

    /// `ConfirmVerification`: a wrong code changes state (one attempt fewer).
    pub(crate) fn confirm_verification(
        &mut self,
        at: At,
        principal: Principal,
        verification: u64,
        code: &[u8; 32],
    ) -> Result<Outcome, CommandError> {
        check_verifier(principal)?;
        let terms = &self.config.lifecycle;
        let book = &mut self.state.lifecycle.verifications;
        let (verified, attempts_left) = book.confirm(terms, at, principal, verification, code)?;
        Ok(Outcome::VerificationChecked {
            verification,
            verified,
            attempts_left,
        })
    }

    /// `ChangeContact`: customer `customer`'s phone or e-mail is now the
    /// target of `verification` (confirmed, unused). A changed phone
    /// becomes the customer's login id.
    pub(crate) fn change_contact(
        &mut self,
        at: At,
        principal: Principal,
        customer: u64,
        verification: u64,
    ) -> Result<Outcome, CommandError> {
        check_verifier(principal)?;
        let ci = self.customer_index_for_write(principal, customer)?;
        let book = &self.state.lifecycle.verifications;
        let (channel, target) = book.check_usable(at, principal, verification, None, None)?;
        if channel == ContactKind::Phone && book.login_of(&target).is_some_and(|c| c != ci) {
            return Err(CommandError::conflict(
                "phone_registered",
                "this phone number is already another customer's login id",
            )
            .field("verification"));
        }
        let book = &mut self.state.lifecycle.verifications;
        if channel == ContactKind::Phone {
            book.logins.retain(|_, c| *c != ci);
        }
        book.use_verification(verification, ci);
        book.changes.insert(
            ci,
            ContactChange {
                channel,
                target,
                at,
            },
        );
        // The new contact links the account as a registration's would.
        let kind = match channel {
            ContactKind::Phone => atobarai_identity::LinkKind::Phone,
            ContactKind::Email => atobarai_identity::LinkKind::Email,
        };
        let before = self.state.identity.cluster_size(ci);
        self.state.identity.link_contact(ci, at, kind, target);
        if self.state.identity.cluster_size(ci) > before {
            self.score_linked(at, ci);
        }
        let life = self.state.lifecycle.customer_mut(ci);
        life.contact_changed_at = Some(at);
        if channel == ContactKind::Phone {
            life.phone_verified = true;
        }
        Ok(Outcome::ContactChanged {
            customer,
            channel,
            at,
        })
    }

    /// For the sign-up command: see
    /// [`VerificationBook::check_signup_verification`].
    pub(crate) fn check_signup_verification(
        &self,
        at: At,
        verification: u64,
        phone: &KeyHash,
    ) -> Result<(), CommandError> {
        self.state
            .lifecycle
            .verifications
            .check_signup_verification(at, verification, phone)
    }

    /// For the sign-up command, after its checks: the verification is
    /// spent and its phone becomes `customer`'s login id.
    pub(crate) fn use_verification(&mut self, verification: u64, customer: u32) {
        self.state
            .lifecycle
            .verifications
            .use_verification(verification, customer);
    }

    /// The risk features `customer.phone_verified` and
    /// `customer.contact_changed_days` ([`CONTACT_NEVER_CHANGED_DAYS`] when
    /// the contact never changed) of customer `ci` at `now_ms`.
    pub(crate) fn contact_features(&self, ci: u32, now_ms: i64) -> (bool, i64) {
        let life = self.state.lifecycle.customers.get(&ci);
        let verified = life.is_some_and(|l| l.phone_verified);
        let days =
            life.and_then(|l| l.contact_changed_at)
                .map_or(CONTACT_NEVER_CHANGED_DAYS, |t| {
                    (now_ms.saturating_sub(t.unix_ms()) / 86_400_000)
                        .clamp(0, CONTACT_NEVER_CHANGED_DAYS)
                });
        (verified, days)
    }

    /// A verification, as `principal` may see it.
    pub fn verification(
        &self,
        principal: Principal,
        verification: u64,
    ) -> Result<VerificationView, CommandError> {
        self.state
            .lifecycle
            .verifications
            .view(&self.config.lifecycle, principal, verification)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: Principal = Principal::Merchant(0);

    fn key(b: u8) -> KeyHash {
        KeyHash([b; 16])
    }

    fn at(secs: i64) -> At {
        At::from_unix_ms(1_700_000_000_000).plus_ms(secs.saturating_mul(1_000))
    }

    fn verification(phone: u8, ip: Option<u8>, code: u8, when: At) -> Verification {
        Verification {
            by: M,
            channel: ContactKind::Phone,
            target: key(phone),
            ip: ip.map(key),
            code: [code; 32],
            created: when,
            expires: when.plus_ms(600_000),
            wrong: 0,
            verified_at: None,
            used_by: None,
        }
    }

    #[test]
    fn the_empty_book_encodes_as_the_snapshot_upgrade_appends_it() {
        let bytes = postcard::to_stdvec(&VerificationBook::default()).unwrap();
        let len = crate::format::snapshot::EMPTY_VERIFICATION_BOOK_V7_LEN;
        assert_eq!(bytes, vec![0u8; len]);
    }

    #[test]
    fn right_code_verifies_once_and_signs_up_once() {
        let t = LifecycleConfig::default();
        let mut b = VerificationBook::default();
        let id = b
            .start(&t, at(0), verification(1, Some(9), 7, at(0)))
            .unwrap();
        assert_eq!(id, 0);
        let e = b.check_signup_verification(at(1), id, &key(1)).unwrap_err();
        assert_eq!(e.code, "verification_unconfirmed");
        assert_eq!(b.confirm(&t, at(2), M, id, &[7; 32]), Ok((true, 5)));
        let e = b.confirm(&t, at(3), M, id, &[7; 32]).unwrap_err();
        assert_eq!(e.code, "verification_used");
        // Another merchant sees nothing.
        let other = Principal::Merchant(1);
        let e = b.confirm(&t, at(3), other, id, &[7; 32]).unwrap_err();
        assert_eq!(e.code, "verification_not_found");
        let e = b.check_signup_verification(at(3), id, &key(2)).unwrap_err();
        assert_eq!(e.code, "verification_mismatch");
        b.check_signup_verification(at(3), id, &key(1)).unwrap();
        b.use_verification(id, 4);
        assert_eq!(b.login_of(&key(1)), Some(4));
        let e = b.check_signup_verification(at(4), id, &key(1)).unwrap_err();
        assert_eq!(e.code, "verification_used");
        // A fresh verification of a phone that is a login id: refused at sign-up.
        let id2 = b.start(&t, at(5), verification(1, None, 8, at(5))).unwrap();
        b.confirm(&t, at(6), M, id2, &[8; 32]).unwrap();
        let e = b
            .check_signup_verification(at(7), id2, &key(1))
            .unwrap_err();
        assert_eq!(e.code, "phone_registered");
        // The sign-up window closes an hour after confirmation.
        let id3 = b.start(&t, at(8), verification(3, None, 8, at(8))).unwrap();
        b.confirm(&t, at(9), M, id3, &[8; 32]).unwrap();
        let e = b
            .check_signup_verification(at(9 + USE_WINDOW_SECS), id3, &key(3))
            .unwrap_err();
        assert_eq!(e.code, "verification_expired");
    }

    #[test]
    fn wrong_codes_count_down_to_exhaustion_and_expiry_refuses() {
        let t = LifecycleConfig::default();
        let mut b = VerificationBook::default();
        let id = b.start(&t, at(0), verification(1, None, 7, at(0))).unwrap();
        for left in (0..5).rev() {
            assert_eq!(b.confirm(&t, at(1), M, id, &[6; 32]), Ok((false, left)));
        }
        let before = b.clone();
        let e = b.confirm(&t, at(2), M, id, &[7; 32]).unwrap_err();
        assert_eq!(e.code, "verification_attempts_exhausted");
        assert_eq!(b, before);
        let id = b.start(&t, at(3), verification(2, None, 7, at(3))).unwrap();
        let e = b.confirm(&t, at(603), M, id, &[7; 32]).unwrap_err();
        assert_eq!(e.code, "verification_expired");
        let e = b.confirm(&t, at(3), M, 99, &[7; 32]).unwrap_err();
        assert_eq!(e.code, "verification_not_found");
    }

    #[test]
    fn sends_are_limited_per_phone_and_per_ip_per_hour() {
        let t = LifecycleConfig {
            verification_sends_per_phone_hour: 3,
            verification_sends_per_ip_hour: 5,
            ..LifecycleConfig::default()
        };
        let mut b = VerificationBook::default();
        for i in 0..3 {
            b.start(&t, at(i), verification(1, Some(9), 0, at(i)))
                .unwrap();
        }
        let before = b.clone();
        let e = b
            .start(&t, at(10), verification(1, Some(8), 0, at(10)))
            .unwrap_err();
        assert_eq!(
            (e.code, e.field),
            ("verification_rate_limited", Some("phone"))
        );
        assert_eq!(b, before);
        for p in 2..4 {
            b.start(&t, at(11), verification(p, Some(9), 0, at(11)))
                .unwrap();
        }
        let e = b
            .start(&t, at(12), verification(5, Some(9), 0, at(12)))
            .unwrap_err();
        assert_eq!((e.code, e.field), ("verification_rate_limited", Some("ip")));
        // No IP key: only the phone counts.
        b.start(&t, at(12), verification(5, None, 0, at(12)))
            .unwrap();
        // An hour later the phone may receive codes again.
        b.start(&t, at(3_600), verification(1, Some(9), 0, at(3_600)))
            .unwrap();
    }

    #[test]
    fn old_verifications_leave_the_book_and_answer_expired() {
        let t = LifecycleConfig::default();
        let mut b = VerificationBook::default();
        for i in 0..10u8 {
            let when = at(i64::from(i));
            b.start(&t, when, verification(i, None, 0, when)).unwrap();
        }
        let late = at(600 + USE_WINDOW_SECS + 100);
        let id = b.start(&t, late, verification(50, None, 1, late)).unwrap();
        assert_eq!(id, 10);
        assert_eq!(b.live.len(), 1);
        assert!(b.per_target.len() == 1 && b.per_ip.is_empty());
        let e = b.confirm(&t, late, M, 3, &[0; 32]).unwrap_err();
        assert_eq!(e.code, "verification_expired");
        assert_eq!(b.confirm(&t, late, M, 10, &[1; 32]), Ok((true, 5)));
    }
}
