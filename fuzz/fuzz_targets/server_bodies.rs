//! The local Media Manager's request bodies on arbitrary bytes: each body type is decoded
//! with `serde_json::from_slice` as the server's JSON extractor does, then its fields go
//! through the server's public validation helpers, query translation and cursor paging.
//! None may panic; errors are the expected answer to junk.
#![no_main]

use serde::de::DeserializeOwned;
use wix_media_manager::downloads::names::safe_component;
use wix_media_manager::downloads::range::ByteRange;
use wix_media_manager::files::{resolve_file_id, validate_display_name, validate_labels};
use wix_media_manager::query::{FILE_FIELDS, FOLDER_FIELDS, plan_query};
use wix_media_manager::store::folders::validate_folder_name;
use wix_media_manager::store::{PageRequest, PagingFields, SortKey};
use wix_media_wire::types::{
    BulkDeleteFilesRequest, BulkDeleteFoldersRequest, BulkImportFileRequest,
    BulkRestoreFilesRequest, BulkRestoreFoldersRequest, CreateFolderRequest,
    GenerateFileDownloadUrlRequest, GenerateFileUploadUrlRequest, GenerateFilesDownloadUrlRequest,
    GenerateVideoStreamingUrlRequest, GetFileDescriptorsRequest, ImportFileRequest, QueryRequest,
    SearchFilesRequest, SearchFoldersRequest, UpdateFileDescriptorRequest, UpdateFileRequest,
    UpdateFolderRequest,
};

const SORTS: &[SortKey] = &[SortKey::DisplayName, SortKey::Updated, SortKey::Size];

fn decode<T: DeserializeOwned>(data: &[u8]) -> Option<T> {
    serde_json::from_slice(data).ok()
}

fn labels(labels: Option<&Vec<String>>) {
    if let Some(labels) = labels {
        let _ = validate_labels("labels", labels);
    }
}

fn name(name: Option<&String>) {
    if let Some(name) = name {
        let _ = validate_display_name("displayName", name);
        let _ = safe_component(name);
    }
}

fn ids(ids: &[String]) {
    for id in ids {
        let _ = resolve_file_id("fileIds", id);
    }
}

fn import(request: &ImportFileRequest) {
    name(request.display_name.as_ref());
    labels(request.labels.as_ref());
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(r) = decode::<ImportFileRequest>(data) {
        import(&r);
    }
    if let Some(r) = decode::<BulkImportFileRequest>(data) {
        r.import_file_requests.iter().for_each(import);
    }
    if let Some(r) = decode::<GenerateFileUploadUrlRequest>(data) {
        name(r.file_name.as_ref());
        labels(r.labels.as_ref());
    }
    if let Some(r) = decode::<GenerateFileDownloadUrlRequest>(data) {
        let _ = resolve_file_id("fileId", &r.file_id);
        name(r.download_file_name.as_ref());
    }
    if let Some(r) = decode::<GenerateFilesDownloadUrlRequest>(data) {
        ids(&r.file_ids);
    }
    if let Some(r) = decode::<GenerateVideoStreamingUrlRequest>(data) {
        let _ = resolve_file_id("fileId", &r.file_id);
    }
    if let Some(r) = decode::<GetFileDescriptorsRequest>(data) {
        ids(&r.file_ids);
    }
    if let Some(r) = decode::<UpdateFileDescriptorRequest>(data) {
        if let Some(id) = &r.file.id {
            let _ = resolve_file_id("file.id", id);
        }
        name(r.file.display_name.as_ref());
        labels(r.file.labels.as_ref());
    }
    if let Some(r) = decode::<UpdateFileRequest>(data) {
        let _ = resolve_file_id("fileId", &r.file_id);
        name(r.display_name.as_ref());
        labels(r.labels.as_ref());
    }
    if let Some(r) = decode::<SearchFilesRequest>(data) {
        let _ = PageRequest::from_wire(
            r.sort.as_ref(),
            r.paging.as_ref(),
            SORTS,
            PagingFields::LISTING,
        );
    }
    if let Some(r) = decode::<SearchFoldersRequest>(data) {
        let _ = PageRequest::from_wire(
            r.sort.as_ref(),
            r.paging.as_ref(),
            SORTS,
            PagingFields::LISTING,
        );
    }
    if let Some(r) = decode::<QueryRequest>(data) {
        let _ = plan_query(&r.query, &FILE_FIELDS, &["parent_id = ?"], SORTS);
        let _ = plan_query(&r.query, &FOLDER_FIELDS, &[], SORTS);
    }
    if let Some(r) = decode::<BulkDeleteFilesRequest>(data) {
        ids(&r.file_ids);
    }
    if let Some(r) = decode::<BulkRestoreFilesRequest>(data) {
        ids(&r.file_ids);
    }
    if let Some(r) = decode::<CreateFolderRequest>(data) {
        let _ = validate_folder_name("displayName", &r.display_name);
    }
    if let Some(r) = decode::<UpdateFolderRequest>(data) {
        if let Some(n) = &r.folder.display_name {
            let _ = validate_folder_name("folder.displayName", n);
        }
    }
    let _ = decode::<BulkDeleteFoldersRequest>(data);
    let _ = decode::<BulkRestoreFoldersRequest>(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ByteRange::parse(Some(text), 1 << 20);
        let _ = ByteRange::parse(Some(text), 0);
        let _ = resolve_file_id("fileId", text);
    }
});
