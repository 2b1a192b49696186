//! Sample documents for the rendering tests (PDF and HTML): realistic
//! Japanese content with every kind of row — a mixed 8 %/10 % basket, a
//! partial capture taken off, a credit note, the ¥209 fee, a re-issue
//! (late) fee, delay damages outside the tax, and the convenience-store
//! barcode with the transfer details.
//!
//! Every figure is computed here the way the shell computes it (lines
//! less adjustments, totals by rate after credit notes with one rounding
//! per rate, reductions apportioned by rate), so the samples are
//! consistent documents, not just text.

#![allow(dead_code)] // each test binary uses part of it

use atobarai_core::{JstDate, Yen};
use atobarai_documents::barcode::{ConvenienceCode, ConvenienceLayout, SlipData};
use atobarai_documents::model::{
    Addressee, Adjustment, Charge, CreditLine, Document, Issuer, Kind, Line, PaymentInstructions,
    Purchase, Transfer,
};
use atobarai_documents::tax::{TaxRate, apportion, totals_by_rate};

fn day(y: i16, m: i8, d: i8) -> JstDate {
    JstDate::new(y, m, d).expect("a valid date")
}

fn yen(v: i64) -> Yen {
    Yen::new(v)
}

/// A line: `name`, `quantity` × `unit` yen, reduced rate when `reduced`.
fn line(name: &str, quantity: i64, unit: i64, reduced: bool) -> Line {
    Line {
        name: name.to_owned(),
        quantity,
        unit_price: yen(unit),
        amount: yen(unit * quantity),
        rate: if reduced {
            TaxRate::REDUCED
        } else {
            TaxRate::STANDARD
        },
        reduced,
    }
}

/// What `lines` hold at each rate, highest rate first.
fn by_rate(lines: &[Line]) -> Vec<(TaxRate, Yen)> {
    let mut parts: Vec<(TaxRate, Yen)> = Vec::new();
    for l in lines {
        match parts.iter_mut().find(|(r, _)| *r == l.rate) {
            Some((_, sum)) => *sum = sum.checked_add(l.amount).unwrap(),
            None => parts.push((l.rate, l.amount)),
        }
    }
    parts.sort_by_key(|p| std::cmp::Reverse(p.0));
    parts
}

/// A purchase of `lines`, with `taken_off` (label, yen) taken off before
/// issue, apportioned by rate.
fn purchase(
    merchant: &str,
    date: JstDate,
    order: &str,
    merchant_order_id: &str,
    lines: Vec<Line>,
    taken_off: Option<(&str, i64)>,
) -> Purchase {
    let parts = by_rate(&lines);
    let adjustments: Vec<Adjustment> = taken_off
        .into_iter()
        .map(|(label, amount)| Adjustment {
            label_ja: label.to_owned(),
            amount: yen(amount),
            by_rate: apportion(yen(amount), &parts).unwrap(),
        })
        .collect();
    let gross = Yen::checked_sum(lines.iter().map(|l| l.amount)).unwrap();
    let off = Yen::checked_sum(adjustments.iter().map(|a| a.amount)).unwrap();
    Purchase {
        merchant: merchant.to_owned(),
        date,
        order: order.to_owned(),
        merchant_order_id: merchant_order_id.to_owned(),
        lines,
        adjustments,
        billed: gross.checked_sub(off).unwrap(),
    }
}

/// A credit note of `amount` against `purchase`, apportioned by rate over
/// what the purchase billed at each rate.
fn credit(number: &str, issued_on: JstDate, p: &Purchase, amount: i64) -> CreditLine {
    let mut parts = by_rate(&p.lines);
    for a in &p.adjustments {
        for (rate, off) in &a.by_rate {
            if let Some((_, v)) = parts.iter_mut().find(|(r, _)| r == rate) {
                *v = v.checked_sub(*off).unwrap();
            }
        }
    }
    CreditLine {
        number: number.to_owned(),
        issued_on,
        order: p.order.clone(),
        amount: yen(amount),
        by_rate: apportion(yen(amount), &parts).unwrap(),
    }
}

fn issuer() -> Issuer {
    Issuer {
        name: "アトバライ株式会社".to_owned(),
        postal_code: "150-0002".to_owned(),
        address: "東京都渋谷区渋谷二丁目24番12号 渋谷スクランブルスクエア 39階".to_owned(),
        phone: "0120-123-456（平日 9:00〜18:00）".to_owned(),
        registration: "T1234567890123".to_owned(),
    }
}

fn addressee() -> Addressee {
    Addressee {
        postal_code: Some("530-0001".to_owned()),
        address_lines: vec![
            "大阪府大阪市北区梅田三丁目1番3号".to_owned(),
            "グランドメゾン梅田タワー 2105号室".to_owned(),
        ],
        name: "山田 花子".to_owned(),
    }
}

/// Totals, the payment instructions and the document around them.
#[allow(clippy::too_many_arguments)]
fn assemble(
    kind: Kind,
    number: &str,
    month: Option<&str>,
    issued_on: JstDate,
    due_on: JstDate,
    as_of: JstDate,
    purchases: Vec<Purchase>,
    charges: Vec<Charge>,
    credit_notes: Vec<CreditLine>,
    paid: i64,
    reference: &str,
    reissue: u8,
    slip_due: JstDate,
) -> Document {
    let mut amounts: Vec<(TaxRate, Yen)> = Vec::new();
    for p in &purchases {
        amounts.extend(p.lines.iter().map(|l| (l.rate, l.amount)));
        for a in &p.adjustments {
            amounts.extend(
                a.by_rate
                    .iter()
                    .map(|(r, v)| (*r, v.checked_neg().unwrap())),
            );
        }
    }
    amounts.extend(charges.iter().filter_map(|c| c.rate.map(|r| (r, c.amount))));
    for c in &credit_notes {
        amounts.extend(
            c.by_rate
                .iter()
                .map(|(r, v)| (*r, v.checked_neg().unwrap())),
        );
    }
    let non_taxable = Yen::checked_sum(
        charges
            .iter()
            .filter(|c| c.rate.is_none())
            .map(|c| c.amount),
    )
    .unwrap();
    let total = Yen::checked_sum(
        purchases
            .iter()
            .map(|p| p.billed)
            .chain(charges.iter().map(|c| c.amount)),
    )
    .unwrap();
    let credited = Yen::checked_sum(credit_notes.iter().map(|c| c.amount)).unwrap();
    let paid = yen(paid);
    let to_pay = total
        .checked_sub(credited)
        .unwrap()
        .checked_sub(paid)
        .unwrap()
        .max(Yen::ZERO);
    let convenience = ConvenienceCode::new(
        &ConvenienceLayout::new("912345"),
        &SlipData {
            reference: reference.to_owned(),
            reissue,
            due: slip_due,
            amount: to_pay,
        },
    )
    .expect("a valid barcode");
    Document {
        kind,
        number: number.to_owned(),
        customer: "cus_01HZX8Q4M7K2N9P3R5T6V8W0YA".to_owned(),
        month: month.map(str::to_owned),
        issued_on,
        due_on,
        as_of,
        issuer: issuer(),
        addressee: addressee(),
        purchases,
        charges,
        credit_notes,
        by_rate: totals_by_rate(amounts).unwrap(),
        non_taxable,
        total,
        credited,
        paid,
        to_pay,
        payment: PaymentInstructions {
            method_ja: "コンビニ払い・銀行振込".to_owned(),
            note_ja: "お支払期限までに、全国の主要コンビニエンスストアで下のバーコードをご提示のうえお支払いください。銀行・ゆうちょ銀行からのお振込も承ります（振込手数料はお客様のご負担となります）。".to_owned(),
            convenience: Some(convenience),
            transfer: Some(Transfer {
                bank_account: "みずほ銀行 渋谷中央支店（123） 普通 1234567 カ）アトバライ".to_owned(),
                post_office_account: "ゆうちょ銀行 〇一九店（019） 当座 0123456 カ）アトバライ".to_owned(),
                reference: reference.to_owned(),
                amount: to_pay,
            }),
        },
    }
}

/// The per-order invoice, re-issued once after its due date: a mixed
/// basket with a part not captured, a returned item (credit note), the
/// invoice fee, the re-issue fee and delay damages.
pub fn sample_invoice() -> Document {
    let p = purchase(
        "まるごと食品オンライン",
        day(2026, 5, 3),
        "ord_01JT8K3Q9V6M2X4N7P5RZB",
        "MF-20260503-0042",
        vec![
            line("北海道産 生乳100% ヨーグルト 400g", 2, 298, true),
            line("有機栽培 煎茶 ティーバッグ 2g×50袋", 1, 1_080, true),
            line(
                "国産コシヒカリ 新米 5kg（精米日より1ヶ月以内発送・特別栽培米・産地直送のため配送日時の指定はできません）",
                1,
                2_980,
                true,
            ),
            line("ステンレス製 真空断熱 保温ボトル 500ml", 1, 2_200, false),
            line("台所用洗剤 詰め替え用 大容量 1,100ml", 3, 418, false),
        ],
        Some(("一部取消（欠品のため出荷なし）", 1_080)),
    );
    let cn = credit("CN-2026-000123", day(2026, 5, 12), &p, 596);
    assemble(
        Kind::Invoice,
        "INV-2026-0050312",
        None,
        day(2026, 5, 4),
        day(2026, 5, 18),
        day(2026, 6, 2),
        vec![p],
        vec![
            Charge {
                label_ja: "請求書発行手数料".to_owned(),
                amount: yen(209),
                rate: Some(TaxRate::STANDARD),
            },
            Charge {
                label_ja: "再発行手数料".to_owned(),
                amount: yen(330),
                rate: Some(TaxRate::STANDARD),
            },
            Charge {
                label_ja: "遅延損害金（年14.6%・15日分）".to_owned(),
                amount: yen(37),
                rate: None,
            },
        ],
        vec![cn],
        0,
        "20260050312",
        1,
        // The re-issued slip is payable for two more weeks.
        day(2026, 6, 16),
    )
}

/// The monthly statement for May 2026: four purchases at three
/// merchants, one partly captured, one item returned, the statement fee,
/// last month's re-issue fee, delay damages and a part already paid.
pub fn sample_statement() -> Document {
    let grocery = purchase(
        "まるごと食品オンライン",
        day(2026, 5, 3),
        "ord_01JT8K3Q9V6M2X4N7P5RZB",
        "MF-20260503-0042",
        vec![
            line("北海道産 生乳100% ヨーグルト 400g", 2, 298, true),
            line("有機栽培 煎茶 ティーバッグ 2g×50袋", 1, 1_080, true),
            line(
                "国産コシヒカリ 新米 5kg（特別栽培米・産地直送）",
                1,
                2_980,
                true,
            ),
            line("台所用洗剤 詰め替え用 大容量 1,100ml", 3, 418, false),
        ],
        Some(("一部取消（欠品のため出荷なし）", 1_080)),
    );
    let books = purchase(
        "ブックス青葉",
        day(2026, 5, 9),
        "ord_01JTB2C7D4E9F3G8H1J6K5LM",
        "AOBA-778120",
        vec![
            line("はじめての家計簿 2026年度版", 1, 1_540, false),
            line("日本経済新聞 5月分（定期購読）", 1, 4_400, true),
        ],
        None,
    );
    let kitchen = purchase(
        "くらしの道具店 ひより",
        day(2026, 5, 17),
        "ord_01JTQ9R3S6T2U8V4W7X1Y5ZA",
        "HY-0517-3391",
        vec![
            line("南部鉄器 急須 0.65L 霰（あられ）", 1, 8_800, false),
            line("ステンレス製 真空断熱 保温ボトル 500ml", 2, 2_200, false),
            line("国産ひのき まな板 L", 1, 3_300, false),
        ],
        None,
    );
    let snacks = purchase(
        "まるごと食品オンライン",
        day(2026, 5, 28),
        "ord_01JV0A4B8C2D6E9F3G7H1J5KM",
        "MF-20260528-0107",
        vec![
            line("国産 素焼きミックスナッツ 500g", 1, 1_598, true),
            line("瀬戸内レモン 果汁100% ストレート 720ml", 2, 864, true),
            line(
                "ノンアルコール ビールテイスト飲料 350ml×24本",
                1,
                3_168,
                false,
            ),
        ],
        None,
    );
    let cn = credit("CN-2026-000188", day(2026, 5, 24), &kitchen, 3_300);
    assemble(
        Kind::Statement,
        "ST-2026-05-0001234",
        Some("2026-05"),
        day(2026, 6, 1),
        day(2026, 6, 27),
        day(2026, 6, 1),
        vec![grocery, books, kitchen, snacks],
        vec![
            Charge {
                label_ja: "請求書発行手数料（5月分）".to_owned(),
                amount: yen(209),
                rate: Some(TaxRate::STANDARD),
            },
            Charge {
                label_ja: "再発行手数料（4月分）".to_owned(),
                amount: yen(330),
                rate: Some(TaxRate::STANDARD),
            },
            Charge {
                label_ja: "遅延損害金（4月分・年14.6%・9日分）".to_owned(),
                amount: yen(58),
                rate: None,
            },
        ],
        vec![cn],
        5_000,
        "20260001234",
        0,
        day(2026, 6, 27),
    )
}
