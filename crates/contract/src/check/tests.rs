//! The check against a small inline contract: it agrees with a faithful statement, and each
//! planted drift is found and names its field.

use serde_json::{Value, json};
use wix_media_wire::contract::{
    Allowance, Carrier, Difference, Endpoint, Limit, Package, SDK_PACKAGES, Tag,
};
use wix_media_wire::types::{AudioAsset, AudioMedia, BulkImportFileRequest, ImportFileRequest};

use super::check;
use crate::sdk::{Contract, Sdk};

const META: &str = r#"
interface ImportFileRequest {
    /**
     * @format WEB_URL
     * @minLength 2
     */
    url: string;
    /**
     * @maxLength 100
     */
    filePath?: string | null;
    /**
     * @maxSize 500
     * @maxLength 200
     */
    labels?: string[] | null;
    /** Excluding OTHER. */
    mediaType?: MediaTypeWithLiterals;
}
interface BulkImportFileRequest {
    /**
     * @minSize 1
     * @maxSize 100
     */
    importFileRequests: ImportFileRequest[];
    returnEntity?: boolean | null;
}
interface BulkImportFileResponse {
    files?: FileDescriptor[];
}
interface FileDescriptor {
    /**
     * @readonly
     * @maxLength 1000
     */
    id?: string;
    /** @readonly */
    sizeInBytes?: string | null;
    media?: FileMedia;
}
interface FileMedia extends FileMediaMediaOneOf {
}
/** @oneof */
interface FileMediaMediaOneOf {
    audio?: AudioV2;
}
interface AudioV2 {
    id?: string;
    /** @maxSize 100 */
    assets?: Audio[];
}
interface Audio {
    id?: string;
    url?: string;
    filename?: string | null;
}
declare enum MediaType {
    IMAGE = "IMAGE",
    OTHER = "OTHER"
}
/** @enumType */
type MediaTypeWithLiterals = MediaType | 'IMAGE' | 'OTHER';
"#;

const TYPINGS: &str = r#"
/** @docsIgnore */
type BulkImportFileValidationErrors = {
    ruleName?: 'SITE_QUOTA_EXCEEDED';
};
"#;

const INDEX_JS: &str = r#"
function bulkImportFile(payload) {
  const metadata = {
    method: "POST",
    url: resolve({ protoPath: "/v1/bulk/files/import-v2", data: payload }),
  };
}
"#;

/// The fixture contract, with `edit` applied to its `meta.d.ts`.
fn contract_with(edit: impl Fn(&str) -> String) -> Contract {
    let mut c = Contract::default();
    let (_, files_version) = SDK_PACKAGES[0];
    let (_, folders_version) = SDK_PACKAGES[1];
    c.packages.insert(
        Package::Files,
        Sdk::from_sources(files_version, &edit(META), TYPINGS, INDEX_JS),
    );
    c.packages.insert(
        Package::Folders,
        Sdk::from_sources(folders_version, "", "", ""),
    );
    c
}

fn contract() -> Contract {
    contract_with(str::to_string)
}

fn audio_response(assets: Value) -> Value {
    json!({ "files": [{ "id": "f1", "media": { "audio": { "id": "a1", "assets": assets } } }] })
}

/// A faithful statement: built from the wire types, with the contract's limits and rule.
fn endpoint() -> Endpoint {
    let item = ImportFileRequest {
        url: "https://example.com/a.mp3".to_string(),
        file_path: Some("/music".to_string()),
        labels: Some(vec!["song".to_string()]),
        ..Default::default()
    };
    let audio = AudioMedia {
        id: "a1".to_string(),
        assets: vec![AudioAsset {
            id: "a1".to_string(),
            url: "https://music.example/a1.mp3".to_string(),
            filename: Some("a1.mp3".to_string()),
        }],
        format: None,
        size_in_bytes: None,
    };
    let limit = |path: &str, tag, value| Limit {
        path: path.to_string(),
        tag,
        value,
    };
    Endpoint {
        method: "bulkImportFile",
        package: Package::Files,
        http: "POST",
        path: "/v1/bulk/files/import-v2",
        carrier: Carrier::Body,
        request_type: "BulkImportFileRequest",
        response_type: "BulkImportFileResponse",
        request: serde_json::to_value(BulkImportFileRequest {
            import_file_requests: vec![item],
            return_entity: Some(true),
        })
        .expect("serializes"),
        response: audio_response(
            serde_json::to_value(&audio).expect("serializes")["assets"].clone(),
        ),
        limits: vec![
            limit("importFileRequests", Tag::MinSize, 1),
            limit("importFileRequests", Tag::MaxSize, 100),
            limit("importFileRequests[].url", Tag::MinLength, 2),
            limit("importFileRequests[].filePath", Tag::MaxLength, 100),
            limit("importFileRequests[].labels", Tag::MaxSize, 500),
            limit("importFileRequests[].labels", Tag::MaxLength, 200),
        ],
        rules: vec!["SITE_QUOTA_EXCEEDED"],
    }
}

fn lines(e: &Endpoint, c: &Contract, allowed: &[Allowance]) -> Vec<String> {
    check(c, std::slice::from_ref(e), allowed)
        .drifts
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// A statement that matches the contract has no drift, and the summary says what was checked.
#[test]
fn faithful_statement_has_no_drift() {
    let outcome = check(&contract(), &[endpoint()], &[]);
    assert!(outcome.drifts.is_empty(), "{:?}", outcome.drifts);
    assert_eq!(
        outcome.summary(),
        "1 endpoints, 14 fields, 6 limits checked, no drift"
    );
}

/// Planted: a limit the wire crate changed (filePath 100 → 1024).
#[test]
fn planted_changed_limit_is_named() {
    let mut e = endpoint();
    e.limits[3].value = 1024;
    assert_eq!(
        lines(&e, &contract(), &[]),
        [
            "bulkImportFile: importFileRequests[].filePath: limit maxLength is 1024 in wire, 100 in the contract"
        ]
    );
    // And the other way round: the contract's tag changed under an unchanged wire crate.
    let c = contract_with(|m| m.replace("@maxLength 100", "@maxLength 1024"));
    assert_eq!(
        lines(&endpoint(), &c, &[]),
        [
            "bulkImportFile: importFileRequests[].filePath: limit maxLength is 100 in wire, 1024 in the contract"
        ]
    );
}

/// Planted: a field the client sends that the contract lacks.
#[test]
fn planted_unknown_request_field_is_named() {
    let c = contract_with(|m| m.replace("filePath?: string | null;", ""));
    let found = lines(&endpoint(), &c, &[]);
    assert!(
        found.contains(&"bulkImportFile: importFileRequests[].filePath: the client sends it; the contract's ImportFileRequest has no such field".to_string()),
        "{found:?}"
    );
    assert!(
        found.contains(&"bulkImportFile: importFileRequests[].filePath: limit maxLength is 100 in wire, on a field the contract lacks".to_string()),
        "{found:?}"
    );
}

/// Planted: audio assets as strings where the contract has `Audio[]` (the bug these types had).
#[test]
fn planted_audio_assets_as_strings_are_named() {
    let mut e = endpoint();
    e.response = audio_response(json!(["https://music.example/a1.mp3"]));
    assert_eq!(
        lines(&e, &contract(), &[]),
        [
            "bulkImportFile response: files[].media.audio.assets[]: is string in wire, object (Audio) in the contract"
        ]
    );
    e.response = audio_response(json!("a1.mp3"));
    assert_eq!(
        lines(&e, &contract(), &[]),
        [
            "bulkImportFile response: files[].media.audio.assets: is string in wire, array of object (Audio) in the contract"
        ]
    );
}

/// Planted: a field the server emits that the contract lacks (reached through `extends`).
#[test]
fn planted_unknown_response_field_is_named() {
    let mut e = endpoint();
    e.response["files"][0]["media"]["audio"]["assets"][0]["quality"] = json!("high");
    assert_eq!(
        lines(&e, &contract(), &[]),
        [
            "bulkImportFile response: files[].media.audio.assets[].quality: the server emits it; the contract's Audio has no such field"
        ]
    );
}

/// Planted: a validation rule the contract documents that the wire crate doesn't know, and
/// one the wire crate claims that the contract doesn't document.
#[test]
fn planted_rule_differences_are_named() {
    let mut e = endpoint();
    e.rules = vec!["RESOURCE_NOT_FOUND"];
    assert_eq!(
        lines(&e, &contract(), &[]),
        [
            "bulkImportFile: validation rule SITE_QUOTA_EXCEEDED is in the contract, not in wire",
            "bulkImportFile: validation rule RESOURCE_NOT_FOUND is in wire, not in the contract",
        ]
    );
}

/// A contract limit on a field the client sends must be declared in wire.
#[test]
fn undeclared_contract_limit_is_named() {
    let mut e = endpoint();
    e.limits.retain(|l| l.tag != Tag::MaxSize);
    assert_eq!(
        lines(&e, &contract(), &[]),
        [
            "bulkImportFile: importFileRequests: limit maxSize is 100 in the contract, none in wire",
            "bulkImportFile: importFileRequests[].labels: limit maxSize is 500 in the contract, none in wire",
        ]
    );
}

/// Kinds, enum values, required fields and the HTTP binding are all compared.
#[test]
fn kinds_values_requirements_and_binding_are_compared() {
    let mut e = endpoint();
    e.request = json!({
        "importFileRequests": [{ "url": "u://x", "labels": "a", "mediaType": "AUDIO" }],
        "returnEntity": 1,
    });
    e.http = "PUT";
    assert_eq!(
        lines(&e, &contract(), &[]),
        [
            "bulkImportFile: HTTP binding is PUT /v1/bulk/files/import-v2 in wire, POST /v1/bulk/files/import-v2 in the contract",
            "bulkImportFile: importFileRequests[].labels: is string in wire, array of string in the contract",
            "bulkImportFile: importFileRequests[].mediaType: value `AUDIO` is not one of the contract's: IMAGE, OTHER",
            "bulkImportFile: returnEntity: is number in wire, boolean in the contract",
        ]
    );
}

/// A required field the client never sends is named.
#[test]
fn missing_required_field_is_named() {
    let mut e = endpoint();
    e.request = json!({ "importFileRequests": [{ "filePath": "/a" }] });
    e.limits.clear();
    let found = lines(&e, &contract(), &[]);
    assert!(
        found.contains(&"bulkImportFile: importFileRequests[].url: the contract's ImportFileRequest requires it; the client never sends it".to_string()),
        "{found:?}"
    );
}

/// Sending a `@readonly` field is a drift unless an allowance with a reason names it, and an
/// allowance that no longer matches anything is reported.
#[test]
fn readonly_fields_and_allowances() {
    let meta = |m: &str| {
        m.replace(
            "returnEntity?: boolean | null;",
            "/** @readonly */\n returnEntity?: boolean | null;",
        )
    };
    let c = contract_with(meta);
    assert_eq!(
        lines(&endpoint(), &c, &[]),
        ["bulkImportFile: returnEntity: the client sends it; the contract marks it @readonly"]
    );
    let allow = Allowance {
        method: "bulkImportFile",
        path: "returnEntity",
        difference: Difference::SendsReadonly,
        reason: "a test",
    };
    assert!(lines(&endpoint(), &c, &[allow]).is_empty());
    assert_eq!(
        lines(&endpoint(), &contract(), &[allow]),
        [
            "bulkImportFile: returnEntity: the allowed difference SendsReadonly no longer occurs; remove it from ALLOWED"
        ]
    );
}

/// A contract of another version than the one the wire crate cites is a drift.
#[test]
fn version_mismatch_is_named() {
    let mut c = contract();
    c.packages
        .get_mut(&Package::Files)
        .expect("files package")
        .version = "1.0.999".to_string();
    let found = lines(&endpoint(), &c, &[]);
    assert_eq!(
        found,
        [format!(
            "@wix/auto_sdk_media_files: the wire crate cites {}, the contract read is 1.0.999",
            SDK_PACKAGES[0].1
        )]
    );
}
