//! Every normalizer is total and idempotent: property tests over arbitrary
//! strings and over strings built from the characters addresses, names,
//! phones and e-mails are made of.

use atobarai_identity::{Kind, normalize};
use proptest::prelude::*;

/// Characters that exercise the interesting paths: digits of both widths,
/// kanji numerals, block markers, hyphen look-alikes, kana, variant kanji,
/// spaces, e-mail and phone punctuation.
fn tricky_char() -> impl Strategy<Value = char> {
    prop::sample::select(
        "0123456789０１２３４５６７８９〇一二三四五六七八九十百千壱丁目番地号の之ノ町条西北-－ー―‐−ｰ 　〒都道府県市区郡大字字東京千代田霞が関ヶケ紀尾井髙﨑邊齋濱澤國ﾊﾟｶﾞあいうアイウｱｲｳ゛゜@.+_aAzZ()#室階ビル上る下ル"
            .chars()
            .collect::<Vec<_>>(),
    )
}

fn tricky_string() -> impl Strategy<Value = String> {
    prop::collection::vec(tricky_char(), 0..40).prop_map(|v| v.into_iter().collect())
}

/// Realistic address shapes with random parts, to reach deep paths.
fn address_like() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "",
            "東京都",
            "東京",
            "大阪府",
            "北海道",
            "京都府",
            "〒100-0013 ",
            "1000013 ",
        ]),
        prop::sample::select(vec![
            "",
            "千代田区",
            "大阪市北区",
            "札幌市中央区",
            "京都市中京区",
            "府中市",
            "串本町",
            "市川市",
        ]),
        prop::sample::select(vec![
            "",
            "霞が関",
            "紀尾井町",
            "中之島",
            "北1条西",
            "寺町通御池上る",
            "大字新堀",
            "本町",
        ]),
        tricky_string(),
    )
        .prop_map(|(a, b, c, d)| format!("{a}{b}{c}{d}"))
}

fn check(kind: Kind, input: &str) -> Result<(), TestCaseError> {
    let n = normalize(kind, input);
    if let Some(c) = &n.canonical {
        let again = normalize(kind, c);
        prop_assert_eq!(
            again.canonical.as_ref(),
            Some(c),
            "{} {:?} -> {:?}",
            kind,
            input,
            c
        );
        prop_assert_eq!(&again.keys, &n.keys, "{} {:?}: keys changed", kind, input);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_string_every_kind(s in any::<String>()) {
        for kind in Kind::ALL {
            check(kind, &s)?;
        }
    }

    #[test]
    fn tricky_strings_every_kind(s in tricky_string()) {
        for kind in Kind::ALL {
            check(kind, &s)?;
        }
    }

    #[test]
    fn address_like_strings(s in address_like()) {
        check(Kind::Address, &s)?;
    }
}

#[test]
fn limits_are_enforced_without_panicking() {
    let long = "東".repeat(100_000);
    for kind in Kind::ALL {
        let n = normalize(kind, &long);
        assert!(n.canonical.is_none(), "{kind} accepted 100k chars");
    }
}

#[test]
fn kind_parses_from_the_cli_spelling() {
    for kind in Kind::ALL {
        assert_eq!(kind.as_str().parse::<Kind>(), Ok(kind));
    }
    assert!("Address".parse::<Kind>().is_ok());
    assert!("postcode".parse::<Kind>().is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// The fast path for mobile and IP-phone numbers gives exactly what the
    /// full libphonenumber parse gives, for every shape it accepts.
    #[test]
    fn phone_fast_path_agrees_with_libphonenumber(
        lead in 5u8..10,
        second in 0u8..10,
        rest in prop::collection::vec(0u8..10, 8),
        style in 0u8..4,
    ) {
        use atobarai_identity::phone::{clean_for_tests, normalize_phone, parse_with_metadata};
        let national: String = [lead, second].iter().chain(&rest).map(|d| char::from(b'0' + d)).collect();
        let input = match style {
            0 => format!("0{national}"),
            1 => format!("0{}-{}-{}", &national[..2], &national[2..6], &national[6..]),
            2 => format!("+81{national}"),
            _ => format!("+81 {} {} {}", &national[..2], &national[2..6], &national[6..]),
        };
        let fast = normalize_phone(&input);
        let slow = parse_with_metadata(&input, &clean_for_tests(&input), "JP");
        prop_assert_eq!(fast, slow, "{}", input);
    }
}
