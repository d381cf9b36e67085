//! What a manifest yields: a validated [`ManifestRow`] with its stable [`RowKey`], or an
//! [`InvalidRow`] that says which field failed and why, with the original text kept as a
//! [`RawRow`] so it can be written back. Also the intermediate [`Record`] readers produce.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::columns::{FIELDS, Field};
use wix_media_wire::media::mime_of_name;
use wix_media_wire::types::MediaType;

/// One manifest row after reading: valid and ready to import, or invalid with a reason.
// Most entries are valid: boxing the row would cost an allocation per row to shrink the
// rare invalid ones.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Valid(ManifestRow),
    Invalid(InvalidRow),
    /// A row without a source, skipped on request (`--skip-empty-source`).
    Skipped(SkippedRow),
}

impl Entry {
    /// The line where the entry's record starts.
    pub fn line(&self) -> u64 {
        match self {
            Entry::Valid(row) => row.line,
            Entry::Invalid(bad) => bad.line,
            Entry::Skipped(skipped) => skipped.line,
        }
    }
}

/// A row left out on request: it has no source (a Shopify variant row without an image).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRow {
    pub line: u64,
    pub raw: RawRow,
}

impl SkippedRow {
    /// Why it was skipped, as the reports say.
    pub const REASON: &'static str = "no source (--skip-empty-source)";
}

/// Where a row's media comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    /// An http(s) URL for Bulk Import.
    Url(url::Url),
    /// An existing regular file (absolute path) for an upload.
    File(PathBuf),
}

impl Source {
    /// The source as the journal and the reports write it: the normalized URL, or the
    /// absolute path.
    pub fn text(&self) -> String {
        match self {
            Source::Url(url) => url.to_string(),
            Source::File(path) => path.to_string_lossy().into_owned(),
        }
    }
}

/// The identity of a row across runs: `ext:<external_id>`, or the hex SHA-256 of
/// `source NUL folder_path NUL display_name` (see [`RowKey::of_content`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RowKey(pub String);

impl RowKey {
    /// The key of a row with an external id; the prefix keeps it apart from content hashes.
    pub fn of_external_id(id: &str) -> RowKey {
        RowKey(format!("ext:{id}"))
    }

    /// The key of a row without an external id. `source` is the normalized URL or the path
    /// as written in the manifest, so moving a manifest with its media keeps the keys. NUL
    /// can't occur in any of the three parts (URLs percent-encode it, paths can't hold it,
    /// names and folders reject control characters), so the join is unambiguous.
    pub fn of_content(source: &str, folder_path: &str, display_name: &str) -> RowKey {
        let mut hash = Sha256::new();
        hash.update(source.as_bytes());
        hash.update([0u8]);
        hash.update(folder_path.as_bytes());
        hash.update([0u8]);
        hash.update(display_name.as_bytes());
        RowKey(hex::encode(hash.finalize()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A valid manifest row, normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestRow {
    /// 1-based line where the record starts in the file.
    pub line: u64,
    pub key: RowKey,
    pub source: Source,
    /// "" for the root, else "/a/b".
    pub folder_path: String,
    pub display_name: String,
    pub mime_type: Option<String>,
    pub media_type: Option<MediaType>,
    pub labels: Vec<String>,
    pub private: bool,
    pub external_id: Option<String>,
    pub expected_size: Option<u64>,
    /// Lowercase hex.
    pub expected_md5: Option<String>,
}

impl ManifestRow {
    /// The row as manifest text, in [`FIELDS`] order (labels joined with `|`).
    pub fn to_raw(&self) -> RawRow {
        let values = [
            self.source.text(),
            self.folder_path.clone(),
            self.display_name.clone(),
            self.mime_type.clone().unwrap_or_default(),
            self.media_type
                .map(|t| t.as_str().to_string())
                .unwrap_or_default(),
            self.labels.join("|"),
            self.private.to_string(),
            self.external_id.clone().unwrap_or_default(),
            self.expected_size
                .map(|s| s.to_string())
                .unwrap_or_default(),
            self.expected_md5.clone().unwrap_or_default(),
        ];
        RawRow(
            FIELDS
                .iter()
                .zip(values)
                .map(|(name, value)| (name.to_string(), value))
                .collect(),
        )
    }

    /// True when Wix can tell the type without sniffing: a MIME type is given, or the display
    /// name, URL path or file name ends in an extension Wix knows.
    pub fn type_detectable(&self) -> bool {
        if self.mime_type.is_some() || mime_of_name(&self.display_name).is_some() {
            return true;
        }
        match &self.source {
            Source::Url(url) => mime_of_name(url.path()).is_some(),
            Source::File(path) => path
                .file_name()
                .is_some_and(|name| mime_of_name(&name.to_string_lossy()).is_some()),
        }
    }
}

/// A row that failed validation or could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRow {
    pub line: u64,
    /// The canonical field name, or "record" when the record as a whole is unusable.
    pub field: String,
    pub reason: String,
    pub raw: RawRow,
}

/// Canonical field name → original text, for writing a row back in manifest format.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawRow(pub Vec<(String, String)>);

impl RawRow {
    /// The text of a field, if the row had it.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, value)| value.as_str())
    }

    /// The values in [`FIELDS`] order, "" where absent: one CSV record of `failed.csv`.
    pub fn to_fields(&self) -> [&str; FIELDS.len()] {
        FIELDS.map(|name| self.get(name).unwrap_or_default())
    }
}

/// A field's value as a reader found it, before validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    /// A JSON array of strings (labels).
    List(Vec<String>),
}

impl Value {
    /// The value as manifest text: lists joined with `|`.
    pub fn to_text(&self) -> String {
        match self {
            Value::Text(text) => text.clone(),
            Value::List(items) => items.join("|"),
        }
    }
}

/// A problem found while reading a record, before validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defect {
    pub field: String,
    pub reason: String,
}

impl Defect {
    pub fn record(reason: impl Into<String>) -> Defect {
        Defect {
            field: "record".to_string(),
            reason: reason.into(),
        }
    }

    pub fn field(field: Field, reason: impl Into<String>) -> Defect {
        Defect {
            field: field.name().to_string(),
            reason: reason.into(),
        }
    }
}

/// One record as a reader produced it: the fields it found, or the defect that spoils it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    pub line: u64,
    pub values: [Option<Value>; FIELDS.len()],
    pub defect: Option<Defect>,
    /// It has no source and rows without one are skipped.
    pub skipped: bool,
}

impl Record {
    pub fn new(line: u64) -> Record {
        Record {
            line,
            ..Record::default()
        }
    }

    pub fn get(&self, field: Field) -> Option<&Value> {
        self.values[field.index()].as_ref()
    }

    pub fn set(&mut self, field: Field, value: Value) {
        self.values[field.index()] = Some(value);
    }

    /// The fields found, as text.
    pub fn raw(&self) -> RawRow {
        RawRow(
            Field::all()
                .filter_map(|f| Some((f.name().to_string(), self.get(f)?.to_text())))
                .collect(),
        )
    }
}
