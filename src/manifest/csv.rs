//! The CSV reader: a header row names the columns, every later record becomes a [`Record`].
//! Quoting, CRLF and embedded newlines are the `csv` crate's; this module maps columns to
//! fields and turns broken records (wrong field count, bad UTF-8, oversized) into defects
//! rather than errors, so one bad line never stops a migration. A file cut off inside a quoted
//! field is the exception: its last record is incomplete, so the read stops with an error.

use super::Input as File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use ::csv::{ByteRecord, Reader, ReaderBuilder};

use super::header::normalize;

use super::error::ManifestError;
use super::guard::{MAX_RECORD_BYTES, OVERSIZE_MARKER, RecordGuard, UnterminatedQuote};
use super::mapping::{Cell, Mapping, RawRecord};
use super::names::{has_control, suggest};
use super::row::Defect;

/// The most fields one record may have; more is hostile or not this kind of file.
pub const MAX_FIELDS: usize = 1000;

/// Streams the records of a CSV manifest.
pub struct CsvRecords {
    path: PathBuf,
    reader: Reader<RecordGuard<BufReader<File>>>,
    /// For each name of the mapping, its column.
    columns: Vec<Option<usize>>,
    header_len: usize,
    /// The header's column names, to name a field in errors.
    header_names: Vec<String>,
    record: ByteRecord,
    /// The line where `record` starts.
    record_line: u64,
    done: bool,
}

impl CsvRecords {
    /// Reads the header, fields separated by `delimiter`. An empty file has no header and
    /// yields no records.
    pub fn new(
        path: &Path,
        file: File,
        mapping: &Mapping,
        delimiter: u8,
    ) -> Result<CsvRecords, ManifestError> {
        let guard = RecordGuard::new(BufReader::new(file), MAX_RECORD_BYTES, delimiter);
        let reader = ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(guard);
        let mut records = CsvRecords {
            path: path.to_path_buf(),
            reader,
            columns: Vec::new(),
            header_len: 0,
            header_names: Vec::new(),
            record: ByteRecord::new(),
            record_line: 1,
            done: false,
        };
        if !records.read_non_blank()? {
            records.done = true;
            return Ok(records);
        }
        records.read_header(mapping)?;
        Ok(records)
    }

    fn read_header(&mut self, mapping: &Mapping) -> Result<(), ManifestError> {
        let line = self.line();
        let header_error = |reason: String| ManifestError::Header {
            path: self.path.clone(),
            line,
            reason,
        };
        if is_oversized(&self.record) {
            return Err(header_error(format!(
                "the header is longer than {MAX_RECORD_BYTES} bytes"
            )));
        }
        if self.record.len() > MAX_FIELDS {
            return Err(header_error(format!(
                "the header has {} columns, more than {MAX_FIELDS}",
                self.record.len()
            )));
        }
        let names: Vec<String> = self
            .record
            .iter()
            .map(|name| String::from_utf8_lossy(name).into_owned())
            .collect();
        let normalized: Vec<String> = names.iter().map(|n| normalize(n)).collect();
        self.columns = mapping
            .names()
            .iter()
            .map(|wanted| normalized.iter().position(|n| n == wanted))
            .collect();
        let missing: Vec<String> = mapping
            .required()
            .filter(|(i, _, _)| self.columns[*i].is_none())
            .map(|(_, name, origin)| missing_column(name, origin, &names))
            .collect();
        if !missing.is_empty() {
            let garbled = names
                .iter()
                .any(|n| n.contains('\u{fffd}') || has_control(n.trim()));
            let found = if garbled {
                "none readable: the first line is not UTF-8 text; save the file as CSV UTF-8"
                    .to_string()
            } else {
                let found: Vec<String> = names.iter().map(|n| format!("{:?}", n.trim())).collect();
                found.join(", ")
            };
            let mut reason = format!("{} (columns found: {found})", missing.join("; "));
            if names.iter().any(|n| n.contains("://")) {
                reason.push_str(
                    "; the first line holds a URL, so the file has no header row: for a plain list of URLs use --format txt (or a .txt name)",
                );
            } else if names.len() == 1 && names[0].contains([';', '\t', ',', '|']) {
                reason.push_str("; the header has one column: is the file separated by something else than the delimiter? try --delimiter ';' or --delimiter tab");
            }
            return Err(header_error(reason));
        }
        if let Some(source) = mapping.source_column()
            && source.contains("://")
        {
            return Err(header_error(format!(
                "the source column {source:?} is a URL: the file has no header row, and its first URL would be lost; for a plain list of URLs use --format txt (or a .txt name)"
            )));
        }
        self.header_len = names.len();
        self.header_names = names;
        Ok(())
    }

    /// The next record, `None` at the end.
    pub fn next_record(&mut self) -> Option<Result<RawRecord, ManifestError>> {
        if self.done {
            return None;
        }
        match self.read_non_blank() {
            Ok(true) => Some(Ok(self.convert())),
            Ok(false) => {
                self.done = true;
                None
            }
            Err(err) => {
                self.done = true;
                Some(Err(err))
            }
        }
    }

    /// Reads records until one with some content; false at the end of the file.
    fn read_non_blank(&mut self) -> Result<bool, ManifestError> {
        loop {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(false) => return Ok(false),
                Ok(true) => {
                    let parsed_at = self.record.position().map_or(1, |p| p.line());
                    let start = self.reader.get_mut().take_record_line();
                    self.record_line = start.unwrap_or(parsed_at);
                    if !is_blank(&self.record) {
                        return Ok(true);
                    }
                }
                Err(err) => return Err(self.read_error(err)),
            }
        }
    }

    fn read_error(&self, err: ::csv::Error) -> ManifestError {
        let line = err.position().map_or(self.record_line, |p| p.line());
        let source = match err.into_kind() {
            ::csv::ErrorKind::Io(source) => source,
            other => std::io::Error::other(format!("{other:?}")),
        };
        let open = source
            .get_ref()
            .and_then(|e| e.downcast_ref::<UnterminatedQuote>());
        match open {
            Some(open) => ManifestError::UnterminatedQuote {
                path: self.path.clone(),
                line: open.line,
                field: self.field_name(open.field),
            },
            None => ManifestError::Io {
                path: self.path.clone(),
                line,
                source,
            },
        }
    }

    /// The header's name of the field at `index` (or its position, before or past the header).
    fn field_name(&self, index: usize) -> String {
        match self.header_names.get(index).map(|n| n.trim()) {
            Some(name) if !name.is_empty() => format!("field {name:?}"),
            _ => format!("field {}", index + 1),
        }
    }

    fn line(&self) -> u64 {
        self.record_line
    }

    /// The current byte record as a [`RawRecord`], with a defect when it is unusable.
    fn convert(&self) -> RawRecord {
        let line = self.line();
        let len = self.record.len();
        if is_oversized(&self.record) {
            let reason = format!("record longer than {MAX_RECORD_BYTES} bytes");
            return RawRecord::defective(line, Defect::record(reason));
        }
        if len > MAX_FIELDS {
            let reason = format!("record has {len} fields, more than {MAX_FIELDS}");
            return RawRecord::defective(line, Defect::record(reason));
        }
        let cells = self
            .columns
            .iter()
            .map(|column| {
                let bytes = self.record.get((*column)?)?;
                Some(match std::str::from_utf8(bytes) {
                    Ok(text) => Cell::Text(text.to_string()),
                    Err(_) => Cell::NotUtf8(String::from_utf8_lossy(bytes).into_owned()),
                })
            })
            .collect();
        // The count is the more basic problem: the fields may be shifted.
        let defect = (len != self.header_len).then(|| {
            Defect::record(format!(
                "record has {len} fields, the header has {}",
                self.header_len
            ))
        });
        RawRecord {
            line,
            cells,
            defect,
        }
    }
}

/// Why a name the options read is missing, with a near header when there is one.
fn missing_column(name: &str, origin: &str, found: &[String]) -> String {
    let mut reason = format!("no {name:?} column ({origin})");
    if name == "source" && origin.starts_with("the ") {
        reason.push_str(", map one with --column source=HEADER");
    }
    if let Some(near) = suggest(name, found) {
        reason.push_str(&format!("; did you mean {near:?}?"));
    }
    reason
}

fn is_blank(record: &ByteRecord) -> bool {
    record.iter().all(|field| field.trim_ascii().is_empty())
}

fn is_oversized(record: &ByteRecord) -> bool {
    record.len() > 1 && record.iter().next_back() == Some(OVERSIZE_MARKER)
}
