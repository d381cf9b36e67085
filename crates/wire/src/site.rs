//! Site ids: a client names the site it calls with one (`wix-site-id`), and a local server
//! and a fleet turn one into a directory or file name, so both hold them to one rule.

/// Whether `id` may name a site: 1–64 of `A-Z a-z 0-9 . _ -`, not starting with `.` (it names
/// a directory, so nothing that could climb out of `sites/`).
pub fn valid_site_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Site ids name directories: nothing that could climb out or hide.
    #[test]
    fn site_ids_that_name_directories_safely() {
        for ok in ["a", "site-1", "Shop_2.eu", &"x".repeat(64)] {
            assert!(valid_site_id(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "a/b",
            "a\\b",
            "é",
            &"x".repeat(65),
            "a b",
        ] {
            assert!(!valid_site_id(bad), "{bad}");
        }
    }
}
