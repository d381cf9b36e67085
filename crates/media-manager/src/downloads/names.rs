//! Names that leave the server inside other syntax: the `Content-DispositionType` header (an ASCII
//! fallback plus the RFC 8187 `filename*`) and zip entry paths (no traversal, no absolute
//! paths, no separators or control characters inside a component, duplicates numbered).

use std::collections::HashSet;

use super::signing::DispositionType;
use wix_media_wire::names::is_invisible_control;

/// `attachment; filename="ascii"; filename*=UTF-8''percent-encoded`. Only printable ASCII can
/// come out, so no name can break the header's syntax.
pub fn content_disposition(disposition: DispositionType, name: &str) -> String {
    let name = name.replace(['/', '\\'], "_");
    let fallback: String = name
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '%' => c,
            _ => '_',
        })
        .collect();
    let mut encoded = String::with_capacity(name.len() * 3);
    for b in name.bytes() {
        // RFC 8187 attr-char: everything else is percent-encoded.
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!(
        "{}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}",
        disposition.as_str()
    )
}

/// Longest path component most file systems take (ext4, APFS, NTFS: 255 bytes or units).
pub const COMPONENT_MAX_BYTES: usize = 255;

/// One path component made safe for a zip entry on any operating system.
pub fn safe_component(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() || is_invisible_control(c) => continue,
            c => c,
        };
        // Runs of dots collapse to one, so no `..` survives anywhere in a name.
        if c == '.' && out.ends_with('.') {
            continue;
        }
        out.push(c);
    }
    // Leading dots would make `.`/`..`-like or hidden names; trailing dots and spaces are
    // dropped by Windows.
    let trimmed = out
        .trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' ']);
    if trimmed.is_empty() {
        return "file".to_string();
    }
    // A cut keeps a (short) extension, so a long name still opens with the right program.
    match trimmed.rfind('.') {
        Some(i) if i > 0 && trimmed.len() - i <= 16 => {
            let (stem, ext) = trimmed.split_at(i);
            fit(stem, "", ext)
        }
        _ => fit(trimmed, "", ""),
    }
}

/// `stem + suffix + ext` cut (in the stem, at a character boundary) to fit in a component.
fn fit(stem: &str, suffix: &str, ext: &str) -> String {
    let room = COMPONENT_MAX_BYTES.saturating_sub(suffix.len() + ext.len());
    let mut end = stem.len().min(room);
    while !stem.is_char_boundary(end) {
        end -= 1;
    }
    let cut = stem[..end].trim_end_matches(['.', ' ']);
    let cut = if cut.is_empty() { "file" } else { cut };
    format!("{cut}{suffix}{ext}")
}

/// Hands out unique entry paths, numbering repeats `name (2).ext`, `name (3).ext`, ...
/// Uniqueness ignores case, so an archive unpacks the same on case-insensitive file systems.
/// Only a digest of each path taken is kept.
#[derive(Debug, Default)]
pub struct EntryNames {
    taken: HashSet<[u8; 16]>,
}

impl EntryNames {
    /// A unique path for a file called `name` under the folder components `dirs`.
    pub fn claim(&mut self, dirs: &[&str], name: &str) -> String {
        let prefix: String = dirs.iter().map(|d| safe_component(d) + "/").collect();
        let name = safe_component(name);
        let (stem, ext) = match name.rfind('.') {
            Some(i) if i > 0 => name.split_at(i),
            _ => (name.as_str(), ""),
        };
        let mut candidate = format!("{prefix}{name}");
        let mut n = 2;
        while !self.taken.insert(digest(&candidate)) {
            candidate = format!("{prefix}{}", fit(stem, &format!(" ({n})"), ext));
            n += 1;
        }
        candidate
    }
}

fn digest(path: &str) -> [u8; 16] {
    use sha2::{Digest, Sha256};
    let full = Sha256::digest(path.to_lowercase().as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disposition_header_is_ascii_with_utf8_name() {
        assert_eq!(
            content_disposition(DispositionType::Attachment, "photo.png"),
            "attachment; filename=\"photo.png\"; filename*=UTF-8''photo.png"
        );
        assert_eq!(
            content_disposition(DispositionType::Inline, "café \"x\".png"),
            "inline; filename=\"caf_ _x_.png\"; filename*=UTF-8''caf%C3%A9%20%22x%22.png"
        );
    }

    #[test]
    fn disposition_header_cannot_be_injected() {
        let v = content_disposition(
            DispositionType::Attachment,
            "a\"; filename=evil.exe\r\nSet-Cookie: x=1;\\..",
        );
        assert!(v.bytes().all(|b| (b' '..=b'~').contains(&b)), "{v}");
        assert_eq!(v.matches('"').count(), 2, "{v}");
        assert!(axum::http::HeaderValue::from_str(&v).is_ok());
    }

    #[test]
    fn components_are_safe() {
        for (raw, want) in [
            ("../../etc/passwd", "_._etc_passwd"),
            ("a/b\\c", "a_b_c"),
            ("..", "file"),
            (".", "file"),
            ("", "file"),
            ("  ", "file"),
            ("/abs.png", "_abs.png"),
            ("C:\\x.png", "C__x.png"),
            ("tab\there\u{7}.png", "tabhere.png"),
            (".hidden", "hidden"),
            ("name...jpg", "name.jpg"),
            ("ünïcode.png", "ünïcode.png"),
        ] {
            let got = safe_component(raw);
            assert_eq!(got, want, "{raw:?}");
            assert!(!got.contains("..") && !got.contains('/') && !got.contains('\\'));
        }
    }

    #[test]
    fn duplicates_are_numbered_before_the_extension() {
        let mut names = EntryNames::default();
        let dirs = ["a"];
        assert_eq!(names.claim(&[], "x.png"), "x.png");
        assert_eq!(names.claim(&[], "x.png"), "x (2).png");
        assert_eq!(names.claim(&[], "X.PNG"), "X (3).PNG");
        assert_eq!(names.claim(&dirs, "x.png"), "a/x.png");
        assert_eq!(names.claim(&[], "noext"), "noext");
        assert_eq!(names.claim(&[], "noext"), "noext (2)");
        assert_eq!(names.claim(&[], "x (2).png"), "x (2) (2).png");
        assert_eq!(names.claim(&[".."], "../y"), "file/_y");
    }
}
