use super::*;

fn page(aggregates: Aggregates, timeline: Option<Timeline>) -> Page {
    Page {
        kind: "Run",
        facts: vec![("manifest", "<script>alert(1)</script>.csv".to_string())],
        totals: vec![("ready", 1_234_567), ("failed", 3)],
        notes: vec![],
        timeline,
        calls: vec![("bulkImportFile".to_string(), 12)],
        reasons_title: "Failure reasons",
        hint: |_| "a hint".into(),
        aggregates,
    }
}

/// Strings from the manifest are escaped wherever they appear; numbers carry their value.
#[test]
fn escapes_manifest_strings() {
    let mut a = Aggregates::default();
    a.reason("SOURCE_NOT_FOUND", || Example {
        line: 7,
        source: "https://x/\"><img src=y onerror=z>".to_string(),
        detail: "404 & <b>gone</b>".to_string(),
    });
    a.folder("/a/<i>b</i>", false);
    let html = render(&page(a, None));
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("<i>b"), "{html}");
    assert!(html.contains("&lt;script&gt;"));
    assert!(html.contains("data-value=\"1234567\">1,234,567<"));
    assert!(!html.contains("<script"));
}

/// Only the first examples of a reason are kept, however many lines share it.
#[test]
fn keeps_three_examples_per_reason() {
    let mut a = Aggregates::default();
    let mut asked = 0;
    for line in 0..1000 {
        a.reason("X", || {
            asked += 1;
            Example {
                line,
                source: String::new(),
                detail: String::new(),
            }
        });
    }
    assert_eq!(asked, MAX_EXAMPLES);
    assert_eq!(a.reason_count("X"), 1000);
}

/// A day-long run is shown in at most 120 bins whose sums are the minutes'.
#[test]
fn long_timelines_are_binned() {
    let minutes = vec![
        Minute {
            accepted: 2,
            ready: 1,
            calls: 3,
            throttled: 0,
        };
        1440
    ];
    let timeline = Timeline {
        minutes,
        budget_per_minute: 180,
    };
    let html = render(&page(Aggregates::default(), Some(timeline)));
    let rows = html.matches("<tr><th scope=\"row\">").count();
    assert_eq!(rows, 120);
    assert!(
        html.contains("data-value=\"36\">36<"),
        "12 minutes of 3 calls"
    );
    assert!(html.len() < 200_000, "{}", html.len());
}

#[test]
fn formats_numbers() {
    assert_eq!(num(0), "0");
    assert_eq!(num(999), "999");
    assert_eq!(num(1000), "1,000");
    assert_eq!(num(1_234_567), "1,234,567");
}
