//! What the target holds, read-only: folder paths resolved to ids (each parent's subfolders
//! listed once; the oldest folder wins where names repeat, as in the settle stage), then every
//! file of those folders, indexed by folder and name so each manifest row can claim at most
//! one file. Files no row claims are the extras.

use std::collections::HashMap;

use crate::api::client::{CallError, MediaClient};
use crate::api::types::{FileDescriptor, MEDIA_ROOT, OperationStatus, State};
use crate::pipeline::settle::list_all_files;

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

    /// Every subfolder of `parent`, all pages: name → id of the oldest of that name.
    async fn list_children(&self, parent: &str) -> Result<HashMap<String, String>, CallError> {
        let mut oldest: HashMap<String, (String, String)> = HashMap::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.client.list_folders(parent, cursor.as_deref()).await?;
            for f in page.folders {
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

/// A file of the target and the manifest folder it was listed under.
pub struct TargetFile {
    pub folder_path: String,
    pub file: FileDescriptor,
}

/// The files of the listed folders, each claimable once.
#[derive(Default)]
pub struct TargetIndex {
    files: Vec<TargetFile>,
    claimed: Vec<bool>,
    by_name: HashMap<(String, String), Vec<usize>>,
}

impl TargetIndex {
    /// Lists every file of the folder `id` (manifest path `path`) into the index.
    pub async fn add_folder(
        &mut self,
        client: &MediaClient,
        path: &str,
        id: &str,
    ) -> Result<(), CallError> {
        for file in list_all_files(client, id).await? {
            if file.state == Some(State::Deleted) {
                continue;
            }
            let name = file.display_name.clone().unwrap_or_default();
            self.by_name
                .entry((path.to_string(), name))
                .or_default()
                .push(self.files.len());
            self.files.push(TargetFile {
                folder_path: path.to_string(),
                file,
            });
            self.claimed.push(false);
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Claims the best unclaimed file named `name` in `folder` that `fits`: READY before
    /// PENDING before FAILED, then the order of listing.
    pub fn claim(
        &mut self,
        folder: &str,
        name: &str,
        fits: impl Fn(&FileDescriptor) -> bool,
    ) -> Option<&FileDescriptor> {
        let candidates = self.by_name.get(&(folder.to_string(), name.to_string()))?;
        let best = candidates
            .iter()
            .copied()
            .filter(|&i| !self.claimed[i] && fits(&self.files[i].file))
            .min_by_key(|&i| readiness_rank(&self.files[i].file))?;
        self.claimed[best] = true;
        Some(&self.files[best].file)
    }

    /// The files no row claimed, in listing order.
    pub fn unclaimed(&self) -> impl Iterator<Item = &TargetFile> {
        self.files
            .iter()
            .zip(&self.claimed)
            .filter(|(_, claimed)| !**claimed)
            .map(|(f, _)| f)
    }
}

fn readiness_rank(file: &FileDescriptor) -> u8 {
    match file.operation_status {
        Some(OperationStatus::Ready) => 0,
        Some(OperationStatus::Pending) | None => 1,
        Some(OperationStatus::Failed) => 2,
    }
}
