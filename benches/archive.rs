//! Peak memory of a folder archive at the depth limit (issue 13, hole 1): the local Media
//! Manager zips a folder whose files sit at the bottom of a chain of `FOLDER_MAX_DEPTH` folders
//! whose path is 1,024 characters of 3 bytes (3 KB per entry), and a client reads the zip to its
//! end. Before the limit, a chain's archive kept a path copy per folder (memory growing with the
//! square of the depth); now paths are rebuilt from parent links per file. The same number of
//! files in one shallow folder is the baseline. Linux only (reads /proc/self):
//!
//! ```sh
//! cargo bench --bench archive
//! cargo bench --bench archive -- --files 50000
//! ```
//!
//! The server runs in this process; its peak resident set (VmHWM) is reset through
//! `/proc/self/clear_refs` before each download, so each figure is one archive's peak above
//! what the process held before it.

use std::path::Path;
use std::time::Instant;

use sha2::{Digest, Sha256};
use wix_media_manager::store::files::{self, NewFile, ProcessingOutcome};
use wix_media_manager::store::{Store, folders};
use wix_media_manager::{LocalServer, ServerConfig};
use wix_media_wire::types::{MEDIA_ROOT, MediaType, limits};

/// Bytes of every file (one shared blob: the archive reads it once per entry).
const BLOB: usize = 1024;

struct Figures {
    entries: usize,
    zip_bytes: u64,
    seconds: f64,
    peak_above_kib: u64,
}

fn proc_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets the peak resident set to the current one (Linux ≥ 4.0).
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// A data dir holding `files` READY files in a chain of `depth` folders (the top one returned)
/// with names of `name_len` characters.
async fn build(data: &Path, depth: usize, name_len: usize, files: usize) -> String {
    let content = vec![7u8; BLOB];
    let sha = hex::encode(Sha256::digest(&content));
    let md5 = hex::encode(md5::Md5::digest(&content));
    let blob_dir = data.join("blobs").join(&sha[..2]).join(&sha[2..4]);
    std::fs::create_dir_all(&blob_dir).expect("blob dir");
    std::fs::write(blob_dir.join(&sha), &content).expect("blob");
    let store = Store::open(&data.join("media-manager.sqlite")).expect("store");
    store
        .transaction(move |tx| {
            // One folder at a time, as the folder API makes them: a `filePath` is capped at
            // 100 characters, but 32 folders of long names each are allowed.
            let mut chain = Vec::new();
            let mut parent = MEDIA_ROOT.to_string();
            for level in 0..depth {
                let name = format!("{level:02}-{}", "語".repeat(name_len - 3));
                parent = folders::create_folder(tx, &name, &parent)?.id;
                chain.push(parent.clone());
            }
            let (top, deepest) = (chain[0].clone(), parent);
            for i in 0..files {
                let row = files::insert_file(
                    tx,
                    NewFile {
                        id: format!("bench_{i:08}~mv2.png"),
                        display_name: format!("file-{i}.png"),
                        parent_id: deepest.clone(),
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
            Ok(top)
        })
        .await
        .expect("data built")
}

async fn measure(depth: usize, name_len: usize, files: usize) -> Figures {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let top = build(&data, depth, name_len, files).await;
    let server = LocalServer::start(ServerConfig::new(&data), 0)
        .await
        .expect("server");
    let http = reqwest::Client::new();
    let v: serde_json::Value = http
        .post(format!(
            "{}/site-media/v1/folders/{top}/generate-download-url",
            server.url
        ))
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("generate")
        .json()
        .await
        .expect("json");
    let url = v["downloadUrl"].as_str().expect("downloadUrl").to_string();
    let before = proc_kib("VmRSS:").unwrap_or(0);
    let reset = reset_peak();
    let started = Instant::now();
    let mut response = http.get(&url).send().await.expect("archive");
    assert!(response.status().is_success(), "{}", response.status());
    let mut zip_bytes = 0u64;
    while let Some(chunk) = response.chunk().await.expect("chunk") {
        zip_bytes += chunk.len() as u64;
    }
    let seconds = started.elapsed().as_secs_f64();
    let peak = if reset {
        proc_kib("VmHWM:").unwrap_or(0)
    } else {
        0
    };
    server.stop().await.expect("stop");
    Figures {
        entries: files,
        zip_bytes,
        seconds,
        peak_above_kib: peak.saturating_sub(before),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let files = args
        .iter()
        .position(|a| a == "--files")
        .and_then(|i| args.get(i + 1))
        .map_or(20_000, |n| n.parse().expect("--files N"));
    media_migrate::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let max = limits::FOLDER_MAX_DEPTH;
    println!("archive of {files} files of {BLOB} B each, read to the end by a client");
    println!("| folder chain | entries | zip | time | peak memory above the start |");
    println!("|---|---|---|---|---|");
    for (label, depth, name_len) in [
        ("1 folder, 10-char name".to_string(), 1, 10),
        // A long path at the deepest level: 32 × (1 + 31) = 1,024 characters, of three
        // bytes each.
        (format!("{max} folders, 31-char names"), max, 31),
    ] {
        let f = runtime.block_on(measure(depth, name_len, files));
        println!(
            "| {label} | {} | {:.1} MiB | {:.2} s | **{:.1} MiB** |",
            f.entries,
            f.zip_bytes as f64 / (1024.0 * 1024.0),
            f.seconds,
            f.peak_above_kib as f64 / 1024.0
        );
    }
}
