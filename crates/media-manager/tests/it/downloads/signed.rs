//! Signed file URLs: exact bytes and headers, both bindings, ranges, tampering, expiry,
//! invalid requests and the thumbnail asset.

use axum::http::StatusCode;
use serde_json::{Value, json};
use wix_media_manager::downloads::signing::{DispositionType, DownloadGrant};

use super::{fetch, header, id_of, import, now_secs, signed_url, signing_key};
use crate::support::{SourceServer, TestServer, jpeg, png};

/// A signed URL serves exactly the file's bytes, with its type, length, ETag and the asked disposition and name.
#[tokio::test]
async fn signed_url_serves_exact_bytes_with_disposition() {
    let (server, src) = (TestServer::start().await, SourceServer::start().await);
    let bytes = png(64, 48);
    let file = import(
        &server,
        &src,
        "/a.png",
        "image/png",
        bytes.clone(),
        json!({}),
    )
    .await;
    let id = id_of(&file);

    let url = signed_url(&server, json!({ "fileId": id })).await;
    assert!(
        url.starts_with(&format!("{}/_download/", server.url)),
        "{url}"
    );
    let r = fetch(&url, &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-type"), "image/png");
    assert_eq!(header(&r, "content-length"), bytes.len().to_string());
    assert_eq!(header(&r, "accept-ranges"), "bytes");
    assert_eq!(
        header(&r, "etag"),
        format!("\"{}\"", file.hash.expect("hash"))
    );
    assert_eq!(
        header(&r, "content-disposition"),
        "attachment; filename=\"a.png\"; filename*=UTF-8''a.png"
    );
    assert_eq!(r.bytes().await.expect("body").to_vec(), bytes);

    let url = signed_url(
        &server,
        json!({ "fileId": id, "contentDisposition": "INLINE", "downloadFileName": "my \"photo\" é.png" }),
    )
    .await;
    let r = fetch(&url, &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        header(&r, "content-disposition"),
        "inline; filename=\"my _photo_ _.png\"; filename*=UTF-8''my%20%22photo%22%20%C3%A9.png"
    );
    assert_eq!(r.bytes().await.expect("body").to_vec(), bytes);
}

/// The second binding (`/v1/files/{fileId}/generate-download-url`) and a Wix media URL as fileId both work.
#[tokio::test]
async fn second_binding_and_media_urls_are_accepted() {
    let (server, src) = (TestServer::start().await, SourceServer::start().await);
    let bytes = jpeg(40, 30);
    let file = import(
        &server,
        &src,
        "/b.jpg",
        "image/jpeg",
        bytes.clone(),
        json!({}),
    )
    .await;
    let id = id_of(&file);

    let v = server
        .ok_post(&format!("/v1/files/{id}/generate-download-url"), json!({}))
        .await;
    let url = v["downloadUrls"][0]["url"].as_str().expect("url");
    assert_eq!(v["downloadUrls"][0]["assetKey"], "src");
    let r = fetch(url, &[]).await;
    assert_eq!(r.bytes().await.expect("body").to_vec(), bytes);

    let media_url = format!("wix:image://v1/{id}/b.jpg#originWidth=40&originHeight=30");
    let url = signed_url(&server, json!({ "fileId": media_url })).await;
    assert_eq!(fetch(&url, &[]).await.status(), StatusCode::OK);
}

/// Single byte ranges answer 206 with the slice and Content-Range; unsatisfiable ones 416; several ranges the whole file.
#[tokio::test]
async fn range_requests_serve_slices() {
    let (server, src) = (TestServer::start().await, SourceServer::start().await);
    let bytes = png(80, 80);
    let n = bytes.len();
    let file = import(
        &server,
        &src,
        "/r.png",
        "image/png",
        bytes.clone(),
        json!({}),
    )
    .await;
    let url = signed_url(&server, json!({ "fileId": id_of(&file) })).await;

    for (range, start, end) in [
        ("bytes=10-19".to_string(), 10, 19),
        ("bytes=-7".to_string(), n - 7, n - 1),
        (format!("bytes={}-", n - 5), n - 5, n - 1),
        (format!("bytes=0-{}", n + 100), 0, n - 1),
    ] {
        let r = fetch(&url, &[("Range", &range)]).await;
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            header(&r, "content-range"),
            format!("bytes {start}-{end}/{n}")
        );
        assert_eq!(header(&r, "content-length"), (end - start + 1).to_string());
        assert_eq!(r.bytes().await.expect("body").to_vec(), bytes[start..=end]);
    }

    for range in [format!("bytes={n}-"), "bytes=-0".to_string()] {
        let r = fetch(&url, &[("Range", &range)]).await;
        assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
        assert_eq!(header(&r, "content-range"), format!("bytes */{n}"));
    }

    let r = fetch(&url, &[("Range", "bytes=0-1,5-6")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.expect("body").to_vec(), bytes);

    let r = fetch(&url, &[("Range", "bytes=0-3"), ("If-Range", "\"stale\"")]).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "a stale If-Range gets the whole file"
    );
}

/// Changing the signature, file id, expiry or disposition of a signed URL gets a 403 Wix error.
#[tokio::test]
async fn tampered_urls_are_forbidden() {
    let (server, src) = (TestServer::start().await, SourceServer::start().await);
    let file = import(&server, &src, "/t.png", "image/png", png(8, 8), json!({})).await;
    let other = import(&server, &src, "/u.png", "image/png", png(9, 9), json!({})).await;
    let id = id_of(&file);
    let url = signed_url(&server, json!({ "fileId": id })).await;
    let parsed = url::Url::parse(&url).expect("url");
    let sig = parsed
        .query_pairs()
        .find(|(k, _)| k == "sig")
        .map(|(_, v)| v.into_owned())
        .expect("sig");
    let exp = parsed
        .query_pairs()
        .find(|(k, _)| k == "exp")
        .map(|(_, v)| v.into_owned())
        .expect("exp");
    let flipped: String = sig
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 0 {
                if c == '0' { '1' } else { '0' }
            } else {
                c
            }
        })
        .collect();
    let tampered = [
        url.replace(&sig, &flipped),
        url.replace(&sig, ""),
        url.replace(&id, &id_of(&other)),
        url.replace(
            &format!("exp={exp}"),
            &format!("exp={}", exp.parse::<i64>().unwrap() + 60),
        ),
        url.replace("disp=attachment", "disp=inline"),
        url.replace("/src?", "/thumbnail?"),
    ];
    for t in tampered {
        assert_ne!(t, url);
        let r = fetch(&t, &[]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{t}");
        let body: Value = r.json().await.expect("wix error body");
        assert_eq!(
            body["details"]["applicationError"]["code"], "INVALID_SIGNATURE",
            "{body}"
        );
    }
    assert_eq!(fetch(&url, &[]).await.status(), StatusCode::OK);
}

/// An authentic URL past its expiry answers 403, or 302 to the `expirationRedirectUrl` signed into it.
#[tokio::test]
async fn expired_urls_are_forbidden_or_redirect() {
    let (server, src) = (TestServer::start().await, SourceServer::start().await);
    let file = import(&server, &src, "/e.png", "image/png", png(8, 8), json!({})).await;
    let key = signing_key(&server);
    let grant = DownloadGrant {
        file_id: id_of(&file),
        asset_key: "src".to_string(),
        expires_at: now_secs() - 1,
        disposition: DispositionType::Attachment,
        name: None,
        redirect: None,
    };
    let r = fetch(&grant.to_url(&server.url, &key), &[]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body: Value = r.json().await.expect("wix error body");
    assert_eq!(body["details"]["applicationError"]["code"], "URL_EXPIRED");

    let with_redirect = DownloadGrant {
        redirect: Some("https://example.com/expired?why=1".to_string()),
        ..grant.clone()
    };
    let r = fetch(&with_redirect.to_url(&server.url, &key), &[]).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(header(&r, "location"), "https://example.com/expired?why=1");

    let live = DownloadGrant {
        expires_at: now_secs() + 60,
        ..grant
    };
    assert_eq!(
        fetch(&live.to_url(&server.url, &key), &[]).await.status(),
        StatusCode::OK
    );

    let v = server
        .ok_post(
            "/v1/files/generate-file-download-url",
            json!({ "fileId": id_of(&file), "expirationInMinutes": 1,
                    "expirationRedirectUrl": "https://example.com/gone" }),
        )
        .await;
    let url = v["downloadUrls"][0]["url"].as_str().expect("url");
    let exp: i64 = url::Url::parse(url)
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "exp")
        .and_then(|(_, v)| v.parse().ok())
        .expect("exp");
    assert!(
        (exp - now_secs() - 60).abs() <= 5,
        "expiry is one minute away: {exp}"
    );
}

/// Bad options answer 400, unknown files 404, and a signed URL for a file that is gone 404.
#[tokio::test]
async fn invalid_download_requests_are_rejected() {
    let (server, src) = (TestServer::start().await, SourceServer::start().await);
    let file = import(&server, &src, "/i.png", "image/png", png(8, 8), json!({})).await;
    let id = id_of(&file);
    let path = "/v1/files/generate-file-download-url";
    for body in [
        json!({ "fileId": id, "expirationInMinutes": 0 }),
        json!({ "fileId": id, "expirationInMinutes": 525601 }),
        json!({ "fileId": id, "expirationInMinutes": -5 }),
        json!({ "fileId": id, "assetKeys": ["src", "720p.mp4"] }),
        json!({ "fileId": id, "expirationRedirectUrl": "javascript:alert(1)" }),
        json!({ "fileId": id, "contentDisposition": "SIDEWAYS" }),
        json!({ "fileId": id, "downloadFileName": "" }),
        json!({}),
    ] {
        let (status, v) = server.post(path, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert!(v["message"].is_string(), "{v}");
    }
    let (status, _) = server
        .post(path, json!({ "fileId": id, "expirationInMinutes": 525600 }))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server.post(path, json!({ "fileId": "nope_123" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let gone = DownloadGrant {
        file_id: "nope_123".to_string(),
        asset_key: "src".to_string(),
        expires_at: now_secs() + 60,
        disposition: DispositionType::Attachment,
        name: None,
        redirect: None,
    };
    let r = fetch(&gone.to_url(&server.url, &signing_key(&server)), &[]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// The `thumbnail` asset key serves an image that decodes with smaller dimensions than the original.
#[tokio::test]
async fn thumbnail_asset_is_a_smaller_image() {
    let (server, src) = (TestServer::start().await, SourceServer::start().await);
    for (path, ctype, bytes) in [
        ("/big.png", "image/png", png(800, 600)),
        ("/big.jpg", "image/jpeg", jpeg(900, 500)),
    ] {
        let file = import(&server, &src, path, ctype, bytes, json!({})).await;
        let v = server
            .ok_post(
                "/v1/files/generate-file-download-url",
                json!({ "fileId": id_of(&file), "assetKeys": ["src", "thumbnail"] }),
            )
            .await;
        let urls = v["downloadUrls"].as_array().expect("urls");
        assert_eq!(urls.len(), 2, "{v}");
        assert_eq!(urls[1]["assetKey"], "thumbnail");
        let r = fetch(urls[1]["url"].as_str().expect("url"), &[]).await;
        assert_eq!(r.status(), StatusCode::OK);
        let ext = match header(&r, "content-type").as_str() {
            "image/png" => "png",
            "image/jpeg" => "jpg",
            other => panic!("thumbnail type {other}"),
        };
        assert!(
            header(&r, "content-disposition")
                .contains(&format!("filename=\"big-thumbnail.{ext}\"")),
            "{}",
            header(&r, "content-disposition")
        );
        let thumb = image::load_from_memory(&r.bytes().await.expect("body")).expect("decodes");
        let (w, h) = (thumb.width(), thumb.height());
        assert!(w < 800 && h < 500 && w > 0 && h > 0, "{path}: {w}x{h}");
    }
}
