//! The OpenAPI 3.0 document of the local Media Manager's JSON API, served at
//! `GET /openapi.json` so tools nobody here wrote (schemathesis in CI) can check the server
//! against it. It describes the wire as the handlers speak it: REST names, int64 as strings,
//! `{message, details}` on 4xx, empty 5xx bodies. Upload, tus, download and archive routes are
//! not JSON APIs and are left out.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::{ServerConfig, SharedState};
use wix_media_wire::types::limits;

/// `GET /openapi.json`: served outside the API guard, so it is neither authenticated nor counted.
pub async fn openapi_handler(State(state): State<SharedState>) -> Json<Value> {
    Json(document(&state.config))
}

fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn responses(ok: &str) -> Value {
    json!({
        "200": {
            "description": "Success",
            "content": { "application/json": { "schema": schema(ok) } }
        },
        "4XX": {
            "description": "Refused: a Wix error body",
            "content": { "application/json": { "schema": schema("Error") } }
        },
        // A query of a contract-sized cursor (16,000 characters) can need more than the HTTP
        // layer reads of a request line once percent-encoded; hyper answers before the API.
        "414": { "description": "The URI is longer than the HTTP layer reads (64 KiB); the \
            body is empty" },
        "5XX": { "description": "A system error; the body is empty, as Wix sends them" }
    })
}

fn body(name: &str) -> Value {
    json!({
        "required": true,
        "content": { "application/json": { "schema": schema(name) } }
    })
}

fn op(id: &str, summary: &str, params: Value, request: Option<&str>, ok: &str) -> Value {
    let mut o = json!({
        "operationId": id,
        "summary": summary,
        "parameters": params,
        "responses": responses(ok),
    });
    if let Some(r) = request {
        o["requestBody"] = body(r);
    }
    o
}

fn path_param(name: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true,
            "schema": { "type": "string", "minLength": 1 } })
}

fn query(name: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "schema": schema })
}

/// `parentFolderId`, sort and paging: what every folder listing takes.
fn listing_params(with_files: bool) -> Value {
    let mut p = vec![
        query("parentFolderId", json!({ "type": "string" })),
        query(
            "sort.fieldName",
            json!({ "type": "string", "maxLength": limits::SORT_FIELD_MAX_LEN }),
        ),
        query("sort.order", schema("SortOrder")),
        query(
            "paging.limit",
            json!({ "type": "integer", "minimum": 0, "maximum": limits::PAGING_MAX_LIMIT }),
        ),
        query(
            "paging.cursor",
            json!({ "type": "string", "maxLength": limits::CURSOR_MAX_LEN }),
        ),
    ];
    if with_files {
        let mut m = query(
            "mediaTypes",
            json!({ "type": "array", "items": schema("MediaTypeFilter") }),
        );
        m["style"] = json!("form");
        m["explode"] = json!(true);
        p.push(m);
        p.push(query("private", json!({ "type": "boolean" })));
    }
    Value::Array(p)
}

fn paths() -> Value {
    let none = || json!([]);
    let file_id = || json!([path_param("fileId")]);
    let folder_id = || json!([path_param("folderId")]);
    json!({
        "/v1/files/import": { "post": op("importFile", "Import a file from a URL", none(),
            Some("ImportFileRequest"), "FileResponse") },
        "/v1/bulk/files/import-v2": { "post": op("bulkImportFile", "Import many files, per-item results",
            none(), Some("BulkImportFileRequest"), "BulkImportFileResponse") },
        "/v1/bulk/files/import": { "post": op("bulkImportFiles", "Deprecated bulk import, all or nothing",
            none(), Some("BulkImportFileRequest"), "FilesResponse") },
        "/v1/files/get-file-by-id": { "get": op("getFileDescriptor", "Get a file descriptor",
            json!([{ "name": "fileId", "in": "query", "required": true,
                     "schema": { "type": "string", "minLength": 1, "maxLength": limits::FILE_ID_MAX_LEN } }]),
            None, "FileResponse") },
        "/v1/files/{fileId}": {
            "get": op("getFileDescriptorByPath", "Get a file descriptor", file_id(), None, "FileResponse"),
            "patch": op("updateFileByPath", "Deprecated update, file id in the path", file_id(),
                Some("UpdateFileRequest"), "FileResponse")
        },
        "/v1/files/get-files": { "post": op("getFileDescriptors", "Get many file descriptors", none(),
            Some("GetFileDescriptorsRequest"), "FilesResponse") },
        "/v1/files/update-file-descriptor": { "patch": op("updateFileDescriptor",
            "Rename, move or relabel a file", none(), Some("UpdateFileDescriptorRequest"), "FileResponse") },
        "/v1/files/{fileId}/update": { "patch": op("updateFileDescriptorByPath",
            "Rename, move or relabel a file, id in the path", file_id(),
            Some("UpdateFileDescriptorRequest"), "FileResponse") },
        "/v1/files/update-file": { "patch": op("updateFile", "Deprecated update", none(),
            Some("UpdateFileRequest"), "FileResponse") },
        "/v1/files": { "get": op("listFiles", "List the files of one folder", listing_params(true),
            None, "ListFilesResponse") },
        "/v1/files/search": { "post": op("searchFiles", "Search files under a root", none(),
            Some("SearchFilesRequest"), "ListFilesResponse") },
        "/v1/files/query": { "post": op("queryFileDescriptors", "Query files (WQL subset)", none(),
            Some("QueryRequest"), "QueryFilesResponse") },
        "/v1/bulk/files/delete": { "post": op("bulkDeleteFiles", "Trash or purge files", none(),
            Some("BulkDeleteFilesRequest"), "Empty") },
        "/v1/bulk/trash-bin/files/restore": { "post": op("bulkRestoreFiles", "Restore files from the trash",
            none(), Some("FileIdsRequest"), "Empty") },
        "/v1/trash-bin/files": { "get": op("listDeletedFiles", "List trashed files", listing_params(true),
            None, "ListFilesResponse") },
        "/v1/files/generate-upload-url": { "post": op("generateFileUploadUrl", "A one-time PUT upload URL",
            none(), Some("GenerateFileUploadUrlRequest"), "GenerateFileUploadUrlResponse") },
        "/v1/files/generate-resumable-upload-url": { "post": op("generateFileResumableUploadUrl",
            "A tus upload URL and token", none(), Some("GenerateFileResumableUploadUrlRequest"),
            "GenerateFileResumableUploadUrlResponse") },
        "/v1/files/generate-file-download-url": { "post": op("generateFileDownloadUrl",
            "Signed download URLs of a file", none(), Some("GenerateFileDownloadUrlRequest"),
            "GenerateFileDownloadUrlResponse") },
        "/v1/files/{fileId}/generate-download-url": { "post": op("generateFileDownloadUrlByPath",
            "Signed download URLs of a file, id in the path", file_id(),
            Some("GenerateFileDownloadUrlOptions"), "GenerateFileDownloadUrlResponse") },
        "/v1/files/generate-download-url": { "post": op("generateFilesDownloadUrl",
            "A permanent archive URL of public files", none(), Some("FileIdsRequest"),
            "GenerateDownloadUrlResponse") },
        "/v1/files/generate-video-stream-url": { "post": op("generateVideoStreamingUrl",
            "A streaming URL of a video", none(), Some("GenerateVideoStreamingUrlRequest"),
            "GenerateVideoStreamingUrlResponse") },
        "/v1/files/video/{fileId}/generate-stream-url": { "post": op("generateVideoStreamingUrlByPath",
            "A streaming URL of a video, id in the path", file_id(),
            Some("GenerateVideoStreamingUrlOptions"), "GenerateVideoStreamingUrlResponse") },
        "/v1/folders": {
            "post": op("createFolder", "Create a folder", none(), Some("CreateFolderRequest"), "FolderResponse"),
            "get": op("listFolders", "List the folders of one folder", listing_params(false), None,
                "ListFoldersResponse")
        },
        "/v1/folders/{folderId}": {
            "get": op("getFolder", "Get a folder", folder_id(), None, "FolderResponse"),
            "patch": op("updateFolder", "Rename or move a folder", folder_id(),
                Some("UpdateFolderRequest"), "FolderResponse")
        },
        "/v1/folders/search": { "post": op("searchFolders", "Search folders under a root", none(),
            Some("SearchFoldersRequest"), "ListFoldersResponse") },
        "/v1/folders/query": { "post": op("queryFolders", "Query folders (WQL subset)", none(),
            Some("QueryRequest"), "QueryFoldersResponse") },
        "/v1/folders/{folderId}/generate-download-url": { "post": op("generateFolderDownloadUrl",
            "A permanent archive URL of a folder tree", folder_id(), None, "GenerateDownloadUrlResponse") },
        "/v1/bulk/folders/delete": { "post": op("bulkDeleteFolders", "Trash or purge folders", none(),
            Some("BulkDeleteFoldersRequest"), "Empty") },
        "/v1/bulk/trash-bin/folders/restore": { "post": op("bulkRestoreFolders",
            "Restore folders from the trash", none(), Some("FolderIdsRequest"), "Empty") },
        "/v1/trash-bin/folders": { "get": op("listDeletedFolders", "List trashed folders",
            listing_params(false), None, "ListFoldersResponse") },
    })
}

/// The whole document; the bulk limit is the server's configured one.
pub fn document(config: &ServerConfig) -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Local Wix Media Manager",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The JSON endpoints of the local Media Manager (`/site-media/v1`), \
                as the Wix REST API defines them. Left out because they are not JSON APIs: the \
                upload URLs (`/_upload/put`, `/_upload/resumable`, tus), signed downloads \
                (`/_download`), archives (`/_archive`), static media (`/media`) and \
                `/_local/stats`. int64 values are decimal strings; 4xx bodies are \
                `{message, details}`; 5xx bodies are empty. Request bodies may carry no field \
                the contract lacks. A server started with sparse answers (`--sparse-answers`) \
                departs from this document on purpose: its answers leave out empty and default \
                values and carry unknown fields."
        },
        "servers": [{ "url": "/site-media" }],
        "paths": paths(),
        "components": { "schemas": schemas(config.max_bulk_items) },
    })
}

/// At least one non-blank character and no control characters (C0, DEL, C1).
const DISPLAY_NAME_PATTERN: &str =
    "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$";
/// `type/subtype` of RFC 6838 token characters, parameters allowed after `;`.
const MIME_PATTERN: &str = "^[A-Za-z0-9!#$&^_.+-]{1,127}/[A-Za-z0-9!#$&^_.+-]{1,127}( *;.*)?$";

fn strings(max_items: usize, max_len: usize) -> Value {
    json!({ "type": "array", "maxItems": max_items,
            "items": { "type": "string", "maxLength": max_len } })
}

fn ids(max_items: usize) -> Value {
    json!({ "type": "array", "minItems": 1, "maxItems": max_items,
            "items": { "type": "string", "minLength": 1, "maxLength": limits::FILE_ID_MAX_LEN } })
}

fn folder_ids() -> Value {
    json!({ "type": "array", "minItems": 1, "maxItems": limits::BULK_FOLDERS_MAX_IDS,
            "items": { "type": "string", "minLength": 1, "maxLength": limits::FOLDER_ID_MAX_LEN } })
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({ "type": "object", "required": required, "properties": properties })
}

/// An update's fields: at least one of `writable` must be given, or the server answers
/// `FIELD_MASK_IS_EMPTY_OR_MISSING`.
fn update(properties: Value, writable: &[&str]) -> Value {
    let mut o = object(&[], properties);
    let one_of: Vec<Value> = writable
        .iter()
        .map(|f| json!({ "required": [f] }))
        .collect();
    o["anyOf"] = Value::Array(one_of);
    o
}

/// Like [`object`], but no other key may appear: the server's own responses, and the
/// request bodies whose types refuse fields the contract doesn't have.
fn closed(required: &[&str], properties: Value) -> Value {
    let mut o = object(required, properties);
    o["additionalProperties"] = json!(false);
    o
}

fn schemas(max_bulk_items: usize) -> Value {
    let labels = strings(limits::LABELS_MAX_ITEMS, limits::LABEL_MAX_LEN);
    let labels_of = |max_items| strings(max_items, limits::LABEL_MAX_LEN);
    // Not blank, no control characters: what `validate_display_name` accepts.
    let name_of = |max_len| {
        json!({ "type": "string", "minLength": 1, "maxLength": max_len,
                "pattern": DISPLAY_NAME_PATTERN })
    };
    let display_name = name_of(limits::DISPLAY_NAME_MAX_LEN);
    let mime = json!({ "type": "string", "pattern": MIME_PATTERN,
        "maxLength": limits::MIME_TYPE_MAX_LEN });
    let folder_id = json!({ "type": "string", "maxLength": limits::FOLDER_ID_MAX_LEN });
    let int64 = json!({ "type": "string", "pattern": "^[0-9]+$", "description": "int64 as a decimal string" });
    let date = json!({ "type": "string", "format": "date-time" });
    let string = json!({ "type": "string" });
    let paging = || {
        closed(
            &[],
            json!({
            "limit": { "type": "integer", "minimum": 0, "maximum": limits::PAGING_MAX_LIMIT },
            "cursor": { "type": "string", "maxLength": limits::CURSOR_MAX_LEN } }),
        )
    };
    let file_path = json!({ "type": "string", "maxLength": limits::FILE_PATH_MAX_LEN });
    let upload = json!({
        "mimeType": mime, "fileName": name_of(limits::UPLOAD_FILE_NAME_MAX_LEN),
        "sizeInBytes": int64, "parentFolderId": folder_id, "filePath": file_path,
        "private": { "type": "boolean" },
        "labels": labels_of(limits::UPLOAD_URL_LABELS_MAX_ITEMS),
        "externalInfo": schema("ExternalInfo") });
    // The contract's resumable request has no `externalInfo`, and takes 500 labels.
    let mut resumable = upload.clone();
    if let Value::Object(fields) = &mut resumable {
        fields.remove("externalInfo");
    }
    resumable["labels"] = labels_of(limits::RESUMABLE_UPLOAD_LABELS_MAX_ITEMS);
    resumable["uploadProtocol"] = json!({ "type": "string", "enum": ["TUS"] });
    let download_options = json!({
        "downloadFileName": name_of(limits::DOWNLOAD_FILE_NAME_MAX_LEN),
        "expirationInMinutes": { "type": "integer",
            "minimum": limits::DOWNLOAD_EXPIRATION_FLOOR_MIN,
            "maximum": limits::DOWNLOAD_EXPIRATION_MAX_MIN },
        "expirationRedirectUrl": string,
        "assetKeys": strings(limits::ASSET_KEYS_MAX_ITEMS, limits::ASSET_KEY_MAX_LEN),
        "contentDisposition": { "type": "string", "enum": ["ATTACHMENT", "INLINE"] } });
    let mut download = download_options.clone();
    download["fileId"] =
        json!({ "type": "string", "minLength": 1, "maxLength": limits::FILE_ID_MAX_LEN });
    let stream_format = json!({ "type": "string", "enum": ["UNKNOWN", "HLS", "DASH"] });
    let image = closed(
        &["id", "url", "height", "width"],
        json!({
        "id": string, "url": string, "height": { "type": "integer" }, "width": { "type": "integer" },
        "filename": string }),
    );
    let asset = closed(
        &["id", "url"],
        json!({
        "id": string, "url": string, "filename": string, "sizeInBytes": int64 }),
    );
    let parts = json!({
        "MediaType": { "type": "string", "enum": ["UNKNOWN", "IMAGE", "VIDEO", "AUDIO", "DOCUMENT",
            "VECTOR", "ARCHIVE", "MODEL3D", "OTHER"] },
        "MediaTypeFilter": { "type": "string", "enum": ["UNKNOWN", "IMAGE", "VIDEO", "AUDIO",
            "DOCUMENT", "VECTOR", "ARCHIVE", "MODEL3D"] },
        "SortOrder": { "type": "string", "enum": ["ASC", "DESC"] },
        "RootFolder": { "type": "string", "enum": ["MEDIA_ROOT", "TRASH_ROOT", "VISITOR_UPLOADS_ROOT"] },
        "State": { "type": "string", "enum": ["OK", "DELETED"] },
        "Sorting": closed(&[], json!({
            "fieldName": { "type": "string", "maxLength": limits::SORT_FIELD_MAX_LEN },
            "order": schema("SortOrder") })),
        "CursorPaging": paging(),
        "PagingMetadata": closed(&["cursors"], json!({
            "cursors": closed(&[], json!({ "next": { "type": "string", "nullable": true,
                "maxLength": limits::CURSOR_MAX_LEN } })) })),
        "ExternalInfo": closed(&[], json!({
            "origin": { "type": "string", "maxLength": limits::EXTERNAL_ORIGIN_MAX_LEN },
            "externalIds": strings(limits::EXTERNAL_IDS_MAX_ITEMS, limits::EXTERNAL_ID_MAX_LEN) })),
        "Image": image,
        "ImageMedia": closed(&["image"], json!({ "image": schema("Image"), "previewImage": schema("Image") })),
        "VideoMedia": closed(&["id", "resolutions"], json!({
            "id": string, "filename": string,
            "resolutions": { "type": "array", "items": closed(&["url", "height", "width"], json!({
                "url": string, "height": { "type": "integer" }, "width": { "type": "integer" },
                "format": string })) } })),
        "AudioMedia": closed(&["id", "assets"], json!({
            "id": string, "assets": { "type": "array", "items": schema("AudioAsset") },
            "format": string, "sizeInBytes": int64 })),
        "AudioAsset": closed(&["id", "url"], json!({
            "id": string, "url": string, "filename": string })),
        "DocumentMedia": closed(&["id", "url"], json!({
            "id": string, "url": string, "filename": string })),
        "AssetMedia": asset,
        "FileMedia": closed(&[], json!({
            "image": schema("ImageMedia"), "vector": schema("ImageMedia"), "video": schema("VideoMedia"),
            "audio": schema("AudioMedia"), "document": schema("DocumentMedia"),
            "archive": schema("AssetMedia"), "model3d": schema("AssetMedia") })),
        "FileDescriptor": closed(&[], json!({
            "id": string, "displayName": { "type": "string", "maxLength": limits::DISPLAY_NAME_MAX_LEN },
            "url": string, "parentFolderId": string, "hash": string, "sizeInBytes": int64,
            "private": { "type": "boolean" }, "mediaType": schema("MediaType"), "media": schema("FileMedia"),
            "operationStatus": { "type": "string", "enum": ["PENDING", "READY", "FAILED"] },
            "sourceUrl": string, "thumbnailUrl": string, "labels": labels,
            "createdDate": date, "updatedDate": date, "siteId": string, "state": schema("State") })),
        "Folder": closed(&["id", "displayName", "parentFolderId"], json!({
            "id": string, "displayName": { "type": "string", "maxLength": limits::FOLDER_NAME_MAX_LEN },
            "parentFolderId": string, "createdDate": date, "updatedDate": date, "state": schema("State"),
            "siteId": string })),
    });
    let requests = json!({
        "ImportFileRequest": closed(&["url"], json!({
            "url": { "type": "string", "minLength": limits::URL_MIN_LEN,
                "pattern": "^https?://[^/?#\\s]+" },
            "mediaType": { "type": "string", "enum": ["IMAGE", "VIDEO", "AUDIO", "DOCUMENT", "VECTOR",
                "ARCHIVE", "MODEL3D"] },
            "displayName": name_of(limits::IMPORT_DISPLAY_NAME_MAX_LEN), "parentFolderId": folder_id,
            "filePath": file_path, "private": { "type": "boolean" },
            "labels": labels_of(limits::IMPORT_LABELS_MAX_ITEMS), "mimeType": mime,
            "externalInfo": schema("ExternalInfo"),
            "urlParams": { "type": "object", "additionalProperties": string },
            "urlHeaders": { "type": "object", "additionalProperties": string } })),
        "BulkImportFileRequest": closed(&["importFileRequests"], json!({
            "importFileRequests": { "type": "array", "minItems": 1, "maxItems": max_bulk_items,
                "items": schema("ImportFileRequest") },
            "returnEntity": { "type": "boolean" } })),
        "GetFileDescriptorsRequest": closed(&["fileIds"], json!({ "fileIds": ids(limits::GET_FILES_MAX_IDS) })),
        "FileIdsRequest": closed(&["fileIds"], json!({ "fileIds": ids(limits::ARCHIVE_MAX_FILES) })),
        "FolderIdsRequest": closed(&["folderIds"], json!({ "folderIds": folder_ids() })),
        "BulkDeleteFilesRequest": closed(&["fileIds"], json!({
            "fileIds": ids(limits::BULK_DELETE_MAX_IDS), "permanent": { "type": "boolean" } })),
        "BulkDeleteFoldersRequest": closed(&["folderIds"], json!({
            "folderIds": folder_ids(), "permanent": { "type": "boolean" } })),
        "FilePatch": update(json!({
            "id": { "type": "string", "minLength": 1, "maxLength": limits::FILE_ID_MAX_LEN },
            "displayName": display_name, "parentFolderId": string, "labels": labels }),
            &["displayName", "parentFolderId", "labels"]),
        "UpdateFileDescriptorRequest": object(&["file"], json!({ "file": schema("FilePatch") })),
        "UpdateFileRequest": update(json!({
            "fileId": { "type": "string", "maxLength": limits::FILE_ID_MAX_LEN },
            "displayName": display_name, "parentFolderId": string, "labels": labels }),
            &["displayName", "parentFolderId", "labels"]),
        "SearchFilesRequest": closed(&[], json!({
            "search": { "type": "string", "maxLength": limits::SEARCH_MAX_LEN },
            "rootFolder": schema("RootFolder"),
            "mediaTypes": { "type": "array", "maxItems": limits::SEARCH_MAX_MEDIA_TYPES,
                "items": schema("MediaTypeFilter") },
            "private": { "type": "boolean" }, "sort": schema("Sorting"), "paging": schema("CursorPaging") })),
        "SearchFoldersRequest": closed(&[], json!({
            "search": { "type": "string", "maxLength": limits::SEARCH_MAX_LEN },
            "rootFolder": schema("RootFolder"), "sort": schema("Sorting"), "paging": schema("CursorPaging") })),
        "QueryRequest": closed(&[], json!({ "query": closed(&[], json!({
            "filter": { "type": "object" },
            "sort": { "type": "array", "maxItems": limits::QUERY_SORT_MAX_ITEMS,
                "items": schema("Sorting") },
            "cursorPaging": schema("CursorPaging") })) })),
        "CreateFolderRequest": closed(&["displayName"], json!({
            "displayName": { "type": "string", "minLength": 1, "maxLength": limits::FOLDER_NAME_MAX_LEN },
            "parentFolderId": string })),
        "UpdateFolderRequest": object(&["folder"], json!({ "folder": update(json!({
            "id": string,
            "displayName": { "type": "string", "minLength": 1, "maxLength": limits::FOLDER_NAME_MAX_LEN },
            "parentFolderId": string }), &["displayName", "parentFolderId"]) })),
        "GenerateFileUploadUrlRequest": closed(&["mimeType"], upload),
        "GenerateFileResumableUploadUrlRequest": closed(&["mimeType"], resumable),
        "GenerateFileDownloadUrlRequest": closed(&["fileId"], download),
        "GenerateFileDownloadUrlOptions": closed(&[], download_options),
        "GenerateVideoStreamingUrlRequest": object(&["fileId"], json!({
            "fileId": { "type": "string", "minLength": 1, "maxLength": limits::FILE_ID_MAX_LEN },
            "format": stream_format })),
        "GenerateVideoStreamingUrlOptions": object(&[], json!({ "format": stream_format })),
    });
    let responses = json!({
        "FileResponse": closed(&["file"], json!({ "file": schema("FileDescriptor") })),
        "FilesResponse": closed(&["files"], json!({
            "files": { "type": "array", "items": schema("FileDescriptor") } })),
        "ListFilesResponse": closed(&["files", "nextCursor"], json!({
            "files": { "type": "array", "maxItems": 200, "items": schema("FileDescriptor") },
            "nextCursor": schema("PagingMetadata") })),
        "QueryFilesResponse": closed(&["files", "pagingMetadata"], json!({
            "files": { "type": "array", "items": schema("FileDescriptor") },
            "pagingMetadata": schema("PagingMetadata") })),
        "FolderResponse": closed(&["folder"], json!({ "folder": schema("Folder") })),
        "ListFoldersResponse": closed(&["folders", "nextCursor"], json!({
            "folders": { "type": "array", "items": schema("Folder") },
            "nextCursor": schema("PagingMetadata") })),
        "QueryFoldersResponse": closed(&["folders", "pagingMetadata"], json!({
            "folders": { "type": "array", "items": schema("Folder") },
            "pagingMetadata": schema("PagingMetadata") })),
        "ApplicationError": closed(&["code", "description"], json!({
            "code": string, "description": string, "data": { "type": "object" } })),
        "BulkImportFileResponse": closed(&["results", "bulkActionMetadata"], json!({
            "results": { "type": "array", "items": closed(&["itemMetadata"], json!({
                "itemMetadata": closed(&["id", "originalIndex", "success"], json!({
                    "id": { "type": "string", "nullable": true },
                    "originalIndex": { "type": "integer", "minimum": 0 },
                    "success": { "type": "boolean" }, "error": schema("ApplicationError") })),
                "item": schema("FileDescriptor") })) },
            "bulkActionMetadata": closed(&["totalSuccesses", "totalFailures", "undetailedFailures"], json!({
                "totalSuccesses": { "type": "integer", "minimum": 0 },
                "totalFailures": { "type": "integer", "minimum": 0 },
                "undetailedFailures": { "type": "integer", "minimum": 0 } })) })),
        "Empty": closed(&[], json!({})),
        "GenerateFileUploadUrlResponse": closed(&["uploadUrl"], json!({ "uploadUrl": string })),
        "GenerateFileResumableUploadUrlResponse": closed(&["uploadProtocol", "uploadUrl", "uploadToken"], json!({
            "uploadProtocol": { "type": "string", "enum": ["TUS"] }, "uploadUrl": string,
            "uploadToken": string })),
        "DownloadUrl": closed(&["url", "assetKey"], json!({ "url": string, "assetKey": string })),
        "GenerateFileDownloadUrlResponse": closed(&["downloadUrls"], json!({
            "downloadUrls": { "type": "array", "minItems": 1, "items": schema("DownloadUrl") } })),
        "GenerateDownloadUrlResponse": closed(&["downloadUrl"], json!({ "downloadUrl": string })),
        "GenerateVideoStreamingUrlResponse": closed(&["downloadUrl"], json!({ "downloadUrl": schema("DownloadUrl") })),
        "Error": closed(&["message", "details"], json!({
            "message": string,
            "details": closed(&[], json!({
                "applicationError": schema("ApplicationError"),
                "validationError": closed(&["fieldViolations"], json!({
                    "fieldViolations": { "type": "array", "minItems": 1, "items": closed(
                        &["field", "description", "violatedRule"], json!({
                            "field": string, "description": string, "violatedRule": string,
                            "ruleName": string, "data": { "type": "object" } })) } })) })) })),
    });
    let mut all = parts;
    for extra in [requests, responses] {
        if let (Value::Object(all), Value::Object(extra)) = (&mut all, extra) {
            all.extend(extra);
        }
    }
    all
}
