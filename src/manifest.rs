//! Manifests: streamed readers for CSV, JSON arrays, JSON Lines and plain URL lists; the
//! mapping of another platform's columns to fields (`--column`, templates, `--fill-down`); and
//! the validation of each row against the Media Manager's limits. It yields one [`Entry`] per
//! record, valid, invalid with the field and reason, or skipped; memory does not grow with the
//! manifest. It does not decide duplicates (the journal does, by [`RowKey`]) nor touch the
//! network.

mod columns;
mod csv;
mod error;
mod guard;
mod header;
mod json;
mod json_array;
mod json_value;
mod mapping;
mod names;
mod row;
mod sniff;
mod template;
mod text;
mod validate;
mod write;

#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use columns::{ColumnMap, FIELDS, Field, FillDown, Spec};
pub use error::{ColumnError, ManifestError};
pub use guard::MAX_RECORD_BYTES;
pub use row::{Entry, InvalidRow, ManifestRow, RawRow, RowKey, SkippedRow, Source};
pub use template::FILTERS;
pub use validate::{Rules, parse_folder_path};
pub use write::{RawRowWriter, write_header, write_raw_row};

use self::csv::CsvRecords;
use json::JsonLinesRecords;
use json_array::JsonArrayRecords;
use json_value::{JsonRecords, JsonSource};
use mapping::{Mapper, Mapping, RawRecord};
use text::TextRecords;

/// A manifest's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Delimited text with a header row (`,`, `;` or tab).
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    JsonLines,
    /// One URL or local path per line.
    Text,
}

impl Format {
    /// The format a file name's extension implies: .csv, .tsv, .json, .jsonl, .ndjson or .txt.
    pub fn of_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?;
        ext.parse().ok()
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::JsonLines => "jsonl",
            Format::Text => "txt",
        }
    }
}

/// Parses a format name as given on the command line (or an extension).
impl FromStr for Format {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name.trim().to_ascii_lowercase().as_str() {
            "csv" | "tsv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "jsonl" | "ndjson" | "jsonlines" => Ok(Format::JsonLines),
            "txt" | "text" | "list" => Ok(Format::Text),
            other => Err(format!(
                "unknown manifest format {other:?}: use csv, json, jsonl or txt"
            )),
        }
    }
}

/// How to read a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestOptions {
    /// The format; `None` takes it from the file's extension.
    pub format: Option<Format>,
    /// `--column` mappings.
    pub columns: ColumnMap,
    /// `--fill-down` rules, in order.
    pub fill_down: Vec<FillDown>,
    /// Rows without a source are skipped rather than invalid.
    pub skip_empty_source: bool,
    /// What separates labels in a text cell.
    pub labels_separator: String,
    /// The CSV delimiter; `None` guesses it from the header line.
    pub delimiter: Option<u8>,
    /// The folder local files must be under; `None`: the manifest's folder.
    pub local_root: Option<PathBuf>,
    /// Folders put before every row's folder path: "" or "/a/b" (see
    /// [`validate::parse_folder_path`]).
    pub folder_prefix: String,
}

impl Default for ManifestOptions {
    fn default() -> ManifestOptions {
        ManifestOptions {
            format: None,
            columns: ColumnMap::default(),
            fill_down: Vec::new(),
            skip_empty_source: false,
            labels_separator: Rules::default().labels_separator,
            delimiter: None,
            local_root: None,
            folder_prefix: String::new(),
        }
    }
}

/// The bytes a reader reads: a whole file, or a tail of one behind its header (see
/// [`open_tail`]).
pub(crate) type Input = Box<dyn Read + Send>;

/// Where a read of part of a manifest starts and ends: bytes `start..end` of the file, the
/// first of them on line `first_line`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: u64,
    pub end: u64,
    pub first_line: u64,
}

/// Can a tail of a manifest read this way be read alone? Not a JSON array (its tail is no
/// document), nor with `--fill-down` (a row takes values from the rows before it).
pub fn tail_readable(format: Format, options: &ManifestOptions) -> bool {
    format != Format::Json && options.fill_down.is_empty()
}

/// Opens bytes `span.start..span.end` of a manifest for streaming, line numbers those of the
/// whole file. A CSV tail is read behind the file's header line (which must hold no quote);
/// `span.start` must begin a line. The reader sees the header, then as many empty lines as
/// stand between it and the tail — blank lines, which every reader skips and counts — so
/// line numbers stay right without reading the lines before.
pub fn open_tail(
    path: &Path,
    options: &ManifestOptions,
    span: Span,
) -> Result<Option<ManifestReader>, ManifestError> {
    let open_error = |source| ManifestError::Open {
        path: path.to_path_buf(),
        source,
    };
    let format = options
        .format
        .or_else(|| Format::of_path(path))
        .ok_or_else(|| ManifestError::UnknownFormat {
            path: path.to_path_buf(),
        })?;
    if !tail_readable(format, options) || span.first_line < 2 {
        return Ok(None);
    }
    let mut lead = Vec::new();
    if format == Format::Csv {
        let mut first = Vec::new();
        std::io::BufReader::new(File::open(path).map_err(open_error)?)
            .take(MAX_RECORD_BYTES as u64)
            .read_until_newline(&mut first)
            .map_err(open_error)?;
        if !first.ends_with(b"\n") || first.contains(&b'"') || first.trim_ascii().is_empty() {
            return Ok(None);
        }
        lead = first;
    }
    let header_lines = u64::from(format == Format::Csv);
    let padding = span.first_line - 1 - header_lines;
    let mut file = File::open(path).map_err(open_error)?;
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(span.start)).map_err(open_error)?;
    let input: Input = Box::new(
        std::io::Cursor::new(lead)
            .chain(std::io::repeat(b'\n').take(padding))
            .chain(file.take(span.end - span.start)),
    );
    open_input(path, options, input).map(Some)
}

/// Reads up to and including the first `\n`.
trait ReadUntilNewline {
    fn read_until_newline(&mut self, out: &mut Vec<u8>) -> std::io::Result<usize>;
}

impl<R: std::io::BufRead> ReadUntilNewline for R {
    fn read_until_newline(&mut self, out: &mut Vec<u8>) -> std::io::Result<usize> {
        self.read_until(b'\n', out)
    }
}

/// Opens a manifest for streaming. Fails on an unreadable file, a file that is not text (a
/// workbook, UTF-16, a PDF…), an unknown format, or names the options read that the file
/// lacks (a CSV's header, a JSON file's first records); an empty file yields no rows.
pub fn open(path: &Path, options: &ManifestOptions) -> Result<ManifestReader, ManifestError> {
    let file = File::open(path).map_err(|source| ManifestError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    open_input(path, options, Box::new(file))
}

/// Opens the first `end` bytes of a manifest (all of it with `None`) for streaming.
pub fn open_prefix(
    path: &Path,
    options: &ManifestOptions,
    end: u64,
) -> Result<ManifestReader, ManifestError> {
    let file = File::open(path).map_err(|source| ManifestError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    open_input(path, options, Box::new(file.take(end)))
}

fn open_input(
    path: &Path,
    options: &ManifestOptions,
    file: Input,
) -> Result<ManifestReader, ManifestError> {
    let open_error = |source| ManifestError::Open {
        path: path.to_path_buf(),
        source,
    };
    let mut head = Vec::with_capacity(sniff::SNIFF_BYTES);
    File::open(path)
        .and_then(|file| file.take(sniff::SNIFF_BYTES as u64).read_to_end(&mut head))
        .map_err(open_error)?;
    if let Some(not_text) = sniff::not_text(&head) {
        return Err(ManifestError::NotText {
            path: path.to_path_buf(),
            found: not_text.found.to_string(),
            advice: not_text.advice.to_string(),
        });
    }
    let format = options
        .format
        .or_else(|| Format::of_path(path))
        .ok_or_else(|| ManifestError::UnknownFormat {
            path: path.to_path_buf(),
        })?;
    // Relative sources are resolved against the manifest's folder, wherever we run from.
    let absolute = std::path::absolute(path).map_err(open_error)?;
    let base = absolute.parent().map(Path::to_path_buf).unwrap_or_default();
    let mapping = Mapping::new(
        &options.columns,
        &options.fill_down,
        options.skip_empty_source,
    );
    let records = match format {
        Format::Csv => {
            let delimiter = options
                .delimiter
                .unwrap_or_else(|| sniff::guess_delimiter(&head));
            Records::Csv(CsvRecords::new(path, file, &mapping, delimiter)?)
        }
        Format::Json => {
            let source = JsonSource::Array(JsonArrayRecords::new(path, file)?);
            Records::Json(JsonRecords::new(path, source, &mapping)?)
        }
        Format::JsonLines => {
            let source = JsonSource::Lines(JsonLinesRecords::new(path, file)?);
            Records::Json(JsonRecords::new(path, source, &mapping)?)
        }
        Format::Text => Records::Text(TextRecords::new(path, file, &mapping)?),
    };
    let local_root = local_root(options.local_root.as_deref().unwrap_or(&base))?;
    Ok(ManifestReader {
        format,
        base,
        records,
        mapper: Mapper::new(mapping),
        rules: Rules {
            labels_separator: options.labels_separator.clone(),
            local_root: Some(local_root),
            folder_prefix: options.folder_prefix.clone(),
        },
    })
}

/// The folder local sources must be under, resolved (symlinks followed) so that a path is
/// checked by where it really leads.
fn local_root(dir: &Path) -> Result<PathBuf, ManifestError> {
    std::fs::canonicalize(dir).map_err(|source| ManifestError::Open {
        path: dir.to_path_buf(),
        source,
    })
}

enum Records {
    Csv(CsvRecords),
    Json(JsonRecords),
    Text(TextRecords),
}

/// A manifest being read: an iterator of entries, ending after the first fatal error.
pub struct ManifestReader {
    format: Format,
    base: PathBuf,
    records: Records,
    mapper: Mapper,
    rules: Rules,
}

impl ManifestReader {
    pub fn format(&self) -> Format {
        self.format
    }

    /// The folder relative file sources are resolved against.
    pub fn base_dir(&self) -> &Path {
        &self.base
    }

    fn next_record(&mut self) -> Option<Result<RawRecord, ManifestError>> {
        match &mut self.records {
            Records::Csv(records) => records.next_record(),
            Records::Json(records) => records.next_record(),
            Records::Text(records) => records.next_record(),
        }
    }
}

impl Iterator for ManifestReader {
    type Item = Result<Entry, ManifestError>;

    fn next(&mut self) -> Option<Self::Item> {
        let raw = self.next_record()?;
        Some(raw.map(|raw| {
            let record = self.mapper.map(raw);
            validate::validate(record, &self.base, &self.rules)
        }))
    }
}
