//! Reading raster images: width, height and a thumbnail fitting 256×256. Decoding runs on the
//! blocking pool under tight limits, so a decompression bomb fails cleanly instead of eating
//! the server's memory. Which formats decode is decided here; what a file is, in `detect`.

use std::io::Cursor;
use std::path::PathBuf;

use image::{DynamicImage, ImageError, ImageFormat, ImageReader, Limits};

use super::Failure;

/// Thumbnails fit in this square.
pub const THUMB_SIDE: u32 = 256;
/// Our own safety limits, not Wix's: the largest side and decoder allocation accepted.
const MAX_SIDE: u32 = 16_384;
const MAX_ALLOC: u64 = 256 * 1024 * 1024;

/// What decoding an image found.
#[derive(Debug, Clone)]
pub struct Raster {
    pub width: u32,
    pub height: u32,
    /// PNG when the image has transparency, JPEG otherwise.
    pub thumbnail: Vec<u8>,
}

/// The decoder for a MIME type, for the formats this server decodes.
pub fn format_of(mime: &str) -> Option<ImageFormat> {
    Some(match mime {
        "image/png" => ImageFormat::Png,
        "image/jpeg" => ImageFormat::Jpeg,
        "image/gif" => ImageFormat::Gif,
        "image/webp" => ImageFormat::WebP,
        _ => return None,
    })
}

/// Decodes the image stored at `path` and makes its thumbnail.
pub async fn read(path: PathBuf, format: ImageFormat, mime: String) -> Result<Raster, Failure> {
    tokio::task::spawn_blocking(move || {
        let mut reader = ImageReader::open(&path)
            .map_err(|e| Failure::internal("opening the stored file", &e))?;
        reader.set_format(format);
        decode(reader, &mime)
    })
    .await
    .map_err(|e| Failure::internal("decoding the image", &e))?
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    limits
}

fn decode<R: std::io::BufRead + std::io::Seek>(
    mut reader: ImageReader<R>,
    mime: &str,
) -> Result<Raster, Failure> {
    reader.limits(limits());
    let image = reader.decode().map_err(|e| match e {
        ImageError::Limits(_) => Failure::new(
            "IMAGE_TOO_LARGE",
            format!("the image is too large to decode (over {MAX_SIDE} pixels a side or {MAX_ALLOC} bytes decoded)"),
        ),
        other => Failure::new(
            "IMAGE_UNREADABLE",
            format!("the file claims to be {mime} but doesn't decode: {other}"),
        ),
    })?;
    let thumbnail = thumbnail(&image)?;
    Ok(Raster {
        width: image.width(),
        height: image.height(),
        thumbnail,
    })
}

fn thumbnail(image: &DynamicImage) -> Result<Vec<u8>, Failure> {
    // `thumbnail` scales to fit, up as well as down; small images keep their size.
    let small = if image.width() <= THUMB_SIDE && image.height() <= THUMB_SIDE {
        image.clone()
    } else {
        image.thumbnail(THUMB_SIDE, THUMB_SIDE)
    };
    let mut out = Cursor::new(Vec::new());
    let written = if small.color().has_alpha() {
        DynamicImage::ImageRgba8(small.to_rgba8()).write_to(&mut out, ImageFormat::Png)
    } else {
        DynamicImage::ImageRgb8(small.to_rgb8()).write_to(&mut out, ImageFormat::Jpeg)
    };
    written.map_err(|e| Failure::internal("encoding the thumbnail", &e))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).expect("encode");
        out.into_inner()
    }

    fn decode_bytes(bytes: Vec<u8>, format: ImageFormat) -> Result<Raster, Failure> {
        decode(
            ImageReader::with_format(Cursor::new(bytes), format),
            "image/png",
        )
    }

    /// Dimensions are the original's; the thumbnail keeps the aspect ratio within 256×256.
    #[test]
    fn reads_dimensions_and_fits_thumbnail() {
        let wide = DynamicImage::ImageRgb8(image::RgbImage::new(1000, 500));
        let r = decode_bytes(encode(wide, ImageFormat::Png), ImageFormat::Png).expect("decodes");
        assert_eq!((r.width, r.height), (1000, 500));
        let thumb = image::load_from_memory(&r.thumbnail).expect("thumbnail decodes");
        assert_eq!((thumb.width(), thumb.height()), (256, 128));
        assert_eq!(
            image::guess_format(&r.thumbnail).ok(),
            Some(ImageFormat::Jpeg)
        );
    }

    /// Transparent images get PNG thumbnails; small ones are not scaled up.
    #[test]
    fn transparent_small_image_keeps_size_and_alpha() {
        let tiny = DynamicImage::ImageRgba8(image::RgbaImage::new(10, 20));
        let r = decode_bytes(encode(tiny, ImageFormat::Png), ImageFormat::Png).expect("decodes");
        assert_eq!(
            image::guess_format(&r.thumbnail).ok(),
            Some(ImageFormat::Png)
        );
        let thumb = image::load_from_memory(&r.thumbnail).expect("thumbnail decodes");
        assert_eq!((thumb.width(), thumb.height()), (10, 20));
    }

    /// A PNG header announcing 100000×100000 pixels fails on the limits, before any allocation.
    #[test]
    fn decompression_bomb_fails_cleanly() {
        let mut png = encode(
            DynamicImage::ImageLuma8(image::GrayImage::new(1, 1)),
            ImageFormat::Png,
        );
        // IHDR data sits at bytes 16..29, its CRC at 29..33.
        png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let crc = crc32(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        let err = decode_bytes(png, ImageFormat::Png).expect_err("refused");
        assert_eq!(err.code, "IMAGE_TOO_LARGE");
    }

    /// Bytes that only claim to be an image are IMAGE_UNREADABLE.
    #[test]
    fn garbage_is_unreadable() {
        let err = decode_bytes(b"not a png at all".to_vec(), ImageFormat::Png).expect_err("bad");
        assert_eq!(err.code, "IMAGE_UNREADABLE");
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
}
