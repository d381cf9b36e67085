//! Errors of the manifest boundary. A `ManifestError` is fatal (the file can't be read as a
//! manifest at all); a problem with one row is not an error but an `InvalidRow`. A
//! `ColumnError` is a bad `--column` argument, found before any file is opened.

use std::path::PathBuf;

/// A fatal problem reading a manifest. Each message names the file and, where known, the line.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot open manifest {}", path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("reading manifest {}, line {line}", path.display())]
    Io {
        path: PathBuf,
        line: u64,
        source: std::io::Error,
    },
    /// The file ends inside a quoted field: it was cut off mid-record.
    #[error(
        "manifest {}, line {line}, {field}: unterminated quoted field (the file ends inside its quotes: truncated?)",
        path.display()
    )]
    UnterminatedQuote {
        path: PathBuf,
        line: u64,
        field: String,
    },
    #[error(
        "cannot tell the format of manifest {}: use a .csv, .tsv, .json, .jsonl, .ndjson or .txt name, or give --format",
        path.display()
    )]
    UnknownFormat { path: PathBuf },
    #[error("manifest {}, line {line}: bad header: {reason}", path.display())]
    Header {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    /// A name the options read is not in the file (JSON: in none of its first records, the
    /// first starting at `line`).
    #[error("manifest {}, line {line}: {reason}", path.display())]
    Mapping {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    /// Not a text manifest at all: a workbook, UTF-16, a PDF, an archive.
    #[error("manifest {}, line 1: this looks like {found}, not a text manifest: {advice}", path.display())]
    NotText {
        path: PathBuf,
        found: String,
        advice: String,
    },
    #[error("manifest {}, line {line}: broken JSON: {reason}", path.display())]
    Json {
        path: PathBuf,
        line: u64,
        reason: String,
    },
}

/// A `--column` or `--fill-down` argument that can't be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ColumnError {
    #[error(
        "--column {item:?}: expected FIELD=HEADER, FIELD=TEMPLATE or FIELD=, e.g. source=\"Image Src\""
    )]
    Malformed { item: String },
    #[error("--column {item:?}: unknown field {field:?}; fields are {}", super::FIELDS.join(", "))]
    UnknownField { item: String, field: String },
    #[error("--column {item:?}: the source can't be unmapped; every row needs one")]
    SourceUnmapped { item: String },
    #[error("--column {field}={template:?}: bad template: {reason}")]
    Template {
        field: &'static str,
        template: String,
        reason: String,
    },
    #[error("--fill-down {item:?}: expected COLUMN or COLUMN@GROUP, e.g. Type@Handle")]
    FillDown { item: String },
}
