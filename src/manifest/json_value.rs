//! One parsed JSON record → [`Record`]: keys matched to fields like CSV headers, and JSON
//! types checked per field. Strings are accepted everywhere; besides them `labels` may be an
//! array of strings, `private` a bool, `expected_size` and `external_id` a number. Any other
//! type is a defect naming the field.

use serde_json::Value as Json;

use super::columns::{ColumnMap, Field, normalize};
use super::row::{Defect, Record, Value};

/// The record for one JSON value found on `line`.
pub fn record_of_json(value: Json, line: u64, columns: &ColumnMap) -> Record {
    let Json::Object(object) = value else {
        let reason = format!("a record must be a JSON object, found {}", kind(&value));
        return Record::defective(line, Defect::record(reason));
    };
    let mut record = Record::new(line);
    for (key, value) in object {
        let key = normalize(&key);
        for field in Field::all().filter(|f| columns.name_of(*f) == key) {
            if record.get(field).is_some() || value.is_null() {
                continue;
            }
            let converted = convert(field, &value).unwrap_or_else(|expected| {
                let reason = format!("expected {expected}, found {}", kind(&value));
                record
                    .defect
                    .get_or_insert_with(|| Defect::field(field, reason));
                Value::Text(value.to_string())
            });
            record.set(field, converted);
        }
    }
    record
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
            .ok_or("an array of strings or a |-separated string"),
        (Field::LABELS, _) => Err("an array of strings or a |-separated string"),
        (Field::PRIVATE, _) => Err("true or false"),
        (Field::EXPECTED_SIZE, _) => Err("a number of bytes"),
        (Field::EXTERNAL_ID, _) => Err("a string or a number"),
        _ => Err("a string"),
    }
}

fn kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}
