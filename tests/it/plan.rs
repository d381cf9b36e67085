//! `media-migrate plan`, the dry-run audit: the real binary on messy and mirrored manifests,
//! its call estimate, that it needs no Media Manager and writes no journal, and `--probe`
//! against a local source server.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::support::{ClosedPort, Source, SourceServer, bin, png, read_csv};

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

/// Runs `plan MANIFEST ARGS…` in `work` off the async runtime; returns exit code and output.
async fn plan(work: &Path, manifest: &Path, extra: &[&str]) -> (i32, String) {
    let mut cmd = Command::new(bin());
    cmd.current_dir(work)
        .arg("plan")
        .arg(manifest)
        .args(extra)
        .env_remove("WIX_API_KEY")
        .env_remove("WIX_SITE_ID")
        .stdin(Stdio::null());
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("binary runs"))
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The messy CSV (BOM, CRLF, quoted newlines, unicode, blank lines, a duplicate, invalid rows)
/// gives exact counts and one line per row with the right line number, status and field.
#[tokio::test]
async fn messy_csv_gives_exact_counts_and_lines() {
    let work = tempfile::tempdir().unwrap();
    let (code, out) = plan(work.path(), &fixture("manifests/messy.csv"), &[]).await;
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("plan/plan.csv") && out.contains("plan/plan.json"),
        "{out}"
    );
    let rows = read_csv(&work.path().join("plan/plan.csv"));
    let got: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["line"].as_str(),
                r["status"].as_str(),
                r["field"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("3", "valid", ""),
            ("5", "duplicate", ""),
            ("7", "invalid", "source"),
            ("8", "invalid", "folder_path"),
            ("9", "invalid", "private"),
            ("10", "invalid", "record"),
            ("11", "invalid", "display_name"),
            ("12", "valid", "")
        ]
    );
    assert_eq!(rows[0]["display_name"], "Zoë \"the cat\"");
    assert_eq!(rows[0]["folder_path"], "/Été/Photos");
    assert_eq!(rows[1]["reason"], "duplicate of line 3");
    assert_eq!(rows[1]["key"], rows[0]["key"]);
    assert!(
        rows[5]["reason"].contains("2 fields, the header has 6"),
        "{:?}",
        rows[5]
    );
    assert_eq!(rows[7]["display_name"], "写真.jpg");
    let json = read_json(&work.path().join("plan/plan.json"));
    let counts = &json["counts"];
    for (name, n) in [
        ("rows", 8),
        ("valid", 2),
        ("invalid", 5),
        ("duplicate", 1),
        ("urlRows", 2),
        ("fileRows", 0),
    ] {
        assert_eq!(counts[name], n, "{name}: {json}");
    }
    assert_eq!(
        json["folders"],
        serde_json::json!(["/Été", "/Été/Photos", "/日本"])
    );
    assert_eq!(json["apiCalls"]["total"], 2);
    // Adoption's lookups on a site holding none of the files: the three folders and the root.
    assert_eq!(json["adoptionLookups"], 4);
}

/// The JSON array and JSON Lines mirrors of a CSV give the same plan: counts, folders, calls,
/// and each row's key, status and field; formula-like cells are escaped.
#[tokio::test]
async fn json_mirrors_give_the_same_plan() {
    let mut plans = Vec::new();
    for name in ["mirror.csv", "mirror.json", "mirror.jsonl"] {
        let work = tempfile::tempdir().unwrap();
        // A row names a file beside the fixtures, outside their folder.
        let root = fixture("").display().to_string();
        let (code, out) = plan(
            work.path(),
            &fixture(&format!("plan/{name}")),
            &["--local-root", &root],
        )
        .await;
        assert_eq!(code, 3, "{name}: {out}");
        let json = read_json(&work.path().join("plan/plan.json"));
        let rows: Vec<(String, String, String, String)> =
            read_csv(&work.path().join("plan/plan.csv"))
                .into_iter()
                .map(|r| {
                    (
                        r["key"].clone(),
                        r["status"].clone(),
                        r["field"].clone(),
                        r["display_name"].clone(),
                    )
                })
                .collect();
        plans.push((name, json, rows));
    }
    let (_, csv_json, csv_rows) = &plans[0];
    let statuses: Vec<&str> = csv_rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(
        statuses,
        [
            "valid",
            "valid",
            "duplicate",
            "invalid",
            "valid",
            "invalid",
            "valid",
            "duplicate"
        ]
    );
    assert_eq!(
        csv_rows[6].3, "'=SUM(A1).png",
        "a formula cell is neutralised"
    );
    assert_eq!(csv_json["counts"]["typeUndetectable"], 1);
    assert_eq!(csv_json["counts"]["fileRows"], 1);
    assert_eq!(
        csv_json["folders"],
        serde_json::json!(["/docs", "/docs/2024", "/shop", "/shop/shoes"])
    );
    for (name, json, rows) in &plans[1..] {
        for part in ["counts", "folders", "apiCalls", "estimatedSecs"] {
            assert_eq!(json[part], csv_json[part], "{name}: {part}");
        }
        assert_eq!(rows, csv_rows, "{name}: rows");
    }
}

/// 250 URL rows and 3 local files cost exactly 3 bulk imports, 3 upload URLs and 3 readiness
/// polls: 9 calls, 9 seconds at 60 a minute.
#[tokio::test]
async fn estimates_calls_and_time_by_formula() {
    let work = tempfile::tempdir().unwrap();
    let mut csv = String::from("source,folder_path\n");
    for i in 0..250 {
        csv.push_str(&format!("https://cdn.example.com/{i}.jpg,/f{}\n", i % 2));
    }
    for i in 0..3 {
        std::fs::write(work.path().join(format!("local-{i}.txt")), b"hello").unwrap();
        csv.push_str(&format!("local-{i}.txt,/files\n"));
    }
    let manifest = work.path().join("big.csv");
    std::fs::write(&manifest, csv).unwrap();
    let (code, out) = plan(work.path(), &manifest, &["--rate", "60"]).await;
    assert_eq!(code, 0, "{out}");
    let json = read_json(&work.path().join("plan/plan.json"));
    assert_eq!(
        json["apiCalls"],
        serde_json::json!({"bulkImport": 3, "uploadUrl": 3, "readinessPolls": 3, "folders": 0, "total": 9})
    );
    assert_eq!(json["estimatedSecs"], 9);
    assert_eq!(json["estimatedTime"], "9s");
    assert_eq!(json["counts"]["urlRows"], 250);
    assert_eq!(json["counts"]["fileRows"], 3);
    // The three local files each way: 3 upload URLs + 1 poll, or 1 Bulk Import + 1 poll.
    assert_eq!(json["localFiles"]["uploadUrls"]["calls"], 4);
    assert_eq!(json["localFiles"]["serveSources"]["calls"], 2);
    assert_eq!(json["localFiles"]["stage"]["calls"], 2);
    assert!(
        out.contains(
            "3 local files: about 4s of budget through upload URLs, about 2s with --stage or --serve-sources"
        ),
        "{out}"
    );
    let (code, _) = plan(
        work.path(),
        &manifest,
        &["--batch-size", "50", "--report-dir", "p50"],
    )
    .await;
    assert_eq!(code, 0);
    let json = read_json(&work.path().join("p50/plan.json"));
    assert_eq!(json["apiCalls"]["bulkImport"], 5);
    assert_eq!(json["apiCalls"]["total"], 11);
}

/// Without --probe, plan sends no request anywhere (its sources see nothing, no Media Manager
/// is needed) and writes nothing but its reports: no journal, no local Media Manager folder.
#[tokio::test]
async fn plan_needs_no_server_and_writes_no_journal() {
    let src = SourceServer::start().await;
    let url = src.add("/a.png", Source::bytes("image/png", png(4, 4)));
    let work = tempfile::tempdir().unwrap();
    let manifest = work.path().join("m.csv");
    std::fs::write(&manifest, format!("source,folder_path\n{url},/x\n")).unwrap();
    let (code, out) = plan(work.path(), &manifest, &[]).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        src.hit_count("/a.png"),
        0,
        "plan fetched a source without --probe"
    );
    let mut entries: Vec<String> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, ["m.csv", "plan"]);
    let mut reports: Vec<String> = std::fs::read_dir(work.path().join("plan"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    reports.sort();
    assert_eq!(reports, ["plan.csv", "plan.json", "report.html"]);
}

/// A source that refuses HEAD (405) and answers a one-byte ranged GET with its total size.
async fn start_headless_source() -> String {
    async fn answer(method: Method, headers: HeaderMap) -> Response {
        if method == Method::HEAD {
            return StatusCode::METHOD_NOT_ALLOWED.into_response();
        }
        assert_eq!(headers.get(header::RANGE).unwrap(), "bytes=0-0");
        (
            StatusCode::PARTIAL_CONTENT,
            [
                (header::CONTENT_RANGE, "bytes 0-0/5000"),
                (header::CONTENT_TYPE, "image/jpeg"),
            ],
            vec![0u8],
        )
            .into_response()
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, axum::Router::new().fallback(answer)).await;
    });
    format!("http://{addr}/photo.jpg")
}

/// --probe flags a 404, an extension-less source without a usable Content-Type and an
/// unreachable host; it reports sizes, falls back to a ranged GET when HEAD is refused, and
/// exits 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_flags_bad_sources_and_reports_sizes() {
    let src = SourceServer::start().await;
    let image = png(8, 8);
    let ok = src.add("/ok.png", Source::bytes("image/png", image.clone()));
    let mut untyped = Source::bytes("x", b"some bytes".to_vec());
    untyped.content_type = None;
    let blob = src.add("/blob", untyped);
    let missing = src.url("/missing.png");
    let headless = start_headless_source().await;
    let closed_port = ClosedPort::bind();
    let closed = format!("{}/gone.png", closed_port.url());
    let work = tempfile::tempdir().unwrap();
    let manifest = work.path().join("m.csv");
    std::fs::write(
        &manifest,
        format!(
            "source,folder_path\n{ok},/a\n{blob},/a\n{missing},/a\n{headless},/b\n{closed},/b\n"
        ),
    )
    .unwrap();
    let (code, out) = plan(
        work.path(),
        &manifest,
        &["--probe", "--probe-timeout-secs", "5"],
    )
    .await;
    assert_eq!(code, 3, "{out}");
    let rows = read_csv(&work.path().join("plan/plan.csv"));
    let cell = |i: usize, c: &str| rows[i][c].clone();
    assert_eq!(cell(0, "probe_status"), "ok");
    assert_eq!(cell(0, "probe_type"), "image/png");
    assert_eq!(cell(0, "probe_size"), image.len().to_string());
    assert_eq!(cell(1, "probe_status"), "untyped");
    assert!(
        cell(1, "reason").contains("type not detectable"),
        "{:?}",
        rows[1]
    );
    assert_eq!(cell(2, "probe_status"), "http-404");
    assert!(cell(2, "reason").contains("404"), "{:?}", rows[2]);
    assert_eq!(cell(3, "probe_status"), "ok");
    assert_eq!(cell(3, "probe_size"), "5000");
    assert_eq!(cell(4, "probe_status"), "unreachable");
    assert!(rows.iter().all(|r| r["status"] == "valid"));
    let json = read_json(&work.path().join("plan/plan.json"));
    assert_eq!(
        json["probe"],
        serde_json::json!({"probed": 5, "ok": 2, "untyped": 1, "httpError": 1, "unreachable": 1, "sized": 3, "bytes": image.len() + 10 + 5000})
    );
}

/// Hole 4 of the hardening review: local paths in a manifest reached anywhere. Paths leading
/// outside the manifest's folder — `..`, absolute, or a symlink out — are invalid rows naming
/// the root; `--local-root` widens it.
#[tokio::test]
async fn hole_4_local_paths_outside_the_root_refused() {
    let top = tempfile::tempdir().expect("dir");
    let work = top.path().join("job");
    std::fs::create_dir_all(work.join("media")).expect("dirs");
    std::fs::write(top.path().join("outside-secret.txt"), b"secret").expect("secret");
    std::fs::write(work.join("media/inside.txt"), b"fine").expect("inside");
    let secret = top.path().join("outside-secret.txt");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&secret, work.join("media/link.txt")).expect("symlink");
    std::fs::write(
        work.join("m.csv"),
        format!(
            "source,display_name\nmedia/inside.txt,a.txt\n../outside-secret.txt,b.txt\n{},c.txt\nmedia/link.txt,d.txt\n",
            secret.display()
        ),
    )
    .expect("manifest");
    let (code, out) = plan(&work, &work.join("m.csv"), &[]).await;
    assert_eq!(code, 3, "{out}");
    let rows = read_csv(&work.join("plan/plan.csv"));
    assert_eq!(rows[0]["status"], "valid", "{:?}", rows[0]);
    for r in &rows[1..] {
        assert_eq!(r["status"], "invalid", "{r:?}");
        assert!(r["reason"].contains("leads outside"), "{r:?}");
    }
    let root = top.path().display().to_string();
    let (code, out) = plan(&work, &work.join("m.csv"), &["--local-root", &root]).await;
    assert_eq!(code, 0, "a wider root lets them in: {out}");
}
