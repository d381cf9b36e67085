//! A look at a manifest's first bytes before reading it: files that are not UTF-8 text
//! (a workbook, UTF-16 or UTF-32 text, a PDF, an archive, an image) are named with what to do,
//! instead of their bytes being shown as "columns found"; and a CSV's delimiter is guessed
//! from its header line.

/// Bytes looked at, at most.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// What a file that is not a text manifest looks like, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotText {
    pub found: &'static str,
    pub advice: &'static str,
}

const SAVE_AS_CSV: &str =
    "save it as CSV UTF-8 (in Excel: File > Save As > CSV UTF-8) and pass that file";
const CONVERT_UTF8: &str = "save it as UTF-8 (in Excel: File > Save As > CSV UTF-8; or convert it, e.g. iconv -f UTF-16 -t UTF-8 in.csv > out.csv)";
const EXPORT_LIST: &str =
    "a manifest is a CSV, JSON or text list of the files; export the list as CSV UTF-8";

/// Why `head` (the first bytes of a file) is not a text manifest, if it isn't.
pub fn not_text(head: &[u8]) -> Option<NotText> {
    let found = |found, advice| Some(NotText { found, advice });
    let starts = |magic: &[u8]| head.starts_with(magic);
    if starts(b"PK\x03\x04") {
        let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
        return if has(b"opendocument.spreadsheet") {
            found("an OpenDocument spreadsheet (.ods)", SAVE_AS_CSV)
        } else if has(b"xl/") {
            found("an Excel workbook (.xlsx)", SAVE_AS_CSV)
        } else if has(b"word/") {
            found("a Word document (.docx)", EXPORT_LIST)
        } else {
            found(
                "a zip archive",
                "unzip it and pass the CSV or JSON manifest inside",
            )
        };
    }
    if starts(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        return found("an Excel 97-2003 workbook (.xls)", SAVE_AS_CSV);
    }
    if starts(b"\xFF\xFE\x00\x00") || starts(b"\x00\x00\xFE\xFF") {
        return found("UTF-32 text", CONVERT_UTF8);
    }
    if starts(b"\xFF\xFE") || starts(b"\xFE\xFF") {
        return found("UTF-16 text", CONVERT_UTF8);
    }
    if starts(b"%PDF-") {
        return found("a PDF document", EXPORT_LIST);
    }
    if starts(b"\x1F\x8B") {
        return found(
            "a gzip-compressed file",
            "decompress it first (gunzip) and pass the manifest",
        );
    }
    if starts(b"\x89PNG") || starts(b"\xFF\xD8\xFF") || starts(b"GIF8") {
        return found("an image", EXPORT_LIST);
    }
    if starts(b"SQLite format 3\0") {
        return found("an SQLite database (a journal?)", EXPORT_LIST);
    }
    if let Some(width) = nul_pattern(head) {
        return found(width, CONVERT_UTF8);
    }
    // Text may hold a stray NUL in a cell (an invalid row); binaries are full of them.
    let nuls = head.iter().filter(|b| **b == 0).count();
    if nuls >= 8 && nuls * 10 >= head.len() {
        return found("a binary file (it holds NUL bytes)", EXPORT_LIST);
    }
    None
}

/// UTF-16 or UTF-32 text without a BOM, told by where its NUL bytes fall in ASCII text.
fn nul_pattern(head: &[u8]) -> Option<&'static str> {
    let sample = &head[..head.len().min(256) / 4 * 4];
    if sample.len() < 8 {
        return None;
    }
    let zero_at = |modulo: usize, rests: &[usize]| {
        sample
            .iter()
            .enumerate()
            .all(|(i, b)| (*b == 0) == rests.contains(&(i % modulo)))
    };
    if zero_at(4, &[1, 2, 3]) || zero_at(4, &[0, 1, 2]) {
        Some("UTF-32 text")
    } else if zero_at(2, &[1]) || zero_at(2, &[0]) {
        Some("UTF-16 text")
    } else {
        None
    }
}

/// The delimiter of a CSV whose first bytes are `head`: the commonest of `,`, `;` and tab
/// outside quotes on the first line; `,` on a tie or when there is none.
pub fn guess_delimiter(head: &[u8]) -> u8 {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for &byte in head {
        match byte {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            _ if !quoted => {
                if let Some((_, n)) = counts.iter_mut().find(|(d, _)| *d == byte) {
                    *n += 1;
                }
            }
            _ => {}
        }
    }
    let best = counts.iter().fold(
        (b',', 0),
        |best, &(d, n)| if n > best.1 { (d, n) } else { best },
    );
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Workbooks, UTF-16/32 (with or without a BOM), PDFs, archives and binaries are named;
    /// UTF-8 text (with a BOM too) passes.
    #[test]
    fn names_files_that_are_not_text() {
        let found = |head: &[u8]| not_text(head).map(|n| n.found);
        let mut xlsx = b"PK\x03\x04\x14\x00\x06\x00[Content_Types].xml".to_vec();
        xlsx.extend_from_slice(b"\x00\x00xl/workbook.xml");
        assert_eq!(found(&xlsx), Some("an Excel workbook (.xlsx)"));
        assert!(not_text(&xlsx).unwrap().advice.contains("CSV UTF-8"));
        assert_eq!(found(b"PK\x03\x04abc"), Some("a zip archive"));
        assert_eq!(
            found(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00"),
            Some("an Excel 97-2003 workbook (.xls)")
        );
        assert_eq!(found(b"\xFF\xFEs\x00o\x00"), Some("UTF-16 text"));
        assert_eq!(found(b"\xFF\xFE\x00\x00s\x00\x00\x00"), Some("UTF-32 text"));
        let utf16le: Vec<u8> = "source,folder_path\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(found(&utf16le), Some("UTF-16 text"));
        let utf16be: Vec<u8> = "source\n"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(found(&utf16be), Some("UTF-16 text"));
        let utf32: Vec<u8> = "source"
            .chars()
            .flat_map(|c| (c as u32).to_le_bytes())
            .collect();
        assert_eq!(found(&utf32), Some("UTF-32 text"));
        assert_eq!(found(b"%PDF-1.7\n"), Some("a PDF document"));
        assert_eq!(found(b"\x1F\x8B\x08\x00"), Some("a gzip-compressed file"));
        assert_eq!(
            found(b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00>\x00"),
            Some("a binary file (it holds NUL bytes)")
        );
        assert_eq!(found(b"source\nhttps://x.test/a\x00.jpg\n"), None);
        assert_eq!(found(b"\xEF\xBB\xBFsource\nhttps://x.test/a.jpg\n"), None);
        assert_eq!(found("source\nhttps://x.test/café.jpg\n".as_bytes()), None);
        assert_eq!(found(b""), None);
    }

    /// The delimiter is the commonest of `,`, `;` and tab on the header line, outside quotes.
    #[test]
    fn guesses_delimiters() {
        assert_eq!(guess_delimiter(b"source;folder_path;labels\na,b;c"), b';');
        assert_eq!(guess_delimiter(b"Key\tSize\tLastModified\n"), b'\t');
        assert_eq!(guess_delimiter(b"\"a;b;c\",d\n"), b',');
        assert_eq!(guess_delimiter(b"source\nhttps://x.test/a;b,c"), b',');
        assert_eq!(guess_delimiter(b"\xEF\xBB\xBFa;b\r\n"), b';');
    }
}
