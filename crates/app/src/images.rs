//! Images customers upload for a manual review (identity documents, selfies, card photos):
//! their real type and size read from their own headers, a limit on pixels against
//! decompression bombs, and metadata (EXIF with GPS, comments, text chunks) stripped before
//! they are encrypted and stored. No image is decoded here.

/// More pixels than this are refused (a 40-megapixel phone photo is about 7,300 × 5,500).
pub const MAX_PIXELS: u64 = 50_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([*b.get(at)?, *b.get(at + 1)?, *b.get(at + 2)?, *b.get(at + 3)?]))
}

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Why an upload is not an image Custos takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("not a PNG or JPEG image")]
    NotAnImage,
    #[error("{0}")]
    Malformed(&'static str),
    #[error("an image without pixels")]
    NoPixels,
    #[error("the image has {width} × {height} pixels; at most {MAX_PIXELS} are accepted")]
    TooLarge { width: u32, height: u32 },
}

impl From<&'static str> for ImageError {
    fn from(what: &'static str) -> Self {
        ImageError::Malformed(what)
    }
}

/// The type and dimensions of a PNG or JPEG, checked against [`MAX_PIXELS`].
pub fn inspect(bytes: &[u8]) -> Result<ImageInfo, ImageError> {
    let info = if bytes.starts_with(PNG_MAGIC) {
        // The first chunk is IHDR: width and height.
        if bytes.get(12..16) != Some(b"IHDR") {
            return Err(ImageError::Malformed("a PNG without its header"));
        }
        ImageInfo {
            content_type: "image/png",
            width: be32(bytes, 16).ok_or("truncated PNG")?,
            height: be32(bytes, 20).ok_or("truncated PNG")?,
        }
    } else if bytes.starts_with(&[0xFF, 0xD8]) {
        let (w, h) = jpeg_size(bytes).ok_or("a JPEG without a readable frame header")?;
        ImageInfo { content_type: "image/jpeg", width: u32::from(w), height: u32::from(h) }
    } else {
        return Err(ImageError::NotAnImage);
    };
    if info.width == 0 || info.height == 0 {
        return Err(ImageError::NoPixels);
    }
    if u64::from(info.width) * u64::from(info.height) > MAX_PIXELS {
        return Err(ImageError::TooLarge { width: info.width, height: info.height });
    }
    Ok(info)
}

/// The frame size of a JPEG from its first SOFn marker.
fn jpeg_size(b: &[u8]) -> Option<(u16, u16)> {
    let mut i = 2;
    while i + 4 <= b.len() {
        if b[i] != 0xFF {
            return None;
        }
        let marker = b[i + 1];
        let len = usize::from(be16(b, i + 2)?);
        // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
        if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            return Some((be16(b, i + 7)?, be16(b, i + 5)?));
        }
        i += 2 + len;
    }
    None
}

/// The image without metadata: for a JPEG the APP1..APP15 segments (EXIF, XMP, ICC) and
/// comments; for a PNG every ancillary chunk but transparency, gamma and colour (text, EXIF,
/// time). The pixels are untouched.
pub fn strip_metadata(bytes: &[u8]) -> Result<Vec<u8>, ImageError> {
    if bytes.starts_with(PNG_MAGIC) {
        let mut out = PNG_MAGIC.to_vec();
        let mut i = PNG_MAGIC.len();
        while i + 12 <= bytes.len() {
            let len = be32(bytes, i).ok_or("truncated PNG")? as usize;
            let end = i.checked_add(12 + len).filter(|&e| e <= bytes.len()).ok_or("truncated PNG")?;
            let kind = &bytes[i + 4..i + 8];
            let critical = kind[0].is_ascii_uppercase();
            if critical || matches!(kind, b"tRNS" | b"gAMA" | b"cHRM" | b"sRGB" | b"PLTE") {
                out.extend_from_slice(&bytes[i..end]);
            }
            if kind == b"IEND" {
                return Ok(out);
            }
            i = end;
        }
        return Err(ImageError::Malformed("a PNG without its end"));
    }
    if bytes.starts_with(&[0xFF, 0xD8]) {
        let mut out = vec![0xFF, 0xD8];
        let mut i = 2;
        while i + 4 <= bytes.len() {
            if bytes[i] != 0xFF {
                return Err(ImageError::Malformed("a malformed JPEG"));
            }
            let marker = bytes[i + 1];
            if marker == 0xDA {
                // Start of scan: the compressed pixels follow to the end.
                out.extend_from_slice(&bytes[i..]);
                return Ok(out);
            }
            let len = usize::from(be16(bytes, i + 2).ok_or("truncated JPEG")?);
            let end = (i + 2 + len).min(bytes.len());
            let metadata = (0xE1..=0xEF).contains(&marker) || marker == 0xFE;
            if !metadata {
                out.extend_from_slice(&bytes[i..end]);
            }
            i = end;
        }
        return Err(ImageError::Malformed("a JPEG without image data"));
    }
    Err(ImageError::NotAnImage)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32, with_text: bool) -> Vec<u8> {
        let chunk = |kind: &[u8], data: &[u8]| {
            let mut c = (data.len() as u32).to_be_bytes().to_vec();
            c.extend_from_slice(kind);
            c.extend_from_slice(data);
            c.extend_from_slice(&[0, 0, 0, 0]); // the CRC is not checked here
            c
        };
        let mut ihdr = width.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        let mut b = PNG_MAGIC.to_vec();
        b.extend(chunk(b"IHDR", &ihdr));
        if with_text {
            b.extend(chunk(b"tEXt", b"Author\0Ivan Ivanov, Moscow"));
            b.extend(chunk(b"eXIf", b"GPS 55.75,37.61"));
        }
        b.extend(chunk(b"IDAT", b"pixels"));
        b.extend(chunk(b"IEND", b""));
        b
    }

    fn jpeg(width: u16, height: u16) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8];
        b.extend([0xFF, 0xE0, 0x00, 0x06, b'J', b'F', b'I', b'F']); // APP0 JFIF
        let exif = b"Exif\0\0GPS 55.75,37.61";
        b.extend([0xFF, 0xE1]);
        b.extend(((exif.len() + 2) as u16).to_be_bytes());
        b.extend(exif);
        b.extend([0xFF, 0xFE, 0x00, 0x09]);
        b.extend(b"comment");
        b.extend([0xFF, 0xC0, 0x00, 0x0B, 8]);
        b.extend(height.to_be_bytes());
        b.extend(width.to_be_bytes());
        b.extend([1, 1, 0x11, 0]);
        b.extend([0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34, 0xFF, 0xD9]);
        b
    }

    #[test]
    fn types_and_sizes_come_from_the_images_own_headers() {
        assert_eq!(
            inspect(&png(640, 480, false)).unwrap(),
            ImageInfo { content_type: "image/png", width: 640, height: 480 }
        );
        assert_eq!(
            inspect(&jpeg(1024, 768)).unwrap(),
            ImageInfo { content_type: "image/jpeg", width: 1024, height: 768 }
        );
        assert!(inspect(b"GIF89a....").is_err());
        assert!(inspect(&png(0, 10, false)).is_err());
    }

    #[test]
    fn decompression_bombs_are_refused_by_their_pixel_count() {
        let err = inspect(&png(100_000, 100_000, false)).unwrap_err();
        assert_eq!(err, ImageError::TooLarge { width: 100_000, height: 100_000 });
        assert!(err.to_string().contains("100000 × 100000"), "{err}");
        assert!(inspect(&jpeg(65_000, 65_000)).is_err());
    }

    #[test]
    fn metadata_is_stripped_and_the_pixels_kept() {
        let clean = strip_metadata(&png(10, 10, true)).unwrap();
        let text = String::from_utf8_lossy(&clean);
        assert!(!text.contains("Ivan") && !text.contains("GPS"), "text and EXIF chunks are gone");
        assert!(text.contains("IDAT") && text.contains("pixels") && text.contains("IEND"));
        assert_eq!(inspect(&clean).unwrap().width, 10);
        let clean = strip_metadata(&jpeg(20, 10)).unwrap();
        let text = String::from_utf8_lossy(&clean);
        assert!(!text.contains("GPS") && !text.contains("comment") && text.contains("JFIF"));
        assert_eq!(inspect(&clean).unwrap(), ImageInfo { content_type: "image/jpeg", width: 20, height: 10 });
        assert!(clean.ends_with(&[0x12, 0x34, 0xFF, 0xD9]), "the scan is untouched");
        assert!(strip_metadata(b"%PDF-1.4").is_err());
    }
}
