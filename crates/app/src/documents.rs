//! Documents customers upload with their answers (Source of Funds evidence): checked by their
//! content (PDF, PNG or JPEG only), limited in number and size, encrypted at rest with their
//! names, and read by officers only through an audited call.

use crate::error::{AppError, ErrorCode};
use crate::model::DocumentRecord;
use custos_crypto::{sha256_hex, Aad};
use uuid::Uuid;

/// Files per answer at most.
pub const MAX_FILES: usize = 5;
/// Bytes per file at most.
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;

/// A file as the customer sent it.
#[derive(Debug, Clone)]
pub struct Upload {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// The type of a document by its first bytes; `None` for anything else.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else {
        None
    }
}

/// The file extension of a sniffed type: what a download is named by, whatever the customer
/// called the file.
pub fn extension_of(content_type: &str) -> &'static str {
    match content_type {
        "application/pdf" => "pdf",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        _ => "bin",
    }
}

/// Characters that change how text around them is shown without being seen: the bidirectional
/// embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), marks and zero-width
/// characters. `invoice\u{202E}fdp.exe` would read as `invoiceexe.pdf`.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}'..='\u{200F}' | '\u{061C}' | '\u{FEFF}')
}

/// A file name fit to show and to offer for download: the last path part, printable, short.
pub fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|&c| {
            !c.is_control() && !is_invisible_format(c) && !matches!(c, '"' | '<' | '>' | ':' | '*' | '?' | '|')
        })
        .take(120)
        .collect();
    if cleaned.trim().is_empty() {
        "document".into()
    } else {
        cleaned.trim().to_owned()
    }
}

/// The name a document is shown and downloaded by: the customer's name, cleaned, with the
/// extension of what the file really is (`statement.hta` holding a PDF is `statement.pdf`).
pub fn display_name(name: &str, content_type: &str) -> String {
    let cleaned = clean_name(name);
    let stem = cleaned.rsplit_once('.').map_or(cleaned.as_str(), |(stem, _)| stem);
    let stem = stem.trim().replace('.', "_");
    let stem = if stem.is_empty() { "document" } else { stem.as_str() };
    format!("{stem}.{}", extension_of(content_type))
}

pub(crate) fn aad<'a>(column: &'a str, row: &'a str) -> Aad<'a> {
    Aad { table: "request_documents", column, row }
}

/// Checks and seals the files of one answer.
pub(crate) fn seal(
    sealer: &crate::keys::Sealer<'_>,
    request_id: Uuid,
    files: Vec<Upload>,
    at_ms: i64,
) -> Result<Vec<(DocumentRecord, String)>, AppError> {
    if files.len() > MAX_FILES {
        return Err(AppError::invalid(ErrorCode::TooManyFiles, format!("attach at most {MAX_FILES} files")));
    }
    files
        .into_iter()
        .map(|f| {
            let name = clean_name(&f.file_name);
            if f.bytes.is_empty() {
                return Err(AppError::invalid(ErrorCode::EmptyFile, format!("{name} is empty")));
            }
            if f.bytes.len() > MAX_FILE_BYTES {
                return Err(AppError::invalid(ErrorCode::FileTooLarge, format!("{name} is larger than 5 MB")));
            }
            let content_type = sniff(&f.bytes).ok_or_else(|| {
                AppError::invalid(ErrorCode::UnsupportedFile, format!("{name} is not a PDF, PNG or JPEG document"))
            })?;
            let id = Uuid::now_v7();
            let row = id.to_string();
            let record = DocumentRecord {
                id,
                request_id,
                file_name_enc: sealer.seal_str(&name, aad("file_name", &row)),
                content_type: content_type.into(),
                size_bytes: f.bytes.len() as i64,
                sha256: sha256_hex(&f.bytes),
                created_at_ms: at_ms,
            };
            Ok((record, sealer.seal(&f.bytes, aad("content", &row))))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Issue 13, item 5: the extension is the sniffed type's, and invisible characters go.
    #[test]
    fn fix_5_names_take_the_extension_of_the_content_and_lose_bidi_controls() {
        assert_eq!(display_name("statement.hta", "application/pdf"), "statement.pdf");
        assert_eq!(display_name("scan.pdf.exe", "image/jpeg"), "scan_pdf.jpg");
        assert_eq!(display_name("invoice\u{202E}fdp.exe", "image/png"), "invoicefdp.png");
        assert_eq!(display_name("a\u{2066}b\u{2069}\u{200F}c\u{FEFF}", "application/pdf"), "abc.pdf");
        assert_eq!(display_name("C:\\Users\\me\\Bank Statement.PDF", "application/pdf"), "Bank Statement.pdf");
        assert_eq!(display_name("\u{202E}\u{202E}", "image/png"), "document.png");
        assert_eq!(display_name(".htaccess", "application/pdf"), "document.pdf");
        for c in ('\u{202A}'..='\u{202E}').chain('\u{2066}'..='\u{2069}') {
            assert!(!display_name(&format!("x{c}y.pdf"), "application/pdf").contains(c), "{c:?}");
        }
    }

    #[test]
    fn only_pdf_png_and_jpeg_by_their_content() {
        assert_eq!(sniff(b"%PDF-1.7 ..."), Some("application/pdf"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"<html><script>"), None);
        assert_eq!(sniff(b"MZ\x90\x00"), None);
    }

    #[test]
    fn names_lose_paths_and_control_characters() {
        assert_eq!(clean_name("C:\\Users\\me\\statement.pdf"), "statement.pdf");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("a\u{0}b\"c.png"), "abc.png");
        assert_eq!(clean_name(""), "document");
    }

    #[test]
    fn sealing_refuses_what_is_not_allowed_and_encrypts_the_rest() {
        let cipher = custos_crypto::FieldCipher::new(custos_crypto::MasterKey::generate(), vec![]);
        let cipher = crate::keys::Sealer::master(&cipher);
        let r = Uuid::now_v7();
        let pdf = Upload { file_name: "bank statement.pdf".into(), bytes: b"%PDF-1.4 secret".to_vec() };
        let sealed = seal(&cipher, r, vec![pdf.clone()], 1).unwrap();
        assert_eq!(sealed[0].0.content_type, "application/pdf");
        assert!(!sealed[0].1.contains("secret") && !sealed[0].0.file_name_enc.contains("bank"));
        let exe = Upload { file_name: "x.pdf".into(), bytes: b"MZ\x90".to_vec() };
        assert_eq!(seal(&cipher, r, vec![exe], 1).unwrap_err().code(), "unsupported_file");
        let big =
            Upload { file_name: "big.pdf".into(), bytes: [b"%PDF-".as_slice(), &vec![0; MAX_FILE_BYTES]].concat() };
        assert_eq!(seal(&cipher, r, vec![big], 1).unwrap_err().code(), "file_too_large");
        assert_eq!(seal(&cipher, r, vec![pdf; 6], 1).unwrap_err().code(), "too_many_files");
    }
}
