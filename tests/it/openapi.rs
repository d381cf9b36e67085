//! The OpenAPI document at `/openapi.json`: it parses, and it can't drift from the router —
//! every operation it lists is served.

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

/// `/openapi.json` is outside the API guard: it needs no key and isn't counted in stats.
#[tokio::test]
async fn document_is_open_and_uncounted() {
    let s = TestServer::start_with(|c| c.api_keys = vec!["secret".to_string()]).await;
    document(&s).await;
    let stats = s.stats().await;
    let calls = stats["calls"].as_object().map_or(0, |c| c.len());
    assert_eq!(calls, 0, "stats counted: {stats}");
}
