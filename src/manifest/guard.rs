//! A reader between a CSV file and the `csv` crate that caps the size of one record, so a
//! hostile cell or line can't make the parser buffer without bound. It follows csv-core's
//! quoting rules to find record ends; past the cap it drops the rest of the record, closes
//! it with a marker field the CSV reader turns into an invalid row, and re-emits the dropped
//! newlines as blank lines so the parser's line count stays that of the file. It also notes
//! the line where each record starts: the `csv` crate's positions mark where the previous
//! record ended, which is before any blank lines and the rest of a CRLF. A file that ends
//! inside a quoted field (a truncated file) is an [`UnterminatedQuote`] error, where the `csv`
//! crate would close the quote silently and yield a cut-off record.

use std::collections::VecDeque;
use std::io::{self, BufRead, Read};

/// The most bytes one record (a line, or several lines of quoted text) may hold.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// The last field of a record that was cut at the cap. NULs keep it apart from real data.
pub const OVERSIZE_MARKER: &[u8] = b"\0media-migrate:oversize\0";

const BOM: &[u8] = b"\xef\xbb\xbf";

/// The file ended inside a quoted field: it was cut off, and its last record with it.
/// Travels inside the `io::Error` the guard's reader returns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unterminated quoted field: the file ends inside quotes opened on line {line} (truncated?)"
)]
pub struct UnterminatedQuote {
    /// The line where the quoted field opens.
    pub line: u64,
    /// The 0-based position of the field in its record.
    pub field: usize,
}

/// Where csv-core's parser is within a record, as far as record ends are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quoting {
    FieldStart,
    Unquoted,
    Quoted,
    /// Just after a `"` inside a quoted field: a closing quote or half of `""`.
    QuotedQuote,
}

impl Quoting {
    /// The state after `byte`, and whether `byte` ends the record; fields are separated by
    /// `delimiter`.
    fn step(self, byte: u8, delimiter: u8) -> (Quoting, bool) {
        let ends = matches!(byte, b'\r' | b'\n');
        match (self, byte) {
            (Quoting::Quoted, b'"') => (Quoting::QuotedQuote, false),
            (Quoting::Quoted, _) => (Quoting::Quoted, false),
            (Quoting::FieldStart | Quoting::QuotedQuote, b'"') => (Quoting::Quoted, false),
            (_, b) if b == delimiter => (Quoting::FieldStart, false),
            (_, _) if ends => (Quoting::FieldStart, true),
            _ => (Quoting::Unquoted, false),
        }
    }
}

/// The cap's bookkeeping, apart from the inner reader so both can be borrowed at once.
#[derive(Debug)]
struct Scanner {
    quoting: Quoting,
    delimiter: u8,
    record_bytes: usize,
    limit: usize,
    /// Dropping the rest of an oversized record.
    skipping: bool,
    /// Newlines dropped while skipping, owed to the parser once the record ends.
    owed_newlines: u64,
    pending: Vec<u8>,
    /// The 1-based line of the next byte.
    line: u64,
    /// Before the first byte of a record (where csv-core skips line ends).
    at_start: bool,
    /// Start lines of records the parser has yet to return; bounded by its read-ahead.
    starts: VecDeque<u64>,
    /// The 0-based position of the current field in its record.
    field: usize,
    /// The line where the current quoted field opened.
    quote_line: u64,
}

impl Scanner {
    /// Copies bytes of `data` to `out` until either runs out or the record is cut; returns
    /// (bytes consumed, bytes written).
    fn scan(&mut self, data: &[u8], out: &mut [u8]) -> (usize, usize) {
        let mut written = 0;
        for (i, &byte) in data.iter().enumerate() {
            if written == out.len() {
                return (i, written);
            }
            let before = self.quoting;
            let (after, ends) = before.step(byte, self.delimiter);
            self.quoting = after;
            if ends {
                self.field = 0;
            } else if after == Quoting::FieldStart {
                self.field += 1;
            } else if before == Quoting::FieldStart && after == Quoting::Quoted {
                self.quote_line = self.line;
            }
            if self.at_start && !matches!(byte, b'\r' | b'\n') {
                self.starts.push_back(self.line);
                self.at_start = false;
            }
            self.at_start |= ends;
            self.line += u64::from(byte == b'\n');
            if self.skipping {
                if ends {
                    self.skipping = false;
                    out[written] = byte;
                    // Return so the owed newlines go out before the next record.
                    return (i + 1, written + 1);
                }
                self.owed_newlines += u64::from(byte == b'\n');
                continue;
            }
            self.record_bytes = if ends { 0 } else { self.record_bytes + 1 };
            if self.record_bytes > self.limit {
                self.cut(before, byte);
                return (i + 1, written);
            }
            out[written] = byte;
            written += 1;
        }
        (data.len(), written)
    }

    /// Starts dropping the current record at `byte`, closing what was passed on.
    fn cut(&mut self, before: Quoting, byte: u8) {
        self.skipping = true;
        self.record_bytes = 0;
        self.owed_newlines += u64::from(byte == b'\n');
        if before == Quoting::Quoted {
            self.pending.push(b'"');
        }
        self.pending.push(self.delimiter);
        self.pending.extend_from_slice(OVERSIZE_MARKER);
    }
}

/// Caps records at `limit` bytes and strips a leading UTF-8 BOM.
#[derive(Debug)]
pub struct RecordGuard<R> {
    inner: R,
    scanner: Scanner,
    bom_checked: bool,
}

impl<R: BufRead> RecordGuard<R> {
    pub fn new(inner: R, limit: usize, delimiter: u8) -> RecordGuard<R> {
        RecordGuard {
            inner,
            scanner: Scanner {
                quoting: Quoting::FieldStart,
                delimiter,
                record_bytes: 0,
                limit,
                skipping: false,
                owed_newlines: 0,
                pending: Vec::new(),
                line: 1,
                at_start: true,
                starts: VecDeque::new(),
                field: 0,
                quote_line: 1,
            },
            bom_checked: false,
        }
    }

    /// The line where the next record the parser returns starts. Call once per record.
    pub fn take_record_line(&mut self) -> Option<u64> {
        self.scanner.starts.pop_front()
    }

    /// Sends queued marker bytes, then owed newlines; returns how many were written.
    fn drain_owed(&mut self, buf: &mut [u8]) -> usize {
        let scanner = &mut self.scanner;
        if !scanner.pending.is_empty() {
            let n = scanner.pending.len().min(buf.len());
            buf[..n].copy_from_slice(&scanner.pending[..n]);
            scanner.pending.drain(..n);
            return n;
        }
        if scanner.skipping || scanner.owed_newlines == 0 {
            return 0;
        }
        let n = usize::try_from(scanner.owed_newlines)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        buf[..n].fill(b'\n');
        scanner.owed_newlines -= n as u64;
        n
    }
}

impl<R> RecordGuard<R> {
    /// The end of the file: fine between records and after a closed quote, an error inside
    /// an open one (reported once; the reader is at its end afterwards).
    fn end_of_file(&mut self) -> io::Result<usize> {
        let scanner = &mut self.scanner;
        if scanner.quoting != Quoting::Quoted {
            return Ok(0);
        }
        scanner.quoting = Quoting::FieldStart;
        let open = UnterminatedQuote {
            line: scanner.quote_line,
            field: scanner.field,
        };
        Err(io::Error::new(io::ErrorKind::InvalidData, open))
    }
}

impl<R: BufRead> Read for RecordGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if !self.bom_checked {
            self.bom_checked = true;
            if self.inner.fill_buf()?.starts_with(BOM) {
                self.inner.consume(BOM.len());
            }
        }
        loop {
            let owed = self.drain_owed(buf);
            if owed > 0 {
                return Ok(owed);
            }
            let data = self.inner.fill_buf()?;
            if data.is_empty() {
                return self.end_of_file();
            }
            let (consumed, written) = self.scanner.scan(data, buf);
            self.inner.consume(consumed);
            // Zero would mean end of file: after a cut, or while skipping, go round again.
            if written > 0 {
                return Ok(written);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guarded(input: &[u8], limit: usize) -> Vec<u8> {
        let mut out = Vec::new();
        RecordGuard::new(input, limit, b',')
            .read_to_end(&mut out)
            .expect("reading a slice can't fail");
        out
    }

    /// Records within the cap pass unchanged, and a leading BOM is dropped.
    #[test]
    fn passes_small_records() {
        let input = b"\xef\xbb\xbfa,b\r\n\"x\ny\",\"q\"\"\"\n";
        assert_eq!(guarded(input, 100), &input[3..]);
    }

    /// A file ending inside quotes is an error naming the line the quote opened on and the
    /// field's position; a quote closed right at the end is fine.
    #[test]
    fn reports_a_quote_open_at_the_end() {
        let mut out = Vec::new();
        let err = RecordGuard::new(&b"a,b\nx,\"y\n\nz"[..], 100, b',')
            .read_to_end(&mut out)
            .expect_err("an open quote at the end");
        let open = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<UnterminatedQuote>())
            .expect("the error says why");
        assert_eq!(open, &UnterminatedQuote { line: 2, field: 1 });
        assert_eq!(guarded(b"a,b\nx,\"y\"\"\"", 100), b"a,b\nx,\"y\"\"\"");
        assert_eq!(guarded(b"a,\"b\"", 100), b"a,\"b\"");
    }

    /// An oversized quoted record is closed, marked, and its dropped newlines come back.
    #[test]
    fn cuts_oversized_records_keeping_lines() {
        let input = b"a,\"0123456789\n\n\nxyz\"\nnext\n";
        let mut expected = b"a,\"012\",".to_vec();
        expected.extend_from_slice(OVERSIZE_MARKER);
        expected.extend_from_slice(b"\n\n\n\nnext\n");
        assert_eq!(guarded(input, 6), expected);
    }
}
