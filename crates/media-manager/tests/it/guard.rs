//! What every API call passes through: API keys, site id, the rate limit, the injected
//! faults (latency, 503, lost responses, performed then 502/503, item failures, and those of
//! the upload URLs) and the counters that show them.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use wix_media_manager::ServerConfig;

use crate::support::{TestServer, files_held, send, timerless_client};

/// With keys configured, a missing key is 401, a wrong key 401, a wrong site 403; the key
/// works raw or with `Bearer`, and the error never echoes the key.
#[tokio::test]
async fn api_keys_and_site_id() {
    let s = TestServer::start_with(|c| {
        c.api_keys = vec!["key-one".into(), "key-two".into()];
        c.site_id = "site-1".into();
    })
    .await;
    let url = s.api("/v1/folders");
    let (status, v) = send(s.http.get(&url)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(v["details"]["applicationError"]["code"], "UNAUTHENTICATED");
    let (status, v) = send(s.http.get(&url).header("Authorization", "secret-guess")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        !v.to_string().contains("secret-guess"),
        "error echoes the key: {v}"
    );
    let (status, _) = send(
        s.http
            .get(&url)
            .header("Authorization", "key-two")
            .header("wix-site-id", "site-1"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(
        s.http
            .get(&url)
            .header("Authorization", "Bearer key-one")
            .header("wix-site-id", "site-1"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, v) = send(
        s.http
            .get(&url)
            .header("Authorization", "key-one")
            .header("wix-site-id", "site-2"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
}

/// Beyond the rate limit the server answers 429 with Retry-After and a Wix error body, serves
/// again once a token is earned and not a moment before, and counts every call, throttled
/// ones included. The clock is paused: the bucket refills only when the test advances it.
#[tokio::test(start_paused = true)]
async fn rate_limit_answers_429_with_retry_after() {
    let s = TestServer::start_with(|c| {
        c.rate_limit_per_minute = Some(60);
        c.rate_limit_burst = 5;
    })
    .await;
    let http = timerless_client();
    let call = || async {
        let r = http.get(s.api("/v1/folders")).send().await.unwrap();
        let status = r.status().as_u16();
        let retry_after = r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        if status == 429 {
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(
                body["details"]["applicationError"]["code"],
                "RESOURCE_EXHAUSTED"
            );
        }
        (status, retry_after)
    };
    let t0 = tokio::time::Instant::now();
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let (status, retry_after) = call().await;
        statuses.push(status);
        if status == 429 {
            assert_eq!(retry_after.as_deref(), Some("1"), "a token a second");
        }
    }
    assert_eq!(statuses, vec![200, 200, 200, 200, 200, 429, 429, 429]);
    assert_eq!(t0.elapsed(), Duration::ZERO, "the clock stood still");
    tokio::time::advance(Duration::from_millis(999)).await;
    assert_eq!(call().await, (429, Some("1".to_string())), "no token yet");
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(call().await.0, 200, "a token earned in a second");
    assert_eq!(call().await.0, 429, "and only one");
    let stats: serde_json::Value = http
        .get(format!("{}/_local/stats", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["throttled"], 5);
    assert_eq!(stats["calls"]["GET /site-media/v1/folders"], 11);
    assert_eq!(stats["totalCalls"], 11);
}

/// `--error-rate 1` answers 503 with an empty body before doing anything.
#[tokio::test]
async fn error_rate_fails_before_work() {
    let s = TestServer::start_with(|c| c.faults.error_rate = 1.0).await;
    let (status, body) = s
        .post(
            "/v1/files/import",
            json!({"url": "http://127.0.0.1:9/a.png"}),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.is_null(), "system errors have empty bodies");
    let stats = s.stats().await;
    assert_eq!(stats["faults"]["error503"], 1);
    assert!(
        stats["files"].as_object().unwrap().is_empty(),
        "nothing was created: {stats}"
    );
}

/// `--lost-response-rate 1` performs the call, then drops the connection without an answer.
#[tokio::test]
async fn lost_response_performs_then_drops() {
    let s = TestServer::start_with(|c| c.faults.lost_response_rate = 1.0).await;
    let result = s
        .http
        .post(s.api("/v1/bulk/files/import-v2"))
        .json(&json!({"importFileRequests": [{"url": "http://127.0.0.1:9/a.png"}, {"url": "http://127.0.0.1:9/b.png"}]}))
        .send()
        .await;
    let err = result.expect_err("the response must be lost");
    assert!(!err.is_status(), "no HTTP status may arrive: {err}");
    let stats = s.stats().await;
    assert_eq!(stats["faults"]["lostResponse"], 1);
    let files = files_held(&stats);
    assert_eq!(files, 2, "the work was done: {stats}");
}

/// `--performed-error-rate 1`: the import is performed, then answered 502 or 503 with no Wix
/// body, as a gateway that lost the backend's answer.
#[tokio::test]
async fn performed_error_does_the_work_then_answers_5xx() {
    let s = TestServer::start_with(|c| c.faults.performed_error_rate = 1.0).await;
    let mut statuses = Vec::new();
    for n in 0..6 {
        let r = s
            .http
            .post(s.api("/v1/bulk/files/import-v2"))
            .json(&json!({"importFileRequests": [{"url": format!("http://127.0.0.1:9/{n}.png")}]}))
            .send()
            .await
            .expect("an answer");
        statuses.push(r.status().as_u16());
    }
    assert!(
        statuses.iter().all(|s| [502, 503].contains(s)),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&502) && statuses.contains(&503),
        "both statuses: {statuses:?}"
    );
    let stats = s.stats().await;
    assert_eq!(stats["faults"]["performedError"], 6, "{stats}");
    let files = files_held(&stats);
    assert_eq!(files, 6, "the work was done: {stats}");
}

/// The faults of a route strike upload URLs too: a 503 before the upload stores nothing; a
/// performed upload answered 5xx has made its file. Both are counted among `uploadFaults`.
/// The upload URL is handed out by a quiet server, then the same data is served with faults.
#[tokio::test]
async fn upload_urls_meet_the_route_faults() {
    type Case = (&'static str, fn(&mut ServerConfig), u64);
    let cases: [Case; 2] = [
        ("error503", |c| c.faults.error_rate = 1.0, 0),
        ("performedError", |c| c.faults.performed_error_rate = 1.0, 1),
    ];
    for (kind, faults, files) in cases {
        let quiet = TestServer::start().await;
        let v = quiet
            .ok_post(
                "/v1/files/generate-upload-url",
                json!({"mimeType": "image/png", "fileName": "u.png"}),
            )
            .await;
        let url = url::Url::parse(v["uploadUrl"].as_str().expect("upload URL")).expect("a URL");
        let s = quiet.restart(faults).await;
        let r = s
            .http
            .put(format!("{}{}?filename=u.png", s.url, url.path()))
            .header("Content-Type", "image/png")
            .body(crate::support::png(4, 4))
            .send()
            .await
            .expect("an answer");
        assert!(r.status().is_server_error(), "{kind}: {}", r.status());
        let stats = s.stats().await;
        assert_eq!(stats["uploadFaults"][kind], 1, "{kind}: {stats}");
        assert_eq!(stats["faults"][kind], 1, "{kind}: {stats}");
        let held = files_held(&stats);
        assert_eq!(held, files, "{kind}: {stats}");
    }
}

/// `--item-failure-rate 1` fails every bulk item with a retryable code and creates nothing.
#[tokio::test]
async fn item_failures_are_per_item_and_retryable() {
    let s = TestServer::start_with(|c| c.faults.item_failure_rate = 1.0).await;
    let v = s
        .ok_post(
            "/v1/bulk/files/import-v2",
            json!({"importFileRequests": [{"url": "http://127.0.0.1:9/a.png"}, {"url": "http://127.0.0.1:9/b.png"}]}),
        )
        .await;
    for r in v["results"].as_array().unwrap() {
        assert_eq!(r["itemMetadata"]["success"], false);
        assert_eq!(r["itemMetadata"]["error"]["code"], "UNAVAILABLE");
    }
    assert_eq!(v["bulkActionMetadata"]["totalFailures"], 2);
    let stats = s.stats().await;
    assert_eq!(stats["faults"]["itemFailure"], 2);
    assert!(stats["files"].as_object().unwrap().is_empty());
}

/// `--latency` delays every API call by at least the given time and counts it; measured on a
/// paused tokio clock, which moves only by the server's own wait.
#[tokio::test(start_paused = true)]
async fn latency_delays_calls() {
    let s = TestServer::start_with(|c| c.faults.latency = Some("150".parse().unwrap())).await;
    let started = tokio::time::Instant::now();
    let r = timerless_client()
        .get(s.api("/v1/folders"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let waited = started.elapsed();
    assert!(
        (Duration::from_millis(150)..Duration::from_millis(160)).contains(&waited),
        "{waited:?}"
    );
    let stats: serde_json::Value = timerless_client()
        .get(format!("{}/_local/stats", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["faults"]["latency"], 1);
}

/// The same seed gives the same faults to the same sequence of calls.
#[tokio::test]
async fn faults_repeat_with_the_same_seed() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let s = TestServer::start_with(|c| {
            c.faults.seed = 42;
            c.faults.error_rate = 0.5;
        })
        .await;
        let mut statuses = Vec::new();
        for _ in 0..24 {
            statuses.push(s.get("/v1/folders").await.0.as_u16());
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&503) && runs[0].contains(&200),
        "{:?}",
        runs[0]
    );
}

/// A method a path doesn't serve answers a Wix-shaped 405, not an empty body.
#[tokio::test]
async fn wrong_method_is_a_wix_405() {
    let s = TestServer::start().await;
    let (status, v) = send(s.http.put(s.api("/v1/folders"))).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        v["details"]["applicationError"]["code"],
        "METHOD_NOT_ALLOWED"
    );
}

/// Unknown paths answer a Wix-shaped 404.
#[tokio::test]
async fn unknown_paths_are_wix_404s() {
    let s = TestServer::start_with(|c| c.api_keys = vec!["k".into()]).await;
    let (status, v) = send(
        s.http
            .get(format!("{}/site-media/v1/nothing-here", s.url))
            .header("Authorization", "k")
            .header("wix-site-id", "local-site"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(v["details"]["applicationError"]["code"], "NOT_FOUND");
    assert!(s.stats().await["calls"].is_object());
}

/// Issue 13, hole 10: on a keyed server `/_local/stats` (what clients spend, what they call)
/// needs a key; a keyless server still serves it to anyone on loopback.
#[tokio::test]
async fn hole_10_stats_requires_the_key() {
    let s = TestServer::start_with(|c| c.api_keys = vec!["k".into()]).await;
    let stats = format!("{}/_local/stats", s.url);
    let (status, v) = send(s.http.get(&stats)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    let (status, _) = send(s.http.get(&stats).header("Authorization", "wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, v) = send(s.http.get(&stats).header("Authorization", "k")).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let open = TestServer::start().await;
    let (status, _) = send(open.http.get(format!("{}/_local/stats", open.url))).await;
    assert_eq!(status, StatusCode::OK);
}

/// Issue 13, hole 10: Wix requires `wix-site-id` with an API key; a keyed server answers 400
/// without it. A keyless server (the local default) takes calls without it.
#[tokio::test]
async fn hole_10_missing_site_id_refused_when_keyed() {
    let s = TestServer::start_with(|c| c.api_keys = vec!["k".into()]).await;
    let (status, v) = send(
        s.http
            .get(s.api("/v1/folders"))
            .header("Authorization", "k"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["details"]["applicationError"]["code"], "MISSING_SITE_ID");
    let (status, _) = s.get("/v1/folders").await;
    assert_eq!(status, StatusCode::OK, "with the site id");
    let open = TestServer::start().await;
    let (status, _) = send(open.http.get(open.api("/v1/folders"))).await;
    assert_eq!(status, StatusCode::OK);
}

/// Issue 13, hole 10: `max_json_body_bytes` is the JSON body limit (413 past it, in the Wix
/// shape), not axum's 2 MiB default: a 3 MiB body passes the default 4 MiB limit.
#[tokio::test]
async fn hole_10_json_body_limit_is_the_configured_one() {
    let s = TestServer::start_with(|c| c.max_json_body_bytes = 1024).await;
    let big = json!({"search": "x".repeat(2000)});
    let (status, v) = s.post("/v1/folders/search", big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_eq!(
        v["details"]["applicationError"]["code"],
        "PAYLOAD_TOO_LARGE"
    );
    let roomy = TestServer::start().await;
    let padded = json!({"fileIds": ["x"], "pad": "y".repeat(3 << 20)});
    let (status, v) = roomy.post("/v1/files/get-files", padded).await;
    assert_ne!(status, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_ne!(
        v["details"]["applicationError"]["code"], "PAYLOAD_TOO_LARGE",
        "{v}"
    );
}
