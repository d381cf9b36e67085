//! The CSV reader: a header row names the columns, every later record becomes a [`Record`].
//! Quoting, CRLF and embedded newlines are the `csv` crate's; this module maps columns to
//! fields and turns broken records (wrong field count, bad UTF-8, oversized) into defects
//! rather than errors, so one bad line never stops a migration. A file cut off inside a quoted
//! field is the exception: its last record is incomplete, so the read stops with an error.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use ::csv::{ByteRecord, Reader, ReaderBuilder};

use super::columns::{ColumnMap, FIELDS, Field};
use super::error::ManifestError;
use super::guard::{MAX_RECORD_BYTES, OVERSIZE_MARKER, RecordGuard, UnterminatedQuote};
use super::row::{Defect, Record, Value};

/// The most fields one record may have; more is hostile or not this kind of file.
pub const MAX_FIELDS: usize = 1000;

/// Streams the records of a CSV manifest.
pub struct CsvRecords {
    path: PathBuf,
    reader: Reader<RecordGuard<BufReader<File>>>,
    columns: [Option<usize>; FIELDS.len()],
    header_len: usize,
    /// The header's column names, to name a field in errors.
    header_names: Vec<String>,
    record: ByteRecord,
    /// The line where `record` starts.
    record_line: u64,
    done: bool,
}

impl CsvRecords {
    /// Reads the header. An empty file has no header and yields no records.
    pub fn new(path: &Path, file: File, map: &ColumnMap) -> Result<CsvRecords, ManifestError> {
        let guard = RecordGuard::new(BufReader::new(file), MAX_RECORD_BYTES);
        let reader = ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(guard);
        let mut records = CsvRecords {
            path: path.to_path_buf(),
            reader,
            columns: [None; FIELDS.len()],
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
        records.read_header(map)?;
        Ok(records)
    }

    fn read_header(&mut self, map: &ColumnMap) -> Result<(), ManifestError> {
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
        self.columns = map.resolve(&names);
        if self.columns[Field::SOURCE.index()].is_none() {
            let found: Vec<String> = names.iter().map(|n| format!("{:?}", n.trim())).collect();
            return Err(header_error(format!(
                "no {:?} column (columns found: {}); map one with --column source=HEADER",
                map.name_of(Field::SOURCE),
                found.join(", ")
            )));
        }
        self.header_len = names.len();
        self.header_names = names;
        Ok(())
    }

    /// The next record, `None` at the end.
    pub fn next_record(&mut self) -> Option<Result<Record, ManifestError>> {
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

    /// The current byte record as a [`Record`], with a defect when it is unusable.
    fn convert(&self) -> Record {
        let line = self.line();
        let len = self.record.len();
        if is_oversized(&self.record) {
            return Record::defective(
                line,
                Defect::record(format!("record longer than {MAX_RECORD_BYTES} bytes")),
            );
        }
        if len > MAX_FIELDS {
            return Record::defective(
                line,
                Defect::record(format!("record has {len} fields, more than {MAX_FIELDS}")),
            );
        }
        let mut record = Record::new(line);
        for field in Field::all() {
            let Some(bytes) = self.columns[field.index()].and_then(|i| self.record.get(i)) else {
                continue;
            };
            let text = match std::str::from_utf8(bytes) {
                Ok(text) => text.to_string(),
                Err(_) => {
                    record.defect.get_or_insert_with(|| {
                        Defect::field(field, "not valid UTF-8 (save the file as UTF-8)")
                    });
                    String::from_utf8_lossy(bytes).into_owned()
                }
            };
            record.set(field, Value::Text(text));
        }
        if len != self.header_len {
            // The count is the more basic problem: the fields may be shifted.
            record.defect = Some(Defect::record(format!(
                "record has {len} fields, the header has {}",
                self.header_len
            )));
        }
        record
    }
}

fn is_blank(record: &ByteRecord) -> bool {
    record.iter().all(|field| field.trim_ascii().is_empty())
}

fn is_oversized(record: &ByteRecord) -> bool {
    record.len() > 1 && record.iter().next_back() == Some(OVERSIZE_MARKER)
}
