//! Evidence file uploads: what may be uploaded, how a request to upload is validated,
//! and the storage port the adapters implement.
//!
//! Invariants:
//! - only the [`FileType`]s listed here are accepted (jpeg, png, webp, pdf, mp3, m4a,
//!   wav), each under its one canonical content type, of 1 to [`MAX_FILE_BYTES`] bytes;
//! - a stored file name is [`sanitize_file_name`]'s output: never empty, at most
//!   [`MAX_FILE_NAME_CHARS`] characters, no path separator, no `..`, no control or
//!   shell-special character; the storage key is the file key (a UUID), never the name;
//! - an upload's content is what it declares: [`FileType::matches`] checks its magic
//!   bytes (the first [`SNIFF_LEN`] bytes, or all of a shorter file), and a mismatch is
//!   refused;
//! - storage is reached only through the ports of `crate::ports` (`FileStorage`:
//!   presign a PUT, look at an object; `FileRepository`: the uploads' records);
//! - a file is usable only by its [`FileOwner`], for its [`FilePurpose`], once uploaded,
//!   by one AS request ([`FileUseError`] says why not; `crate::service::files` decides).

use time::OffsetDateTime;
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

use crate::error::{FieldError, RepoError, ValidationError};
use crate::reference::code_enum;

/// The largest upload: 20 MiB.
pub const MAX_FILE_BYTES: u64 = 20 * 1024 * 1024;

/// The longest stored file name, in characters.
pub const MAX_FILE_NAME_CHARS: usize = 200;

/// The longest file name a request may send, in bytes (before sanitizing).
pub const MAX_RAW_FILE_NAME_BYTES: usize = 1024;

/// How many leading bytes the content sniffer looks at (a PDF header may sit anywhere
/// in the first 1024 bytes).
pub const SNIFF_LEN: usize = 1024;

code_enum!(
    /// What a file is uploaded for; a file key is usable only for its purpose.
    FilePurpose { AsEvidence => "AS_EVIDENCE" }
);

impl FilePurpose {
    /// The kinds of file uploaded for this purpose: AS evidence is a photo, a document or
    /// a call recording, so every [`FileType`].
    #[must_use]
    pub fn file_types(self) -> &'static [FileType] {
        match self {
            Self::AsEvidence => FileType::ALL,
        }
    }
}

/// The content types an upload may be sent with (canonical only), over every purpose,
/// in [`FileType::ALL`] order: what the upload endpoint declares it takes.
#[must_use]
pub fn upload_content_types() -> Vec<&'static str> {
    FileType::ALL
        .iter()
        .filter(|t| FilePurpose::ALL.iter().any(|p| p.file_types().contains(t)))
        .map(|t| t.content_type())
        .collect()
}

/// An accepted kind of file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    Jpeg,
    Png,
    Webp,
    Pdf,
    Mp3,
    M4a,
    Wav,
}

impl FileType {
    pub const ALL: &'static [FileType] =
        &[Self::Jpeg, Self::Png, Self::Webp, Self::Pdf, Self::Mp3, Self::M4a, Self::Wav];

    /// The canonical content type: what is stored and what the upload must send.
    #[must_use]
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
            Self::Pdf => "application/pdf",
            Self::Mp3 => "audio/mpeg",
            Self::M4a => "audio/mp4",
            Self::Wav => "audio/wav",
        }
    }

    /// Every spelling [`Self::from_content_type`] accepts (lower case), for the API
    /// document's enumeration.
    pub const ACCEPTED: [&'static str; 16] = [
        "image/jpeg",
        "image/jpg",
        "image/pjpeg",
        "image/png",
        "image/webp",
        "application/pdf",
        "audio/mpeg",
        "audio/mp3",
        "audio/mpeg3",
        "audio/mp4",
        "audio/m4a",
        "audio/x-m4a",
        "audio/wav",
        "audio/x-wav",
        "audio/wave",
        "audio/vnd.wave",
    ];

    /// The type of a declared content type: the canonical names and the common aliases
    /// (`image/jpg`, `audio/mp3`, `audio/x-m4a`, `audio/x-wav`, `audio/wave`), case and
    /// surrounding spaces ignored. Parameters (`; charset=...`) are not accepted.
    #[must_use]
    pub fn from_content_type(raw: &str) -> Option<Self> {
        let lower = raw.trim().to_ascii_lowercase();
        let found = match lower.as_str() {
            "image/jpeg" | "image/jpg" | "image/pjpeg" => Self::Jpeg,
            "image/png" => Self::Png,
            "image/webp" => Self::Webp,
            "application/pdf" => Self::Pdf,
            "audio/mpeg" | "audio/mp3" | "audio/mpeg3" => Self::Mp3,
            "audio/mp4" | "audio/m4a" | "audio/x-m4a" => Self::M4a,
            "audio/wav" | "audio/x-wav" | "audio/wave" | "audio/vnd.wave" => Self::Wav,
            _ => return None,
        };
        Some(found)
    }

    /// The type stored under its canonical content type (exact match).
    #[must_use]
    pub fn from_canonical(content_type: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.content_type() == content_type)
    }

    /// Whether `head` (the first [`SNIFF_LEN`] bytes of a file, or all of a shorter one)
    /// starts as a file of this type does.
    #[must_use]
    pub fn matches(self, head: &[u8]) -> bool {
        use infer::{archive, audio, image, video};
        match self {
            Self::Jpeg => image::is_jpeg(head),
            Self::Png => image::is_png(head),
            // `infer` looks at `WEBP` only; the RIFF container is checked too.
            Self::Webp => head.starts_with(b"RIFF") && image::is_webp(head),
            Self::Pdf => archive::is_pdf(head),
            Self::Mp3 => audio::is_mp3(head),
            // M4A files carry an `M4A ` brand, or a generic ISO-BMFF one (`isom`, `mp42`).
            Self::M4a => audio::is_m4a(head) || video::is_mp4(head),
            Self::Wav => audio::is_wav(head),
        }
    }
}

/// The accepted content types, for messages and the API document.
#[must_use]
pub fn allowed_content_types() -> Vec<&'static str> {
    FileType::ALL.iter().map(|t| t.content_type()).collect()
}

/// Characters never kept in a file name: path separators, Windows-reserved and
/// shell-special characters.
fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' | '\0' | '`' | '$' | ';' | '&')
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// The sanitized name, possibly empty (nothing usable was sent).
///
/// One pass can leave a string that is not its own sanitized form: dropping a
/// character or a space between two combining marks leaves them in an order NFC
/// reorders (`U+0591 : U+0A3C`). Passes repeat until nothing changes, so the result is
/// a fixed point (idempotent); each pass only removes, reorders or composes, and it
/// settles in two passes on every input the proptest has found.
fn clean(raw: &str) -> String {
    let mut name = clean_once(raw);
    for _ in 0..8 {
        let again = clean_once(&name);
        if again == name {
            break;
        }
        name = again;
    }
    name
}

fn clean_once(raw: &str) -> String {
    let nfc: String = raw.nfc().collect();
    // Keep the last path component only: `C:\Users\a\b.png` and `../../x.png` name files.
    let last = nfc.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut out = String::with_capacity(last.len());
    let mut space = false;
    for c in last.chars() {
        if is_forbidden(c) {
            continue;
        }
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(c);
    }
    // No `..` anywhere, and no leading dot (hidden files, `.` and `..`).
    while out.contains("..") {
        out = out.replace("..", ".");
    }
    let trimmed = out.trim_start_matches(['.', ' ']).trim_end_matches(['.', ' ']);
    let mut name: String = trimmed.to_owned();
    if name.chars().count() > MAX_FILE_NAME_CHARS {
        name = shorten(&name);
    }
    name
}

/// Cuts a long name to [`MAX_FILE_NAME_CHARS`], keeping a short extension.
fn shorten(name: &str) -> String {
    let ext = name.rsplit_once('.').map(|(_, e)| e).filter(|e| !e.is_empty() && e.chars().count() <= 10);
    match ext {
        Some(ext) => {
            let keep = MAX_FILE_NAME_CHARS - ext.chars().count() - 1;
            let stem: String = name.chars().take(keep).collect();
            let stem = stem.trim_end_matches(['.', ' ']);
            format!("{stem}.{ext}")
        }
        None => name.chars().take(MAX_FILE_NAME_CHARS).collect::<String>().trim_end_matches(['.', ' ']).to_owned(),
    }
}

/// A file name safe to store and show: the last path component, NFC, without control,
/// separator or shell-special characters, without `..` or a leading dot, inner spaces
/// collapsed, at most [`MAX_FILE_NAME_CHARS`] characters. Never empty: `file` when
/// nothing usable remains.
#[must_use]
pub fn sanitize_file_name(raw: &str) -> String {
    let name = clean(raw);
    if name.is_empty() { "file".to_owned() } else { name }
}

/// A request to upload, as the API receives it. Its `Debug` hides the file name (a
/// person chose it: it may name someone).
#[derive(Clone, Copy)]
pub struct UploadRequest<'a> {
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub size: i64,
    pub purpose: &'a str,
}

crate::redacting_debug!(UploadRequest<'a> { show: [content_type, size, purpose], redact: [file_name] });

/// A validated request to upload. Its `Debug` hides the file name.
#[derive(Clone, PartialEq, Eq)]
pub struct NewUpload {
    /// Sanitized.
    pub file_name: String,
    pub file_type: FileType,
    pub size: u64,
    pub purpose: FilePurpose,
}

crate::redacting_debug!(NewUpload { show: [file_type, size, purpose], redact: [file_name] });

impl NewUpload {
    /// Validates every field at once.
    ///
    /// # Errors
    /// A [`ValidationError`] naming each bad field: `fileName` (blank, longer than
    /// [`MAX_RAW_FILE_NAME_BYTES`], or nothing usable), `contentType` (not an accepted
    /// type), `size` (not 1 to [`MAX_FILE_BYTES`]), `purpose` (not a [`FilePurpose`]).
    pub fn parse(req: &UploadRequest<'_>) -> Result<Self, ValidationError> {
        let mut errors = Vec::new();
        let file_name = if req.file_name.trim().is_empty() {
            errors.push(FieldError::new("fileName", "must not be blank"));
            None
        } else if req.file_name.len() > MAX_RAW_FILE_NAME_BYTES {
            errors.push(FieldError::new("fileName", format!("must be at most {MAX_RAW_FILE_NAME_BYTES} bytes")));
            None
        } else {
            let name = clean(req.file_name);
            if name.is_empty() {
                errors.push(FieldError::new("fileName", "has no usable character"));
                None
            } else {
                Some(name)
            }
        };
        let file_type = FileType::from_content_type(req.content_type);
        if file_type.is_none() {
            errors
                .push(FieldError::new("contentType", format!("must be one of {}", allowed_content_types().join(", "))));
        }
        let size = u64::try_from(req.size).ok().filter(|s| (1..=MAX_FILE_BYTES).contains(s));
        if size.is_none() {
            errors.push(FieldError::new("size", format!("must be from 1 to {MAX_FILE_BYTES} bytes")));
        }
        let purpose = req.purpose.parse::<FilePurpose>().ok();
        if purpose.is_none() {
            errors.push(FieldError::new(
                "purpose",
                format!(
                    "must be one of {}",
                    FilePurpose::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        if let (Some(file_type), Some(purpose)) = (file_type, purpose)
            && !purpose.file_types().contains(&file_type)
        {
            errors.push(FieldError::new("contentType", format!("is not uploaded for {purpose}")));
        }
        match (file_name, file_type, size, purpose) {
            (Some(file_name), Some(file_type), Some(size), Some(purpose)) if errors.is_empty() => {
                Ok(Self { file_name, file_type, size, purpose })
            }
            _ => Err(ValidationError(errors)),
        }
    }
}

/// Where and how a client uploads one file. Its `Debug` hides the URL: its signature is
/// the credential of the upload.
#[derive(Clone, PartialEq, Eq)]
pub struct PresignedPut {
    pub url: String,
    /// Headers the upload must send, exactly.
    pub headers: Vec<(String, String)>,
    pub expires_at: OffsetDateTime,
}

crate::redacting_debug!(PresignedPut { show: [headers, expires_at], redact: [url] });

/// What an upload URL is for: the key, the declared type and size, when it is issued
/// and until when it may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadTarget {
    pub file_key: Uuid,
    pub file_type: FileType,
    pub size: u64,
    pub issued_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// An object as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub size: u64,
    pub content_type: Option<String>,
    /// The first bytes (up to [`SNIFF_LEN`]), when the store returned them.
    pub head: Option<Vec<u8>>,
}

impl StoredObject {
    /// Whether the stored object is the complete, declared upload: its size, its type
    /// and (when the head is known) its magic bytes.
    #[must_use]
    pub fn is_complete_upload_of(&self, target_type: FileType, size: u64) -> bool {
        let type_ok = self.content_type.as_deref().is_some_and(|ct| {
            FileType::from_content_type(ct.split(';').next().unwrap_or_default()) == Some(target_type)
        });
        let head_ok = self.head.as_deref().is_none_or(|head| target_type.matches(head));
        self.size == size && type_ok && head_ok
    }
}

/// Whose a file is: the org and the user who asked for its upload URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileOwner {
    pub org_id: Uuid,
    pub user_id: Uuid,
}

/// A presigned upload just issued. Its `Debug` hides the URL (its signature is the
/// upload's credential).
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedUpload {
    pub file_key: Uuid,
    pub url: String,
    /// Always `PUT`.
    pub method: &'static str,
    pub headers: Vec<(String, String)>,
    pub expires_at: OffsetDateTime,
}

crate::redacting_debug!(IssuedUpload { show: [file_key, method, headers, expires_at], redact: [url] });

/// What an upload URL was issued for, as stored when it was issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadSlot {
    pub file_key: Uuid,
    pub org_id: Uuid,
    pub purpose: FilePurpose,
    pub file_type: FileType,
    pub size: u64,
    /// The URL's own expiry, to the second.
    pub expires_at: OffsetDateTime,
    /// A complete upload was stored already.
    pub uploaded: bool,
}

/// What a completed upload stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadReceipt {
    pub file_key: Uuid,
    pub size: u64,
    /// SHA-256 of the bytes as sent, lowercase hex.
    pub sha256: String,
    pub uploaded_at: OffsetDateTime,
}

/// Why a local upload is refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The server stores files on S3: there is no local upload.
    #[error("uploads go to the object store, not to this server")]
    NotLocal,
    /// Unknown key, or a signature that does not match the URL's parameters.
    #[error("the upload URL is not valid")]
    InvalidSignature,
    #[error("the upload URL has expired")]
    Expired,
    #[error("this upload URL was already used")]
    AlreadyUploaded,
    #[error("the Content-Type must be {expected}, as declared")]
    ContentTypeMismatch { expected: String },
    #[error("the body is larger than the declared {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the body has {received} bytes, {expected} were declared")]
    Incomplete { expected: u64, received: u64 },
    #[error("the content is not {expected}")]
    ContentMismatch { expected: String },
    #[error("file storage failed: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

/// One stored file as the use checks see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredFile {
    pub file_key: Uuid,
    pub owner: FileOwner,
    /// `None` for a purpose this server does not know.
    pub purpose: Option<FilePurpose>,
    /// `None` for a stored type that is not canonical.
    pub file_type: Option<FileType>,
    /// The declared size.
    pub size: u64,
    /// Its complete content is stored.
    pub uploaded: bool,
    /// An AS request took it as evidence.
    pub attached: bool,
}

/// One evidence file as an AS shows it. Its `Debug` hides the file name (a person chose it).
#[derive(Clone, PartialEq, Eq)]
pub struct EvidenceFile {
    pub file_key: Uuid,
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: Option<String>,
    pub uploaded_at: Option<OffsetDateTime>,
}

crate::redacting_debug!(EvidenceFile {
    show: [file_key, content_type, size, sha256, uploaded_at],
    redact: [file_name]
});

/// Why a file key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FileUseError {
    /// Unknown, or another org's or user's (the same answer: no existence leak).
    #[error("file {0} not found")]
    NotFound(Uuid),
    /// Not uploaded completely (or, on S3, the stored object is not what was declared).
    #[error("file {0} is not uploaded")]
    NotUploaded(Uuid),
    #[error("file {0} was uploaded for another purpose")]
    WrongPurpose(Uuid),
    #[error("file {0} is already attached to an AS request")]
    AlreadyAttached(Uuid),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn request(file_name: &str, content_type: &str, size: i64, purpose: &str) -> Result<NewUpload, ValidationError> {
        NewUpload::parse(&UploadRequest { file_name, content_type, size, purpose })
    }

    fn fields(result: Result<NewUpload, ValidationError>) -> Vec<String> {
        result.err().map(|e| e.0.into_iter().map(|f| f.field).collect()).unwrap_or_default()
    }

    #[test]
    fn a_good_request_is_parsed_with_its_canonical_type() {
        let upload = request("통화 녹음.m4a", "audio/x-m4a", 1234, "AS_EVIDENCE").unwrap();
        assert_eq!(upload.file_type, FileType::M4a);
        assert_eq!(upload.file_type.content_type(), "audio/mp4");
        assert_eq!((upload.file_name.as_str(), upload.size), ("통화 녹음.m4a", 1234));
        assert_eq!(upload.purpose, FilePurpose::AsEvidence);
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        assert_eq!(fields(request("", "text/html", 0, "avatar")), ["fileName", "contentType", "size", "purpose"]);
        assert_eq!(fields(request("a.png", "image/png", -1, "AS_EVIDENCE")), ["size"]);
        assert_eq!(fields(request("a.png", "image/png", 20 * 1024 * 1024 + 1, "AS_EVIDENCE")), ["size"]);
        assert!(request("a.png", "image/png", 20 * 1024 * 1024, "AS_EVIDENCE").is_ok());
        assert_eq!(fields(request("../..", "image/png", 1, "AS_EVIDENCE")), ["fileName"]);
        assert_eq!(fields(request(&"x".repeat(2000), "image/png", 1, "AS_EVIDENCE")), ["fileName"]);
        assert_eq!(fields(request("a.png", "image/png; charset=x", 1, "AS_EVIDENCE")), ["contentType"]);
        assert_eq!(fields(request("a.png", "image/png", 1, "as_evidence")), ["purpose"]);
    }

    #[test]
    fn names_lose_paths_controls_and_dots() {
        assert_eq!(sanitize_file_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_file_name("C:\\Users\\kim\\사진 1.jpg"), "사진 1.jpg");
        assert_eq!(sanitize_file_name("  a\u{0}b\n c.png "), "ab c.png");
        assert_eq!(sanitize_file_name(".hidden"), "hidden");
        assert_eq!(sanitize_file_name("a..b...png"), "a.b.png");
        assert_eq!(sanitize_file_name("evil\u{202E}gnp.exe"), "evilgnp.exe");
        assert_eq!(sanitize_file_name("/"), "file");
        let long = format!("{}.pdf", "가".repeat(500));
        let short = sanitize_file_name(&long);
        assert_eq!(short.chars().count(), MAX_FILE_NAME_CHARS);
        assert!(short.ends_with(".pdf"));
    }

    #[test]
    fn magic_bytes_are_checked_per_type() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        let jpeg = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0";
        let pdf = b"%PDF-1.7\n%\xE2\xE3";
        let wav = b"RIFF\x24\0\0\0WAVEfmt ";
        let webp = b"RIFF\x24\0\0\0WEBPVP8 ";
        let mp3 = b"ID3\x04\0\0\0\0\0\0";
        let m4a = b"\0\0\0\x20ftypM4A \0\0\0\0";
        let mp42 = b"\0\0\0\x20ftypisom\0\0\0\0";
        assert!(FileType::Png.matches(png) && !FileType::Png.matches(jpeg));
        assert!(FileType::Jpeg.matches(jpeg) && !FileType::Jpeg.matches(pdf));
        assert!(FileType::Pdf.matches(pdf) && !FileType::Pdf.matches(png));
        assert!(FileType::Wav.matches(wav) && !FileType::Wav.matches(webp));
        assert!(FileType::Webp.matches(webp) && !FileType::Webp.matches(wav));
        assert!(FileType::Mp3.matches(mp3) && !FileType::Mp3.matches(m4a));
        assert!(FileType::M4a.matches(m4a) && FileType::M4a.matches(mp42) && !FileType::M4a.matches(mp3));
        assert!(!FileType::Webp.matches(b"XXXX\x24\0\0\0WEBPVP8 "), "RIFF required");
        assert!(!FileType::Png.matches(b""));
    }

    #[test]
    fn a_stored_object_must_match_size_type_and_head() {
        let png = b"\x89PNG\r\n\x1a\n".to_vec();
        let object = StoredObject { size: 8, content_type: Some("image/png".to_owned()), head: Some(png.clone()) };
        assert!(object.is_complete_upload_of(FileType::Png, 8));
        assert!(!object.is_complete_upload_of(FileType::Png, 9), "size");
        assert!(!object.is_complete_upload_of(FileType::Jpeg, 8), "type");
        let spoofed = StoredObject { head: Some(b"GIF89a".to_vec()), ..object.clone() };
        assert!(!spoofed.is_complete_upload_of(FileType::Png, 8), "magic");
        let untyped = StoredObject { content_type: None, ..object };
        assert!(!untyped.is_complete_upload_of(FileType::Png, 8));
    }

    #[test]
    fn an_upload_is_sent_with_a_canonical_type_of_its_purpose() {
        assert_eq!(
            upload_content_types(),
            ["image/jpeg", "image/png", "image/webp", "application/pdf", "audio/mpeg", "audio/mp4", "audio/wav"]
        );
        assert!(upload_content_types().iter().all(|ct| FileType::from_canonical(ct).is_some()));
        assert_eq!(FilePurpose::AsEvidence.file_types(), FileType::ALL, "evidence may be any accepted file");
    }

    #[test]
    fn every_canonical_type_round_trips() {
        for t in FileType::ALL {
            assert_eq!(FileType::from_content_type(t.content_type()), Some(*t));
            assert_eq!(FileType::from_canonical(t.content_type()), Some(*t));
        }
        assert_eq!(FileType::from_canonical("audio/x-m4a"), None, "aliases are not canonical");
        for spelling in FileType::ACCEPTED {
            assert!(FileType::from_content_type(spelling).is_some(), "{spelling}");
        }
    }

    #[test]
    fn removing_a_character_between_combining_marks_still_gives_a_fixed_point() {
        // Found by the proptest below in CI: `:` removed, the marks left out of NFC order.
        let name = sanitize_file_name("\u{591}:\u{a3c}");
        assert_eq!(name, "\u{a3c}\u{591}");
        assert_eq!(sanitize_file_name(&name), name);
        let spaced = sanitize_file_name("a\u{591} \u{a3c}.png");
        assert_eq!(sanitize_file_name(&spaced), spaced);
    }

    proptest! {
        #[test]
        fn a_sanitized_name_is_never_dangerous(raw in "\\PC{0,300}|[./\\\\ \\x00-\\x1f\u{202e}a-z]{0,40}") {
            let name = sanitize_file_name(&raw);
            prop_assert!(!name.is_empty());
            prop_assert!(name.chars().count() <= MAX_FILE_NAME_CHARS);
            prop_assert!(!name.contains('/') && !name.contains('\\'));
            prop_assert!(!name.contains(".."));
            prop_assert!(!name.starts_with('.'));
            prop_assert!(!name.chars().any(char::is_control));
            prop_assert_eq!(sanitize_file_name(&name), name.clone(), "idempotent");
        }

        #[test]
        fn sizes_outside_the_limit_are_refused(size in any::<i64>()) {
            let ok = request("a.png", "image/png", size, "AS_EVIDENCE").is_ok();
            prop_assert_eq!(ok, (1..=20 * 1024 * 1024).contains(&size));
        }
    }
}
