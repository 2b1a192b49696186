//! Code 128 symbol encoding (ISO/IEC 15417, JIS X 0504), as GS1-128 uses it
//! for an all-numeric data string.
//!
//! # The symbol
//!
//! A Code 128 symbol is a row of *symbol characters*. Each character is
//! 11 modules wide and drawn as three bars and three spaces (bar first),
//! each 1 to 4 modules wide; the bars of a character add up to an even
//! number of modules and the spaces to an odd one. The stop character is
//! 13 modules: the same six runs plus a final 2-module bar (the
//! termination bar). So a symbol of `n` characters before the stop is
//! `11 × n + 13` modules wide, quiet zones not included.
//!
//! An even-length run of digits is cheapest in code set C, where one
//! character carries a pair of digits (value `00`…`99`). GS1-128 puts the
//! function character FNC1 right after the start character: that FNC1 is
//! what tells a scanner the data is GS1 element strings (the AI and its
//! data) rather than plain Code 128. The application identifier is encoded
//! like any other digits; its parentheses exist only in the human-readable
//! text. For our data (even length, digits only):
//!
//! ```text
//! Start C (105) · FNC1 (102) · pair₁ … pairₙ · check · Stop (106)
//! ```
//!
//! # The symbol check character
//!
//! Modulo 103 over the values: the start character's value (weight 1)
//! plus each following character's value times its position, counting
//! FNC1 as position 1: `(105 + 1 × 102 + 2 × pair₁ + … ) mod 103`.

/// The bar/space widths (in modules, bar first) of the Code 128 symbol
/// characters with values 0 to 105. Value 102 is FNC1 in code set C,
/// 105 is Start C.
const PATTERNS: [[u8; 6]; 106] = [
    [2, 1, 2, 2, 2, 2], // 0
    [2, 2, 2, 1, 2, 2], // 1
    [2, 2, 2, 2, 2, 1], // 2
    [1, 2, 1, 2, 2, 3], // 3
    [1, 2, 1, 3, 2, 2], // 4
    [1, 3, 1, 2, 2, 2], // 5
    [1, 2, 2, 2, 1, 3], // 6
    [1, 2, 2, 3, 1, 2], // 7
    [1, 3, 2, 2, 1, 2], // 8
    [2, 2, 1, 2, 1, 3], // 9
    [2, 2, 1, 3, 1, 2], // 10
    [2, 3, 1, 2, 1, 2], // 11
    [1, 1, 2, 2, 3, 2], // 12
    [1, 2, 2, 1, 3, 2], // 13
    [1, 2, 2, 2, 3, 1], // 14
    [1, 1, 3, 2, 2, 2], // 15
    [1, 2, 3, 1, 2, 2], // 16
    [1, 2, 3, 2, 2, 1], // 17
    [2, 2, 3, 2, 1, 1], // 18
    [2, 2, 1, 1, 3, 2], // 19
    [2, 2, 1, 2, 3, 1], // 20
    [2, 1, 3, 2, 1, 2], // 21
    [2, 2, 3, 1, 1, 2], // 22
    [3, 1, 2, 1, 3, 1], // 23
    [3, 1, 1, 2, 2, 2], // 24
    [3, 2, 1, 1, 2, 2], // 25
    [3, 2, 1, 2, 2, 1], // 26
    [3, 1, 2, 2, 1, 2], // 27
    [3, 2, 2, 1, 1, 2], // 28
    [3, 2, 2, 2, 1, 1], // 29
    [2, 1, 2, 1, 2, 3], // 30
    [2, 1, 2, 3, 2, 1], // 31
    [2, 3, 2, 1, 2, 1], // 32
    [1, 1, 1, 3, 2, 3], // 33
    [1, 3, 1, 1, 2, 3], // 34
    [1, 3, 1, 3, 2, 1], // 35
    [1, 1, 2, 3, 1, 3], // 36
    [1, 3, 2, 1, 1, 3], // 37
    [1, 3, 2, 3, 1, 1], // 38
    [2, 1, 1, 3, 1, 3], // 39
    [2, 3, 1, 1, 1, 3], // 40
    [2, 3, 1, 3, 1, 1], // 41
    [1, 1, 2, 1, 3, 3], // 42
    [1, 1, 2, 3, 3, 1], // 43
    [1, 3, 2, 1, 3, 1], // 44
    [1, 1, 3, 1, 2, 3], // 45
    [1, 1, 3, 3, 2, 1], // 46
    [1, 3, 3, 1, 2, 1], // 47
    [3, 1, 3, 1, 2, 1], // 48
    [2, 1, 1, 3, 3, 1], // 49
    [2, 3, 1, 1, 3, 1], // 50
    [2, 1, 3, 1, 1, 3], // 51
    [2, 1, 3, 3, 1, 1], // 52
    [2, 1, 3, 1, 3, 1], // 53
    [3, 1, 1, 1, 2, 3], // 54
    [3, 1, 1, 3, 2, 1], // 55
    [3, 3, 1, 1, 2, 1], // 56
    [3, 1, 2, 1, 1, 3], // 57
    [3, 1, 2, 3, 1, 1], // 58
    [3, 3, 2, 1, 1, 1], // 59
    [3, 1, 4, 1, 1, 1], // 60
    [2, 2, 1, 4, 1, 1], // 61
    [4, 3, 1, 1, 1, 1], // 62
    [1, 1, 1, 2, 2, 4], // 63
    [1, 1, 1, 4, 2, 2], // 64
    [1, 2, 1, 1, 2, 4], // 65
    [1, 2, 1, 4, 2, 1], // 66
    [1, 4, 1, 1, 2, 2], // 67
    [1, 4, 1, 2, 2, 1], // 68
    [1, 1, 2, 2, 1, 4], // 69
    [1, 1, 2, 4, 1, 2], // 70
    [1, 2, 2, 1, 1, 4], // 71
    [1, 2, 2, 4, 1, 1], // 72
    [1, 4, 2, 1, 1, 2], // 73
    [1, 4, 2, 2, 1, 1], // 74
    [2, 4, 1, 2, 1, 1], // 75
    [2, 2, 1, 1, 1, 4], // 76
    [4, 1, 3, 1, 1, 1], // 77
    [2, 4, 1, 1, 1, 2], // 78
    [1, 3, 4, 1, 1, 1], // 79
    [1, 1, 1, 2, 4, 2], // 80
    [1, 2, 1, 1, 4, 2], // 81
    [1, 2, 1, 2, 4, 1], // 82
    [1, 1, 4, 2, 1, 2], // 83
    [1, 2, 4, 1, 1, 2], // 84
    [1, 2, 4, 2, 1, 1], // 85
    [4, 1, 1, 2, 1, 2], // 86
    [4, 2, 1, 1, 1, 2], // 87
    [4, 2, 1, 2, 1, 1], // 88
    [2, 1, 2, 1, 4, 1], // 89
    [2, 1, 4, 1, 2, 1], // 90
    [4, 1, 2, 1, 2, 1], // 91
    [1, 1, 1, 1, 4, 3], // 92
    [1, 1, 1, 3, 4, 1], // 93
    [1, 3, 1, 1, 4, 1], // 94
    [1, 1, 4, 1, 1, 3], // 95
    [1, 1, 4, 3, 1, 1], // 96
    [4, 1, 1, 1, 1, 3], // 97
    [4, 1, 1, 3, 1, 1], // 98
    [1, 1, 3, 1, 4, 1], // 99
    [1, 1, 4, 1, 3, 1], // 100
    [3, 1, 1, 1, 4, 1], // 101
    [4, 1, 1, 1, 3, 1], // 102: FNC1
    [2, 1, 1, 4, 1, 2], // 103: Start A
    [2, 1, 1, 2, 1, 4], // 104: Start B
    [2, 1, 1, 2, 3, 2], // 105: Start C
];

/// The stop character (value 106) with its termination bar: 13 modules.
const STOP: [u8; 7] = [2, 3, 3, 1, 1, 1, 2];

/// Start character for code set C.
const START_C: u8 = 105;
/// FNC1 (in code set C).
const FNC1: u8 = 102;

/// Modules of one symbol character.
const CHARACTER_MODULES: u32 = 11;
/// Modules of the stop character, termination bar included.
const STOP_MODULES: u32 = 13;

/// The symbol character values of a GS1-128 symbol holding `digits` in
/// code set C: Start C, FNC1, one value per digit pair, the symbol check
/// character (the stop is not a value here). `None` when `digits` is not
/// an even number of ASCII digits.
pub(crate) fn gs1_numeric_values(digits: &str) -> Option<Vec<u8>> {
    let bytes = digits.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let mut values = Vec::with_capacity(bytes.len().div_ceil(2).saturating_add(3));
    values.push(START_C);
    values.push(FNC1);
    for pair in bytes.chunks_exact(2) {
        let tens = digit_value(pair[0])?;
        let units = digit_value(pair[1])?;
        values.push(tens.checked_mul(10)?.checked_add(units)?);
    }
    values.push(check_character(&values)?);
    Some(values)
}

/// The symbol check character of `values` (start character first):
/// `(values[0] + Σ i × values[i]) mod 103`.
fn check_character(values: &[u8]) -> Option<u8> {
    let mut sum: u32 = 0;
    for (position, value) in values.iter().enumerate() {
        let weight = u32::try_from(position.max(1)).ok()?;
        sum = sum.checked_add(weight.checked_mul(u32::from(*value))?)?;
    }
    u8::try_from(sum.checked_rem(103)?).ok()
}

/// The value of one ASCII digit.
fn digit_value(byte: u8) -> Option<u8> {
    byte.is_ascii_digit()
        .then(|| byte.checked_sub(b'0'))
        .flatten()
}

/// The module widths of the symbol made of `values` followed by the stop
/// character: alternating bar and space runs, bar first, each 1 to 4
/// modules, no quiet zones. `None` if a value is not a symbol character
/// (above 105).
pub(crate) fn runs(values: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(values.len().saturating_mul(6).saturating_add(STOP.len()));
    for value in values {
        out.extend_from_slice(PATTERNS.get(usize::from(*value))?);
    }
    out.extend_from_slice(&STOP);
    Some(out)
}

/// Width in modules of a symbol with `characters` symbol characters
/// before the stop: `11 × characters + 13`.
pub(crate) fn symbol_modules(characters: usize) -> Option<u32> {
    u32::try_from(characters)
        .ok()?
        .checked_mul(CHARACTER_MODULES)?
        .checked_add(STOP_MODULES)
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    #[test]
    fn every_character_is_11_modules_with_even_bars_and_odd_spaces() {
        for (value, pattern) in PATTERNS.iter().enumerate() {
            let bars: u8 = pattern.iter().step_by(2).sum();
            let spaces: u8 = pattern.iter().skip(1).step_by(2).sum();
            assert_eq!(bars + spaces, 11, "value {value}");
            assert_eq!(bars % 2, 0, "value {value}: bars {bars}");
            assert_eq!(spaces % 2, 1, "value {value}: spaces {spaces}");
            assert!(pattern.iter().all(|r| (1..=4).contains(r)), "value {value}");
        }
        assert_eq!(
            STOP.iter().map(|r| u32::from(*r)).sum::<u32>(),
            STOP_MODULES
        );
    }

    #[test]
    fn every_pattern_is_distinct() {
        for (i, a) in PATTERNS.iter().enumerate() {
            for b in &PATTERNS[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // The stop's first six runs are no character either.
        assert!(!PATTERNS.iter().any(|p| p[..] == STOP[..6]));
    }

    /// The worked example of the check character: "(91)12" → values
    /// Start C 105, FNC1 102, 91, 12.
    /// 105 + 1×102 + 2×91 + 3×12 = 105 + 102 + 182 + 36 = 425;
    /// 425 mod 103 = 425 − 4×103 = 13.
    #[test]
    fn worked_example_check_character() {
        assert_eq!(gs1_numeric_values("9112"), Some(vec![105, 102, 91, 12, 13]));
    }

    #[test]
    fn odd_lengths_and_non_digits_are_refused() {
        assert_eq!(gs1_numeric_values("911"), None);
        assert_eq!(gs1_numeric_values("9a"), None);
        assert_eq!(gs1_numeric_values("９１"), None);
        assert_eq!(runs(&[106]), None);
    }

    #[test]
    fn width_follows_11_per_character_plus_13() {
        let values = gs1_numeric_values("9112").unwrap();
        let modules: u32 = runs(&values).unwrap().iter().map(|r| u32::from(*r)).sum();
        assert_eq!(Some(modules), symbol_modules(values.len()));
        assert_eq!(modules, 11 * 5 + 13);
    }
}
