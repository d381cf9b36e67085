//! Manifests: streamed readers for CSV, JSON arrays and JSON Lines, and the validation of
//! each row against the Media Manager's limits. It yields one [`Entry`] per record, valid or
//! invalid with the field and reason; memory does not grow with the manifest. It does not
//! decide duplicates (the journal does, by [`RowKey`]) nor touch the network.

mod columns;
mod csv;
mod error;
mod guard;
mod json;
mod json_array;
mod json_value;
mod names;
mod row;
mod validate;
mod write;

#[cfg(test)]
mod tests;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use columns::{ColumnMap, FIELDS, Field};
pub use error::{ColumnError, ManifestError};
pub use guard::MAX_RECORD_BYTES;
pub use row::{Entry, InvalidRow, ManifestRow, RawRow, RowKey, Source};
pub use write::{RawRowWriter, write_header, write_raw_row};

use self::csv::CsvRecords;
use json::JsonLinesRecords;
use json_array::JsonArrayRecords;
use row::Record;

/// A manifest's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    JsonLines,
}

impl Format {
    /// The format a file name's extension implies: .csv, .json, .jsonl or .ndjson.
    pub fn of_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?;
        ext.parse().ok()
    }
}

/// Parses a format name as given on the command line (or an extension).
impl FromStr for Format {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "jsonl" | "ndjson" | "jsonlines" => Ok(Format::JsonLines),
            other => Err(format!(
                "unknown manifest format {other:?}: use csv, json or jsonl"
            )),
        }
    }
}

/// How to read a manifest.
#[derive(Debug, Clone, Default)]
pub struct ManifestOptions {
    /// The format; `None` takes it from the file's extension.
    pub format: Option<Format>,
    /// `--column FIELD=HEADER` mappings.
    pub columns: ColumnMap,
}

/// Opens a manifest for streaming. Fails on an unreadable file, an unknown format or (CSV)
/// a header without a source column; an empty file yields no rows.
pub fn open(path: &Path, options: &ManifestOptions) -> Result<ManifestReader, ManifestError> {
    let format = options
        .format
        .or_else(|| Format::of_path(path))
        .ok_or_else(|| ManifestError::UnknownFormat {
            path: path.to_path_buf(),
        })?;
    let open_error = |source| ManifestError::Open {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(open_error)?;
    // Relative sources are resolved against the manifest's folder, wherever we run from.
    let absolute = std::path::absolute(path).map_err(open_error)?;
    let base = absolute.parent().map(Path::to_path_buf).unwrap_or_default();
    let records = match format {
        Format::Csv => Records::Csv(CsvRecords::new(path, file, &options.columns)?),
        Format::Json => Records::Array(JsonArrayRecords::new(path, file, &options.columns)?),
        Format::JsonLines => Records::Lines(JsonLinesRecords::new(path, file, &options.columns)?),
    };
    Ok(ManifestReader {
        format,
        base,
        records,
    })
}

enum Records {
    Csv(CsvRecords),
    Array(JsonArrayRecords),
    Lines(JsonLinesRecords),
}

/// A manifest being read: an iterator of entries, ending after the first fatal error.
pub struct ManifestReader {
    format: Format,
    base: PathBuf,
    records: Records,
}

impl ManifestReader {
    pub fn format(&self) -> Format {
        self.format
    }

    /// The folder relative file sources are resolved against.
    pub fn base_dir(&self) -> &Path {
        &self.base
    }

    fn next_record(&mut self) -> Option<Result<Record, ManifestError>> {
        match &mut self.records {
            Records::Csv(records) => records.next_record(),
            Records::Array(records) => records.next_record(),
            Records::Lines(records) => records.next_record(),
        }
    }
}

impl Iterator for ManifestReader {
    type Item = Result<Entry, ManifestError>;

    fn next(&mut self) -> Option<Self::Item> {
        let record = self.next_record()?;
        Some(record.map(|record| validate::validate(record, &self.base)))
    }
}
