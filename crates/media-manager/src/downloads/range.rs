//! HTTP `Range` requests (RFC 9110 §14): which slice of a file of known size a request asks
//! for. Only single byte ranges are honoured; anything else is answered with the whole file,
//! which the RFC allows.

/// What to send for a request's `Range` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// 200 with the whole file.
    Full,
    /// 206 with bytes `start..=end`.
    Partial { start: u64, end: u64 },
    /// 416 with `Content-Range: bytes */SIZE`.
    Unsatisfiable,
}

impl ByteRange {
    /// The slice `header` asks of a file of `size` bytes. A missing, malformed, multi-range or
    /// non-byte header gets the full file, since a server may ignore a Range it won't serve.
    pub fn parse(header: Option<&str>, size: u64) -> Self {
        let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
            return Self::Full;
        };
        if spec.contains(',') {
            return Self::Full;
        }
        let Some((first, last)) = spec.trim().split_once('-') else {
            return Self::Full;
        };
        let (first, last) = (first.trim(), last.trim());
        let number = |s: &str| -> Option<u64> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // Too many digits to fit is still a valid, just very large, position.
            Some(s.parse().unwrap_or(u64::MAX))
        };
        match (first.is_empty(), last.is_empty()) {
            (true, true) => Self::Full,
            (true, false) => match number(last) {
                None => Self::Full,
                Some(0) => Self::Unsatisfiable,
                Some(_) if size == 0 => Self::Unsatisfiable,
                Some(n) => Self::Partial {
                    start: size - n.min(size),
                    end: size - 1,
                },
            },
            (false, _) => {
                let Some(start) = number(first) else {
                    return Self::Full;
                };
                let end = if last.is_empty() {
                    u64::MAX
                } else {
                    match number(last) {
                        Some(end) if end >= start => end,
                        _ => return Self::Full,
                    }
                };
                if start >= size {
                    Self::Unsatisfiable
                } else {
                    Self::Partial {
                        start,
                        end: end.min(size - 1),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ByteRange::{self, *};

    fn p(h: &str, size: u64) -> ByteRange {
        ByteRange::parse(Some(h), size)
    }

    #[test]
    fn single_ranges() {
        assert_eq!(p("bytes=0-9", 100), Partial { start: 0, end: 9 });
        assert_eq!(p("bytes=10-", 100), Partial { start: 10, end: 99 });
        assert_eq!(p("bytes=90-200", 100), Partial { start: 90, end: 99 });
        assert_eq!(p("bytes=99-99", 100), Partial { start: 99, end: 99 });
        assert_eq!(p(" bytes= 5 - 6 ", 100), Partial { start: 5, end: 6 });
    }

    #[test]
    fn suffix_ranges() {
        assert_eq!(p("bytes=-10", 100), Partial { start: 90, end: 99 });
        assert_eq!(p("bytes=-500", 100), Partial { start: 0, end: 99 });
        assert_eq!(p("bytes=-0", 100), Unsatisfiable);
        assert_eq!(p("bytes=-5", 0), Unsatisfiable);
    }

    #[test]
    fn unsatisfiable_ranges() {
        assert_eq!(p("bytes=100-", 100), Unsatisfiable);
        assert_eq!(p("bytes=100-200", 100), Unsatisfiable);
        assert_eq!(p("bytes=0-", 0), Unsatisfiable);
        assert_eq!(p("bytes=99999999999999999999999-", 100), Unsatisfiable);
    }

    #[test]
    fn ignored_headers_get_the_full_file() {
        assert_eq!(ByteRange::parse(None, 100), Full);
        for h in [
            "items=0-1",
            "bytes=0-1,5-6",
            "bytes=5-1",
            "bytes=a-b",
            "bytes=-",
            "bytes=1",
            "bytes=+1-2",
            "bytes=-+3",
            "",
        ] {
            assert_eq!(p(h, 100), Full, "{h}");
        }
    }
}
