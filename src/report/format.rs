//! Wording shared by every report and command line: durations as people read them, and the
//! skipped rows' clause of a done line.

/// `3725` → `"1h 2m 5s"`; zero units are left out, `0` is `"0s"`.
pub fn human_duration(secs: u64) -> String {
    let parts = [
        (secs / 86_400, "d"),
        (secs / 3600 % 24, "h"),
        (secs / 60 % 60, "m"),
        (secs % 60, "s"),
    ];
    let text: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if text.is_empty() {
        "0s".to_string()
    } else {
        text.join(" ")
    }
}

/// ", N skipped" when rows were skipped for want of a source, else nothing.
pub fn skipped(n: u64) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(", {n} skipped")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human_duration(0), "0s");
        assert_eq!(human_duration(60), "1m");
        assert_eq!(human_duration(3725), "1h 2m 5s");
        assert_eq!(human_duration(90_061), "1d 1h 1m 1s");
    }
}
