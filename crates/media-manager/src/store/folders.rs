//! Folder rows: system folders, create, lookup-or-create of `filePath` chains, listing,
//! search, rename and move, and the trash (a trashed folder takes its whole subtree along).

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::paging::{self, Page, PageRequest, Table, like_pattern, root_condition};
use super::{now_ms, rfc3339};
use crate::error::{WixError, WixResult};
use wix_media_wire::types::{
    Folder, MEDIA_ROOT, RootFolder, State, TRASH_ROOT, VIRTUAL_FOLDERS, VISITOR_UPLOADS, limits,
};

#[derive(Debug, Clone)]
pub struct FolderRow {
    pub id: String,
    pub display_name: String,
    pub parent_id: String,
    pub trashed: i64,
    pub root: String,
    pub system: bool,
    pub created_ms: i64,
    pub updated_ms: i64,
}

const COLUMNS: &str = "id, display_name, parent_id, trashed, root, system, created_ms, updated_ms";

const TABLE: Table<FolderRow> = Table {
    name: "folders",
    columns: COLUMNS,
    from_row: FolderRow::from_row,
    sort_value: FolderRow::sort_value,
};

impl FolderRow {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: r.get(0)?,
            display_name: r.get(1)?,
            parent_id: r.get(2)?,
            trashed: r.get(3)?,
            root: r.get(4)?,
            system: r.get(5)?,
            created_ms: r.get(6)?,
            updated_ms: r.get(7)?,
        })
    }

    /// The REST folder of site `site_id`.
    pub fn to_wire(&self, site_id: &str) -> Folder {
        Folder {
            id: self.id.clone(),
            display_name: self.display_name.clone(),
            parent_folder_id: self.parent_id.clone(),
            created_date: Some(rfc3339(self.created_ms)),
            updated_date: Some(rfc3339(self.updated_ms)),
            // Trashed folders show parent `trash-root` and state OK, as the API's examples do.
            state: Some(State::Ok),
            site_id: Some(site_id.to_string()),
        }
    }

    pub fn sort_value(&self, key: super::SortKey) -> (Value, String) {
        let v = match key {
            super::SortKey::DisplayName => Value::Text(self.display_name.clone()),
            _ => Value::Integer(self.updated_ms),
        };
        (v, self.id.clone())
    }

    pub fn is_live(&self) -> bool {
        self.trashed == 0
    }
}

pub(super) fn ensure_system_folders(conn: &Connection) -> rusqlite::Result<()> {
    let now = now_ms();
    let mut insert = conn.prepare(
        "INSERT OR IGNORE INTO folders (id, display_name, parent_id, root, system, created_ms, updated_ms)
         VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)",
    )?;
    insert.execute(params![MEDIA_ROOT, "Site Files", "", "media", now])?;
    insert.execute(params![TRASH_ROOT, "Trash", "", "trash", now])?;
    insert.execute(params![
        VISITOR_UPLOADS,
        "Visitor Uploads",
        "",
        "visitor",
        now
    ])?;
    for (id, name) in VIRTUAL_FOLDERS {
        insert.execute(params![id, name, MEDIA_ROOT, "media", now])?;
    }
    Ok(())
}

pub fn get_folder(conn: &Connection, id: &str) -> WixResult<Option<FolderRow>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM folders WHERE id = ?1"),
            [id],
            FolderRow::from_row,
        )
        .optional()?)
}

/// A folder by id, live or trashed; FOLDER_NOT_FOUND when there is none.
pub fn require_folder(conn: &Connection, id: &str) -> WixResult<FolderRow> {
    get_folder(conn, id)?
        .ok_or_else(|| WixError::not_found("FOLDER_NOT_FOUND", format!("Folder `{id}` not found")))
}

/// A folder that can hold new content: it exists, is not in the trash and is not the trash.
pub fn live_parent(conn: &Connection, field: &str, id: &str) -> WixResult<FolderRow> {
    match get_folder(conn, id)? {
        Some(f) if f.is_live() && f.id != TRASH_ROOT => Ok(f),
        Some(_) => Err(WixError::invalid(
            field,
            format!("folder `{id}` is in the trash"),
        )),
        None => Err(WixError::not_found(
            "FOLDER_NOT_FOUND",
            format!("Folder `{id}` not found"),
        )),
    }
}

pub fn validate_folder_name(field: &str, name: &str) -> WixResult<()> {
    if name.trim().is_empty() {
        return Err(WixError::invalid(field, "must not be empty"));
    }
    crate::contract::check(|v| v.max_len(field, Some(name), limits::FOLDER_NAME_MAX_LEN))?;
    if name.contains('/') || name.chars().any(char::is_control) {
        return Err(WixError::invalid(
            field,
            "must not contain `/` or control characters",
        ));
    }
    if name == "." || name == ".." {
        return Err(WixError::invalid(field, "must not be `.` or `..`"));
    }
    Ok(())
}

/// Where a folder sits, or how far a tree reaches below one, in levels. Wix publishes no
/// limit on a tree's path (`filePath`'s 100 characters bound a request, not the tree), so
/// depth alone is limited, and with it every walk up or down a chain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reach {
    pub depth: usize,
}

/// How deep `id` is below its root (a root is at 0), counting at most one level past the
/// limit: a chain longer than that (left by an older server) counts as too deep, and no walk
/// goes further whatever the database holds.
pub fn place_of(conn: &Connection, id: &str) -> WixResult<Reach> {
    let mut reach = Reach::default();
    let mut current = id.to_string();
    let mut up = conn.prepare_cached("SELECT parent_id FROM folders WHERE id = ?1")?;
    while reach.depth <= limits::FOLDER_MAX_DEPTH {
        let parent: Option<String> = up.query_row([&current], |r| r.get(0)).optional()?;
        match parent {
            Some(parent) if !parent.is_empty() => {
                reach.depth += 1;
                current = parent;
            }
            _ => break,
        }
    }
    Ok(reach)
}

/// How far the folders below `id` reach: the most levels relative to `id` (0 for a leaf),
/// looking at most one level past the limit.
pub fn reach_below(conn: &Connection, id: &str) -> WixResult<Reach> {
    let depth: Option<i64> = conn.query_row(
        "WITH RECURSIVE sub(id, d) AS (
             SELECT id, 0 FROM folders WHERE id = ?1
             UNION ALL SELECT f.id, sub.d + 1
                 FROM folders f JOIN sub ON f.parent_id = sub.id
                 WHERE sub.d <= ?2)
         SELECT MAX(d) FROM sub",
        params![id, limits::FOLDER_MAX_DEPTH as i64],
        |r| r.get(0),
    )?;
    Ok(Reach {
        depth: usize::try_from(depth.unwrap_or(0)).unwrap_or(0),
    })
}

/// Refuses a folder under `parent` (with `below` under it) whose tree would go deeper than
/// `FOLDER_MAX_DEPTH`.
pub fn check_fits(field: &str, parent: Reach, below: Reach) -> WixResult<()> {
    let depth = parent.depth + 1 + below.depth;
    if depth > limits::FOLDER_MAX_DEPTH {
        return Err(WixError::invalid(
            field,
            format!(
                "would put a folder {depth} levels deep; folders may be at most {} levels deep",
                limits::FOLDER_MAX_DEPTH
            ),
        ));
    }
    Ok(())
}

fn insert_folder(conn: &Connection, name: &str, parent: &FolderRow) -> WixResult<FolderRow> {
    let now = now_ms();
    let row = FolderRow {
        id: uuid::Uuid::new_v4().simple().to_string(),
        display_name: name.to_string(),
        parent_id: parent.id.clone(),
        trashed: 0,
        root: parent.root.clone(),
        system: false,
        created_ms: now,
        updated_ms: now,
    };
    conn.execute(
        "INSERT INTO folders (id, display_name, parent_id, root, created_ms, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![row.id, row.display_name, row.parent_id, row.root, now],
    )?;
    Ok(row)
}

pub fn create_folder(conn: &Connection, name: &str, parent_id: &str) -> WixResult<FolderRow> {
    validate_folder_name("displayName", name)?;
    let parent = live_parent(conn, "parentFolderId", parent_id)?;
    check_fits(
        "parentFolderId",
        place_of(conn, &parent.id)?,
        Reach::default(),
    )?;
    insert_folder(conn, name, &parent)
}

/// Resolves `path` (`/a/b/c`) under `parent_id`, creating each missing folder. An existing live
/// folder of the same name is reused (the oldest, if names repeat), so concurrent imports to one
/// path end in one chain: the caller holds the single connection for the whole walk.
///
/// The path is checked whole (length, names, depth) before the first folder is looked up, so
/// the walk, and the time the connection is held, is bounded by the depth limit.
pub fn resolve_path(conn: &Connection, parent_id: &str, path: &str) -> WixResult<String> {
    crate::contract::check(|v| v.max_len("filePath", Some(path), limits::FILE_PATH_MAX_LEN))?;
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    for segment in &segments {
        validate_folder_name("filePath", segment)?;
    }
    let mut current = live_parent(conn, "parentFolderId", parent_id)?;
    // The chain as one tree below the parent: its first folder, and the rest under it.
    if let Some((_, rest)) = segments.split_first() {
        let rest = Reach { depth: rest.len() };
        check_fits("filePath", place_of(conn, &current.id)?, rest)?;
    }
    for segment in segments {
        let existing = conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM folders WHERE parent_id = ?1 AND display_name = ?2
                     AND trashed = 0 ORDER BY created_ms, id LIMIT 1"
                ),
                params![current.id, segment],
                FolderRow::from_row,
            )
            .optional()?;
        current = match existing {
            Some(f) => f,
            None => insert_folder(conn, segment, &current)?,
        };
    }
    Ok(current.id)
}

/// Direct children of `parent_id`; `deleted` lists the trash instead of live folders.
pub fn list_folders(
    conn: &Connection,
    parent_id: &str,
    deleted: bool,
    page: &PageRequest,
) -> WixResult<Page<FolderRow>> {
    let mut conditions = vec!["parent_id = ?".to_string(), "system = 0".to_string()];
    let params = vec![Value::Text(parent_id.to_string())];
    conditions.push(
        if deleted {
            "trashed != 0"
        } else {
            "trashed = 0"
        }
        .to_string(),
    );
    query_page(conn, conditions, params, page)
}

pub fn search_folders(
    conn: &Connection,
    root: RootFolder,
    search: Option<&str>,
    page: &PageRequest,
) -> WixResult<Page<FolderRow>> {
    let mut conditions = vec!["system = 0".to_string(), root_condition(root).to_string()];
    let mut params = Vec::new();
    if let Some(s) = search.filter(|s| !s.is_empty()) {
        conditions.push("display_name LIKE ? ESCAPE '\\'".to_string());
        params.push(Value::Text(like_pattern(s)));
    }
    query_page(conn, conditions, params, page)
}

/// One page of folders matching `conditions` (see [`paging::query_page`]).
pub fn query_page(
    conn: &Connection,
    conditions: Vec<String>,
    params: Vec<Value>,
    page: &PageRequest,
) -> WixResult<Page<FolderRow>> {
    paging::query_page(conn, &TABLE, conditions, params, page)
}

/// Ids of `id` and every folder below it, `id` first.
pub fn subtree(conn: &Connection, id: &str) -> WixResult<Vec<String>> {
    let mut stmt = conn.prepare(
        "WITH RECURSIVE sub(id) AS (
             SELECT id FROM folders WHERE id = ?1
             UNION ALL SELECT f.id FROM folders f JOIN sub ON f.parent_id = sub.id)
         SELECT id FROM sub",
    )?;
    let ids = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(ids)
}

/// Renames and/or moves a folder. A move may not go into the folder's own subtree or the trash.
pub fn update_folder(
    conn: &Connection,
    id: &str,
    name: Option<&str>,
    new_parent: Option<&str>,
) -> WixResult<FolderRow> {
    let folder = get_folder(conn, id)?
        .filter(|f| f.is_live())
        .ok_or_else(|| {
            WixError::not_found("FOLDER_NOT_FOUND", format!("Folder `{id}` not found"))
        })?;
    if folder.system {
        return Err(WixError::bad_request(
            "SYSTEM_FOLDER",
            "System folders can't be changed",
        ));
    }
    let now = now_ms();
    if let Some(name) = name {
        validate_folder_name("folder.displayName", name)?;
        conn.execute(
            "UPDATE folders SET display_name = ?2, updated_ms = ?3 WHERE id = ?1",
            params![id, name, now],
        )?;
    }
    if let Some(parent_id) = new_parent.filter(|p| *p != folder.parent_id) {
        let parent = live_parent(conn, "folder.parentFolderId", parent_id)?;
        let reach = reach_below(conn, id)?;
        check_fits("folder.parentFolderId", place_of(conn, &parent.id)?, reach)?;
        let below = subtree(conn, id)?;
        if below.iter().any(|f| f == parent_id) {
            return Err(WixError::invalid(
                "folder.parentFolderId",
                "a folder can't be moved into itself or its subfolders",
            ));
        }
        conn.execute(
            "UPDATE folders SET parent_id = ?2, updated_ms = ?3 WHERE id = ?1",
            params![id, parent.id, now],
        )?;
        if parent.root != folder.root {
            set_subtree_root(conn, &below, &parent.root)?;
        }
    }
    get_folder(conn, id)?.ok_or_else(|| WixError::internal("updated folder vanished"))
}

pub(super) fn set_subtree_root(
    conn: &Connection,
    folder_ids: &[String],
    root: &str,
) -> WixResult<()> {
    for fid in folder_ids {
        conn.execute(
            "UPDATE folders SET root = ?2 WHERE id = ?1",
            params![fid, root],
        )?;
        conn.execute(
            "UPDATE files SET root = ?2 WHERE parent_id = ?1",
            params![fid, root],
        )?;
    }
    Ok(())
}

pub(super) fn require_user_folder(conn: &Connection, id: &str) -> WixResult<Option<FolderRow>> {
    match get_folder(conn, id)? {
        Some(f) if f.system => Err(WixError::bad_request(
            "SYSTEM_FOLDER",
            format!("System folder `{id}` can't be deleted or restored"),
        )),
        other => Ok(other),
    }
}
