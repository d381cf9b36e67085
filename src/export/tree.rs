//! The site's folders as paths: every folder under the root read with Search Folders (100 a
//! call), each id mapped to its `/a/b` path, and which of them lie at or below `--folder`.
//! Memory grows with the folders, never with the files.

use std::collections::HashMap;

use crate::api::client::{CallError, MediaClient};
use wix_media_wire::types::{MEDIA_ROOT, State};

/// Folder id → path (`""` is the root), for the folders an export covers.
pub struct FolderTree {
    paths: HashMap<String, String>,
}

impl FolderTree {
    /// Reads every folder of the site; keeps those at or below `scope` (`""` for all).
    /// Returns `None` when `scope` names no folder.
    pub async fn read(client: &MediaClient, scope: &str) -> Result<Option<Self>, CallError> {
        let mut parents: HashMap<String, (String, String)> = HashMap::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = client.search_folders(cursor.as_deref()).await?;
            for f in page.folders {
                if f.state != Some(State::Deleted) {
                    parents.insert(f.id, (f.display_name, f.parent_folder_id));
                }
            }
            match page.next_cursor.next_cursor() {
                Some(next) if cursor.as_deref() != Some(next) => cursor = Some(next.to_string()),
                _ => break,
            }
        }
        let mut paths = HashMap::with_capacity(parents.len() + 1);
        paths.insert(MEDIA_ROOT.to_string(), String::new());
        for id in parents.keys() {
            if let Some(path) = path_of(&parents, id) {
                paths.insert(id.clone(), path);
            }
        }
        let scope = normalize(scope);
        if scope.is_empty() {
            return Ok(Some(Self { paths }));
        }
        if !paths.values().any(|p| *p == scope) {
            return Ok(None);
        }
        let below = format!("{scope}/");
        paths.retain(|_, p| *p == scope || p.starts_with(&below));
        Ok(Some(Self { paths }))
    }

    /// The path of folder `id`, when the export covers it.
    pub fn path(&self, id: &str) -> Option<&str> {
        self.paths.get(id).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.paths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }
}

/// `/a/b` for folder `id`, walking up to the root; `None` for a folder whose chain is broken
/// or loops (it isn't under the root).
fn path_of(parents: &HashMap<String, (String, String)>, id: &str) -> Option<String> {
    let mut names = Vec::new();
    let mut at = id;
    while at != MEDIA_ROOT {
        let (name, parent) = parents.get(at)?;
        names.push(name.as_str());
        if names.len() > parents.len() {
            return None;
        }
        at = parent;
    }
    names.reverse();
    Some(names.iter().map(|n| format!("/{n}")).collect())
}

/// `a/b/` → `/a/b`; `/` and `` → ``.
pub fn normalize(path: &str) -> String {
    path.split('/')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| format!("/{s}"))
        .collect()
}
