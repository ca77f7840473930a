//! In-memory adapters of the user, audit, SSO and token ports, for use-case tests
//! without a database or cryptography.
//!
//! [`MemoryUserRepository`] keeps users (with a generation that moves on every update,
//! like storage's on a role or status change), the leads each user owns (set by the
//! test) and the audit entries appended; [`MemorySso`] keeps org kinds and SSO settings
//! and remembers token ids; [`PlainTokens`] "signs" an SSO token as the text
//! `org|secret|sub|name|exp|jti` and mints `token-for-<user id>`.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use domain::error::RepoError;
use domain::identity::{MohomId, User, UserQuery};
use domain::pagination::Page;
use domain::ports::{AccessTokens, AuditEvent, AuditLog, SsoRepository, UserRepository};
use domain::reference::OrgKind;
use domain::service::tokens::{AccessToken, OrgSso, SsoIdentity, TokenGrant, TokenMintError};
use time::OffsetDateTime;
use uuid::Uuid;

/// Users and their generations, owned-lead counts and audit entries.
#[derive(Debug, Default)]
pub struct MemoryUserRepository {
    pub users: Mutex<Vec<(User, i64)>>,
    pub owned: Mutex<HashMap<Uuid, u64>>,
    pub audit: Mutex<Vec<AuditEvent>>,
}

impl MemoryUserRepository {
    /// A repository holding `users`, each at generation 1.
    #[must_use]
    pub fn with(users: Vec<User>) -> Self {
        Self { users: Mutex::new(users.into_iter().map(|u| (u, 1)).collect()), ..Self::default() }
    }

    /// The stored users.
    #[must_use]
    pub fn stored(&self) -> Vec<User> {
        self.users.lock().expect("users lock").iter().map(|(u, _)| u.clone()).collect()
    }

    /// The audit entries appended, oldest first.
    #[must_use]
    pub fn audited(&self) -> Vec<AuditEvent> {
        self.audit.lock().expect("audit lock").clone()
    }
}

impl UserRepository for MemoryUserRepository {
    async fn find(&self, org_id: Uuid, mohom_id: &MohomId) -> Result<Option<User>, RepoError> {
        let users = self.users.lock().expect("users lock");
        Ok(users.iter().map(|(u, _)| u).find(|u| u.org_id == org_id && &u.mohom_id == mohom_id).cloned())
    }

    async fn find_by_id(&self, id: Uuid) -> Result<Option<User>, RepoError> {
        Ok(self.users.lock().expect("users lock").iter().map(|(u, _)| u).find(|u| u.id == id).cloned())
    }

    async fn insert(&self, user: &User) -> Result<(), RepoError> {
        let mut users = self.users.lock().expect("users lock");
        if users.iter().any(|(u, _)| u.org_id == user.org_id && u.mohom_id == user.mohom_id) {
            return Err(RepoError::Conflict("users.mohom_id".to_owned()));
        }
        users.push((user.clone(), 1));
        Ok(())
    }

    async fn update(&self, user: &User) -> Result<(), RepoError> {
        let mut users = self.users.lock().expect("users lock");
        let (stored, generation) = users.iter_mut().find(|(u, _)| u.id == user.id).ok_or(RepoError::NotFound)?;
        *stored = user.clone();
        *generation += 1;
        Ok(())
    }

    /// The org's active users of the query's role, in insertion order, one page.
    async fn list(&self, org_id: Uuid, query: &UserQuery) -> Result<Page<User>, RepoError> {
        let users = self.users.lock().expect("users lock");
        let hits: Vec<&User> = users
            .iter()
            .map(|(u, _)| u)
            .filter(|u| u.org_id == org_id && u.is_active() && query.role.is_none_or(|r| u.role == r))
            .collect();
        let total = hits.len() as u64;
        let offset = usize::try_from(query.page.offset()).unwrap_or(usize::MAX);
        let limit = usize::try_from(query.page.limit()).unwrap_or(usize::MAX);
        Ok(Page { items: hits.into_iter().skip(offset).take(limit).cloned().collect(), request: query.page, total })
    }

    async fn find_for_token(&self, id: Uuid) -> Result<Option<(User, i64)>, RepoError> {
        Ok(self.users.lock().expect("users lock").iter().find(|(u, _)| u.id == id).cloned())
    }

    async fn owned_leads(&self, user_id: Uuid) -> Result<u64, RepoError> {
        Ok(self.owned.lock().expect("owned lock").get(&user_id).copied().unwrap_or(0))
    }
}

impl AuditLog for MemoryUserRepository {
    async fn record(&self, event: &AuditEvent) -> Result<(), RepoError> {
        self.audit.lock().expect("audit lock").push(event.clone());
        Ok(())
    }
}

/// Orgs' kinds and SSO settings, and the SSO token ids used.
#[derive(Debug, Default)]
pub struct MemorySso {
    pub orgs: HashMap<Uuid, (OrgKind, Option<OrgSso>)>,
    pub used: Mutex<HashSet<(Uuid, String)>>,
}

impl SsoRepository for MemorySso {
    async fn sso_of(&self, org_id: Uuid) -> Result<Option<(OrgKind, Option<OrgSso>)>, RepoError> {
        Ok(self.orgs.get(&org_id).cloned())
    }

    async fn consume_sso_jti(
        &self,
        org_id: Uuid,
        jti: &str,
        _expires_at: i64,
        _now: OffsetDateTime,
    ) -> Result<bool, RepoError> {
        Ok(self.used.lock().expect("used lock").insert((org_id, jti.to_owned())))
    }
}

/// Tokens as plain text (see the module docs): the rules around them, not the crypto.
#[derive(Debug, Default)]
pub struct PlainTokens;

impl PlainTokens {
    /// An SSO token as [`PlainTokens`] reads it.
    #[must_use]
    pub fn sso(org: Uuid, secret: &str, sub: &str, name: &str, jti: &str) -> String {
        format!("{org}|{secret}|{sub}|{name}|{}|{jti}", i64::MAX)
    }
}

impl AccessTokens for PlainTokens {
    fn mint(&self, grant: &TokenGrant<'_>, _now: OffsetDateTime) -> Result<AccessToken, TokenMintError> {
        Ok(AccessToken { token: format!("token-for-{}@{}", grant.user.id, grant.generation), expires_in: 3600 })
    }

    fn sso_issuer(&self, token: &str) -> Option<Uuid> {
        token.split('|').next()?.parse().ok()
    }

    fn verify_sso(&self, token: &str, org_id: Uuid, secret: &[u8], _now: OffsetDateTime) -> Option<SsoIdentity> {
        let parts: Vec<&str> = token.split('|').collect();
        let [org, signed_with, sub, name, exp, jti] = parts.as_slice() else { return None };
        (org.parse() == Ok(org_id) && signed_with.as_bytes() == secret).then(|| SsoIdentity {
            sub: (*sub).to_owned(),
            name: (*name).to_owned(),
            exp: exp.parse().unwrap_or(0),
            jti: (*jti).to_owned(),
        })
    }
}
