//! Local names for downloaded files: each folder name and file name made safe on any operating
//! system (no separators, traversal, control or invisible characters, reserved Windows names,
//! trailing dots or spaces; at most 200 bytes), and a numbered variant (`name (2).ext`) for
//! when a name is taken in its folder.

use wix_media_wire::names::is_invisible_control;

/// Bytes of a component kept (file systems take 255; room is left for ` (N)` and `.part`).
const MAX_BYTES: usize = 200;

/// Windows' reserved device names, matched without their extension.
const RESERVED: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// One path component (a folder or file name) made safe; never empty, `.` or `..`.
pub fn safe_component(name: &str) -> String {
    let mut out: String = name
        .chars()
        .filter(|c| !is_invisible_control(*c))
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let trimmed = out.trim_end_matches(['.', ' ']).trim_start().to_string();
    out = trimmed;
    if out.is_empty() {
        out = "_".to_string();
    }
    let stem = out.split('.').next().unwrap_or_default();
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(stem)) {
        out.insert(0, '_');
    }
    truncate(&out, MAX_BYTES)
}

/// `name` cut to at most `max` bytes on a character boundary, keeping a short extension.
fn truncate(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    let (stem, ext) = split_ext(name);
    let ext = if ext.len() <= 16 { ext } else { "" };
    let mut cut = max - ext.len();
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{ext}", &stem[..cut])
}

/// `photo.jpg` → (`photo`, `.jpg`); a name without a dot, or only a leading one, has none.
fn split_ext(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 => name.split_at(i),
        _ => (name, ""),
    }
}

/// The `n`th candidate for a safe name: itself, then `stem (2).ext`, `stem (3).ext`…
pub fn numbered(safe: &str, n: u32) -> String {
    if n <= 1 {
        return safe.to_string();
    }
    let (stem, ext) = split_ext(safe);
    format!("{stem} ({n}){ext}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No name can leave its folder, hide characters, or take a device name.
    #[test]
    fn names_are_made_safe() {
        assert_eq!(safe_component("../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(safe_component(".."), "_");
        assert_eq!(safe_component("."), "_");
        assert_eq!(safe_component(""), "_");
        assert_eq!(safe_component("a\\b:c*?.png"), "a_b_c__.png");
        assert_eq!(safe_component("con.txt"), "_con.txt");
        assert_eq!(safe_component("photo. "), "photo");
        assert_eq!(safe_component("gpj\u{202E}.exe"), "gpj.exe");
        assert_eq!(safe_component("été 東京.jpg"), "été 東京.jpg");
        let long = format!("{}.jpeg", "é".repeat(300));
        let safe = safe_component(&long);
        assert!(safe.len() <= MAX_BYTES && safe.ends_with(".jpeg"), "{safe}");
    }

    #[test]
    fn numbers_keep_the_extension() {
        assert_eq!(numbered("a.png", 1), "a.png");
        assert_eq!(numbered("a.png", 2), "a (2).png");
        assert_eq!(numbered(".env", 3), ".env (3)");
        assert_eq!(numbered("README", 2), "README (2)");
    }
}
