//! What file and folder names must not carry, shared by the local Media Manager's zip entries
//! and the client's downloaded copies.

/// Characters that reorder or break how a name is shown without being visible themselves:
/// bidi embeddings, overrides, isolates and marks (a `gpj.exe` shown as `exe.jpg`), the line
/// and paragraph separators, and a stray byte-order mark.
pub fn is_invisible_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{FEFF}'
    )
}
