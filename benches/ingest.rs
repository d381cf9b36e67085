//! Ingest benchmark: how fast a generated manifest is read, validated and journaled, and the
//! peak memory of doing it, in CSV and JSON Lines. Run on demand:
//!
//! ```sh
//! cargo bench --bench ingest                      # 1,000,000 rows: speed; 100k/1M/10M: memory
//! cargo bench --bench ingest -- --rows 200000     # one size, both formats
//! ```
//! Each measurement runs in a child process of its own, so the peak resident set size it
//! reports (VmHWM) is that of one ingest alone. Manifests and journals go to a temporary
//! folder (`TMPDIR`); 10,000,000 rows take about 1.2 GB per manifest plus the journal.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use media_migrate::journal::Journal;
use media_migrate::manifest::{self, Format, ManifestOptions};

fn write_manifest(path: &Path, rows: usize, format: Format) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create manifest"));
    if format == Format::Csv {
        writeln!(out, "source,folder_path,display_name,labels").expect("write");
    }
    for i in 0..rows {
        let (url, folder, name) = (
            format!("https://cdn.example.com/catalog/{}/{i}.jpg", i % 1000),
            format!("/catalog/dept-{}/shelf-{}", i % 20, i % 50),
            format!("item-{i}.jpg"),
        );
        match format {
            Format::Csv => writeln!(out, "{url},{folder},{name},a|b"),
            _ => writeln!(
                out,
                r#"{{"source":"{url}","folder_path":"{folder}","display_name":"{name}","labels":["a","b"]}}"#
            ),
        }
        .expect("write");
    }
    out.flush().expect("flush");
}

/// Peak resident set size of this process, in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The child: ingests `manifest` into a fresh journal and prints `rows secs read_secs peak`.
fn child(manifest: &Path, journal: &Path) {
    let options = ManifestOptions::default();
    let started = Instant::now();
    let read = manifest::open(manifest, &options)
        .expect("open")
        .filter(|e| e.is_ok())
        .count();
    let read_secs = started.elapsed().as_secs_f64();
    let mut journal = Journal::open(journal).expect("journal");
    let run = journal.begin_run().expect("run");
    let started = Instant::now();
    let counts = journal
        .ingest_manifest(run, manifest, &options)
        .expect("ingest");
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(counts.new as usize, read, "every generated row is new");
    println!("{read} {secs} {read_secs} {}", peak_rss_mib());
}

struct Measured {
    rows: usize,
    secs: f64,
    read_secs: f64,
    peak_mib: f64,
}

fn measure(dir: &Path, rows: usize, format: Format, ext: &str) -> Measured {
    let manifest = dir.join(format!("bench-{rows}.{ext}"));
    let journal = dir.join(format!("bench-{rows}-{ext}.sqlite"));
    write_manifest(&manifest, rows, format);
    let out = Command::new(std::env::current_exe().expect("own path"))
        .arg("--child")
        .arg(&manifest)
        .arg(&journal)
        .output()
        .expect("run child");
    assert!(
        out.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for path in [
        manifest,
        journal.clone(),
        wal(&journal, "-wal"),
        wal(&journal, "-shm"),
    ] {
        let _ = std::fs::remove_file(path);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<f64> = text
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    Measured {
        rows: fields[0] as usize,
        secs: fields[1],
        read_secs: fields[2],
        peak_mib: fields[3],
    }
}

fn wal(journal: &Path, suffix: &str) -> PathBuf {
    let mut name = journal.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn report(ext: &str, m: &Measured) {
    println!(
        "{ext:>5} {:>10} rows: read+validate {:>7.0} rows/s; read+validate+journal {:>6.2}s = {:>7.0} rows/s; peak RSS {:>6.1} MiB",
        m.rows,
        m.rows as f64 / m.read_secs,
        m.secs,
        m.rows as f64 / m.secs,
        m.peak_mib
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        child(Path::new(&args[1]), Path::new(&args[2]));
        return;
    }
    let rows: Option<usize> = args
        .iter()
        .position(|a| a == "--rows")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok());
    let dir = tempfile::tempdir().expect("temp dir");
    println!(
        "ingest benchmark ({} cores); each line is one child process",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    match rows {
        Some(rows) => {
            for (format, ext) in [(Format::Csv, "csv"), (Format::JsonLines, "jsonl")] {
                report(ext, &measure(dir.path(), rows, format, ext));
            }
            println!("reproduce: cargo bench --bench ingest -- --rows {rows}");
        }
        None => {
            let csv = measure(dir.path(), 1_000_000, Format::Csv, "csv");
            report("csv", &csv);
            report(
                "jsonl",
                &measure(dir.path(), 1_000_000, Format::JsonLines, "jsonl"),
            );
            let small = measure(dir.path(), 100_000, Format::Csv, "csv");
            report("csv", &small);
            let large = measure(dir.path(), 10_000_000, Format::Csv, "csv");
            report("csv", &large);
            println!(
                "peak memory 100k / 1M / 10M rows: {:.1} / {:.1} / {:.1} MiB (10M vs 1M: {:+.1}%)",
                small.peak_mib,
                csv.peak_mib,
                large.peak_mib,
                (large.peak_mib / csv.peak_mib - 1.0) * 100.0
            );
            println!("reproduce: cargo bench --bench ingest");
        }
    }
}
