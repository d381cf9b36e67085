//! The wire crate's own statement of Wix's contract, endpoint by endpoint, for the contract
//! check (`crates/contract`, run by `.ci/contract.sh`) to hold against Wix's generated packages.
//! Each [`Endpoint`] names its SDK method, HTTP binding and the contract's request and response
//! interfaces, carries a fully populated sample of each side built from [`crate::types`], the
//! limits the wire crate sets on the request (from [`limits`]) and the validation rules it knows
//! (from [`rules`]). It reads no files and checks nothing itself.
//!
//! The samples are struct literals without `..Default::default()`, so a field added to a wire
//! type does not compile here until its sample value is written, and then the check sees it.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::types::{
    ApplicationError, AssetMedia, AudioAsset, AudioMedia, BulkActionMetadata,
    BulkDeleteFilesRequest, BulkDeleteFoldersRequest, BulkImportFileRequest,
    BulkImportFileResponse, BulkImportResult, BulkRestoreFilesRequest, BulkRestoreFoldersRequest,
    ContentDisposition, CreateFolderRequest, CursorPaging, Cursors, DocumentMedia, DownloadUrl,
    Empty, ExternalInfo, FileDescriptor, FileMedia, FileResponse, FilesResponse, Folder,
    FolderPatch, FolderResponse, GenerateDownloadUrlResponse, GenerateFileDownloadUrlRequest,
    GenerateFileDownloadUrlResponse, GenerateFileResumableUploadUrlRequest,
    GenerateFileResumableUploadUrlResponse, GenerateFileUploadUrlRequest,
    GenerateFileUploadUrlResponse, GenerateFilesDownloadUrlRequest,
    GenerateVideoStreamingUrlRequest, GenerateVideoStreamingUrlResponse, GetFileDescriptorsRequest,
    Image, ImageMedia, ImportFileRequest, ItemMetadata, ListFilesResponse, ListFoldersResponse,
    MEDIA_ROOT, MediaType, OperationStatus, PagingMetadata, Query, QueryFilesResponse,
    QueryFoldersResponse, QueryRequest, RootFolder, SearchFilesRequest, SearchFoldersRequest,
    SortOrder, Sorting, State, StreamFormat, UpdateFolderRequest, UploadProtocol, VideoMedia,
    VideoResolution, limits, rules,
};

/// The generated packages this statement is about, pinned: `.ci/contract.sh` installs exactly
/// these from the npm registry.
pub const SDK_PACKAGES: [(&str, &str); 2] = [
    ("@wix/auto_sdk_media_files", "1.0.101"),
    ("@wix/auto_sdk_media_folders", "1.0.60"),
];

/// Every path below is under this prefix on `www.wixapis.com` (the SDK's `protoPath` is the
/// part after it).
pub const BASE_PATH: &str = "/site-media";

/// Which generated package holds an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Package {
    Files,
    Folders,
}

impl Package {
    /// The package's directory under `node_modules/@wix`.
    pub fn dir(self) -> &'static str {
        match self {
            Self::Files => "auto_sdk_media_files",
            Self::Folders => "auto_sdk_media_folders",
        }
    }
}

/// How the request travels. A query or a path carries the same message a body would (a query
/// flattened to dotted names, `paging.limit=100`); the sample is that message in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    Body,
    Query,
    Path,
}

/// A JSDoc limit tag of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tag {
    MaxLength,
    MinLength,
    MaxSize,
    MinSize,
    Max,
    Min,
}

impl Tag {
    pub const ALL: [Tag; 6] = [
        Self::MaxLength,
        Self::MinLength,
        Self::MaxSize,
        Self::MinSize,
        Self::Max,
        Self::Min,
    ];

    /// The tag as the `.d.ts` spells it, without the `@`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MaxLength => "maxLength",
            Self::MinLength => "minLength",
            Self::MaxSize => "maxSize",
            Self::MinSize => "minSize",
            Self::Max => "max",
            Self::Min => "min",
        }
    }
}

/// A limit the wire crate sets on one request field. `path` is the field's JSON path in the
/// request (`importFileRequests[].filePath`); on a list of strings, `maxLength` is each item's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    pub path: String,
    pub tag: Tag,
    pub value: u64,
}

/// One endpoint the client calls or the local Media Manager serves.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The SDK method (`bulkImportFile`); its `*ValidationErrors` type is named after it.
    pub method: &'static str,
    pub package: Package,
    pub http: &'static str,
    /// Under [`BASE_PATH`], as the SDK's `protoPath`.
    pub path: &'static str,
    pub carrier: Carrier,
    /// The contract's request and response interfaces (REST shapes, `meta.d.ts`).
    pub request_type: &'static str,
    pub response_type: &'static str,
    /// Every field the client can send: each `Option` is `Some`, each list has an item.
    pub request: Value,
    /// Every field the server can emit, as it emits it.
    pub response: Value,
    pub limits: Vec<Limit>,
    /// The `fieldViolations[].ruleName`s the wire crate knows for this method.
    pub rules: Vec<&'static str>,
}

/// A kind of difference the check would otherwise report, for [`ALLOWED`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Difference {
    /// The client sends a field the contract marks `@readonly`.
    SendsReadonly,
}

/// A documented, intentional difference from the contract: never a way to quiet a drift.
#[derive(Debug, Clone, Copy)]
pub struct Allowance {
    pub method: &'static str,
    pub path: &'static str,
    pub difference: Difference,
    pub reason: &'static str,
}

pub const ALLOWED: &[Allowance] = &[
    Allowance {
        method: "generateFileUploadUrl",
        path: "sizeInBytes",
        difference: Difference::SendsReadonly,
        reason: "the contract's own validation errors for this method (ZERO_FILE_SIZE, \
                 FILE_SIZE_OVER_LIMIT) are about the size the caller declares; the client \
                 sends it so an oversized file is refused before its bytes travel",
    },
    Allowance {
        method: "generateFileResumableUploadUrl",
        path: "sizeInBytes",
        difference: Difference::SendsReadonly,
        reason: "as for generateFileUploadUrl: ZERO_FILE_SIZE and FILE_SIZE_OVER_LIMIT are \
                 judged on the declared size",
    },
];

fn sample<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("wire types serialize to JSON")
}

fn limit(path: impl Into<String>, tag: Tag, value: impl TryInto<u64>) -> Limit {
    Limit {
        path: path.into(),
        tag,
        value: value.try_into().ok().expect("every limit fits in u64"),
    }
}

/// `prefix` + `field`: `importFileRequests[].` + `url`.
fn at(prefix: &str, field: &str) -> String {
    format!("{prefix}{field}")
}

const FILE_ID: &str = "2acbb8_86485e224dd84143ba2f228777217bb7~mv2.jpeg";
const FOLDER_ID: &str = "d147e1ab3e8b4114ad93d13bb9e23540";
const WHEN: &str = "2026-12-07T10:00:00.000Z";
const SITE_ID: &str = "c7d5e1c4-64c2-4e6a-8d85-1d3b1b6b2f3a";

fn external_info() -> ExternalInfo {
    ExternalInfo {
        origin: "media-migrate".to_string(),
        external_ids: vec!["row-1".to_string()],
    }
}

fn string_map() -> BTreeMap<String, String> {
    BTreeMap::from([("key".to_string(), "value".to_string())])
}

fn import_request() -> ImportFileRequest {
    ImportFileRequest {
        url: "https://example.com/photos/cat.jpg".to_string(),
        media_type: Some(MediaType::Image),
        display_name: Some("cat.jpg".to_string()),
        parent_folder_id: Some(FOLDER_ID.to_string()),
        file_path: Some("/photos/2024".to_string()),
        private: Some(false),
        labels: Some(vec!["cat".to_string()]),
        mime_type: Some("image/jpeg".to_string()),
        external_info: Some(external_info()),
        url_params: Some(string_map()),
        url_headers: Some(string_map()),
    }
}

/// The limits on one Import File request, under `prefix`.
fn import_limits(prefix: &str) -> Vec<Limit> {
    vec![
        limit(at(prefix, "url"), Tag::MinLength, limits::URL_MIN_LEN),
        limit(
            at(prefix, "displayName"),
            Tag::MaxLength,
            limits::IMPORT_DISPLAY_NAME_MAX_LEN,
        ),
        limit(
            at(prefix, "parentFolderId"),
            Tag::MaxLength,
            limits::FOLDER_ID_MAX_LEN,
        ),
        limit(
            at(prefix, "filePath"),
            Tag::MaxLength,
            limits::FILE_PATH_MAX_LEN,
        ),
        limit(
            at(prefix, "labels"),
            Tag::MaxSize,
            limits::IMPORT_LABELS_MAX_ITEMS,
        ),
        limit(at(prefix, "labels"), Tag::MaxLength, limits::LABEL_MAX_LEN),
        limit(
            at(prefix, "mimeType"),
            Tag::MaxLength,
            limits::MIME_TYPE_MAX_LEN,
        ),
        limit(
            at(prefix, "externalInfo.origin"),
            Tag::MaxLength,
            limits::EXTERNAL_ORIGIN_MAX_LEN,
        ),
        limit(
            at(prefix, "externalInfo.externalIds"),
            Tag::MaxSize,
            limits::EXTERNAL_IDS_MAX_ITEMS,
        ),
        limit(
            at(prefix, "externalInfo.externalIds"),
            Tag::MaxLength,
            limits::EXTERNAL_ID_MAX_LEN,
        ),
    ]
}

fn image(id: &str) -> Image {
    Image {
        id: id.to_string(),
        url: format!("https://static.wixstatic.com/media/{id}"),
        height: 480,
        width: 640,
        filename: Some("cat.jpg".to_string()),
    }
}

fn image_media() -> ImageMedia {
    ImageMedia {
        image: image(FILE_ID),
        preview_image: Some(image("2acbb8_preview~mv2.jpeg")),
    }
}

fn asset(id: &str, name: &str) -> AssetMedia {
    AssetMedia {
        id: id.to_string(),
        url: format!("https://static.wixstatic.com/ugd/{id}"),
        filename: Some(name.to_string()),
        size_in_bytes: Some(2048),
    }
}

/// One `media` per kind the server emits; the oneof holds exactly one key each.
fn every_media() -> Vec<(MediaType, FileMedia)> {
    let none = || FileMedia {
        image: None,
        vector: None,
        video: None,
        audio: None,
        document: None,
        archive: None,
        model3d: None,
    };
    vec![
        (
            MediaType::Image,
            FileMedia {
                image: Some(image_media()),
                ..none()
            },
        ),
        (
            MediaType::Vector,
            FileMedia {
                vector: Some(image_media()),
                ..none()
            },
        ),
        (
            MediaType::Video,
            FileMedia {
                video: Some(VideoMedia {
                    id: "4acbb8_5646ee01a5524905af4f2e7c567cbbce".to_string(),
                    resolutions: vec![VideoResolution {
                        url: "https://video.wixstatic.com/video/4acbb8_56/720p/mp4/file.mp4"
                            .to_string(),
                        height: 720,
                        width: 1280,
                        format: Some("mp4".to_string()),
                    }],
                    filename: Some("clip.mp4".to_string()),
                }),
                ..none()
            },
        ),
        (
            MediaType::Audio,
            FileMedia {
                audio: Some(AudioMedia {
                    id: "4acbb8_7596ac967.mp3".to_string(),
                    assets: vec![AudioAsset {
                        id: "4acbb8_7596ac967.mp3".to_string(),
                        url: "https://music.wixstatic.com/mp3/4acbb8_7596ac967.mp3".to_string(),
                        filename: Some("song.mp3".to_string()),
                    }],
                    format: Some("mp3".to_string()),
                    size_in_bytes: Some(4096),
                }),
                ..none()
            },
        ),
        (
            MediaType::Document,
            FileMedia {
                document: Some(DocumentMedia {
                    id: "4acbb8_doc.pdf".to_string(),
                    url: "https://static.wixstatic.com/ugd/4acbb8_doc.pdf".to_string(),
                    filename: Some("notes.pdf".to_string()),
                }),
                ..none()
            },
        ),
        (
            MediaType::Archive,
            FileMedia {
                archive: Some(asset("4acbb8_zip.zip", "photos.zip")),
                ..none()
            },
        ),
        (
            MediaType::Model3d,
            FileMedia {
                model3d: Some(asset("4acbb8_model.glb", "chair.glb")),
                ..none()
            },
        ),
    ]
}

/// A descriptor as the server emits it; `media` only once READY, as Wix documents.
fn descriptor(media_type: MediaType, media: Option<FileMedia>) -> FileDescriptor {
    let status = if media.is_some() {
        OperationStatus::Ready
    } else {
        OperationStatus::Pending
    };
    FileDescriptor {
        id: Some(FILE_ID.to_string()),
        display_name: Some("cat.jpg".to_string()),
        url: Some(format!("https://static.wixstatic.com/media/{FILE_ID}")),
        parent_folder_id: Some(MEDIA_ROOT.to_string()),
        hash: Some("d41d8cd98f00b204e9800998ecf8427e".to_string()),
        size_in_bytes: Some(15_359),
        private: Some(false),
        media_type: Some(media_type),
        media,
        operation_status: Some(status),
        source_url: Some("https://example.com/photos/cat.jpg".to_string()),
        thumbnail_url: Some(format!(
            "https://static.wixstatic.com/media/{FILE_ID}/thumbnail"
        )),
        labels: Some(vec!["cat".to_string()]),
        created_date: Some(WHEN.to_string()),
        updated_date: Some(WHEN.to_string()),
        site_id: Some(SITE_ID.to_string()),
        state: Some(State::Ok),
    }
}

/// What Import File and Bulk Import File answer: PENDING, no `media` yet.
fn pending_file() -> FileDescriptor {
    descriptor(MediaType::Image, None)
}

/// One READY file of each media kind.
fn ready_files() -> Vec<FileDescriptor> {
    every_media()
        .into_iter()
        .map(|(t, m)| descriptor(t, Some(m)))
        .collect()
}

fn ready_image() -> FileDescriptor {
    let (t, m) = every_media().swap_remove(0);
    descriptor(t, Some(m))
}

fn folder() -> Folder {
    Folder {
        id: FOLDER_ID.to_string(),
        display_name: "photos".to_string(),
        parent_folder_id: MEDIA_ROOT.to_string(),
        created_date: Some("2022-08-30T16:56:29Z".to_string()),
        updated_date: Some("2022-08-30T16:56:29Z".to_string()),
        state: Some(State::Ok),
        site_id: Some(SITE_ID.to_string()),
    }
}

fn sorting() -> Sorting {
    Sorting {
        field_name: "displayName".to_string(),
        order: SortOrder::Asc,
    }
}

fn paging() -> CursorPaging {
    CursorPaging {
        limit: Some(100),
        cursor: Some("cursor-1".to_string()),
    }
}

fn next_page() -> PagingMetadata {
    PagingMetadata {
        cursors: Cursors {
            next: Some("cursor-2".to_string()),
        },
    }
}

fn query() -> QueryRequest {
    QueryRequest {
        query: Query {
            filter: Some(json!({ "displayName": { "$startsWith": "cat" } })),
            sort: Some(vec![sorting()]),
            cursor_paging: Some(paging()),
        },
    }
}

fn query_limits() -> Vec<Limit> {
    vec![
        limit(
            "query.cursorPaging.limit",
            Tag::Max,
            limits::PAGING_MAX_LIMIT,
        ),
        limit(
            "query.cursorPaging.cursor",
            Tag::MaxLength,
            limits::CURSOR_MAX_LEN,
        ),
        limit("query.sort", Tag::MaxSize, limits::QUERY_SORT_MAX_ITEMS),
        limit(
            "query.sort[].fieldName",
            Tag::MaxLength,
            limits::SORT_FIELD_MAX_LEN,
        ),
    ]
}

/// The query of List Files and List Deleted Files: every name the server reads (no wire type
/// holds it; the client writes `parentFolderId`, `paging.limit` and `paging.cursor`).
fn list_files_query() -> Value {
    json!({
        "parentFolderId": FOLDER_ID,
        "mediaTypes": [MediaType::Image],
        "private": true,
        "sort": sample(&sorting()),
        "paging": sample(&paging()),
    })
}

/// The query of List Folders and List Deleted Folders.
fn list_folders_query() -> Value {
    json!({
        "parentFolderId": FOLDER_ID,
        "sort": sample(&sorting()),
        "paging": sample(&paging()),
    })
}

/// Sort and paging limits shared by the listings and searches.
fn listing_limits() -> Vec<Limit> {
    vec![
        limit("sort.fieldName", Tag::MaxLength, limits::SORT_FIELD_MAX_LEN),
        limit("paging.limit", Tag::Max, limits::PAGING_MAX_LIMIT),
        limit("paging.cursor", Tag::MaxLength, limits::CURSOR_MAX_LEN),
    ]
}

fn list_files_limits() -> Vec<Limit> {
    let mut l = vec![
        limit("parentFolderId", Tag::MaxLength, limits::FOLDER_ID_MAX_LEN),
        limit("mediaTypes", Tag::MaxSize, limits::SEARCH_MAX_MEDIA_TYPES),
    ];
    l.extend(listing_limits());
    l
}

fn list_folders_limits() -> Vec<Limit> {
    let mut l = vec![limit(
        "parentFolderId",
        Tag::MaxLength,
        limits::FOLDER_ID_MAX_LEN,
    )];
    l.extend(listing_limits());
    l
}

fn file_list() -> ListFilesResponse {
    ListFilesResponse {
        files: ready_files(),
        next_cursor: next_page(),
    }
}

fn folder_list() -> ListFoldersResponse {
    ListFoldersResponse {
        folders: vec![folder()],
        next_cursor: next_page(),
    }
}

fn file_ids() -> Vec<String> {
    vec![FILE_ID.to_string()]
}

/// Every endpoint the client calls and the local Media Manager serves, as the wire crate
/// believes Wix's contract has it.
pub fn endpoints() -> Vec<Endpoint> {
    let mut all = file_endpoints();
    all.extend(folder_endpoints());
    all
}

fn file_endpoints() -> Vec<Endpoint> {
    let files = |method, http, path, request_type, response_type| Endpoint {
        method,
        package: Package::Files,
        http,
        path,
        carrier: Carrier::Body,
        request_type,
        response_type,
        request: Value::Null,
        response: Value::Null,
        limits: Vec::new(),
        rules: Vec::new(),
    };
    let mut upload_limits = vec![
        limit("mimeType", Tag::MaxLength, limits::MIME_TYPE_MAX_LEN),
        limit("fileName", Tag::MaxLength, limits::UPLOAD_FILE_NAME_MAX_LEN),
        limit("parentFolderId", Tag::MaxLength, limits::FOLDER_ID_MAX_LEN),
        limit("filePath", Tag::MaxLength, limits::FILE_PATH_MAX_LEN),
        limit("labels", Tag::MaxLength, limits::LABEL_MAX_LEN),
    ];
    let resumable_limits = {
        let mut l = upload_limits.clone();
        l.push(limit(
            "labels",
            Tag::MaxSize,
            limits::RESUMABLE_UPLOAD_LABELS_MAX_ITEMS,
        ));
        l
    };
    upload_limits.extend([
        limit("labels", Tag::MaxSize, limits::UPLOAD_URL_LABELS_MAX_ITEMS),
        limit(
            "externalInfo.origin",
            Tag::MaxLength,
            limits::EXTERNAL_ORIGIN_MAX_LEN,
        ),
        limit(
            "externalInfo.externalIds",
            Tag::MaxSize,
            limits::EXTERNAL_IDS_MAX_ITEMS,
        ),
        limit(
            "externalInfo.externalIds",
            Tag::MaxLength,
            limits::EXTERNAL_ID_MAX_LEN,
        ),
    ]);
    let upload_rules = vec![
        rules::MISMATCH_MIME_TYPE,
        rules::ZERO_FILE_SIZE,
        rules::UNSUPPORTED_FILE_FORMAT,
        rules::FILE_SIZE_OVER_LIMIT,
    ];
    let listing_rules = || vec![rules::UNSUPPORTED_MEDIA_TYPE, rules::UNSUPPORTED_SORT_VALUE];
    let upload_request = GenerateFileUploadUrlRequest {
        mime_type: "image/jpeg".to_string(),
        file_name: Some("cat.jpg".to_string()),
        size_in_bytes: Some(15_359),
        parent_folder_id: Some(FOLDER_ID.to_string()),
        file_path: Some("/photos/2024".to_string()),
        private: Some(false),
        labels: Some(vec!["cat".to_string()]),
        external_info: Some(external_info()),
    };
    let resumable_request = GenerateFileResumableUploadUrlRequest {
        mime_type: "video/mp4".to_string(),
        file_name: Some("clip.mp4".to_string()),
        size_in_bytes: Some(1_048_576),
        parent_folder_id: Some(FOLDER_ID.to_string()),
        file_path: Some("/videos/2024".to_string()),
        private: Some(false),
        labels: Some(vec!["clip".to_string()]),
        upload_protocol: Some(UploadProtocol::Tus),
    };
    let download_request = GenerateFileDownloadUrlRequest {
        file_id: FILE_ID.to_string(),
        download_file_name: Some("cat.jpg".to_string()),
        expiration_in_minutes: Some(limits::DOWNLOAD_EXPIRATION_DEFAULT_MIN),
        expiration_redirect_url: Some("https://example.com/expired".to_string()),
        asset_keys: Some(vec!["src".to_string()]),
        content_disposition: Some(ContentDisposition::Attachment),
    };
    let download_url = || DownloadUrl {
        url: format!("https://download.example/{FILE_ID}?token=t"),
        asset_key: "src".to_string(),
    };
    let file_ids_limits = |max| {
        vec![
            limit("fileIds", Tag::MaxSize, max),
            limit("fileIds", Tag::MaxLength, limits::FILE_ID_MAX_LEN as u64),
        ]
    };
    let with_min = |mut l: Vec<Limit>, min: usize| {
        l.push(limit("fileIds", Tag::MinSize, min));
        l
    };
    vec![
        Endpoint {
            request: sample(&BulkImportFileRequest {
                import_file_requests: vec![import_request()],
                return_entity: Some(true),
            }),
            response: sample(&BulkImportFileResponse {
                results: vec![
                    BulkImportResult {
                        item_metadata: ItemMetadata {
                            id: Some(FILE_ID.to_string()),
                            original_index: 0,
                            success: true,
                            error: None,
                        },
                        item: Some(pending_file()),
                    },
                    BulkImportResult {
                        item_metadata: ItemMetadata {
                            id: Some(FILE_ID.to_string()),
                            original_index: 1,
                            success: false,
                            error: Some(ApplicationError {
                                code: "INVALID_ARGUMENT".to_string(),
                                description: "url: must be a public URL".to_string(),
                                data: Some(json!({ "field": "url" })),
                            }),
                        },
                        item: None,
                    },
                ],
                bulk_action_metadata: BulkActionMetadata {
                    total_successes: 1,
                    total_failures: 1,
                    undetailed_failures: 0,
                },
            }),
            limits: {
                let mut l = vec![
                    limit(
                        "importFileRequests",
                        Tag::MinSize,
                        limits::BULK_IMPORT_MIN_ITEMS,
                    ),
                    limit(
                        "importFileRequests",
                        Tag::MaxSize,
                        limits::BULK_IMPORT_MAX_ITEMS,
                    ),
                ];
                l.extend(import_limits("importFileRequests[]."));
                l
            },
            // Not SITE_QUOTA_EXCEEDED: the contract documents it for Import File and Generate
            // File Upload URL only (the server and the client still handle it here).
            ..files(
                "bulkImportFile",
                "POST",
                "/v1/bulk/files/import-v2",
                "BulkImportFileRequest",
                "BulkImportFileResponse",
            )
        },
        Endpoint {
            request: sample(&import_request()),
            response: sample(&FileResponse {
                file: pending_file(),
            }),
            limits: import_limits(""),
            rules: vec![rules::SITE_QUOTA_EXCEEDED],
            ..files(
                "importFile",
                "POST",
                "/v1/files/import",
                "ImportFileRequest",
                "ImportFileResponse",
            )
        },
        Endpoint {
            request: sample(&upload_request),
            response: sample(&GenerateFileUploadUrlResponse {
                upload_url: "https://upload.example/_upload/t".to_string(),
            }),
            limits: upload_limits,
            rules: {
                let mut r = upload_rules.clone();
                r.push(rules::SITE_QUOTA_EXCEEDED);
                r
            },
            ..files(
                "generateFileUploadUrl",
                "POST",
                "/v1/files/generate-upload-url",
                "GenerateFileUploadUrlRequest",
                "GenerateFileUploadUrlResponse",
            )
        },
        Endpoint {
            request: sample(&resumable_request),
            response: sample(&GenerateFileResumableUploadUrlResponse {
                upload_protocol: Some(UploadProtocol::Tus),
                upload_url: "https://upload.example/_upload/resumable".to_string(),
                upload_token: "token".to_string(),
            }),
            limits: resumable_limits,
            rules: upload_rules,
            ..files(
                "generateFileResumableUploadUrl",
                "POST",
                "/v1/files/generate-resumable-upload-url",
                "GenerateFileResumableUploadUrlRequest",
                "GenerateFileResumableUploadUrlResponse",
            )
        },
        Endpoint {
            request: sample(&GetFileDescriptorsRequest {
                file_ids: file_ids(),
            }),
            response: sample(&FilesResponse {
                files: ready_files(),
            }),
            limits: with_min(
                file_ids_limits(limits::GET_FILES_MAX_IDS as u64),
                limits::GET_FILES_MIN_IDS,
            ),
            rules: vec![rules::RESOURCE_NOT_FOUND],
            ..files(
                "getFileDescriptors",
                "POST",
                "/v1/files/get-files",
                "GetFileDescriptorsRequest",
                "GetFileDescriptorsResponse",
            )
        },
        Endpoint {
            // No wire type: the query's one name, which the server reads.
            carrier: Carrier::Query,
            request: json!({ "fileId": FILE_ID }),
            response: sample(&FileResponse {
                file: ready_image(),
            }),
            limits: vec![limit("fileId", Tag::MaxLength, limits::FILE_ID_MAX_LEN)],
            rules: vec![rules::RESOURCE_NOT_FOUND],
            ..files(
                "getFileDescriptor",
                "GET",
                "/v1/files/get-file-by-id",
                "GetFileDescriptorRequest",
                "GetFileDescriptorResponse",
            )
        },
        Endpoint {
            carrier: Carrier::Query,
            request: list_files_query(),
            response: sample(&file_list()),
            limits: list_files_limits(),
            rules: listing_rules(),
            ..files(
                "listFiles",
                "GET",
                "/v1/files",
                "ListFilesRequest",
                "ListFilesResponse",
            )
        },
        Endpoint {
            request: sample(&SearchFilesRequest {
                search: Some("cat".to_string()),
                root_folder: Some(RootFolder::MediaRoot),
                media_types: Some(vec![MediaType::Image]),
                private: Some(false),
                sort: Some(sorting()),
                paging: Some(paging()),
            }),
            response: sample(&file_list()),
            limits: {
                let mut l = vec![
                    limit("search", Tag::MaxLength, limits::SEARCH_MAX_LEN),
                    limit("mediaTypes", Tag::MaxSize, limits::SEARCH_MAX_MEDIA_TYPES),
                ];
                l.extend(listing_limits());
                l
            },
            rules: listing_rules(),
            ..files(
                "searchFiles",
                "POST",
                "/v1/files/search",
                "SearchFilesRequest",
                "SearchFilesResponse",
            )
        },
        Endpoint {
            request: sample(&BulkDeleteFilesRequest {
                file_ids: file_ids(),
                permanent: Some(false),
            }),
            response: sample(&Empty {}),
            limits: file_ids_limits(limits::BULK_DELETE_MAX_IDS as u64),
            ..files(
                "bulkDeleteFiles",
                "POST",
                "/v1/bulk/files/delete",
                "BulkDeleteFilesRequest",
                "BulkDeleteFilesResponse",
            )
        },
        Endpoint {
            request: sample(&BulkRestoreFilesRequest {
                file_ids: file_ids(),
            }),
            response: sample(&Empty {}),
            // The server holds restores to the delete batch's size.
            limits: file_ids_limits(limits::BULK_DELETE_MAX_IDS as u64),
            ..files(
                "bulkRestoreFilesFromTrashBin",
                "POST",
                "/v1/bulk/trash-bin/files/restore",
                "BulkRestoreFilesFromTrashBinRequest",
                "BulkRestoreFilesFromTrashBinResponse",
            )
        },
        Endpoint {
            carrier: Carrier::Query,
            request: list_files_query(),
            response: sample(&file_list()),
            limits: list_files_limits(),
            rules: listing_rules(),
            ..files(
                "listDeletedFiles",
                "GET",
                "/v1/trash-bin/files",
                "ListDeletedFilesRequest",
                "ListDeletedFilesResponse",
            )
        },
        Endpoint {
            request: sample(&query()),
            response: sample(&QueryFilesResponse {
                files: ready_files(),
                paging_metadata: next_page(),
            }),
            limits: query_limits(),
            ..files(
                "queryFileDescriptors",
                "POST",
                "/v1/files/query",
                "QueryFileDescriptorsRequest",
                "QueryFileDescriptorsResponse",
            )
        },
        Endpoint {
            request: sample(&download_request),
            response: sample(&GenerateFileDownloadUrlResponse {
                download_urls: vec![download_url()],
            }),
            limits: vec![
                limit("fileId", Tag::MaxLength, limits::FILE_ID_MAX_LEN),
                limit(
                    "downloadFileName",
                    Tag::MaxLength,
                    limits::DOWNLOAD_FILE_NAME_MAX_LEN,
                ),
                limit(
                    "expirationInMinutes",
                    Tag::Min,
                    limits::DOWNLOAD_EXPIRATION_FLOOR_MIN,
                ),
                limit("assetKeys", Tag::MaxSize, limits::ASSET_KEYS_MAX_ITEMS),
                limit("assetKeys", Tag::MaxLength, limits::ASSET_KEY_MAX_LEN),
            ],
            rules: vec![rules::INVALID_ASSET_KEY],
            ..files(
                "generateFileDownloadUrl",
                "POST",
                "/v1/files/generate-file-download-url",
                "GenerateFileDownloadUrlRequest",
                "GenerateFileDownloadUrlResponse",
            )
        },
        Endpoint {
            request: sample(&GenerateFilesDownloadUrlRequest {
                file_ids: file_ids(),
            }),
            response: sample(&GenerateDownloadUrlResponse {
                download_url: "https://download.example/_archive/a.zip".to_string(),
            }),
            limits: with_min(
                file_ids_limits(limits::ARCHIVE_MAX_FILES as u64),
                limits::ARCHIVE_MIN_FILES,
            ),
            ..files(
                "generateFilesDownloadUrl",
                "POST",
                "/v1/files/generate-download-url",
                "GenerateFilesDownloadUrlRequest",
                "GenerateFilesDownloadUrlResponse",
            )
        },
        Endpoint {
            request: sample(&GenerateVideoStreamingUrlRequest {
                file_id: FILE_ID.to_string(),
                format: Some(StreamFormat::Hls),
            }),
            response: sample(&GenerateVideoStreamingUrlResponse {
                download_url: download_url(),
            }),
            limits: vec![limit("fileId", Tag::MaxLength, limits::FILE_ID_MAX_LEN)],
            ..files(
                "generateVideoStreamingUrl",
                "POST",
                "/v1/files/generate-video-stream-url",
                "GenerateVideoStreamingUrlRequest",
                "GenerateVideoStreamingUrlResponse",
            )
        },
    ]
}

fn folder_endpoints() -> Vec<Endpoint> {
    let folders = |method, http, path, request_type, response_type| Endpoint {
        method,
        package: Package::Folders,
        http,
        path,
        carrier: Carrier::Body,
        request_type,
        response_type,
        request: Value::Null,
        response: Value::Null,
        limits: Vec::new(),
        rules: Vec::new(),
    };
    let folder_ids_limits = || {
        vec![
            limit("folderIds", Tag::MaxSize, limits::BULK_FOLDERS_MAX_IDS),
            limit("folderIds", Tag::MaxLength, limits::FOLDER_ID_MAX_LEN),
        ]
    };
    vec![
        Endpoint {
            request: sample(&CreateFolderRequest {
                display_name: "photos".to_string(),
                parent_folder_id: Some(MEDIA_ROOT.to_string()),
            }),
            response: sample(&FolderResponse { folder: folder() }),
            limits: vec![
                limit("displayName", Tag::MaxLength, limits::FOLDER_NAME_MAX_LEN),
                limit("parentFolderId", Tag::MaxLength, limits::FOLDER_ID_MAX_LEN),
            ],
            ..folders(
                "createFolder",
                "POST",
                "/v1/folders",
                "CreateFolderRequest",
                "CreateFolderResponse",
            )
        },
        Endpoint {
            // No wire type: the id travels in the path.
            carrier: Carrier::Path,
            request: json!({ "folderId": FOLDER_ID }),
            response: sample(&FolderResponse { folder: folder() }),
            limits: vec![limit("folderId", Tag::MaxLength, limits::FOLDER_ID_MAX_LEN)],
            ..folders(
                "getFolder",
                "GET",
                "/v1/folders/{folderId}",
                "GetFolderRequest",
                "GetFolderResponse",
            )
        },
        Endpoint {
            carrier: Carrier::Query,
            request: list_folders_query(),
            response: sample(&folder_list()),
            limits: list_folders_limits(),
            ..folders(
                "listFolders",
                "GET",
                "/v1/folders",
                "ListFoldersRequest",
                "ListFoldersResponse",
            )
        },
        Endpoint {
            request: sample(&SearchFoldersRequest {
                root_folder: Some(RootFolder::MediaRoot),
                sort: Some(sorting()),
                paging: Some(paging()),
                search: Some("photos".to_string()),
            }),
            response: sample(&folder_list()),
            limits: {
                let mut l = vec![limit("search", Tag::MaxLength, limits::SEARCH_MAX_LEN)];
                l.extend(listing_limits());
                l
            },
            ..folders(
                "searchFolders",
                "POST",
                "/v1/folders/search",
                "SearchFoldersRequest",
                "SearchFoldersResponse",
            )
        },
        Endpoint {
            request: sample(&UpdateFolderRequest {
                folder: FolderPatch {
                    id: Some(FOLDER_ID.to_string()),
                    display_name: Some("pictures".to_string()),
                    parent_folder_id: Some(MEDIA_ROOT.to_string()),
                },
            }),
            response: sample(&FolderResponse { folder: folder() }),
            limits: vec![
                limit("folder.id", Tag::MaxLength, limits::FOLDER_ID_MAX_LEN),
                limit(
                    "folder.displayName",
                    Tag::MaxLength,
                    limits::FOLDER_NAME_MAX_LEN,
                ),
                limit(
                    "folder.parentFolderId",
                    Tag::MaxLength,
                    limits::FOLDER_ID_MAX_LEN,
                ),
            ],
            rules: vec![rules::FIELD_MASK_IS_EMPTY_OR_MISSING],
            ..folders(
                "updateFolder",
                "PATCH",
                "/v1/folders/{folder.id}",
                "UpdateFolderRequest",
                "UpdateFolderResponse",
            )
        },
        Endpoint {
            request: sample(&BulkDeleteFoldersRequest {
                folder_ids: vec![FOLDER_ID.to_string()],
                permanent: Some(false),
            }),
            response: sample(&Empty {}),
            limits: folder_ids_limits(),
            ..folders(
                "bulkDeleteFolders",
                "POST",
                "/v1/bulk/folders/delete",
                "BulkDeleteFoldersRequest",
                "BulkDeleteFoldersResponse",
            )
        },
        Endpoint {
            request: sample(&BulkRestoreFoldersRequest {
                folder_ids: vec![FOLDER_ID.to_string()],
            }),
            response: sample(&Empty {}),
            limits: folder_ids_limits(),
            ..folders(
                "bulkRestoreFoldersFromTrashBin",
                "POST",
                "/v1/bulk/trash-bin/folders/restore",
                "BulkRestoreFoldersFromTrashBinRequest",
                "BulkRestoreFoldersFromTrashBinResponse",
            )
        },
        Endpoint {
            carrier: Carrier::Query,
            request: list_folders_query(),
            response: sample(&folder_list()),
            limits: list_folders_limits(),
            ..folders(
                "listDeletedFolders",
                "GET",
                "/v1/trash-bin/folders",
                "ListDeletedFoldersRequest",
                "ListDeletedFoldersResponse",
            )
        },
        Endpoint {
            request: sample(&query()),
            response: sample(&QueryFoldersResponse {
                folders: vec![folder()],
                paging_metadata: next_page(),
            }),
            limits: query_limits(),
            ..folders(
                "queryFolders",
                "POST",
                "/v1/folders/query",
                "QueryFoldersRequest",
                "QueryFoldersResponse",
            )
        },
        Endpoint {
            // No wire type: the id travels in the path.
            carrier: Carrier::Path,
            request: json!({ "folderId": FOLDER_ID }),
            response: sample(&GenerateDownloadUrlResponse {
                download_url: "https://download.example/_archive/f.zip".to_string(),
            }),
            limits: vec![limit("folderId", Tag::MaxLength, limits::FOLDER_ID_MAX_LEN)],
            ..folders(
                "generateFolderDownloadUrl",
                "POST",
                "/v1/folders/{folderId}/generate-download-url",
                "GenerateFolderDownloadUrlRequest",
                "GenerateFolderDownloadUrlResponse",
            )
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sample shows every field only if nothing in it is null or empty: a `None` that
    /// serialized as `null`, or an empty list, would hide a field from the check.
    #[test]
    fn samples_are_fully_populated() {
        fn holes(v: &Value, path: &str, out: &mut Vec<String>) {
            match v {
                Value::Null => out.push(path.to_string()),
                Value::Array(items) if items.is_empty() => out.push(path.to_string()),
                Value::Array(items) => items
                    .iter()
                    .for_each(|i| holes(i, &format!("{path}[]"), out)),
                Value::Object(map) => map
                    .iter()
                    .for_each(|(k, i)| holes(i, &format!("{path}.{k}"), out)),
                _ => {}
            }
        }
        for e in endpoints() {
            let mut out = Vec::new();
            holes(&e.request, "request", &mut out);
            holes(&e.response, "response", &mut out);
            assert!(out.is_empty(), "{}: {out:?}", e.method);
            assert!(
                e.request.is_object() && e.response.is_object(),
                "{}",
                e.method
            );
        }
    }

    /// Each SDK method appears once.
    #[test]
    fn methods_are_unique() {
        let mut names: Vec<_> = endpoints().iter().map(|e| e.method).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n);
    }
}
