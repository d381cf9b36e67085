//! From a file's columns to a [`Record`]'s fields. A [`Mapping`] lists every name the options
//! read (fields' columns, template references, fill-down columns and groups) so a reader
//! fetches just those cells; a [`Mapper`] then fills columns down and builds each field, one
//! record at a time. Its state is one value per fill-down column: memory doesn't grow with
//! the manifest.

use serde_json::Value as Json;

use super::columns::{ColumnMap, Field, FillDown, Spec};
use super::row::{Defect, Record, Value};
use super::template::{Piece, Template};

/// One cell as a reader found it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    /// Bytes that are not UTF-8, decoded lossily.
    NotUtf8(String),
    /// A JSON value other than a string.
    Json(Json),
}

impl Cell {
    /// Absent in all but name: empty or blank text, or JSON null.
    fn is_blank(&self) -> bool {
        match self {
            Cell::Text(text) | Cell::NotUtf8(text) => text.trim().is_empty(),
            Cell::Json(value) => value.is_null(),
        }
    }

    /// A JSON value as a cell: strings as text.
    pub fn of_json(value: Json) -> Cell {
        match value {
            Json::String(text) => Cell::Text(text),
            other => Cell::Json(other),
        }
    }
}

/// A record as a reader produced it: one cell per name of the [`Mapping`] (`None` where the
/// record lacks it), or a defect that spoils the record as a whole.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    pub line: u64,
    pub cells: Vec<Option<Cell>>,
    pub defect: Option<Defect>,
}

impl RawRecord {
    pub fn defective(line: u64, defect: Defect) -> RawRecord {
        RawRecord {
            line,
            cells: Vec::new(),
            defect: Some(defect),
        }
    }
}

/// Where one field comes from, by name index.
#[derive(Debug, Clone)]
enum Read {
    Column(usize),
    Template(Vec<Part>),
    Nothing,
}

#[derive(Debug, Clone)]
enum Part {
    Literal(String),
    Ref(usize, super::template::Reference),
}

#[derive(Debug, Clone)]
struct FillRule {
    column: usize,
    group: Option<usize>,
}

/// The names a mapping reads and how each field is built from them.
#[derive(Debug, Clone)]
pub struct Mapping {
    names: Vec<String>,
    /// Names that must be in the file: the source's column, and every name the user gave.
    required: Vec<bool>,
    /// For each name, the `--column`/`--fill-down` item it came from, for messages.
    origins: Vec<String>,
    fields: Vec<Read>,
    fills: Vec<FillRule>,
    skip_empty_source: bool,
}

impl Mapping {
    pub fn new(columns: &ColumnMap, fill_down: &[FillDown], skip_empty_source: bool) -> Mapping {
        let mut mapping = Mapping {
            names: Vec::new(),
            required: Vec::new(),
            origins: Vec::new(),
            fields: Vec::new(),
            fills: Vec::new(),
            skip_empty_source,
        };
        for field in Field::all() {
            let read = match columns.spec(field) {
                Spec::Own => {
                    let required = field == Field::SOURCE;
                    let origin = format!("the {} column", field.name());
                    Read::Column(mapping.intern(field.name(), required, origin))
                }
                Spec::Column(name) => {
                    let origin = format!("--column {}={name}", field.name());
                    Read::Column(mapping.intern(name, true, origin))
                }
                Spec::Template(template) => Read::Template(mapping.parts(field, template)),
                Spec::Unmapped => Read::Nothing,
            };
            mapping.fields.push(read);
        }
        for fill in fill_down {
            let origin = match &fill.group {
                Some(group) => format!("--fill-down {}@{group}", fill.column),
                None => format!("--fill-down {}", fill.column),
            };
            let column = mapping.intern(&fill.column, true, origin.clone());
            let group = fill
                .group
                .as_deref()
                .map(|g| mapping.intern(g, true, origin));
            mapping.fills.push(FillRule { column, group });
        }
        mapping
    }

    fn parts(&mut self, field: Field, template: &Template) -> Vec<Part> {
        template
            .pieces
            .iter()
            .map(|piece| match piece {
                Piece::Literal(text) => Part::Literal(text.clone()),
                Piece::Ref(reference) => {
                    let origin = format!("--column {}={}", field.name(), template.text);
                    Part::Ref(
                        self.intern(&reference.name, true, origin),
                        reference.clone(),
                    )
                }
            })
            .collect()
    }

    /// The index of `name`, added when new; `required` and the first origin stick.
    fn intern(&mut self, name: &str, required: bool, origin: String) -> usize {
        match self.names.iter().position(|n| n == name) {
            Some(i) => {
                if required && !self.required[i] {
                    self.required[i] = true;
                    self.origins[i] = origin;
                }
                i
            }
            None => {
                self.names.push(name.to_string());
                self.required.push(required);
                self.origins.push(origin);
                self.names.len() - 1
            }
        }
    }

    /// The normalized names to fetch, by index.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The names that must be found, with the option that asked for each.
    pub fn required(&self) -> impl Iterator<Item = (usize, &str, &str)> {
        self.names
            .iter()
            .enumerate()
            .filter(|(i, _)| self.required[*i])
            .map(|(i, n)| (i, n.as_str(), self.origins[i].as_str()))
    }

    /// The name the source is read from, when it is read from one column.
    pub fn source_column(&self) -> Option<&str> {
        match &self.fields[Field::SOURCE.index()] {
            Read::Column(i) => Some(&self.names[*i]),
            _ => None,
        }
    }
}

/// Last value seen of one fill-down column, and the group it was seen in.
#[derive(Debug, Default)]
struct FillState {
    value: Option<Cell>,
    group: Option<String>,
}

/// Builds records from raw records, in file order.
#[derive(Debug)]
pub struct Mapper {
    mapping: Mapping,
    fills: Vec<FillState>,
}

impl Mapper {
    pub fn new(mapping: Mapping) -> Mapper {
        let fills = mapping.fills.iter().map(|_| FillState::default()).collect();
        Mapper { mapping, fills }
    }

    /// The record for `raw`: filled down (unless defective), each field built.
    pub fn map(&mut self, mut raw: RawRecord) -> Record {
        let mut record = Record::new(raw.line);
        if raw.cells.is_empty() && raw.defect.is_some() {
            record.defect = raw.defect;
            return record;
        }
        raw.cells.resize(self.mapping.names.len(), None);
        if raw.defect.is_none() {
            self.fill_down(&mut raw.cells);
        }
        for field in Field::all() {
            let value = match &self.mapping.fields[field.index()] {
                Read::Nothing => None,
                Read::Column(i) => column_value(field, raw.cells[*i].as_ref(), &mut record),
                Read::Template(parts) => template_value(field, parts, &raw.cells, &mut record),
            };
            if let Some(value) = value {
                record.set(field, value);
            }
        }
        if raw.defect.is_some() {
            // The record's shape is the more basic problem: its fields may be shifted.
            record.defect = raw.defect;
        }
        record.skipped = self.mapping.skip_empty_source && source_is_empty(&record);
        record
    }

    fn fill_down(&mut self, cells: &mut [Option<Cell>]) {
        for (rule, state) in self.mapping.fills.iter().zip(&mut self.fills) {
            let group = match rule.group {
                None => None,
                Some(g) => match cells[g].as_ref().filter(|c| !c.is_blank()) {
                    Some(cell) => Some(cell_text(cell)),
                    None => {
                        // A row without a group belongs to none: neither filled nor remembered.
                        *state = FillState::default();
                        continue;
                    }
                },
            };
            if state.group != group {
                state.value = None;
                state.group = group;
            }
            let cell = &mut cells[rule.column];
            match cell.as_ref().filter(|c| !c.is_blank()) {
                Some(value) => state.value = Some(value.clone()),
                None => {
                    if let Some(value) = &state.value {
                        *cell = Some(value.clone());
                    }
                }
            }
        }
    }
}

fn source_is_empty(record: &Record) -> bool {
    record
        .get(Field::SOURCE)
        .is_none_or(|v| v.to_text().trim().is_empty())
}

/// A cell's text for comparing groups and filling templates (JSON scalars as written).
fn cell_text(cell: &Cell) -> String {
    match cell {
        Cell::Text(text) | Cell::NotUtf8(text) => text.clone(),
        Cell::Json(value) => value.to_string(),
    }
}

const NOT_UTF8: &str = "not valid UTF-8 (save the file as UTF-8)";

/// A field read from one cell; JSON types are checked per field.
fn column_value(field: Field, cell: Option<&Cell>, record: &mut Record) -> Option<Value> {
    match cell? {
        Cell::Text(text) => Some(Value::Text(text.clone())),
        Cell::NotUtf8(text) => {
            record
                .defect
                .get_or_insert_with(|| Defect::field(field, NOT_UTF8));
            Some(Value::Text(text.clone()))
        }
        Cell::Json(Json::Null) => None,
        Cell::Json(value) => Some(convert(field, value).unwrap_or_else(|expected| {
            let mut reason = format!("expected {expected}, found {}", kind(value));
            if let Json::Object(object) = value {
                let keys: Vec<&str> = object.keys().map(String::as_str).take(8).collect();
                reason.push_str(&format!(
                    " with keys {}; map a key inside it with a dotted path, e.g. --column {}=<key>.{}",
                    keys.join(", "),
                    field.name(),
                    keys.first().copied().unwrap_or("rendered")
                ));
            }
            record
                .defect
                .get_or_insert_with(|| Defect::field(field, reason));
            Value::Text(value.to_string())
        })),
    }
}

/// A field built by a template. A source template whose columns are all empty gives no
/// source, so it never makes a URL out of nothing.
fn template_value(
    field: Field,
    parts: &[Part],
    cells: &[Option<Cell>],
    record: &mut Record,
) -> Option<Value> {
    let mut out = String::new();
    let mut any = false;
    for part in parts {
        match part {
            Part::Literal(text) => out.push_str(text),
            Part::Ref(i, reference) => {
                let text = match cells[*i].as_ref() {
                    None | Some(Cell::Json(Json::Null)) => String::new(),
                    Some(Cell::Text(text)) => text.clone(),
                    Some(Cell::NotUtf8(text)) => {
                        record
                            .defect
                            .get_or_insert_with(|| Defect::field(field, NOT_UTF8));
                        text.clone()
                    }
                    Some(Cell::Json(value @ (Json::Array(_) | Json::Object(_)))) => {
                        let reason = format!(
                            "{{{}}} is {}, not text; name a value inside it with a dotted path",
                            reference.name,
                            kind(value)
                        );
                        record
                            .defect
                            .get_or_insert_with(|| Defect::field(field, reason));
                        String::new()
                    }
                    Some(Cell::Json(scalar)) => scalar.to_string(),
                };
                any |= !text.trim().is_empty();
                out.push_str(&reference.apply(&text));
            }
        }
    }
    if field == Field::SOURCE && !any && parts.iter().any(|p| matches!(p, Part::Ref(..))) {
        return None;
    }
    Some(Value::Text(out))
}

/// The value for `field`, or what the field expects when the JSON type is wrong.
fn convert(field: Field, value: &Json) -> Result<Value, &'static str> {
    match (field, value) {
        (_, Json::String(text)) => Ok(Value::Text(text.clone())),
        (Field::PRIVATE, Json::Bool(flag)) => Ok(Value::Text(flag.to_string())),
        (Field::EXPECTED_SIZE | Field::EXTERNAL_ID, Json::Number(n)) => {
            Ok(Value::Text(n.to_string()))
        }
        (Field::LABELS, Json::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .map(Value::List)
            .ok_or("an array of strings or a separated string"),
        (Field::LABELS, _) => Err("an array of strings or a separated string"),
        (Field::PRIVATE, _) => Err("true or false"),
        (Field::EXPECTED_SIZE, _) => Err("a number of bytes"),
        (Field::EXTERNAL_ID, _) => Err("a string or a number"),
        _ => Err("a string"),
    }
}

pub fn kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}
