//! Listings for an operator console: the review queue oldest first, a
//! customer's orders, lookups by a customer's `external_id` and by a
//! merchant's order id. Each is backed by an index maintained as orders are
//! appended (never a scan of all orders) and pages by order index: `after`
//! is the last order index of the previous page, `limit` at most
//! [`PAGE_LIMIT_MAX`].

use super::{Engine, NO_ORDER, merchant_id_hash};
use crate::command::{Principal, Role};
use crate::error::CommandError;
use crate::seg::SegVec;
use crate::view::{CustomerView, OrderView};

/// Most items one page returns.
pub const PAGE_LIMIT_MAX: usize = 100;

/// One page of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    /// The items, in ascending order index (oldest first).
    pub items: Vec<T>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next: Option<u32>,
}

fn check_limit(limit: usize) -> Result<(), CommandError> {
    if limit == 0 || limit > PAGE_LIMIT_MAX {
        return Err(CommandError::invalid(
            "limit_out_of_range",
            "limit",
            format!("limit must be between 1 and {PAGE_LIMIT_MAX}"),
        ));
    }
    Ok(())
}

impl Engine {
    /// A page of `ids` (ascending order indices) after `after`.
    /// The orders of one list (newest first through `prev`), those after
    /// `after` that `keep` accepts, oldest first. O(orders after the
    /// cursor).
    fn walk(
        &self,
        newest: u32,
        prev: &SegVec<u32>,
        after: Option<u32>,
        keep: impl Fn(u32) -> bool,
    ) -> Vec<u32> {
        let mut ids = Vec::new();
        let mut cur = newest;
        while cur != NO_ORDER && after.is_none_or(|a| cur > a) {
            if keep(cur) {
                ids.push(cur);
            }
            cur = prev.get(cur as usize).copied().unwrap_or(NO_ORDER);
        }
        ids.reverse();
        ids
    }

    fn page(&self, ids: impl Iterator<Item = u32>, limit: usize) -> Page<OrderView> {
        let mut items: Vec<OrderView> = ids
            .take(limit.saturating_add(1))
            .map(|oi| self.order_view(oi))
            .collect();
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|o| o.order)
        } else {
            None
        };
        Page { items, next }
    }

    /// Orders held for review, oldest first (operators who decide reviews:
    /// admins, analysts and the command line).
    pub fn orders_in_review(
        &self,
        principal: Principal,
        after: Option<u32>,
        limit: usize,
    ) -> Result<Page<OrderView>, CommandError> {
        match principal {
            Principal::Operator(_, Role::Admin | Role::Analyst) | Principal::System => {}
            Principal::Operator(_, Role::Payments) | Principal::Merchant(_) => {
                return Err(CommandError::forbidden("the review queue is for operators"));
            }
        }
        check_limit(limit)?;
        let from = after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
        let ids = self
            .idx
            .in_review
            .range((from, std::ops::Bound::Unbounded))
            .copied();
        Ok(self.page(ids, limit))
    }

    /// A customer's orders, oldest first.
    pub fn customer_orders(
        &self,
        principal: Principal,
        customer: &str,
        after: Option<u32>,
        limit: usize,
    ) -> Result<Page<OrderView>, CommandError> {
        check_limit(limit)?;
        let ci = self.customer_from_id(principal, customer)?;
        let newest = self
            .idx
            .last_of_customer
            .get(ci as usize)
            .copied()
            .unwrap_or(NO_ORDER);
        let ids = self.walk(newest, &self.idx.prev_of_customer, after, |_| true);
        Ok(self.page(ids.into_iter(), limit))
    }

    /// A merchant's customer by the merchant's own id for it. Merchants see
    /// only their own customers.
    pub fn customer_by_external_id(
        &self,
        principal: Principal,
        merchant: u32,
        external_id: &str,
    ) -> Result<CustomerView, CommandError> {
        let not_found = || CommandError::not_found("customer_not_found", "external_id", "customer");
        let &ci = self
            .idx
            .customer_by_external
            .get(&(merchant, Box::<str>::from(external_id)))
            .ok_or_else(not_found)?;
        let ci = self
            .customer_index(principal, u64::from(ci))
            .map_err(|_| not_found())?;
        Ok(self.customer_view_at(ci, self.state.now))
    }

    /// A merchant's orders with its own order id `merchant_order_id`
    /// (not necessarily unique), oldest first.
    pub fn orders_by_merchant_order_id(
        &self,
        principal: Principal,
        merchant: u32,
        merchant_order_id: &str,
        after: Option<u32>,
        limit: usize,
    ) -> Result<Page<OrderView>, CommandError> {
        check_limit(limit)?;
        if matches!(principal, Principal::Merchant(m) if m != merchant) {
            return Err(CommandError::not_found(
                "order_not_found",
                "merchant_order_id",
                "order",
            ));
        }
        let newest = self
            .idx
            .last_by_merchant_id
            .get(&(merchant, merchant_id_hash(merchant_order_id)))
            .copied()
            .unwrap_or(NO_ORDER);
        let ids = self.walk(newest, &self.idx.prev_same_merchant_id, after, |oi| {
            let o = &self.state.orders[oi as usize];
            o.merchant == merchant && *o.merchant_order_id == *merchant_order_id
        });
        Ok(self.page(ids.into_iter(), limit))
    }
}
