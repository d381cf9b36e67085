use std::time::Duration;

use super::*;

/// A URL verifies only with its own token, expiry and signature, and only under its run's key.
#[test]
fn signatures_bind_token_expiry_and_key() {
    let sources = ServedSources::new("http://127.0.0.1:9/base/", Duration::from_secs(60));
    let url = sources.url_for("row-1", Path::new("/tmp/a.png"));
    let parsed = url::Url::parse(&url).unwrap();
    assert_eq!(parsed.path(), format!("/base/s/{}", token_of("row-1")));
    let q: HashMap<String, String> = parsed.query_pairs().into_owned().collect();
    let exp: u64 = q["exp"].parse().unwrap();
    let token = token_of("row-1");
    assert!(sources.verify(&token, exp, &q["sig"]));
    assert!(
        !sources.verify(&token, exp + 1, &q["sig"]),
        "expiry is signed"
    );
    assert!(
        !sources.verify(&token_of("row-2"), exp, &q["sig"]),
        "token is signed"
    );
    assert!(!sources.verify(&token, exp, "AAAA"));
    assert!(!sources.verify(&token, exp, "not base64!"));
    let other_run = ServedSources::new("http://127.0.0.1:9", Duration::from_secs(60));
    assert!(
        !other_run.verify(&token, exp, &q["sig"]),
        "the key is per run"
    );
    assert_eq!(served_token(&url), Some(token));
    assert_eq!(served_token("https://cdn.test/s/photo.png"), None);
    assert_eq!(served_token("https://cdn.test/x.png"), None);
}

/// The key never shows in Debug output.
#[test]
fn debug_hides_the_key() {
    let sources = ServedSources::new("http://127.0.0.1:9", Duration::from_secs(60));
    let text = format!("{sources:?}");
    assert!(!text.contains("key"), "{text}");
}

/// One byte range, suffixes and open ends; several ranges or other units serve the whole file.
#[test]
fn byte_ranges() {
    assert_eq!(byte_range("bytes=0-9", 100), Range::Bytes(0, 9));
    assert_eq!(byte_range("bytes=90-", 100), Range::Bytes(90, 99));
    assert_eq!(byte_range("bytes=-10", 100), Range::Bytes(90, 99));
    assert_eq!(byte_range("bytes=-500", 100), Range::Bytes(0, 99));
    assert_eq!(byte_range("bytes=50-500", 100), Range::Bytes(50, 99));
    assert_eq!(byte_range("bytes=100-", 100), Range::Unsatisfiable);
    assert_eq!(byte_range("bytes=-0", 100), Range::Unsatisfiable);
    assert_eq!(byte_range("bytes=0-1,5-6", 100), Range::Ignored);
    assert_eq!(byte_range("items=0-1", 100), Range::Ignored);
    assert_eq!(byte_range("bytes=9-3", 100), Range::Ignored);
}
