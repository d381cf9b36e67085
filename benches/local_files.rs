//! Local files benchmark: the same small local files migrated three ways against a local Media
//! Manager with a request budget — through upload URLs (one call per file), through `--stage`
//! (staged in an S3-compatible store, moto in server mode on 127.0.0.1, and imported 100 a
//! call from presigned URLs) and through `--serve-sources` (served by the run itself, imported
//! 100 a call). Run on demand:
//!
//! ```sh
//! cargo bench --bench local_files                          # 10,000 files; upload URLs on 600
//! cargo bench --bench local_files -- --files 5000 --upload-url-files 300
//! cargo bench --bench local_files -- --ways stage,serve   # only some of the three
//! ```
//!
//! Each way runs the release binary (`media-migrate run`, as a user would) against a fresh
//! server in this process, limited to `--limit` requests a minute (default 200, Wix's budget per
//! site; burst 10) with the client's `--rate` equal to it. Through upload URLs the budget alone
//! makes 10,000 files take ~50 minutes, so that way runs on `--upload-url-files` of them
//! (default 600) and its 10,000-file figures are **extrapolated** from the measured ones (the
//! output says which figures are). The server processes 32 files at once (as the budget bench's
//! does), standing in for a site that is not the bottleneck.
//!
//! Every count is the server's (`/_local/stats`): calls by endpoint and 429s, files by status.
//! A run fails loudly unless the binary exits 0, every row of its reconciliation report is
//! `ready`, and the server holds exactly one READY file per row and nothing else; the new ways
//! must ask for no upload URL, and the staged objects must be gone from the bucket after the
//! run (they are deleted once READY). Wall time is the child process's, from its start to its
//! exit: ingest, staging, imports, waiting for the last file to be READY and, for `--stage`,
//! deleting the staged objects.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use wix_media_manager::stats::StatsReport;
use wix_media_manager::{LocalServer, ServerConfig};

const KEY: &str = "bench-key";
const SITE: &str = "local-site";
const BUCKET: &str = "bench-stage";
const UPLOAD_URL: &str = "generate-upload-url";
const BULK_IMPORT: &str = "bulk/files/import";
const POLL: &str = "files/get-files";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    UploadUrls,
    Stage,
    Serve,
}

impl Way {
    fn name(self) -> &'static str {
        match self {
            Way::UploadUrls => "upload URLs",
            Way::Stage => "--stage",
            Way::Serve => "--serve-sources",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Way::UploadUrls => "upload",
            Way::Stage => "stage",
            Way::Serve => "serve",
        }
    }
}

struct Opts {
    files: usize,
    upload_url_files: usize,
    limit: u32,
    burst: u32,
    rate: u32,
    ways: Vec<Way>,
    moto: PathBuf,
}

impl Opts {
    fn parse(args: &[String]) -> Self {
        let value = |name: &str| {
            args.iter()
                .position(|a| a == name)
                .and_then(|i| args.get(i + 1))
                .cloned()
        };
        let num = |name: &str, default: usize| {
            value(name).map_or(default, |v| {
                v.replace([',', '_'], "")
                    .parse()
                    .unwrap_or_else(|_| panic!("{name} takes a number, not {v}"))
            })
        };
        let ways = value("--ways").map_or_else(
            || vec![Way::UploadUrls, Way::Stage, Way::Serve],
            |v| {
                v.split(',')
                    .map(|w| match w.trim() {
                        "upload" => Way::UploadUrls,
                        "stage" => Way::Stage,
                        "serve" => Way::Serve,
                        other => panic!("--ways: upload, stage or serve, not {other}"),
                    })
                    .collect()
            },
        );
        // Where scripts/test (scripts/provision.sh) puts it.
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(std::env::var_os("HOME").expect("HOME or XDG_CACHE_HOME"))
                    .join(".cache")
            });
        let moto = value("--moto").map_or_else(
            || cache.join("media-migrate/venv-moto/bin/moto_server"),
            PathBuf::from,
        );
        let files = num("--files", 10_000).max(1);
        let limit = num("--limit", 200) as u32;
        Self {
            files,
            upload_url_files: num("--upload-url-files", 600).clamp(1, files),
            limit,
            burst: num("--burst", 10) as u32,
            rate: num("--rate", limit as usize) as u32,
            ways,
            moto,
        }
    }

    fn args(&self) -> String {
        let ways: Vec<&str> = self.ways.iter().map(|w| w.key()).collect();
        format!(
            "--files {} --upload-url-files {} --limit {} --burst {} --rate {} --ways {}",
            self.files,
            self.upload_url_files,
            self.limit,
            self.burst,
            self.rate,
            ways.join(",")
        )
    }

    fn rows(&self, way: Way) -> usize {
        if way == Way::UploadUrls {
            self.upload_url_files
        } else {
            self.files
        }
    }
}

/// A tiny PNG (8×6) whose first pixel spells `i`: every file's bytes differ, so staging
/// (keyed by content) stores each one.
fn png(i: usize) -> Vec<u8> {
    let img = image::RgbImage::from_fn(8, 6, |x, y| {
        if (x, y) == (0, 0) {
            image::Rgb([i as u8, (i >> 8) as u8, (i >> 16) as u8])
        } else {
            image::Rgb([x as u8 * 30, y as u8 * 40, 90])
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

/// Writes `files` PNGs under `dir/photos` and, per row count asked for, a manifest of the
/// first rows into `/Local bench`: `manifest-<rows>.csv`.
fn generate(dir: &Path, files: usize, manifests: &[usize]) {
    let photos = dir.join("photos");
    std::fs::create_dir_all(&photos).expect("photos dir");
    for i in 0..files {
        std::fs::write(photos.join(format!("p{i:05}.png")), png(i)).expect("photo");
    }
    for &rows in manifests {
        let path = dir.join(format!("manifest-{rows}.csv"));
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).expect("manifest"));
        writeln!(out, "source,folder_path,display_name").expect("write");
        for i in 0..rows {
            writeln!(out, "photos/p{i:05}.png,/Local bench,p{i:05}.png").expect("write");
        }
        out.flush().expect("flush");
    }
}

/// moto's S3-compatible server, stopped (and reaped) when dropped.
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

impl Moto {
    async fn start(exe: &Path) -> Self {
        assert!(
            exe.exists(),
            "{} is missing: `scripts/test` installs it (or --moto PATH, or --ways upload,serve)",
            exe.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(exe)
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
        while http.get(&moto.url).send().await.is_err() {
            assert!(Instant::now() < deadline, "moto did not answer");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let r = http
            .put(format!("{}/{BUCKET}", moto.url))
            .send()
            .await
            .expect("create bucket");
        assert!(r.status().is_success(), "create bucket: {}", r.status());
        moto
    }

    /// Objects left in the bucket (`KeyCount` of one listing page: 0 or not).
    async fn objects_left(&self) -> u64 {
        let body = reqwest::get(format!("{}/{BUCKET}?list-type=2", self.url))
            .await
            .expect("list bucket")
            .text()
            .await
            .expect("listing");
        body.split("<KeyCount>")
            .nth(1)
            .and_then(|s| s.split("</KeyCount>").next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no KeyCount in the listing: {body}"))
    }
}

/// What one way measured.
struct Measured {
    way: Way,
    rows: usize,
    wall: Duration,
    stats: StatsReport,
    /// Server clock, from the child's start: the first call's arrival and the last call's.
    first_call: Duration,
    last_call: Duration,
    /// Server clock, from the child's start: the first and last Bulk Import (or upload URL).
    first_send: Duration,
    last_send: Duration,
    objects_left: Option<u64>,
}

impl Measured {
    fn calls(&self) -> u64 {
        self.stats.total_calls
    }

    fn per_100(&self) -> f64 {
        self.calls() as f64 / self.rows as f64 * 100.0
    }

    fn files_per_minute(&self) -> f64 {
        self.rows as f64 / self.wall.as_secs_f64() * 60.0
    }

    fn endpoint(&self, name: &str) -> u64 {
        self.stats
            .calls
            .iter()
            .filter(|(k, _)| k.contains(name))
            .map(|(_, v)| *v)
            .sum()
    }
}

async fn stats(http: &reqwest::Client, url: &str) -> StatsReport {
    http.get(format!("{url}/_local/stats?timeline=true"))
        .header("authorization", KEY)
        .send()
        .await
        .expect("stats")
        .error_for_status()
        .expect("stats answered")
        .json()
        .await
        .expect("stats json")
}

/// Checks what the run left, loudly: exit 0, every reconciliation row `ready`, and exactly one
/// READY file per row on the server.
fn check(way: Way, rows: usize, code: i32, log: &Path, reports: &Path, stats: &StatsReport) {
    let tail = || {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    };
    assert_eq!(
        code,
        0,
        "{}: media-migrate run exited {code}; its output ends:\n{}",
        way.name(),
        tail()
    );
    let mut rdr = csv::Reader::from_path(reports.join("reconciliation.csv"))
        .unwrap_or_else(|e| panic!("{}: no reconciliation report: {e}", way.name()));
    let status = rdr
        .headers()
        .expect("header")
        .iter()
        .position(|h| h == "status")
        .expect("a status column");
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    for r in rdr.records() {
        *by_status
            .entry(r.expect("record")[status].to_string())
            .or_default() += 1;
    }
    assert_eq!(
        by_status.get("ready").copied().unwrap_or(0),
        rows as u64,
        "{}: reconciliation rows by status {by_status:?}, {rows} rows",
        way.name()
    );
    assert_eq!(
        by_status.len(),
        1,
        "{}: rows not ready: {by_status:?}",
        way.name()
    );
    let ready = stats.files.get("READY").copied().unwrap_or(0);
    let all: u64 = stats.files.values().sum();
    assert!(
        ready == rows as u64 && all == ready,
        "{}: the server holds files by status {:?}, {rows} rows",
        way.name(),
        stats.files
    );
}

/// Runs `media-migrate run` one way against a fresh server limited to `opts.limit`.
async fn run_way(opts: &Opts, way: Way, data: &Path, work: &Path) -> Measured {
    let rows = opts.rows(way);
    let mut config = ServerConfig::new(data.join(format!("site-{}", way.key())));
    config.api_keys = vec![KEY.to_string()];
    config.site_id = SITE.to_string();
    config.rate_limit_per_minute = Some(opts.limit);
    config.rate_limit_burst = opts.burst;
    config.processing.concurrency = 32;
    let server = LocalServer::start(config, 0).await.expect("server starts");
    let moto = if way == Way::Stage {
        Some(Moto::start(&opts.moto).await)
    } else {
        None
    };
    let out = work.join(format!("run-{}", way.key()));
    std::fs::create_dir_all(&out).expect("run dir");
    let log = out.join("run.log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_media-migrate"));
    cmd.current_dir(work)
        .arg("run")
        .arg(format!("manifest-{rows}.csv"))
        .args([
            "--base-url",
            &server.url,
            "--api-key",
            KEY,
            "--site-id",
            SITE,
        ])
        .args(["--rate", &opts.rate.to_string()])
        .arg("--journal")
        .arg(out.join("journal.sqlite"))
        .arg("--report-dir")
        .arg(out.join("reports"))
        .env("XDG_DATA_HOME", out.join("xdg"))
        .env_remove("WIX_API_KEY")
        .env_remove("WIX_SITE_ID")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).expect("log"))
        .stderr(
            std::fs::File::options()
                .append(true)
                .open(&log)
                .expect("log"),
        );
    match way {
        Way::UploadUrls => {}
        Way::Stage => {
            let moto = moto.as_ref().expect("moto");
            cmd.args(["--stage", &format!("s3://{BUCKET}/local-bench")])
                .args(["--stage-endpoint", &moto.url])
                .env("AWS_ACCESS_KEY_ID", "bench-key-id")
                .env("AWS_SECRET_ACCESS_KEY", "bench-secret")
                .env("AWS_REGION", "us-east-1")
                .env_remove("AWS_SESSION_TOKEN");
        }
        Way::Serve => {
            cmd.arg("--serve-sources");
        }
    }
    println!("  {}: {rows} files …", way.name());
    let http = reqwest::Client::new();
    // The server's clock as the child starts (`/_local/stats` is not an API call).
    let start_us = stats(&http, &server.url)
        .await
        .timeline
        .expect("timeline")
        .now_us;
    let started = Instant::now();
    let code = tokio::task::spawn_blocking(move || cmd.status().expect("media-migrate runs"))
        .await
        .expect("join")
        .code()
        .unwrap_or(-1);
    let wall = started.elapsed();
    let stats = stats(&http, &server.url).await;
    check(way, rows, code, &log, &out.join("reports"), &stats);
    let objects_left = match &moto {
        Some(m) => Some(m.objects_left().await),
        None => None,
    };
    if let Some(left) = objects_left {
        assert_eq!(left, 0, "--stage left {left} objects in the bucket");
    }
    let uploads: u64 = stats
        .calls
        .iter()
        .filter(|(k, _)| k.contains(UPLOAD_URL))
        .map(|(_, n)| *n)
        .sum();
    assert!(
        way == Way::UploadUrls || uploads == 0,
        "{}: {uploads} upload URLs asked for: local files did not ride Bulk Import",
        way.name()
    );
    let t = stats.timeline.as_ref().expect("timeline");
    assert_eq!(t.dropped, 0, "the server's timeline dropped calls");
    let first = t.received_us.iter().copied().min().unwrap_or(0);
    let last = t.received_us.iter().copied().max().unwrap_or(0);
    let since = |us: u64| Duration::from_micros(us.saturating_sub(start_us));
    let send = if way == Way::UploadUrls {
        UPLOAD_URL
    } else {
        BULK_IMPORT
    };
    let spans: Vec<[u64; 2]> = t
        .endpoints
        .iter()
        .filter(|(k, _)| k.contains(send))
        .map(|(_, v)| *v)
        .collect();
    let m = Measured {
        way,
        rows,
        wall,
        first_call: since(first),
        last_call: since(last),
        first_send: since(spans.iter().map(|s| s[0]).min().unwrap_or(first)),
        last_send: since(spans.iter().map(|s| s[1]).max().unwrap_or(first)),
        objects_left,
        stats,
    };
    drop(moto);
    let _ = server.stop().await;
    m
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 120.0 {
        format!("{:.0} min {:02.0} s", (s / 60.0).floor(), s % 60.0)
    } else {
        format!("{s:.1} s")
    }
}

fn report(opts: &Opts, all: &[Measured]) {
    println!();
    println!(
        "| way | files | API calls | calls / 100 files | 429s | wall time | files / min | READY |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for m in all {
        println!(
            "| {} | {} | {} | **{:.2}** | {} | {} | {:.0} | {} of {} |",
            m.way.name(),
            m.rows,
            m.calls(),
            m.per_100(),
            m.stats.throttled,
            secs(m.wall),
            m.files_per_minute(),
            m.stats.files.get("READY").copied().unwrap_or(0),
            m.rows
        );
        if m.way == Way::UploadUrls && m.rows < opts.files {
            // Budget-bound: the calls scale with the files, the time with the calls.
            let scale = opts.files as f64 / m.rows as f64;
            let calls = m.calls() as f64 * scale;
            println!(
                "| upload URLs, {} files **extrapolated** (× {scale:.2} from the row above, not measured) | {} | ~{calls:.0} | ~{:.2} | | ~{} | ~{:.0} | |",
                opts.files,
                opts.files,
                m.per_100(),
                secs(m.wall.mul_f64(scale)),
                m.files_per_minute()
            );
        }
    }
    println!();
    for m in all {
        let uploads = m.endpoint(UPLOAD_URL);
        let imports = m.endpoint(BULK_IMPORT);
        let polls = m.endpoint(POLL);
        let folders = m.endpoint("/folders");
        let other = m.calls() - uploads - imports - polls - folders;
        println!(
            "{} ({} files): {} calls = {uploads} upload URLs + {imports} Bulk Imports + {polls} readiness polls + {folders} folder calls + {other} other; {} 429s",
            m.way.name(),
            m.rows,
            m.calls(),
            m.stats.throttled
        );
        for (endpoint, n) in &m.stats.calls {
            println!("    {n:>6}  {endpoint}");
        }
        println!(
            "  server clock from the process's start: first call (the target check) at {}, first {send} at {}, last at {}, last call (the poll that confirmed the last file) at {}; exit at {}",
            secs(m.first_call),
            secs(m.first_send),
            secs(m.last_send),
            secs(m.last_call),
            secs(m.wall),
            send = if m.way == Way::UploadUrls {
                "upload URL"
            } else {
                "Bulk Import"
            },
        );
        println!(
            "  phases: {} before the first {}, {} from it to the last call, {} after the last call{}",
            secs(m.first_send),
            if m.way == Way::Stage {
                "Bulk Import (the first files staged)"
            } else {
                "send"
            },
            secs(m.last_call.saturating_sub(m.first_send)),
            secs(m.wall.saturating_sub(m.last_call)),
            if m.way == Way::Stage {
                " (deleting the staged objects, and the reports)"
            } else {
                " (the reports)"
            },
        );
        if let Some(left) = m.objects_left {
            println!("  staged objects left in the bucket after the run: {left}");
        }
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = Opts::parse(&args);
    media_migrate::install_crypto_provider();
    println!(
        "local files bench on {} cores: {} local files (upload URLs: {}), server limit {}/min burst {}, client --rate {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        opts.files,
        opts.upload_url_files,
        opts.limit,
        opts.burst,
        opts.rate
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let work = dir.path().join("work");
    let mut counts: Vec<usize> = opts.ways.iter().map(|w| opts.rows(*w)).collect();
    counts.sort_unstable();
    counts.dedup();
    let files = counts.last().copied().unwrap_or(0);
    let t = Instant::now();
    generate(&work, files, &counts);
    println!(
        "  generated {files} PNGs ({} bytes each, all different) in {}",
        png(0).len(),
        secs(t.elapsed())
    );
    let mut all = Vec::new();
    for &way in &opts.ways {
        all.push(run_way(&opts, way, &dir.path().join("data"), &work).await);
    }
    report(&opts, &all);
    println!();
    println!(
        "reproduce: cargo bench --bench local_files -- {}",
        opts.args()
    );
}
