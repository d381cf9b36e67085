//! `run --stage s3://bucket/prefix`: local files staged in a real S3-compatible store (moto in
//! server mode on 127.0.0.1, installed by `.ci/run`) and imported through Bulk Import from
//! presigned URLs — each distinct content stored once, the objects deleted once READY — and a
//! stage that can't be used stopping the run before any import.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{TestServer, bin, png, read_csv, run_to_end};

const UPLOAD_URL: &str = "POST /site-media/v1/files/generate-upload-url";
const BULK_IMPORT: &str = "POST /site-media/v1/bulk/files/import-v2";

/// moto's server, stopped (and reaped) when dropped.
struct Moto {
    child: Child,
    url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_bin() -> PathBuf {
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".cache/media-migrate/venv-moto/bin/moto_server")
}

/// Starts moto on a free port of 127.0.0.1 and waits (up to 30 s) until it answers.
async fn start_moto() -> Moto {
    media_migrate::install_crypto_provider();
    let exe = moto_bin();
    assert!(
        exe.exists(),
        "{} is missing: run .ci/run (it installs moto[server] into that venv)",
        exe.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(&exe)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server starts");
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if http.get(&moto.url).send().await.is_ok() {
            return moto;
        }
        assert!(
            Instant::now() < deadline,
            "moto did not answer on {}",
            moto.url
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Moto {
    async fn create_bucket(&self, bucket: &str) {
        let r = reqwest::Client::new()
            .put(format!("{}/{bucket}", self.url))
            .send()
            .await
            .expect("create bucket");
        assert!(r.status().is_success(), "{}", r.status());
    }

    /// The keys the bucket holds.
    async fn keys(&self, bucket: &str) -> Vec<String> {
        let body = reqwest::Client::new()
            .get(format!("{}/{bucket}?list-type=2", self.url))
            .send()
            .await
            .expect("list bucket")
            .text()
            .await
            .expect("listing");
        body.split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next())
            .map(str::to_string)
            .collect()
    }
}

/// `n` PNG files under `work/photos` (the last two with the same bytes as the first) and a
/// manifest of them into `/shoot`; their names and sizes.
fn photos(work: &Path, n: u32) -> Vec<(String, u64)> {
    let dir = work.join("photos");
    std::fs::create_dir_all(&dir).expect("photos dir");
    let mut csv = String::from("source,folder_path\n");
    let mut files = Vec::new();
    for i in 0..n {
        let name = format!("p{i}.png");
        let bytes = if i + 2 >= n { png(8, 5) } else { png(8 + i, 5) };
        std::fs::write(dir.join(&name), &bytes).expect("photo");
        csv.push_str(&format!("photos/{name},/shoot\n"));
        files.push((name, bytes.len() as u64));
    }
    std::fs::write(work.join("m.csv"), csv).expect("manifest");
    files
}

fn run(s: &TestServer, moto: &Moto, work: &Path, stage: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.current_dir(work)
        .args(["run", "m.csv", "--base-url", &s.url])
        .args(["--api-key", "k", "--site-id", "local-site"])
        .args(["--report-dir", "reports"])
        .args(["--rate", "6000", "--wait-timeout-secs", "60"])
        .args(["--stage", stage, "--stage-endpoint", &moto.url])
        .args(extra)
        .env("XDG_DATA_HOME", work.join("xdg"))
        .env("AWS_ACCESS_KEY_ID", "testing-key-id")
        .env("AWS_SECRET_ACCESS_KEY", "testing-secret-never-logged")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_SESSION_TOKEN");
    cmd
}

/// Local files are staged once per distinct content, ride Bulk Import from presigned URLs
/// (no upload URL asked for), end READY in their folder with their names and sizes, and their
/// objects are deleted once READY; the secret never shows in the output.
#[tokio::test]
async fn staged_files_ride_bulk_import_once_per_content_and_are_deleted_when_ready() {
    let moto = start_moto().await;
    moto.create_bucket("media-in").await;
    let s = TestServer::start().await;
    let work = tempfile::tempdir().unwrap();
    let files = photos(work.path(), 8);
    let (code, out) = run_to_end(run(
        &s,
        &moto,
        work.path(),
        "s3://media-in/pfx",
        &["--keep-staged"],
    ))
    .await;
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("testing-secret-never-logged"), "{out}");
    assert!(!out.contains("X-Amz-Signature"), "{out}");
    let stats = s.stats().await;
    assert!(
        stats["calls"][BULK_IMPORT].as_u64().unwrap_or(0) >= 1,
        "{stats}"
    );
    assert_eq!(
        stats["calls"][UPLOAD_URL].as_u64().unwrap_or(0),
        0,
        "{stats}"
    );
    let rows = read_csv(&work.path().join("reports/reconciliation.csv"));
    assert_eq!(rows.len(), files.len());
    assert!(rows.iter().all(|r| r["status"] == "ready"), "{rows:?}");
    let held = s.files_with_paths().await;
    for (name, size) in &files {
        let (path, f) = held
            .iter()
            .find(|(_, f)| f["displayName"] == name.as_str())
            .unwrap_or_else(|| panic!("{name} not at the target"));
        assert_eq!(path, "/shoot", "{name}");
        assert_eq!(f["sizeInBytes"].as_str(), Some(size.to_string().as_str()));
        assert_eq!(f["operationStatus"], "READY");
    }
    // 8 files, 3 of them the same bytes: 6 objects, all under the prefix, kept.
    let keys = moto.keys("media-in").await;
    assert_eq!(keys.len(), 6, "{keys:?}");
    assert!(
        keys.iter()
            .all(|k| k.starts_with("pfx/") && k.ends_with(".png")),
        "{keys:?}"
    );

    // A second run of the same journal, without --keep-staged: nothing is staged or
    // imported again, and the objects of READY rows are deleted.
    let (code, out) = run_to_end(run(&s, &moto, work.path(), "s3://media-in/pfx", &[])).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("deleted 6 staged objects"), "{out}");
    assert_eq!(moto.keys("media-in").await, Vec::<String>::new());
    assert_eq!(s.files_with_paths().await.len(), files.len());
}

/// A stage that can't be used stops the run with exit 1 before any import. moto accepts any
/// credentials, so the refusal tested here is a missing bucket (the same HEAD of the bucket
/// refuses wrong credentials on a real store).
#[tokio::test]
async fn a_missing_bucket_is_fatal_before_any_import() {
    let moto = start_moto().await;
    let s = TestServer::start().await;
    let work = tempfile::tempdir().unwrap();
    photos(work.path(), 3);
    let (code, out) = run_to_end(run(&s, &moto, work.path(), "s3://no-such-bucket/p", &[])).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the stage s3://no-such-bucket/p does not exist"),
        "{out}"
    );
    assert!(!out.contains("testing-secret-never-logged"), "{out}");
    let stats = s.stats().await;
    assert_eq!(
        stats["calls"][BULK_IMPORT].as_u64().unwrap_or(0),
        0,
        "{stats}"
    );
    assert_eq!(
        stats["calls"][UPLOAD_URL].as_u64().unwrap_or(0),
        0,
        "{stats}"
    );
}
