//! Static URLs of public files, and video stream URLs.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{fetch, header, id_of, import, signed_url};
use crate::support::{SourceServer, TestServer, png};

/// A public file's static URL serves it inline (with ranges); a private file's URL and thumbnail answer 403.
#[tokio::test]
async fn static_urls_serve_public_files_only() {
    let (server, src) = (TestServer::start().await, SourceServer::start().await);
    let bytes = png(300, 200);
    let public = import(
        &server,
        &src,
        "/s.png",
        "image/png",
        bytes.clone(),
        json!({}),
    )
    .await;
    let private = import(
        &server,
        &src,
        "/q.png",
        "image/png",
        png(300, 200),
        json!({ "private": true }),
    )
    .await;

    let url = public.url.clone().expect("url");
    assert_eq!(url, format!("{}/media/{}", server.url, id_of(&public)));
    let r = fetch(&url, &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(header(&r, "content-disposition").starts_with("inline;"));
    assert_eq!(r.bytes().await.expect("body").to_vec(), bytes);
    let r = fetch(&url, &[("Range", "bytes=1-4")]).await;
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.bytes().await.expect("body").to_vec(), bytes[1..=4]);
    let thumb = fetch(&public.thumbnail_url.clone().expect("thumbnail url"), &[]).await;
    assert_eq!(thumb.status(), StatusCode::OK);

    for url in [
        private.url.clone().expect("url"),
        private.thumbnail_url.clone().expect("thumbnail url"),
    ] {
        let r = fetch(&url, &[]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{url}");
        let body: Value = r.json().await.expect("wix error body");
        assert_eq!(body["details"]["applicationError"]["code"], "PRIVATE_FILE");
    }
    // A private file is still downloadable through a signed URL.
    let url = signed_url(&server, json!({ "fileId": id_of(&private) })).await;
    assert_eq!(fetch(&url, &[]).await.status(), StatusCode::OK);

    let r = fetch(&format!("{}/media/nope_1", server.url), &[]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// Video stream URLs are refused for non-videos and unknown files.
#[tokio::test]
async fn video_stream_url_needs_a_ready_video() {
    let (server, src) = (TestServer::start().await, SourceServer::start().await);
    let image = import(&server, &src, "/v.png", "image/png", png(4, 4), json!({})).await;
    let id = id_of(&image);
    let (status, v) = server
        .post(
            "/v1/files/generate-video-stream-url",
            json!({ "fileId": id, "format": "HLS" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (status, _) = server
        .post(
            &format!("/v1/files/video/{id}/generate-stream-url"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = server
        .post("/v1/files/video/nope_1/generate-stream-url", json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A minimal MP4 (an `ftyp` box and padding): enough for type detection, not for playback.
fn mp4() -> Vec<u8> {
    let mut v = vec![0, 0, 0, 0x18];
    v.extend_from_slice(b"ftypmp42\0\0\0\0mp42isom");
    v.extend((0..4000u32).map(|i| (i % 251) as u8));
    v
}

/// A READY video gets an inline, signed `src` URL for any format, from both bindings.
#[tokio::test]
async fn video_stream_url_serves_the_original_inline() {
    let (server, src) = (TestServer::start().await, SourceServer::start().await);
    let bytes = mp4();
    let video = import(
        &server,
        &src,
        "/clip.mp4",
        "video/mp4",
        bytes.clone(),
        json!({}),
    )
    .await;
    let id = id_of(&video);
    let (_, by_body) = server
        .post(
            "/v1/files/generate-video-stream-url",
            json!({ "fileId": id, "format": "DASH" }),
        )
        .await;
    let (_, by_path) = server
        .post(
            &format!("/v1/files/video/{id}/generate-stream-url"),
            json!({ "format": "HLS" }),
        )
        .await;
    for v in [by_body, by_path] {
        assert_eq!(v["downloadUrl"]["assetKey"], "src", "{v}");
        let r = fetch(v["downloadUrl"]["url"].as_str().expect("url"), &[]).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, "content-type"), "video/mp4");
        assert!(header(&r, "content-disposition").starts_with("inline;"));
        assert_eq!(r.bytes().await.expect("body").to_vec(), bytes);
    }
}

/// Issue 13, hole 9: media leaves the API's origin as data, never as a page: every served file
/// has `nosniff` and a sandboxing CSP, and an SVG (which can hold a script) is an attachment
/// even where `inline` was asked for, as are HTML and XML; a PNG stays inline.
#[tokio::test]
async fn hole_9_active_media_served_as_attachment_in_a_sandbox() {
    let (server, src) = (TestServer::start().await, SourceServer::start().await);
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><script>alert(document.domain)</script><rect width="4" height="4"/></svg>"#;
    let vector = import(
        &server,
        &src,
        "/evil.svg",
        "image/svg+xml",
        svg.to_vec(),
        json!({ "displayName": "evil.svg", "mimeType": "image/svg+xml" }),
    )
    .await;
    let picture = import(&server, &src, "/p.png", "image/png", png(5, 5), json!({})).await;
    let inline_svg = signed_url(
        &server,
        json!({ "fileId": id_of(&vector), "contentDisposition": "INLINE" }),
    )
    .await;
    for url in [vector.url.clone().expect("url"), inline_svg] {
        let r = fetch(&url, &[]).await;
        assert_eq!(r.status(), StatusCode::OK, "{url}");
        assert!(
            header(&r, "content-disposition").starts_with("attachment;"),
            "{url}: {}",
            header(&r, "content-disposition")
        );
        assert_eq!(header(&r, "x-content-type-options"), "nosniff");
        let csp = header(&r, "content-security-policy");
        assert!(
            csp.contains("sandbox") && csp.contains("default-src 'none'"),
            "{csp}"
        );
    }
    let r = fetch(&picture.url.clone().expect("url"), &[]).await;
    assert!(header(&r, "content-disposition").starts_with("inline;"));
    assert_eq!(header(&r, "x-content-type-options"), "nosniff");
    assert!(header(&r, "content-security-policy").contains("sandbox"));
}
