//! The plain list (`.txt`): one URL or local path a line, read as a one-column manifest whose
//! column is `source`. Blank lines and lines starting with `#` are skipped; line numbers are
//! those of the file. A line too long or not UTF-8 is an invalid row, as in the other formats.

use super::Input as File;
use std::path::{Path, PathBuf};

use super::error::ManifestError;
use super::guard::MAX_RECORD_BYTES;
use super::json::Bytes;
use super::mapping::{Cell, Mapping, RawRecord};
use super::row::Defect;

/// The one column of a plain list.
pub const COLUMN: &str = "source";

/// Streams the lines of a plain list.
pub struct TextRecords {
    path: PathBuf,
    bytes: Bytes,
    /// For each name of the mapping, whether it is the list's column.
    is_source: Vec<bool>,
    line: Vec<u8>,
    done: bool,
}

impl TextRecords {
    /// Checks the mapping reads no other column than `source`.
    pub fn new(path: &Path, file: File, mapping: &Mapping) -> Result<TextRecords, ManifestError> {
        let missing: Vec<String> = mapping
            .required()
            .filter(|(_, name, _)| *name != COLUMN)
            .map(|(_, name, origin)| format!("no {name:?} column ({origin})"))
            .collect();
        if !missing.is_empty() {
            return Err(ManifestError::Mapping {
                path: path.to_path_buf(),
                line: 1,
                reason: format!(
                    "{}: a plain list has one column, \"source\" (use it in templates as {{source}})",
                    missing.join("; ")
                ),
            });
        }
        let bytes = Bytes::new(file).map_err(|source| ManifestError::Io {
            path: path.to_path_buf(),
            line: 1,
            source,
        })?;
        Ok(TextRecords {
            path: path.to_path_buf(),
            bytes,
            is_source: mapping.names().iter().map(|n| n == COLUMN).collect(),
            line: Vec::new(),
            done: false,
        })
    }

    pub fn next_record(&mut self) -> Option<Result<RawRecord, ManifestError>> {
        while !self.done {
            let start = self.bytes.line;
            let oversized = match self.read_line() {
                Ok(oversized) => oversized,
                Err(source) => {
                    self.done = true;
                    let path = self.path.clone();
                    return Some(Err(ManifestError::Io {
                        path,
                        line: start,
                        source,
                    }));
                }
            };
            if oversized {
                let reason = format!("line longer than {MAX_RECORD_BYTES} bytes");
                return Some(Ok(RawRecord::defective(start, Defect::record(reason))));
            }
            let text = self.line.trim_ascii();
            if text.is_empty() || text.starts_with(b"#") {
                continue;
            }
            let cell = match std::str::from_utf8(text) {
                Ok(text) => Cell::Text(text.to_string()),
                Err(_) => Cell::NotUtf8(String::from_utf8_lossy(text).into_owned()),
            };
            let cells = self
                .is_source
                .iter()
                .map(|is| is.then(|| cell.clone()))
                .collect();
            return Some(Ok(RawRecord {
                line: start,
                cells,
                defect: None,
            }));
        }
        None
    }

    /// Reads one line into `self.line`, keeping at most the cap; true when it was longer.
    fn read_line(&mut self) -> std::io::Result<bool> {
        self.line.clear();
        let mut oversized = false;
        loop {
            match self.bytes.next()? {
                None => {
                    self.done = true;
                    return Ok(oversized);
                }
                Some(b'\n') => return Ok(oversized),
                Some(_) if oversized => {}
                Some(byte) => {
                    oversized = self.line.len() == MAX_RECORD_BYTES;
                    if oversized {
                        self.line.clear();
                    } else {
                        self.line.push(byte);
                    }
                }
            }
        }
    }
}
