//! How headers and keys are compared.

/// A header or key as it is compared: trimmed (including a stray BOM) and lowercased.
pub fn normalize(name: &str) -> String {
    name.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .to_lowercase()
}
