//! JSON manifests, read incrementally: a top-level array is split into its elements by a
//! small byte scanner (strings, escapes and bracket depth only, no recursion), JSON Lines
//! into lines; each element or line, capped in size and depth, is then parsed by
//! `serde_json`. Memory holds one record at a time; line numbers are counted exactly.

use super::Input as File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use super::error::ManifestError;
use super::guard::MAX_RECORD_BYTES;
use super::row::Defect;

/// One element or line: its start line and its value, or the defect that spoils it.
pub type JsonItem = (u64, Result<serde_json::Value, Defect>);

/// The deepest nesting a record may have. Manifest records need two levels (an object
/// holding a labels array); the slack admits exports with small nested extras.
pub const MAX_DEPTH: usize = 16;

const BOM: &[u8] = b"\xef\xbb\xbf";

/// Bytes of a file one at a time, counting lines.
pub struct Bytes {
    inner: BufReader<File>,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    peeked: Option<u8>,
    /// The 1-based line of the next byte.
    pub line: u64,
}

impl Bytes {
    pub fn new(file: File) -> io::Result<Bytes> {
        let mut bytes = Bytes {
            inner: BufReader::new(file),
            buf: vec![0; 64 * 1024],
            pos: 0,
            len: 0,
            peeked: None,
            line: 1,
        };
        bytes.refill()?;
        if bytes.buf[..bytes.len].starts_with(BOM) {
            bytes.pos = BOM.len();
        }
        Ok(bytes)
    }

    fn refill(&mut self) -> io::Result<()> {
        self.pos = 0;
        self.len = loop {
            match self.inner.read(&mut self.buf) {
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        Ok(())
    }

    pub fn next(&mut self) -> io::Result<Option<u8>> {
        let byte = match self.peeked.take() {
            Some(byte) => byte,
            None => {
                if self.pos == self.len {
                    self.refill()?;
                    if self.len == 0 {
                        return Ok(None);
                    }
                }
                self.pos += 1;
                self.buf[self.pos - 1]
            }
        };
        self.line += u64::from(byte == b'\n');
        Ok(Some(byte))
    }

    /// Puts back the byte just read (at most one).
    pub fn unread(&mut self, byte: u8) {
        self.line -= u64::from(byte == b'\n');
        self.peeked = Some(byte);
    }

    /// The next byte that is not JSON whitespace.
    pub fn next_token(&mut self) -> io::Result<Option<u8>> {
        while let Some(byte) = self.next()? {
            if !byte.is_ascii_whitespace() {
                return Ok(Some(byte));
            }
        }
        Ok(None)
    }
}

/// Finds where a JSON value ends, byte by byte, and how deeply it nests.
#[derive(Debug, Default)]
pub struct Depth {
    depth: usize,
    max: usize,
    in_string: bool,
    escaped: bool,
}

impl Depth {
    /// Feeds one byte; true when it closes the outermost string, object or array.
    pub fn push(&mut self, byte: u8) -> bool {
        if self.in_string {
            match byte {
                _ if self.escaped => self.escaped = false,
                b'\\' => self.escaped = true,
                b'"' => {
                    self.in_string = false;
                    return self.depth == 0;
                }
                _ => {}
            }
            return false;
        }
        match byte {
            b'"' => self.in_string = true,
            b'{' | b'[' => {
                self.depth += 1;
                self.max = self.max.max(self.depth);
            }
            b'}' | b']' => {
                self.depth = self.depth.saturating_sub(1);
                return self.depth == 0;
            }
            _ => {}
        }
        false
    }

    /// The deepest nesting of all bytes pushed so far.
    pub fn max(&self) -> usize {
        self.max
    }
}

/// The nesting depth of a complete JSON text.
pub fn depth_of(text: &[u8]) -> usize {
    let mut depth = Depth::default();
    text.iter().for_each(|&b| {
        depth.push(b);
    });
    depth.max()
}

/// Parses one record's text, refusing oversized or too deep ones before serde_json sees them.
/// `Err` carries serde_json's syntax message without its position, and the line of the error.
pub fn parse_record(text: &[u8], line: u64) -> Result<JsonItem, (u64, String)> {
    if text.len() > MAX_RECORD_BYTES {
        let reason = format!("record longer than {MAX_RECORD_BYTES} bytes");
        return Ok((line, Err(Defect::record(reason))));
    }
    if std::str::from_utf8(text).is_err() {
        let reason = "not valid UTF-8 (save the file as UTF-8)";
        return Ok((line, Err(Defect::record(reason))));
    }
    if depth_of(text) > MAX_DEPTH {
        let reason = format!("record nested deeper than {MAX_DEPTH} levels");
        return Ok((line, Err(Defect::record(reason))));
    }
    match serde_json::from_slice::<serde_json::Value>(text) {
        Ok(value) => Ok((line, Ok(value))),
        Err(err) => {
            let message = err.to_string();
            let message = message
                .rsplit_once(" at line ")
                .map_or(message.as_str(), |(m, _)| m);
            Err((
                line + err.line().saturating_sub(1) as u64,
                message.to_string(),
            ))
        }
    }
}

/// Streams the records of a JSON Lines manifest: one object per line, blank lines skipped.
/// A line that is not valid JSON is a defective record, not a fatal error.
pub struct JsonLinesRecords {
    path: PathBuf,
    bytes: Bytes,
    line: Vec<u8>,
    done: bool,
}

impl JsonLinesRecords {
    pub fn new(path: &Path, file: File) -> Result<Self, ManifestError> {
        let bytes = Bytes::new(file).map_err(|source| ManifestError::Io {
            path: path.to_path_buf(),
            line: 1,
            source,
        })?;
        Ok(JsonLinesRecords {
            path: path.to_path_buf(),
            bytes,
            line: Vec::new(),
            done: false,
        })
    }

    pub fn next_record(&mut self) -> Option<Result<JsonItem, ManifestError>> {
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
                return Some(Ok((start, Err(Defect::record(reason)))));
            }
            let text = self.line.trim_ascii();
            if text.is_empty() {
                continue;
            }
            let item = parse_record(text, start).unwrap_or_else(|(_, reason)| {
                let reason = format!("not valid JSON: {reason}");
                (start, Err(Defect::record(reason)))
            });
            return Some(Ok(item));
        }
        None
    }

    /// Reads one line into `self.line`, keeping at most the cap; true when it was longer.
    fn read_line(&mut self) -> io::Result<bool> {
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
