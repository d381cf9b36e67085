//! The manifest's fields and where each takes its value: its own column, another platform's
//! column or JSON path (`--column FIELD=HEADER`), a template (`--column FIELD='/a/{Col}'`) or
//! nothing (`--column FIELD=`); and `--fill-down`. Names are matched case-insensitively after
//! trimming, in CSV headers and JSON keys alike. Binding names to a file is `mapping.rs`'s.

use std::str::FromStr;

use super::error::ColumnError;
use super::header::normalize;
use super::template::Template;

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

/// Where a field's value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Spec {
    /// The column (or JSON key) with the field's own name.
    #[default]
    Own,
    /// The column, JSON key or dotted JSON path given, normalized.
    Column(String),
    /// A template over columns.
    Template(Template),
    /// Nothing: the field is not read (`--column media_type=`).
    Unmapped,
}

/// Where each field's value comes from (`--column FIELD=HEADER`, `FIELD=TEMPLATE`, `FIELD=`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnMap {
    specs: [Spec; FIELDS.len()],
}

impl ColumnMap {
    /// Maps `field` to the column `header`, replacing an earlier mapping of that field.
    pub fn insert(&mut self, field: Field, header: &str) {
        self.specs[field.index()] = Spec::Column(normalize(header));
    }

    /// Parses and merges several `FIELD=HEADER` items; a later item for a field wins.
    pub fn parse_all<S: AsRef<str>>(items: &[S]) -> Result<ColumnMap, ColumnError> {
        items
            .iter()
            .map(|item| item.as_ref().parse::<ColumnMap>())
            .collect()
    }

    /// Where `field` comes from.
    pub fn spec(&self, field: Field) -> &Spec {
        &self.specs[field.index()]
    }

    /// The normalized name of the column that feeds `field` directly, if one does.
    pub fn name_of(&self, field: Field) -> Option<&str> {
        match &self.specs[field.index()] {
            Spec::Own => Some(field.name()),
            Spec::Column(name) => Some(name),
            Spec::Template(_) | Spec::Unmapped => None,
        }
    }

    /// True when the user said where `field` comes from (a column, a template or nothing).
    pub fn is_mapped(&self, field: Field) -> bool {
        self.specs[field.index()] != Spec::Own
    }
}

/// Parses one `FIELD=HEADER` (or `FIELD=TEMPLATE`, or `FIELD=`) item into a map with that one
/// mapping.
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
        if field.trim().is_empty() {
            return Err(malformed());
        }
        let field = Field::parse(field).ok_or_else(|| ColumnError::UnknownField {
            item: item.to_string(),
            field: field.trim().to_string(),
        })?;
        let spec = if normalize(header).is_empty() {
            if field == Field::SOURCE {
                return Err(ColumnError::SourceUnmapped {
                    item: item.to_string(),
                });
            }
            Spec::Unmapped
        } else if Template::is_template(header) {
            let template = Template::parse(header).map_err(|reason| ColumnError::Template {
                field: field.name(),
                template: header.to_string(),
                reason: reason.to_string(),
            })?;
            Spec::Template(template)
        } else {
            Spec::Column(normalize(header))
        };
        let mut map = ColumnMap::default();
        map.specs[field.index()] = spec;
        Ok(map)
    }
}

/// Merges single mappings, as clap collects repeated `--column` flags.
impl FromIterator<ColumnMap> for ColumnMap {
    fn from_iter<I: IntoIterator<Item = ColumnMap>>(iter: I) -> Self {
        let mut merged = ColumnMap::default();
        for map in iter {
            for (slot, spec) in merged.specs.iter_mut().zip(map.specs) {
                if spec != Spec::Own {
                    *slot = spec;
                }
            }
        }
        merged
    }
}

/// `--fill-down COLUMN[@GROUP]`: an empty `COLUMN` takes the last value above it, within rows
/// that share the same `GROUP` value (the whole file without a group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FillDown {
    /// Normalized column name or JSON path.
    pub column: String,
    pub group: Option<String>,
}

impl FromStr for FillDown {
    type Err = ColumnError;

    fn from_str(item: &str) -> Result<Self, Self::Err> {
        let (column, group) = match item.rsplit_once('@') {
            Some((column, group)) => (column, Some(normalize(group))),
            None => (item, None),
        };
        let column = normalize(column);
        if column.is_empty() || group.as_ref().is_some_and(String::is_empty) {
            return Err(ColumnError::FillDown {
                item: item.to_string(),
            });
        }
        Ok(FillDown { column, group })
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
        assert_eq!(map.name_of(Field::SOURCE), Some("image src"));
        assert_eq!(map.name_of(Field::DISPLAY_NAME), Some("image alt text"));
        assert_eq!(map.name_of(Field::LABELS), Some("labels"));
        let err = "color=Hue".parse::<ColumnMap>().expect_err("unknown field");
        assert!(matches!(err, ColumnError::UnknownField { ref field, .. } if field == "color"));
        assert!(err.to_string().contains("source, folder_path"));
        assert!(matches!(
            "source".parse::<ColumnMap>(),
            Err(ColumnError::Malformed { .. })
        ));
        assert!(matches!(
            "=x".parse::<ColumnMap>(),
            Err(ColumnError::Malformed { .. })
        ));
        let later = ColumnMap::parse_all(&["source=a", "source=b"]).expect("valid items");
        assert_eq!(later.name_of(Field::SOURCE), Some("b"));
    }

    /// `FIELD=` unmaps a field (never the source); a value with braces is a template whose
    /// errors name the field and the template.
    #[test]
    fn parses_unmapped_fields_and_templates() {
        let map = ColumnMap::parse_all(&["media_type=", "folder_path=/Shop/{Type}/{Handle}"])
            .expect("valid items");
        assert_eq!(map.spec(Field::MEDIA_TYPE), &Spec::Unmapped);
        assert_eq!(map.name_of(Field::MEDIA_TYPE), None);
        let Spec::Template(template) = map.spec(Field::FOLDER_PATH) else {
            panic!("a template")
        };
        let names: Vec<&str> = template.references().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["type", "handle"]);
        let err = "source= "
            .parse::<ColumnMap>()
            .expect_err("source can't go");
        assert!(matches!(err, ColumnError::SourceUnmapped { .. }), "{err}");
        let err = "folder_path=/Shop/{Type|slugify}"
            .parse::<ColumnMap>()
            .expect_err("unknown filter");
        let message = err.to_string();
        assert!(
            message.contains("folder_path")
                && message.contains("/Shop/{Type|slugify}")
                && message.contains("unknown filter \"slugify\"")
                && message.contains("dirname, basename, html"),
            "{message}"
        );
        let err = "display_name={title.rendered"
            .parse::<ColumnMap>()
            .expect_err("unclosed");
        assert!(err.to_string().contains("display_name"), "{err}");
    }

    /// `--fill-down COLUMN[@GROUP]` parses, normalized; empty parts are refused.
    #[test]
    fn parses_fill_down() {
        let fill: FillDown = " Type @ Handle".parse().expect("valid");
        assert_eq!(
            fill,
            FillDown {
                column: "type".into(),
                group: Some("handle".into())
            }
        );
        let plain: FillDown = "Vendor".parse().expect("valid");
        assert_eq!(plain.group, None);
        assert!("@Handle".parse::<FillDown>().is_err());
        assert!("Type@".parse::<FillDown>().is_err());
    }
}
