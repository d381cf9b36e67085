//! The OpenAPI document at `/openapi.json`: it parses, and it can't drift from the router —
//! every operation it lists is served, and every API route the server registers is listed.

use std::collections::BTreeSet;
use std::path::Path;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::TestServer;

async fn document(s: &TestServer) -> Value {
    let resp = s
        .http
        .get(format!("{}/openapi.json", s.url))
        .send()
        .await
        .expect("GET /openapi.json");
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.expect("the document is JSON")
}

/// The document is OpenAPI 3.0 with paths, schemas and a 200 and 4XX response per operation.
#[tokio::test]
async fn document_parses() {
    let s = TestServer::start().await;
    let doc = document(&s).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.0."));
    assert_eq!(doc["servers"][0]["url"], "/site-media");
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 25, "only {} paths", paths.len());
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let responses = &op["responses"];
            assert!(responses["200"].is_object(), "{method} {path} has no 200");
            assert!(responses["4XX"].is_object(), "{method} {path} has no 4XX");
        }
    }
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    assert_eq!(
        schemas["FileDescriptor"]["properties"]["sizeInBytes"]["type"],
        "string"
    );
    assert_eq!(
        schemas["BulkImportFileRequest"]["properties"]["importFileRequests"]["maxItems"],
        100
    );
    assert_eq!(
        schemas["AudioMedia"]["properties"]["assets"]["items"]["$ref"],
        "#/components/schemas/AudioAsset"
    );
    let resumable = &schemas["GenerateFileResumableUploadUrlRequest"];
    assert!(resumable["properties"].get("externalInfo").is_none());
    assert_eq!(resumable["additionalProperties"], false);
    assert_eq!(resumable["properties"]["filePath"]["maxLength"], 100);
    assert_eq!(
        schemas["GenerateFileUploadUrlRequest"]["properties"]["labels"]["maxItems"],
        50
    );
}

/// The document follows the contract's shapes: folder id batches of 100, a folder's `siteId`,
/// paging by `cursors.next` alone (no `hasNext`), no `sizeInBytes` on images or videos, a
/// document without one, and Generate File Download URL's own name and asset-key limits.
#[tokio::test]
async fn document_follows_the_contract_shapes() {
    let s = TestServer::start().await;
    let doc = document(&s).await;
    let schemas = &doc["components"]["schemas"];
    let props = |name: &str| schemas[name]["properties"].clone();
    assert_eq!(
        props("BulkDeleteFoldersRequest")["folderIds"]["maxItems"],
        100
    );
    assert_eq!(props("FolderIdsRequest")["folderIds"]["maxItems"], 100);
    assert!(props("Folder")["siteId"].is_object());
    assert!(props("PagingMetadata").get("hasNext").is_none());
    assert!(props("Image").get("sizeInBytes").is_none());
    assert!(props("VideoMedia").get("sizeInBytes").is_none());
    assert!(props("DocumentMedia").get("sizeInBytes").is_none());
    assert_eq!(
        props("FileMedia")["document"]["$ref"],
        "#/components/schemas/DocumentMedia"
    );
    let download = props("GenerateFileDownloadUrlRequest");
    assert_eq!(download["downloadFileName"]["maxLength"], 100);
    assert_eq!(download["assetKeys"]["maxItems"], 100);
    assert_eq!(download["assetKeys"]["items"]["maxLength"], 100);
    assert_eq!(props("CursorPaging")["cursor"]["maxLength"], 16_000);
}

/// Every path and method the document lists answers something other than the router's
/// "No such endpoint" 404 or a 405, so the document can't name a route that isn't served.
#[tokio::test]
async fn every_documented_operation_is_routed() {
    let s = TestServer::start().await;
    let doc = document(&s).await;
    let base = doc["servers"][0]["url"].as_str().unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        // Any value fills a `{param}`: an unknown id is a 4xx of the handler, not of the router.
        let concrete = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "x" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        let url = format!("{}{base}{concrete}", s.url);
        for method in item.as_object().unwrap().keys() {
            let rb = match method.as_str() {
                "get" => s.http.get(&url),
                "post" => s.http.post(&url).json(&json!({})),
                "patch" => s.http.patch(&url).json(&json!({})),
                other => panic!("{path}: unexpected method {other}"),
            };
            let resp = rb.send().await.expect("request");
            let status = resp.status();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            assert_ne!(
                status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is not routed for that method"
            );
            assert_ne!(
                body["message"], "No such endpoint",
                "{method} {path} is documented but not routed"
            );
        }
    }
}

/// A path with every `{param}` written `{}`, so `{file_id}` and `{fileId}` compare equal.
fn path_shape(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "{}" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every API operation (method, path shape) the server's source registers: each
/// `.route("/v1/…", …)` under this crate's `src`, with the methods its method router names.
fn routes_in_source() -> BTreeSet<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("source dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(std::fs::read_to_string(&path).expect("source file"));
            }
        }
    }
    let mut sources = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut sources,
    );
    let mut routes = BTreeSet::new();
    for source in &sources {
        for (at, _) in source.match_indices(".route(") {
            // The call's text, up to its closing parenthesis.
            let rest = &source[at + ".route(".len()..];
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map_or(rest.len(), |(i, _)| i);
            let call = &rest[..end];
            let Some(path) = call.split('"').nth(1) else {
                continue;
            };
            if !path.starts_with("/v1/") {
                continue; // Not under /site-media: upload, download and local endpoints.
            }
            for method in ["get", "post", "patch", "put", "delete"] {
                let named = call.match_indices(&format!("{method}(")).any(|(i, _)| {
                    !call[..i]
                        .ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                });
                if named {
                    routes.insert((method.to_string(), path_shape(path)));
                }
            }
        }
    }
    routes
}

/// Sends `method` to `path` (its `{param}`s filled) with an empty JSON object.
async fn probe(s: &TestServer, base: &str, method: &str, path: &str) -> (StatusCode, Value) {
    let concrete = path
        .split('/')
        .map(|seg| if seg.starts_with('{') { "x" } else { seg })
        .collect::<Vec<_>>()
        .join("/");
    let url = format!("{}{base}{concrete}", s.url);
    let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
    let resp = s
        .http
        .request(method, &url)
        .json(&json!({}))
        .send()
        .await
        .expect("request");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The other way round: every API route the server's source registers is served (so the
/// scan reads the router right) and documented; and on each documented path, every method
/// the document leaves out is refused with a 405 — so no route goes undocumented.
#[tokio::test]
async fn every_routed_operation_is_documented() {
    let s = TestServer::start().await;
    let doc = document(&s).await;
    let base = doc["servers"][0]["url"].as_str().unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let documented: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            let shape = path_shape(path);
            item.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.clone(), shape.clone()))
        })
        .collect();
    let routed = routes_in_source();
    assert!(routed.len() >= 25, "the scan found only {routed:?}");
    for (method, path) in &routed {
        let (status, body) = probe(&s, base, method, path).await;
        assert!(
            status != StatusCode::METHOD_NOT_ALLOWED && body["message"] != "No such endpoint",
            "{method} {path} is in the source but not served: the scan is wrong"
        );
    }
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routed but not in the OpenAPI document: {undocumented:?}"
    );
    for (path, item) in paths {
        for method in ["get", "post", "patch", "put", "delete"] {
            if item.get(method).is_none() {
                let (status, _) = probe(&s, base, method, path).await;
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is served but not documented"
                );
            }
        }
    }
}

/// `/openapi.json` is outside the API guard: it needs no key and isn't counted in stats.
#[tokio::test]
async fn document_is_open_and_uncounted() {
    let s = TestServer::start_with(|c| c.api_keys = vec!["secret".to_string()]).await;
    document(&s).await;
    let stats = s.stats().await;
    let calls = stats["calls"].as_object().map_or(0, |c| c.len());
    assert_eq!(calls, 0, "stats counted: {stats}");
}
