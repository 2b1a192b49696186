//! Weight-of-evidence scorecards, trained inside the project.
//!
//! - [`table::Table`]: tab-separated training data (missing values, ragged
//!   rows and empty files handled with clear errors);
//! - [`train::train`]: monotone binning ([`binning`]), smoothed WoE and IV
//!   ([`woe`]), an L2 logistic fit ([`logistic`]), integer points;
//! - [`model::Model`]: the versioned, checksummed model file, scoring a row
//!   (integer points, deterministic, no allocation) and its three largest
//!   adverse contributions;
//! - [`metrics`]: AUC, KS, Gini, ROC; [`report`]: a self-contained HTML page.
//!
//! The crate does no I/O except [`model::Model::save`] / [`model::Model::load`].

pub mod binning;
pub mod logistic;
pub mod metrics;
pub mod model;
pub mod report;
pub mod table;
pub mod train;
pub mod woe;

pub use metrics::Metrics;
pub use model::{Adverse, Lost, Model, Reason, Value};
pub use table::Table;
pub use train::{TrainConfig, TrainSpec, train};

/// Everything that can go wrong reading data, training, or loading a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// No header line.
    #[error("the data is empty (no header line)")]
    EmptyTable,
    /// A header and no rows.
    #[error("the data has a header but no rows")]
    NoRows,
    /// A column name twice in the header.
    #[error("column {0:?} appears twice in the header")]
    DuplicateColumn(String),
    /// A row with another field count than the header.
    #[error("line {line}: {fields} fields where the header has {expected}")]
    RaggedRow {
        /// Input line.
        line: usize,
        /// Fields found.
        fields: usize,
        /// Fields in the header.
        expected: usize,
    },
    /// Text that cannot be read as tab-separated UTF-8.
    #[error("line {line}: {message}")]
    Parse {
        /// Input line.
        line: usize,
        /// The reader's message.
        message: String,
    },
    /// A named column not in the header.
    #[error("no column {column:?} ({role}); the header has: {available}")]
    MissingColumn {
        /// The name asked for.
        column: String,
        /// What it was for.
        role: &'static str,
        /// The header's names.
        available: String,
    },
    /// A row without a label.
    #[error("line {line}: the label {column:?} is missing")]
    MissingLabel {
        /// Input line.
        line: usize,
        /// Label column.
        column: String,
    },
    /// A split value other than `train` / `test`.
    #[error("line {line}: split value {value:?} is neither `train` nor `test`")]
    BadSplit {
        /// Input line.
        line: usize,
        /// The value.
        value: String,
    },
    /// The split column marks no row `train`.
    #[error("no training rows: the split column marks no row `train`")]
    NoTrainingRows,
    /// The training rows hold one class only.
    #[error(
        "the training rows hold a single class ({bad} with {label} = {positive:?}, {good} other; values seen: {values}): a scorecard needs both"
    )]
    SingleClass {
        /// Label column.
        label: String,
        /// The positive value.
        positive: String,
        /// Positive rows.
        bad: u64,
        /// Other rows.
        good: u64,
        /// A few label values seen.
        values: String,
    },
    /// A categorical attribute with too many values.
    #[error(
        "column {column:?} has {count} distinct values, more than the {max} allowed for a categorical attribute (raise --max-categories or --ignore it){hint}"
    )]
    TooManyCategories {
        /// Column.
        column: String,
        /// Distinct values.
        count: usize,
        /// The limit.
        max: usize,
        /// What else was noticed.
        hint: String,
    },
    /// Every attribute was dropped.
    #[error("no attribute left to fit: {0}")]
    NoAttributes(String),
    /// A setting out of range.
    #[error("invalid setting: {0}")]
    Config(String),
    /// The logistic fit failed.
    #[error("logistic fit: {0}")]
    Fit(String),
    /// A model file whose content does not hash to its checksum.
    #[error(
        "model file refused: its content hashes to {actual}, not the recorded {expected} (damaged or edited)"
    )]
    Checksum {
        /// Recorded.
        expected: String,
        /// Computed.
        actual: String,
    },
    /// A model file that is not a valid version-1 scorecard.
    #[error("model file refused: {0}")]
    Schema(String),
    /// Reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}
