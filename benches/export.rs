//! Export benchmark: `media-migrate export` of a local Media Manager holding N READY files over
//! 250 folders (two levels) — API calls per 100 files (the target: ≤ 1.05) and the exporting
//! process's peak memory, which must not grow with the site. Run on demand:
//!
//! ```sh
//! cargo bench --bench export                        # 100,000 files
//! cargo bench --bench export -- --files 20000
//! ```
//! The site is built through the store's own API (as `benches/archive.rs` does), the server
//! runs in this process, and the export in a child process (the real binary), so its peak
//! resident set (`getrusage(RUSAGE_CHILDREN)`) is the export's alone. Linux only.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use sha2::{Digest, Sha256};
use wix_media_manager::store::files::{self, NewFile, ProcessingOutcome};
use wix_media_manager::store::{Store, folders};
use wix_media_manager::{LocalServer, ServerConfig};
use wix_media_wire::types::{MEDIA_ROOT, MediaType};

const BLOB: usize = 1024;
const TOP: usize = 10;
const SUB: usize = 25;

/// A data dir of `n` READY files spread over `TOP` × `SUB` folders (one shared blob).
async fn build(data: &Path, n: usize) {
    let content = vec![7u8; BLOB];
    let sha = hex::encode(Sha256::digest(&content));
    let md5 = hex::encode(md5::Md5::digest(&content));
    let blob_dir = data.join("blobs").join(&sha[..2]).join(&sha[2..4]);
    std::fs::create_dir_all(&blob_dir).expect("blob dir");
    std::fs::write(blob_dir.join(&sha), &content).expect("blob");
    let store = Store::open(&data.join("media-manager.sqlite")).expect("store");
    store
        .transaction(move |tx| {
            let mut leaves = Vec::new();
            for t in 0..TOP {
                let top = folders::create_folder(tx, &format!("dept-{t}"), MEDIA_ROOT)?.id;
                for s in 0..SUB {
                    leaves.push(folders::create_folder(tx, &format!("shelf-{s}"), &top)?.id);
                }
            }
            for i in 0..n {
                let row = files::insert_file(
                    tx,
                    NewFile {
                        id: format!("bench_{i:08}~mv2.png"),
                        display_name: format!("item-{i}.png"),
                        parent_id: leaves[i % leaves.len()].clone(),
                        blob: Some((sha.clone(), BLOB as u64, md5.clone())),
                        ..NewFile::default()
                    },
                )?;
                files::complete_processing(
                    tx,
                    &row.id,
                    &ProcessingOutcome::Ready {
                        mime_type: "image/png".into(),
                        media_type: MediaType::Image,
                        size: BLOB as u64,
                        md5: md5.clone(),
                        blob: sha.clone(),
                        width: None,
                        height: None,
                        thumb_blob: None,
                    },
                )?;
            }
            Ok(())
        })
        .await
        .expect("data built");
}

/// Peak resident set of the largest child waited for, in MiB.
fn children_peak_mib() -> f64 {
    // SAFETY: getrusage only writes into the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    if rc != 0 {
        return f64::NAN;
    }
    usage.ru_maxrss as f64 / 1024.0
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args
        .iter()
        .position(|a| a == "--files")
        .and_then(|i| args.get(i + 1))
        .map_or(100_000, |v| v.parse().expect("--files N"));
    media_migrate::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let started = Instant::now();
    runtime.block_on(build(&data, n));
    eprintln!(
        "built {n} files in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let server = runtime
        .block_on(LocalServer::start(ServerConfig::new(&data), 0))
        .expect("server");
    let out = dir.path().join("export.csv");
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_media-migrate"))
        .args(["--quiet", "export", "--out"])
        .arg(&out)
        // The budget is not what is measured: calls are.
        .args(["--rate", "1000000", "--base-url", &server.url])
        .args(["--api-key", "any", "--site-id", "local-site"])
        .env("XDG_DATA_HOME", dir.path())
        .output()
        .expect("export runs");
    let secs = started.elapsed().as_secs_f64();
    let peak = children_peak_mib();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let calls: u64 = stdout
        .split("; ")
        .find_map(|part| part.trim().strip_suffix(" API calls"))
        .and_then(|n| n.trim().parse().ok())
        .expect("the export's last line counts its calls");
    let lines = std::fs::read_to_string(&out)
        .expect("manifest")
        .lines()
        .count()
        - 1;
    assert_eq!(lines, n, "every file exported");
    runtime.block_on(server.stop()).expect("stop");
    println!("{}", stdout.trim());
    println!("| files | folders | API calls | calls per 100 files | time | peak memory |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| {n} | {} | {calls} | **{:.3}** | {secs:.1} s | **{peak:.1} MiB** |",
        TOP * SUB + TOP,
        calls as f64 * 100.0 / n as f64
    );
}
