//! What the tool knows of the hosts media comes from: the headers a private source needs
//! (`--source-header 'HOST: Name: value'`), which go to the target as an import's `urlHeaders`
//! and with the probes, and nowhere else — never into the journal, logs, reports or error
//! messages; [`probe`], asking a source what it is without downloading it (politely per host);
//! [`diagnosis`], what a failed row's source says about why it failed; and [`served`], the
//! manifest's local files served to the target at signed URLs (`run --serve-sources`); and
//! [`stage`], the same files staged in object storage (S3, GCS, Azure) and imported from
//! presigned URLs (`run --stage`).

pub mod diagnosis;
pub mod probe;
pub mod served;
pub mod stage;

use std::collections::{BTreeMap, HashMap};

use crate::api::client::Secret;

/// Headers to send to each source host.
#[derive(Clone, Default)]
pub struct SourceHeaders {
    /// Lower-case host → (header name, value), in the order given.
    by_host: HashMap<String, Vec<(String, Secret)>>,
}

impl std::fmt::Debug for SourceHeaders {
    /// Hosts and header names only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        for (host, headers) in &self.by_host {
            let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
            map.entry(host, &names);
        }
        map.finish()
    }
}

impl SourceHeaders {
    /// Parses `--source-header` values: `HOST: Name: value`, the value literal or `@env:VAR`
    /// (read from the environment). Errors name the flag's position and what is wrong, never
    /// the value.
    pub fn parse_all(
        specs: &[String],
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let mut headers = Self::default();
        for (i, spec) in specs.iter().enumerate() {
            let (host, name, value) = parse_one(spec, &env)
                .map_err(|why| format!("--source-header #{}: {why}", i + 1))?;
            headers.by_host.entry(host).or_default().push((name, value));
        }
        Ok(headers)
    }

    /// Adds `other`'s headers after these (a fleet's, then a site's own).
    pub fn extend(&mut self, other: SourceHeaders) {
        for (host, headers) in other.by_host {
            self.by_host.entry(host).or_default().extend(headers);
        }
    }

    /// The hosts that get headers (lower case).
    pub fn hosts(&self) -> std::collections::HashSet<String> {
        self.by_host.keys().cloned().collect()
    }

    /// The headers for a source URL's host, as an import's `urlHeaders`; `None` when it needs none.
    pub fn for_url(&self, source: &str) -> Option<BTreeMap<String, String>> {
        let url = url::Url::parse(source).ok()?;
        let headers = self.by_host.get(&url.host_str()?.to_ascii_lowercase())?;
        Some(
            headers
                .iter()
                .map(|(n, v)| (n.clone(), v.expose().to_string()))
                .collect(),
        )
    }
}

fn parse_one(
    spec: &str,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<(String, String, Secret), String> {
    let (host, rest) = spec.split_once(':').ok_or("expected 'HOST: Name: value'")?;
    let (name, value) = rest.split_once(':').ok_or("expected 'HOST: Name: value'")?;
    let host = host.trim().to_ascii_lowercase();
    let (name, value) = (name.trim(), value.trim());
    if host.is_empty() || host.contains(['/', ' ']) {
        return Err("HOST must be a host name, such as cdn.example.com".to_string());
    }
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        return Err(format!("`{name}` is not a header name"));
    }
    let value = match value.strip_prefix("@env:") {
        Some(var) => env(var).ok_or_else(|| format!("environment variable {var} is not set"))?,
        None => value.to_string(),
    };
    if value.is_empty() || value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
        return Err(format!(
            "the value of {name} is empty or holds control characters"
        ));
    }
    Ok((host, name.to_string(), Secret::new(value)))
}

/// A byte of an HTTP token (RFC 9110), which header names are.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(var: &str) -> Option<String> {
        (var == "CDN_TOKEN").then(|| "from-env".to_string())
    }

    /// Headers are kept per host (case-insensitively), literal or from the environment, and
    /// given for that host's URLs only.
    #[test]
    fn headers_go_to_their_host() {
        let h = SourceHeaders::parse_all(
            &[
                "CDN.example.com: Authorization: Bearer abc".to_string(),
                "cdn.example.com: X-Token: @env:CDN_TOKEN".to_string(),
                "other.example: Cookie: a=b".to_string(),
            ],
            env,
        )
        .expect("valid");
        let got = h
            .for_url("https://cdn.example.com/a/b.png?x=1")
            .expect("cdn");
        assert_eq!(got["Authorization"], "Bearer abc");
        assert_eq!(got["X-Token"], "from-env");
        assert_eq!(
            h.for_url("https://other.example/c.jpg").expect("other")["Cookie"],
            "a=b"
        );
        assert!(h.for_url("https://elsewhere.example/c.jpg").is_none());
        assert!(h.for_url("not a url").is_none());
    }

    /// Malformed flags are refused with what is wrong, and never with the value.
    #[test]
    fn bad_flags_are_refused_without_their_values() {
        for (spec, want) in [
            ("cdn.example.com Authorization secret-1", "expected"),
            ("cdn.example.com: Bad Name: secret-2", "not a header name"),
            (": X-Token: secret-3", "HOST"),
            (
                "cdn.example.com: X-Token: @env:MISSING",
                "MISSING is not set",
            ),
            ("cdn.example.com: X-Token:   ", "empty"),
        ] {
            let err = SourceHeaders::parse_all(&[spec.to_string()], env).expect_err(spec);
            assert!(err.contains(want), "{spec}: {err}");
            assert!(err.starts_with("--source-header #1"), "{err}");
            assert!(!err.contains("secret-"), "the value leaked: {err}");
        }
    }

    /// `Debug` shows hosts and header names, never values.
    #[test]
    fn debug_hides_values() {
        let h = SourceHeaders::parse_all(&["cdn.example.com: X-Token: hush".to_string()], env)
            .expect("valid");
        let shown = format!("{h:?}");
        assert!(
            shown.contains("cdn.example.com") && shown.contains("X-Token"),
            "{shown}"
        );
        assert!(!shown.contains("hush"), "{shown}");
    }
}
