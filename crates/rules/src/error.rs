//! Errors with a position in the rules (or cases) file.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One problem found in a rules or cases file: 1-based line and column
/// (columns count characters) and a message. Serializes as
/// `{"line":…,"column":…,"message":…}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleError {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for RuleError {}

/// Maps byte offsets of a text to line and column.
pub(crate) struct LineIndex<'t> {
    text: &'t str,
    starts: Vec<usize>,
}

impl<'t> LineIndex<'t> {
    pub(crate) fn new(text: &'t str) -> LineIndex<'t> {
        let mut starts = vec![0];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                starts.push(i.saturating_add(1));
            }
        }
        LineIndex { text, starts }
    }

    /// A TOML error, at its span's start.
    pub(crate) fn toml_error(&self, e: &toml::de::Error) -> RuleError {
        let at = e.span().map_or(0, |s| s.start);
        self.error(at, e.message().trim_end().to_owned())
    }

    /// An error at byte `offset` (clamped to the text).
    pub(crate) fn error(&self, offset: usize, message: impl Into<String>) -> RuleError {
        let offset = offset.min(self.text.len());
        let line = self
            .starts
            .partition_point(|s| *s <= offset)
            .saturating_sub(1);
        let start = self.starts.get(line).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or_else(|| {
                // Not on a char boundary: count the bytes before it that are.
                self.text
                    .char_indices()
                    .filter(|(i, _)| *i >= start && *i < offset)
                    .count()
            });
        RuleError {
            line: u32::try_from(line.saturating_add(1)).unwrap_or(u32::MAX),
            column: u32::try_from(column.saturating_add(1)).unwrap_or(u32::MAX),
            message: message.into(),
        }
    }
}

/// Parses a TOML document, every syntax error collected.
pub(crate) fn parse_document<'t>(
    text: &'t str,
    ix: &LineIndex<'_>,
) -> Result<toml::de::DeTable<'t>, Vec<RuleError>> {
    let (root, syntax) = toml::de::DeTable::parse_recoverable(text);
    if syntax.is_empty() {
        Ok(root.into_inner())
    } else {
        let mut errors: Vec<RuleError> = syntax.iter().map(|e| ix.toml_error(e)).collect();
        errors.sort_by_key(|e| (e.line, e.column));
        Err(errors)
    }
}

/// Deserializes one piece of a document, keeping the file's positions.
pub(crate) fn deserialize<'t, T: serde::Deserialize<'t>>(
    value: &toml::Spanned<toml::de::DeValue<'t>>,
    ix: &LineIndex<'_>,
    errors: &mut Vec<RuleError>,
) -> Option<T> {
    match T::deserialize(toml::de::ValueDeserializer::from(value.clone())) {
        Ok(v) => Some(v),
        Err(e) => {
            errors.push(ix.toml_error(&e));
            None
        }
    }
}

#[cfg(test)]
#[allow(clippy::panic, clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn positions() {
        let t = "ab\nc日d\n";
        let ix = LineIndex::new(t);
        assert_eq!((ix.error(0, "").line, ix.error(0, "").column), (1, 1));
        assert_eq!((ix.error(3, "").line, ix.error(3, "").column), (2, 1));
        let after_kanji = 3 + 1 + 3;
        assert_eq!(ix.error(after_kanji, "").column, 3);
        assert_eq!(ix.error(999, "").line, 3);
    }
}
