//! The JSON array reader: `[ {…}, {…} ]` split element by element without holding the file.
//! Broken syntax anywhere in the array is fatal, with the line: after it the rest of the
//! array can't be trusted. An element that is too big, too deep or not an object is a
//! defective record.

use super::Input as File;
use std::path::{Path, PathBuf};

use super::error::ManifestError;
use super::guard::MAX_RECORD_BYTES;
use super::json::{Bytes, Depth, JsonItem, parse_record};
use super::row::Defect;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the `[`.
    Start,
    /// After the `[`: a first element or `]`.
    FirstOrEnd,
    /// After a `,`: an element.
    Element,
    /// After an element: `,` or `]`.
    AfterElement,
    /// After the `]`: only whitespace may follow.
    AfterArray,
    Done,
}

/// Streams the records of a JSON array manifest.
pub struct JsonArrayRecords {
    path: PathBuf,
    bytes: Bytes,
    state: State,
    buf: Vec<u8>,
}

impl JsonArrayRecords {
    pub fn new(path: &Path, file: File) -> Result<Self, ManifestError> {
        let bytes = Bytes::new(file).map_err(|source| ManifestError::Io {
            path: path.to_path_buf(),
            line: 1,
            source,
        })?;
        Ok(JsonArrayRecords {
            path: path.to_path_buf(),
            bytes,
            state: State::Start,
            buf: Vec::new(),
        })
    }

    pub fn next_record(&mut self) -> Option<Result<JsonItem, ManifestError>> {
        let next = self.step();
        if !matches!(next, Ok(Some(_))) {
            self.state = State::Done;
        }
        next.transpose()
    }

    fn step(&mut self) -> Result<Option<JsonItem>, ManifestError> {
        loop {
            let token = self.bytes.next_token().map_err(|e| self.io(e))?;
            let line = self.bytes.line;
            match (self.state, token) {
                (State::Done, _) | (State::Start | State::AfterArray, None) => return Ok(None),
                (State::Start, Some(b'[')) => self.state = State::FirstOrEnd,
                (State::FirstOrEnd | State::AfterElement, Some(b']')) => {
                    self.state = State::AfterArray;
                }
                (State::AfterElement, Some(b',')) => self.state = State::Element,
                (State::Element, Some(b']')) => {
                    return Err(self.syntax(line, "a `,` before `]` (trailing comma)".into()));
                }
                (State::FirstOrEnd | State::Element, Some(first)) => {
                    self.state = State::AfterElement;
                    return self.element(first, line).map(Some);
                }
                (State::Start, Some(b)) => {
                    let found = describe(b);
                    let reason = format!("expected a JSON array starting with `[`, found {found}");
                    return Err(self.syntax(line, reason));
                }
                (State::AfterElement, Some(b)) => {
                    let reason =
                        format!("expected `,` or `]` after a record, found {}", describe(b));
                    return Err(self.syntax(line, reason));
                }
                (State::AfterArray, Some(b)) => {
                    let reason = format!("unexpected {} after the end of the array", describe(b));
                    return Err(self.syntax(line, reason));
                }
                (_, None) => {
                    let reason = "unexpected end of file: the array is not closed (truncated?)";
                    return Err(self.syntax(line, reason.into()));
                }
            }
        }
    }

    /// Reads one element starting with `first` on `line`, and parses it.
    fn element(&mut self, first: u8, line: u64) -> Result<JsonItem, ManifestError> {
        self.buf.clear();
        let mut oversized = false;
        let mut keep = |buf: &mut Vec<u8>, byte: u8| {
            if buf.len() == MAX_RECORD_BYTES {
                oversized = true;
                buf.clear();
                buf.shrink_to_fit();
            } else if !oversized {
                buf.push(byte);
            }
        };
        let mut byte = first;
        if matches!(first, b'{' | b'[' | b'"') {
            let mut depth = Depth::default();
            loop {
                keep(&mut self.buf, byte);
                if depth.push(byte) {
                    break;
                }
                byte = self.bytes.next().map_err(|e| self.io(e))?.ok_or_else(|| {
                    let reason = format!(
                        "unexpected end of file inside the record starting at line {line} (truncated?)"
                    );
                    self.syntax(self.bytes.line, reason)
                })?;
            }
        } else {
            // A number, true, false or null: up to the next delimiter.
            loop {
                keep(&mut self.buf, byte);
                match self.bytes.next().map_err(|e| self.io(e))? {
                    Some(b) if b.is_ascii_whitespace() || b == b',' || b == b']' => {
                        self.bytes.unread(b);
                        break;
                    }
                    Some(b) => byte = b,
                    None => break,
                }
            }
        }
        if oversized {
            let reason = format!("record longer than {MAX_RECORD_BYTES} bytes");
            return Ok((line, Err(Defect::record(reason))));
        }
        parse_record(&self.buf, line).map_err(|(line, reason)| self.syntax(line, reason))
    }

    fn io(&self, source: std::io::Error) -> ManifestError {
        ManifestError::Io {
            path: self.path.clone(),
            line: self.bytes.line,
            source,
        }
    }

    fn syntax(&self, line: u64, reason: String) -> ManifestError {
        ManifestError::Json {
            path: self.path.clone(),
            line,
            reason,
        }
    }
}

/// A byte for an error message: the character when printable ASCII, else its value.
fn describe(byte: u8) -> String {
    if byte.is_ascii_graphic() {
        format!("`{}`", byte as char)
    } else {
        format!("byte 0x{byte:02x}")
    }
}
