//! Which rows go on which page. Rows fill a page down to its body's
//! bottom; a heading never ends a page (it goes over with its first row),
//! and a page that starts inside a purchase or a section repeats its
//! heading first, marked as continued.
//! The totals follow the last row, on its page when they fit there, else
//! on one more page; the payment part sits at the foot of the page of the
//! totals when it fits under them, else of one more page.

use super::geometry::{BODY_BOTTOM, FIRST_TABLE_TOP, GAP, NEXT_TABLE_TOP, ROW_H, TABLE_HEADER_H};
use super::rows::Row;
use std::ops::Range;

/// One page of the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct PagePlan {
    /// The rows drawn on the page.
    pub(super) rows: Range<usize>,
    /// The heading (an index into the rows) repeated at the top of the
    /// page, continued from the page before.
    pub(super) continued: Option<usize>,
    /// The totals are drawn on this page, under its rows.
    pub(super) totals: bool,
    /// The payment part is drawn at the foot of this page.
    pub(super) payment: bool,
}

/// Pages for `rows`, the totals being `totals` mm tall and the payment
/// part `payment` mm.
pub(super) fn plan(rows: &[Row<'_>], totals: f32, payment: f32) -> Vec<PagePlan> {
    let mut pages = Vec::new();
    let mut start = 0usize;
    let mut top = FIRST_TABLE_TOP;
    let mut y = top + TABLE_HEADER_H;
    let mut continued = None;
    let mut heading = None;
    for (i, row) in rows.iter().enumerate() {
        let keep = if row.is_heading() { 2.0 * ROW_H } else { ROW_H };
        if y + keep > BODY_BOTTOM && i > start {
            pages.push(PagePlan {
                rows: start..i,
                continued,
                totals: false,
                payment: false,
            });
            start = i;
            top = NEXT_TABLE_TOP;
            y = top + TABLE_HEADER_H;
            continued = if row.is_heading() { None } else { heading };
            if continued.is_some() {
                y += ROW_H;
            }
        }
        if row.is_heading() {
            heading = Some(i);
        }
        y += ROW_H;
    }
    if rows.is_empty() {
        // No table: the totals start where the table would.
        y = top;
    }
    let end = rows.len();
    let page = |rows: Range<usize>, continued, totals: bool, payment: bool| PagePlan {
        rows,
        continued,
        totals,
        payment,
    };
    let totals_end = y + GAP + totals;
    if totals_end + GAP + payment <= BODY_BOTTOM {
        pages.push(page(start..end, continued, true, true));
    } else if totals_end <= BODY_BOTTOM {
        pages.push(page(start..end, continued, true, false));
        pages.push(page(end..end, None, false, true));
    } else {
        pages.push(page(start..end, continued, false, false));
        let alone = NEXT_TABLE_TOP + GAP + totals + GAP + payment <= BODY_BOTTOM;
        pages.push(page(end..end, None, true, alone));
        if !alone {
            pages.push(page(end..end, None, false, true));
        }
    }
    pages
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use crate::model::Line;
    use crate::tax::TaxRate;
    use atobarai_core::Yen;

    fn rows(n: usize) -> Vec<Row<'static>> {
        let line: &'static Line = Box::leak(Box::new(Line {
            name: "品".to_owned(),
            quantity: 1,
            unit_price: Yen::new(100),
            amount: Yen::new(100),
            rate: TaxRate::STANDARD,
            reduced: false,
        }));
        vec![Row::Line(line); n]
    }

    #[test]
    fn a_heading_goes_over_with_its_first_row() {
        let full = ((BODY_BOTTOM - FIRST_TABLE_TOP - TABLE_HEADER_H) / ROW_H) as usize;
        let mut rs = rows(full - 1);
        rs.push(Row::Section("手数料等"));
        rs.extend(rows(3));
        let pages = plan(&rs, 10.0, 10.0);
        assert_eq!(pages[0].rows, 0..full - 1);
        assert_eq!(pages[1].rows.start, full - 1);
        assert_eq!(pages[1].continued, None);
    }

    #[test]
    fn a_page_starting_inside_a_section_repeats_its_heading() {
        let mut rs = vec![Row::Section("手数料等")];
        rs.extend(rows(100));
        let pages = plan(&rs, 10.0, 10.0);
        assert_eq!(pages[0].continued, None);
        for p in &pages[1..] {
            if !p.rows.is_empty() {
                assert_eq!(p.continued, Some(0), "{p:?}");
            }
        }
    }

    #[test]
    fn a_short_table_and_its_tail_fit_on_one_page() {
        let one = |n| PagePlan {
            rows: 0..n,
            continued: None,
            totals: true,
            payment: true,
        };
        assert_eq!(plan(&rows(5), 40.0, 40.0), vec![one(5)]);
        assert_eq!(plan(&[], 40.0, 40.0), vec![one(0)]);
    }

    #[test]
    fn a_long_table_flows_on_and_the_tail_follows_the_last_row() {
        let pages = plan(&rows(100), 40.0, 60.0);
        assert!(pages.len() >= 3, "{pages:?}");
        // Every row on exactly one page, in order.
        let mut next = 0;
        for p in &pages {
            assert_eq!(p.rows.start, next);
            next = p.rows.end;
        }
        assert_eq!(next, 100);
        assert_eq!(pages.iter().filter(|p| p.totals).count(), 1);
        assert_eq!(pages.iter().filter(|p| p.payment).count(), 1);
        assert!(pages.last().unwrap().payment);
        // Every page's rows fit its body.
        for (i, p) in pages.iter().enumerate() {
            let top = if i == 0 {
                FIRST_TABLE_TOP
            } else {
                NEXT_TABLE_TOP
            };
            let bottom = top + TABLE_HEADER_H + p.rows.len() as f32 * ROW_H;
            assert!(bottom <= BODY_BOTTOM, "page {i}: {bottom}");
        }
    }

    #[test]
    fn what_does_not_fit_under_the_rows_goes_on_a_page_of_its_own() {
        // 32 rows fill the first page: totals and payment on the second.
        let full = ((BODY_BOTTOM - FIRST_TABLE_TOP - TABLE_HEADER_H) / ROW_H) as usize;
        let pages = plan(&rows(full), 40.0, 60.0);
        assert_eq!(pages.len(), 2, "{pages:?}");
        assert_eq!(pages[1].rows, full..full);
        assert!(pages[1].totals && pages[1].payment);
        assert!(!pages[0].totals && !pages[0].payment);
        // 20 rows leave room for the totals, not for the payment part.
        let pages = plan(&rows(20), 40.0, 60.0);
        assert_eq!(pages.len(), 2, "{pages:?}");
        assert!(pages[0].totals && !pages[0].payment);
        assert!(!pages[1].totals && pages[1].payment);
    }
}
