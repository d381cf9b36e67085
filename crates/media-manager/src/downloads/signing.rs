//! Signed download URLs: what a URL grants (file, asset, expiry, disposition, name, redirect),
//! its HMAC-SHA256 signature over an unambiguous canonical form, and the check of a presented
//! URL against a clock the caller passes in. Serving the bytes is [`super::serve`]'s job.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::extract::QueryList;

type HmacSha256 = Hmac<Sha256>;

/// How the browser should treat the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DispositionType {
    Attachment,
    Inline,
}

impl DispositionType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Attachment => "attachment",
            Self::Inline => "inline",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "attachment" => Some(Self::Attachment),
            "inline" => Some(Self::Inline),
            _ => None,
        }
    }
}

/// Everything a signed URL grants; every field is covered by the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadGrant {
    pub file_id: String,
    pub asset_key: String,
    /// Unix seconds after which the URL no longer serves.
    pub expires_at: i64,
    pub disposition: DispositionType,
    /// The download name; the display name when absent.
    pub name: Option<String>,
    /// Where an expired URL sends the browser; a 403 when absent.
    pub redirect: Option<String>,
}

/// Why a presented URL does not serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Missing, malformed or wrong signature, or a parameter that doesn't parse.
    BadSignature,
    /// Authentic but past its expiry; carries the signed redirect, if any.
    Expired { redirect: Option<String> },
}

const SIGNED_PARAMS: [&str; 5] = ["exp", "disp", "name", "redirect", "sig"];

impl DownloadGrant {
    /// Canonical bytes: a version tag, then each field length-prefixed (absent ones as `-`), so
    /// no two different grants can produce the same string.
    fn canonical(&self) -> String {
        fn field(out: &mut String, v: Option<&str>) {
            match v {
                Some(v) => out.push_str(&format!("{}:{v}\n", v.len())),
                None => out.push_str("-\n"),
            }
        }
        let mut out = String::from("media-download-v1\n");
        field(&mut out, Some(&self.file_id));
        field(&mut out, Some(&self.asset_key));
        field(&mut out, Some(&self.expires_at.to_string()));
        field(&mut out, Some(self.disposition.as_str()));
        field(&mut out, self.name.as_deref());
        field(&mut out, self.redirect.as_deref());
        out
    }

    fn mac(&self, key: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(self.canonical().as_bytes());
        mac
    }

    /// The hex signature of this grant under `key`.
    pub fn signature(&self, key: &[u8]) -> String {
        hex::encode(self.mac(key).finalize().into_bytes())
    }

    /// The full URL: `{base}/_download/{fileId}/{assetKey}?exp=..&disp=..[&name=..][&redirect=..]&sig=..`.
    pub fn to_url(&self, base: &str, key: &[u8]) -> String {
        let mut url = url::Url::parse(&format!("{base}/_download/"))
            .expect("the public URL is an absolute http URL");
        url.path_segments_mut()
            .expect("http URLs have path segments")
            .pop_if_empty()
            .push(&self.file_id)
            .push(&self.asset_key);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("exp", &self.expires_at.to_string());
            q.append_pair("disp", self.disposition.as_str());
            if let Some(name) = &self.name {
                q.append_pair("name", name);
            }
            if let Some(redirect) = &self.redirect {
                q.append_pair("redirect", redirect);
            }
            q.append_pair("sig", &self.signature(key));
        }
        url.into()
    }

    /// Reads the grant a request presents and checks it at `now` (Unix seconds). The signature
    /// is compared in constant time; expiry is only looked at once the URL is known authentic,
    /// so a forged `redirect` can never be followed.
    pub fn verify(
        file_id: &str,
        asset_key: &str,
        query: &QueryList,
        key: &[u8],
        now: i64,
    ) -> Result<Self, Refusal> {
        // A repeated signed parameter could make the signer and the server read different values.
        if SIGNED_PARAMS.iter().any(|p| query.all(p).count() > 1) {
            return Err(Refusal::BadSignature);
        }
        let grant = Self {
            file_id: file_id.to_string(),
            asset_key: asset_key.to_string(),
            expires_at: query
                .get("exp")
                .and_then(|e| e.parse().ok())
                .ok_or(Refusal::BadSignature)?,
            disposition: query
                .get("disp")
                .and_then(DispositionType::parse)
                .ok_or(Refusal::BadSignature)?,
            name: query.get("name").map(str::to_string),
            redirect: query.get("redirect").map(str::to_string),
        };
        let sig = query
            .get("sig")
            .and_then(|s| hex::decode(s).ok())
            .ok_or(Refusal::BadSignature)?;
        grant
            .mac(key)
            .verify_slice(&sig)
            .map_err(|_| Refusal::BadSignature)?;
        if now >= grant.expires_at {
            return Err(Refusal::Expired {
                redirect: grant.redirect,
            });
        }
        Ok(grant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"test-key";

    fn grant() -> DownloadGrant {
        DownloadGrant {
            file_id: "abc_123~mv2.png".to_string(),
            asset_key: "src".to_string(),
            expires_at: 2_000,
            disposition: DispositionType::Attachment,
            name: Some("Ünïcode name & \"quotes\".png".to_string()),
            redirect: Some("https://example.com/expired?x=1".to_string()),
        }
    }

    /// Splits a signed URL into its path's (file id, asset key) and its query.
    fn parse(url: &str) -> (String, String, QueryList) {
        let u = url::Url::parse(url).unwrap();
        let segs: Vec<String> = u
            .path_segments()
            .unwrap()
            .map(|s| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .unwrap()
                    .1
                    .into_owned()
            })
            .collect();
        let q = QueryList(u.query_pairs().into_owned().collect());
        (segs[1].clone(), segs[2].clone(), q)
    }

    fn with_param(q: &QueryList, key: &str, value: &str) -> QueryList {
        QueryList(
            q.0.iter()
                .map(|(k, v)| {
                    let v = if k == key { value } else { v };
                    (k.clone(), v.to_string())
                })
                .collect(),
        )
    }

    #[test]
    fn round_trip_verifies() {
        let url = grant().to_url("http://127.0.0.1:1", KEY);
        let (id, asset, q) = parse(&url);
        assert_eq!(
            DownloadGrant::verify(&id, &asset, &q, KEY, 1_000),
            Ok(grant())
        );
    }

    #[test]
    fn tampering_with_any_field_is_refused() {
        let url = grant().to_url("http://127.0.0.1:1", KEY);
        let (id, asset, q) = parse(&url);
        let bad = Err(Refusal::BadSignature);
        assert_eq!(DownloadGrant::verify("other", &asset, &q, KEY, 0), bad);
        assert_eq!(DownloadGrant::verify(&id, "thumbnail", &q, KEY, 0), bad);
        for (k, v) in [
            ("exp", "999999"),
            ("disp", "inline"),
            ("name", "x.png"),
            ("redirect", "https://evil.example/"),
            ("sig", "00"),
            ("sig", "zz"),
        ] {
            let q = with_param(&q, k, v);
            assert_eq!(DownloadGrant::verify(&id, &asset, &q, KEY, 0), bad, "{k}");
        }
        assert_eq!(DownloadGrant::verify(&id, &asset, &q, b"other key", 0), bad);
    }

    #[test]
    fn dropping_or_repeating_a_parameter_is_refused() {
        let (id, asset, q) = parse(&grant().to_url("http://h", KEY));
        let without_name = QueryList(q.0.iter().filter(|(k, _)| k != "name").cloned().collect());
        let bad = Err(Refusal::BadSignature);
        assert_eq!(
            DownloadGrant::verify(&id, &asset, &without_name, KEY, 0),
            bad
        );
        let mut doubled = q.0.clone();
        doubled.push(("name".to_string(), "again.png".to_string()));
        let doubled = QueryList(doubled);
        assert_eq!(DownloadGrant::verify(&id, &asset, &doubled, KEY, 0), bad);
    }

    #[test]
    fn expiry_is_checked_after_the_signature() {
        let (id, asset, q) = parse(&grant().to_url("http://h", KEY));
        assert_eq!(
            DownloadGrant::verify(&id, &asset, &q, KEY, 2_000),
            Err(Refusal::Expired {
                redirect: grant().redirect
            })
        );
        let no_redirect = DownloadGrant {
            redirect: None,
            ..grant()
        };
        let (id, asset, q) = parse(&no_redirect.to_url("http://h", KEY));
        assert_eq!(
            DownloadGrant::verify(&id, &asset, &q, KEY, 5_000),
            Err(Refusal::Expired { redirect: None })
        );
    }

    #[test]
    fn absent_and_empty_fields_sign_differently() {
        let absent = DownloadGrant {
            name: None,
            ..grant()
        };
        let empty = DownloadGrant {
            name: Some(String::new()),
            ..grant()
        };
        assert_ne!(absent.signature(KEY), empty.signature(KEY));
    }
}
