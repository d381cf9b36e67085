//! moto's S3 server (installed by `scripts/test`) started on a free port of 127.0.0.1 for a
//! test, and the few S3 calls the tests make to it directly: buckets, versioning, listings.

use std::process::{Child, Command, Stdio};

use crate::support::spawn_listening;

/// moto's server, stopped (and reaped) when dropped.
pub struct Moto {
    child: Child,
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts moto, open to any credentials.
pub async fn start() -> Moto {
    start_with(&[]).await
}

/// Starts moto with `env` (e.g. `INITIAL_NO_AUTH_ACTION_COUNT=0`: check every request's
/// credentials) on a free port and waits until it answers. moto binds the port
/// itself, so another test may take it first: a moto that exits is started again on another
/// port, and only moto's own API counts as an answer.
pub async fn start_with(env: &[(&str, &str)]) -> Moto {
    media_migrate::install_crypto_provider();
    let exe = crate::tools::moto_server();
    let http = reqwest::Client::new();
    let (child, port) = spawn_listening(
        |port| {
            let mut cmd = Command::new(&exe);
            cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .envs(env.iter().copied())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            cmd
        },
        async |port| {
            http.get(format!("http://127.0.0.1:{port}/moto-api/data.json"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        },
    )
    .await;
    Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

/// One object of a listing.
#[derive(Debug, Clone)]
pub struct Object {
    pub key: String,
    pub size: u64,
    pub etag: String,
}

/// The text between `<tag>` and `</tag>` in `xml`.
fn field<'a>(xml: &'a str, tag: &str) -> &'a str {
    xml.split(&format!("<{tag}>"))
        .nth(1)
        .and_then(|s| s.split(&format!("</{tag}>")).next())
        .unwrap_or_default()
}

impl Moto {
    async fn get(&self, path: &str) -> String {
        let r = reqwest::Client::new()
            .get(format!("{}/{path}", self.url))
            .send()
            .await
            .expect("moto answers");
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.text().await.expect("body")
    }

    pub async fn create_bucket(&self, bucket: &str) {
        let r = reqwest::Client::new()
            .put(format!("{}/{bucket}", self.url))
            .send()
            .await
            .expect("create bucket");
        assert!(r.status().is_success(), "{}", r.status());
    }

    /// Turns versioning on: every PUT of a key then leaves a version, so the tests can count
    /// uploads, and a DELETE leaves a marker.
    pub async fn enable_versioning(&self, bucket: &str) {
        let r = reqwest::Client::new()
            .put(format!("{}/{bucket}?versioning", self.url))
            .body(
                "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Status>Enabled</Status></VersioningConfiguration>",
            )
            .send()
            .await
            .expect("versioning");
        assert!(r.status().is_success(), "{}", r.status());
    }

    /// The objects the bucket holds now.
    pub async fn objects(&self, bucket: &str) -> Vec<Object> {
        let body = self.get(&format!("{bucket}?list-type=2")).await;
        body.split("<Contents>")
            .skip(1)
            .map(|c| Object {
                key: field(c, "Key").to_string(),
                size: field(c, "Size").parse().expect("size"),
                etag: field(c, "ETag").replace("&#34;", "").replace('"', ""),
            })
            .collect()
    }

    /// The keys the bucket holds now.
    pub async fn keys(&self, bucket: &str) -> Vec<String> {
        self.objects(bucket)
            .await
            .into_iter()
            .map(|o| o.key)
            .collect()
    }

    /// The key of every version ever stored in a versioned bucket (one per PUT; delete
    /// markers left out).
    pub async fn versions(&self, bucket: &str) -> Vec<String> {
        let body = self.get(&format!("{bucket}?versions")).await;
        body.split("<Version>")
            .skip(1)
            .map(|v| field(v, "Key").to_string())
            .collect()
    }
}
