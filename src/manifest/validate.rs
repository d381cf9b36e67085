//! Row validation against the Media Manager's limits (`media-manager-api.md` §1.3, §2): a
//! [`Record`] becomes a normalized [`ManifestRow`] with its key, or an [`InvalidRow`] naming
//! the first field that fails and why. Local sources are checked on disk here; whether a
//! row repeats another is the journal's business, not this module's.

use std::path::Path;

use super::columns::Field;
use super::names::{derive_display_name, edit_distance, has_control, quote};
use super::row::{
    Defect, Entry, InvalidRow, ManifestRow, Record, RowKey, SkippedRow, Source, Value,
};
use wix_media_wire::media::{is_valid_mime, mime_of_name};
use wix_media_wire::types::{MediaType, limits};

/// The longest URL accepted; longer ones break in browsers, proxies and Wix alike.
pub const URL_MAX_LEN: usize = 2048;
/// The longest external id: the contract's `ExternalInfo.externalIds` item.
pub const EXTERNAL_ID_MAX_LEN: usize = limits::EXTERNAL_ID_MAX_LEN;

/// The media types an import may name as a hint (§2.2).
const IMPORT_MEDIA_TYPES: [MediaType; 7] = [
    MediaType::Image,
    MediaType::Video,
    MediaType::Audio,
    MediaType::Document,
    MediaType::Vector,
    MediaType::Archive,
    MediaType::Model3d,
];

/// How a row's text is read, beyond the fixed rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// What separates labels in a text cell (`|` unless `--labels-separator` says otherwise).
    pub labels_separator: String,
    /// The folder (resolved) local sources must lead into; `None` confines nothing.
    pub local_root: Option<std::path::PathBuf>,
    /// Folders put before every row's folder path ("" or "/a/b", as [`parse_folder_path`]
    /// gives it): where a site of a fleet keeps what it imports.
    pub folder_prefix: String,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            labels_separator: "|".to_string(),
            local_root: None,
            folder_prefix: String::new(),
        }
    }
}

/// Validates one record; relative file sources are resolved against `base` (the
/// manifest's folder).
pub fn validate(record: Record, base: &Path, rules: &Rules) -> Entry {
    if record.skipped && record.defect.is_none() {
        return Entry::Skipped(SkippedRow {
            line: record.line,
            raw: record.raw(),
        });
    }
    match build(&record, base, rules) {
        Ok(row) => Entry::Valid(row),
        Err(defect) => Entry::Invalid(InvalidRow {
            line: record.line,
            field: defect.field,
            reason: defect.reason,
            raw: record.raw(),
        }),
    }
}

fn build(record: &Record, base: &Path, rules: &Rules) -> Result<ManifestRow, Defect> {
    if let Some(defect) = &record.defect {
        return Err(defect.clone());
    }
    let text = |field: Field| text_of(record, field);
    let at = |field: Field| move |reason: String| Defect::field(field, reason);
    let (source, source_text) =
        parse_source(text(Field::SOURCE), base, rules.local_root.as_deref())
            .map_err(at(Field::SOURCE))?;
    let folder_path =
        parse_folder_path(text(Field::FOLDER_PATH).as_deref()).map_err(at(Field::FOLDER_PATH))?;
    let folder_path = format!("{}{folder_path}", rules.folder_prefix);
    let display_name = match text(Field::DISPLAY_NAME) {
        Some(name) => check_display_name(name).map_err(at(Field::DISPLAY_NAME))?,
        None => derive_display_name(&source),
    };
    let mime_type = optional(record, Field::MIME_TYPE, check_mime_type)?;
    let media_type = optional(record, Field::MEDIA_TYPE, parse_media_type)?;
    let labels = parse_labels(record.get(Field::LABELS), &rules.labels_separator)
        .map_err(at(Field::LABELS))?;
    let private = optional(record, Field::PRIVATE, parse_private)?.unwrap_or(false);
    let external_id = optional(record, Field::EXTERNAL_ID, check_external_id)?;
    let expected_size = optional(record, Field::EXPECTED_SIZE, parse_size)?;
    let expected_md5 = optional(record, Field::EXPECTED_MD5, parse_md5)?;
    let key = match &external_id {
        Some(id) => RowKey::of_external_id(id),
        None => RowKey::of_content(&source_text, &folder_path, &display_name),
    };
    Ok(ManifestRow {
        line: record.line,
        key,
        source,
        folder_path,
        display_name,
        mime_type,
        media_type,
        labels,
        private,
        external_id,
        expected_size,
        expected_md5,
    })
}

/// A field's text, trimmed; `None` when absent or blank.
fn text_of(record: &Record, field: Field) -> Option<String> {
    record
        .get(field)
        .map(Value::to_text)
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// An optional field parsed by `parse`; its error names the field.
fn optional<T>(
    record: &Record,
    field: Field,
    parse: impl FnOnce(String) -> Result<T, String>,
) -> Result<Option<T>, Defect> {
    text_of(record, field)
        .map(parse)
        .transpose()
        .map_err(|reason| Defect::field(field, reason))
}

/// The source, and the text that stands for it in the row key: the normalized URL, or the
/// path as written (so the key survives moving the manifest together with its media).
fn parse_source(
    text: Option<String>,
    base: &Path,
    root: Option<&Path>,
) -> Result<(Source, String), String> {
    let text = text.ok_or(
        "required: a URL or a local file path (--skip-empty-source skips rows without one)",
    )?;
    if !text.contains("://") {
        let path = base.join(&text);
        let hint = url_hint(&text)
            .map(|url| format!("; did you mean {url}?"))
            .unwrap_or_default();
        if let Some(root) = root {
            match std::fs::canonicalize(&path) {
                Ok(real) if !real.starts_with(root) => {
                    return Err(format!(
                        "{} leads outside {} (local files must be under the manifest's folder, or the folder --local-root names)",
                        quote(&text),
                        root.display()
                    ));
                }
                // Missing: said below, with the hints.
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                // Where it leads can't be told: not let in.
                Err(e) => return Err(format!("cannot resolve {}: {e}", quote(&text))),
            }
        }
        return match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => Ok((Source::File(path), text)),
            Ok(_) => Err(format!("{} is not a regular file{hint}", quote(&text))),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Err(format!(
                "no such file: {} (relative paths are resolved against the manifest's folder){hint}",
                quote(&text)
            )),
            Err(err) => Err(format!("cannot read {}: {err}{hint}", quote(&text))),
        };
    }
    if text.chars().count() > URL_MAX_LEN {
        return Err(format!("URL longer than {URL_MAX_LEN} characters"));
    }
    let url = url::Url::parse(&text).map_err(|e| format!("not a valid URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        let scheme = url.scheme();
        let hint = if scheme == "file" {
            "; give a local file as a plain path".to_string()
        } else if edit_distance(scheme, "http") <= 2 || edit_distance(scheme, "https") <= 2 {
            let rest = &text[text.find("://").expect("checked above") + 3..];
            format!("; did you mean https://{rest}?")
        } else {
            String::new()
        };
        return Err(format!(
            "unsupported scheme {scheme:?}: only http and https URLs can be imported{hint}"
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".to_string());
    }
    if url.as_str().len() > URL_MAX_LEN {
        return Err(format!(
            "URL longer than {URL_MAX_LEN} characters once encoded"
        ));
    }
    let key_text = url.as_str().to_string();
    Ok((Source::Url(url), key_text))
}

/// The URL a source written without `://` probably meant: `//host/x`, `http:/host/x`,
/// `https//host/x`, or a host name followed by a path (`www.example.com/x.png`).
fn url_hint(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    for scheme in ["https", "http"] {
        if let Some(rest) = lower.strip_prefix(scheme)
            && (rest.starts_with(':') || rest.starts_with("//"))
        {
            let rest = text[scheme.len()..].trim_start_matches([':', '/']);
            return Some(format!("{scheme}://{rest}"));
        }
    }
    if let Some(rest) = text.strip_prefix("//") {
        return Some(format!("https://{rest}"));
    }
    let (host, path) = text.split_once('/').unwrap_or((text, ""));
    let labels: Vec<&str> = host.split('.').collect();
    let tld = labels.last().copied().unwrap_or_default();
    let host_like = labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && tld.len() >= 2
        && tld.chars().all(|c| c.is_ascii_alphabetic());
    let looks_like_url = host_like && (host.starts_with("www.") || !path.is_empty());
    looks_like_url.then(|| format!("https://{text}"))
}

/// "" for the root, else "/a/b": one leading and one trailing `/` are optional, segments
/// are trimmed and must be usable folder names.
pub fn parse_folder_path(text: Option<&str>) -> Result<String, String> {
    let Some(text) = text else {
        return Ok(String::new());
    };
    if text.contains('\\') {
        return Err("backslashes are not allowed; separate folders with /".to_string());
    }
    if text.contains("://") {
        return Err(format!(
            "{} is a URL, not a folder path like /Shop/Shoes (a template can take folders from a path: '/Shop/{{Key|dirname}}')",
            quote(text)
        ));
    }
    let inner = text.strip_prefix('/').unwrap_or(text);
    let inner = inner.strip_suffix('/').unwrap_or(inner);
    if inner.trim().is_empty() {
        return Ok(String::new());
    }
    let mut path = String::new();
    for (n, segment) in inner.split('/').map(str::trim).enumerate() {
        let n = n + 1;
        if segment.is_empty() {
            return Err(format!("folder {n} of the path is empty"));
        }
        if segment == "." || segment == ".." {
            return Err(format!(
                "folder {n} is {segment:?}; relative folders are not allowed"
            ));
        }
        if segment.chars().count() > limits::FOLDER_NAME_MAX_LEN {
            let max = limits::FOLDER_NAME_MAX_LEN;
            return Err(format!(
                "folder {n} is longer than {max} characters (Wix's limit on a folder name)"
            ));
        }
        if has_control(segment) {
            return Err(format!("folder {n} contains a control character"));
        }
        path.push('/');
        path.push_str(segment);
    }
    Ok(path)
}

fn check_display_name(name: String) -> Result<String, String> {
    let max = limits::DISPLAY_NAME_MAX_LEN;
    if name.chars().count() > max {
        return Err(format!(
            "longer than {max} characters (Wix keeps at most {max} of a file's name)"
        ));
    }
    if has_control(&name) {
        return Err("contains a control character".to_string());
    }
    if name.contains('/') {
        return Err("contains /; put folders in folder_path".to_string());
    }
    Ok(name)
}

fn check_mime_type(mime: String) -> Result<String, String> {
    let max = limits::MIME_TYPE_MAX_LEN;
    if mime.chars().count() > max {
        return Err(format!(
            "longer than {max} characters (Wix's limit on mimeType)"
        ));
    }
    if is_valid_mime(&mime) {
        return Ok(mime);
    }
    let guess = mime_of_name(&format!("x.{}", mime.trim_start_matches('.')))
        .filter(|_| !mime.contains('/'))
        .map(|guess| format!("; did you mean {guess}?"))
        .unwrap_or_default();
    Err(format!(
        "{} is not a MIME type like image/jpeg{guess}",
        quote(&mime)
    ))
}

fn parse_media_type(text: String) -> Result<MediaType, String> {
    MediaType::parse(&text.to_ascii_uppercase())
        .filter(|t| IMPORT_MEDIA_TYPES.contains(t))
        .ok_or_else(|| {
            let names: Vec<&str> = IMPORT_MEDIA_TYPES.iter().map(|t| t.as_str()).collect();
            let hint = if is_valid_mime(&text) {
                "; it looks like a MIME type: map that column to mime_type"
            } else {
                "; if your export uses this column for something else (WordPress's media_type is image or file), leave it out with --column media_type="
            };
            format!("{} is not one of {}{hint}", quote(&text), names.join(", "))
        })
}

/// Labels from a JSON array, or from text separated by `separator`.
fn parse_labels(value: Option<&Value>, separator: &str) -> Result<Vec<String>, String> {
    let items: Vec<&str> = match value {
        None => Vec::new(),
        Some(Value::Text(text)) if text.trim().is_empty() => Vec::new(),
        Some(Value::Text(text)) => text.split(separator).collect(),
        Some(Value::List(items)) => items.iter().map(String::as_str).collect(),
    };
    let max_items = limits::LABELS_MAX_ITEMS;
    if items.len() > max_items {
        return Err(format!(
            "{} labels, at most {max_items} (Wix's limit on a file's labels)",
            items.len()
        ));
    }
    let max = limits::LABEL_MAX_LEN;
    // Generate File Upload URL takes only 50 labels: a local file with more goes through the
    // resumable upload URL (500), so every label still arrives.
    items
        .into_iter()
        .enumerate()
        .map(|(i, label)| {
            let label = label.trim();
            let n = i + 1;
            if label.is_empty() {
                Err(format!("label {n} is empty"))
            } else if label.chars().count() > max {
                Err(format!("label {n} is longer than {max} characters"))
            } else if label.contains('|') {
                Err(format!(
                    "label {n} contains |, which separates labels in the reports"
                ))
            } else {
                Ok(label.to_string())
            }
        })
        .collect()
}

fn parse_private(text: String) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(format!("{} is not true/false, 1/0 or yes/no", quote(&text))),
    }
}

fn check_external_id(id: String) -> Result<String, String> {
    if id.chars().count() > EXTERNAL_ID_MAX_LEN {
        return Err(format!("longer than {EXTERNAL_ID_MAX_LEN} characters"));
    }
    if has_control(&id) {
        return Err("contains a control character".to_string());
    }
    Ok(id)
}

fn parse_size(text: String) -> Result<u64, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{} is not a whole number of bytes", quote(&text)));
    }
    text.parse()
        .map_err(|_| format!("{} is too large", quote(&text)))
}

fn parse_md5(text: String) -> Result<String, String> {
    if text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(format!("{} is not 32 hex digits", quote(&text)))
    }
}
