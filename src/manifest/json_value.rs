//! JSON records → [`RawRecord`]s: each name the mapping reads is looked up as a key, or as a
//! dotted path into nested objects (`title.rendered`, `media_details.file`, `sizes.0`), keys
//! matched like CSV headers. The first records are read ahead (a bounded number) to check
//! that every name the user gave occurs in at least one of them: a mistyped key is a fatal
//! error listing the keys found, not a column of blanks.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::error::ManifestError;
use super::json::{JsonItem, JsonLinesRecords};
use super::json_array::JsonArrayRecords;
use super::mapping::{Cell, Mapping, RawRecord, kind};
use super::names::suggest;
use super::row::Defect;

/// Records read ahead to check the names, at most.
const LOOKAHEAD_RECORDS: usize = 100;
/// Keys listed in a message, at most.
const KEYS_LISTED: usize = 40;

/// True when `key` as written matches the normalized `wanted`.
fn key_matches(key: &str, wanted: &str) -> bool {
    key.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .chars()
        .flat_map(char::to_lowercase)
        .eq(wanted.chars())
}

/// The value at `name` in `value`: a key of the object (first match), else a dotted path.
pub fn lookup<'a>(value: &'a Json, name: &str) -> Option<&'a Json> {
    let object = value.as_object()?;
    if let Some((_, found)) = object.iter().find(|(k, _)| key_matches(k, name)) {
        return Some(found);
    }
    if !name.contains('.') {
        return None;
    }
    let mut at = value;
    for part in name.split('.') {
        at = match at {
            Json::Object(object) => object.iter().find(|(k, _)| key_matches(k, part))?.1,
            Json::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(at)
}

/// The raw record of one JSON item.
fn raw_of(item: JsonItem, names: &[String]) -> RawRecord {
    let (line, value) = item;
    let value = match value {
        Err(defect) => return RawRecord::defective(line, defect),
        Ok(value) => value,
    };
    if !value.is_object() {
        let reason = format!("a record must be a JSON object, found {}", kind(&value));
        return RawRecord::defective(line, Defect::record(reason));
    }
    let cells = names
        .iter()
        .map(|name| lookup(&value, name).cloned().map(Cell::of_json))
        .collect();
    RawRecord {
        line,
        cells,
        defect: None,
    }
}

/// Where JSON items come from.
pub enum JsonSource {
    Array(JsonArrayRecords),
    Lines(JsonLinesRecords),
}

impl JsonSource {
    fn next_item(&mut self) -> Option<Result<JsonItem, ManifestError>> {
        match self {
            JsonSource::Array(records) => records.next_record(),
            JsonSource::Lines(records) => records.next_record(),
        }
    }
}

/// The records of a JSON array or JSON Lines manifest, names checked on the first ones.
pub struct JsonRecords {
    source: JsonSource,
    names: Vec<String>,
    ahead: VecDeque<Result<RawRecord, ManifestError>>,
}

impl JsonRecords {
    /// Reads ahead and checks that every required name occurs in the first records.
    pub fn new(
        path: &Path,
        mut source: JsonSource,
        mapping: &Mapping,
    ) -> Result<JsonRecords, ManifestError> {
        let names = mapping.names().to_vec();
        let mut ahead = VecDeque::new();
        let mut check = NameCheck::new(mapping);
        while ahead.len() < LOOKAHEAD_RECORDS {
            let Some(item) = source.next_item() else {
                break;
            };
            let fatal = item.is_err();
            ahead.push_back(item.map(|item| {
                if let (line, Ok(value)) = &item {
                    check.see(*line, value);
                }
                raw_of(item, &names)
            }));
            if fatal {
                break;
            }
        }
        check.finish(path)?;
        Ok(JsonRecords {
            source,
            names,
            ahead,
        })
    }

    pub fn next_record(&mut self) -> Option<Result<RawRecord, ManifestError>> {
        if let Some(next) = self.ahead.pop_front() {
            return Some(next);
        }
        let item = self.source.next_item()?;
        Some(item.map(|item| raw_of(item, &self.names)))
    }
}

/// Which required names the records read ahead hold, and the keys they have.
struct NameCheck {
    /// (name, the option that asked for it, found yet).
    wanted: Vec<(String, String, bool)>,
    objects: u64,
    /// The line of the first object.
    line: u64,
    keys: Vec<String>,
    first: Option<Json>,
}

impl NameCheck {
    fn new(mapping: &Mapping) -> NameCheck {
        NameCheck {
            wanted: mapping
                .required()
                .map(|(_, name, origin)| (name.to_string(), origin.to_string(), false))
                .collect(),
            objects: 0,
            line: 1,
            keys: Vec::new(),
            first: None,
        }
    }

    fn see(&mut self, line: u64, value: &Json) {
        let Some(object) = value.as_object() else {
            return;
        };
        if self.objects == 0 {
            self.line = line;
        }
        self.objects += 1;
        for (name, _, found) in &mut self.wanted {
            *found |= lookup(value, name).is_some();
        }
        for key in object.keys() {
            if self.keys.len() < KEYS_LISTED && !self.keys.contains(key) {
                self.keys.push(key.clone());
            }
        }
        if self.first.is_none() {
            self.first = Some(value.clone());
        }
    }

    fn finish(self, path: &Path) -> Result<(), ManifestError> {
        let missing: Vec<&(String, String, bool)> =
            self.wanted.iter().filter(|(_, _, found)| !found).collect();
        if self.objects == 0 || missing.is_empty() {
            return Ok(());
        }
        let reasons: Vec<String> = missing
            .iter()
            .map(|(name, origin, _)| self.explain(name, origin))
            .collect();
        Err(ManifestError::Mapping {
            path: PathBuf::from(path),
            line: self.line,
            reason: format!(
                "{} (in the first {} records; keys found: {})",
                reasons.join("; "),
                self.objects,
                quoted(&self.keys)
            ),
        })
    }

    /// Why `name` is not found: the key, or where a dotted path stops, with near names.
    fn explain(&self, name: &str, origin: &str) -> String {
        let mut reason = format!("no key {name:?} ({origin})");
        if name == "source" && origin.starts_with("the ") {
            reason.push_str(", map the key that holds the URL with --column source=KEY");
        }
        if let Some(first) = &self.first
            && let Some((prefix, keys)) = deepest(first, name)
        {
            reason.push_str(&format!("; {prefix:?} holds the keys {}", quoted(&keys)));
        } else if let Some(near) = suggest(name, &self.keys) {
            reason.push_str(&format!("; did you mean {near:?}?"));
        }
        reason
    }
}

/// For a dotted path that stops short, the longest prefix that is an object, and its keys.
fn deepest(value: &Json, name: &str) -> Option<(String, Vec<String>)> {
    let parts: Vec<&str> = name.split('.').collect();
    (1..parts.len()).rev().find_map(|n| {
        let prefix = parts[..n].join(".");
        let keys = lookup(value, &prefix)?
            .as_object()?
            .keys()
            .take(KEYS_LISTED)
            .cloned()
            .collect();
        Some((prefix, keys))
    })
}

fn quoted(names: &[String]) -> String {
    let items: Vec<String> = names.iter().map(|n| format!("{:?}", n.trim())).collect();
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}
