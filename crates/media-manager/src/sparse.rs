//! Sparse answers (`ServerConfig::sparse_answers`): one transform over every JSON 200 answer
//! of the API and the upload URLs, making it as lean and as foreign as Wix's contract allows.
//! It leaves out what proto3 JSON leaves out — empty lists and strings, `false`, `0`, `null`,
//! and objects that end up empty — and adds fields no client knows: `x-local-extra` at the top
//! and `internalTags` and `namespace` (Wix's own internal fields) in each file and folder.
//! Handlers know nothing of it; a client that reads only what the contract promises passes.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::SharedState;
use super::error::WixError;

/// Keys whose value is a file or folder (or a list of them).
const ENTITY_KEYS: [&str; 5] = ["file", "files", "folder", "folders", "item"];

pub async fn sparse_answers(
    State(state): State<SharedState>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    if !state.config.sparse_answers || response.status() != StatusCode::OK || !is_json(&response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => return axum::response::IntoResponse::into_response(WixError::internal(e)),
    };
    let Ok(value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let sparse = serde_json::to_vec(&sparsify(value)).expect("a JSON value serialises");
    parts.headers.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(sparse.len() as u64),
    );
    Response::from_parts(parts, Body::from(sparse))
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// A whole answer made sparse: defaults left out, unknown fields added.
pub fn sparsify(answer: Value) -> Value {
    let mut top = match answer {
        Value::Object(map) => prune_object(map),
        other => return other,
    };
    add_unknown(&mut top);
    top.insert(
        "x-local-extra".to_string(),
        json!({ "note": "a field no client knows; readers must ignore it", "revision": 1 }),
    );
    Value::Object(top)
}

/// A value as proto3 JSON sends it, or `None` when it would be left out.
fn prune(value: Value) -> Option<Value> {
    match value {
        Value::Null | Value::Bool(false) => None,
        Value::Number(n) if n.as_f64() == Some(0.0) => None,
        Value::String(s) if s.is_empty() => None,
        Value::Array(items) if items.is_empty() => None,
        // A list keeps its every item (a repeated field can't skip one); objects in it are
        // pruned inside.
        Value::Array(items) => Some(Value::Array(
            items
                .into_iter()
                .map(|item| match item {
                    Value::Object(map) => Value::Object(prune_object(map)),
                    other => other,
                })
                .collect(),
        )),
        Value::Object(map) => {
            let map = prune_object(map);
            (!map.is_empty()).then_some(Value::Object(map))
        }
        other => Some(other),
    }
}

fn prune_object(map: Map<String, Value>) -> Map<String, Value> {
    map.into_iter()
        .filter_map(|(k, v)| prune(v).map(|v| (k, v)))
        .collect()
}

/// Adds Wix's internal fields to every file and folder object, at any depth.
fn add_unknown(map: &mut Map<String, Value>) {
    for (key, value) in map.iter_mut() {
        let entity = ENTITY_KEYS.contains(&key.as_str());
        match value {
            Value::Object(inner) => {
                if entity {
                    mark(inner);
                }
                add_unknown(inner);
            }
            Value::Array(items) => {
                for item in items.iter_mut() {
                    if let Value::Object(inner) = item {
                        if entity {
                            mark(inner);
                        }
                        add_unknown(inner);
                    }
                }
            }
            _ => {}
        }
    }
}

fn mark(entity: &mut Map<String, Value>) {
    entity.insert("internalTags".to_string(), json!(["a"]));
    entity.insert("namespace".to_string(), json!("NO_NAMESPACE"));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Defaults go, list items stay, objects emptied go, and the unknown fields are added.
    #[test]
    fn leaves_out_defaults_and_adds_unknowns() {
        let answer = json!({
            "folders": [],
            "nextCursor": { "cursors": { "next": null } },
        });
        assert_eq!(
            sparsify(answer),
            json!({ "x-local-extra": { "note": "a field no client knows; readers must ignore it",
                                       "revision": 1 } })
        );
        let answer = json!({ "results": [ {
            "itemMetadata": { "id": "f", "originalIndex": 0, "success": true },
            "item": { "id": "f", "labels": [], "private": false, "sizeInBytes": "0",
                      "media": { "image": { "image": { "width": 0, "url": "u" } } } } } ] });
        let got = sparsify(answer);
        let item = &got["results"][0];
        assert_eq!(item["itemMetadata"], json!({ "id": "f", "success": true }));
        assert_eq!(
            item["item"],
            json!({ "id": "f", "sizeInBytes": "0", "media": { "image": { "image": { "url": "u" } } },
                    "internalTags": ["a"], "namespace": "NO_NAMESPACE" })
        );
        assert!(got.get("x-local-extra").is_some());
    }
}
