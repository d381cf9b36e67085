//! Names that leave the server inside other syntax: the `Content-DispositionType` header (an ASCII
//! fallback plus the RFC 8187 `filename*`) and zip entry paths (no traversal, no absolute
//! paths, no separators or control characters inside a component, duplicates numbered).

use std::collections::HashSet;

use super::signing::DispositionType;

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

/// One path component made safe for a zip entry on any operating system.
pub fn safe_component(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => continue,
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
        "file".to_string()
    } else {
        trimmed.to_string()
    }
}

/// Hands out unique entry paths, numbering repeats `name (2).ext`, `name (3).ext`, ...
/// Uniqueness ignores case, so an archive unpacks the same on case-insensitive file systems.
#[derive(Debug, Default)]
pub struct EntryNames {
    taken: HashSet<String>,
}

impl EntryNames {
    /// A unique path for a file called `name` under the folder components `dirs`.
    pub fn claim(&mut self, dirs: &[String], name: &str) -> String {
        let prefix: String = dirs.iter().map(|d| safe_component(d) + "/").collect();
        let name = safe_component(name);
        let (stem, ext) = match name.rfind('.') {
            Some(i) if i > 0 => name.split_at(i),
            _ => (name.as_str(), ""),
        };
        let mut candidate = format!("{prefix}{name}");
        let mut n = 2;
        while !self.taken.insert(candidate.to_lowercase()) {
            candidate = format!("{prefix}{stem} ({n}){ext}");
            n += 1;
        }
        candidate
    }
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
        let dirs = vec!["a".to_string()];
        assert_eq!(names.claim(&[], "x.png"), "x.png");
        assert_eq!(names.claim(&[], "x.png"), "x (2).png");
        assert_eq!(names.claim(&[], "X.PNG"), "X (3).PNG");
        assert_eq!(names.claim(&dirs, "x.png"), "a/x.png");
        assert_eq!(names.claim(&[], "noext"), "noext");
        assert_eq!(names.claim(&[], "noext"), "noext (2)");
        assert_eq!(names.claim(&[], "x (2).png"), "x (2) (2).png");
        assert_eq!(names.claim(&["..".to_string()], "../y"), "file/_y");
    }
}
