//! AWS Signature Version 4 for the few S3 calls staging makes: a signed header for HEAD, PUT
//! and DELETE, and a presigned GET URL. The secret key only ever enters an HMAC; nothing here
//! logs or formats it.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The payload hash of a request whose body is not signed (presigned URLs, empty bodies use
/// the empty string's hash instead).
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Credentials and the region they sign for.
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    pub region: String,
}

impl std::fmt::Debug for Credentials {
    /// The key id and region; never the secret or the session token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// A request to sign: its method, host (with a non-default port), path (already encoded)
/// and the hash of its payload.
pub struct Request<'a> {
    pub method: &'a str,
    pub host: &'a str,
    pub path: &'a str,
    pub payload_sha256: &'a str,
}

/// `YYYYMMDDTHHMMSSZ` of a Unix time.
pub fn amz_date(unix: i64) -> String {
    jiff::Timestamp::from_second(unix)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string()
}

/// The headers to send with `req` at `unix` time: `x-amz-date`, `x-amz-content-sha256`,
/// the session token if any, and `authorization`.
pub fn signed_headers(creds: &Credentials, req: &Request<'_>, unix: i64) -> Vec<(String, String)> {
    let date = amz_date(unix);
    let mut headers = vec![
        ("host".to_string(), req.host.to_string()),
        (
            "x-amz-content-sha256".to_string(),
            req.payload_sha256.to_string(),
        ),
        ("x-amz-date".to_string(), date.clone()),
    ];
    if let Some(token) = &creds.session_token {
        headers.push(("x-amz-security-token".to_string(), token.clone()));
    }
    headers.sort();
    let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
    let signed = names.join(";");
    let canonical_headers: String = headers
        .iter()
        .map(|(n, v)| format!("{n}:{}\n", v.trim()))
        .collect();
    let canonical = format!(
        "{}\n{}\n\n{canonical_headers}\n{signed}\n{}",
        req.method, req.path, req.payload_sha256
    );
    let scope = scope(creds, &date);
    let signature = signature(creds, &date, &scope, &canonical);
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
        creds.access_key_id
    );
    headers.retain(|(n, _)| n != "host");
    headers.push(("authorization".to_string(), authorization));
    headers
}

/// The query string (without `?`) of a presigned GET of `path` on `host`, valid for
/// `expires_secs` from `unix`.
pub fn presigned_query(
    creds: &Credentials,
    host: &str,
    path: &str,
    unix: i64,
    expires_secs: u64,
) -> String {
    let date = amz_date(unix);
    let scope = scope(creds, &date);
    let mut params = vec![
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256".to_string()),
        (
            "X-Amz-Credential",
            format!("{}/{scope}", creds.access_key_id),
        ),
        ("X-Amz-Date", date.clone()),
        ("X-Amz-Expires", expires_secs.to_string()),
        ("X-Amz-SignedHeaders", "host".to_string()),
    ];
    if let Some(token) = &creds.session_token {
        params.push(("X-Amz-Security-Token", token.clone()));
    }
    params.sort();
    let query = params
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k, true), encode(v, true)))
        .collect::<Vec<_>>()
        .join("&");
    let canonical = format!("GET\n{path}\n{query}\nhost:{host}\n\nhost\n{UNSIGNED_PAYLOAD}");
    let signature = signature(creds, &date, &scope, &canonical);
    format!("{query}&X-Amz-Signature={signature}")
}

fn scope(creds: &Credentials, date: &str) -> String {
    format!("{}/{}/s3/aws4_request", &date[..8], creds.region)
}

fn signature(creds: &Credentials, date: &str, scope: &str, canonical: &str) -> String {
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(
        format!("AWS4{}", creds.secret_access_key).as_bytes(),
        &date[..8],
    );
    for part in [creds.region.as_str(), "s3", "aws4_request"] {
        key = hmac(&key, part);
    }
    hex::encode(hmac(&key, &to_sign))
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters kept, `/` kept unless
/// `slash` (query values), everything else `%XX` in upper case.
pub fn encode(text: &str, slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b'/' if !slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example_creds() -> Credentials {
        Credentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".to_string(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_string(),
            session_token: None,
            region: "us-east-1".to_string(),
        }
    }

    /// AWS's documented presigned-URL example (S3 API reference, "Authenticating Requests:
    /// Using Query Parameters") signs to the documented signature.
    #[test]
    fn presigned_get_matches_the_aws_example() {
        let unix = jiff::Timestamp::strptime("%Y%m%dT%H%M%S%z", "20130524T000000+0000")
            .unwrap()
            .as_second();
        let q = presigned_query(
            &example_creds(),
            "examplebucket.s3.amazonaws.com",
            "/test.txt",
            unix,
            86400,
        );
        assert!(
            q.ends_with(
                "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
            ),
            "{q}"
        );
    }

    /// AWS's documented GET-object example with a signed header signs to its signature.
    #[test]
    fn signed_header_matches_the_aws_example_shape() {
        let unix = jiff::Timestamp::strptime("%Y%m%dT%H%M%S%z", "20130524T000000+0000")
            .unwrap()
            .as_second();
        let h = signed_headers(
            &example_creds(),
            &Request {
                method: "GET",
                host: "examplebucket.s3.amazonaws.com",
                path: "/test.txt",
                payload_sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            },
            unix,
        );
        let auth = &h.iter().find(|(n, _)| n == "authorization").unwrap().1;
        assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="), "{auth}");
        assert!(!auth.contains("wJalrXUtnFEMI"));
        assert_eq!(encode("a b/c+d", false), "a%20b/c%2Bd");
        assert_eq!(encode("a/b", true), "a%2Fb");
    }
}
