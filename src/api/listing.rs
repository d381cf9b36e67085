//! Reading the target's folder tree the way every reader of it must: all pages of a listing
//! (a cursor that doesn't move ends it), and folder paths resolved to ids with the oldest
//! folder winning where names repeat. Shared by the settle stage and `reconcile`.

use std::collections::HashMap;

use super::client::{CallError, MediaClient};
use wix_media_wire::types::{FileDescriptor, MEDIA_ROOT};

/// Resolves folder paths to ids, remembering every listing it made.
pub struct FolderResolver<'a> {
    client: &'a MediaClient,
    /// Parent id → (subfolder name → id).
    children: HashMap<String, HashMap<String, String>>,
}

impl<'a> FolderResolver<'a> {
    pub fn new(client: &'a MediaClient) -> Self {
        Self {
            client,
            children: HashMap::new(),
        }
    }

    /// The id of the folder at `path` (`""` is the root), or `None` when it doesn't exist.
    pub async fn resolve(&mut self, path: &str) -> Result<Option<String>, CallError> {
        let mut parent = MEDIA_ROOT.to_string();
        for segment in path.split('/').filter(|s| !s.is_empty()) {
            if !self.children.contains_key(&parent) {
                let listing = self.list_children(&parent).await?;
                self.children.insert(parent.clone(), listing);
            }
            match self.children.get(&parent).and_then(|c| c.get(segment)) {
                Some(id) => parent = id.clone(),
                None => return Ok(None),
            }
        }
        Ok(Some(parent))
    }

    /// The id of `parent`'s subfolder named `name` (the oldest, where names repeat), listing
    /// `parent` once.
    pub async fn child(&mut self, parent: &str, name: &str) -> Result<Option<String>, CallError> {
        if !self.children.contains_key(parent) {
            let listing = self.list_children(parent).await?;
            self.children.insert(parent.to_string(), listing);
        }
        Ok(self.children.get(parent).and_then(|c| c.get(name)).cloned())
    }

    /// Makes the subfolder `name` of `parent` (Create Folder, sent once); returns its id.
    pub async fn create(&mut self, parent: &str, name: &str) -> Result<String, CallError> {
        let folder = self.client.create_folder(name, parent).await?;
        if folder.id.is_empty() {
            return Err(CallError::Decode {
                endpoint: "createFolder",
                message: "the answer names no folder id".to_string(),
            });
        }
        self.children
            .entry(parent.to_string())
            .or_default()
            .entry(name.to_string())
            .or_insert_with(|| folder.id.clone());
        Ok(folder.id)
    }

    /// Drops what is remembered of `parent`'s subfolders: the next look lists them again.
    pub fn forget(&mut self, parent: &str) {
        self.children.remove(parent);
    }

    /// Every subfolder of `parent`, all pages: name → id of the oldest of that name.
    async fn list_children(&self, parent: &str) -> Result<HashMap<String, String>, CallError> {
        let mut oldest: HashMap<String, (String, String)> = HashMap::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.client.list_folders(parent, cursor.as_deref()).await?;
            for f in page.folders.into_iter().filter(|f| !f.id.is_empty()) {
                let created = f.created_date.unwrap_or_default();
                let slot = oldest
                    .entry(f.display_name)
                    .or_insert_with(|| (created.clone(), f.id.clone()));
                if created < slot.0 {
                    *slot = (created, f.id);
                }
            }
            match page.next_cursor.next_cursor() {
                // A cursor that doesn't move would loop forever: treat it as the end.
                Some(next) if cursor.as_deref() != Some(next) => cursor = Some(next.to_string()),
                _ => break,
            }
        }
        Ok(oldest
            .into_iter()
            .map(|(name, (_, id))| (name, id))
            .collect())
    }
}

/// Every file directly in a folder, all pages.
pub async fn list_all_files(
    client: &MediaClient,
    folder: &str,
) -> Result<Vec<FileDescriptor>, CallError> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = client.list_files(folder, cursor.as_deref()).await?;
        out.extend(page.files);
        match page.next_cursor.next_cursor() {
            // A cursor that doesn't move would loop forever: treat it as the end.
            Some(next) if cursor.as_deref() != Some(next) => cursor = Some(next.to_string()),
            _ => return Ok(out),
        }
    }
}
