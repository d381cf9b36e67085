//! What the target holds, read-only: every file of the manifest's folders (resolved by
//! [`crate::api::listing::FolderResolver`]), indexed by folder and name so each manifest row
//! can claim at most one file. Files no row claims are the extras.

use std::collections::HashMap;

use crate::api::client::{CallError, MediaClient};
use crate::api::listing::list_all_files;
use wix_media_wire::types::{FileDescriptor, OperationStatus, State};

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
