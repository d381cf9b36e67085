//! Fleet benchmark: one `media-migrate fleet` process driving many sites at once against a
//! multi-site local Media Manager in this process — the client's CPU time and peak memory, in
//! all and per site, for sizing pods. Run on demand:
//!
//! ```sh
//! cargo bench --bench fleet                       # 50 sites of 200 rows, all at once
//! cargo bench --bench fleet -- --sites 20 --rows 500
//! ```
//! The fleet runs twice: one site alone (the process's own floor), then every site at once;
//! the difference, divided by the sites added, is what one more concurrent site costs. CPU
//! time and peak resident memory are the child's own (`wait4`'s rusage): the server's
//! processing, in this process, isn't counted.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wix_media_manager::sites::SiteConfig;
use wix_media_manager::{LocalServer, ServerConfig};

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn key_of(site: &str) -> String {
    format!("bench-key-{site}")
}

/// A small PNG the server can decode.
fn png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(8, 8, |x, y| image::Rgb([x as u8 * 30, y as u8 * 30, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

/// A source server answering every path with the same PNG.
async fn start_sources() -> String {
    let body = bytes::Bytes::from(png());
    let app = axum::Router::new().fallback(move || {
        let body = body.clone();
        async move { ([("content-type", "image/png")], body) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind sources");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// Writes `sites` manifests of `rows` rows, their key files and the sites file; returns it.
fn write_fleet(dir: &Path, name: &str, sites: &[String], rows: usize, sources: &str) -> PathBuf {
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys).expect("keys dir");
    let path = dir.join(format!("{name}.csv"));
    let mut out = std::fs::File::create(&path).expect("sites file");
    writeln!(out, "site_id,key_file,manifest,folder_prefix").expect("write");
    for site in sites {
        let manifest = dir.join(format!("{site}.csv"));
        let mut m = std::io::BufWriter::new(std::fs::File::create(&manifest).expect("manifest"));
        writeln!(m, "source,folder_path,display_name").expect("write");
        for i in 0..rows {
            writeln!(m, "{sources}/{site}/{i}.png,/f{},{i}.png", i % 4).expect("write");
        }
        m.flush().expect("flush");
        std::fs::write(keys.join(site), key_of(site)).expect("key");
        writeln!(out, "{site},keys/{site},{site}.csv,/Fleet").expect("write");
    }
    path
}

/// What one fleet process used.
struct Usage {
    wall: Duration,
    cpu: Duration,
    peak_rss_mib: f64,
    exit: i32,
}

/// Runs `fleet` on `sites_file` and waits for it with `wait4`, for its rusage.
// The child is reaped by `wait4` (which `Child::wait` can't do while returning the rusage).
#[allow(clippy::zombie_processes)]
fn run_fleet(server: &str, sites_file: &Path, work: &Path, at_once: usize) -> Usage {
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_media-migrate"))
        .arg("-q")
        .arg("fleet")
        .arg(sites_file)
        .args(["--base-url", server])
        .args(["--concurrency-sites", &at_once.to_string()])
        .args(["--rate", "600"])
        .arg("--journal-dir")
        .arg(work.join("journals"))
        .arg("--report-dir")
        .arg(work.join("reports"))
        .env("XDG_DATA_HOME", work.join("xdg"))
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("JOB_COMPLETIONS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("start media-migrate fleet");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, writing into the two locals.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4");
    let secs = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Usage {
        wall: started.elapsed(),
        cpu: secs(usage.ru_utime) + secs(usage.ru_stime),
        // Linux reports ru_maxrss in KiB.
        peak_rss_mib: usage.ru_maxrss as f64 / 1024.0,
        exit: libc::WEXITSTATUS(status),
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n = arg(&args, "--sites", 50).max(2);
    let rows = arg(&args, "--rows", 200);
    let dir = tempfile::tempdir().expect("temp dir");
    let sites: Vec<String> = (0..n).map(|i| format!("site-{i:03}")).collect();
    let mut config = ServerConfig::new(dir.path().join("server"));
    config.sites = sites
        .iter()
        .map(|id| SiteConfig {
            id: id.clone(),
            api_keys: vec![key_of(id)],
            rate_limit_per_minute: Some(1200),
        })
        .collect();
    config.rate_limit_burst = 20;
    let server = LocalServer::start(config, 0).await.expect("local server");
    let sources = start_sources().await;
    println!(
        "fleet bench on {} cores: {n} sites of {rows} rows, each site's client at 600 requests/min (server limit 1,200 per site)",
        std::thread::available_parallelism().map_or(0, |p| p.get())
    );

    let url = server.url.clone();
    let one_dir = dir.path().join("one");
    let one = write_fleet(dir.path(), "one", &sites[..1], rows, &sources);
    let alone = tokio::task::spawn_blocking({
        let (url, one_dir) = (url.clone(), one_dir.clone());
        move || run_fleet(&url, &one, &one_dir, 1)
    })
    .await
    .expect("join");
    let rest = write_fleet(dir.path(), "rest", &sites[1..], rows, &sources);
    let all_dir = dir.path().join("all");
    let all = tokio::task::spawn_blocking(move || run_fleet(&url, &rest, &all_dir, n))
        .await
        .expect("join");
    assert_eq!((alone.exit, all.exit), (0, 0), "every site migrated");
    let added = (n - 2) as f64 + 1.0;
    println!(
        "  1 site alone:          wall {:.1} s, CPU {:.2} s, peak RSS {:.1} MiB",
        alone.wall.as_secs_f64(),
        alone.cpu.as_secs_f64(),
        alone.peak_rss_mib
    );
    println!(
        "  {} sites at once:      wall {:.1} s, CPU {:.2} s, peak RSS {:.1} MiB",
        n - 1,
        all.wall.as_secs_f64(),
        all.cpu.as_secs_f64(),
        all.peak_rss_mib
    );
    let cpu_per_site = all.cpu.as_secs_f64() / (n - 1) as f64;
    let rss_per_site = (all.peak_rss_mib - alone.peak_rss_mib).max(0.0) / (added - 1.0).max(1.0);
    println!(
        "  per site: CPU {:.3} s for {rows} rows ({:.1} ms per row); peak memory {:.2} MiB per concurrent site above the process's {:.1} MiB",
        cpu_per_site,
        cpu_per_site * 1000.0 / rows as f64,
        rss_per_site,
        alone.peak_rss_mib
    );
    println!(
        "  CPU while running: {:.0} % of one core for {} sites",
        all.cpu.as_secs_f64() / all.wall.as_secs_f64() * 100.0,
        n - 1
    );
    println!("reproduce: cargo bench --bench fleet -- --sites {n} --rows {rows}");
    let _ = server.stop().await;
}
