//! Hostile and broken manifests: the corpus in `tests/data/hostile/` plus files too large to
//! commit (a 10 MB cell, 100,000 columns, 100,000 `[`, PNG bytes), generated per test. Each is
//! read through `manifest::open` and through the real `media-migrate plan`: no panic, every
//! problem is an invalid row with a line and field or a fatal error naming file and line, and
//! an invalid row never keeps more than one record's cap of text.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use media_migrate::manifest::{self, Entry, MAX_RECORD_BYTES, ManifestOptions};

use crate::support::png;

const TEN_MB: usize = 10 * 1000 * 1000;

/// What reading a manifest found, once the invariants every manifest must keep are checked.
#[derive(Debug, Default)]
struct Outcome {
    valid: Vec<u64>,
    /// (line, field) of each invalid row.
    invalid: Vec<(u64, String)>,
    /// The fatal error's message, from `open` or from the iteration.
    fatal: Option<String>,
}

/// Reads `path` to the end, asserting the invariants; returns what it found.
fn read(path: &Path) -> Outcome {
    let name = path.file_name().expect("file name").to_string_lossy();
    let mut outcome = Outcome::default();
    let reader = match manifest::open(path, &ManifestOptions::default()) {
        Ok(reader) => reader,
        Err(err) => {
            let message = err.to_string();
            assert!(message.contains(&*name), "{name}: {message}");
            assert!(message.contains("line "), "{name}: {message}");
            outcome.fatal = Some(message);
            return outcome;
        }
    };
    for entry in reader {
        assert!(
            outcome.fatal.is_none(),
            "{name}: an entry after a fatal error"
        );
        match entry {
            Ok(Entry::Valid(row)) => outcome.valid.push(row.line),
            Ok(Entry::Skipped(skipped)) => {
                panic!("{name}: skipped without the option: {skipped:?}")
            }
            Ok(Entry::Invalid(bad)) => {
                assert!(bad.line >= 1, "{name}: {bad:?}");
                assert!(!bad.field.is_empty() && !bad.reason.is_empty(), "{name}");
                let kept: usize = bad.raw.0.iter().map(|(k, v)| k.len() + v.len()).sum();
                assert!(
                    kept <= MAX_RECORD_BYTES + 1024,
                    "{name}: line {} keeps {kept} bytes of raw text",
                    bad.line
                );
                outcome.invalid.push((bad.line, bad.field));
            }
            Err(err) => {
                let message = err.to_string();
                assert!(message.contains(&*name), "{name}: {message}");
                assert!(message.contains("line "), "{name}: {message}");
                outcome.fatal = Some(message);
            }
        }
    }
    outcome
}

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/hostile")
        .join(name)
}

/// The large and binary members of the corpus, written into `dir`.
fn generate(dir: &Path) -> Vec<PathBuf> {
    let huge = "h".repeat(TEN_MB);
    let wide_header = (0..100_000)
        .map(|i| format!("c{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let files: Vec<(&str, Vec<u8>)> = vec![
        (
            "huge-cell.csv",
            format!("source,display_name\nhttps://x.test/a.jpg,\"{huge}\"\nhttps://x.test/b.jpg,b\n")
                .into_bytes(),
        ),
        (
            "huge-unquoted-cell.csv",
            format!("source\nhttps://x.test/{huge}.jpg\nhttps://x.test/b.jpg\n").into_bytes(),
        ),
        (
            "huge-cell.json",
            format!(
                "[{{\"source\": \"https://x.test/{huge}.jpg\"}},\n{{\"source\": \"https://x.test/b.jpg\"}}]"
            )
            .into_bytes(),
        ),
        (
            "huge-cell.jsonl",
            format!(
                "{{\"source\": \"https://x.test/{huge}.jpg\"}}\n{{\"source\": \"https://x.test/b.jpg\"}}\n"
            )
            .into_bytes(),
        ),
        (
            "wide-header.csv",
            format!("source,{wide_header}\nhttps://x.test/a.jpg\n").into_bytes(),
        ),
        (
            "wide-row.csv",
            format!(
                "source\nhttps://x.test/a.jpg{}\nhttps://x.test/b.jpg\n",
                ",x".repeat(100_000)
            )
            .into_bytes(),
        ),
        ("deep-open.json", "[".repeat(100_000).into_bytes()),
        (
            "deep-balanced.json",
            format!(
                "[{{\"source\": \"https://x.test/a.jpg\", \"x\": {}{}}}]",
                "[".repeat(100_000),
                "]".repeat(100_000)
            )
            .into_bytes(),
        ),
        ("deep-open.jsonl", "[".repeat(100_000).into_bytes()),
        ("png.csv", png(16, 16)),
        ("png.json", png(16, 16)),
        ("png.jsonl", png(16, 16)),
    ];
    files
        .into_iter()
        .map(|(name, bytes)| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).expect("write generated manifest");
            path
        })
        .collect()
}

/// The committed corpus, each with what reading it must find.
#[test]
fn committed_corpus_reads_without_panic() {
    let fields = |o: &Outcome| {
        o.invalid
            .iter()
            .map(|(l, f)| (*l, f.clone()))
            .collect::<Vec<_>>()
    };
    let utf8 = read(&corpus("invalid-utf8.csv"));
    assert_eq!(utf8.valid, [4]);
    assert_eq!(
        fields(&utf8),
        [(2, "display_name".into()), (3, "source".into())]
    );

    let quotes = read(&corpus("unbalanced-quotes.csv"));
    assert!(quotes.fatal.is_none());
    assert_eq!(
        quotes.valid.len() + quotes.invalid.len(),
        1,
        "the open quote swallows the rest of the file into one record: {quotes:?}"
    );
    let stray = read(&corpus("stray-quotes.csv"));
    assert!(stray.fatal.is_none() && stray.valid.len() + stray.invalid.len() == 2);

    let json = read(&corpus("wrong-types.json"));
    assert_eq!(json.valid, [11]);
    assert_eq!(json.invalid.len(), 9, "{json:?}");
    assert_eq!(json.invalid[0], (2, "source".into()));
    assert_eq!(json.invalid[1], (3, "private".into()));
    assert_eq!(json.invalid[2], (4, "labels".into()));
    let jsonl = read(&corpus("wrong-types.jsonl"));
    assert_eq!(jsonl.valid, [8]);
    assert_eq!(jsonl.invalid.len(), 7, "{jsonl:?}");

    let csv = read(&corpus("truncated.csv"));
    // A quote left open at the end of the file: the rows before it are read, the cut record is
    // not, and the error names the line and the field.
    assert_eq!(
        (csv.valid.clone(), csv.invalid.len()),
        (vec![2], 0),
        "{csv:?}"
    );
    let fatal = csv.fatal.expect("a file cut inside quotes is fatal");
    assert!(
        fatal.contains("line 3")
            && fatal.contains("\"display_name\"")
            && fatal.contains("unterminated quoted field"),
        "{fatal}"
    );
    let json = read(&corpus("truncated.json"));
    assert_eq!(json.valid, [2]);
    let fatal = json.fatal.expect("a truncated array is fatal");
    assert!(
        fatal.contains("line 3") && fatal.contains("truncated"),
        "{fatal}"
    );
    let jsonl = read(&corpus("truncated.jsonl"));
    assert_eq!(
        (jsonl.valid.clone(), fields(&jsonl)),
        (vec![1], vec![(2, "record".into())])
    );

    for name in [
        "empty.csv",
        "empty.json",
        "empty.jsonl",
        "empty-array.json",
        "header-only.csv",
    ] {
        let empty = read(&corpus(name));
        assert!(
            empty.valid.is_empty() && empty.invalid.is_empty() && empty.fatal.is_none(),
            "{name}: {empty:?}"
        );
    }

    let eol = read(&corpus("mixed-eol.csv"));
    // Line 3's quoted name holds a CRLF: a control character in a display name.
    assert_eq!(eol.valid, [2, 5, 7]);
    assert_eq!(fields(&eol), [(3, "display_name".into())]);
    let eol = read(&corpus("mixed-eol.jsonl"));
    assert_eq!((eol.valid, eol.invalid.len()), (vec![1, 2, 4], 0));
}

/// Generated giants are invalid rows or fatal errors, and the rows after them keep their lines.
#[test]
fn generated_corpus_reads_within_the_cap() {
    let dir = tempfile::tempdir().expect("temp dir");
    let outcomes: Vec<(String, Outcome)> = generate(dir.path())
        .iter()
        .map(|path| {
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, read(path))
        })
        .collect();
    let get = |name: &str| &outcomes.iter().find(|(n, _)| n == name).expect(name).1;
    for name in [
        "huge-cell.csv",
        "huge-unquoted-cell.csv",
        "huge-cell.json",
        "huge-cell.jsonl",
    ] {
        let o = get(name);
        assert_eq!(
            o.invalid,
            [(1 + u64::from(name.ends_with(".csv")), "record".into())],
            "{name}"
        );
        assert_eq!(o.valid, [2 + u64::from(name.ends_with(".csv"))], "{name}");
    }
    let wide = get("wide-header.csv").fatal.as_deref().expect("fatal");
    assert!(
        wide.contains("line 1") && wide.contains("more than 1000"),
        "{wide}"
    );
    let wide = get("wide-row.csv");
    assert_eq!(
        (wide.invalid.clone(), wide.valid.clone()),
        (vec![(2, "record".into())], vec![3])
    );
    let open = get("deep-open.json").fatal.as_deref().expect("fatal");
    assert!(open.contains("truncated"), "{open}");
    assert_eq!(get("deep-balanced.json").invalid, [(1, "record".into())]);
    assert_eq!(get("deep-open.jsonl").invalid, [(1, "record".into())]);
    for name in ["png.csv", "png.json", "png.jsonl"] {
        let o = get(name);
        assert!(o.valid.is_empty(), "{name}: {o:?}");
        assert!(o.fatal.is_some() || !o.invalid.is_empty(), "{name}: {o:?}");
    }
}

/// `media-migrate plan` on every hostile manifest exits 0, 3 or 1 — never a panic — and a
/// fatal error names the manifest.
#[test]
fn plan_survives_hostile_manifests() {
    let dir = tempfile::tempdir().expect("temp dir");
    let committed = std::fs::read_dir(corpus("")).expect("corpus folder");
    let mut paths: Vec<PathBuf> = committed
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.extension().is_some_and(|e| e != "md"))
        .collect();
    paths.extend(generate(dir.path()));
    for path in paths {
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let out = Command::new(env!("CARGO_BIN_EXE_media-migrate"))
            .current_dir(dir.path())
            .arg("plan")
            .arg(&path)
            .arg("--report-dir")
            .arg(dir.path().join(format!("plan-{name}")))
            .stdin(Stdio::null())
            .output()
            .expect("binary runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let code = out.status.code();
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        assert!(matches!(code, Some(0 | 1 | 3)), "{name}: {code:?} {stderr}");
        if code == Some(1) {
            assert!(stderr.contains(&name), "{name}: {stderr}");
        } else {
            assert!(stdout.starts_with("plan: "), "{name}: {stdout}");
        }
    }
}
