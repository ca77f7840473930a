//! Onboarding a partner: the operator creates an org, the sources its leads
//! come from, and the API keys it calls with. Nothing else makes an org (no SQL).
//!
//! Invariants:
//! - only the operator runs these use cases (the API checks the caller before calling);
//! - org codes and source codes are unique (each across all orgs), made of
//!   `A-Z a-z 0-9 . _ -`, 1 to 64 characters, starting with a letter or digit: they travel
//!   in URLs and in the intake's `source` header as they are;
//! - an org made here is a `PARTNER` or a `PROVIDER`; there is one operator, from the
//!   fixtures;
//! - a source names an existing product as its default (the intake's fallback product);
//! - an API key's plaintext exists only in the value returned by [`OrgService::issue_api_key`]
//!   (its `Debug` is redacted): it is shown once;
//! - every refusal (bad input, unknown org or product, a code in use) writes nothing.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{FieldError, RepoError, ValidationError};
use crate::ids::new_id;
use crate::ports::{Clock, OrgRepository, ReferenceRepository};
use crate::reference::OrgKind;

/// The longest org or source code (`organizations.code`, `sources.code`).
pub const MAX_CODE: usize = 64;
/// The longest org or source name (`organizations.name`, `sources.name`).
pub const MAX_NAME: usize = 200;
/// The longest API key label (`api_keys.label`).
pub const MAX_LABEL: usize = 100;
/// What a code may be, for the API document.
pub const CODE_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$";

#[derive(Debug, thiserror::Error)]
pub enum OnboardError {
    #[error("no organization has this code")]
    OrgNotFound,
    #[error("an organization with this code exists")]
    OrgExists,
    #[error("a source with this code exists")]
    SourceExists,
    #[error("no product has this id")]
    ProductNotFound,
    #[error(transparent)]
    Repo(RepoError),
}

impl From<RepoError> for OnboardError {
    fn from(err: RepoError) -> Self {
        Self::Repo(err)
    }
}

/// An org or source code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code(String);

impl Code {
    /// # Errors
    /// Names `field` when the code is empty, too long, or has another character.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let first_ok = raw.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
        let ok = first_ok
            && raw.len() <= MAX_CODE
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValidationError::single(
                field,
                "must be 1 to 64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit",
            ))
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Trimmed printable text of 1 to `max` characters.
fn text(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    let trimmed = raw.trim();
    if (1..=max).contains(&trimmed.chars().count()) && !trimmed.chars().any(char::is_control) {
        Ok(trimmed.to_owned())
    } else {
        Err(FieldError::new(field, format!("must be 1 to {max} printable characters")))
    }
}

/// An organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub kind: OrgKind,
    pub created_at: OffsetDateTime,
}

/// An org as the operator's list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgOverview {
    pub org: Org,
    /// Its leads held `DUPLICATE_OTHER_PROVIDER` (another provider sent the phone first).
    pub held_leads: u64,
}

/// A validated new org.
#[derive(Debug, Clone)]
pub struct NewOrg {
    pub code: Code,
    pub name: String,
    pub kind: OrgKind,
}

impl NewOrg {
    /// # Errors
    /// One [`FieldError`] per malformed field (`code`, `name`, `kind`).
    pub fn parse(code: &str, name: &str, kind: &str) -> Result<Self, ValidationError> {
        let mut errors = Vec::new();
        let code = Code::parse("code", code).map_err(|e| errors.extend(e.0)).ok();
        let name = text("name", name, MAX_NAME).map_err(|e| errors.push(e)).ok();
        let kind = match kind.parse::<OrgKind>() {
            Ok(k @ (OrgKind::Partner | OrgKind::Provider)) => Some(k),
            _ => {
                errors.push(FieldError::new("kind", "must be PARTNER or PROVIDER"));
                None
            }
        };
        match (code, name, kind) {
            (Some(code), Some(name), Some(kind)) if errors.is_empty() => Ok(Self { code, name, kind }),
            _ => Err(ValidationError(errors)),
        }
    }
}

/// A lead source of an org: the intake's `source` header names it by `code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub id: Uuid,
    pub code: String,
    pub org_id: Uuid,
    pub name: String,
    pub default_product_id: Uuid,
    pub created_at: OffsetDateTime,
}

/// A validated new source.
#[derive(Debug, Clone)]
pub struct NewSource {
    pub code: Code,
    pub name: String,
    pub default_product_id: Uuid,
}

impl NewSource {
    /// `name` defaults to the code.
    ///
    /// # Errors
    /// One [`FieldError`] per malformed field (`code`, `name`).
    pub fn parse(code: &str, name: Option<&str>, default_product_id: Uuid) -> Result<Self, ValidationError> {
        let mut errors = Vec::new();
        let code = Code::parse("code", code).map_err(|e| errors.extend(e.0)).ok();
        let name = match name {
            Some(raw) => text("name", raw, MAX_NAME).map_err(|e| errors.push(e)).ok(),
            None => code.as_ref().map(|c| c.as_str().to_owned()),
        };
        match (code, name) {
            (Some(code), Some(name)) if errors.is_empty() => Ok(Self { code, name, default_product_id }),
            _ => Err(ValidationError(errors)),
        }
    }
}

/// An API key's plaintext: shown once, never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySecret(String);

impl ApiKeySecret {
    #[must_use]
    pub fn new(plaintext: String) -> Self {
        Self(plaintext)
    }

    /// The plaintext, for the one reply that shows it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKeySecret(***)")
    }
}

/// A key just issued.
#[derive(Debug, Clone)]
pub struct IssuedApiKey {
    pub id: Uuid,
    pub org_id: Uuid,
    pub label: String,
    pub key: ApiKeySecret,
    pub created_at: OffsetDateTime,
}

/// An API key label: trimmed printable text, 1 to 100 characters.
///
/// # Errors
/// Names `label`.
pub fn parse_label(raw: &str) -> Result<String, ValidationError> {
    text("label", raw, MAX_LABEL).map_err(|e| ValidationError(vec![e]))
}

/// Who acts, for the audit trail (`key:<id>`, `user:<id>`, `cli`).
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a>(pub &'a str);

pub struct OrgService<'a, R: ?Sized, P: ?Sized, C: ?Sized> {
    repo: &'a R,
    reference: &'a P,
    clock: &'a C,
}

impl<'a, R: OrgRepository + ?Sized, P: ReferenceRepository + ?Sized, C: Clock + ?Sized> OrgService<'a, R, P, C> {
    pub fn new(repo: &'a R, reference: &'a P, clock: &'a C) -> Self {
        Self { repo, reference, clock }
    }

    /// Creates an org.
    ///
    /// # Errors
    /// [`OnboardError::OrgExists`] when the code is taken, or a storage failure.
    pub async fn create_org(&self, actor: Actor<'_>, new: NewOrg) -> Result<Org, OnboardError> {
        let org = Org {
            id: new_id(),
            code: new.code.as_str().to_owned(),
            name: new.name,
            kind: new.kind,
            created_at: self.clock.now(),
        };
        match self.repo.insert_org(&org, actor.0).await {
            Ok(()) => Ok(org),
            Err(RepoError::Conflict(_)) => Err(OnboardError::OrgExists),
            Err(e) => Err(e.into()),
        }
    }

    /// Every org, oldest first, with the number of its leads held as duplicates of
    /// another provider's (the operator's view of `DUPLICATE_OTHER_PROVIDER`).
    ///
    /// # Errors
    /// A storage failure.
    pub async fn list_orgs(&self) -> Result<Vec<OrgOverview>, OnboardError> {
        let held = self.repo.held_leads_by_provider().await?;
        let orgs = self.repo.list_orgs().await?;
        Ok(orgs
            .into_iter()
            .map(|org| {
                let held_leads = held.iter().find(|(id, _)| *id == org.id).map_or(0, |(_, n)| *n);
                OrgOverview { org, held_leads }
            })
            .collect())
    }

    async fn org(&self, code: &str) -> Result<Org, OnboardError> {
        self.repo.find_org(code).await?.ok_or(OnboardError::OrgNotFound)
    }

    /// Adds a source to the org with this code.
    ///
    /// # Errors
    /// [`OnboardError::OrgNotFound`], [`OnboardError::ProductNotFound`],
    /// [`OnboardError::SourceExists`] when the code is taken (by any org), or a storage
    /// failure.
    pub async fn add_source(&self, actor: Actor<'_>, org_code: &str, new: NewSource) -> Result<Source, OnboardError> {
        let org = self.org(org_code).await?;
        if self.reference.find_product(new.default_product_id).await?.is_none() {
            return Err(OnboardError::ProductNotFound);
        }
        let source = Source {
            id: new_id(),
            code: new.code.as_str().to_owned(),
            org_id: org.id,
            name: new.name,
            default_product_id: new.default_product_id,
            created_at: self.clock.now(),
        };
        match self.repo.insert_source(&source, actor.0).await {
            Ok(()) => Ok(source),
            Err(RepoError::Conflict(_)) => Err(OnboardError::SourceExists),
            Err(e) => Err(e.into()),
        }
    }

    /// Issues an API key for the org with this code; its plaintext is in the result only.
    ///
    /// # Errors
    /// [`OnboardError::OrgNotFound`] or a storage failure.
    pub async fn issue_api_key(
        &self,
        actor: Actor<'_>,
        org_code: &str,
        label: &str,
    ) -> Result<IssuedApiKey, OnboardError> {
        let org = self.org(org_code).await?;
        Ok(self.repo.issue_api_key(org.id, label, actor.0, self.clock.now()).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_url_and_header_safe() {
        for ok in ["mohom", "TCB", "partner-2", "a", "p.q_r-1", &"x".repeat(64)] {
            assert!(Code::parse("code", ok).is_ok(), "{ok}");
        }
        for bad in ["", "-lead", ".x", "a b", "a/b", "ü", "a\n", &"x".repeat(65)] {
            assert!(Code::parse("code", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_new_org_names_every_bad_field_and_is_never_the_operator() {
        let err = NewOrg::parse("bad code", " ", "OPERATOR").unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["code", "name", "kind"]);
        let org = NewOrg::parse("partner-2", "  Partner Two ", "PARTNER").unwrap();
        assert_eq!((org.code.as_str(), org.name.as_str(), org.kind), ("partner-2", "Partner Two", OrgKind::Partner));
        assert!(NewOrg::parse("p", "P", "partner").is_err(), "kinds are spelled as on the wire");
    }

    #[test]
    fn a_source_name_defaults_to_its_code() {
        let source = NewSource::parse("SRC2", None, Uuid::nil()).unwrap();
        assert_eq!(source.name, "SRC2");
        assert!(NewSource::parse("SRC2", Some("\u{7}"), Uuid::nil()).is_err());
    }

    #[test]
    fn an_api_key_secret_never_prints() {
        let secret = ApiKeySecret::new("ldb_live_abc_def".to_owned());
        assert_eq!(format!("{secret:?}"), "ApiKeySecret(***)");
        assert_eq!(secret.expose(), "ldb_live_abc_def");
    }
}
