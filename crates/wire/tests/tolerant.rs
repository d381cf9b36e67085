//! The reader is tolerant: Wix's contract makes every answer field optional and grows its enums,
//! so answers that leave fields out, add ones this crate doesn't know, or carry enum values and
//! `media` shapes it has never seen still decode — the unknown parts as absent.

use serde_json::json;
use wix_media_wire::types::{
    BulkImportFileResponse, FileDescriptor, FilesResponse, ListFilesResponse, ListFoldersResponse,
    MediaType, OperationStatus,
};

/// Empty answers (`{}`, as proto3 JSON leaves empty lists and cursors out) are empty pages
/// with no next cursor.
#[test]
fn absent_lists_and_cursors_are_empty_and_last() {
    let folders: ListFoldersResponse = serde_json::from_value(json!({})).expect("folders");
    assert!(folders.folders.is_empty());
    assert_eq!(folders.next_cursor.next_cursor(), None);
    let files: ListFilesResponse =
        serde_json::from_value(json!({"nextCursor": {"cursors": {}}})).expect("files");
    assert!(files.files.is_empty());
    assert_eq!(files.next_cursor.next_cursor(), None);
    let polled: FilesResponse = serde_json::from_value(json!({"extra": 1})).expect("poll");
    assert!(polled.files.is_empty());
}

/// A new media type, status or state, a `media` of a shape never seen and unknown fields
/// leave the rest of a descriptor readable; an unknown status reads as absent (not final).
#[test]
fn unknown_values_read_as_absent() {
    let file: FileDescriptor = serde_json::from_value(json!({
        "id": "f1",
        "displayName": "a.hologram",
        "sizeInBytes": "12",
        "mediaType": "HOLOGRAM",
        "operationStatus": "QUARANTINED",
        "state": "ARCHIVED",
        "media": {"audio": {"assets": "not a list"}, "hologram": {"x": 1}},
        "internalTags": ["t"],
        "namespace": "NO_NAMESPACE"
    }))
    .expect("descriptor");
    assert_eq!(file.id.as_deref(), Some("f1"));
    assert_eq!(file.size_in_bytes, Some(12));
    assert_eq!(file.media_type, None);
    assert_eq!(file.operation_status, None);
    assert_eq!(file.state, None);
    assert_eq!(file.media, None);
}

/// Audio assets are Audio objects, as Wix sends them; every kind of `media` decodes.
#[test]
fn every_kind_of_media_decodes() {
    let kinds = [
        (
            "image",
            json!({"image": {"id": "i", "url": "u", "width": 2, "height": 1}}),
        ),
        ("vector", json!({"image": {"id": "v", "url": "u"}})),
        (
            "video",
            json!({"id": "v", "resolutions": [{"url": "u", "quality": "720p"}]}),
        ),
        (
            "audio",
            json!({"id": "a", "assets": [{"id": "a", "url": "u", "filename": "s.mp3", "assetKey": "src", "duration": 1.5}], "bitrate": 128}),
        ),
        (
            "document",
            json!({"id": "d", "url": "u", "filename": "g.pdf"}),
        ),
        ("archive", json!({"id": "z", "url": "u"})),
        (
            "model3d",
            json!({"id": "m", "url": "u", "thumbnail": {"id": "t", "url": "u"}}),
        ),
    ];
    for (kind, media) in kinds {
        let file: FileDescriptor = serde_json::from_value(json!({
            "id": "f", "operationStatus": "READY", "media": {kind: media}
        }))
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert!(file.media.is_some(), "{kind}");
        assert_eq!(file.operation_status, Some(OperationStatus::Ready));
    }
    let audio: FileDescriptor = serde_json::from_value(json!({
        "mediaType": "AUDIO",
        "media": {"audio": {"id": "a", "assets": [{"id": "a1", "url": "https://x/a.mp3"}]}}
    }))
    .expect("audio");
    assert_eq!(audio.media_type, Some(MediaType::Audio));
    let assets = audio.media.expect("media").audio.expect("audio").assets;
    assert_eq!(assets[0].url, "https://x/a.mp3");
}

/// A bulk answer that leaves out `originalIndex: 0`, `success: false` and empty metadata
/// still says which item succeeded.
#[test]
fn sparse_bulk_answers_decode() {
    let answer: BulkImportFileResponse = serde_json::from_value(json!({
        "results": [
            {"itemMetadata": {"id": "f0", "success": true}, "item": {"id": "f0"}},
            {"itemMetadata": {"originalIndex": 1, "error": {"code": "X"}}}
        ]
    }))
    .expect("bulk");
    assert_eq!(answer.results[0].item_metadata.original_index, 0);
    assert!(answer.results[0].item_metadata.success);
    assert!(!answer.results[1].item_metadata.success);
    assert_eq!(answer.bulk_action_metadata.total_successes, 0);
}
