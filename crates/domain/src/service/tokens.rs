//! Access tokens: one for a user of an org's API key (`GET /api/v1/auth/token`), and a
//! partner-signed, single-use SSO token exchanged for one (`GET /api/v1/auth/sso`).
//!
//! Invariants:
//! - a token is minted only for an active user as stored now (its current generation):
//!   a user deleted in the meantime gets none;
//! - an SSO token is verified with the secret of the org its `iss` names, and only a
//!   `PARTNER` org with an SSO secret logs users in; every other case is the same
//!   refusal ([`TokenRefusal::Unauthorized`], its reason logged, never told);
//! - an SSO token's `jti` is accepted once (storage remembers it until the token expires);
//! - the redirect goes to the requested address only when it is on the org's allow-list
//!   (exact match), else to the org's default, never to an address the bearer chose;
//! - an SSO user is created as a `MEMBER` without phone or email, or has its name
//!   refreshed; a deleted user cannot log in.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::RepoError;
use crate::identity::{MohomId, Role, User, UserStatus};
use crate::pii::PersonName;
use crate::ports::{AccessTokens, Clock, SsoRepository, UserRepository};
use crate::reference::OrgKind;

/// An org's SSO configuration, decrypted.
#[derive(Clone, PartialEq, Eq)]
pub struct OrgSso {
    pub secret: Vec<u8>,
    /// Exact addresses a login may redirect to.
    pub redirect_allowlist: Vec<String>,
    pub default_redirect: Option<String>,
}

crate::redacting_debug!(OrgSso { show: [redirect_allowlist, default_redirect], redact: [secret] });

/// What a verified SSO token says.
#[derive(Clone, PartialEq, Eq)]
pub struct SsoIdentity {
    /// The user's `mohomId`.
    pub sub: String,
    pub name: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// The token's single-use id.
    pub jti: String,
}

crate::redacting_debug!(SsoIdentity { show: [sub, exp, jti], redact: [name] });

/// Whom a token is minted for, and by what.
#[derive(Debug, Clone, Copy)]
pub struct TokenGrant<'a> {
    pub user: &'a User,
    /// The user's generation now.
    pub generation: i64,
    /// The API key minting the token; `None` for an SSO login.
    pub key_id: Option<Uuid>,
}

/// A minted access token.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

crate::redacting_debug!(AccessToken { show: [expires_in], redact: [token] });

/// Minting failed (a signing fault of the server, never the caller's).
#[derive(Debug, thiserror::Error)]
#[error("token signing failed: {0}")]
pub struct TokenMintError(pub String);

/// Why no token is given.
#[derive(Debug, thiserror::Error)]
pub enum TokenRefusal {
    /// The SSO token logs no one in; the reason is for the log only.
    #[error("missing or invalid credentials")]
    Unauthorized(&'static str),
    /// The requested redirect is not allowed and the org has no default.
    #[error("is not allowed and the organization has no default")]
    NoRedirect,
    #[error("no such user in this organization")]
    UserNotFound,
    #[error(transparent)]
    Mint(#[from] TokenMintError),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

/// A completed SSO login.
#[derive(Debug, Clone)]
pub struct SsoLogin {
    pub token: AccessToken,
    pub user: User,
    /// Where the browser goes next.
    pub redirect: String,
}

pub struct TokenService<'a, U: ?Sized, S: ?Sized, T: ?Sized, C: ?Sized> {
    users: &'a U,
    sso: &'a S,
    tokens: &'a T,
    clock: &'a C,
}

impl<'a, U, S, T, C> TokenService<'a, U, S, T, C>
where
    U: UserRepository + ?Sized,
    S: SsoRepository + ?Sized,
    T: AccessTokens + ?Sized,
    C: Clock + ?Sized,
{
    pub fn new(users: &'a U, sso: &'a S, tokens: &'a T, clock: &'a C) -> Self {
        Self { users, sso, tokens, clock }
    }

    /// A token for the user as stored now, minted by `key_id` (`None` for SSO).
    ///
    /// # Errors
    /// [`TokenRefusal::UserNotFound`] for a user deleted meanwhile, a minting or storage
    /// failure.
    pub async fn token_for(&self, user_id: Uuid, key_id: Option<Uuid>) -> Result<(AccessToken, User), TokenRefusal> {
        let (user, generation) = self
            .users
            .find_for_token(user_id)
            .await?
            .filter(|(u, _)| u.is_active())
            .ok_or(TokenRefusal::UserNotFound)?;
        let token = self.tokens.mint(&TokenGrant { user: &user, generation, key_id }, self.clock.now())?;
        Ok((token, user))
    }

    /// Logs in the user an SSO token names (see the module invariants).
    ///
    /// # Errors
    /// [`TokenRefusal::Unauthorized`], [`TokenRefusal::NoRedirect`], a minting or storage
    /// failure.
    pub async fn sso_login(&self, token: &str, redirect_uri: Option<&str>) -> Result<SsoLogin, TokenRefusal> {
        let now = self.clock.now();
        let org_id = self.tokens.sso_issuer(token).ok_or(TokenRefusal::Unauthorized("no org id in iss"))?;
        let sso = match self.sso.sso_of(org_id).await? {
            Some((OrgKind::Partner, Some(sso))) => sso,
            Some((OrgKind::Partner, None)) => return Err(TokenRefusal::Unauthorized("org has no SSO secret")),
            _ => return Err(TokenRefusal::Unauthorized("unknown or non-partner org")),
        };
        let claims = self
            .tokens
            .verify_sso(token, org_id, &sso.secret, now)
            .ok_or(TokenRefusal::Unauthorized("verification failed"))?;
        let mohom_id = MohomId::parse(&claims.sub).map_err(|_| TokenRefusal::Unauthorized("bad sub"))?;
        let name = PersonName::parse(&claims.name).map_err(|_| TokenRefusal::Unauthorized("bad name"))?;
        let redirect = match redirect_uri {
            Some(uri) if sso.redirect_allowlist.iter().any(|allowed| allowed == uri) => uri.to_owned(),
            _ => sso.default_redirect.clone().ok_or(TokenRefusal::NoRedirect)?,
        };
        if !self.sso.consume_sso_jti(org_id, &claims.jti, claims.exp, now).await? {
            return Err(TokenRefusal::Unauthorized("replayed jti"));
        }
        let user = self.upsert_sso_user(org_id, mohom_id, name, now).await?;
        let (token, user) = self.token_for(user.id, None).await?;
        Ok(SsoLogin { token, user, redirect })
    }

    /// Creates the SSO user as a `MEMBER`, or refreshes the name of an existing one.
    async fn upsert_sso_user(
        &self,
        org_id: Uuid,
        mohom_id: MohomId,
        name: PersonName,
        now: OffsetDateTime,
    ) -> Result<User, TokenRefusal> {
        match self.users.find(org_id, &mohom_id).await? {
            Some(user) if user.status == UserStatus::Deleted => Err(TokenRefusal::Unauthorized("deleted user")),
            Some(user) => {
                let updated = User { name, updated_at: now, ..user };
                self.users.update(&updated).await?;
                Ok(updated)
            }
            None => {
                // SSO users arrive without phone or email, so they are built here, not by NewUser.
                let user = User {
                    id: crate::ids::new_id(),
                    org_id,
                    mohom_id,
                    role: Role::Member,
                    team_id: None,
                    name,
                    phone: None,
                    email: None,
                    status: UserStatus::Active,
                    created_at: now,
                    updated_at: now,
                };
                self.users.insert(&user).await?;
                Ok(user)
            }
        }
    }
}
