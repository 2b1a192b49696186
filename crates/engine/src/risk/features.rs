//! The risk features: named, typed values computed at decision time from
//! engine state (no I/O, deterministic), for risk rules to read.
//!
//! The table below is the schema a rules file is checked against. A
//! feature's name and meaning are a compatibility boundary (journaled rule
//! sets name them): never rename or change the meaning of one; add a new
//! name instead. Amounts are integer yen; shares are basis points
//! (1/10,000) so no rule ever needs a float; "none" is `-1` for times
//! since an event that never happened.
//!
//! Windows: the history features read the customer's most recent
//! [`HISTORY_ORDERS_MAX`] orders within [`HISTORY_WINDOW_DAYS`] days (a
//! bound on work per decision, not a sample: a customer past it is already
//! far beyond every velocity a rule would allow). "Liquid" means a gift
//! card, prepaid / e-money or resellable electronics (game consoles,
//! smartphones, electronics); "cash-equivalent" only the first two.

/// Most orders of the customer read per decision (newest first).
pub const HISTORY_ORDERS_MAX: usize = 48;
/// Orders older than this are not read.
pub const HISTORY_WINDOW_DAYS: i64 = 120;
/// Most members of an identity cluster whose orders are read.
pub const CLUSTER_MEMBERS_MAX: usize = 8;
/// Most orders per other cluster member read.
pub const CLUSTER_MEMBER_ORDERS_MAX: usize = 16;

/// A feature's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeatureType {
    /// A 64-bit integer (yen, counts, days, basis points).
    Int,
    /// True or false.
    Bool,
    /// A short text from a closed set (a channel, a product).
    Str,
}

/// A feature's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeatureValue {
    /// An integer.
    Int(i64),
    /// A truth value.
    Bool(bool),
    /// A text from a closed set.
    Str(&'static str),
}

/// One entry of the schema.
#[derive(Clone, Copy, Debug)]
pub struct FeatureDef {
    /// The name rules use (`cart.total`).
    pub name: &'static str,
    /// Its type.
    pub ty: FeatureType,
    /// What it means, for the rules' authors.
    pub doc: &'static str,
}

macro_rules! features {
    ($( $id:ident = $name:literal : $ty:ident, $doc:literal; )*) => {
        /// Feature ids: the position of each feature in [`FEATURES`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(usize)]
        pub enum F {
            $(
                #[doc = $doc]
                $id,
            )*
        }

        /// The schema, in [`F`] order.
        pub const FEATURES: &[FeatureDef] = &[
            $( FeatureDef { name: $name, ty: FeatureType::$ty, doc: $doc }, )*
        ];
    };
}

features! {
    CartTotal = "cart.total": Int, "The order total, yen.";
    CartLines = "cart.lines": Int, "Lines in the cart.";
    CartLiquidYen = "cart.liquid_yen": Int, "Yen of liquid goods (gift cards, prepaid/e-money, resellable electronics).";
    CartCashEquivalentYen = "cart.cash_equivalent_yen": Int, "Yen of gift cards and prepaid/e-money.";
    CartGiftCardYen = "cart.gift_card_yen": Int, "Yen of gift cards.";
    CartPrepaidYen = "cart.prepaid_yen": Int, "Yen of prepaid cards and e-money top-ups.";
    CartResellableYen = "cart.resellable_yen": Int, "Yen of resellable electronics (game consoles, smartphones, electronics).";
    CartOrdinaryYen = "cart.ordinary_yen": Int, "Yen of ordinary goods.";
    CartLiquidShareBp = "cart.liquid_share_bp": Int, "Liquid yen / total, in basis points (0-10000).";
    CartCashEquivalentShareBp = "cart.cash_equivalent_share_bp": Int, "Cash-equivalent yen / total, in basis points.";
    CartPadded = "cart.padded": Bool, "Cash-equivalents together with ordinary goods (camouflage).";
    CartMaxLiquidUnitYen = "cart.max_liquid_unit_yen": Int, "The dearest liquid unit price in the cart.";
    OrderChannel = "order.channel": Str, "online or in_store.";
    OrderProduct = "order.product": Str, "per_order or monthly.";
    OrderHourJst = "order.hour_jst": Int, "Hour of the day in Japan (0-23).";
    AccountAgeDays = "account.age_days": Int, "Days since the account was registered.";
    AccountOrdersApproved = "account.orders_approved": Int, "Orders ever approved or held for this account.";
    AccountPaidOrders = "account.paid_orders": Int, "Online orders paid in full.";
    AccountLimit = "account.limit": Int, "The account's limit, yen.";
    AccountExposure = "account.exposure": Int, "Held + outstanding - credit, yen, before this order.";
    AccountUtilizationBp = "account.utilization_bp": Int, "(exposure + this order) / limit, basis points.";
    HistOrders1h = "history.orders_1h": Int, "Orders tried (any decision) in the last hour.";
    HistOrders24h = "history.orders_24h": Int, "Orders tried in the last 24 hours.";
    HistOrders7d = "history.orders_7d": Int, "Orders tried in the last 7 days.";
    HistDeclined24h = "history.declined_24h": Int, "Orders declined in the last 24 hours.";
    HistYen24h = "history.yen_24h": Int, "Yen approved or held in the last 24 hours.";
    HistYen30d = "history.yen_30d": Int, "Yen approved or held in the last 30 days.";
    HistOrdersSeen = "history.orders_seen": Int, "Earlier orders approved or held, within the window read.";
    HistAvgOrderYen = "history.avg_order_yen": Int, "Mean of those orders' totals (0 without any).";
    HistLiquidOrders7d = "history.liquid_orders_7d": Int, "Earlier approved/held orders with liquid goods, last 7 days.";
    HistLiquidOrders30d = "history.liquid_orders_30d": Int, "Same, last 30 days.";
    HistLiquidOrders90d = "history.liquid_orders_90d": Int, "Same, last 90 days.";
    HistLiquidYen30d = "history.liquid_yen_30d": Int, "Liquid yen of those orders, last 30 days.";
    HistLiquidYen90d = "history.liquid_yen_90d": Int, "Liquid yen of those orders, last 90 days.";
    HistCashEquivalentOrders90d = "history.cash_equivalent_orders_90d": Int, "Earlier approved/held orders with gift cards or prepaid, last 90 days.";
    HistMaxLiquidYen = "history.max_liquid_yen": Int, "The largest liquid yen of one earlier order (0 if none).";
    HistDaysSinceLiquid = "history.days_since_liquid": Int, "Days since the last earlier liquid order (-1 if none).";
    HistSameAmount30d = "history.same_amount_30d": Int, "Earlier liquid orders in 30 days with the same cash-equivalent (or liquid) yen as this cart.";
    HistSameSku30d = "history.same_sku_30d": Int, "Earlier orders in 30 days holding a liquid SKU of this cart.";
    HistLiquidCadenceRegular = "history.liquid_cadence_regular": Bool, "This liquid order and at least two before it, spaced 7-35 days apart with intervals within 7 days of each other (a schedule).";
    HistLiquidIntervalsSeen = "history.liquid_intervals": Int, "Intervals between consecutive liquid orders seen (this one included).";
    HistHoursSincePayment = "history.hours_since_payment": Int, "Hours since the customer's last payment (-1 if none).";
    SessionDeviceNew = "session.device_new": Bool, "The device was never seen on this account before, and the account has ordered before.";
    SessionIpNew = "session.ip_new": Bool, "The IP network was never seen on this account before, and the account has ordered before.";
    SessionDeviceAccounts = "session.device_accounts": Int, "Accounts that have used this device (0 without a device id).";
    SessionIpAccounts = "session.ip_accounts": Int, "Accounts seen on this IP network recently.";
    ClusterAccounts = "cluster.accounts": Int, "Accounts in the identity cluster (1 when alone).";
    ClusterExposure = "cluster.exposure": Int, "The cluster's exposure before this order, yen.";
    ClusterLimit = "cluster.limit": Int, "The cluster's shared limit, yen.";
    ClusterMemberOverdue = "cluster.member_overdue": Bool, "Another account of the cluster is overdue.";
    ClusterLiquidOrders30d = "cluster.liquid_orders_30d": Int, "Approved/held liquid orders of every cluster member in 30 days (this account included, this order not).";
    ClusterHubKeys = "cluster.hub_keys": Int, "Hub keys the account carries (a device/phone/e-mail shared past its threshold).";
    AddressNewAccounts30d = "address.new_accounts_30d": Int, "Accounts registered at this address unit in 30 days.";
    HistCashEquivalentOrders30d = "history.cash_equivalent_orders_30d": Int, "Earlier approved/held orders with gift cards or prepaid, last 30 days (resellable electronics not counted).";
    HistMaxCashEquivalentYen = "history.max_cash_equivalent_yen": Int, "The largest gift-card + prepaid yen of one earlier approved/held order (0 if none).";
    HistDaysSinceCashEquivalent = "history.days_since_cash_equivalent": Int, "Days since the last earlier approved/held order with gift cards or prepaid (-1 if none).";
    HistPaddedOrders90d = "history.padded_orders_90d": Int, "Earlier approved/held orders in 90 days with cash-equivalents among ordinary goods (camouflage).";
    ClusterCashEquivalentOrders30d = "cluster.cash_equivalent_orders_30d": Int, "Approved/held orders with gift cards or prepaid of every cluster member in 30 days (this account included, this order not).";
    DeviceOrders1h = "device.orders_1h": Int, "Earlier orders (any account, any decision) from this device id in the last hour (16 = 16 or more).";
    DeviceOrders24h = "device.orders_24h": Int, "Same, last 24 hours.";
    DeviceAccounts24h = "device.accounts_24h": Int, "Accounts among those orders of the last 24 hours.";
    IpOrders1h = "ip.orders_1h": Int, "Earlier orders from this IP network (/24, IPv6 /64) in the last hour (16 = 16 or more).";
    IpOrders24h = "ip.orders_24h": Int, "Same, last 24 hours.";
    IpAccounts24h = "ip.accounts_24h": Int, "Accounts among those orders of the last 24 hours.";
    IpLiquidOrders24h = "ip.liquid_orders_24h": Int, "Of those orders, the ones with liquid goods.";
    MerchantOrders1h = "merchant.orders_1h": Int, "Orders at this merchant in the current and the previous clock hour.";
    MerchantLiquidOrders1h = "merchant.liquid_orders_1h": Int, "Of them, the ones with liquid goods.";
    MerchantLiquidShare24hBp = "merchant.liquid_share_24h_bp": Int, "Share of the merchant's orders of the last 24 clock hours with liquid goods, basis points.";
    ModelScore = "model.score": Int, "The live credit scorecard's score of this order (points, higher is better; 0 without a live model: read model.live first).";
    ModelLive = "model.live": Bool, "A live credit scorecard scored this order (model.score is its score).";
    CustomerPhoneVerified = "customer.phone_verified": Bool, "The customer's phone was verified by an SMS code (at sign-up or in a verified change).";
    CustomerContactChangedDays = "customer.contact_changed_days": Int, "Days since the last verified change of phone or e-mail (99999 if never).";
}

/// Number of features.
pub const FEATURE_COUNT: usize = FEATURES.len();

/// Every feature's value for one decision, by [`F`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Features {
    values: [FeatureValue; FEATURE_COUNT],
}

impl Default for Features {
    fn default() -> Self {
        // Every feature starts at its type's zero.
        let mut values = [FeatureValue::Int(0); FEATURE_COUNT];
        for (v, def) in values.iter_mut().zip(FEATURES) {
            *v = match def.ty {
                FeatureType::Int => FeatureValue::Int(0),
                FeatureType::Bool => FeatureValue::Bool(false),
                FeatureType::Str => FeatureValue::Str(""),
            };
        }
        Features { values }
    }
}

impl Features {
    /// The value of feature `f`.
    pub fn get(&self, f: F) -> FeatureValue {
        self.values[f as usize]
    }

    /// The value of the feature at position `id` in [`FEATURES`].
    pub fn by_index(&self, id: usize) -> Option<FeatureValue> {
        self.values.get(id).copied()
    }

    /// The value of the feature named `name`.
    pub fn by_name(&self, name: &str) -> Option<FeatureValue> {
        let id = FEATURES.iter().position(|d| d.name == name)?;
        self.by_index(id)
    }

    /// An integer feature (0 if `f` is not one).
    pub fn int(&self, f: F) -> i64 {
        match self.get(f) {
            FeatureValue::Int(v) => v,
            _ => 0,
        }
    }

    /// A boolean feature (false if `f` is not one).
    pub fn flag(&self, f: F) -> bool {
        matches!(self.get(f), FeatureValue::Bool(true))
    }

    /// Set an integer feature.
    pub(crate) fn set_int(&mut self, f: F, v: i64) {
        debug_assert_eq!(FEATURES[f as usize].ty, FeatureType::Int, "{f:?}");
        self.values[f as usize] = FeatureValue::Int(v);
    }

    /// Set a boolean feature.
    pub(crate) fn set_bool(&mut self, f: F, v: bool) {
        debug_assert_eq!(FEATURES[f as usize].ty, FeatureType::Bool, "{f:?}");
        self.values[f as usize] = FeatureValue::Bool(v);
    }

    /// Set a text feature.
    pub(crate) fn set_str(&mut self, f: F, v: &'static str) {
        debug_assert_eq!(FEATURES[f as usize].ty, FeatureType::Str, "{f:?}");
        self.values[f as usize] = FeatureValue::Str(v);
    }

    /// Every (name, value), in schema order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, FeatureValue)> + '_ {
        FEATURES
            .iter()
            .map(|d| d.name)
            .zip(self.values.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_lowercase_and_dotted() {
        let mut seen = std::collections::BTreeSet::new();
        for d in FEATURES {
            assert!(seen.insert(d.name), "duplicate feature {}", d.name);
            assert!(d.name.contains('.'), "{} has no family", d.name);
            assert!(
                d.name.bytes().all(|b| b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || b == b'_'
                    || b == b'.'),
                "{}",
                d.name
            );
        }
    }

    #[test]
    fn defaults_match_types_and_lookups_agree() {
        let f = Features::default();
        for (i, d) in FEATURES.iter().enumerate() {
            let v = f.by_index(i).unwrap();
            let ok = matches!(
                (d.ty, v),
                (FeatureType::Int, FeatureValue::Int(0))
                    | (FeatureType::Bool, FeatureValue::Bool(false))
                    | (FeatureType::Str, FeatureValue::Str(""))
            );
            assert!(ok, "{}", d.name);
            assert_eq!(f.by_name(d.name), Some(v));
        }
        assert_eq!(FEATURES[F::CartTotal as usize].name, "cart.total");
        assert_eq!(
            FEATURES[F::AddressNewAccounts30d as usize].name,
            "address.new_accounts_30d"
        );
        assert!(f.by_name("cart.nope").is_none());
    }
}
