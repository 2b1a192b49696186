//! Decision reasons: a stable snake_case code that merchants and analysts
//! can rely on, with the text a customer or operator reads in Japanese and
//! English. Codes are part of the API contract: add, never rename.

use serde::{Deserialize, Serialize};

/// Why an order was declined or held (stable codes shown to merchants).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// The order would take exposure past the shared limit (account or cluster).
    LimitExceeded,
    /// The per-order invoice product's own cap would be exceeded.
    ProductLimitExceeded,
    /// The in-store cap would be exceeded.
    InStoreLimitExceeded,
    /// Not enough paid online history for in-store payment yet.
    InStoreHistoryInsufficient,
    /// An invoice of this customer or a linked account is overdue.
    OverdueInvoice,
    /// The account is suspended.
    AccountSuspended,
    /// A category in the cart is suspended for this merchant or channel.
    CategorySuspended,
    /// Only gift cards, prepaid or e-money in the cart.
    CashEquivalentOnlyCart,
    /// A first use that buys cash-equivalent value.
    FirstUseCashEquivalent,
    /// An analyst approved the order after review.
    OperatorApproved,
    /// An analyst declined the order after review.
    OperatorDeclined,
    /// A rule of the risk rule set in force declined or held the order;
    /// the order shows the rules' own reason codes and texts in its place.
    /// (Appended last: stored orders keep their codes' positions.)
    RiskRule,
    /// The customer froze their account (a charge they did not recognise).
    CustomerFrozen,
    /// The sign-up is held for review (past trouble on a shared key).
    SignUpInReview,
    /// In-store use needs an identity verified by eKYC.
    EkycRequired,
    /// A configured product's cap (per product, channel or merchant, per
    /// billing cycle) would be exceeded.
    ProductCapExceeded,
}

/// A reason attached to a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// The stable code.
    pub code: ReasonCode,
}

impl From<ReasonCode> for Reason {
    fn from(code: ReasonCode) -> Reason {
        Reason { code }
    }
}

impl ReasonCode {
    /// Every code, in declaration order.
    pub const ALL: &'static [ReasonCode] = &[
        ReasonCode::LimitExceeded,
        ReasonCode::ProductLimitExceeded,
        ReasonCode::InStoreLimitExceeded,
        ReasonCode::InStoreHistoryInsufficient,
        ReasonCode::OverdueInvoice,
        ReasonCode::AccountSuspended,
        ReasonCode::CategorySuspended,
        ReasonCode::CashEquivalentOnlyCart,
        ReasonCode::FirstUseCashEquivalent,
        ReasonCode::OperatorApproved,
        ReasonCode::OperatorDeclined,
        ReasonCode::RiskRule,
        ReasonCode::CustomerFrozen,
        ReasonCode::SignUpInReview,
        ReasonCode::EkycRequired,
        ReasonCode::ProductCapExceeded,
    ];

    /// The API spelling (`limit_exceeded`, …).
    pub const fn code(self) -> &'static str {
        match self {
            ReasonCode::LimitExceeded => "limit_exceeded",
            ReasonCode::ProductLimitExceeded => "product_limit_exceeded",
            ReasonCode::InStoreLimitExceeded => "in_store_limit_exceeded",
            ReasonCode::InStoreHistoryInsufficient => "in_store_history_insufficient",
            ReasonCode::OverdueInvoice => "overdue_invoice",
            ReasonCode::AccountSuspended => "account_suspended",
            ReasonCode::CategorySuspended => "category_suspended",
            ReasonCode::CashEquivalentOnlyCart => "cash_equivalent_only_cart",
            ReasonCode::FirstUseCashEquivalent => "first_use_cash_equivalent",
            ReasonCode::OperatorApproved => "operator_approved",
            ReasonCode::OperatorDeclined => "operator_declined",
            ReasonCode::RiskRule => "risk_rule",
            ReasonCode::CustomerFrozen => "customer_frozen",
            ReasonCode::SignUpInReview => "sign_up_in_review",
            ReasonCode::EkycRequired => "ekyc_required",
            ReasonCode::ProductCapExceeded => "product_cap_exceeded",
        }
    }

    /// The message shown to Japanese-speaking buyers and merchants.
    pub const fn message_ja(self) -> &'static str {
        match self {
            ReasonCode::LimitExceeded => "ご利用可能枠を超えるため、このご注文は承認できません。",
            ReasonCode::ProductLimitExceeded => {
                "請求書払い（都度後払い）のご利用残高の上限を超えています。"
            }
            ReasonCode::InStoreLimitExceeded => "店舗でのご利用上限額を超えています。",
            ReasonCode::InStoreHistoryInsufficient => {
                "店舗でのコード払いは、オンラインでのご利用とお支払いの実績ができてからご利用いただけます。"
            }
            ReasonCode::OverdueInvoice => {
                "お支払い期限を過ぎた請求があるため、新しいご利用はできません。"
            }
            ReasonCode::AccountSuspended => "アカウントのご利用が停止されています。",
            ReasonCode::CategorySuspended => {
                "この商品カテゴリは現在、後払いでのご購入を停止しています。"
            }
            ReasonCode::CashEquivalentOnlyCart => {
                "ギフトカード・電子マネー等のみのご注文のため、確認が必要です。"
            }
            ReasonCode::FirstUseCashEquivalent => {
                "初回のご利用でギフトカード・電子マネー等を含むため、確認が必要です。"
            }
            ReasonCode::OperatorApproved => "審査担当者が承認しました。",
            ReasonCode::OperatorDeclined => "審査担当者の確認の結果、承認できませんでした。",
            ReasonCode::RiskRule => "審査基準により、このご注文は確認が必要です。",
            ReasonCode::CustomerFrozen => {
                "お客様のお申し出によりご利用を停止しています。解除はサポートまでご連絡ください。"
            }
            ReasonCode::SignUpInReview => "ご登録内容を確認中のため、現在ご利用いただけません。",
            ReasonCode::EkycRequired => "店舗でのお支払いには本人確認（eKYC）の完了が必要です。",
            ReasonCode::ProductCapExceeded => {
                "このお支払い方法の今月のご利用上限額を超えるため、承認できません。"
            }
        }
    }

    /// The message in English.
    pub const fn message_en(self) -> &'static str {
        match self {
            ReasonCode::LimitExceeded => "The order would exceed the customer's credit limit.",
            ReasonCode::ProductLimitExceeded => {
                "The order would exceed the outstanding cap of the per-order invoice product."
            }
            ReasonCode::InStoreLimitExceeded => "The order would exceed the in-store spending cap.",
            ReasonCode::InStoreHistoryInsufficient => {
                "In-store code payment needs a history of paid online orders first."
            }
            ReasonCode::OverdueInvoice => "The customer has an overdue invoice on either product.",
            ReasonCode::AccountSuspended => "The customer's account is suspended.",
            ReasonCode::CategorySuspended => {
                "Deferred payment is suspended for a category in this order."
            }
            ReasonCode::CashEquivalentOnlyCart => {
                "The cart holds only gift cards or prepaid value; held for review."
            }
            ReasonCode::FirstUseCashEquivalent => {
                "A first purchase containing gift cards or prepaid value; held for review."
            }
            ReasonCode::OperatorApproved => "Approved by a risk analyst after review.",
            ReasonCode::OperatorDeclined => "Declined by a risk analyst after review.",
            ReasonCode::RiskRule => "The order was declined or held by the provider's risk rules.",
            ReasonCode::CustomerFrozen => {
                "The customer froze the account; an operator must lift the freeze."
            }
            ReasonCode::SignUpInReview => "The sign-up is being reviewed; purchases wait for it.",
            ReasonCode::EkycRequired => "In-store payment needs a completed identity verification.",
            ReasonCode::ProductCapExceeded => {
                "The order would exceed this payment product's cap for the billing cycle."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_spelling_matches_code() {
        for c in ReasonCode::ALL {
            let json = serde_json_like(*c);
            assert_eq!(json, c.code());
            assert!(!c.message_ja().is_empty() && !c.message_en().is_empty());
        }
    }

    // postcard is our only serializer here; check the snake_case rename via
    // Debug → snake_case conversion instead of pulling serde_json in.
    fn serde_json_like(c: ReasonCode) -> String {
        let debug = format!("{c:?}");
        let mut out = String::new();
        for (i, ch) in debug.chars().enumerate() {
            if ch.is_ascii_uppercase() {
                if i > 0 {
                    out.push('_');
                }
                out.push(ch.to_ascii_lowercase());
            } else {
                out.push(ch);
            }
        }
        out
    }
}
