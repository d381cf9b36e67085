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
        "cannot tell the format of manifest {}: use a .csv, .json, .jsonl or .ndjson name, or give the format",
        path.display()
    )]
    UnknownFormat { path: PathBuf },
    #[error("manifest {}, line {line}: bad header: {reason}", path.display())]
    Header {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    #[error("manifest {}, line {line}: broken JSON: {reason}", path.display())]
    Json {
        path: PathBuf,
        line: u64,
        reason: String,
    },
}

/// A `--column FIELD=HEADER` argument that can't be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ColumnError {
    #[error("--column {item:?}: expected FIELD=HEADER, e.g. source=\"Image Src\"")]
    Malformed { item: String },
    #[error("--column {item:?}: unknown field {field:?}; fields are {}", super::FIELDS.join(", "))]
    UnknownField { item: String, field: String },
}
