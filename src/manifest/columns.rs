//! The manifest's fields and how the names found in a file map to them: canonical names, or
//! another platform's headers via `--column FIELD=HEADER`. Names are matched case-insensitively
//! after trimming, in CSV headers and JSON keys alike.

use std::str::FromStr;

use super::error::ColumnError;

/// The canonical field names, in the order failed rows are written back.
pub const FIELDS: [&str; 10] = [
    "source",
    "folder_path",
    "display_name",
    "mime_type",
    "media_type",
    "labels",
    "private",
    "external_id",
    "expected_size",
    "expected_md5",
];

/// One of the ten manifest fields, as an index into [`FIELDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Field(usize);

impl Field {
    pub const SOURCE: Field = Field(0);
    pub const FOLDER_PATH: Field = Field(1);
    pub const DISPLAY_NAME: Field = Field(2);
    pub const MIME_TYPE: Field = Field(3);
    pub const MEDIA_TYPE: Field = Field(4);
    pub const LABELS: Field = Field(5);
    pub const PRIVATE: Field = Field(6);
    pub const EXTERNAL_ID: Field = Field(7);
    pub const EXPECTED_SIZE: Field = Field(8);
    pub const EXPECTED_MD5: Field = Field(9);

    /// Every field, in [`FIELDS`] order.
    pub fn all() -> impl Iterator<Item = Field> {
        (0..FIELDS.len()).map(Field)
    }

    /// The field with this canonical name (case-insensitive, trimmed).
    pub fn parse(name: &str) -> Option<Field> {
        let name = normalize(name);
        FIELDS.iter().position(|f| *f == name).map(Field)
    }

    pub fn name(self) -> &'static str {
        FIELDS[self.0]
    }

    pub fn index(self) -> usize {
        self.0
    }
}

/// A header or key as it is compared: trimmed (including a stray BOM) and lowercased.
pub fn normalize(name: &str) -> String {
    name.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .to_lowercase()
}

/// Which header (or JSON key) feeds each field; a field without a mapping uses its own name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnMap {
    headers: [Option<String>; FIELDS.len()],
}

impl ColumnMap {
    /// Maps `field` to `header`, replacing an earlier mapping of that field.
    pub fn insert(&mut self, field: Field, header: &str) {
        self.headers[field.index()] = Some(normalize(header));
    }

    /// Parses and merges several `FIELD=HEADER` items; a later item for a field wins.
    pub fn parse_all<S: AsRef<str>>(items: &[S]) -> Result<ColumnMap, ColumnError> {
        items
            .iter()
            .map(|item| item.as_ref().parse::<ColumnMap>())
            .collect()
    }

    /// The normalized name that feeds `field` in a file.
    pub fn name_of(&self, field: Field) -> &str {
        self.headers[field.index()]
            .as_deref()
            .unwrap_or(field.name())
    }

    /// For each field, the position of its column among `names` (first match wins).
    pub fn resolve<S: AsRef<str>>(&self, names: &[S]) -> [Option<usize>; FIELDS.len()] {
        let names: Vec<String> = names.iter().map(|n| normalize(n.as_ref())).collect();
        let mut found = [None; FIELDS.len()];
        for field in Field::all() {
            let wanted = self.name_of(field);
            found[field.index()] = names.iter().position(|n| n == wanted);
        }
        found
    }
}

/// Parses one `FIELD=HEADER` item into a map with that one mapping.
impl FromStr for ColumnMap {
    type Err = ColumnError;

    fn from_str(item: &str) -> Result<Self, Self::Err> {
        let malformed = || ColumnError::Malformed {
            item: item.to_string(),
        };
        let (field, header) = item.split_once('=').ok_or_else(malformed)?;
        let header = header.trim();
        // A header quoted for a shell that didn't remove the quotes (a config file, a script).
        let header = header
            .strip_prefix('"')
            .and_then(|h| h.strip_suffix('"'))
            .unwrap_or(header);
        if field.trim().is_empty() || normalize(header).is_empty() {
            return Err(malformed());
        }
        let field = Field::parse(field).ok_or_else(|| ColumnError::UnknownField {
            item: item.to_string(),
            field: field.trim().to_string(),
        })?;
        let mut map = ColumnMap::default();
        map.insert(field, header);
        Ok(map)
    }
}

/// Merges single mappings, as clap collects repeated `--column` flags.
impl FromIterator<ColumnMap> for ColumnMap {
    fn from_iter<I: IntoIterator<Item = ColumnMap>>(iter: I) -> Self {
        let mut merged = ColumnMap::default();
        for map in iter {
            for (slot, header) in merged.headers.iter_mut().zip(map.headers) {
                if header.is_some() {
                    *slot = header;
                }
            }
        }
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--column` items parse, strip quotes, reject unknown fields, and merge with later wins.
    #[test]
    fn parses_and_merges_column_items() {
        let map = ColumnMap::parse_all(&["source=Image Src", "Display_Name=\"Image Alt Text\""])
            .expect("valid items");
        assert_eq!(map.name_of(Field::SOURCE), "image src");
        assert_eq!(map.name_of(Field::DISPLAY_NAME), "image alt text");
        assert_eq!(map.name_of(Field::LABELS), "labels");
        let err = "color=Hue".parse::<ColumnMap>().expect_err("unknown field");
        assert!(matches!(err, ColumnError::UnknownField { ref field, .. } if field == "color"));
        assert!(err.to_string().contains("source, folder_path"));
        assert!(matches!(
            "source".parse::<ColumnMap>(),
            Err(ColumnError::Malformed { .. })
        ));
        assert!(matches!(
            "source= ".parse::<ColumnMap>(),
            Err(ColumnError::Malformed { .. })
        ));
        let later = ColumnMap::parse_all(&["source=a", "source=b"]).expect("valid items");
        assert_eq!(later.name_of(Field::SOURCE), "b");
    }

    /// Headers resolve case-insensitively after trimming; a mapped field ignores its own name.
    #[test]
    fn resolves_headers() {
        let map: ColumnMap = "source=Image Src".parse().expect("valid item");
        let found = map.resolve(&["\u{feff}Handle", "source", " IMAGE SRC ", "Labels"]);
        assert_eq!(found[Field::SOURCE.index()], Some(2));
        assert_eq!(found[Field::LABELS.index()], Some(3));
        assert_eq!(found[Field::PRIVATE.index()], None);
    }
}
