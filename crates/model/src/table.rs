//! A training table read from tab-separated text.
//!
//! The first line is the header. Fields are UTF-8, separated by tabs and
//! quoted CSV-style when they contain a quote character. Every row must have
//! as many fields as the header (a ragged row is an error naming its line).
//! Values are trimmed of surrounding white space. A value is **missing** when
//! it is empty or one of `NA`, `N/A`, `NaN`, `null`, `None` (any case).

use crate::ModelError;

/// Tokens read as a missing value (compared without case, after trimming).
pub const MISSING_TOKENS: [&str; 5] = ["na", "n/a", "nan", "null", "none"];

/// True when `value` (already trimmed) is a missing value.
#[must_use]
pub fn is_missing(value: &str) -> bool {
    value.is_empty() || MISSING_TOKENS.iter().any(|t| value.eq_ignore_ascii_case(t))
}

/// A rectangular table of text fields with a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
    /// The line of the input each row started on (header = line 1).
    lines: Vec<usize>,
}

impl Table {
    /// Parses tab-separated text with a header line.
    ///
    /// # Errors
    /// An empty input, a header without columns, a duplicated column name,
    /// a row whose field count differs from the header's, or text that is not
    /// UTF-8 / not valid quoting, each naming the line.
    pub fn from_tsv(bytes: &[u8]) -> Result<Self, ModelError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ModelError::EmptyTable);
        }
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(b'\t')
            .has_headers(true)
            .flexible(true)
            .from_reader(bytes);
        let header = reader.headers().map_err(|e| csv_error(&e, 1))?.clone();
        let columns: Vec<String> = header.iter().map(|c| c.trim().to_owned()).collect();
        if columns.is_empty() || columns.iter().all(String::is_empty) {
            return Err(ModelError::EmptyTable);
        }
        for (i, c) in columns.iter().enumerate() {
            if columns[..i].contains(c) {
                return Err(ModelError::DuplicateColumn(c.clone()));
            }
        }
        let mut rows = Vec::new();
        let mut lines = Vec::new();
        for (i, record) in reader.records().enumerate() {
            // Line numbers count the header as line 1 (multi-line quoted
            // fields aside, where the csv reader's own position is used).
            let line = i + 2;
            let record = record.map_err(|e| csv_error(&e, line))?;
            let line = record
                .position()
                .and_then(|p| usize::try_from(p.line()).ok())
                .unwrap_or(line);
            if record.len() == 1 && record.get(0).is_some_and(|f| f.trim().is_empty()) {
                // A blank line (the csv reader skips most, not all).
                continue;
            }
            if record.len() != columns.len() {
                return Err(ModelError::RaggedRow {
                    line,
                    fields: record.len(),
                    expected: columns.len(),
                });
            }
            rows.push(record.iter().map(|f| f.trim().to_owned()).collect());
            lines.push(line);
        }
        if rows.is_empty() {
            return Err(ModelError::NoRows);
        }
        Ok(Self {
            columns,
            rows,
            lines,
        })
    }

    /// Builds a table from columns and rows already split.
    ///
    /// # Errors
    /// As [`Table::from_tsv`]: no columns, duplicated names, ragged or no rows.
    pub fn new(columns: Vec<String>, rows: Vec<Vec<String>>) -> Result<Self, ModelError> {
        if columns.is_empty() {
            return Err(ModelError::EmptyTable);
        }
        for (i, c) in columns.iter().enumerate() {
            if columns[..i].contains(c) {
                return Err(ModelError::DuplicateColumn(c.clone()));
            }
        }
        for (i, r) in rows.iter().enumerate() {
            if r.len() != columns.len() {
                return Err(ModelError::RaggedRow {
                    line: i + 2,
                    fields: r.len(),
                    expected: columns.len(),
                });
            }
        }
        if rows.is_empty() {
            return Err(ModelError::NoRows);
        }
        let lines = (2..rows.len() + 2).collect();
        let rows = rows
            .into_iter()
            .map(|r| r.into_iter().map(|f| f.trim().to_owned()).collect())
            .collect();
        Ok(Self {
            columns,
            rows,
            lines,
        })
    }

    /// The header's column names.
    #[must_use]
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The rows, each as many fields as there are columns.
    #[must_use]
    pub fn rows(&self) -> &[Vec<String>] {
        &self.rows
    }

    /// The input line row `i` started on (header = line 1).
    #[must_use]
    pub fn line(&self, i: usize) -> usize {
        self.lines.get(i).copied().unwrap_or(i + 2)
    }

    /// The position of column `name`.
    #[must_use]
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}

fn csv_error(e: &csv::Error, line: usize) -> ModelError {
    let line = e
        .position()
        .and_then(|p| usize::try_from(p.line()).ok())
        .unwrap_or(line);
    ModelError::Parse {
        line,
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_quoted_fields_and_trims() {
        let t = Table::from_tsv(b"a\tb\n\"x \"\"q\"\"\"\t 2 \n").expect("table");
        assert_eq!(t.columns(), ["a", "b"]);
        assert_eq!(t.rows()[0], ["x \"q\"", "2"]);
    }

    #[test]
    fn ragged_row_names_its_line() {
        let e = Table::from_tsv(b"a\tb\n1\t2\n3\n").expect_err("ragged");
        assert!(
            matches!(
                e,
                ModelError::RaggedRow {
                    line: 3,
                    fields: 1,
                    expected: 2
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn empty_inputs_are_refused() {
        assert!(matches!(Table::from_tsv(b""), Err(ModelError::EmptyTable)));
        assert!(matches!(
            Table::from_tsv(b" \n\n"),
            Err(ModelError::EmptyTable)
        ));
        assert!(matches!(
            Table::from_tsv(b"a\tb\n"),
            Err(ModelError::NoRows)
        ));
        assert!(matches!(
            Table::from_tsv(b"a\ta\n1\t2\n"),
            Err(ModelError::DuplicateColumn(_))
        ));
    }

    #[test]
    fn missing_tokens() {
        for v in ["", "NA", "n/a", "NaN", "NULL", "none"] {
            assert!(is_missing(v), "{v}");
        }
        for v in ["0", "-", "nan2", "x"] {
            assert!(!is_missing(v), "{v}");
        }
    }
}
