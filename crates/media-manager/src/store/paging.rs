//! Keyset cursor paging shared by every listing: a cursor names the sort and the last row seen,
//! so pages stay consistent while files are added (offsets would skip or repeat rows).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rusqlite::types::Value;
use rusqlite::{Connection, Row};
use serde::{Deserialize, Serialize};

use crate::contract;
use crate::error::{WixError, WixResult};
use wix_media_wire::types::{
    CursorPaging, PagingMetadata, RootFolder, SortOrder, Sorting, limits, rules,
};

/// Default page size when the caller gives none.
pub const DEFAULT_LIMIT: u32 = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortKey {
    DisplayName,
    Updated,
    Size,
}

impl SortKey {
    /// The SQL expression the key sorts by; NULL sizes (still processing) sort as -1.
    fn column(self) -> &'static str {
        match self {
            Self::DisplayName => "display_name",
            Self::Updated => "updated_ms",
            Self::Size => "COALESCE(size, -1)",
        }
    }

    /// The key a REST field name sorts by, if it is one.
    fn named(name: &str) -> Option<SortKey> {
        match name {
            "displayName" => Some(Self::DisplayName),
            "updatedDate" => Some(Self::Updated),
            "sizeInBytes" => Some(Self::Size),
            _ => None,
        }
    }

    /// Where the contract documents no `UNSUPPORTED_SORT_VALUE` (folders, queries), a name
    /// that isn't one of `allowed` (the docs' own example sends `updateDate`) falls back to
    /// the default.
    fn from_field(name: &str, allowed: &[SortKey]) -> SortKey {
        Self::named(name)
            .filter(|k| allowed.contains(k))
            .unwrap_or(Self::Updated)
    }
}

/// The file listings and search document `UNSUPPORTED_SORT_VALUE`: a `fieldName` that names
/// none of `allowed` is refused there (an empty one asks for the default order).
pub fn supported_sort(sort: Option<&Sorting>, allowed: &[SortKey]) -> WixResult<()> {
    let Some(name) = sort
        .map(|s| s.field_name.as_str())
        .filter(|n| !n.is_empty())
    else {
        return Ok(());
    };
    if SortKey::named(name).is_some_and(|k| allowed.contains(&k)) {
        return Ok(());
    }
    Err(WixError::rule(
        "sort.fieldName",
        rules::UNSUPPORTED_SORT_VALUE,
        format!("files can't be sorted by `{name}`: use displayName, updatedDate or sizeInBytes"),
        None,
    ))
}

/// What a request calls its sort and paging: `sort` and `paging` in listings and searches,
/// `query.sort[0]` and `query.cursorPaging` in queries. Refusals name the field so.
#[derive(Debug, Clone, Copy)]
pub struct PagingFields {
    pub sort: &'static str,
    pub paging: &'static str,
}

impl PagingFields {
    pub const LISTING: Self = Self {
        sort: "sort",
        paging: "paging",
    };
    pub const QUERY: Self = Self {
        sort: "query.sort[0]",
        paging: "query.cursorPaging",
    };
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cursor {
    key: SortKey,
    desc: bool,
    value: serde_json::Value,
    id: String,
}

#[derive(Debug, Clone)]
pub struct PageRequest {
    pub key: SortKey,
    pub desc: bool,
    pub limit: u32,
    after: Option<(Value, String)>,
}

impl PageRequest {
    /// Validates the wire sort and paging, named as `fields`; a cursor's own sort wins over
    /// the request's.
    pub fn from_wire(
        sort: Option<&Sorting>,
        paging: Option<&CursorPaging>,
        allowed: &[SortKey],
        fields: PagingFields,
    ) -> WixResult<Self> {
        let cursor_field = format!("{}.cursor", fields.paging);
        let raw_cursor = paging
            .and_then(|p| p.cursor.as_deref())
            .filter(|c| !c.is_empty());
        contract::check(|v| {
            v.max_len(
                &format!("{}.fieldName", fields.sort),
                sort.map(|s| s.field_name.as_str()),
                limits::SORT_FIELD_MAX_LEN,
            );
            v.max_len(&cursor_field, raw_cursor, limits::CURSOR_MAX_LEN);
        })?;
        let (mut key, mut desc) = match sort {
            Some(s) => (
                SortKey::from_field(&s.field_name, allowed),
                s.order == SortOrder::Desc,
            ),
            None => (SortKey::Updated, true),
        };
        let limit = match paging.and_then(|p| p.limit) {
            Some(l) if l > limits::PAGING_MAX_LIMIT => {
                return Err(WixError::invalid(
                    &format!("{}.limit", fields.paging),
                    "must be between 0 and 100",
                ));
            }
            Some(0) | None => DEFAULT_LIMIT,
            Some(l) => l,
        };
        let mut after = None;
        if let Some(raw) = raw_cursor {
            let cursor = decode_cursor(&cursor_field, raw)?;
            key = cursor.key;
            desc = cursor.desc;
            let value = match cursor.value {
                serde_json::Value::String(s) => Value::Text(s),
                serde_json::Value::Number(n) => Value::Integer(n.as_i64().unwrap_or_default()),
                _ => return Err(WixError::invalid(&cursor_field, "is not a valid cursor")),
            };
            after = Some((value, cursor.id));
        }
        Ok(Self {
            key,
            desc,
            limit,
            after,
        })
    }

    /// Appends the keyset condition to `conditions`/`params` and returns `ORDER BY … LIMIT …`,
    /// asking for one row more than the page so the caller knows whether another page follows.
    pub fn apply(&self, conditions: &mut Vec<String>, params: &mut Vec<Value>) -> String {
        let col = self.key.column();
        let dir = if self.desc { "DESC" } else { "ASC" };
        if let Some((value, id)) = &self.after {
            let op = if self.desc { "<" } else { ">" };
            conditions.push(format!("({col}, id) {op} (?, ?)"));
            params.push(value.clone());
            params.push(Value::Text(id.clone()));
        }
        format!("ORDER BY {col} {dir}, id {dir} LIMIT {}", self.limit + 1)
    }

    /// Cuts the extra row off and makes the cursor of the next page from the last row kept.
    pub fn finish<T>(
        &self,
        mut rows: Vec<T>,
        sort_value: impl Fn(&T) -> (Value, String),
    ) -> Page<T> {
        let has_next = rows.len() > self.limit as usize;
        rows.truncate(self.limit as usize);
        let next = if has_next {
            rows.last().map(|last| {
                let (value, id) = sort_value(last);
                encode_cursor(&Cursor {
                    key: self.key,
                    desc: self.desc,
                    value: match value {
                        Value::Integer(i) => serde_json::Value::from(i),
                        Value::Text(s) => serde_json::Value::from(s),
                        _ => serde_json::Value::Null,
                    },
                    id,
                })
            })
        } else {
            None
        };
        Page { items: rows, next }
    }
}

/// One page of rows and the cursor of the next page, if any.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl<T> Page<T> {
    pub fn metadata(&self) -> PagingMetadata {
        PagingMetadata {
            cursors: wix_media_wire::types::Cursors {
                next: Some(self.next.clone().unwrap_or_default()),
            },
        }
    }
}

/// What paging needs to know of a table: its name, the columns a row is read from, and how a
/// row names its place in a sort.
pub struct Table<T> {
    pub name: &'static str,
    pub columns: &'static str,
    pub from_row: fn(&Row<'_>) -> rusqlite::Result<T>,
    pub sort_value: fn(&T, SortKey) -> (Value, String),
}

/// One page of `table`'s rows matching all `conditions`, in the page's order: the keyset
/// condition added, the extra look-ahead row cut off and the next cursor made.
pub fn query_page<T>(
    conn: &Connection,
    table: &Table<T>,
    mut conditions: Vec<String>,
    mut params: Vec<Value>,
    page: &PageRequest,
) -> WixResult<Page<T>> {
    let tail = page.apply(&mut conditions, &mut params);
    let sql = format!(
        "SELECT {} FROM {} WHERE {} {tail}",
        table.columns,
        table.name,
        conditions.join(" AND ")
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(params), table.from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page.finish(rows, |row| (table.sort_value)(row, page.key)))
}

fn encode_cursor(c: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(c).expect("a cursor always serialises"))
}

fn decode_cursor(field: &str, raw: &str) -> WixResult<Cursor> {
    URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| WixError::invalid(field, "is not a valid cursor"))
}

/// The SQL condition selecting rows under a search root (files and folders).
pub fn root_condition(root: RootFolder) -> &'static str {
    match root {
        RootFolder::MediaRoot => "(trashed = 0 AND root = 'media')",
        RootFolder::TrashRoot => "trashed != 0",
        RootFolder::VisitorUploadsRoot => "(trashed = 0 AND root = 'visitor')",
    }
}

/// `%text%` with LIKE's wildcards escaped, so a search for `50%` means the characters.
pub fn like_pattern(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}
