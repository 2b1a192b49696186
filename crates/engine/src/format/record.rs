//! Journal records.
//!
//! # Layout (format versions 1 and 2; 2 is the current one)
//!
//! ```text
//! offset  size  field
//! 0       1     MARKER (0xAB): "a versioned record"
//! 1       1     format version (1 or 2)
//! 2       2     command tag, u16 little-endian (Command::tag's table)
//! 4       v+n   envelope section: varint n, then postcard((At, Option<Idem>))
//! ..      v+n   body section: varint n, then the command's fields, in
//!               declaration order, as one postcard tuple (`encode_body`)
//! ..      ...   trailers, each: tag u8, varint n, n bytes of value;
//!               tags strictly ascending (so none repeats)
//! ```
//!
//! Varints are unsigned LEB128 (postcard's `u32`), canonical, at most five
//! bytes. Every section must be consumed exactly by its value: extra bytes
//! are an error, never an ignored "future field" (a changed body is a new
//! format version, see `command.rs`).
//!
//! The versions differ only in bodies: version 2 appended `tax_rates` to
//! the authorization's input (`Authorize`, `AuthorizeWithCode`); a
//! version-1 body of those two commands is read through the frozen
//! `AuthorizeInputV1` and upgraded with no rate stated. Every other body
//! is the same in both versions.
//!
//! Trailers record facts about the outcome. Tags `0x01..=0x7F` must be
//! understood (a reader that does not know one refuses the record), tags
//! `0x80..=0xFF` are optional (skipped by a reader that does not know
//! them); `0x00` is never a tag. Defined today:
//!
//! | tag | on | value |
//! |----:|---|---|
//! | `0x01` | `Authorize`, `AuthorizeWithCode` only | the decision: 1 byte, 0 approve, 1 decline, 2 review |
//!
//! # Legacy records and why the marker cannot collide
//!
//! Records written before versioning have no marker: they are the postcard
//! of the envelope as it was then (`format::legacy`), optionally followed
//! by the two bytes `0xD1 d` (the decision of an authorization).
//!
//! A legacy record never starts with `0xAB`. Its first field is `at: At`,
//! a `#[serde(transparent)]` `i64`, which postcard writes as the varint of
//! its zigzag value `z = (n << 1) ^ (n >> 63)`; the first byte is
//! `(z & 0x7F) | 0x80·[z ≥ 128]`. For `n ≥ 0`, `z = 2n` is even, so the
//! first byte is even; `0xAB` is odd (its low seven bits, `0x2B`, would
//! need an odd `z`, i.e. `n < 0`: a time before 1970). And every journaled
//! `at` is `≥ 0`: the node stamps each envelope in its engine thread with
//! `max(system clock, engine.now())` (or `engine.now()` with a manual
//! clock), and `engine.now()` starts at `At::default()` = 0 and only ever
//! grows (`state.now = max(now, at)`), so no stamp is below 0 whatever the
//! system clock says. Tested in `tests/format.rs`
//! (`a_legacy_record_never_starts_with_the_marker`).

use super::upgrade::AuthorizeInputV1;
use super::{FormatError, from_section, put_section, put_varint, take_section};
use crate::command::{Command, Envelope, Idem, tag};
use crate::state::Decision;
use atobarai_core::At;

/// First byte of every versioned record (odd: see the module docs).
pub const MARKER: u8 = 0xAB;
/// The format version [`encode`] writes.
pub const CURRENT: u8 = 2;
/// The version [`DecodedRecord::version`] reports for a record written
/// before versioning (no marker).
pub const LEGACY: u8 = 0;

/// Trailer: the decision an authorization produced.
const TRAILER_DECISION: u8 = 0x01;
/// Trailer tags from here up may be skipped by a reader that does not know
/// them; below, a reader must know them.
const TRAILER_OPTIONAL_FROM: u8 = 0x80;

/// A decoded journal record, upgraded to the current commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedRecord {
    /// The format version it was written in ([`LEGACY`] for none).
    pub version: u8,
    /// The envelope, in today's types.
    pub envelope: Envelope,
    /// The decision it recorded (authorizations only; `None` in records
    /// written before decisions were recorded).
    pub decision: Option<Decision>,
}

/// Encode `env` as a current-version record, with the decision trailer
/// when `decision` is given (only meaningful for an authorization).
pub fn encode(env: &Envelope, decision: Option<Decision>) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.push(MARKER);
    out.push(CURRENT);
    out.extend_from_slice(&env.command.tag().to_le_bytes());
    put_section(&mut out, &(env.at, &env.idem));
    encode_body(&env.command, &mut out);
    if let Some(d) = decision {
        out.push(TRAILER_DECISION);
        put_varint(&mut out, 1);
        out.push(decision_byte(d));
    }
    out
}

/// Decode a record of any version: versioned records dispatch on their
/// version byte, anything else is a legacy record.
pub fn decode(bytes: &[u8]) -> Result<DecodedRecord, FormatError> {
    match bytes {
        [MARKER, version, rest @ ..] => match *version {
            1 => decode_versioned(rest, 1),
            2 => decode_versioned(rest, 2),
            v => Err(FormatError::UnknownRecordVersion(v)),
        },
        [MARKER] => Err(FormatError::Truncated("header")),
        _ => {
            let (legacy, decision) = super::legacy::decode(bytes)?;
            Ok(DecodedRecord {
                version: LEGACY,
                envelope: super::upgrade::legacy_to_v1(legacy),
                decision,
            })
        }
    }
}

/// Versions 1 and 2 (one layout, bodies per version), after the marker
/// and version byte.
fn decode_versioned(bytes: &[u8], version: u8) -> Result<DecodedRecord, FormatError> {
    let [t0, t1, rest @ ..] = bytes else {
        return Err(FormatError::Truncated("header"));
    };
    let command_tag = u16::from_le_bytes([*t0, *t1]);
    let (envelope, rest) = take_section(rest, "envelope")?;
    let (at, idem): (At, Option<Idem>) = from_section(envelope, "envelope")?;
    let (body, mut rest) = take_section(rest, "body")?;
    let command = if version == 1 {
        decode_body_v1(command_tag, body)?
    } else {
        decode_body_v2(command_tag, body)?
    };
    let mut decision = None;
    let mut last_tag = 0u8;
    while let [trailer, after @ ..] = rest {
        let trailer = *trailer;
        if trailer <= last_tag {
            return Err(FormatError::TrailerOrder(trailer));
        }
        last_tag = trailer;
        let (value, after) = take_section(after, "trailer")?;
        rest = after;
        match trailer {
            TRAILER_DECISION => {
                if command_tag != tag::AUTHORIZE && command_tag != tag::AUTHORIZE_WITH_CODE {
                    return Err(FormatError::TrailerNotAllowed {
                        tag: trailer,
                        command: command.name(),
                    });
                }
                decision = match value {
                    [d] => Some(decision_of(*d).ok_or(FormatError::BadTrailer { tag: trailer })?),
                    _ => return Err(FormatError::BadTrailer { tag: trailer }),
                };
            }
            t if t >= TRAILER_OPTIONAL_FROM => {}
            t => return Err(FormatError::UnknownTrailer(t)),
        }
    }
    Ok(DecodedRecord {
        version,
        envelope: Envelope { at, idem, command },
        decision,
    })
}

pub(crate) fn decision_byte(d: Decision) -> u8 {
    match d {
        Decision::Approve => 0,
        Decision::Decline => 1,
        Decision::Review => 2,
    }
}

pub(crate) fn decision_of(b: u8) -> Option<Decision> {
    match b {
        0 => Some(Decision::Approve),
        1 => Some(Decision::Decline),
        2 => Some(Decision::Review),
        _ => None,
    }
}

/// The body of the current version: each command's fields, in declaration
/// order, as one postcard tuple. Written out per command on purpose: the
/// derive of `Command` is not the format.
fn encode_body(command: &Command, out: &mut Vec<u8>) {
    match command {
        Command::AddMerchant {
            name,
            key_id,
            secret_sha256,
        } => put_section(out, &(name, key_id, secret_sha256)),
        Command::AddOperator {
            name,
            role,
            key_id,
            secret_sha256,
        } => put_section(out, &(name, role, key_id, secret_sha256)),
        Command::RegisterCustomer {
            merchant,
            profile,
            payment_method,
            identity,
        } => put_section(out, &(merchant, profile, payment_method, identity)),
        Command::Authorize {
            merchant,
            input,
            session,
        } => put_section(out, &(merchant, input, session)),
        Command::Capture {
            principal,
            order,
            amount,
        } => put_section(out, &(principal, order, amount)),
        Command::Cancel { principal, order } => put_section(out, &(principal, order)),
        Command::Refund {
            principal,
            order,
            amount,
        } => put_section(out, &(principal, order, amount)),
        Command::RecordPayment { principal, input } => put_section(out, &(principal, input)),
        Command::SetPaymentMethod {
            principal,
            customer,
            payment_method,
        } => put_section(out, &(principal, customer, payment_method)),
        Command::AdvanceClock { to } => put_section(out, &(to,)),
        Command::AddSuspension { input } => put_section(out, &(input,)),
        Command::LiftSuspension { suspension } => put_section(out, &(suspension,)),
        Command::ResolveReview { order, verdict } => put_section(out, &(order, verdict)),
        Command::RedeemPoints {
            principal,
            customer,
            points,
        } => put_section(out, &(principal, customer, points)),
        Command::ReversePayment {
            principal,
            payment,
            reason,
        } => put_section(out, &(principal, payment, reason)),
        Command::SetMembership {
            principal,
            customer,
            paid,
        } => put_section(out, &(principal, customer, paid)),
        Command::AgreePaymentPlan {
            principal,
            customer,
            instalments,
        } => put_section(out, &(principal, customer, instalments)),
        Command::AddWebhookEndpoint {
            url,
            key_nonce,
            events,
        } => put_section(out, &(url, key_nonce, events)),
        Command::RemoveWebhookEndpoint { endpoint } => put_section(out, &(endpoint,)),
        Command::WebhooksDelivered {
            endpoint,
            through,
            failed,
        } => put_section(out, &(endpoint, through, failed)),
        Command::SetRules { rules } => put_section(out, &(&**rules,)),
        Command::SetRiskRules { source, author } => put_section(out, &(source, author)),
        Command::SetModel {
            source,
            shadow,
            author,
        } => put_section(out, &(source, shadow, author)),
        Command::RegisterSealedCustomer {
            merchant,
            profile,
            payment_method,
            identity,
        } => put_section(out, &(merchant, profile, payment_method, identity)),
        Command::EraseCustomerPii {
            principal,
            customer,
        } => put_section(out, &(principal, customer)),
        Command::AddIssuerMerchant {
            name,
            key_id,
            secret_sha256,
        } => put_section(out, &(name, key_id, secret_sha256)),
        Command::CaptureGiftCards {
            principal,
            order,
            amount,
            codes,
        } => put_section(out, &(principal, order, amount, codes)),
        Command::RedeemGiftCard {
            principal,
            code,
            wallet,
        } => put_section(out, &(principal, code, wallet)),
        Command::RevokeGiftCards {
            principal,
            target,
            reason,
        } => put_section(out, &(principal, target, reason)),
        Command::AppealGiftCard {
            principal,
            wallet,
            card,
            evidence,
        } => put_section(out, &(principal, wallet, card, evidence)),
        Command::DecideGiftCardAppeal {
            principal,
            appeal,
            reinstate,
            note,
        } => put_section(out, &(principal, appeal, reinstate, note)),
        Command::SpendWallet {
            principal,
            wallet,
            amount,
            reference,
        } => put_section(out, &(principal, wallet, amount, reference)),
        Command::SetTerms { terms } => put_section(out, &(terms,)),
        Command::SignUp {
            merchant,
            registration,
            payment_method,
            identity,
            signup,
        } => put_section(
            out,
            &(merchant, registration, payment_method, identity, signup),
        ),
        Command::RecordEkyc {
            principal,
            customer,
            result,
        } => put_section(out, &(principal, customer, result)),
        Command::IssuePaymentCode {
            principal,
            customer,
            code,
            ceiling,
        } => put_section(out, &(principal, customer, code, ceiling)),
        Command::AuthorizeWithCode {
            merchant,
            code,
            input,
            session,
        } => put_section(out, &(merchant, code, input, session)),
        Command::FreezeCustomer {
            principal,
            customer,
            reason,
        } => put_section(out, &(principal, customer, reason)),
        Command::UnfreezeCustomer {
            principal,
            customer,
        } => put_section(out, &(principal, customer)),
        Command::ResolveSignUpReview {
            principal,
            customer,
            approve,
        } => put_section(out, &(principal, customer, approve)),

        Command::StartVerification {
            principal,
            channel,
            target,
            code,
            ip,
        } => put_section(out, &(principal, channel, target, code, ip)),
        Command::ConfirmVerification {
            principal,
            verification,
            code,
        } => put_section(out, &(principal, verification, code)),
        Command::ChangeContact {
            principal,
            customer,
            verification,
        } => put_section(out, &(principal, customer, verification)),
    }
}

/// Decode a version-1 body. Every command's body is unchanged since
/// version 1, so each decodes straight into the current command; the day a
/// body changes, its arm here decodes the old tuple and calls
/// `upgrade::v1_to_v2_<command>`.
/// A version-2 body: the authorizations carry today's input; every other
/// command's body is version 1's.
fn decode_body_v2(command_tag: u16, body: &[u8]) -> Result<Command, FormatError> {
    const B: &str = "body";
    Ok(match command_tag {
        tag::AUTHORIZE => {
            let (merchant, input, session) = from_section(body, B)?;
            Command::Authorize {
                merchant,
                input,
                session,
            }
        }
        tag::AUTHORIZE_WITH_CODE => {
            let (merchant, code, input, session) = from_section(body, B)?;
            Command::AuthorizeWithCode {
                merchant,
                code,
                input,
                session,
            }
        }
        t => decode_body_v1(t, body)?,
    })
}

/// A version-1 body.
fn decode_body_v1(command_tag: u16, body: &[u8]) -> Result<Command, FormatError> {
    const B: &str = "body";
    Ok(match command_tag {
        tag::ADD_MERCHANT => {
            let (name, key_id, secret_sha256) = from_section(body, B)?;
            Command::AddMerchant {
                name,
                key_id,
                secret_sha256,
            }
        }
        tag::ADD_OPERATOR => {
            let (name, role, key_id, secret_sha256) = from_section(body, B)?;
            Command::AddOperator {
                name,
                role,
                key_id,
                secret_sha256,
            }
        }
        tag::REGISTER_CUSTOMER => {
            let (merchant, profile, payment_method, identity) = from_section(body, B)?;
            Command::RegisterCustomer {
                merchant,
                profile,
                payment_method,
                identity,
            }
        }
        tag::AUTHORIZE => {
            let (merchant, input, session): (_, AuthorizeInputV1, _) = from_section(body, B)?;
            Command::Authorize {
                merchant,
                input: input.into_v2(),
                session,
            }
        }
        tag::CAPTURE => {
            let (principal, order, amount) = from_section(body, B)?;
            Command::Capture {
                principal,
                order,
                amount,
            }
        }
        tag::CANCEL => {
            let (principal, order) = from_section(body, B)?;
            Command::Cancel { principal, order }
        }
        tag::REFUND => {
            let (principal, order, amount) = from_section(body, B)?;
            Command::Refund {
                principal,
                order,
                amount,
            }
        }
        tag::RECORD_PAYMENT => {
            let (principal, input) = from_section(body, B)?;
            Command::RecordPayment { principal, input }
        }
        tag::SET_PAYMENT_METHOD => {
            let (principal, customer, payment_method) = from_section(body, B)?;
            Command::SetPaymentMethod {
                principal,
                customer,
                payment_method,
            }
        }
        tag::ADVANCE_CLOCK => {
            let (to,) = from_section(body, B)?;
            Command::AdvanceClock { to }
        }
        tag::ADD_SUSPENSION => {
            let (input,) = from_section(body, B)?;
            Command::AddSuspension { input }
        }
        tag::LIFT_SUSPENSION => {
            let (suspension,) = from_section(body, B)?;
            Command::LiftSuspension { suspension }
        }
        tag::RESOLVE_REVIEW => {
            let (order, verdict) = from_section(body, B)?;
            Command::ResolveReview { order, verdict }
        }
        tag::REDEEM_POINTS => {
            let (principal, customer, points) = from_section(body, B)?;
            Command::RedeemPoints {
                principal,
                customer,
                points,
            }
        }
        tag::REVERSE_PAYMENT => {
            let (principal, payment, reason) = from_section(body, B)?;
            Command::ReversePayment {
                principal,
                payment,
                reason,
            }
        }
        tag::SET_MEMBERSHIP => {
            let (principal, customer, paid) = from_section(body, B)?;
            Command::SetMembership {
                principal,
                customer,
                paid,
            }
        }
        tag::AGREE_PAYMENT_PLAN => {
            let (principal, customer, instalments) = from_section(body, B)?;
            Command::AgreePaymentPlan {
                principal,
                customer,
                instalments,
            }
        }
        tag::ADD_WEBHOOK_ENDPOINT => {
            let (url, key_nonce, events) = from_section(body, B)?;
            Command::AddWebhookEndpoint {
                url,
                key_nonce,
                events,
            }
        }
        tag::REMOVE_WEBHOOK_ENDPOINT => {
            let (endpoint,) = from_section(body, B)?;
            Command::RemoveWebhookEndpoint { endpoint }
        }
        tag::WEBHOOKS_DELIVERED => {
            let (endpoint, through, failed) = from_section(body, B)?;
            Command::WebhooksDelivered {
                endpoint,
                through,
                failed,
            }
        }
        tag::SET_RULES => {
            let (rules,) = from_section(body, B)?;
            Command::SetRules {
                rules: Box::new(rules),
            }
        }
        tag::SET_RISK_RULES => {
            let (source, author) = from_section(body, B)?;
            Command::SetRiskRules { source, author }
        }
        tag::SET_MODEL => {
            let (source, shadow, author) = from_section(body, B)?;
            Command::SetModel {
                source,
                shadow,
                author,
            }
        }
        tag::REGISTER_SEALED_CUSTOMER => {
            let (merchant, profile, payment_method, identity) = from_section(body, B)?;
            Command::RegisterSealedCustomer {
                merchant,
                profile,
                payment_method,
                identity,
            }
        }
        tag::ERASE_CUSTOMER_PII => {
            let (principal, customer) = from_section(body, B)?;
            Command::EraseCustomerPii {
                principal,
                customer,
            }
        }
        tag::ADD_ISSUER_MERCHANT => {
            let (name, key_id, secret_sha256) = from_section(body, B)?;
            Command::AddIssuerMerchant {
                name,
                key_id,
                secret_sha256,
            }
        }
        tag::CAPTURE_GIFT_CARDS => {
            let (principal, order, amount, codes) = from_section(body, B)?;
            Command::CaptureGiftCards {
                principal,
                order,
                amount,
                codes,
            }
        }
        tag::REDEEM_GIFT_CARD => {
            let (principal, code, wallet) = from_section(body, B)?;
            Command::RedeemGiftCard {
                principal,
                code,
                wallet,
            }
        }
        tag::REVOKE_GIFT_CARDS => {
            let (principal, target, reason) = from_section(body, B)?;
            Command::RevokeGiftCards {
                principal,
                target,
                reason,
            }
        }
        tag::APPEAL_GIFT_CARD => {
            let (principal, wallet, card, evidence) = from_section(body, B)?;
            Command::AppealGiftCard {
                principal,
                wallet,
                card,
                evidence,
            }
        }
        tag::DECIDE_GIFT_CARD_APPEAL => {
            let (principal, appeal, reinstate, note) = from_section(body, B)?;
            Command::DecideGiftCardAppeal {
                principal,
                appeal,
                reinstate,
                note,
            }
        }
        tag::SPEND_WALLET => {
            let (principal, wallet, amount, reference) = from_section(body, B)?;
            Command::SpendWallet {
                principal,
                wallet,
                amount,
                reference,
            }
        }
        tag::SET_TERMS => {
            let (terms,) = from_section(body, B)?;
            Command::SetTerms {
                terms: Box::new(terms),
            }
        }
        tag::SIGN_UP => {
            let (merchant, registration, payment_method, identity, signup) = from_section(body, B)?;
            Command::SignUp {
                merchant,
                registration,
                payment_method,
                identity,
                signup,
            }
        }
        tag::RECORD_EKYC => {
            let (principal, customer, result) = from_section(body, B)?;
            Command::RecordEkyc {
                principal,
                customer,
                result,
            }
        }
        tag::ISSUE_PAYMENT_CODE => {
            let (principal, customer, code, ceiling) = from_section(body, B)?;
            Command::IssuePaymentCode {
                principal,
                customer,
                code,
                ceiling,
            }
        }
        tag::AUTHORIZE_WITH_CODE => {
            let (merchant, code, input, session): (_, _, AuthorizeInputV1, _) =
                from_section(body, B)?;
            Command::AuthorizeWithCode {
                merchant,
                code,
                input: input.into_v2(),
                session,
            }
        }
        tag::FREEZE_CUSTOMER => {
            let (principal, customer, reason) = from_section(body, B)?;
            Command::FreezeCustomer {
                principal,
                customer,
                reason,
            }
        }
        tag::UNFREEZE_CUSTOMER => {
            let (principal, customer) = from_section(body, B)?;
            Command::UnfreezeCustomer {
                principal,
                customer,
            }
        }
        tag::RESOLVE_SIGN_UP_REVIEW => {
            let (principal, customer, approve) = from_section(body, B)?;
            Command::ResolveSignUpReview {
                principal,
                customer,
                approve,
            }
        }
        tag::START_VERIFICATION => {
            let (principal, channel, target, code, ip) = from_section(body, B)?;
            Command::StartVerification {
                principal,
                channel,
                target,
                code,
                ip,
            }
        }
        tag::CONFIRM_VERIFICATION => {
            let (principal, verification, code) = from_section(body, B)?;
            Command::ConfirmVerification {
                principal,
                verification,
                code,
            }
        }
        tag::CHANGE_CONTACT => {
            let (principal, customer, verification) = from_section(body, B)?;
            Command::ChangeContact {
                principal,
                customer,
                verification,
            }
        }
        other => return Err(FormatError::UnknownCommandTag(other)),
    })
}
