//! JWT access tokens (jsonwebtoken 11, HS256) and the verification of partner-signed
//! SSO tokens.
//!
//! Invariants:
//! - the algorithm list is pinned to HS256: `alg=none`, RS*/ES* and anything else fail;
//! - `iss`, `aud`, `exp` and `sub` are required; leeway is `jwt.leeway_secs`;
//! - every token names its key in `kid`; unknown `kid` fails; earlier keys listed in
//!   `jwt.previous` still verify, so the signing key can rotate without logging users out;
//! - an access token names what issued it: `key` (the API key that minted it; absent for
//!   an SSO login) and `gen` (the user's generation at issue). Both are required to be
//!   checked against storage on every request (see `apps/api/src/auth.rs`): a revoked key
//!   or a changed generation (deleted, recreated, role changed) ends the token. A token
//!   without `gen` (issued before generations existed) does not verify;
//! - an SSO token must expire at most [`SSO_MAX_LIFETIME_SECS`] after now, carry a `jti`,
//!   and is verified with its org's own secret.

use std::collections::HashMap;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::config::JwtSettings;

/// The longest an SSO token may live.
pub const SSO_MAX_LIFETIME_SECS: i64 = 300;

#[derive(Debug, Error)]
pub enum TokenError {
    #[error("invalid token")]
    Invalid,
    #[error("token signing failed: {0}")]
    Signing(String),
    #[error("invalid JWT configuration: {0}")]
    Config(String),
}

/// The claims of an LDBDS access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The user's id.
    pub sub: String,
    /// The user's org id.
    pub org: String,
    /// The user's `mohomId`.
    pub mohom: String,
    pub role: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// The API key that minted the token; `None` for an SSO login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The user's generation when the token was issued.
    pub r#gen: i64,
}

/// Whom a token is issued to, and by what.
#[derive(Debug, Clone, Copy)]
pub struct TokenSubject<'a> {
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub mohom_id: &'a str,
    pub role: &'a str,
    /// The user's generation now (`users.generation`).
    pub generation: i64,
    /// The API key minting the token; `None` for an SSO login.
    pub key_id: Option<Uuid>,
}

/// Issues and verifies access tokens.
pub struct TokenIssuer {
    issuer: String,
    audience: String,
    ttl_secs: u64,
    kid: String,
    leeway: u64,
    encoding: EncodingKey,
    decoding: HashMap<String, DecodingKey>,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer").field("issuer", &self.issuer).field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl TokenIssuer {
    /// # Errors
    /// [`TokenError::Config`] for a malformed `jwt.previous` list.
    pub fn new(settings: &JwtSettings, secret: &[u8]) -> Result<Self, TokenError> {
        let mut decoding = HashMap::from([(settings.kid.clone(), DecodingKey::from_secret(secret))]);
        for entry in settings.previous.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (kid, old) = entry
                .split_once(':')
                .ok_or_else(|| TokenError::Config("jwt.previous entries are kid:secret".to_owned()))?;
            if old.len() < 32 {
                return Err(TokenError::Config(format!("jwt.previous secret of kid {kid} is shorter than 32 bytes")));
            }
            decoding.entry(kid.to_owned()).or_insert_with(|| DecodingKey::from_secret(old.as_bytes()));
        }
        Ok(Self {
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            ttl_secs: settings.ttl_secs,
            kid: settings.kid.clone(),
            leeway: settings.leeway_secs,
            encoding: EncodingKey::from_secret(secret),
            decoding,
        })
    }

    #[must_use]
    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    /// A token for this user, valid for `jwt.ttl_secs`.
    ///
    /// # Errors
    /// [`TokenError::Signing`] if encoding fails.
    pub fn issue(&self, subject: &TokenSubject<'_>, now: OffsetDateTime) -> Result<String, TokenError> {
        let iat = now.unix_timestamp();
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: subject.user_id.to_string(),
            org: subject.org_id.to_string(),
            mohom: subject.mohom_id.to_owned(),
            role: subject.role.to_owned(),
            iat,
            exp: iat + i64::try_from(self.ttl_secs).unwrap_or(i64::MAX / 2),
            jti: Uuid::now_v7().to_string(),
            key: subject.key_id.map(|k| k.to_string()),
            r#gen: subject.generation,
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        encode(&header, &claims, &self.encoding).map_err(|e| TokenError::Signing(e.to_string()))
    }

    /// Verifies signature, algorithm, `kid`, issuer, audience and expiry.
    ///
    /// # Errors
    /// [`TokenError::Invalid`] for any failure (no detail for the caller).
    pub fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Invalid)?;
        let kid = header.kid.ok_or(TokenError::Invalid)?;
        let key = self.decoding.get(&kid).ok_or(TokenError::Invalid)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = self.leeway;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        decode::<AccessClaims>(token, key, &validation).map(|data| data.claims).map_err(|_| TokenError::Invalid)
    }
}

/// The claims of a partner-signed SSO token. Its `Debug` hides the person's name.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoClaims {
    /// The org id.
    pub iss: String,
    /// The user's `mohomId`.
    pub sub: String,
    pub name: String,
    pub exp: i64,
    pub jti: String,
}

domain::redacting_debug!(SsoClaims { show: [iss, sub, exp, jti], redact: [name] });

/// The `iss` of an SSO token, read without verification (to find the org whose secret
/// verifies it).
///
/// # Errors
/// [`TokenError::Invalid`] when the token is not a JWT with a string `iss`.
pub fn sso_issuer_unverified(token: &str) -> Result<String, TokenError> {
    #[derive(Deserialize)]
    struct Iss {
        iss: String,
    }
    jsonwebtoken::dangerous::insecure_decode_claims::<Iss>(token).map(|c| c.iss).map_err(|_| TokenError::Invalid)
}

/// Verifies an SSO token with its org's secret.
///
/// # Errors
/// [`TokenError::Invalid`]: bad signature or algorithm, wrong `iss`, expired, living
/// longer than 5 minutes, or missing `sub`/`jti`/`name`.
pub fn verify_sso(
    token: &str,
    org_id: Uuid,
    secret: &[u8],
    leeway_secs: u64,
    now: OffsetDateTime,
) -> Result<SsoClaims, TokenError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.algorithms = vec![Algorithm::HS256];
    validation.leeway = leeway_secs;
    validation.validate_aud = false;
    validation.set_issuer(&[org_id.to_string()]);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    let claims = decode::<SsoClaims>(token, &DecodingKey::from_secret(secret), &validation)
        .map(|data| data.claims)
        .map_err(|_| TokenError::Invalid)?;
    let longest = now.unix_timestamp() + SSO_MAX_LIFETIME_SECS + i64::try_from(leeway_secs).unwrap_or(0);
    if claims.exp > longest || claims.jti.is_empty() || claims.jti.len() > 255 || claims.sub.is_empty() {
        return Err(TokenError::Invalid);
    }
    Ok(claims)
}

/// Signs an SSO token the way a partner does (tests, demo and `ldbds` tooling).
///
/// # Errors
/// [`TokenError::Signing`] if encoding fails.
pub fn sign_sso(claims: &SsoClaims, secret: &[u8]) -> Result<String, TokenError> {
    encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret))
        .map_err(|e| TokenError::Signing(e.to_string()))
}

impl domain::ports::AccessTokens for TokenIssuer {
    fn mint(
        &self,
        grant: &domain::service::tokens::TokenGrant<'_>,
        now: OffsetDateTime,
    ) -> Result<domain::service::tokens::AccessToken, domain::service::tokens::TokenMintError> {
        let subject = TokenSubject {
            user_id: grant.user.id,
            org_id: grant.user.org_id,
            mohom_id: grant.user.mohom_id.as_str(),
            role: grant.user.role.as_str(),
            generation: grant.generation,
            key_id: grant.key_id,
        };
        let token = self.issue(&subject, now).map_err(|e| domain::service::tokens::TokenMintError(e.to_string()))?;
        Ok(domain::service::tokens::AccessToken { token, expires_in: self.ttl_secs })
    }

    fn sso_issuer(&self, token: &str) -> Option<Uuid> {
        sso_issuer_unverified(token).ok().and_then(|iss| iss.parse().ok())
    }

    fn verify_sso(
        &self,
        token: &str,
        org_id: Uuid,
        secret: &[u8],
        now: OffsetDateTime,
    ) -> Option<domain::service::tokens::SsoIdentity> {
        let claims = verify_sso(token, org_id, secret, self.leeway, now).ok()?;
        Some(domain::service::tokens::SsoIdentity {
            sub: claims.sub,
            name: claims.name,
            exp: claims.exp,
            jti: claims.jti,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> JwtSettings {
        JwtSettings {
            issuer: "ldbds".into(),
            audience: "ldbds-api".into(),
            ttl_secs: 3600,
            secret: String::new(),
            kid: "2".into(),
            previous: "1:an-older-secret-that-is-long-enough-0123".into(),
            leeway_secs: 0,
        }
    }

    const SECRET: &[u8] = b"the-current-secret-that-is-long-enough-0123";

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(&settings(), SECRET).unwrap()
    }

    fn subject(key_id: Option<Uuid>) -> TokenSubject<'static> {
        TokenSubject {
            user_id: Uuid::now_v7(),
            org_id: Uuid::now_v7(),
            mohom_id: "m1",
            role: "MEMBER",
            generation: 7,
            key_id,
        }
    }

    fn token(now: OffsetDateTime) -> String {
        issuer().issue(&subject(None), now).unwrap()
    }

    fn claims(now: OffsetDateTime) -> AccessClaims {
        AccessClaims {
            iss: "ldbds".into(),
            aud: "ldbds-api".into(),
            sub: "u".into(),
            org: "o".into(),
            mohom: "m".into(),
            role: "MEMBER".into(),
            iat: now.unix_timestamp(),
            exp: now.unix_timestamp() + 60,
            jti: "j".into(),
            key: None,
            r#gen: 0,
        }
    }

    fn signed(claims: &AccessClaims, kid: Option<&str>, secret: &[u8]) -> String {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = kid.map(str::to_owned);
        encode(&header, claims, &EncodingKey::from_secret(secret)).unwrap()
    }

    #[test]
    fn a_fresh_token_verifies() {
        let claims = issuer().verify(&token(OffsetDateTime::now_utc())).unwrap();
        assert_eq!((claims.mohom.as_str(), claims.role.as_str()), ("m1", "MEMBER"));
    }

    #[test]
    fn a_token_carries_its_issuing_key_and_the_users_generation() {
        let now = OffsetDateTime::now_utc();
        let key = Uuid::now_v7();
        let claims = issuer().verify(&issuer().issue(&subject(Some(key)), now).unwrap()).unwrap();
        assert_eq!((claims.key, claims.r#gen), (Some(key.to_string()), 7));
        let sso = issuer().verify(&token(now)).unwrap();
        assert_eq!(sso.key, None, "an SSO login names no key");
    }

    #[test]
    fn a_token_without_a_generation_is_refused() {
        let now = OffsetDateTime::now_utc();
        let mut value = serde_json::to_value(claims(now)).unwrap();
        value.as_object_mut().unwrap().remove("gen");
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("2".into());
        let old = encode(&header, &value, &EncodingKey::from_secret(SECRET)).unwrap();
        assert!(issuer().verify(&old).is_err());
    }

    #[test]
    fn an_expired_token_is_refused() {
        let old = OffsetDateTime::now_utc() - time::Duration::hours(2);
        assert!(issuer().verify(&token(old)).is_err());
    }

    #[test]
    fn alg_none_is_refused() {
        let now = OffsetDateTime::now_utc();
        let payload = serde_json::to_vec(&claims(now)).unwrap();
        let b64 = |bytes: &[u8]| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        };
        let unsigned = format!("{}.{}.", b64(br#"{"alg":"none","typ":"JWT","kid":"2"}"#), b64(&payload));
        assert!(issuer().verify(&unsigned).is_err());
    }

    #[test]
    fn a_wrong_key_a_wrong_audience_or_issuer_or_kid_is_refused() {
        let now = OffsetDateTime::now_utc();
        assert!(
            issuer().verify(&signed(&claims(now), Some("2"), b"another-secret-entirely-and-long-0123456")).is_err()
        );
        assert!(issuer().verify(&signed(&AccessClaims { aud: "x".into(), ..claims(now) }, Some("2"), SECRET)).is_err());
        assert!(issuer().verify(&signed(&AccessClaims { iss: "x".into(), ..claims(now) }, Some("2"), SECRET)).is_err());
        assert!(issuer().verify(&signed(&claims(now), Some("9"), SECRET)).is_err(), "unknown kid");
        assert!(issuer().verify(&signed(&claims(now), None, SECRET)).is_err(), "kid required");
        assert!(issuer().verify(&signed(&claims(now), Some("2"), SECRET)).is_ok());
    }

    #[test]
    fn a_token_of_the_previous_key_still_verifies() {
        let now = OffsetDateTime::now_utc();
        let old = signed(&claims(now), Some("1"), b"an-older-secret-that-is-long-enough-0123");
        assert!(issuer().verify(&old).is_ok());
    }

    #[test]
    fn an_sso_token_living_over_five_minutes_is_refused() {
        let now = OffsetDateTime::now_utc();
        let org = Uuid::now_v7();
        let sso = |exp: i64| SsoClaims {
            iss: org.to_string(),
            sub: "m1".into(),
            name: "홍길동".into(),
            exp,
            jti: "j1".into(),
        };
        let secret = b"partner-sso-secret-long-enough-0123456789";
        let ok = sign_sso(&sso(now.unix_timestamp() + 120), secret).unwrap();
        assert_eq!(sso_issuer_unverified(&ok).unwrap(), org.to_string());
        assert!(verify_sso(&ok, org, secret, 0, now).is_ok());
        let long = sign_sso(&sso(now.unix_timestamp() + 3600), secret).unwrap();
        assert!(verify_sso(&long, org, secret, 0, now).is_err());
        assert!(verify_sso(&ok, Uuid::now_v7(), secret, 0, now).is_err(), "another org's iss");
        assert!(verify_sso(&ok, org, b"another-partner-secret-long-enough-01234", 0, now).is_err());
    }
}
