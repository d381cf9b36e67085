//! The exposition format: HELP/TYPE before each family, escaped label values, exact values,
//! the last-success rule, atomic writes, and the Pushgateway's group URLs.

use super::*;

fn sample() -> RunMetrics {
    RunMetrics {
        rows: vec![
            ("ready", 7),
            ("pending", 0),
            ("failed", 1),
            ("invalid", 2),
            ("duplicate", 0),
            ("skipped", 0),
        ],
        api_calls: vec![
            ("bulkImportFiles".to_string(), 3),
            ("listFiles".to_string(), 1),
        ],
        throttled: 2,
        retries: 5,
        uploaded_bytes: 123_456,
        duration_secs: 1.234_567_890_123,
        exit_status: 3,
        finished_at_secs: 1_700_000_000.25,
        success: false,
    }
}

/// Every family has one HELP and one TYPE line right before its samples, and every sample
/// carries the given labels first.
#[test]
fn families_have_help_and_type_before_their_samples() {
    let text = render(
        &sample(),
        &[("job", "media-migrate"), ("instance", "a")],
        None,
    );
    let lines: Vec<&str> = text.lines().collect();
    let mut families = 0;
    for (i, line) in lines.iter().enumerate() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            families += 1;
            let name = rest.split(' ').next().expect("name");
            assert!(
                lines[i + 1].starts_with(&format!("# TYPE {name} ")),
                "{text}"
            );
            assert!(lines[i + 2].starts_with(name), "{text}");
        } else if !line.starts_with('#') {
            assert!(
                line.contains("{job=\"media-migrate\",instance=\"a\""),
                "{line}"
            );
        }
    }
    assert_eq!(families, 8, "{text}");
    assert!(text.contains(
        "media_migrate_rows{job=\"media-migrate\",instance=\"a\",status=\"invalid\"} 2\n"
    ));
    assert!(text.contains("# TYPE media_migrate_api_calls_total counter\n"));
    assert!(text.contains("# TYPE media_migrate_rows gauge\n"));
    assert!(text.ends_with('\n'));
}

/// Without labels a sample has no braces at all; the name is followed by its value.
#[test]
fn unlabelled_samples_have_no_braces() {
    let text = render(&sample(), &[], None);
    assert!(text.contains("\nmedia_migrate_exit_status 3\n"), "{text}");
    assert!(text.contains("\nmedia_migrate_uploaded_bytes_total 123456\n"));
    assert!(text.contains("media_migrate_api_calls_total{endpoint=\"listFiles\"} 1\n"));
}

/// Backslashes, quotes and line feeds in label values are escaped; HELP escapes only
/// backslashes and line feeds.
#[test]
fn label_values_and_help_are_escaped() {
    assert_eq!(escape_label_value(r#"a\b"c"#), r#"a\\b\"c"#);
    assert_eq!(escape_label_value("x\ny"), "x\\ny");
    assert_eq!(
        escape_label_value("local:/srv/mm#site"),
        "local:/srv/mm#site"
    );
    assert_eq!(escape_help("a \\ \"b\"\nc"), "a \\\\ \"b\"\\nc");
    let text = render(&sample(), &[("instance", "we\"ird\\\nname")], None);
    assert!(text.contains("instance=\"we\\\"ird\\\\\\nname\""), "{text}");
    assert_eq!(text.lines().count(), 8 * 2 + 6 + 2 + 6);
}

/// Values read back as the same float, special values in the format's spelling.
#[test]
fn values_round_trip() {
    for v in [
        0.0,
        1.0,
        1.234_567_890_123,
        1_700_000_000.25,
        1e-7,
        123_456_789_012.0,
    ] {
        assert_eq!(format_value(v).parse::<f64>().expect("parses"), v);
    }
    assert_eq!(format_value(3.0), "3");
    assert_eq!(format_value(f64::NAN), "NaN");
    assert_eq!(format_value(f64::INFINITY), "+Inf");
    assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
}

/// The last-success time moves only with a successful run; a failed one keeps what was
/// there, and it is written only when there is one.
#[test]
fn last_success_moves_only_on_success() {
    let failed = sample();
    assert_eq!(failed.last_success(Some(5.0)), Some(5.0));
    assert_eq!(failed.last_success(None), None);
    let ok = RunMetrics {
        success: true,
        exit_status: 0,
        ..sample()
    };
    assert_eq!(ok.last_success(Some(5.0)), Some(1_700_000_000.25));
    assert!(!render(&failed, &[], None).contains(LAST_SUCCESS));
    let text = render(&failed, &[("job", "j")], Some(42.5));
    assert!(text.contains(&format!("{LAST_SUCCESS}{{job=\"j\"}} 42.5\n")));
    assert_eq!(read_value(&text, LAST_SUCCESS), Some(42.5));
    assert_eq!(read_value(&text, "media_migrate_exit_status"), Some(3.0));
    assert_eq!(read_value(&text, "media_migrate_exit"), None);
}

/// The file is replaced whole by a rename, leaves no temporary file behind, is readable by
/// all, and its last-success time can be read back.
#[test]
fn the_file_is_written_atomically() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("media-migrate.prom");
    std::fs::write(&path, "old\n").expect("old file");
    #[cfg(unix)]
    let inode = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&path).expect("meta").ino()
    };
    let text = render(&sample(), &[], Some(7.0));
    write_file(&path, &text).expect("written");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), text);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("media-migrate.prom")]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = std::fs::metadata(&path).expect("meta");
        assert_ne!(
            meta.ino(),
            inode,
            "replaced by a rename, not rewritten in place"
        );
        assert_eq!(meta.permissions().mode() & 0o777, 0o644);
    }
    assert_eq!(previous_last_success(&path), Some(7.0));
    assert_eq!(previous_last_success(&dir.path().join("none.prom")), None);
}

/// A file that can't be written (its directory is missing) fails without leaving a
/// temporary file.
#[test]
fn a_failed_write_leaves_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("missing").join("m.prom");
    assert!(write_file(&path, "x 1\n").is_err());
    assert!(!path.exists());
}

/// Group URLs: plain values percent-encoded, values with a slash (or empty) in base64, the
/// gateway's own path kept; credentials never in what a message shows.
#[test]
fn group_urls_follow_the_gateway() {
    let gw = url::Url::parse("http://u:secret@127.0.0.1:9091/prefix/?x=1").expect("url");
    let url = push::group_url(&gw, "media-migrate", "local:/srv/mm#site").expect("url");
    assert_eq!(
        url.path(),
        format!(
            "/prefix/metrics/job/media-migrate/instance@base64/{}",
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE,
                "local:/srv/mm#site"
            )
        )
    );
    assert_eq!(url.query(), None);
    let url = push::group_url(&gw, "nightly job", "").expect("url");
    assert_eq!(
        url.path(),
        "/prefix/metrics/job/nightly%20job/instance@base64/="
    );
    let shown = push::redacted(&gw);
    assert_eq!(shown, "http://127.0.0.1:9091/prefix/");
}
