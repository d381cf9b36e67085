//! A small subset of the Wix Query Language for the query endpoints: field equality,
//! `$eq`, `$ne`, `$in`, `$startsWith`, and `$and`, over a fixed list of fields per entity.
//! Anything else is refused with a 400 naming the field, never silently ignored.

use rusqlite::types::Value;
use serde_json::Value as Json;

use super::contract;
use super::error::{WixError, WixResult};
use super::store::paging::like_pattern;
use super::store::{PageRequest, PagingFields, SortKey};
use wix_media_wire::types::{Query, limits};

/// A queryable field: its wire name, its column, and how to read a filter value.
pub struct Field {
    pub name: &'static str,
    pub column: &'static str,
    pub kind: Kind,
}

#[derive(Clone, Copy)]
pub enum Kind {
    Text,
    Bool,
    /// `state`: `OK` or `DELETED`, mapped to the trash flag.
    State,
}

pub const FILE_FIELDS: [Field; 8] = [
    Field {
        name: "id",
        column: "id",
        kind: Kind::Text,
    },
    Field {
        name: "displayName",
        column: "display_name",
        kind: Kind::Text,
    },
    Field {
        name: "parentFolderId",
        column: "parent_id",
        kind: Kind::Text,
    },
    Field {
        name: "mediaType",
        column: "media_type",
        kind: Kind::Text,
    },
    Field {
        name: "operationStatus",
        column: "status",
        kind: Kind::Text,
    },
    Field {
        name: "private",
        column: "private",
        kind: Kind::Bool,
    },
    Field {
        name: "sourceUrl",
        column: "source_url",
        kind: Kind::Text,
    },
    Field {
        name: "state",
        column: "trashed",
        kind: Kind::State,
    },
];

pub const FOLDER_FIELDS: [Field; 4] = [
    Field {
        name: "id",
        column: "id",
        kind: Kind::Text,
    },
    Field {
        name: "displayName",
        column: "display_name",
        kind: Kind::Text,
    },
    Field {
        name: "parentFolderId",
        column: "parent_id",
        kind: Kind::Text,
    },
    Field {
        name: "state",
        column: "trashed",
        kind: Kind::State,
    },
];

/// Turns a query request into what the store pages over: the WHERE conditions (after `base`),
/// their parameters, and the page (first sort, cursor paging). Rows are live only unless the
/// filter chose between live and trashed itself.
pub fn plan_query(
    query: &Query,
    fields: &[Field],
    base: &[&str],
    sorts: &[SortKey],
) -> WixResult<(Vec<String>, Vec<Value>, PageRequest)> {
    let mut conditions: Vec<String> = base.iter().map(|c| c.to_string()).collect();
    let mut params = Vec::new();
    let mut state_filtered = false;
    if let Some(filter) = &query.filter {
        translate(
            filter,
            fields,
            &mut conditions,
            &mut params,
            &mut state_filtered,
        )?;
    }
    if !state_filtered {
        conditions.push("trashed = 0".to_string());
    }
    let sorts_asked = query.sort.as_deref().unwrap_or_default();
    contract::check(|v| {
        v.max_items(
            "query.sort",
            sorts_asked.len(),
            limits::QUERY_SORT_MAX_ITEMS,
        )
    })?;
    let page = PageRequest::from_wire(
        sorts_asked.first(),
        query.cursor_paging.as_ref(),
        sorts,
        PagingFields::QUERY,
    )?;
    Ok((conditions, params, page))
}

/// Adds the SQL conditions of `filter`; `state_filtered` tells whether the filter chose
/// between live and trashed rows itself.
pub fn translate(
    filter: &Json,
    fields: &[Field],
    conditions: &mut Vec<String>,
    params: &mut Vec<Value>,
    state_filtered: &mut bool,
) -> WixResult<()> {
    let Json::Object(map) = filter else {
        return Err(WixError::invalid("query.filter", "must be an object"));
    };
    for (key, value) in map {
        if key == "$and" {
            let Json::Array(parts) = value else {
                return Err(WixError::invalid("query.filter.$and", "must be an array"));
            };
            for part in parts {
                translate(part, fields, conditions, params, state_filtered)?;
            }
            continue;
        }
        let field = fields.iter().find(|f| f.name == key).ok_or_else(|| {
            WixError::invalid(&format!("query.filter.{key}"), "can't be filtered on")
        })?;
        if matches!(field.kind, Kind::State) {
            *state_filtered = true;
        }
        match value {
            Json::Object(ops) => {
                for (op, operand) in ops {
                    condition(field, op, operand, conditions, params)?;
                }
            }
            scalar => condition(field, "$eq", scalar, conditions, params)?,
        }
    }
    Ok(())
}

fn condition(
    field: &Field,
    op: &str,
    operand: &Json,
    conditions: &mut Vec<String>,
    params: &mut Vec<Value>,
) -> WixResult<()> {
    let where_ = format!("query.filter.{}", field.name);
    let col = field.column;
    match (field.kind, op) {
        (Kind::State, "$eq" | "$ne") => {
            let deleted = match operand.as_str() {
                Some("OK") => false,
                Some("DELETED") => true,
                _ => return Err(WixError::invalid(&where_, "must be OK or DELETED")),
            };
            let want_deleted = deleted == (op == "$eq");
            conditions.push(
                if want_deleted {
                    "trashed != 0"
                } else {
                    "trashed = 0"
                }
                .to_string(),
            );
        }
        (_, "$eq" | "$ne") => {
            let sql_op = if op == "$eq" { "=" } else { "!=" };
            conditions.push(format!("{col} {sql_op} ?"));
            params.push(scalar(field, operand, &where_)?);
        }
        (Kind::Text | Kind::Bool, "$in") => {
            let Json::Array(items) = operand else {
                return Err(WixError::invalid(&where_, "$in takes an array"));
            };
            if items.is_empty() {
                conditions.push("0".to_string());
                return Ok(());
            }
            conditions.push(format!("{col} IN ({})", vec!["?"; items.len()].join(", ")));
            for item in items {
                params.push(scalar(field, item, &where_)?);
            }
        }
        (Kind::Text, "$startsWith") => {
            let s = operand
                .as_str()
                .ok_or_else(|| WixError::invalid(&where_, "$startsWith takes a string"))?;
            conditions.push(format!("{col} LIKE ? ESCAPE '\\'"));
            let pattern = like_pattern(s);
            params.push(Value::Text(pattern[1..].to_string()));
        }
        _ => {
            return Err(WixError::invalid(
                &where_,
                format!("operator `{op}` is not supported"),
            ));
        }
    }
    Ok(())
}

fn scalar(field: &Field, v: &Json, where_: &str) -> WixResult<Value> {
    match (field.kind, v) {
        (Kind::Text, Json::String(s)) => Ok(Value::Text(s.clone())),
        (Kind::Bool, Json::Bool(b)) => Ok(Value::Integer(*b as i64)),
        _ => Err(WixError::invalid(where_, "has a value of the wrong type")),
    }
}
