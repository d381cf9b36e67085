//! Text helpers for validation: display names derived from a source, control-character
//! checks, and short quoting of user text in reasons (a reason must stay readable even
//! when the offending cell is a megabyte).

use super::header::normalize;
use super::row::Source;
use wix_media_wire::types::limits;

/// True when `text` holds a control character (C0, DEL or C1).
pub fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// `text` quoted for a message, cut to 60 characters.
pub fn quote(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() <= MAX {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(MAX).collect();
        format!("{head:?}…")
    }
}

/// The display name for a row that gives none: the last segment of the URL path
/// (percent-decoded) or the file name; the host for a URL without a path. Characters a name
/// can't hold become `_`, and the result is cut to the limit, keeping the extension.
pub fn derive_display_name(source: &Source) -> String {
    let name = match source {
        Source::Url(url) => url
            .path_segments()
            .and_then(|mut segments| segments.rfind(|s| !s.is_empty()))
            .map(percent_decode)
            .filter(|name| !name.trim().is_empty())
            .unwrap_or_else(|| url.host_str().unwrap_or_default().to_string()),
        Source::File(path) => path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let name: String = name
        .trim()
        .chars()
        .map(|c| if c.is_control() || c == '/' { '_' } else { c })
        .collect();
    truncate_name(&name, limits::DISPLAY_NAME_MAX_LEN)
}

/// Cuts `name` to `max` characters, keeping a short extension so the type stays detectable.
pub fn truncate_name(name: &str, max: usize) -> String {
    let count = name.chars().count();
    if count <= max {
        return name.to_string();
    }
    let ext = name.rsplit_once('.').map(|(_, ext)| ext).filter(|ext| {
        !ext.is_empty() && ext.len() <= 8 && ext.chars().all(|c| c.is_ascii_alphanumeric())
    });
    match ext {
        Some(ext) => {
            let stem: String = name.chars().take(max - ext.len() - 1).collect();
            format!("{stem}.{ext}")
        }
        None => name.chars().take(max).collect(),
    }
}

/// Decodes `%XX` escapes; invalid UTF-8 in the result is replaced, not rejected.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            // Two hex digits make one byte, so the value always fits.
            out.push(u8::try_from(hi * 16 + lo).expect("two hex digits fit a byte"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The name among `found` closest to `wanted` (compared normalized), when one is close: one
/// holds the other, or they differ by at most two edits.
pub fn suggest<S: AsRef<str>>(wanted: &str, found: &[S]) -> Option<String> {
    let wanted = normalize(wanted);
    found
        .iter()
        .map(|name| (name.as_ref(), normalize(name.as_ref())))
        .filter(|(_, n)| !n.is_empty())
        .map(|(name, n)| {
            let distance = if n.contains(&wanted) || wanted.contains(&n) {
                n.chars().count().abs_diff(wanted.chars().count()).min(2)
            } else {
                edit_distance(&n, &wanted)
            };
            (distance, name)
        })
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name.trim().to_string())
}

/// Levenshtein distance, by characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names come from the last URL segment, decoded and sanitized, or from the host.
    #[test]
    fn derives_display_names() {
        let url = |s: &str| Source::Url(url::Url::parse(s).expect("test URL"));
        assert_eq!(
            derive_display_name(&url("https://x.test/a/Caf%C3%A9%20n%C2%BA1.jpg?v=2")),
            "Café nº1.jpg"
        );
        assert_eq!(derive_display_name(&url("https://x.test/a/b/")), "b");
        assert_eq!(derive_display_name(&url("https://x.test/")), "x.test");
        assert_eq!(
            derive_display_name(&url("https://x.test/a%2Fb%0A.png")),
            "a_b_.png"
        );
        let long = format!("https://x.test/{}.jpeg", "n".repeat(300));
        let name = derive_display_name(&url(&long));
        assert_eq!(name.chars().count(), 255);
        assert!(name.ends_with("n.jpeg"));
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    /// Near names are suggested: contained ones, or within two edits; far ones are not.
    #[test]
    fn suggests_near_names() {
        let found = ["Handle", "Image Src", "Image Alt Text"];
        assert_eq!(
            suggest("image alt", &found).as_deref(),
            Some("Image Alt Text")
        );
        assert_eq!(suggest("imag src", &found).as_deref(), Some("Image Src"));
        assert_eq!(suggest("vendor", &found), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
