//! Every media type Wix has, made by processing from real content (or, where content has no
//! magic, the name): each file imported by URL ends READY with its `mediaType` and a `media` of
//! that kind — audio's assets as Audio objects, as the contract has them.

use serde_json::{Value, json};

use crate::support::{Source, SourceServer, TestServer, png};

/// A tiny MP4: an `ftyp` box (brand mp42) and an empty `mdat`.
fn mp4() -> Vec<u8> {
    let mut b = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom".to_vec();
    b.extend_from_slice(b"\0\0\0\x08mdat");
    b
}

/// An MP3: an ID3v2 header and one silent MPEG-1 Layer III frame.
fn mp3() -> Vec<u8> {
    let mut b = b"ID3\x03\0\0\0\0\0\0".to_vec();
    b.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x00]);
    b.extend(std::iter::repeat_n(0u8, 413));
    b
}

fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec()
}

fn svg() -> Vec<u8> {
    br#"<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>"#
        .to_vec()
}

/// An empty zip archive: just the end-of-central-directory record.
fn zip() -> Vec<u8> {
    let mut b = b"PK\x05\x06".to_vec();
    b.extend([0u8; 18]);
    b
}

/// A binary glTF: header and one JSON chunk.
fn glb() -> Vec<u8> {
    let json = br#"{"asset":{"version":"2.0"}}  "#; // padded to a multiple of 4
    let total = 12 + 8 + json.len() as u32;
    let mut b = b"glTF".to_vec();
    b.extend(2u32.to_le_bytes());
    b.extend(total.to_le_bytes());
    b.extend((json.len() as u32).to_le_bytes());
    b.extend(b"JSON");
    b.extend(json);
    b
}

/// Each media type, from content served as `application/octet-stream` under a name with no
/// extension (glTF JSON, which has no magic, by its `.gltf` name), ends READY with its
/// `mediaType` and `media.<kind>`; audio assets are `{id, url, filename}` objects.
#[tokio::test]
async fn every_media_type_ends_ready_with_its_media() {
    let (s, source) = (TestServer::start().await, SourceServer::start().await);
    let octet = "application/octet-stream";
    let cases: [(&str, Vec<u8>, &str, &str); 8] = [
        ("/image", png(6, 4), "IMAGE", "image"),
        ("/video", mp4(), "VIDEO", "video"),
        ("/audio", mp3(), "AUDIO", "audio"),
        ("/document", pdf(), "DOCUMENT", "document"),
        ("/vector", svg(), "VECTOR", "vector"),
        ("/archive", zip(), "ARCHIVE", "archive"),
        ("/model", glb(), "MODEL3D", "model3d"),
        (
            "/scene.gltf",
            br#"{"asset":{"version":"2.0"}}"#.to_vec(),
            "MODEL3D",
            "model3d",
        ),
    ];
    let mut ids = Vec::new();
    for (path, body, _, _) in &cases {
        let url = source.add(path, Source::bytes(octet, body.clone()));
        let v = s.ok_post("/v1/files/import", json!({ "url": url })).await;
        ids.push(v["file"]["id"].as_str().expect("id").to_string());
    }
    for ((path, body, media_type, kind), id) in cases.iter().zip(&ids) {
        s.wait_processed(id).await;
        let v = s
            .ok_post("/v1/files/get-files", json!({ "fileIds": [id] }))
            .await;
        let f = &v["files"][0];
        assert_eq!(f["operationStatus"], "READY", "{path}: {f}");
        assert_eq!(f["mediaType"], *media_type, "{path}: {f}");
        assert_eq!(f["sizeInBytes"], body.len().to_string(), "{path}: {f}");
        let media = f["media"].as_object().expect("media");
        let keys: Vec<&String> = media.keys().collect();
        assert_eq!(keys, [kind], "{path}: one media of its kind: {f}");
        assert_media_shape(kind, &media[*kind], f);
    }
}

fn assert_media_shape(kind: &str, media: &Value, file: &Value) {
    let url = &file["url"];
    match kind {
        "image" | "vector" => assert_eq!(media["image"]["url"], *url, "{file}"),
        "video" => assert_eq!(media["resolutions"][0]["url"], *url, "{file}"),
        "audio" => {
            let asset = &media["assets"][0];
            assert!(asset.is_object(), "an Audio object, not a string: {file}");
            assert_eq!(asset["url"], *url, "{file}");
            assert_eq!(asset["id"], file["id"], "{file}");
            assert!(asset["filename"].is_string(), "{file}");
        }
        _ => {
            assert_eq!(media["url"], *url, "{file}");
            assert_eq!(media["id"], file["id"], "{file}");
        }
    }
}
