//! Media types as Wix classifies them: which MIME types and file extensions make an IMAGE,
//! VIDEO, AUDIO, DOCUMENT, VECTOR, ARCHIVE or MODEL3D. Shared by manifest validation, the
//! client's type hints and the local Media Manager's processing.

use crate::types::MediaType;

/// The Wix media type of a MIME type, `Unknown` when Wix would not accept it.
pub fn media_type_of_mime(mime: &str) -> MediaType {
    let mime = mime
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let (top, sub) = mime.split_once('/').unwrap_or((mime.as_str(), ""));
    match (top, sub) {
        ("image", "svg+xml") => MediaType::Vector,
        ("image", _) => MediaType::Image,
        ("video", _) => MediaType::Video,
        ("audio", _) => MediaType::Audio,
        ("model", _) => MediaType::Model3d,
        ("application", "pdf" | "msword" | "rtf" | "vnd.ms-excel" | "vnd.ms-powerpoint")
        | ("text", "plain" | "csv" | "rtf") => MediaType::Document,
        ("application", s) if s.starts_with("vnd.openxmlformats-officedocument") => {
            MediaType::Document
        }
        ("application", s) if s.starts_with("vnd.oasis.opendocument") => MediaType::Document,
        (
            "application",
            "zip" | "x-zip-compressed" | "x-rar-compressed" | "vnd.rar" | "x-7z-compressed"
            | "gzip" | "x-tar",
        ) => MediaType::Archive,
        ("application", "octet-stream") => MediaType::Unknown,
        _ => MediaType::Unknown,
    }
}

/// The MIME type a file name's extension implies, if it is one Wix knows.
pub fn mime_of_name(name: &str) -> Option<String> {
    let ext = extension(name)?;
    let mime = match ext.as_str() {
        // glTF and friends are missing from most tables.
        "glb" => "model/gltf-binary".to_string(),
        "gltf" => "model/gltf+json".to_string(),
        "obj" => "model/obj".to_string(),
        "stl" => "model/stl".to_string(),
        "heic" => "image/heic".to_string(),
        _ => mime_guess::from_ext(&ext).first_raw()?.to_string(),
    };
    (media_type_of_mime(&mime) != MediaType::Unknown).then_some(mime)
}

/// The lowercase extension of the last path segment of a name or URL path, if any.
pub fn extension(name: &str) -> Option<String> {
    let name = name.split(['?', '#']).next().unwrap_or_default();
    let last = name.rsplit('/').next().unwrap_or_default();
    let (stem, ext) = last.rsplit_once('.')?;
    (!stem.is_empty()
        && !ext.is_empty()
        && ext.len() <= 8
        && ext.chars().all(|c| c.is_ascii_alphanumeric()))
    .then(|| ext.to_ascii_lowercase())
}

/// The usual extension for a MIME type (for file ids and download names).
pub fn extension_of_mime(mime: &str) -> Option<&'static str> {
    let mime = mime.split(';').next().unwrap_or_default().trim();
    Some(match mime {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/svg+xml" => "svg",
        "audio/mpeg" => "mp3",
        "video/mp4" => "mp4",
        "application/pdf" => "pdf",
        // mime_guess lists extensions alphabetically, so its first pick for these is odd
        // (`text/plain` → `asm`, `text/html` → `htm`, `audio/wav` → ...).
        "text/plain" => "txt",
        "text/csv" => "csv",
        "text/html" => "html",
        "text/xml" | "application/xml" => "xml",
        "application/json" => "json",
        "application/zip" => "zip",
        "application/msword" => "doc",
        "application/vnd.ms-excel" => "xls",
        "application/vnd.ms-powerpoint" => "ppt",
        "audio/wav" | "audio/x-wav" => "wav",
        "audio/ogg" => "ogg",
        "audio/mp4" => "m4a",
        "video/quicktime" => "mov",
        "video/mpeg" => "mpg",
        "image/tiff" => "tif",
        _ => mime_guess::get_mime_extensions_str(mime)?.first()?,
    })
}

/// True for a syntactically valid `type/subtype` MIME type.
pub fn is_valid_mime(mime: &str) -> bool {
    let essence = mime.split(';').next().unwrap_or_default().trim();
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 127
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c))
    };
    matches!(essence.split_once('/'), Some((t, s)) if token(t) && token(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Types map as Wix classifies them; unknown or generic types are Unknown.
    #[test]
    fn classifies_mime_types() {
        assert_eq!(media_type_of_mime("image/png"), MediaType::Image);
        assert_eq!(media_type_of_mime("IMAGE/JPEG; q=1"), MediaType::Image);
        assert_eq!(media_type_of_mime("image/svg+xml"), MediaType::Vector);
        assert_eq!(media_type_of_mime("audio/mpeg"), MediaType::Audio);
        assert_eq!(media_type_of_mime("application/pdf"), MediaType::Document);
        assert_eq!(media_type_of_mime("application/zip"), MediaType::Archive);
        assert_eq!(media_type_of_mime("text/html"), MediaType::Unknown);
        assert_eq!(
            media_type_of_mime("application/octet-stream"),
            MediaType::Unknown
        );
    }

    /// Issue 13, hole 10: the usual extension of common types, not mime_guess's first
    /// alphabetical pick (`text/plain` gave `asm`).
    #[test]
    fn hole_10_text_plain_extension_is_txt() {
        assert_eq!(extension_of_mime("text/plain"), Some("txt"));
        assert_eq!(extension_of_mime("text/plain; charset=utf-8"), Some("txt"));
        assert_eq!(extension_of_mime("text/csv"), Some("csv"));
        assert_eq!(extension_of_mime("image/jpeg"), Some("jpg"));
    }

    /// Extensions come from the last path segment, ignoring queries and fragments.
    #[test]
    fn reads_extensions_and_names() {
        assert_eq!(
            extension("https://cdn.example/a/b/photo.JPG?x=1#y"),
            Some("jpg".into())
        );
        assert_eq!(extension("https://cdn.example/a.b/photo"), None);
        assert_eq!(extension(".hidden"), None);
        assert_eq!(mime_of_name("song.mp3").as_deref(), Some("audio/mpeg"));
        assert_eq!(mime_of_name("page.html"), None);
        assert_eq!(
            mime_of_name("model.glb").as_deref(),
            Some("model/gltf-binary")
        );
        assert!(is_valid_mime("image/png"));
        assert!(!is_valid_mime("png"));
        assert!(!is_valid_mime("image/"));
    }
}
