//! `run --stage s3://bucket/prefix`: local files staged in a real S3-compatible store (moto in
//! server mode on 127.0.0.1, installed by `scripts/test`) and imported through Bulk Import from
//! presigned URLs — each distinct content stored once (large files in parts), the objects
//! deleted once READY, URLs signed afresh for rows imported again, a run killed between
//! staging and import resumed without uploading again — and a stage that can't be used
//! stopping the run before any import.

mod moto;
mod resume;

use std::path::Path;
use std::process::Command;

use crate::support::{
    BULK_IMPORT, ClosedPort, TestServer, UPLOAD_URL, assert_local_files_bulk_imported, bin, png,
    read_csv, run_to_end,
};

const SECRET: &str = "testing-secret-never-logged";

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

fn run(s: &TestServer, endpoint: &str, work: &Path, stage: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.current_dir(work)
        .args(["run", "m.csv", "--base-url", &s.url])
        .args(["--api-key", "k", "--site-id", "local-site"])
        .args(["--report-dir", "reports"])
        .args(["--rate", "6000", "--wait-timeout-secs", "60"])
        .args(["--stage", stage, "--stage-endpoint", endpoint])
        .args(extra)
        .env("XDG_DATA_HOME", work.join("xdg"))
        .env("AWS_ACCESS_KEY_ID", "testing-key-id")
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT")
        .env_remove("AWS_PROFILE");
    cmd
}

/// Local files are staged once per distinct content, ride Bulk Import from presigned URLs
/// (no upload URL asked for), end READY in their folder with their names and sizes, and their
/// objects are deleted once READY; the secret never shows in the output.
#[tokio::test]
async fn staged_files_ride_bulk_import_once_per_content_and_are_deleted_when_ready() {
    let moto = moto::start().await;
    moto.create_bucket("media-in").await;
    let s = TestServer::start().await;
    let work = tempfile::tempdir().unwrap();
    let files = photos(work.path(), 8);
    let (code, out) = run_to_end(run(
        &s,
        &moto.url,
        work.path(),
        "s3://media-in/pfx",
        &["--keep-staged"],
    ))
    .await;
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains(SECRET), "{out}");
    assert!(!out.contains("X-Amz-Signature"), "{out}");
    assert_local_files_bulk_imported(&s, work.path(), &files, "/shoot").await;
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
    let (code, out) = run_to_end(run(&s, &moto.url, work.path(), "s3://media-in/pfx", &[])).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("deleted 6 staged objects"), "{out}");
    assert_eq!(moto.keys("media-in").await, Vec::<String>::new());
    assert_eq!(s.files_with_paths().await.len(), files.len());
}

/// Neither Bulk Import nor an upload URL was called.
async fn assert_nothing_imported(s: &TestServer) {
    let stats = s.stats().await;
    for call in [BULK_IMPORT, UPLOAD_URL] {
        assert_eq!(stats["calls"][call].as_u64().unwrap_or(0), 0, "{stats}");
    }
}

/// A missing bucket stops the run with exit 1 before any import, naming the stage.
#[tokio::test]
async fn a_missing_bucket_is_fatal_before_any_import() {
    let moto = moto::start().await;
    let s = TestServer::start().await;
    let work = tempfile::tempdir().unwrap();
    photos(work.path(), 3);
    let (code, out) = run_to_end(run(
        &s,
        &moto.url,
        work.path(),
        "s3://no-such-bucket/p",
        &[],
    ))
    .await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the stage s3://no-such-bucket/p does not exist"),
        "{out}"
    );
    assert!(!out.contains(SECRET), "{out}");
    assert_nothing_imported(&s).await;
}

/// A store that does not answer (nothing listens at the endpoint) stops the run with exit 1
/// before any import, naming the stage, after a few quick retries.
#[tokio::test]
async fn an_unreachable_store_is_fatal_before_any_import() {
    let closed = ClosedPort::bind();
    let s = TestServer::start().await;
    let work = tempfile::tempdir().unwrap();
    photos(work.path(), 2);
    let endpoint = closed.url();
    let (code, out) = run_to_end(run(&s, &endpoint, work.path(), "s3://media-in/p", &[])).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the stage s3://media-in/p could not be used"),
        "{out}"
    );
    assert!(!out.contains(SECRET), "{out}");
    assert_nothing_imported(&s).await;
}

/// An Azure stage with no account in the environment stops the run with exit 1 before any
/// import, saying where the account comes from.
#[tokio::test]
async fn an_azure_stage_without_an_account_is_fatal_before_any_import() {
    let s = TestServer::start().await;
    let work = tempfile::tempdir().unwrap();
    photos(work.path(), 1);
    let mut cmd = Command::new(bin());
    cmd.current_dir(work.path())
        .args(["run", "m.csv", "--base-url", &s.url])
        .args(["--api-key", "k", "--site-id", "local-site"])
        .args(["--stage", "az://media/p"])
        .env_clear()
        .env("XDG_DATA_HOME", work.path().join("xdg"));
    let (code, out) = run_to_end(cmd).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("--stage az://media/p: the store can't be opened")
            && out.contains("AZURE_STORAGE_ACCOUNT_NAME"),
        "{out}"
    );
    assert_nothing_imported(&s).await;
}

/// Credentials the store refuses (moto checking every request's, and knowing none) stop the
/// run with exit 1 before any import, naming the stage and never the secret.
#[tokio::test]
async fn wrong_credentials_are_fatal_before_any_import() {
    let moto = moto::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]).await;
    let s = TestServer::start().await;
    let work = tempfile::tempdir().unwrap();
    photos(work.path(), 3);
    let (code, out) = run_to_end(run(&s, &moto.url, work.path(), "s3://media-in/p", &[])).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the stage s3://media-in/p refused the credentials"),
        "{out}"
    );
    assert!(!out.contains(SECRET), "{out}");
    assert_nothing_imported(&s).await;
}

/// `--stage-bandwidth`, `--stage-endpoint` and the stage URL are checked before anything is
/// connected: a usage error (exit 2) that says what is wrong.
#[test]
fn stage_flags_are_checked_before_connecting() {
    let work = tempfile::tempdir().unwrap();
    photos(work.path(), 1);
    let cases: [(&[&str], &str); 4] = [
        (
            &["--stage", "s3://media-in/p", "--stage-bandwidth", "fast"],
            "--stage-bandwidth takes bytes per second",
        ),
        (
            &["--stage", "s3://media-in/p", "--stage-bandwidth", "0K"],
            "--stage-bandwidth takes bytes per second",
        ),
        (
            &[
                "--stage",
                "gs://media-in/p",
                "--stage-endpoint",
                "http://127.0.0.1:9",
            ],
            "--stage-endpoint is for S3-compatible stores",
        ),
        (&["--stage", "ftp://media-in/p"], "--stage takes s3://"),
    ];
    for (flags, said) in cases {
        let out = Command::new(bin())
            .current_dir(work.path())
            .args(["run", "m.csv", "--base-url", "http://127.0.0.1:9"])
            .args(["--api-key", "k", "--site-id", "local-site"])
            .args(flags)
            .env("XDG_DATA_HOME", work.path().join("xdg"))
            .output()
            .expect("binary runs");
        let text = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {text}");
        assert!(text.contains(said), "{flags:?}: {text}");
    }
}

/// A file larger than a part goes up as a multipart upload (moto's ETag of a two-part object
/// ends in `-2`), under a bandwidth cap, once for two rows of the same bytes, and both rows
/// end READY with the file's size.
#[tokio::test]
async fn a_large_file_is_staged_in_parts_once() {
    let moto = moto::start().await;
    moto.create_bucket("media-in").await;
    let s = TestServer::start().await;
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("docs");
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = fastrand::Rng::with_seed(16);
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.extend((0..20 * 1024 * 1024).map(|_| rng.u8(..)));
    for name in ["a.pdf", "b.pdf"] {
        std::fs::write(dir.join(name), &bytes).unwrap();
    }
    std::fs::write(
        work.path().join("m.csv"),
        "source,folder_path\ndocs/a.pdf,/docs\ndocs/b.pdf,/docs\n",
    )
    .unwrap();
    let (code, out) = run_to_end(run(
        &s,
        &moto.url,
        work.path(),
        "s3://media-in/big",
        &["--keep-staged", "--stage-bandwidth", "1G"],
    ))
    .await;
    assert_eq!(code, 0, "{out}");
    let objects = moto.objects("media-in").await;
    assert_eq!(objects.len(), 1, "{objects:?}");
    assert_eq!(objects[0].size, bytes.len() as u64, "{objects:?}");
    assert!(objects[0].etag.ends_with("-2"), "{objects:?}");
    let held = s.files_with_paths().await;
    assert_eq!(held.len(), 2);
    for (path, f) in held {
        assert_eq!(path, "/docs");
        assert_eq!(f["operationStatus"], "READY", "{f}");
        assert_eq!(
            f["sizeInBytes"].as_str(),
            Some(bytes.len().to_string().as_str())
        );
    }
}

/// The stage's secrets never show (as `secrets::` checks the API key's): at the most verbose
/// level, neither the run's log nor its reports hold the secret key or a presigned URL's
/// signature — each put to use first (files imported from those URLs), and the staging seen
/// in the log, so the check can't pass because the path never ran.
#[tokio::test]
async fn stage_secrets_and_signatures_stay_out_of_logs_and_reports() {
    let moto = moto::start().await;
    moto.create_bucket("media-in").await;
    let s = TestServer::start().await;
    let work = tempfile::tempdir().unwrap();
    let files = photos(work.path(), 3);
    let cmd = run(
        &s,
        &moto.url,
        work.path(),
        "s3://media-in/pfx",
        &["--keep-staged"],
    );
    // `-vv` goes before the subcommand: rebuild the arguments with it first.
    let args: Vec<std::ffi::OsString> = cmd.get_args().map(Into::into).collect();
    let mut verbose = Command::new(bin());
    verbose.arg("-vv").args(args).current_dir(work.path());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => verbose.env(k, v),
            None => verbose.env_remove(k),
        };
    }
    let (code, log) = run_to_end(verbose).await;
    assert_eq!(code, 0, "{log}");
    let held = s.files_with_paths().await;
    assert_eq!(held.len(), files.len());
    let signatures: Vec<String> = held
        .iter()
        .map(|(_, f)| {
            let url = url::Url::parse(f["sourceUrl"].as_str().expect("sourceUrl")).unwrap();
            url.query_pairs()
                .find(|(k, _)| k == "X-Amz-Signature")
                .map(|(_, v)| v.into_owned())
                .expect("a presigned URL")
        })
        .collect();
    assert!(
        log.lines()
            .any(|l| l.contains("DEBUG") && l.contains(" staged") && l.contains("pfx/")),
        "the staging was logged — else this test proves nothing:\n{log}"
    );
    let mut texts = vec![("the run log".to_string(), log)];
    for report in ["reconciliation.csv", "summary.json", "report.html"] {
        let text = std::fs::read_to_string(work.path().join("reports").join(report)).unwrap();
        texts.push((report.to_string(), text));
    }
    for (name, text) in &texts {
        assert!(!text.contains(SECRET), "the secret key is in {name}");
        assert!(
            !text.contains("X-Amz-Signature"),
            "a signature is in {name}"
        );
        for sig in &signatures {
            assert!(!text.contains(sig.as_str()), "a signature is in {name}");
        }
    }
}

/// Staging and imports overlap: with more files than staging reads at a time (256) and the
/// stage's bandwidth capped, Bulk Imports go out while later files are still being staged —
/// full batches all the same — and every row ends READY with one file.
#[tokio::test]
async fn imports_begin_while_later_files_are_still_staged() {
    const FILES: u32 = 600;
    let moto = moto::start().await;
    moto.create_bucket("media-in").await;
    let s = TestServer::start().await;
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("photos");
    std::fs::create_dir_all(&dir).expect("photos dir");
    let mut csv = String::from("source,folder_path\n");
    let mut bytes = 0;
    for i in 0..FILES {
        let png = png(8 + i, 5);
        bytes += png.len();
        std::fs::write(dir.join(format!("p{i}.png")), png).expect("photo");
        csv.push_str(&format!("photos/p{i}.png,/shoot\n"));
    }
    std::fs::write(work.path().join("m.csv"), csv).expect("manifest");
    // Staging takes about 4 s at this cap; the first 256 files are staged well before the rest.
    let cap = format!("{}", bytes / 4);
    let flags = [
        "--keep-staged",
        "--batch-size",
        "50",
        "--stage-bandwidth",
        cap.as_str(),
    ];
    let mut child = run(&s, &moto.url, work.path(), "s3://media-in/pfx", &flags)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut overlap = None;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "the run did not end");
        let imports = s.stats().await["calls"][BULK_IMPORT].as_u64().unwrap_or(0);
        if imports > 0 && overlap.is_none() {
            // Kept staged objects are never deleted: fewer than all means staging goes on.
            overlap = Some(moto.keys("media-in").await.len());
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status}");
    let staged_at_first_import = overlap.expect("an import was seen during the run");
    assert!(
        staged_at_first_import < FILES as usize,
        "the first Bulk Import went out once all {staged_at_first_import} files were staged"
    );
    let stats = s.stats().await;
    assert_eq!(
        stats["calls"][BULK_IMPORT].as_u64(),
        Some(u64::from(FILES / 50)),
        "full batches only: {stats}"
    );
    let rows = read_csv(&work.path().join("reports/reconciliation.csv"));
    assert_eq!(rows.len(), FILES as usize);
    assert!(rows.iter().all(|r| r["status"] == "ready"), "{rows:?}");
    assert_eq!(s.files_with_paths().await.len(), FILES as usize);
    assert_eq!(moto.keys("media-in").await.len(), FILES as usize);
}
