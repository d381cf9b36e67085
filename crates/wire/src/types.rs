//! The Wix Media Manager wire contract (`/site-media/v1`): request and response bodies as
//! serde types, shared by the client and the local Media Manager so both speak one dialect.
//! REST names (`id`, `createdDate`), camelCase, int64 values as decimal strings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Folder ids that exist on every site.
pub const MEDIA_ROOT: &str = "media-root";
pub const TRASH_ROOT: &str = "trash-root";
pub const VISITOR_UPLOADS: &str = "visitor-uploads";
/// Virtual folders: hidden in the UI, can't be deleted, live under `media-root`.
pub const VIRTUAL_FOLDERS: [(&str, &str); 3] = [
    ("mobile-uploads", "Mobile Uploads"),
    ("purchased-items", "Purchased Items"),
    ("video-maker", "Video Maker"),
];

/// The contract's limits. Each cites its tag in Wix's generated packages
/// (`@wix/auto_sdk_media_files` 1.0.101, `@wix/auto_sdk_media_folders` 1.0.60,
/// `build/cjs/meta.d.ts`, the REST shapes); `.ci/contract.sh` checks every one against them.
/// A limit that is ours, not Wix's, says so.
pub mod limits {
    /// `BulkImportFileRequest.importFileRequests` `@minSize 1`.
    pub const BULK_IMPORT_MIN_ITEMS: usize = 1;
    /// `BulkImportFileRequest.importFileRequests` `@maxSize 100`.
    pub const BULK_IMPORT_MAX_ITEMS: usize = 100;
    /// `GetFileDescriptorsRequest.fileIds` `@minSize 1`.
    pub const GET_FILES_MIN_IDS: usize = 1;
    /// `GetFileDescriptorsRequest.fileIds` `@maxSize 100`.
    pub const GET_FILES_MAX_IDS: usize = 100;
    /// `GetFileDescriptorsRequest.fileIds` `@maxLength 1000`.
    pub const FILE_ID_MAX_LEN: usize = 1000;
    /// `CursorPaging.limit` `@max 100`.
    pub const PAGING_MAX_LIMIT: u32 = 100;
    /// `CursorPaging.cursor` `@maxLength 16000` (the listings' `paging.cursor` and the
    /// queries' `query.cursorPaging.cursor`).
    pub const CURSOR_MAX_LEN: usize = 16_000;
    /// `CursorQuery.sort` `@maxSize 1`: a query sorts by one field.
    pub const QUERY_SORT_MAX_ITEMS: usize = 1;
    /// `SearchFilesRequest.search` `@maxLength 200`.
    pub const SEARCH_MAX_LEN: usize = 200;
    /// `SearchFilesRequest.mediaTypes` `@maxSize 30`.
    pub const SEARCH_MAX_MEDIA_TYPES: usize = 30;
    /// `FileDescriptor.displayName` `@maxLength 255`: the longest name a file keeps. Import
    /// takes up to [`IMPORT_DISPLAY_NAME_MAX_LEN`] and cuts longer names to this.
    pub const DISPLAY_NAME_MAX_LEN: usize = 255;
    /// `ImportFileRequest.displayName` `@maxLength 1000`.
    pub const IMPORT_DISPLAY_NAME_MAX_LEN: usize = 1000;
    /// `GenerateFileUploadUrlRequest.fileName` `@maxLength 1000`.
    pub const UPLOAD_FILE_NAME_MAX_LEN: usize = 1000;
    /// `CreateFolderRequest.displayName` `@maxLength 1000`.
    pub const FOLDER_NAME_MAX_LEN: usize = 1000;
    /// `ImportFileRequest.parentFolderId` `@maxLength 100`.
    pub const FOLDER_ID_MAX_LEN: usize = 100;
    /// Deepest a folder may be below its root (the root's children are at depth 1). Wix
    /// publishes no figure; this one is ours, generous for real trees, and bounds every walk
    /// up or down a folder chain.
    pub const FOLDER_MAX_DEPTH: usize = 32;
    /// `ImportFileRequest.filePath` `@maxLength 100` (and the same on both upload-URL
    /// requests), in characters. A longer folder path is reached in steps: a folder's id plus a
    /// relative `filePath` that fits.
    pub const FILE_PATH_MAX_LEN: usize = 100;
    /// `FileDescriptor.labels` `@maxSize 100`: the most labels a file holds.
    pub const LABELS_MAX_ITEMS: usize = 100;
    /// `ImportFileRequest.labels` `@maxSize 500`.
    pub const IMPORT_LABELS_MAX_ITEMS: usize = 500;
    /// `GenerateFileUploadUrlRequest.labels` `@maxSize 50`.
    pub const UPLOAD_URL_LABELS_MAX_ITEMS: usize = 50;
    /// `GenerateFileResumableUploadUrlRequest.labels` `@maxSize 500`.
    pub const RESUMABLE_UPLOAD_LABELS_MAX_ITEMS: usize = 500;
    /// `FileDescriptor.labels` `@maxLength 200` (each label).
    pub const LABEL_MAX_LEN: usize = 200;
    /// `ImportFileRequest.mimeType` `@maxLength 100` (and `mimeType` of both upload-URL requests).
    pub const MIME_TYPE_MAX_LEN: usize = 100;
    /// `ImportFileRequest.url` `@minLength 2`.
    pub const URL_MIN_LEN: usize = 2;
    /// `ExternalInfo.origin` `@maxLength 1000`.
    pub const EXTERNAL_ORIGIN_MAX_LEN: usize = 1000;
    /// `ExternalInfo.externalIds` `@maxSize 30`.
    pub const EXTERNAL_IDS_MAX_ITEMS: usize = 30;
    /// `ExternalInfo.externalIds` `@maxLength 4000` (each id).
    pub const EXTERNAL_ID_MAX_LEN: usize = 4000;
    /// `CommonSorting.fieldName` `@maxLength 512`.
    pub const SORT_FIELD_MAX_LEN: usize = 512;
    /// Generate File Download URL's `expirationInMinutes` when absent; documented in prose.
    pub const DOWNLOAD_EXPIRATION_DEFAULT_MIN: u32 = 600;
    /// `GenerateFileDownloadUrlRequest.expirationInMinutes` `@min 1`.
    pub const DOWNLOAD_EXPIRATION_FLOOR_MIN: u32 = 1;
    /// The most `expirationInMinutes` takes (a year); documented in prose.
    pub const DOWNLOAD_EXPIRATION_MAX_MIN: u32 = 525_600;
    /// `GenerateFileDownloadUrlRequest.downloadFileName` `@maxLength 100`.
    pub const DOWNLOAD_FILE_NAME_MAX_LEN: usize = 100;
    /// `GenerateFileDownloadUrlRequest.assetKeys` `@maxSize 100`.
    pub const ASSET_KEYS_MAX_ITEMS: usize = 100;
    /// `GenerateFileDownloadUrlRequest.assetKeys` `@maxLength 100` (each key).
    pub const ASSET_KEY_MAX_LEN: usize = 100;
    /// `GenerateFilesDownloadUrlRequest.fileIds` `@minSize 1`.
    pub const ARCHIVE_MIN_FILES: usize = 1;
    /// `GenerateFilesDownloadUrlRequest.fileIds` `@maxSize 1000`: files in one archive.
    pub const ARCHIVE_MAX_FILES: usize = 1000;
    /// `BulkDeleteFilesRequest.fileIds` `@maxSize 1000`.
    pub const BULK_DELETE_MAX_IDS: usize = 1000;
    /// `BulkDeleteFoldersRequest.folderIds` `@maxSize 100` (and
    /// `BulkRestoreFoldersFromTrashBinRequest.folderIds`).
    pub const BULK_FOLDERS_MAX_IDS: usize = 100;
}

/// The validation errors (`fieldViolations[].ruleName`) the contract documents:
/// `*ValidationErrors` in `index.typings.d.ts`. Each says which methods document it.
pub mod rules {
    /// Import File, Generate File Upload URL: the site can hold no more. The contract documents
    /// it for no other method; the local server also answers it to Bulk Import (for the whole
    /// call, or per item as the item's error `code`) and to resumable upload URLs, and the
    /// client stops a run on it wherever it comes.
    pub const SITE_QUOTA_EXCEEDED: &str = "SITE_QUOTA_EXCEEDED";
    /// Get File Descriptor(s): an id the site doesn't know.
    pub const RESOURCE_NOT_FOUND: &str = "RESOURCE_NOT_FOUND";
    /// Both upload URLs: the declared `mimeType` doesn't match the file's type. The local
    /// server never answers it: it takes the declared type, or detects one, as the upload
    /// article says Wix does for `application/octet-stream`.
    pub const MISMATCH_MIME_TYPE: &str = "MISMATCH_MIME_TYPE";
    /// Both upload URLs: a declared `sizeInBytes` of 0.
    pub const ZERO_FILE_SIZE: &str = "ZERO_FILE_SIZE";
    /// Both upload URLs: a type of file the Media Manager doesn't take. The local server takes
    /// every well-formed type, so never answers it.
    pub const UNSUPPORTED_FILE_FORMAT: &str = "UNSUPPORTED_FILE_FORMAT";
    /// Both upload URLs: a declared `sizeInBytes` over the largest file taken.
    pub const FILE_SIZE_OVER_LIMIT: &str = "FILE_SIZE_OVER_LIMIT";
    /// Generate File Download URL: an asset key the file doesn't have.
    pub const INVALID_ASSET_KEY: &str = "INVALID_ASSET_KEY";
    /// List Files, Search Files, List Deleted Files: a media type that can't be listed by.
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "UNSUPPORTED_MEDIA_TYPE";
    /// List Files, Search Files, List Deleted Files: a field the files can't be sorted by.
    pub const UNSUPPORTED_SORT_VALUE: &str = "UNSUPPORTED_SORT_VALUE";
    /// Update Folder, Update File Descriptor: nothing writable to change.
    pub const FIELD_MASK_IS_EMPTY_OR_MISSING: &str = "FIELD_MASK_IS_EMPTY_OR_MISSING";
}

/// Tolerant reading: a field whose value this side can't read is taken as absent, never as a
/// broken answer (a new enum value, a reshaped `media`). Wix's contract makes every response
/// field optional and grows its enums; the client decodes only what it uses.
pub mod lenient {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: serde::de::DeserializeOwned,
    {
        let value = Option::<serde_json::Value>::deserialize(d)?;
        Ok(value.and_then(|v| serde_json::from_value(v).ok()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MediaType {
    Unknown,
    Image,
    Video,
    Audio,
    Document,
    Vector,
    Archive,
    Model3d,
    Other,
}

impl MediaType {
    pub const ALL: [MediaType; 9] = [
        Self::Unknown,
        Self::Image,
        Self::Video,
        Self::Audio,
        Self::Document,
        Self::Vector,
        Self::Archive,
        Self::Model3d,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "UNKNOWN",
            Self::Image => "IMAGE",
            Self::Video => "VIDEO",
            Self::Audio => "AUDIO",
            Self::Document => "DOCUMENT",
            Self::Vector => "VECTOR",
            Self::Archive => "ARCHIVE",
            Self::Model3d => "MODEL3D",
            Self::Other => "OTHER",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OperationStatus {
    #[default]
    Pending,
    Ready,
    Failed,
}

impl OperationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Ready => "READY",
            Self::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Ready, Self::Failed]
            .into_iter()
            .find(|t| t.as_str() == s)
    }

    /// Processing is over: READY or FAILED.
    pub fn is_final(self) -> bool {
        self != Self::Pending
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    Ok,
    Deleted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RootFolder {
    #[default]
    MediaRoot,
    TrashRoot,
    VisitorUploadsRoot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SortOrder {
    Asc,
    #[default]
    Desc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ContentDisposition {
    #[default]
    Attachment,
    Inline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UploadProtocol {
    #[default]
    Tus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StreamFormat {
    #[default]
    Unknown,
    Hls,
    Dash,
}

/// int64 values travel as decimal strings; accept numbers too, as lenient peers send them.
pub mod int64_string {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(n) => s.serialize_str(&n.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Str(String),
            Num(u64),
        }
        match Option::<Raw>::deserialize(d)? {
            None => Ok(None),
            Some(Raw::Num(n)) => Ok(Some(n)),
            Some(Raw::Str(s)) => s
                .parse()
                .map(Some)
                .map_err(|_| D::Error::custom(format!("`{s}` is not an int64 string"))),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileDescriptor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_folder_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    #[serde(
        default,
        with = "int64_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub size_in_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private: Option<bool>,
    /// An unknown type reads as absent.
    #[serde(
        default,
        deserialize_with = "lenient::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub media_type: Option<MediaType>,
    /// The client never reads it; a shape it doesn't know reads as absent.
    #[serde(
        default,
        deserialize_with = "lenient::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub media: Option<FileMedia>,
    /// An unknown status reads as absent, which readers take for PENDING: not final.
    #[serde(
        default,
        deserialize_with = "lenient::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub operation_status: Option<OperationStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub state: Option<State>,
}

/// The `media` oneof: exactly one key is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileMedia {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageMedia>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector: Option<ImageMedia>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoMedia>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<AudioMedia>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<DocumentMedia>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<AssetMedia>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model3d: Option<AssetMedia>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ImageMedia {
    pub image: Image,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_image: Option<Image>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Image {
    pub id: String,
    pub url: String,
    #[serde(default)]
    pub height: u32,
    #[serde(default)]
    pub width: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

/// `VideoV2`: its size is the descriptor's `sizeInBytes`; the contract gives the video none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VideoMedia {
    pub id: String,
    #[serde(default)]
    pub resolutions: Vec<VideoResolution>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

/// One `VideoResolution`: its `format` says the quality (`720p.mp4`, `hls`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VideoResolution {
    pub url: String,
    #[serde(default)]
    pub height: u32,
    #[serde(default)]
    pub width: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

/// `AudioV2`: its assets are Audio objects (not strings, as these types once had it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AudioMedia {
    pub id: String,
    pub assets: Vec<AudioAsset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(
        default,
        with = "int64_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub size_in_bytes: Option<u64>,
}

/// One `Audio` of `AudioV2.assets`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AudioAsset {
    pub id: String,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

/// `Document`: unlike an archive or a 3D model, the contract gives it no `sizeInBytes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DocumentMedia {
    pub id: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

/// Archive and 3D model assets share this shape.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AssetMedia {
    pub id: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(
        default,
        with = "int64_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub size_in_bytes: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Folder {
    pub id: String,
    pub display_name: String,
    pub parent_folder_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_date: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub state: Option<State>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalInfo {
    #[serde(default)]
    pub origin: String,
    #[serde(default)]
    pub external_ids: Vec<String>,
}

/// Body of Import File, and one item of Bulk Import File.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportFileRequest {
    #[serde(default)]
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<MediaType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_folder_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_info: Option<ExternalInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_params: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_headers: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FileResponse {
    pub file: FileDescriptor,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkImportFileRequest {
    #[serde(default)]
    pub import_file_requests: Vec<ImportFileRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_entity: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BulkImportFileResponse {
    pub results: Vec<BulkImportResult>,
    pub bulk_action_metadata: BulkActionMetadata,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BulkImportResult {
    pub item_metadata: ItemMetadata,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<FileDescriptor>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ItemMetadata {
    pub id: Option<String>,
    /// Absent means 0, as proto3 JSON leaves default values out.
    pub original_index: usize,
    pub success: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ApplicationError>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BulkActionMetadata {
    pub total_successes: usize,
    pub total_failures: usize,
    pub undetailed_failures: usize,
}

/// Deprecated Bulk Import Files (v1) response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FilesResponse {
    pub files: Vec<FileDescriptor>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenerateFileUploadUrlRequest {
    #[serde(default)]
    pub mime_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    #[serde(
        default,
        with = "int64_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub size_in_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_folder_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_info: Option<ExternalInfo>,
}

/// Generate File Resumable Upload URL: the upload-URL request without `externalInfo` (the
/// contract's type has none), with `uploadProtocol`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenerateFileResumableUploadUrlRequest {
    #[serde(default)]
    pub mime_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    #[serde(
        default,
        with = "int64_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub size_in_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_folder_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_protocol: Option<UploadProtocol>,
}

impl From<GenerateFileUploadUrlRequest> for GenerateFileResumableUploadUrlRequest {
    /// The same file's resumable request: everything but `externalInfo`, which it can't carry.
    fn from(r: GenerateFileUploadUrlRequest) -> Self {
        Self {
            mime_type: r.mime_type,
            file_name: r.file_name,
            size_in_bytes: r.size_in_bytes,
            parent_folder_id: r.parent_folder_id,
            file_path: r.file_path,
            private: r.private,
            labels: r.labels,
            upload_protocol: Some(UploadProtocol::Tus),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GenerateFileUploadUrlResponse {
    pub upload_url: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GenerateFileResumableUploadUrlResponse {
    #[serde(
        deserialize_with = "lenient::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub upload_protocol: Option<UploadProtocol>,
    pub upload_url: String,
    pub upload_token: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenerateFileDownloadUrlRequest {
    #[serde(default)]
    pub file_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_file_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_in_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_redirect_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_keys: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<ContentDisposition>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DownloadUrl {
    pub url: String,
    pub asset_key: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GenerateFileDownloadUrlResponse {
    pub download_urls: Vec<DownloadUrl>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenerateFilesDownloadUrlRequest {
    #[serde(default)]
    pub file_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GenerateDownloadUrlResponse {
    pub download_url: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateVideoStreamingUrlRequest {
    #[serde(default)]
    pub file_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<StreamFormat>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GenerateVideoStreamingUrlResponse {
    pub download_url: DownloadUrl,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetFileDescriptorsRequest {
    #[serde(default)]
    pub file_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateFileDescriptorRequest {
    pub file: FileDescriptor,
}

/// Deprecated Update File.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateFileRequest {
    #[serde(default)]
    pub file_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_folder_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sorting {
    #[serde(default)]
    pub field_name: String,
    #[serde(default)]
    pub order: SortOrder,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CursorPaging {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// `PagingMetadataV2`: the contract's only sign of another page is a non-empty `cursors.next`
/// (its `hasNext` is `@internal`, absent from the public contract).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PagingMetadata {
    pub cursors: Cursors,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Cursors {
    #[serde(default)]
    pub next: Option<String>,
}

impl PagingMetadata {
    /// The cursor of the next page, if there is one: a `next` that is present and not empty.
    pub fn next_cursor(&self) -> Option<&str> {
        self.cursors.next.as_deref().filter(|c| !c.is_empty())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ListFilesResponse {
    pub files: Vec<FileDescriptor>,
    pub next_cursor: PagingMetadata,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SearchFilesRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_folder: Option<RootFolder>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_types: Option<Vec<MediaType>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<Sorting>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paging: Option<CursorPaging>,
}

/// WQL query used by Query File Descriptors and Query Folders.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueryRequest {
    #[serde(default)]
    pub query: Query,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Query {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<Vec<Sorting>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor_paging: Option<CursorPaging>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryFilesResponse {
    pub files: Vec<FileDescriptor>,
    pub paging_metadata: PagingMetadata,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryFoldersResponse {
    pub folders: Vec<Folder>,
    pub paging_metadata: PagingMetadata,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkDeleteFilesRequest {
    #[serde(default)]
    pub file_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permanent: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkRestoreFilesRequest {
    #[serde(default)]
    pub file_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateFolderRequest {
    #[serde(default)]
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_folder_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FolderResponse {
    pub folder: Folder,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ListFoldersResponse {
    pub folders: Vec<Folder>,
    pub next_cursor: PagingMetadata,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SearchFoldersRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_folder: Option<RootFolder>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<Sorting>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paging: Option<CursorPaging>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
}

/// Update Folder: only `displayName` and `parentFolderId` are writable.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateFolderRequest {
    pub folder: FolderPatch,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FolderPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_folder_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkDeleteFoldersRequest {
    #[serde(default)]
    pub folder_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permanent: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkRestoreFoldersRequest {
    #[serde(default)]
    pub folder_ids: Vec<String>,
}

/// `{}`: the body of calls with nothing to return.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Empty {}

/// Wix error body: `{ message, details: { applicationError | validationError } }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub details: ErrorDetails,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_error: Option<ApplicationError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_error: Option<ValidationError>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApplicationError {
    pub code: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ValidationError {
    pub field_violations: Vec<FieldViolation>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
    pub violated_rule: String,
    /// The documented validation error (`SITE_QUOTA_EXCEEDED`, `RESOURCE_NOT_FOUND`…): see
    /// [`rules`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}
