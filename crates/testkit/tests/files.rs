//! The files use cases over the in-memory ports: every rule of `domain::service::files`
//! without a database or a store.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Mutex;

use domain::files::{FileOwner, FilePurpose, FileType, FileUseError, StoredObject, UploadError, UploadRequest};
use domain::identity::{MohomId, Role, User, UserStatus};
use domain::pii::PersonName;
use domain::principal::{Credential, Principal};
use domain::reference::OrgKind;
use domain::service::files::{FileService, PresignRefusal, UploadGuard, attach_refusal, use_refusal};
use testkit::memory::{FixedClock, MemoryFileRepository};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const NOW: OffsetDateTime = datetime!(2026-11-24 09:00:00.250 UTC);
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

fn member(org: Uuid, mohom: &str) -> User {
    User {
        id: domain::ids::new_id(),
        org_id: org,
        mohom_id: MohomId::parse(mohom).unwrap(),
        role: Role::Member,
        team_id: None,
        name: PersonName::parse("사용자").unwrap(),
        phone: None,
        email: None,
        status: UserStatus::Active,
        created_at: NOW,
        updated_at: NOW,
    }
}

struct World {
    files: MemoryFileRepository,
    clock: FixedClock,
    me: Principal,
    them: Principal,
}

impl World {
    fn new(remote: bool) -> Self {
        let org = domain::ids::new_id();
        let acting = |user: User| Principal {
            org_id: org,
            org_kind: OrgKind::Partner,
            credential: Credential::ApiKey { key_id: Uuid::nil() },
            acting: Some(user),
        };
        Self {
            files: MemoryFileRepository { remote, ..MemoryFileRepository::default() },
            clock: FixedClock(Mutex::new(NOW)),
            me: acting(member(org, "me")),
            them: acting(member(org, "them")),
        }
    }

    fn service(&self) -> FileService<'_, MemoryFileRepository, FixedClock> {
        FileService::new(&self.files, &self.clock)
    }

    fn owner(principal: &Principal) -> FileOwner {
        let user = principal.acting.as_ref().unwrap();
        FileOwner { org_id: user.org_id, user_id: user.id }
    }

    async fn issue(&self, principal: &Principal, size: i64) -> Uuid {
        let request =
            UploadRequest { file_name: "증빙.png", content_type: "image/png", size, purpose: "AS_EVIDENCE" };
        self.service().presign(principal, &request).await.unwrap().file_key
    }

    fn signature(&self, key: Uuid) -> (i64, String) {
        let slot = self.files.file(key).unwrap().slot;
        let expires = slot.expires_at.unix_timestamp();
        (expires, MemoryFileRepository::signature(&slot, expires))
    }

    async fn begin(&self, key: Uuid, content_type: &str, length: Option<u64>) -> Result<(), UploadError> {
        let (expires, signature) = self.signature(key);
        self.service().begin_upload(key, expires, &signature, Some(content_type), length).await.map(|_| ())
    }
}

#[tokio::test]
async fn an_upload_url_is_issued_for_a_valid_request_of_the_acting_member_only() {
    let w = World::new(false);
    let bad = UploadRequest { file_name: " ", content_type: "text/html", size: 0, purpose: "AVATAR" };
    let refused = w.service().presign(&w.me, &bad).await.unwrap_err();
    let PresignRefusal::Invalid(e) = refused else { panic!("{refused:?}") };
    let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["fileName", "contentType", "size", "purpose"], "every bad field at once");
    let nobody = Principal { acting: None, ..w.me.clone() };
    let good =
        UploadRequest { file_name: "a/../통화.m4a", content_type: "audio/x-m4a", size: 10, purpose: "AS_EVIDENCE" };
    assert!(matches!(w.service().presign(&nobody, &good).await, Err(PresignRefusal::NoActingMember)));
    assert!(w.files.files.lock().unwrap().is_empty(), "nothing recorded for a refusal");

    let issued = w.service().presign(&w.me, &good).await.unwrap();
    assert_eq!(issued.expires_at, datetime!(2026-11-24 09:15:00 UTC), "the lifetime, to the whole second");
    let file = w.files.file(issued.file_key).unwrap();
    assert_eq!(file.stored.owner, World::owner(&w.me), "the acting member owns the key");
    assert_eq!((file.slot.file_type, file.evidence.file_name.as_str()), (FileType::M4a, "통화.m4a"));
}

#[tokio::test]
async fn an_upload_url_works_only_as_signed_before_it_expires_and_once() {
    let w = World::new(false);
    let key = w.issue(&w.me, 40).await;
    let (expires, signature) = w.signature(key);
    let begin = |key: Uuid, expires: i64, signature: String| {
        let service = w.service();
        async move { service.begin_upload(key, expires, &signature, Some("image/png"), None).await.map(|_| ()) }
    };
    assert!(matches!(begin(Uuid::now_v7(), expires, signature.clone()).await, Err(UploadError::InvalidSignature)));
    assert!(matches!(begin(key, expires + 60, signature.clone()).await, Err(UploadError::InvalidSignature)));
    let forged_expiry = MemoryFileRepository::signature(&w.files.file(key).unwrap().slot, expires + 60);
    assert!(
        matches!(begin(key, expires + 60, forged_expiry).await, Err(UploadError::InvalidSignature)),
        "the expiry is the one issued, whatever the signature"
    );
    assert!(matches!(begin(key, expires, format!("{signature}x")).await, Err(UploadError::InvalidSignature)));

    let mistyped = w.begin(key, "image/jpeg", None).await;
    assert!(matches!(mistyped, Err(UploadError::ContentTypeMismatch { ref expected }) if expected == "image/png"));
    assert!(matches!(w.begin(key, "image/png", Some(41)).await, Err(UploadError::TooLarge { limit: 40 })));
    assert!(matches!(
        w.begin(key, "image/png", Some(39)).await,
        Err(UploadError::Incomplete { expected: 40, received: 39 })
    ));
    assert!(w.begin(key, " Image/PNG ", Some(40)).await.is_ok(), "the type's case and spaces do not matter");
    assert!(w.begin(key, "image/png", None).await.is_ok(), "no Content-Length: the body is measured");

    *w.clock.0.lock().unwrap() = datetime!(2026-11-24 09:15:00 UTC);
    assert!(matches!(w.begin(key, "image/jpeg", None).await, Err(UploadError::Expired)), "expiry before type");
    *w.clock.0.lock().unwrap() = NOW;
    w.files.edit(key, |f| f.stored.uploaded = true);
    assert!(matches!(w.begin(key, "image/png", None).await, Err(UploadError::AlreadyUploaded)));

    let s3 = World::new(true);
    let remote = s3.issue(&s3.me, 40).await;
    assert!(matches!(s3.begin(remote, "image/png", None).await, Err(UploadError::NotLocal)));
}

#[test]
fn a_body_is_accepted_only_within_its_size_and_type() {
    let mut guard = UploadGuard::new(FileType::Png, 20);
    guard.accept(&PNG[..5]).unwrap();
    guard.accept(&PNG[5..]).unwrap();
    assert!(matches!(guard.complete(), Err(UploadError::Incomplete { expected: 20, received: 16 })));
    assert!(matches!(guard.accept(&[0; 5]), Err(UploadError::TooLarge { limit: 20 })), "the 21st byte");
    guard.accept(&[0; 4]).unwrap();
    guard.complete().unwrap();

    let mut jpeg = UploadGuard::new(FileType::Png, 2000);
    let body = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0".repeat(200);
    jpeg.accept(&body[..1000]).unwrap();
    let refused = jpeg.accept(&body[1000..1100]);
    assert!(matches!(refused, Err(UploadError::ContentMismatch { ref expected }) if expected == "image/png"));

    let mut short = UploadGuard::new(FileType::Png, 3);
    assert!(matches!(short.accept(b"GIF"), Err(UploadError::ContentMismatch { .. })), "a short file is sniffed whole");
}

#[tokio::test]
async fn a_file_is_used_only_by_its_owner_for_its_purpose_once_uploaded_and_unattached() {
    let w = World::new(false);
    let me = World::owner(&w.me);
    let purpose = FilePurpose::AsEvidence;
    let (first, second, pending) = (w.issue(&w.me, 10).await, w.issue(&w.me, 11).await, w.issue(&w.me, 12).await);
    let theirs = w.issue(&w.them, 10).await;
    for key in [first, second, theirs] {
        w.files.edit(key, |f| f.stored.uploaded = true);
    }
    let confirm = |keys: Vec<Uuid>| {
        let service = w.service();
        async move { service.confirm_for_use(me, purpose, &keys).await }
    };
    let files = confirm(vec![second, first]).await.unwrap();
    assert_eq!(files.iter().map(|f| f.file_key).collect::<Vec<_>>(), [second, first], "in the order given");

    let refused = confirm(vec![pending, theirs]).await.unwrap_err();
    assert!(matches!(refused, FileUseError::NotFound(k) if k == theirs), "every owner first, then uploads");
    assert!(matches!(confirm(vec![Uuid::now_v7()]).await, Err(FileUseError::NotFound(_))));
    assert!(matches!(confirm(vec![first, pending]).await, Err(FileUseError::NotUploaded(k)) if k == pending));
    w.files.edit(second, |f| f.stored.purpose = None);
    assert!(matches!(confirm(vec![second]).await, Err(FileUseError::WrongPurpose(k)) if k == second));
    w.files.edit(first, |f| f.stored.attached = true);
    assert!(matches!(confirm(vec![first]).await, Err(FileUseError::AlreadyAttached(k)) if k == first));

    let found = w.files.file(pending).map(|f| f.stored);
    assert!(use_refusal(pending, found.as_ref(), me, purpose).is_none(), "usable once uploaded");
    assert!(matches!(attach_refusal(pending, found.as_ref(), me, purpose), Some(FileUseError::NotUploaded(_))));
    let other_org = FileOwner { org_id: Uuid::now_v7(), ..me };
    assert!(matches!(use_refusal(pending, found.as_ref(), other_org, purpose), Some(FileUseError::NotFound(_))));
}

#[tokio::test]
async fn a_file_on_the_object_store_is_confirmed_by_what_the_store_holds() {
    let w = World::new(true);
    let me = World::owner(&w.me);
    let key = w.issue(&w.me, 16).await;
    let (service, keys) = (w.service(), [key, key]);
    let confirm = || service.confirm_for_use(me, FilePurpose::AsEvidence, &keys);
    assert!(matches!(confirm().await, Err(FileUseError::NotUploaded(_))), "not in the store yet");

    let object = StoredObject { size: 15, content_type: Some("image/png".to_owned()), head: Some(PNG.to_vec()) };
    w.files.objects.lock().unwrap().insert(key, object.clone());
    assert!(matches!(confirm().await, Err(FileUseError::NotUploaded(_))), "another size");
    let spoofed = StoredObject { size: 16, head: Some(b"GIF89a".to_vec()), ..object.clone() };
    w.files.objects.lock().unwrap().insert(key, spoofed);
    assert!(matches!(confirm().await, Err(FileUseError::NotUploaded(_))), "other magic bytes");
    assert!(!w.files.file(key).unwrap().stored.uploaded, "nothing recorded for a refusal");

    w.files.objects.lock().unwrap().insert(key, StoredObject { size: 16, ..object });
    let files = confirm().await.unwrap();
    assert_eq!(files.len(), 2, "a repeated key is answered twice");
    assert_eq!(files[0].uploaded_at, Some(NOW), "recorded as uploaded now");
    *w.clock.0.lock().unwrap() = NOW + Duration::minutes(1);
    assert_eq!(confirm().await.unwrap()[0].uploaded_at, Some(NOW), "once");
}
