//! Ingest benchmark: rows per second to read, validate and journal a generated manifest, in
//! CSV and JSON Lines. Run on demand:
//!
//! ```sh
//! cargo bench --bench ingest -- 1000000
//! ```
//! The optional argument is the row count (default 200,000). Peak memory of a whole process is
//! best read with `/usr/bin/time -v target/release/media-migrate plan FILE`.

use std::io::Write;
use std::time::Instant;

use media_migrate::journal::Journal;
use media_migrate::manifest::{self, Format, ManifestOptions};

fn write_manifest(path: &std::path::Path, rows: usize, format: Format) {
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
}

fn main() {
    let rows: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir().expect("temp dir");
    for (format, ext) in [(Format::Csv, "csv"), (Format::JsonLines, "jsonl")] {
        let path = dir.path().join(format!("bench.{ext}"));
        write_manifest(&path, rows, format);
        let options = ManifestOptions::default();
        let started = Instant::now();
        let read = manifest::open(&path, &options)
            .expect("open")
            .filter(|e| e.is_ok())
            .count();
        let read_secs = started.elapsed().as_secs_f64();
        let mut journal =
            Journal::open(&dir.path().join(format!("{ext}.sqlite"))).expect("journal");
        let run = journal.begin_run().expect("run");
        let started = Instant::now();
        let counts = journal
            .ingest(run, manifest::open(&path, &options).expect("open"))
            .expect("ingest");
        let ingest_secs = started.elapsed().as_secs_f64();
        assert_eq!(counts.new as usize, rows);
        println!(
            "{ext}: {read} rows read+validated in {read_secs:.2}s ({:.0} rows/s); read+validated+journaled in {ingest_secs:.2}s ({:.0} rows/s)",
            read as f64 / read_secs,
            rows as f64 / ingest_secs
        );
    }
    println!("reproduce: cargo bench --bench ingest -- {rows}");
}
