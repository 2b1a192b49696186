//! The gift-card issuer (DOMAIN.md §4): codes issued when an issuer's
//! `gift_card` lines are captured, redeemed once into wallets, voided by a
//! refund before redemption, revoked with a reason before or after
//! redemption (the balance taken back, below zero if need be), appealed and
//! reinstated, every step audited with who and when.
//!
//! The engine never sees a code: the shell draws it at random and passes
//! only its keyed hash (HMAC under `gift_cards.code_secret`, which never
//! reaches the engine, the journal or a snapshot), exactly as it does for
//! API keys and identity keys. Redemption is serialized by the engine
//! thread, so of two redemptions of one code exactly one wins.
//!
//! Ledger (yen book): issue Dr [`Account::GiftCardsSold`] Cr
//! [`Account::GiftCardLiability`]; redemption Dr liability Cr
//! [`Account::Wallet`]; a void or a revocation before redemption reverses
//! the issue; a claw-back Dr wallet Cr [`Account::GiftCardClawback`]; a
//! reinstatement reverses the claw-back. `check_gift_cards` proves the
//! liability, every wallet and the claw-back account against the cards.

use super::Engine;
use super::access::{check_writer, status_conflict};
use crate::checked::{Bounded, id32};
use crate::command::{Principal, RevocationReason, RevocationTarget};
use crate::error::CommandError;
use crate::identity::EvidenceStep;
use crate::state::OrderStatus;
use crate::view::Outcome;
use crate::webhook::{EventKind, Stored};
use atobarai_core::{At, Category, Yen};
use atobarai_ledger::{Account, EntryKind, transfer};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// Most codes one capture may issue.
pub const CODES_PER_CAPTURE_MAX: usize = 1_000;
/// Most characters of a wallet id.
pub const WALLET_ID_CHARS_MAX: usize = 64;
/// Most characters of an appeal's evidence or a decision's note.
pub const EVIDENCE_CHARS_MAX: usize = 4_000;
/// Most appeals one listing answers.
pub const APPEALS_PAGE_MAX: usize = 500;
/// Most cards one revocation names.
pub const CARDS_PER_REVOCATION_MAX: usize = 1_000_000;

/// Gift cards, wallets and appeals (the state's last field; snapshot
/// version 6 appended it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GiftCardBook {
    /// Merchants that operate a gift-card program, ascending.
    pub issuers: Vec<u32>,
    /// Every card ever issued (dense index; the cards of one capture are
    /// contiguous).
    pub cards: Vec<GiftCard>,
    /// Every wallet (dense index).
    pub wallets: Vec<Wallet>,
    /// Every appeal (dense index).
    pub appeals: Vec<Appeal>,
}

/// Where a card is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GiftCardState {
    /// Issued, not yet redeemed: the code works.
    Issued,
    /// Redeemed into a wallet.
    Redeemed,
    /// Voided by a refund of its order before redemption.
    Voided,
    /// Revoked by an operator (before or after redemption).
    Revoked,
    /// Revoked after redemption, then reinstated on appeal.
    Reinstated,
}

impl GiftCardState {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            GiftCardState::Issued => "issued",
            GiftCardState::Redeemed => "redeemed",
            GiftCardState::Voided => "voided",
            GiftCardState::Revoked => "revoked",
            GiftCardState::Reinstated => "reinstated",
        }
    }
}

/// What happened to a card (its audit trail).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CardEventKind {
    /// Issued at capture.
    Issued,
    /// Redeemed into a wallet.
    Redeemed,
    /// Voided by a refund.
    Voided,
    /// Revoked.
    Revoked,
    /// An appeal was filed.
    AppealFiled,
    /// An appeal was refused.
    AppealRefused,
    /// Reinstated on appeal.
    Reinstated,
}

impl CardEventKind {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CardEventKind::Issued => "issued",
            CardEventKind::Redeemed => "redeemed",
            CardEventKind::Voided => "voided",
            CardEventKind::Revoked => "revoked",
            CardEventKind::AppealFiled => "appeal_filed",
            CardEventKind::AppealRefused => "appeal_refused",
            CardEventKind::Reinstated => "reinstated",
        }
    }
}

/// One step of a card's history: what, when, by whom.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardEvent {
    /// When.
    pub at: At,
    /// What.
    pub kind: CardEventKind,
    /// Who (the key that sent the command).
    pub by: Principal,
    /// The revocation's reason.
    pub reason: Option<RevocationReason>,
}

/// An issued gift card. Only the keyed hash of its code is kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GiftCard {
    pub hash: [u8; 32],
    pub order: u32,
    /// The order line it was bought on.
    pub item: u32,
    /// The buying account.
    pub customer: u32,
    pub amount: Yen,
    pub state: GiftCardState,
    /// The wallet it was redeemed into.
    pub wallet: Option<u32>,
    /// A scam-victim revocation cancelled the buyer's debt for it.
    pub debt_cancelled: bool,
    pub history: Vec<CardEvent>,
}

/// What moved a wallet's balance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WalletEntryKind {
    /// A card redeemed (credit).
    Redeemed,
    /// A redeemed card revoked (debit, below zero if need be).
    Revoked,
    /// A revoked card reinstated on appeal (credit).
    Reinstated,
    /// A purchase paid from the balance (debit; `card` is 0, unused).
    Spent,
}

impl WalletEntryKind {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            WalletEntryKind::Redeemed => "redeemed",
            WalletEntryKind::Revoked => "revoked",
            WalletEntryKind::Reinstated => "reinstated",
            WalletEntryKind::Spent => "spent",
        }
    }
}

/// One line of a wallet's balance history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletEntry {
    /// When.
    pub at: At,
    /// What.
    pub kind: WalletEntryKind,
    /// Index of the card.
    pub card: u32,
    /// Signed: positive credits the wallet.
    pub amount: Yen,
    /// The revocation's reason.
    pub reason: Option<RevocationReason>,
    /// The balance after the entry.
    pub balance_after: Yen,
}

/// A gift-card wallet of an issuer's customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Wallet {
    /// The issuer's id for the wallet.
    pub id: String,
    /// The issuer whose cards it holds (the first redemption's).
    pub merchant: u32,
    /// May be negative after a claw-back.
    pub balance: Yen,
    pub entries: Vec<WalletEntry>,
}

/// An appeal of a revocation, and its decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Appeal {
    pub card: u32,
    pub wallet: u32,
    pub evidence: String,
    pub filed_at: At,
    pub filed_by: Principal,
    pub decision: Option<AppealDecision>,
}

/// An operator's decision on an appeal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppealDecision {
    /// Reinstated (`true`) or refused.
    pub reinstated: bool,
    /// Who decided.
    pub by: Principal,
    /// When.
    pub at: At,
    /// The operator's note.
    pub note: String,
}

/// Lookups derived from the book (rebuilt on restore).
#[derive(Default)]
pub(crate) struct GiftCardIndex {
    by_hash: FxHashMap<[u8; 32], u32>,
    wallet_by_id: FxHashMap<Box<str>, u32>,
    /// Per order: its first card and how many.
    of_order: FxHashMap<u32, (u32, u32)>,
    /// Per buying customer: its cards.
    of_customer: FxHashMap<u32, Vec<u32>>,
}

impl GiftCardIndex {
    pub(crate) fn rebuild(book: &GiftCardBook) -> GiftCardIndex {
        let mut idx = GiftCardIndex::default();
        for (i, c) in book.cards.iter().enumerate() {
            idx.add_card(id32(i), c);
        }
        for (i, w) in book.wallets.iter().enumerate() {
            idx.wallet_by_id.insert(w.id.as_str().into(), id32(i));
        }
        idx
    }

    fn add_card(&mut self, i: u32, c: &GiftCard) {
        self.by_hash.insert(c.hash, i);
        let e = self.of_order.entry(c.order).or_insert((i, 0));
        e.1 = e.1.checked_add(1).bounded("cards of an order");
        self.of_customer.entry(c.customer).or_default().push(i);
    }

    fn cards_of_order(&self, oi: u32) -> std::ops::Range<u32> {
        self.of_order
            .get(&oi)
            .map_or(0..0, |&(first, n)| first..first.saturating_add(n))
    }
}

// ----- views -----------------------------------------------------------------

/// A card issued by a capture (the shell matches the hash to the code it drew).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedCard {
    /// Index of the card.
    pub card: u64,
    /// Keyed hash of its code.
    pub code_hash: [u8; 32],
    /// The order line (index into the order's items).
    pub item: u32,
    /// Face value.
    pub amount: Yen,
}

/// A card as operators see it, with its history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GiftCardView {
    /// Index of the card.
    pub card: u64,
    /// Index of the order that bought it.
    pub order: u64,
    /// The order line.
    pub item: u32,
    /// Index of the buying customer.
    pub customer: u64,
    /// Index of the buyer's identity cluster (its smallest customer).
    pub cluster: Option<u64>,
    /// Face value.
    pub amount: Yen,
    /// Where it is.
    pub state: GiftCardState,
    /// The wallet it was redeemed into.
    pub wallet: Option<String>,
    /// The buyer's debt for it was cancelled (scam victim).
    pub debt_cancelled: bool,
    /// Every step, oldest first.
    pub history: Vec<CardEvent>,
}

/// A wallet and its entries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletView {
    /// The issuer's id for it.
    pub id: String,
    /// Index of the issuer.
    pub merchant: u32,
    /// May be negative.
    pub balance: Yen,
    /// Oldest first.
    pub entries: Vec<WalletEntry>,
}

/// A card a revocation touched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedCard {
    /// Index of the card.
    pub card: u64,
    /// Index of its order.
    pub order: u64,
    /// Face value.
    pub amount: Yen,
    /// Its state before the revocation (issued, redeemed, reinstated).
    pub was: GiftCardState,
    /// The wallet debited (redeemed cards) and its balance after.
    pub wallet: Option<(String, Yen)>,
}

/// An appeal as operators and the issuer see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppealView {
    /// Index of the appeal.
    pub appeal: u64,
    /// Index of the card.
    pub card: u64,
    /// The wallet.
    pub wallet: String,
    /// The holder's evidence.
    pub evidence: String,
    /// When it was filed.
    pub filed_at: At,
    /// Who filed it.
    pub filed_by: Principal,
    /// The decision, once taken.
    pub decision: Option<AppealDecision>,
    /// The purchase trail: the card with its history.
    pub trail: GiftCardView,
}

/// A cluster revocation's preview: every linked account with the evidence
/// of its link, and every card its members bought that can still be revoked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterRevocationPreview {
    /// Index of the customer named.
    pub customer: u64,
    /// The cluster's members (the customer first) and the chain of shared
    /// keys from the customer to each.
    pub accounts: Vec<(u64, Vec<EvidenceStep>)>,
    /// The cards (not voided or revoked already).
    pub cards: Vec<GiftCardView>,
}

// ----- commands ----------------------------------------------------------------

fn invalid_code() -> CommandError {
    // One answer whatever the reason (unknown, malformed, already
    // redeemed, another issuer's): no enumeration.
    CommandError::invalid(
        "gift_card_invalid",
        "code",
        "this gift card code is not valid",
    )
}

fn invalidated() -> CommandError {
    CommandError::conflict(
        "gift_card_invalidated",
        "this gift card has been invalidated",
    )
    .field("code")
}

fn operator_only(principal: Principal) -> Result<(), CommandError> {
    super::access::check_admin(principal, "gift-card revocations are for admins")
}

impl Engine {
    /// Did customer `ci` buy a gift card that was later revoked?
    pub(crate) fn bought_revoked_gift_card(&self, ci: u32) -> bool {
        self.idx
            .gift_cards
            .of_customer
            .get(&ci)
            .is_some_and(|cards| {
                cards.iter().any(|&i| {
                    self.state.gift_cards.cards[i as usize]
                        .history
                        .iter()
                        .any(|e| e.kind == CardEventKind::Revoked)
                })
            })
    }

    pub(crate) fn add_issuer_merchant(
        &mut self,
        at: At,
        name: &str,
        key_id: &str,
        secret_sha256: [u8; 32],
    ) -> Result<Outcome, CommandError> {
        let outcome = self.add_merchant(at, name, key_id, secret_sha256)?;
        let index = id32(
            self.state
                .merchants
                .len()
                .checked_sub(1)
                .bounded("merchants"),
        );
        let issuers = &mut self.state.gift_cards.issuers;
        let pos = issuers.partition_point(|&m| m < index);
        issuers.insert(pos, index);
        Ok(outcome)
    }

    /// Is merchant `m` a gift-card issuer?
    pub fn is_gift_card_issuer(&self, m: u32) -> bool {
        self.state.gift_cards.issuers.binary_search(&m).is_ok()
    }

    /// The gift-card units order `order` issues codes for at capture (0
    /// unless its merchant is an issuer): the shell draws this many codes.
    pub fn gift_card_units(&self, principal: Principal, order: u64) -> Result<u32, CommandError> {
        let oi = self.order_index(principal, order)?;
        Ok(self.units_of(oi))
    }

    fn units_of(&self, oi: u32) -> u32 {
        let o = &self.state.orders[oi as usize];
        if !self.is_gift_card_issuer(o.merchant) {
            return 0;
        }
        let n: i64 = o
            .detail
            .items
            .iter()
            .filter(|i| i.category == Category::GiftCard)
            .map(|i| i.quantity.max(0))
            .fold(0i64, |a, q| a.saturating_add(q));
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// A plain capture of an order that must issue codes is refused: the
    /// cards would be sold without codes.
    pub(crate) fn check_plain_capture(
        &self,
        principal: Principal,
        order: u64,
    ) -> Result<(), CommandError> {
        let Ok(oi) = self.order_index(principal, order) else {
            return Ok(()); // capture answers the not-found itself
        };
        if self.units_of(oi) > 0 {
            return Err(CommandError::conflict(
                "gift_card_codes_missing",
                "this order holds gift cards of an issuer: the capture must issue their codes",
            ));
        }
        Ok(())
    }

    pub(crate) fn capture_gift_cards(
        &mut self,
        at: At,
        principal: Principal,
        order: u64,
        amount: Option<Yen>,
        codes: &[[u8; 32]],
    ) -> Result<Outcome, CommandError> {
        let oi = self.order_index_for_write(principal, order)?;
        let o = &self.state.orders[oi as usize];
        if o.status != OrderStatus::Authorized {
            return Err(status_conflict(o.status, "captured"));
        }
        let units = self.units_of(oi) as usize;
        if units == 0 {
            return Err(CommandError::invalid(
                "gift_card_codes_unexpected",
                "codes",
                "this order issues no gift-card codes",
            ));
        }
        if units > CODES_PER_CAPTURE_MAX {
            return Err(CommandError::invalid(
                "too_many_gift_cards",
                "items",
                format!("one capture issues at most {CODES_PER_CAPTURE_MAX} gift cards"),
            ));
        }
        if codes.len() != units {
            return Err(CommandError::invalid(
                "gift_card_codes_count",
                "codes",
                format!("{units} codes are needed, {} given", codes.len()),
            ));
        }
        if amount.is_some_and(|a| a != o.amount) {
            return Err(CommandError::invalid(
                "gift_card_partial_capture",
                "amount",
                "an order holding gift cards is captured in full",
            ));
        }
        let mut seen = rustc_hash::FxHashSet::default();
        for h in codes {
            if self.idx.gift_cards.by_hash.contains_key(h) || !seen.insert(*h) {
                return Err(CommandError::conflict(
                    "gift_card_code_collision",
                    "a code drawn is already in use; retry",
                ));
            }
        }
        // Validated: the capture itself refuses before changing anything.
        let outcome = self.capture(at, principal, order, amount)?;
        let Outcome::Order(view) = outcome else {
            unreachable!("capture answers an order")
        };
        let o = &self.state.orders[oi as usize];
        let (ci, lines): (u32, Vec<(u32, Yen, i64)>) = (
            o.customer,
            o.detail
                .items
                .iter()
                .enumerate()
                .filter(|(_, i)| i.category == Category::GiftCard)
                .map(|(n, i)| (id32(n), i.unit_price, i.quantity))
                .collect(),
        );
        let liability_before = self.state.ledger.balance(Account::GiftCardLiability);
        let mut issued = Vec::with_capacity(units);
        let mut total = Yen::ZERO;
        let mut next = codes.iter();
        for (item, price, qty) in lines {
            for _ in 0..qty {
                let hash = *next.next().bounded("codes counted");
                let i = id32(self.state.gift_cards.cards.len());
                let card = GiftCard {
                    hash,
                    order: oi,
                    item,
                    customer: ci,
                    amount: price,
                    state: GiftCardState::Issued,
                    wallet: None,
                    debt_cancelled: false,
                    history: vec![CardEvent {
                        at,
                        kind: CardEventKind::Issued,
                        by: principal,
                        reason: None,
                    }],
                };
                self.idx.gift_cards.add_card(i, &card);
                self.state.gift_cards.cards.push(card);
                total = total.checked_add(price).bounded("gift cards issued");
                issued.push(IssuedCard {
                    card: u64::from(i),
                    code_hash: hash,
                    item,
                    amount: price,
                });
            }
        }
        self.post(Ok(transfer(
            at,
            EntryKind::GiftCardIssue,
            u64::from(oi),
            Account::GiftCardsSold,
            Account::GiftCardLiability,
            total,
        )));
        // Postcondition: the liability grew by exactly the cards' face value.
        assert_eq!(
            liability_before
                .checked_sub(self.state.ledger.balance(Account::GiftCardLiability))
                .bounded("liability"),
            total,
            "issue posted the cards' face value as a liability"
        );
        Ok(Outcome::GiftCardsIssued {
            order: Box::new(view),
            cards: issued,
        })
    }

    /// After a refund of order `oi`: void its unredeemed cards, latest
    /// first, as far as the refunded amount not yet matched by voided (or
    /// debt-cancelled) cards covers each one's face value.
    pub(crate) fn void_refunded_gift_cards(&mut self, at: At, principal: Principal, oi: u32) {
        let range = self.idx.gift_cards.cards_of_order(oi);
        if range.is_empty() {
            return;
        }
        let cards = &self.state.gift_cards.cards;
        let covered = Yen::checked_sum(
            range
                .clone()
                .map(|i| &cards[i as usize])
                .filter(|c| c.state == GiftCardState::Voided || c.debt_cancelled)
                .map(|c| c.amount),
        )
        .bounded("voided cards");
        let mut uncovered = self.state.orders[oi as usize]
            .refunded
            .checked_sub(covered)
            .bounded("refund not matched by cards");
        let mut voided = Yen::ZERO;
        for i in range.rev() {
            let c = &mut self.state.gift_cards.cards[i as usize];
            if c.state != GiftCardState::Issued || c.amount > uncovered {
                continue;
            }
            uncovered = uncovered.checked_sub(c.amount).bounded("uncovered");
            voided = voided.checked_add(c.amount).bounded("voided");
            c.state = GiftCardState::Voided;
            c.history.push(CardEvent {
                at,
                kind: CardEventKind::Voided,
                by: principal,
                reason: None,
            });
        }
        if voided.is_positive() {
            self.post(Ok(transfer(
                at,
                EntryKind::GiftCardVoid,
                u64::from(oi),
                Account::GiftCardLiability,
                Account::GiftCardsSold,
                voided,
            )));
        }
    }

    pub(crate) fn redeem_gift_card(
        &mut self,
        at: At,
        principal: Principal,
        code: &[u8; 32],
        wallet: &str,
    ) -> Result<Outcome, CommandError> {
        check_writer(principal)?;
        if wallet.is_empty() || wallet.chars().count() > WALLET_ID_CHARS_MAX {
            return Err(CommandError::invalid(
                "wallet_invalid",
                "wallet",
                format!("a wallet id has 1 to {WALLET_ID_CHARS_MAX} characters"),
            ));
        }
        let ci = *self
            .idx
            .gift_cards
            .by_hash
            .get(code)
            .ok_or_else(invalid_code)?;
        let card = &self.state.gift_cards.cards[ci as usize];
        let merchant = self.state.orders[card.order as usize].merchant;
        if let Principal::Merchant(m) = principal
            && m != merchant
        {
            return Err(invalid_code());
        }
        match card.state {
            GiftCardState::Issued => {}
            GiftCardState::Revoked | GiftCardState::Voided => return Err(invalidated()),
            GiftCardState::Redeemed | GiftCardState::Reinstated => return Err(invalid_code()),
        }
        let wi = match self.idx.gift_cards.wallet_by_id.get(wallet) {
            Some(&wi) => {
                if self.state.gift_cards.wallets[wi as usize].merchant != merchant {
                    return Err(CommandError::conflict(
                        "wallet_of_another_issuer",
                        "this wallet holds another issuer's cards",
                    )
                    .field("wallet"));
                }
                wi
            }
            None => {
                let wi = id32(self.state.gift_cards.wallets.len());
                self.state.gift_cards.wallets.push(Wallet {
                    id: wallet.to_string(),
                    merchant,
                    balance: Yen::ZERO,
                    entries: Vec::new(),
                });
                self.idx.gift_cards.wallet_by_id.insert(wallet.into(), wi);
                wi
            }
        };
        let amount = self.state.gift_cards.cards[ci as usize].amount;
        let balance = self.wallet_move(at, wi, ci, amount, WalletEntryKind::Redeemed, None);
        let card = &mut self.state.gift_cards.cards[ci as usize];
        card.state = GiftCardState::Redeemed;
        card.wallet = Some(wi);
        card.history.push(CardEvent {
            at,
            kind: CardEventKind::Redeemed,
            by: principal,
            reason: None,
        });
        let order = card.order;
        self.post(Ok(transfer(
            at,
            EntryKind::GiftCardRedeem,
            u64::from(order),
            Account::GiftCardLiability,
            Account::Wallet(wi),
            amount,
        )));
        Ok(Outcome::WalletBalance {
            wallet: wallet.to_string(),
            balance,
        })
    }

    /// Move wallet `wi`'s balance by `amount` (signed) with an entry;
    /// returns the balance after.
    fn wallet_move(
        &mut self,
        at: At,
        wi: u32,
        card: u32,
        amount: Yen,
        kind: WalletEntryKind,
        reason: Option<RevocationReason>,
    ) -> Yen {
        let w = &mut self.state.gift_cards.wallets[wi as usize];
        let before = w.balance;
        w.balance = w.balance.checked_add(amount).bounded("wallet balance");
        w.entries.push(WalletEntry {
            at,
            kind,
            card,
            amount,
            reason,
            balance_after: w.balance,
        });
        // Postcondition: the balance moved by exactly the entry.
        assert_eq!(
            w.balance.checked_sub(before).bounded("wallet move"),
            amount,
            "wallet moved by its entry"
        );
        w.balance
    }

    pub(crate) fn revoke_gift_cards(
        &mut self,
        at: At,
        principal: Principal,
        target: &RevocationTarget,
        reason: RevocationReason,
    ) -> Result<Outcome, CommandError> {
        operator_only(principal)?;
        let book = &self.state.gift_cards;
        let not_found = || CommandError::not_found("gift_card_not_found", "code", "gift card");
        let revocable = |i: u32| {
            matches!(
                book.cards[i as usize].state,
                GiftCardState::Issued | GiftCardState::Redeemed | GiftCardState::Reinstated
            )
        };
        let cards: Vec<u32> = match target {
            RevocationTarget::Code(hash) => {
                let i = *self
                    .idx
                    .gift_cards
                    .by_hash
                    .get(hash)
                    .ok_or_else(not_found)?;
                match book.cards[i as usize].state {
                    GiftCardState::Revoked => {
                        return Err(CommandError::conflict(
                            "gift_card_already_revoked",
                            "this gift card is already revoked",
                        )
                        .field("code"));
                    }
                    GiftCardState::Voided => {
                        return Err(CommandError::conflict(
                            "gift_card_voided",
                            "this gift card was voided by a refund",
                        )
                        .field("code"));
                    }
                    _ => vec![i],
                }
            }
            RevocationTarget::Order(order) => {
                let oi = self
                    .order_index(principal, *order)
                    .map_err(|e| e.field("order"))?;
                let all: Vec<u32> = self.idx.gift_cards.cards_of_order(oi).collect();
                if all.is_empty() {
                    return Err(CommandError::conflict(
                        "no_gift_cards",
                        "this order issued no gift cards",
                    )
                    .field("order"));
                }
                all.into_iter().filter(|&i| revocable(i)).collect()
            }
            RevocationTarget::Cards(list) => {
                if list.len() > CARDS_PER_REVOCATION_MAX {
                    return Err(CommandError::invalid(
                        "too_many_gift_cards",
                        "cards",
                        "too many cards in one revocation",
                    ));
                }
                let mut out = Vec::with_capacity(list.len());
                for &c in list {
                    let i = u32::try_from(c)
                        .ok()
                        .filter(|&i| (i as usize) < book.cards.len())
                        .ok_or_else(|| {
                            CommandError::not_found("gift_card_not_found", "cards", "gift card")
                        })?;
                    if revocable(i) {
                        out.push(i);
                    }
                }
                out.sort_unstable();
                out.dedup();
                out
            }
        };
        if cards.is_empty() {
            return Err(CommandError::conflict(
                "gift_card_already_revoked",
                "every gift card named is already revoked or voided",
            ));
        }
        // Validated; from here nothing fails.
        let mut touched = Vec::with_capacity(cards.len());
        let mut scam_refunds: Vec<(u32, Yen)> = Vec::new();
        for i in cards {
            let c = &self.state.gift_cards.cards[i as usize];
            let (was, amount, order, wallet, buyer) =
                (c.state, c.amount, c.order, c.wallet, c.customer);
            let mut debited = None;
            if was == GiftCardState::Issued {
                self.post(Ok(transfer(
                    at,
                    EntryKind::GiftCardVoid,
                    u64::from(order),
                    Account::GiftCardLiability,
                    Account::GiftCardsSold,
                    amount,
                )));
            } else {
                let wi = wallet.bounded("a redeemed card's wallet");
                let neg = amount.checked_neg().bounded("claw-back");
                let balance =
                    self.wallet_move(at, wi, i, neg, WalletEntryKind::Revoked, Some(reason));
                self.post(Ok(transfer(
                    at,
                    EntryKind::GiftCardClawback,
                    u64::from(order),
                    Account::Wallet(wi),
                    Account::GiftCardClawback,
                    amount,
                )));
                let w = &self.state.gift_cards.wallets[wi as usize];
                let entry = id32(w.entries.len().checked_sub(1).bounded("entries"));
                debited = Some((w.id.clone(), balance));
                self.emit(
                    at,
                    EventKind::WalletDebited,
                    buyer,
                    Stored::WalletEntry { wallet: wi, entry },
                );
            }
            let c = &mut self.state.gift_cards.cards[i as usize];
            c.state = GiftCardState::Revoked;
            c.history.push(CardEvent {
                at,
                kind: CardEventKind::Revoked,
                by: principal,
                reason: Some(reason),
            });
            if reason == RevocationReason::ScamVictim && !c.debt_cancelled {
                c.debt_cancelled = true;
                match scam_refunds.last_mut() {
                    Some((o, total)) if *o == order => {
                        *total = total.checked_add(amount).bounded("scam refund");
                    }
                    _ => scam_refunds.push((order, amount)),
                }
            }
            self.emit(at, EventKind::GiftCardRevoked, buyer, Stored::GiftCard(i));
            touched.push(RevokedCard {
                card: u64::from(i),
                order: u64::from(order),
                amount,
                was,
                wallet: debited,
            });
        }
        // A scam victim's debt for the cards is cancelled: a refund of
        // what is still refundable of them (a fraudster's debt stands).
        for (oi, amount) in scam_refunds {
            let o = &self.state.orders[oi as usize];
            if o.status != OrderStatus::Captured {
                continue;
            }
            let amount = amount.min(o.refundable());
            if amount.is_positive() {
                self.refund(at, Principal::System, u64::from(oi), amount)
                    .bounded("scam-victim refund of a captured order");
            }
        }
        Ok(Outcome::GiftCardsRevoked(touched))
    }

    pub(crate) fn appeal_gift_card(
        &mut self,
        at: At,
        principal: Principal,
        wallet: &str,
        card: u64,
        evidence: &str,
    ) -> Result<Outcome, CommandError> {
        check_writer(principal)?;
        if evidence.trim().is_empty() || evidence.chars().count() > EVIDENCE_CHARS_MAX {
            return Err(CommandError::invalid(
                "evidence_invalid",
                "evidence",
                format!("evidence has 1 to {EVIDENCE_CHARS_MAX} characters"),
            ));
        }
        let no_entry = || {
            CommandError::conflict(
                "no_revoked_entry",
                "this wallet has no revoked entry for this gift card",
            )
            .field("wallet")
        };
        let wi = *self
            .idx
            .gift_cards
            .wallet_by_id
            .get(wallet)
            .ok_or_else(no_entry)?;
        let w = &self.state.gift_cards.wallets[wi as usize];
        if let Principal::Merchant(m) = principal
            && m != w.merchant
        {
            return Err(no_entry());
        }
        let ci = u32::try_from(card)
            .ok()
            .filter(|&i| (i as usize) < self.state.gift_cards.cards.len())
            .ok_or_else(no_entry)?;
        let c = &self.state.gift_cards.cards[ci as usize];
        if c.state != GiftCardState::Revoked || c.wallet != Some(wi) {
            return Err(no_entry());
        }
        if self
            .state
            .gift_cards
            .appeals
            .iter()
            .any(|a| a.card == ci && a.decision.is_none())
        {
            return Err(CommandError::conflict(
                "appeal_pending",
                "an appeal of this gift card is already waiting for a decision",
            )
            .field("card"));
        }
        let ai = id32(self.state.gift_cards.appeals.len());
        self.state.gift_cards.appeals.push(Appeal {
            card: ci,
            wallet: wi,
            evidence: evidence.to_string(),
            filed_at: at,
            filed_by: principal,
            decision: None,
        });
        self.state.gift_cards.cards[ci as usize]
            .history
            .push(CardEvent {
                at,
                kind: CardEventKind::AppealFiled,
                by: principal,
                reason: None,
            });
        Ok(Outcome::GiftCardAppeal(Box::new(self.appeal_view(ai))))
    }

    pub(crate) fn decide_gift_card_appeal(
        &mut self,
        at: At,
        principal: Principal,
        appeal: u64,
        reinstate: bool,
        note: &str,
    ) -> Result<Outcome, CommandError> {
        operator_only(principal)?;
        if note.chars().count() > EVIDENCE_CHARS_MAX {
            return Err(CommandError::invalid(
                "note_invalid",
                "note",
                format!("a note has at most {EVIDENCE_CHARS_MAX} characters"),
            ));
        }
        let ai = u32::try_from(appeal)
            .ok()
            .filter(|&i| (i as usize) < self.state.gift_cards.appeals.len())
            .ok_or_else(|| CommandError::not_found("appeal_not_found", "id", "appeal"))?;
        let a = &self.state.gift_cards.appeals[ai as usize];
        if a.decision.is_some() {
            return Err(CommandError::conflict(
                "appeal_decided",
                "this appeal was already decided",
            ));
        }
        let (ci, wi) = (a.card, a.wallet);
        self.state.gift_cards.appeals[ai as usize].decision = Some(AppealDecision {
            reinstated: reinstate,
            by: principal,
            at,
            note: note.to_string(),
        });
        let c = &mut self.state.gift_cards.cards[ci as usize];
        let (amount, order, buyer) = (c.amount, c.order, c.customer);
        if reinstate {
            c.state = GiftCardState::Reinstated;
            c.history.push(CardEvent {
                at,
                kind: CardEventKind::Reinstated,
                by: principal,
                reason: None,
            });
            self.wallet_move(at, wi, ci, amount, WalletEntryKind::Reinstated, None);
            self.post(Ok(transfer(
                at,
                EntryKind::GiftCardReinstate,
                u64::from(order),
                Account::GiftCardClawback,
                Account::Wallet(wi),
                amount,
            )));
            self.emit(
                at,
                EventKind::GiftCardReinstated,
                buyer,
                Stored::GiftCard(ci),
            );
        } else {
            c.history.push(CardEvent {
                at,
                kind: CardEventKind::AppealRefused,
                by: principal,
                reason: None,
            });
        }
        Ok(Outcome::GiftCardAppeal(Box::new(self.appeal_view(ai))))
    }

    pub(crate) fn spend_wallet(
        &mut self,
        at: At,
        principal: Principal,
        wallet: &str,
        amount: Yen,
        reference: &str,
    ) -> Result<Outcome, CommandError> {
        check_writer(principal)?;
        let not_found = || CommandError::not_found("wallet_not_found", "wallet", "wallet");
        let wi = *self
            .idx
            .gift_cards
            .wallet_by_id
            .get(wallet)
            .ok_or_else(not_found)?;
        let w = &self.state.gift_cards.wallets[wi as usize];
        if !super::access::visible(principal, w.merchant) {
            return Err(not_found());
        }
        if reference.is_empty() || reference.chars().count() > WALLET_ID_CHARS_MAX {
            return Err(CommandError::invalid(
                "reference_invalid",
                "reference",
                format!("a reference has 1 to {WALLET_ID_CHARS_MAX} characters"),
            ));
        }
        if !amount.is_positive() || amount > w.balance {
            return Err(CommandError::invalid(
                "insufficient_balance",
                "amount",
                format!("a purchase takes ¥1 to the balance {}", w.balance),
            ));
        }
        let neg = amount.checked_neg().bounded("spend");
        let balance = self.wallet_move(at, wi, 0, neg, WalletEntryKind::Spent, None);
        self.post(Ok(transfer(
            at,
            EntryKind::WalletSpend,
            u64::from(wi),
            Account::Wallet(wi),
            Account::WalletSpent,
            amount,
        )));
        Ok(Outcome::WalletBalance {
            wallet: wallet.to_string(),
            balance,
        })
    }

    // ----- reads ---------------------------------------------------------------

    fn card_view(&self, i: u32) -> GiftCardView {
        let c = &self.state.gift_cards.cards[i as usize];
        GiftCardView {
            card: u64::from(i),
            order: u64::from(c.order),
            item: c.item,
            customer: u64::from(c.customer),
            cluster: self.state.identity.cluster_id(c.customer).map(u64::from),
            amount: c.amount,
            state: c.state,
            wallet: c
                .wallet
                .map(|w| self.state.gift_cards.wallets[w as usize].id.clone()),
            debt_cancelled: c.debt_cancelled,
            history: c.history.clone(),
        }
    }

    fn appeal_view(&self, ai: u32) -> AppealView {
        let a = &self.state.gift_cards.appeals[ai as usize];
        AppealView {
            appeal: u64::from(ai),
            card: u64::from(a.card),
            wallet: self.state.gift_cards.wallets[a.wallet as usize].id.clone(),
            evidence: a.evidence.clone(),
            filed_at: a.filed_at,
            filed_by: a.filed_by,
            decision: a.decision.clone(),
            trail: self.card_view(a.card),
        }
    }

    /// A card with its history (operators; a merchant sees its own).
    pub fn gift_card(&self, principal: Principal, card: u64) -> Result<GiftCardView, CommandError> {
        let not_found = || CommandError::not_found("gift_card_not_found", "id", "gift card");
        let i = u32::try_from(card)
            .ok()
            .filter(|&i| (i as usize) < self.state.gift_cards.cards.len())
            .ok_or_else(not_found)?;
        let order = self.state.gift_cards.cards[i as usize].order;
        if !super::access::visible(principal, self.state.orders[order as usize].merchant) {
            return Err(not_found());
        }
        Ok(self.card_view(i))
    }

    /// The cards an order issued.
    pub fn order_gift_cards(
        &self,
        principal: Principal,
        order: u64,
    ) -> Result<Vec<GiftCardView>, CommandError> {
        let oi = self.order_index(principal, order)?;
        Ok(self
            .idx
            .gift_cards
            .cards_of_order(oi)
            .map(|i| self.card_view(i))
            .collect())
    }

    /// The card whose code has this keyed hash, if any.
    pub fn gift_card_by_hash(&self, hash: &[u8; 32]) -> Option<u64> {
        self.idx.gift_cards.by_hash.get(hash).map(|&i| u64::from(i))
    }

    /// A wallet and its entries (a merchant sees only its own wallets).
    pub fn wallet(&self, principal: Principal, id: &str) -> Result<WalletView, CommandError> {
        let not_found = || CommandError::not_found("wallet_not_found", "id", "wallet");
        let wi = *self
            .idx
            .gift_cards
            .wallet_by_id
            .get(id)
            .ok_or_else(not_found)?;
        let w = &self.state.gift_cards.wallets[wi as usize];
        if !super::access::visible(principal, w.merchant) {
            return Err(not_found());
        }
        Ok(WalletView {
            id: w.id.clone(),
            merchant: w.merchant,
            balance: w.balance,
            entries: w.entries.clone(),
        })
    }

    /// An appeal with the purchase trail.
    pub fn gift_card_appeal(
        &self,
        principal: Principal,
        appeal: u64,
    ) -> Result<AppealView, CommandError> {
        let not_found = || CommandError::not_found("appeal_not_found", "id", "appeal");
        let ai = u32::try_from(appeal)
            .ok()
            .filter(|&i| (i as usize) < self.state.gift_cards.appeals.len())
            .ok_or_else(not_found)?;
        let w = self.state.gift_cards.appeals[ai as usize].wallet;
        if !super::access::visible(
            principal,
            self.state.gift_cards.wallets[w as usize].merchant,
        ) {
            return Err(not_found());
        }
        Ok(self.appeal_view(ai))
    }

    /// Appeals, oldest first: those waiting for a decision (`open`), or
    /// all; at most [`APPEALS_PAGE_MAX`] (a merchant sees its own wallets').
    pub fn gift_card_appeals(&self, principal: Principal, open: bool) -> Vec<AppealView> {
        let book = &self.state.gift_cards;
        book.appeals
            .iter()
            .enumerate()
            .filter(|(_, a)| !open || a.decision.is_none())
            .filter(|(_, a)| {
                super::access::visible(principal, book.wallets[a.wallet as usize].merchant)
            })
            .take(APPEALS_PAGE_MAX)
            .map(|(i, _)| self.appeal_view(id32(i)))
            .collect()
    }

    /// What revoking every card of customer `customer`'s identity cluster
    /// would touch, with the evidence of each link (operators).
    pub fn cluster_revocation_preview(
        &self,
        customer: u64,
    ) -> Result<ClusterRevocationPreview, CommandError> {
        let ci = u32::try_from(customer)
            .ok()
            .filter(|&i| (i as usize) < self.state.customers.len())
            .ok_or_else(|| {
                CommandError::not_found("customer_not_found", "cluster_of", "customer")
            })?;
        let members = match self.state.identity.cluster_id(ci) {
            Some(cluster) => self.state.identity.cluster_members(cluster),
            None => vec![ci],
        };
        let view = self.state.identity.view(ci, self.state.now);
        let evidence_of = |m: u32| {
            view.as_ref()
                .and_then(|v| v.members.iter().find(|x| x.customer == m))
                .map(|x| x.evidence.clone())
                .unwrap_or_default()
        };
        let ordered = std::iter::once(ci).chain(members.iter().copied().filter(|&m| m != ci));
        let mut accounts = Vec::new();
        let mut cards = Vec::new();
        for m in ordered {
            accounts.push((u64::from(m), evidence_of(m)));
            if let Some(list) = self.idx.gift_cards.of_customer.get(&m) {
                for &i in list {
                    if matches!(
                        self.state.gift_cards.cards[i as usize].state,
                        GiftCardState::Issued | GiftCardState::Redeemed | GiftCardState::Reinstated
                    ) {
                        cards.push(self.card_view(i));
                    }
                }
            }
        }
        Ok(ClusterRevocationPreview {
            customer,
            accounts,
            cards,
        })
    }

    /// Gift cards issued so far (benchmarks, metrics).
    pub fn gift_cards_issued(&self) -> usize {
        self.state.gift_cards.cards.len()
    }

    /// The gift-card book against the cards: every wallet's balance is the
    /// sum of its entries and its ledger account; the liability is the
    /// face value of the cards still issued; the claw-back account holds
    /// the cards revoked after redemption; the index matches.
    pub(crate) fn check_gift_cards(&self) -> Result<(), String> {
        let book = &self.state.gift_cards;
        let ledger = &self.state.ledger;
        let mut outstanding = Yen::ZERO;
        let mut clawed = Yen::ZERO;
        let mut in_wallets = vec![Yen::ZERO; book.wallets.len()];
        for (i, c) in book.cards.iter().enumerate() {
            let add = |a: Yen, b: Yen| a.checked_add(b).map_err(|e| format!("{e:?}"));
            match c.state {
                GiftCardState::Issued => outstanding = add(outstanding, c.amount)?,
                GiftCardState::Redeemed | GiftCardState::Reinstated => {
                    let w = c
                        .wallet
                        .ok_or(format!("card {i} redeemed into no wallet"))?;
                    let slot = in_wallets
                        .get_mut(w as usize)
                        .ok_or(format!("card {i}: no wallet {w}"))?;
                    *slot = add(*slot, c.amount)?;
                }
                GiftCardState::Revoked if c.wallet.is_some() => {
                    clawed = add(clawed, c.amount)?;
                }
                GiftCardState::Revoked | GiftCardState::Voided => {}
            }
            if self.idx.gift_cards.by_hash.get(&c.hash) != Some(&id32(i)) {
                return Err(format!("card {i} is not indexed by its hash"));
            }
        }
        let neg = |y: Yen| y.checked_neg().map_err(|e| format!("{e:?}"));
        if ledger.balance(Account::GiftCardLiability) != neg(outstanding)? {
            return Err(format!(
                "gift-card liability {} != unredeemed cards {outstanding}",
                ledger.balance(Account::GiftCardLiability)
            ));
        }
        // Reinstated cards were clawed back and credited again: the
        // claw-back account nets them out.
        if ledger.balance(Account::GiftCardClawback) != neg(clawed)? {
            return Err(format!(
                "claw-back account {} != revoked redeemed cards {clawed}",
                ledger.balance(Account::GiftCardClawback)
            ));
        }
        for (wi, w) in book.wallets.iter().enumerate() {
            let sum = Yen::checked_sum(w.entries.iter().map(|e| e.amount))
                .map_err(|e| format!("{e:?}"))?;
            let spent = Yen::checked_sum(
                w.entries
                    .iter()
                    .filter(|e| e.kind == WalletEntryKind::Spent)
                    .map(|e| e.amount),
            )
            .map_err(|e| format!("{e:?}"))?;
            let from_cards = in_wallets[wi]
                .checked_add(spent)
                .map_err(|e| format!("{e:?}"))?;
            if sum != w.balance || from_cards != w.balance {
                return Err(format!(
                    "wallet {} balance {} != entries {sum} / cards {}",
                    w.id, w.balance, in_wallets[wi]
                ));
            }
            if ledger.balance(Account::Wallet(id32(wi))) != neg(w.balance)? {
                return Err(format!("wallet {} differs from its ledger account", w.id));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Role;
    use crate::command::{AuthorizeInput, Command, CustomerProfile, Envelope, LineItem};
    use crate::identity::{IdentityKeys, SessionKeys};
    use atobarai_core::{Channel, JstDate, PaymentMethod, Product};

    const ISSUER: Principal = Principal::Merchant(0);
    const ADMIN: Principal = Principal::Operator(0, Role::Admin);

    fn at() -> At {
        At::parse_rfc3339("2026-06-10T10:00:00+09:00").unwrap()
    }

    fn run(e: &mut Engine, command: Command) -> Result<Outcome, CommandError> {
        e.apply(&Envelope {
            at: at(),
            idem: None,
            command,
        })
        .map(|a| a.outcome)
    }

    fn ok(e: &mut Engine, command: Command) -> Outcome {
        run(e, command).unwrap_or_else(|err| panic!("{err}"))
    }

    fn h(k: u8) -> [u8; 32] {
        [k; 32]
    }

    /// An issuer (merchant 0), a plain shop (merchant 1) and two customers
    /// of the issuer.
    fn engine() -> Engine {
        let mut e = Engine::new(Default::default());
        ok(
            &mut e,
            Command::AddIssuerMerchant {
                name: "issuer".into(),
                key_id: "k0".into(),
                secret_sha256: [0; 32],
            },
        );
        ok(
            &mut e,
            Command::AddMerchant {
                name: "shop".into(),
                key_id: "k1".into(),
                secret_sha256: [0; 32],
            },
        );
        for (i, merchant) in [(0u8, 0u32), (1, 0), (2, 1)] {
            ok(
                &mut e,
                Command::RegisterCustomer {
                    merchant,
                    profile: CustomerProfile {
                        external_id: format!("c-{i}"),
                        name: "山田 太郎".into(),
                        name_kana: "ヤマダ タロウ".into(),
                        birth_date: JstDate::parse("1990-04-01").unwrap(),
                        phone: format!("090000000{i}"),
                        email: format!("u{i}@example.jp"),
                        postal_code: "100-0013".into(),
                        address: "東京都千代田区霞が関1-3-1".into(),
                    },
                    payment_method: PaymentMethod::ConvenienceStore,
                    identity: IdentityKeys::default(),
                },
            );
        }
        e
    }

    /// An approved order of `n` gift cards of `price` (plus ¥100 of daily
    /// goods) by `customer` of `merchant`: its index.
    fn order(e: &mut Engine, merchant: u32, customer: u64, n: i64, price: i64) -> u64 {
        let Outcome::Order(o) = ok(
            e,
            Command::Authorize {
                merchant,
                input: AuthorizeInput {
                    merchant_order_id: "o".into(),
                    customer,
                    product: Product::Monthly,
                    channel: Channel::Online,
                    items: vec![
                        LineItem {
                            sku: "GC".into(),
                            name: "gift card".into(),
                            category: Category::GiftCard,
                            unit_price: Yen::new(price),
                            quantity: n,
                        },
                        LineItem {
                            sku: "DG".into(),
                            name: "洗剤".into(),
                            category: Category::DailyGoods,
                            unit_price: Yen::new(100),
                            quantity: 1,
                        },
                    ],
                    shipping_address: "東京都".into(),
                    device_id: "d".into(),
                    ip: "203.0.113.7".into(),
                    tax_rates: Vec::new(),
                },
                session: SessionKeys::default(),
            },
        ) else {
            unreachable!()
        };
        if o.decision == crate::state::Decision::Review {
            ok(
                e,
                Command::ResolveReview {
                    order: u64::from(o.order),
                    verdict: crate::command::ReviewVerdict::Approve,
                },
            );
        }
        u64::from(o.order)
    }

    fn capture(e: &mut Engine, order: u64, codes: &[u8]) -> Result<Outcome, CommandError> {
        run(
            e,
            Command::CaptureGiftCards {
                principal: ISSUER,
                order,
                amount: None,
                codes: codes.iter().map(|&k| h(k)).collect(),
            },
        )
    }

    fn redeem(e: &mut Engine, k: u8, wallet: &str) -> Result<Outcome, CommandError> {
        run(
            e,
            Command::RedeemGiftCard {
                principal: ISSUER,
                code: h(k),
                wallet: wallet.into(),
            },
        )
    }

    fn refused(e: &mut Engine, command: Command) -> CommandError {
        let before = e.digest();
        let err = run(e, command).unwrap_err();
        assert_eq!(e.digest(), before, "{err}: nothing changed");
        err
    }

    #[test]
    fn a_capture_issues_one_card_per_unit_or_nothing() {
        let mut e = engine();
        let o = order(&mut e, 0, 0, 2, 3_000);
        assert_eq!(e.gift_card_units(ISSUER, o).unwrap(), 2);
        let plain = Command::Capture {
            principal: ISSUER,
            order: o,
            amount: None,
        };
        assert_eq!(refused(&mut e, plain).code, "gift_card_codes_missing");
        let wrong = |codes: Vec<[u8; 32]>, amount| Command::CaptureGiftCards {
            principal: ISSUER,
            order: o,
            amount,
            codes,
        };
        assert_eq!(
            refused(&mut e, wrong(vec![h(1)], None)).code,
            "gift_card_codes_count"
        );
        assert_eq!(
            refused(&mut e, wrong(vec![h(1), h(1)], None)).code,
            "gift_card_code_collision"
        );
        assert_eq!(
            refused(&mut e, wrong(vec![h(1), h(2)], Some(Yen::new(100)))).code,
            "gift_card_partial_capture"
        );
        let Outcome::GiftCardsIssued {
            order: captured,
            cards,
        } = capture(&mut e, o, &[1, 2]).unwrap()
        else {
            panic!()
        };
        assert_eq!(captured.status, OrderStatus::Captured);
        assert_eq!(cards.len(), 2);
        assert_eq!((cards[1].card, cards[1].item), (1, 0));
        assert_eq!(cards[1].code_hash, h(2));
        assert_eq!(
            e.state.ledger.balance(Account::GiftCardLiability),
            Yen::new(-6_000)
        );
        // A code already issued is never issued again.
        let o2 = order(&mut e, 0, 1, 1, 1_000);
        assert_eq!(
            capture(&mut e, o2, &[1]).unwrap_err().code,
            "gift_card_code_collision"
        );
        // A plain shop's gift cards issue nothing.
        let shop = order(&mut e, 1, 2, 1, 1_000);
        assert_eq!(e.gift_card_units(Principal::Merchant(1), shop).unwrap(), 0);
        e.check_invariants().unwrap();
    }

    #[test]
    fn a_refund_voids_unredeemed_cards_latest_first_as_far_as_it_covers() {
        let mut e = engine();
        let o = order(&mut e, 0, 0, 3, 1_000);
        capture(&mut e, o, &[1, 2, 3]).unwrap();
        redeem(&mut e, 3, "w").unwrap();
        let refund = |amount| Command::Refund {
            principal: ISSUER,
            order: o,
            amount: Yen::new(amount),
        };
        // ¥900 covers no card.
        ok(&mut e, refund(900));
        let states = |e: &Engine| -> Vec<GiftCardState> {
            e.state.gift_cards.cards.iter().map(|c| c.state).collect()
        };
        assert_eq!(
            states(&e),
            [GiftCardState::Issued; 2]
                .iter()
                .copied()
                .chain([GiftCardState::Redeemed])
                .collect::<Vec<_>>()
        );
        // ¥1,200 more: ¥2,100 refunded covers two cards; the redeemed
        // third is skipped, the second and first are voided.
        ok(&mut e, refund(1_200));
        assert_eq!(
            states(&e),
            [
                GiftCardState::Voided,
                GiftCardState::Voided,
                GiftCardState::Redeemed
            ]
        );
        assert_eq!(
            redeem(&mut e, 1, "w").unwrap_err().code,
            "gift_card_invalidated"
        );
        assert_eq!(
            e.state.ledger.balance(Account::GiftCardLiability),
            Yen::ZERO
        );
        e.check_invariants().unwrap();
    }

    #[test]
    fn a_code_redeems_once_and_only_for_its_issuer() {
        let mut e = engine();
        let o = order(&mut e, 0, 0, 2, 2_000);
        capture(&mut e, o, &[1, 2]).unwrap();
        let other = Command::RedeemGiftCard {
            principal: Principal::Merchant(1),
            code: h(1),
            wallet: "w".into(),
        };
        assert_eq!(refused(&mut e, other).code, "gift_card_invalid");
        assert_eq!(
            redeem(&mut e, 1, "w").unwrap(),
            Outcome::WalletBalance {
                wallet: "w".into(),
                balance: Yen::new(2_000)
            }
        );
        for (k, w) in [(1, "w"), (1, "v"), (9, "w")] {
            let err = redeem(&mut e, k, w).unwrap_err();
            assert_eq!((err.code, err.field), ("gift_card_invalid", Some("code")));
        }
        assert_eq!(redeem(&mut e, 2, "").unwrap_err().code, "wallet_invalid");
        e.check_invariants().unwrap();
    }

    #[test]
    fn revocations_claw_back_below_zero_and_scam_victims_owe_nothing() {
        let mut e = engine();
        let o = order(&mut e, 0, 0, 2, 2_000);
        capture(&mut e, o, &[1, 2]).unwrap();
        redeem(&mut e, 1, "w").unwrap();
        ok(
            &mut e,
            Command::SpendWallet {
                principal: ISSUER,
                wallet: "w".into(),
                amount: Yen::new(1_500),
                reference: "pos".into(),
            },
        );
        let owed_before = e.state.customers[0].outstanding;
        let Outcome::GiftCardsRevoked(revoked) = ok(
            &mut e,
            Command::RevokeGiftCards {
                principal: ADMIN,
                target: RevocationTarget::Order(o),
                reason: RevocationReason::ScamVictim,
            },
        ) else {
            panic!()
        };
        assert_eq!(revoked.len(), 2);
        assert_eq!(revoked[0].was, GiftCardState::Redeemed);
        assert_eq!(revoked[0].wallet, Some(("w".into(), Yen::new(-1_500))));
        assert_eq!(revoked[1].was, GiftCardState::Issued);
        // The victim's debt for the cards is cancelled.
        assert_eq!(
            e.state.customers[0].outstanding,
            owed_before.checked_sub(Yen::new(4_000)).unwrap()
        );
        assert_eq!(
            e.state.ledger.balance(Account::GiftCardClawback),
            Yen::new(-2_000)
        );
        // Analysts and merchants may not revoke; again: already revoked.
        for p in [Principal::Operator(1, Role::Analyst), ISSUER] {
            let c = Command::RevokeGiftCards {
                principal: p,
                target: RevocationTarget::Code(h(1)),
                reason: RevocationReason::Fraud,
            };
            assert_eq!(refused(&mut e, c).code, "forbidden");
        }
        let again = Command::RevokeGiftCards {
            principal: ADMIN,
            target: RevocationTarget::Cards(vec![0, 1]),
            reason: RevocationReason::Fraud,
        };
        assert_eq!(refused(&mut e, again).code, "gift_card_already_revoked");
        let unknown = Command::RevokeGiftCards {
            principal: ADMIN,
            target: RevocationTarget::Cards(vec![7]),
            reason: RevocationReason::Fraud,
        };
        assert_eq!(refused(&mut e, unknown).code, "gift_card_not_found");
        e.check_invariants().unwrap();
    }

    #[test]
    fn an_appeal_reinstates_once_and_every_step_is_audited() {
        let mut e = engine();
        ok(
            &mut e,
            Command::AddWebhookEndpoint {
                url: "https://example.invalid/h".into(),
                key_nonce: [0; 16],
                events: vec![
                    EventKind::GiftCardRevoked,
                    EventKind::GiftCardReinstated,
                    EventKind::WalletDebited,
                ],
            },
        );
        let o = order(&mut e, 0, 0, 1, 2_000);
        capture(&mut e, o, &[1]).unwrap();
        redeem(&mut e, 1, "w").unwrap();
        let appeal = |e: &mut Engine| {
            run(
                e,
                Command::AppealGiftCard {
                    principal: ISSUER,
                    wallet: "w".into(),
                    card: 0,
                    evidence: "receipt".into(),
                },
            )
        };
        assert_eq!(appeal(&mut e).unwrap_err().code, "no_revoked_entry");
        ok(
            &mut e,
            Command::RevokeGiftCards {
                principal: ADMIN,
                target: RevocationTarget::Code(h(1)),
                reason: RevocationReason::Resale,
            },
        );
        appeal(&mut e).unwrap();
        assert_eq!(appeal(&mut e).unwrap_err().code, "appeal_pending");
        let decide = |e: &mut Engine, reinstate| {
            run(
                e,
                Command::DecideGiftCardAppeal {
                    principal: ADMIN,
                    appeal: 0,
                    reinstate,
                    note: "ok".into(),
                },
            )
        };
        let Outcome::GiftCardAppeal(a) = decide(&mut e, true).unwrap() else {
            panic!()
        };
        assert_eq!(
            a.decision.as_ref().map(|d| (d.reinstated, d.by)),
            Some((true, ADMIN))
        );
        assert_eq!(a.trail.state, GiftCardState::Reinstated);
        let events: Vec<CardEventKind> = a.trail.history.iter().map(|h| h.kind).collect();
        assert_eq!(
            events,
            [
                CardEventKind::Issued,
                CardEventKind::Redeemed,
                CardEventKind::Revoked,
                CardEventKind::AppealFiled,
                CardEventKind::Reinstated
            ]
        );
        assert_eq!(decide(&mut e, false).unwrap_err().code, "appeal_decided");
        assert_eq!(e.wallet(ADMIN, "w").unwrap().balance, Yen::new(2_000));
        let kinds: Vec<EventKind> = e.state.webhooks.events.iter().map(|ev| ev.kind).collect();
        assert_eq!(
            kinds,
            [
                EventKind::WalletDebited,
                EventKind::GiftCardRevoked,
                EventKind::GiftCardReinstated
            ]
        );
        e.check_invariants().unwrap();
    }
}
