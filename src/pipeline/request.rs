//! What the stages send for a row: its Bulk Import item, or its upload-URL request — the
//! folder by id when known, else by `filePath` (the target creates the chain; a path longer
//! than `filePath` takes goes as a known folder and the rest, see `folder_steps`), and the labels,
//! privacy and external id every request carries alike.

use std::collections::HashMap;
use std::path::Path;

use crate::api::folder_path::folder_target;
use crate::journal::JournalRow;
use crate::sources::SourceHeaders;
use crate::sources::served::ServedSources;
use wix_media_wire::types::{
    ExternalInfo, GenerateFileUploadUrlRequest, ImportFileRequest, MediaType,
};

/// The `origin` of every file's external info: the files this tool made.
const ORIGIN: &str = "media-migrate";

/// The Bulk Import item of a URL row, with the headers its source host needs; of a local file,
/// its signed URL on `served` (which then serves it), or the presigned URL of its staged object
/// in `staged` (by row key, signed as the batch is sent).
pub(crate) fn import_item(
    row: &JournalRow,
    known: &HashMap<String, String>,
    headers: &SourceHeaders,
    served: Option<&ServedSources>,
    staged: &HashMap<String, String>,
) -> ImportFileRequest {
    let (parent, file_path) = folder_target(&row.folder_path, known);
    let staged_url = row.is_file.then(|| staged.get(&row.key).cloned()).flatten();
    let (url, url_headers) = match (served, staged_url) {
        (_, Some(url)) => (url, None),
        (Some(served), None) if row.is_file => {
            (served.url_for(&row.key, Path::new(&row.source)), None)
        }
        _ => (row.source.clone(), headers.for_url(&row.source)),
    };
    ImportFileRequest {
        url,
        media_type: row.media_type.as_deref().and_then(MediaType::parse),
        display_name: Some(row.display_name.clone()),
        parent_folder_id: Some(parent),
        file_path,
        private: Some(row.private),
        labels: labels(row),
        mime_type: row.mime_type.clone(),
        external_info: Some(external_info(row)),
        url_params: None,
        url_headers,
    }
}

/// The upload-URL request of a local file of `size` bytes and type `mime_type`.
pub(crate) fn upload_request(
    row: &JournalRow,
    known: &HashMap<String, String>,
    mime_type: &str,
    size: u64,
) -> GenerateFileUploadUrlRequest {
    let (parent, file_path) = folder_target(&row.folder_path, known);
    GenerateFileUploadUrlRequest {
        mime_type: mime_type.to_string(),
        file_name: Some(row.display_name.clone()),
        size_in_bytes: Some(size),
        parent_folder_id: Some(parent),
        file_path,
        private: Some(row.private),
        labels: labels(row),
        external_info: Some(external_info(row)),
    }
}

fn labels(row: &JournalRow) -> Option<Vec<String>> {
    (!row.labels.is_empty()).then(|| row.labels.clone())
}

/// The row's external id (its key when the manifest gave none), under this tool's origin.
fn external_info(row: &JournalRow) -> ExternalInfo {
    ExternalInfo {
        origin: ORIGIN.to_string(),
        external_ids: vec![row.external_id.clone().unwrap_or_else(|| row.key.clone())],
    }
}
