//! Many sites behind one server: each site's storage, keys, rate limit and stats are its own;
//! API calls are routed by `wix-site-id`, the URLs a site hands out by their `/_site/<id>`
//! prefix, `/_local/stats` by `?site=`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use wix_media_manager::sites::SiteConfig;

use crate::support::{TestServer, files_held, png, send, timerless_client};

fn site(id: &str, key: &str, rpm: Option<u32>) -> SiteConfig {
    SiteConfig {
        id: id.into(),
        api_keys: vec![key.into()],
        rate_limit_per_minute: rpm,
    }
}

/// A client of one site of `s`: its id and the key it presents.
struct SiteClient<'a> {
    s: &'a TestServer,
    id: &'a str,
    key: &'a str,
}

impl SiteClient<'_> {
    fn req(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        rb.header("Authorization", self.key)
            .header("wix-site-id", self.id)
    }
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        send(self.req(self.s.http.get(self.s.api(path)))).await
    }
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        send(self.req(self.s.http.post(self.s.api(path)).json(&body))).await
    }
    async fn stats(&self) -> Value {
        let url = format!("{}/_local/stats?site={}", self.s.url, self.id);
        let (status, v) = send(self.s.http.get(url).header("Authorization", self.key)).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v
    }
}

async fn two_sites(rpm_b: Option<u32>) -> TestServer {
    TestServer::start_with(|c| {
        c.sites = vec![
            site("shop-a", "key-a", None),
            site("shop-b", "key-b", rpm_b),
        ];
        c.rate_limit_burst = 3;
    })
    .await
}

/// A file uploaded to one site is invisible in the other: not listed, not found by id, not
/// counted; each site keeps its storage in its own directory, and the URLs it hands out
/// carry its prefix.
#[tokio::test]
async fn sites_are_isolated() {
    let s = two_sites(None).await;
    let a = SiteClient {
        s: &s,
        id: "shop-a",
        key: "key-a",
    };
    let b = SiteClient {
        s: &s,
        id: "shop-b",
        key: "key-b",
    };
    let (status, v) = a
        .post(
            "/v1/files/generate-upload-url",
            json!({"mimeType": "image/png"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let upload = v["uploadUrl"].as_str().expect("uploadUrl");
    assert!(
        upload.starts_with(&format!("{}/_site/shop-a/_upload/put/", s.url)),
        "{upload}"
    );
    let (status, v) = send(
        s.http
            .put(format!("{upload}?filename=a.png"))
            .header("Content-Type", "image/png")
            .body(png(4, 4)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let id = v["file"]["id"].as_str().expect("id").to_string();
    let by_id = format!("/v1/files/get-file-by-id?fileId={id}");
    assert_eq!(a.get(&by_id).await.0, StatusCode::OK);
    let (status, v) = b.get(&by_id).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "unknown to site b: {v}");
    let listed = |v: &Value| v["files"].as_array().map_or(0, Vec::len);
    let (_, va) = a.get("/v1/files?parentFolderId=media-root").await;
    let (_, vb) = b.get("/v1/files?parentFolderId=media-root").await;
    assert_eq!((listed(&va), listed(&vb)), (1, 0), "{va} {vb}");
    assert_eq!(files_held(&a.stats().await), 1);
    assert_eq!(files_held(&b.stats().await), 0);
    let data = s.dir.path().join("data/sites");
    assert!(data.join("shop-a/media-manager.sqlite").is_file());
    assert!(data.join("shop-b/media-manager.sqlite").is_file());
    // A folder made in B is B's alone.
    let (status, v) = b
        .post("/v1/folders", json!({"displayName": "only-b"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (_, fa) = a.get("/v1/folders?parentFolderId=media-root").await;
    assert!(!fa.to_string().contains("only-b"), "{fa}");
}

/// A site's key opens that site only: A's key for B is 401, B's stats refuse it too, an
/// unknown site is 403 and a call naming no site 400 — and no answer echoes the key.
#[tokio::test]
async fn a_key_opens_its_own_site_only() {
    let s = two_sites(None).await;
    let a_for_b = SiteClient {
        s: &s,
        id: "shop-b",
        key: "key-a",
    };
    let (status, v) = a_for_b.get("/v1/folders").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    assert!(!v.to_string().contains("key-a"), "{v}");
    let url = format!("{}/_local/stats?site=shop-b", s.url);
    let (status, _) = send(s.http.get(url).header("Authorization", "key-a")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let nobody = SiteClient {
        s: &s,
        id: "shop-z",
        key: "key-a",
    };
    assert_eq!(nobody.get("/v1/folders").await.0, StatusCode::FORBIDDEN);
    let (status, v) = send(
        s.http
            .get(s.api("/v1/folders"))
            .header("Authorization", "key-a"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (status, _) = send(s.http.get(format!("{}/_local/stats", s.url))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The site named by its header, as API calls name it.
    let stats = |id: &str, key: &str| {
        s.http
            .get(format!("{}/_local/stats", s.url))
            .header("wix-site-id", id)
            .header("Authorization", key)
    };
    assert_eq!(
        send(stats("shop-b", "key-a")).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, v) = send(stats("shop-a", "key-a")).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let a = SiteClient {
        s: &s,
        id: "shop-a",
        key: "key-a",
    };
    assert_eq!(a.get("/v1/folders").await.0, StatusCode::OK);
}

/// Each site has its own bucket and counters: B's limit (burst 3) throttles B alone, and each
/// site's stats count its own calls and 429s.
#[tokio::test(start_paused = true)]
async fn rate_limits_and_stats_are_per_site() {
    let s = two_sites(Some(1)).await;
    let http = timerless_client();
    let call = |id: &'static str, key: &'static str| {
        let rb = http
            .get(s.api("/v1/folders"))
            .header("Authorization", key)
            .header("wix-site-id", id);
        async move { rb.send().await.expect("sent").status() }
    };
    let mut b_statuses = Vec::new();
    for _ in 0..6 {
        assert_eq!(call("shop-a", "key-a").await, StatusCode::OK);
        b_statuses.push(call("shop-b", "key-b").await);
    }
    let b_ok = b_statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(b_ok, 3, "B's burst of 3, then 429: {b_statuses:?}");
    assert!(
        b_statuses[3..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS)
    );
    let http_stats = |id: &str, key: &str| {
        let url = format!("{}/_local/stats?site={id}", s.url);
        let rb = http.get(url).header("Authorization", key.to_string());
        async move {
            rb.send()
                .await
                .expect("sent")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let sa = http_stats("shop-a", "key-a").await;
    let sb = http_stats("shop-b", "key-b").await;
    assert_eq!(
        (sa["totalCalls"].as_u64(), sa["throttled"].as_u64()),
        (Some(6), Some(0))
    );
    assert_eq!(
        (sb["totalCalls"].as_u64(), sb["throttled"].as_u64()),
        (Some(6), Some(3))
    );
}
