//! What a file is: its MIME and Wix media type, decided from its first bytes and what the
//! caller and the source claimed. Pure functions over a byte prefix, so every rule is a unit
//! test; fetching, decoding and storing live elsewhere.

use wix_media_wire::media::{media_type_of_mime, mime_of_name};
use wix_media_wire::types::MediaType;

use super::Failure;

/// How many leading bytes detection looks at (enough for zip-based office formats).
pub const HEAD_LEN: usize = 64 * 1024;

/// What the request, the file's names and the source said the file is.
#[derive(Debug, Clone, Default)]
pub struct Hints<'a> {
    /// `mimeType` of the import request (or the upload's `Content-Type`).
    pub declared_mime: Option<&'a str>,
    pub display_name: &'a str,
    /// Path of the source URL, for its extension.
    pub url_path: Option<&'a str>,
    /// `Content-Type` the source answered with.
    pub content_type: Option<&'a str>,
}

impl Hints<'_> {
    /// The first claim that names a media type Wix accepts: declared MIME type, then the
    /// extension of the display name, then of the URL path, then the response's type.
    fn claimed_mime(&self) -> Option<String> {
        let known = |m: &str| media_type_of_mime(m) != MediaType::Unknown;
        self.declared_mime
            .filter(|m| known(m))
            .map(essence)
            .or_else(|| mime_of_name(self.display_name))
            .or_else(|| self.url_path.and_then(mime_of_name))
            .or_else(|| self.content_type.filter(|m| known(m)).map(essence))
    }

    /// The type the source was said to be, whether or not Wix accepts it (for messages).
    fn any_claim(&self) -> Option<String> {
        self.claimed_mime()
            .or_else(|| self.declared_mime.map(essence))
            .or_else(|| self.content_type.map(essence))
    }
}

fn essence(mime: &str) -> String {
    mime.split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The decided type of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub mime: String,
    pub media_type: MediaType,
    /// True when the content itself proved the type (magic bytes or SVG markup), false when
    /// only a claim named it.
    pub sniffed: bool,
}

/// Decides a file's type. The content wins when it identifies a type; claims fill in only
/// when it doesn't (plain text, formats without magic bytes).
pub fn detect(head: &[u8], hints: &Hints<'_>) -> Result<Detected, Failure> {
    if is_svg(head) {
        return Ok(sniffed("image/svg+xml".to_string()));
    }
    // Binary glTF, which `infer` doesn't know: `glTF`, then a little-endian version.
    if head.len() >= 12 && head.starts_with(b"glTF") {
        return Ok(sniffed("model/gltf-binary".to_string()));
    }
    if let Some(kind) = infer::get(head) {
        let mime = kind.mime_type();
        if mime == "text/html" {
            let claim = hints
                .any_claim()
                .map_or(String::new(), |c| format!(" (claimed {c})"));
            return Err(Failure::new(
                "SOURCE_NOT_MEDIA",
                format!("the source sent an HTML page, not a media file{claim}"),
            ));
        }
        if media_type_of_mime(mime) == MediaType::Unknown {
            return Err(Failure::new(
                "UNKNOWN_MEDIA_TYPE",
                format!("the content is {mime}, which is not a supported media type"),
            ));
        }
        return Ok(sniffed(mime.to_string()));
    }
    match hints.claimed_mime() {
        Some(mime) => Ok(Detected {
            media_type: media_type_of_mime(&mime),
            mime,
            sniffed: false,
        }),
        None => Err(Failure::new(
            "UNKNOWN_MEDIA_TYPE",
            "can't tell the file's type: unknown content, and no MIME type or extension given",
        )),
    }
}

fn sniffed(mime: String) -> Detected {
    Detected {
        media_type: media_type_of_mime(&mime),
        mime,
        sniffed: true,
    }
}

/// Fails when the import declared a `mediaType` other than the one found.
pub fn check_declared(declared: Option<MediaType>, found: &Detected) -> Result<(), Failure> {
    match declared {
        Some(d) if d != found.media_type => Err(Failure::new(
            "MEDIA_TYPE_MISMATCH",
            format!(
                "mediaType {} was declared, but the file is {} ({})",
                d.as_str(),
                found.media_type.as_str(),
                found.mime
            ),
        )),
        _ => Ok(()),
    }
}

/// SVG markup: `<svg` first, or an XML prolog, comment or doctype followed by `<svg`.
pub fn is_svg(head: &[u8]) -> bool {
    let prefix = &head[..head.len().min(4096)];
    let text = String::from_utf8_lossy(prefix).to_ascii_lowercase();
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with("<svg") {
        return true;
    }
    let preamble = ["<?xml", "<!--", "<!doctype svg"];
    preamble.iter().any(|p| text.starts_with(p)) && text.contains("<svg") && !text.contains("<html")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    fn hints(declared: Option<&'static str>, name: &'static str) -> Hints<'static> {
        Hints {
            declared_mime: declared,
            display_name: name,
            ..Hints::default()
        }
    }

    /// Magic bytes beat every claim: a PNG named .mp4 and declared as video is a PNG.
    #[test]
    fn magic_bytes_win() {
        let d = detect(PNG_MAGIC, &hints(Some("video/mp4"), "clip.mp4")).expect("detected");
        assert_eq!(d.mime, "image/png");
        assert_eq!(d.media_type, MediaType::Image);
        assert!(d.sniffed);
        let pdf = detect(b"%PDF-1.7\n", &Hints::default()).expect("pdf");
        assert_eq!(pdf.media_type, MediaType::Document);
    }

    /// Binary glTF is found by its magic and is a MODEL3D; JSON glTF by its name.
    #[test]
    fn finds_gltf() {
        let glb = b"glTF\x02\0\0\0\x14\0\0\0\0\0\0\0";
        let d = detect(glb, &Hints::default()).expect("glb");
        assert_eq!((d.media_type, d.sniffed), (MediaType::Model3d, true));
        let json = br#"{"asset":{"version":"2.0"}}"#;
        let d = detect(json, &hints(None, "scene.gltf")).expect("gltf");
        assert_eq!(d.media_type, MediaType::Model3d);
    }

    /// SVG is found by its markup, with or without an XML prolog, and is a VECTOR.
    #[test]
    fn finds_svg_by_markup() {
        let plain = b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>";
        let prolog = b"\xef\xbb\xbf<?xml version=\"1.0\"?>\n<!-- by hand -->\n<svg/>";
        for bytes in [&plain[..], &prolog[..]] {
            let d = detect(bytes, &Hints::default()).expect("svg");
            assert_eq!(d.media_type, MediaType::Vector);
        }
        assert!(!is_svg(b"<?xml version=\"1.0\"?><html><svg/></html>"));
        assert!(!is_svg(b"<?xml version=\"1.0\"?><feed/>"));
    }

    /// An HTML page claiming to be an image fails, and the reason names the claim.
    #[test]
    fn html_is_not_media() {
        let page = b"<!doctype html>\n<html><body>Sign in</body></html>";
        let h = Hints {
            content_type: Some("image/png"),
            ..hints(None, "photo")
        };
        let err = detect(page, &h).expect_err("html refused");
        assert_eq!(err.code, "SOURCE_NOT_MEDIA");
        assert!(err.description.contains("image/png"), "{}", err.description);
    }

    /// Without magic bytes the claims decide, in order: mimeType, name, URL path, Content-Type.
    #[test]
    fn claims_fill_in_for_plain_content() {
        let text = b"just some words";
        let by_declared = detect(text, &hints(Some("text/csv; charset=utf-8"), "a.txt"));
        assert_eq!(by_declared.expect("csv").mime, "text/csv");
        let by_name = detect(text, &hints(Some("application/octet-stream"), "a.txt"));
        assert_eq!(by_name.expect("txt").mime, "text/plain");
        let by_url = Hints {
            url_path: Some("/files/notes.txt"),
            content_type: Some("audio/mpeg"),
            ..hints(None, "notes")
        };
        assert_eq!(detect(text, &by_url).expect("url").mime, "text/plain");
        let by_header = Hints {
            content_type: Some("text/plain"),
            ..hints(None, "notes")
        };
        let d = detect(text, &by_header).expect("header");
        assert_eq!((d.media_type, d.sniffed), (MediaType::Document, false));
    }

    /// Nothing to go on, or content of a type Wix doesn't take, is UNKNOWN_MEDIA_TYPE.
    #[test]
    fn unknown_types_fail() {
        let err = detect(b"\x01\x02\x03 mystery", &hints(None, "blob")).expect_err("unknown");
        assert_eq!(err.code, "UNKNOWN_MEDIA_TYPE");
        let wasm = b"\0asm\x01\0\0\0";
        let err = detect(wasm, &hints(Some("image/png"), "x.png")).expect_err("wasm");
        assert_eq!(err.code, "UNKNOWN_MEDIA_TYPE");
    }

    /// A declared mediaType must match what was found; none declared always passes.
    #[test]
    fn declared_media_type_must_match() {
        let png = detect(PNG_MAGIC, &Hints::default()).expect("png");
        assert!(check_declared(None, &png).is_ok());
        assert!(check_declared(Some(MediaType::Image), &png).is_ok());
        let err = check_declared(Some(MediaType::Video), &png).expect_err("mismatch");
        assert_eq!(err.code, "MEDIA_TYPE_MISMATCH");
    }
}
