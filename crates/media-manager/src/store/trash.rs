//! The trash: files and folders moved there (a folder with everything below it), restored to
//! where they came from (or to `media-root` when that is gone), and purged for good.

use rusqlite::{Connection, params};

use super::files::{get_file, require_file};
use super::folders::{
    FolderRow, check_fits, get_folder, place_of, reach_below, require_user_folder,
    set_subtree_root, subtree,
};
use super::now_ms;
use crate::error::{WixError, WixResult};
use wix_media_wire::types::{MEDIA_ROOT, TRASH_ROOT};

/// Soft delete: to the trash, remembering the parent. Trashed or unknown ids are no error.
pub fn trash_files(conn: &Connection, ids: &[String]) -> WixResult<()> {
    let now = now_ms();
    for id in ids {
        conn.execute(
            "UPDATE files SET original_parent_id = parent_id, parent_id = ?2, trashed = 1,
             updated_ms = ?3 WHERE id = ?1 AND trashed = 0",
            params![id, TRASH_ROOT, now],
        )?;
    }
    Ok(())
}

/// Back from the trash to the original folder, or `media-root` when that folder is not live.
pub fn restore_files(conn: &Connection, ids: &[String]) -> WixResult<()> {
    let now = now_ms();
    for id in ids {
        let file = require_file(conn, id)?;
        if file.trashed != 1 {
            continue;
        }
        let parent = restore_parent(conn, "files", id)?;
        conn.execute(
            "UPDATE files SET parent_id = ?2, root = ?3, original_parent_id = NULL, trashed = 0,
             updated_ms = ?4 WHERE id = ?1",
            params![id, parent.id, parent.root, now],
        )?;
    }
    Ok(())
}

/// Removes files for good; returns their blobs that no remaining file references.
pub fn purge_files(conn: &Connection, ids: &[String]) -> WixResult<Vec<String>> {
    let mut candidates = Vec::new();
    for id in ids {
        if let Some(f) = get_file(conn, id)? {
            candidates.extend(f.blob);
            candidates.extend(f.thumb_blob);
            conn.execute("DELETE FROM files WHERE id = ?1", [id])?;
        }
    }
    let mut orphans = Vec::new();
    for blob in candidates {
        let used: i64 = conn.query_row(
            "SELECT COUNT(*) FROM files WHERE blob = ?1 OR thumb_blob = ?1",
            [&blob],
            |r| r.get(0),
        )?;
        if used == 0 && !orphans.contains(&blob) {
            orphans.push(blob);
        }
    }
    Ok(orphans)
}

/// Moves folders to the trash with everything below them. Already-trashed or unknown ids are
/// not an error, as in Wix.
pub fn trash_folders(conn: &Connection, ids: &[String]) -> WixResult<()> {
    let now = now_ms();
    for id in ids {
        let Some(folder) = require_user_folder(conn, id)? else {
            continue;
        };
        if !folder.is_live() {
            continue;
        }
        conn.execute(
            "UPDATE folders SET original_parent_id = parent_id, parent_id = ?2, trashed = 1,
             updated_ms = ?3 WHERE id = ?1",
            params![id, TRASH_ROOT, now],
        )?;
        for fid in subtree(conn, id)?.iter().skip(1) {
            conn.execute(
                "UPDATE folders SET trashed = 2 WHERE id = ?1 AND trashed = 0",
                [fid],
            )?;
        }
        for fid in subtree(conn, id)? {
            conn.execute(
                "UPDATE files SET trashed = 2 WHERE parent_id = ?1 AND trashed = 0",
                [fid],
            )?;
        }
    }
    Ok(())
}

/// Restores trashed folders (and what was trashed along with them) to their original parent,
/// or to `media-root` when that parent is gone or itself in the trash.
pub fn restore_folders(conn: &Connection, ids: &[String]) -> WixResult<()> {
    let now = now_ms();
    for id in ids {
        let Some(folder) = require_user_folder(conn, id)? else {
            return Err(WixError::not_found(
                "FOLDER_NOT_FOUND",
                format!("Folder `{id}` not found"),
            ));
        };
        if folder.trashed != 1 {
            continue;
        }
        let parent = restore_parent(conn, "folders", id)?;
        check_fits(
            "folderIds",
            place_of(conn, &parent.id)?,
            reach_below(conn, id)?,
        )?;
        conn.execute(
            "UPDATE folders SET parent_id = ?2, original_parent_id = NULL, trashed = 0, root = ?3,
             updated_ms = ?4 WHERE id = ?1",
            params![id, parent.id, parent.root, now],
        )?;
        let below = subtree(conn, id)?;
        for fid in &below {
            conn.execute(
                "UPDATE folders SET trashed = 0 WHERE id = ?1 AND trashed = 2",
                [fid],
            )?;
            conn.execute(
                "UPDATE files SET trashed = 0 WHERE parent_id = ?1 AND trashed = 2",
                [fid],
            )?;
        }
        set_subtree_root(conn, &below, &parent.root)?;
    }
    Ok(())
}

/// Where a trashed row of `table` (`files` or `folders`) goes back to: the folder it was trashed
/// from while that is live, else `media-root`.
fn restore_parent(conn: &Connection, table: &'static str, id: &str) -> WixResult<FolderRow> {
    let original: Option<String> = conn.query_row(
        &format!("SELECT original_parent_id FROM {table} WHERE id = ?1"),
        [id],
        |r| r.get(0),
    )?;
    let parent = match original
        .as_deref()
        .map(|p| get_folder(conn, p))
        .transpose()?
        .flatten()
    {
        Some(p) if p.is_live() && p.id != TRASH_ROOT => p,
        _ => get_folder(conn, MEDIA_ROOT)?.expect("media-root always exists"),
    };
    Ok(parent)
}

/// Removes folders and their subtrees for good; returns the blobs of the files removed, for the
/// caller to delete once nothing else references them.
pub fn purge_folders(conn: &Connection, ids: &[String]) -> WixResult<Vec<String>> {
    let mut blobs = Vec::new();
    for id in ids {
        if require_user_folder(conn, id)?.is_none() {
            continue;
        }
        for fid in subtree(conn, id)? {
            let mut stmt = conn.prepare("SELECT id FROM files WHERE parent_id = ?1")?;
            let files = stmt
                .query_map([&fid], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            blobs.extend(purge_files(conn, &files)?);
            conn.execute("DELETE FROM folders WHERE id = ?1", [&fid])?;
        }
    }
    Ok(blobs)
}
