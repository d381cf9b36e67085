//! `media-migrate export`: site A's files (public and private, nested folders, labels, unicode
//! names) exported with their bytes, run into site B and reconciled there — all present and
//! identical; an export killed mid-download resumes without fetching complete files again; a
//! download that doesn't match its file's hash is left out, not kept.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::support::{Source, SourceServer, TestServer, bin, kill_at, png, read_csv, run_to_end};

const KEY: &str = "export-test-key";

async fn site(id: &str) -> TestServer {
    let id = id.to_string();
    TestServer::start_with(move |c| {
        c.api_keys = vec![KEY.to_string()];
        c.site_id = id;
    })
    .await
}

/// `media-migrate COMMAND ARGS…` against `s` (site `site`), in `work`.
fn command(s: &TestServer, site: &str, work: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.current_dir(work)
        .env("XDG_DATA_HOME", work.join("xdg"))
        .arg("--quiet")
        .args(args)
        .args(["--base-url", &s.url, "--api-key", KEY, "--site-id", site])
        .stdin(Stdio::null());
    cmd
}

/// Imports `bytes` into `s` as `name` in `path`; returns the READY descriptor.
async fn add_file(
    s: &TestServer,
    src: &SourceServer,
    path: &str,
    name: &str,
    bytes: Vec<u8>,
    private: bool,
    labels: &[&str],
) -> Value {
    let url = src.add(
        &format!("/{}", uuid::Uuid::new_v4()),
        Source::bytes("image/png", bytes),
    );
    let imported = s
        .ok_post(
            "/v1/files/import",
            json!({"url": url, "displayName": name, "filePath": path, "private": private, "labels": labels}),
        )
        .await;
    let id = imported["file"]["id"].as_str().unwrap().to_string();
    let file = s.wait_processed(&id).await;
    assert_eq!(
        file.operation_status,
        Some(wix_media_wire::types::OperationStatus::Ready)
    );
    serde_json::to_value(file).unwrap()
}

/// Site A → export (with the bytes) → run into site B → reconcile B: every file present with
/// the same size and hash, folder, name, labels and privacy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_between_sites() {
    let src = SourceServer::start().await;
    let a = site("site-a").await;
    let b = site("site-b").await;
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    add_file(
        &a,
        &src,
        "/shop/été",
        "rouge.png",
        png(5, 4),
        false,
        &["red", "sale item"],
    )
    .await;
    add_file(
        &a,
        &src,
        "/shop/été/deep/nested",
        "contrat privé.png",
        png(6, 4),
        true,
        &[],
    )
    .await;
    add_file(&a, &src, "", "東京 タワー.png", png(7, 4), false, &["東京"]).await;
    add_file(&a, &src, "/shop/été", "rouge.png", png(8, 4), false, &[]).await;
    add_file(&a, &src, "/other", "elsewhere.png", png(9, 4), false, &[]).await;

    // Without --download the private file can't be exported: exit 3, and it is counted.
    let (code, out) =
        run_to_end(command(&a, "site-a", w, &["export", "--out", "public.csv"])).await;
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("1 private"), "{out}");
    let public = read_csv(&w.join("public.csv"));
    assert_eq!(public.len(), 4, "{public:?}");
    assert!(
        public.iter().all(|r| r["source"].starts_with("http://")),
        "{public:?}"
    );

    let (code, out) = run_to_end(command(
        &a,
        "site-a",
        w,
        &[
            "export",
            "--out",
            "a.csv",
            "--download",
            "backup",
            "--folder",
            "/",
        ],
    ))
    .await;
    assert_eq!(code, 0, "{out}");
    let rows = read_csv(&w.join("a.csv"));
    assert_eq!(rows.len(), 5, "{rows:?}");
    // Same-named files in one folder get distinct local names.
    let mut sources: Vec<&str> = rows.iter().map(|r| r["source"].as_str()).collect();
    sources.sort();
    assert!(
        sources.contains(&"backup/shop/été/rouge.png"),
        "{sources:?}"
    );
    assert!(
        sources.contains(&"backup/shop/été/rouge (2).png"),
        "{sources:?}"
    );
    assert!(sources.contains(&"backup/東京 タワー.png"), "{sources:?}");
    let private = rows.iter().find(|r| r["private"] == "true").unwrap();
    assert_eq!(private["folder_path"], "/shop/été/deep/nested");
    assert_eq!(private["display_name"], "contrat privé.png");
    assert_eq!(
        std::fs::read(w.join("backup/shop/été/deep/nested/contrat privé.png")).unwrap(),
        png(6, 4)
    );
    assert!(
        rows.iter()
            .all(|r| r["expected_md5"].len() == 32 && !r["expected_size"].is_empty())
    );

    // --folder: that folder and below only.
    let (code, out) = run_to_end(command(
        &a,
        "site-a",
        w,
        &[
            "export",
            "--out",
            "shop.csv",
            "--download",
            "shop",
            "--folder",
            "/shop",
        ],
    ))
    .await;
    assert_eq!(code, 0, "{out}");
    let shop = read_csv(&w.join("shop.csv"));
    assert_eq!(shop.len(), 3, "{shop:?}");
    assert!(
        shop.iter()
            .all(|r| r["folder_path"].starts_with("/shop/été"))
    );

    let manifest = w.join("a.csv");
    let manifest = manifest.to_str().unwrap();
    let (code, out) = run_to_end(command(
        &b,
        "site-b",
        w,
        &["run", manifest, "--report-dir", "reports-b"],
    ))
    .await;
    assert_eq!(code, 0, "{out}");
    let (code, out) = run_to_end(command(
        &b,
        "site-b",
        w,
        &[
            "reconcile",
            manifest,
            "--verify-content",
            "--report-dir",
            "rec-b",
        ],
    ))
    .await;
    assert_eq!(code, 0, "{out}");
    let rec: Value =
        serde_json::from_slice(&std::fs::read(w.join("rec-b/reconcile.json")).unwrap()).unwrap();
    assert_eq!(rec["counts"]["present"], 5, "{rec}");
    assert_eq!(rec["contentVerified"], 5, "{rec}");

    // B holds what A held: path, name, labels, privacy, size and hash.
    let key = |path: &str, f: &Value| {
        let labels: Vec<String> = f["labels"]
            .as_array()
            .map(|l| l.iter().map(|v| v.as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        (
            path.to_string(),
            f["displayName"].as_str().unwrap().to_string(),
            labels,
            f["private"].as_bool().unwrap_or(false),
            f["sizeInBytes"].as_str().unwrap().to_string(),
            f["hash"].as_str().unwrap().to_string(),
        )
    };
    let mut in_a: Vec<_> = a
        .files_with_paths()
        .await
        .iter()
        .map(|(p, f)| key(p, f))
        .collect();
    let mut in_b: Vec<_> = b
        .files_with_paths()
        .await
        .iter()
        .map(|(p, f)| key(p, f))
        .collect();
    in_a.sort();
    in_b.sort();
    assert_eq!(in_a, in_b);
}

/// Files complete on disk (no `.part`).
fn complete_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(complete_files(&p));
        } else if !p.to_string_lossy().ends_with(".part") {
            out.push(p);
        }
    }
    out
}

fn download_url_calls(stats: &Value) -> u64 {
    stats["calls"]["POST /site-media/v1/files/generate-file-download-url"]
        .as_u64()
        .unwrap_or(0)
}

/// `--download` killed (SIGKILL) mid-way: the same command goes on, verifies the files already
/// complete and fetches only the others (one download URL each).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_killed_and_resumed() {
    const FILES: usize = 40;
    let src = SourceServer::start().await;
    let a = site("site-a").await;
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    for i in 0..FILES {
        let path = format!("/vault/{}", i % 3);
        add_file(
            &a,
            &src,
            &path,
            &format!("secret-{i}.png"),
            png(3 + i as u32, 5),
            true,
            &[],
        )
        .await;
    }
    // Paced: one download URL call per private file, at most 8 a second.
    let args = [
        "export",
        "--out",
        "a.csv",
        "--download",
        "dl",
        "--rate",
        "480",
        "--download-concurrency",
        "2",
    ];
    let mut child = command(&a, "site-a", w, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Mid-way: some files complete, not all.
    let done_before = kill_at(&mut child, "some downloads complete, not all", || {
        let done = complete_files(&w.join("dl")).len();
        (6..FILES).contains(&done).then_some(done)
    })
    .await;
    let calls_before = download_url_calls(&a.stats().await);

    let (code, out) = run_to_end(command(&a, "site-a", w, &args)).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("(resumed)"), "{out}");
    assert!(
        out.contains(&format!("{done_before} already there")),
        "{out}"
    );
    let calls_after = download_url_calls(&a.stats().await);
    assert_eq!(
        calls_after - calls_before,
        (FILES - done_before) as u64,
        "only the files not complete were fetched again"
    );
    let rows = read_csv(&w.join("a.csv"));
    assert_eq!(rows.len(), FILES);
    assert_eq!(complete_files(&w.join("dl")).len(), FILES);
    assert!(!w.join("a.csv.export-state.json").exists());
}

/// A download whose bytes don't match the file's size and hash is detected and left out: no
/// file under its name, no manifest line, exit 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_download_detected() {
    let src = SourceServer::start().await;
    let a = site("site-a").await;
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let good = add_file(&a, &src, "/f", "good.png", png(4, 4), false, &[]).await;
    let bad = add_file(&a, &src, "/f", "bad.png", png(5, 5), false, &[]).await;
    let row = a.file_row(bad["id"].as_str().unwrap());
    let sha = row.blob.expect("a stored blob");
    let blob = a
        .dir
        .path()
        .join("data/blobs")
        .join(&sha[..2])
        .join(&sha[2..4])
        .join(&sha);
    let mut bytes = std::fs::read(&blob).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&blob, bytes).unwrap();

    let (code, out) = run_to_end(command(
        &a,
        "site-a",
        w,
        &["export", "--out", "a.csv", "--download", "dl"],
    ))
    .await;
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("does not match"), "{out}");
    assert!(out.contains("1 failed"), "{out}");
    let rows = read_csv(&w.join("a.csv"));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["external_id"], good["id"].as_str().unwrap());
    assert!(w.join("dl/f/good.png").exists());
    assert_eq!(
        complete_files(&w.join("dl")).len(),
        1,
        "nothing kept of the bad one"
    );
    assert!(!w.join("dl/f/bad.png.part").exists());
}

/// A complete download corrupted on disk (same size, other bytes) is not kept when the export
/// runs again: files already there are checked against their MD5, and the bad one is fetched
/// again, so every manifest line's local file holds its file's bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_local_copy_fetched_again() {
    use md5::Digest;
    let src = SourceServer::start().await;
    let a = site("site-a").await;
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    for i in 0..3u32 {
        add_file(
            &a,
            &src,
            "/f",
            &format!("p-{i}.png"),
            png(4 + i, 4),
            i == 1,
            &[],
        )
        .await;
    }
    let args = ["export", "--out", "a.csv", "--download", "dl"];
    let (code, out) = run_to_end(command(&a, "site-a", w, &args)).await;
    assert_eq!(code, 0, "{out}");
    let md5_of = |path: &Path| hex::encode(md5::Md5::digest(std::fs::read(path).unwrap()));
    let victim = w.join("dl/f/p-1.png");
    let good = std::fs::read(&victim).unwrap();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    std::fs::write(&victim, &bad).unwrap();
    assert_eq!(std::fs::metadata(&victim).unwrap().len(), good.len() as u64);

    let (code, out) = run_to_end(command(&a, "site-a", w, &args)).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2 already there"), "{out}");
    let rows = read_csv(&w.join("a.csv"));
    assert_eq!(rows.len(), 3, "{rows:?}");
    for row in &rows {
        let local = w.join(&row["source"]);
        assert_eq!(md5_of(&local), row["expected_md5"], "{row:?}");
    }
    let row = rows
        .iter()
        .find(|r| r["display_name"] == "p-1.png")
        .expect("p-1's line");
    assert_eq!(std::fs::read(w.join(&row["source"])).unwrap(), good);
}
