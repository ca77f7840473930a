//! Identity verifications in storage ([`SeaIdentityRepository`], the port
//! `domain::ports::IdentityRepository`) and their secrets ([`KeyedSecrets`], the port
//! `domain::ports::VerificationSecrets`); issue #17, `funnel.md`.
//!
//! Invariants:
//! - the person's name, birth date, gender and phone are sealed under the row's id
//!   (`identity_verifications.*_enc`); the phone and the client address are stored only
//!   as blind indexes, the code and the token only as keyed digests;
//! - a request is counted and stored in one write transaction, after locks that
//!   serialize requests of the same phone and of the same client: on SQLite the write
//!   gate, on PostgreSQL two transaction-scoped advisory locks taken in a fixed order;
//! - every statement that names a verification filters on its org too;
//! - a check is recorded only if the attempts are still those the check saw and the
//!   code has not verified, so two concurrent checks never both count as the first.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::error::RepoError;
use domain::funnel::identity::{
    CODE_DIGITS, Carrier, CodeState, Gender, IdentityClaim, RequestLimited, RequestWindow, VerifiedPerson,
};
use domain::identity::MohomId;
use domain::pii::{PersonName, PhoneNumber, Pii};
use domain::ports::{CheckRecord, IdentityRepository, NewVerification, VerificationSecrets};
use ring::rand::{SecureRandom, SystemRandom};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Value};
use subtle::ConstantTimeEq;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::crypto::{BlindIndex, FieldContext, Keyring};
use crate::db::Db;
use crate::db::stmt;
use crate::error::{corrupt, unavailable};
use crate::{from_millis, to_millis};

const TABLE: &str = "identity_verifications";
/// The phone's blind index: the limits count a phone's requests by it.
const PHONE_INDEX: BlindIndex = BlindIndex { table: TABLE, column: "phone", name: "phone", bits: 32 };
/// The client address's blind index.
const CLIENT_INDEX: BlindIndex = BlindIndex { table: TABLE, column: "client", name: "client", bits: 32 };
/// The code's keyed digest (full width: it is compared, not looked up by prefix).
const CODE_DIGEST: BlindIndex = BlindIndex { table: TABLE, column: "code", name: "code", bits: 256 };
/// The token's keyed digest.
const TOKEN_DIGEST: BlindIndex = BlindIndex { table: TABLE, column: "token", name: "token", bits: 256 };

/// Verifications over the database, sealed by the keyring.
#[derive(Clone)]
pub struct SeaIdentityRepository {
    db: Db,
    keyring: Arc<Keyring>,
}

impl SeaIdentityRepository {
    #[must_use]
    pub fn new(db: Db, keyring: Arc<Keyring>) -> Self {
        Self { db, keyring }
    }

    fn seal(&self, id: &str, column: &str, plain: &str) -> Result<Vec<u8>, RepoError> {
        self.keyring
            .encrypt_str(plain, &FieldContext { table: TABLE, column, row_id: id })
            .map_err(|e| RepoError::Unavailable(format!("sealing {TABLE}.{column}: {e}")))
    }

    fn open_field(&self, row: &QueryResult, id: &str, column: &str) -> Result<String, RepoError> {
        let sealed: Vec<u8> = row.try_get("", &format!("{column}_enc")).map_err(|e| corrupt(TABLE, id, e))?;
        self.keyring
            .decrypt_string(&sealed, &FieldContext { table: TABLE, column, row_id: id })
            .map_err(|e| corrupt(TABLE, id, e))
    }

    fn claim_of(&self, row: &QueryResult, id: &str) -> Result<IdentityClaim, RepoError> {
        let bad = |e: domain::error::ValidationError| corrupt(TABLE, id, e);
        let name = PersonName::parse(&self.open_field(row, id, "name")?).map_err(bad)?;
        let birth = self.open_field(row, id, "birth_date")?;
        let birth_date = Date::parse(&birth, time::macros::format_description!("[year]-[month]-[day]"))
            .map_err(|e| corrupt(TABLE, id, e))?;
        let gender = Gender::parse(&self.open_field(row, id, "gender")?).map_err(bad)?;
        let phone = PhoneNumber::parse(&self.open_field(row, id, "phone")?).map_err(bad)?;
        let carrier: String = row.try_get("", "carrier").map_err(|e| corrupt(TABLE, id, e))?;
        let mohom_id: Option<String> = row.try_get("", "mohom_id").map_err(|e| corrupt(TABLE, id, e))?;
        Ok(IdentityClaim {
            name: Pii::new(name),
            birth_date: Pii::new(birth_date),
            gender,
            phone: Pii::new(phone),
            carrier: Carrier::parse(&carrier).map_err(bad)?,
            mohom_id: mohom_id.map(|m| MohomId::parse(&m)).transpose().map_err(bad)?,
        })
    }
}

/// `(count, oldest)` of a window query's row.
fn window_part(row: &QueryResult, count: &str, oldest: &str) -> Result<(u32, Option<OffsetDateTime>), RepoError> {
    let n: i64 = row.try_get("", count).map_err(|e| corrupt(TABLE, count, e))?;
    let at: Option<i64> = row.try_get("", oldest).map_err(|e| corrupt(TABLE, oldest, e))?;
    Ok((u32::try_from(n).unwrap_or(u32::MAX), at.map(from_millis)))
}

impl IdentityRepository for SeaIdentityRepository {
    async fn open<J>(
        &self,
        new: &NewVerification,
        window_start: OffsetDateTime,
        judge: J,
    ) -> Result<Result<(), RequestLimited>, RepoError>
    where
        J: FnOnce(&RequestWindow) -> Result<(), RequestLimited> + Send,
    {
        let id = new.id.to_string();
        let phone_bidx = self.keyring.blind_index(&PHONE_INDEX, new.claim.phone.expose().e164());
        let client_bidx = self.keyring.blind_index(&CLIENT_INDEX, &new.client);
        let claim = &new.claim;
        let birth = claim.birth_date.expose().to_string();
        let sealed = [
            self.seal(&id, "name", claim.name.expose().as_str())?,
            self.seal(&id, "birth_date", &birth)?,
            self.seal(&id, "gender", claim.gender.as_str())?,
            self.seal(&id, "phone", claim.phone.expose().e164())?,
        ];
        let backend = self.db.backend();
        let txn = self.db.begin_write().await.map_err(unavailable)?;
        if backend == DbBackend::Postgres {
            // Requests of one phone, and of one client, one at a time; always phone
            // first, so two requests never wait on each other in opposite orders.
            txn.execute_raw(stmt(
                backend,
                "SELECT pg_advisory_xact_lock(hashtext($1)), pg_advisory_xact_lock(hashtext($2))",
                vec![format!("idv-phone:{phone_bidx}").into(), format!("idv-client:{client_bidx}").into()],
            ))
            .await
            .map_err(unavailable)?;
        }
        let since = to_millis(window_start);
        let row = txn
            .query_one_raw(stmt(
                backend,
                "SELECT \
                   (SELECT COUNT(*) FROM identity_verifications WHERE phone_bidx = $1 AND created_at > $3) AS phone_n, \
                   (SELECT MIN(created_at) FROM identity_verifications WHERE phone_bidx = $1 AND created_at > $3) AS phone_oldest, \
                   (SELECT COUNT(*) FROM identity_verifications WHERE client_bidx = $2 AND created_at > $3) AS client_n, \
                   (SELECT MIN(created_at) FROM identity_verifications WHERE client_bidx = $2 AND created_at > $3) AS client_oldest",
                vec![phone_bidx.clone().into(), client_bidx.clone().into(), since.into()],
            ))
            .await
            .map_err(unavailable)?
            .ok_or_else(|| RepoError::Unavailable("the window query returned no row".into()))?;
        let (phone_requests, phone_oldest) = window_part(&row, "phone_n", "phone_oldest")?;
        let (address_requests, address_oldest) = window_part(&row, "client_n", "client_oldest")?;
        let window = RequestWindow { phone_requests, phone_oldest, address_requests, address_oldest };
        if let Err(limited) = judge(&window) {
            // Dropping the transaction rolls it back: nothing written.
            return Ok(Err(limited));
        }
        let [name, birth_date, gender, phone] = sealed;
        let values: Vec<Value> = vec![
            id.clone().into(),
            new.org_id.to_string().into(),
            name.into(),
            birth_date.into(),
            gender.into(),
            phone.into(),
            i32::try_from(self.keyring.active_key_id()).unwrap_or(i32::MAX).into(),
            phone_bidx.into(),
            client_bidx.into(),
            claim.carrier.as_str().into(),
            claim.mohom_id.as_ref().map(|m| m.as_str().to_owned()).into(),
            new.code_digest.clone().into(),
            to_millis(new.expires_at).into(),
            to_millis(new.created_at).into(),
        ];
        txn.execute_raw(stmt(
            backend,
            "INSERT INTO identity_verifications (id, org_id, name_enc, birth_date_enc, gender_enc, phone_enc, \
               enc_key_id, phone_bidx, client_bidx, carrier, mohom_id, code_digest, attempts, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, $13, $14)",
            values,
        ))
        .await
        .map_err(unavailable)?;
        txn.commit().await.map_err(unavailable)?;
        Ok(Ok(()))
    }

    async fn discard(&self, org_id: Uuid, id: Uuid) -> Result<(), RepoError> {
        self.db
            .write_one(stmt(
                self.db.backend(),
                "DELETE FROM identity_verifications WHERE id = $1 AND org_id = $2",
                vec![id.to_string().into(), org_id.to_string().into()],
            ))
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn code_state(&self, org_id: Uuid, id: Uuid) -> Result<Option<(CodeState, String)>, RepoError> {
        let row = self
            .db
            .conn()
            .query_one_raw(stmt(
                self.db.backend(),
                "SELECT expires_at, attempts, verified_at, code_digest FROM identity_verifications \
                 WHERE id = $1 AND org_id = $2",
                vec![id.to_string().into(), org_id.to_string().into()],
            ))
            .await
            .map_err(unavailable)?;
        let Some(row) = row else { return Ok(None) };
        let key = id.to_string();
        let get_i64 = |c: &str| row.try_get::<i64>("", c).map_err(|e| corrupt(TABLE, &key, e));
        let attempts: i32 = row
            .try_get::<i32>("", "attempts")
            .or_else(|_| row.try_get::<i16>("", "attempts").map(i32::from))
            .map_err(|e| corrupt(TABLE, &key, e))?;
        let verified_at: Option<i64> = row.try_get("", "verified_at").map_err(|e| corrupt(TABLE, &key, e))?;
        let digest: String = row.try_get("", "code_digest").map_err(|e| corrupt(TABLE, &key, e))?;
        let state = CodeState {
            expires_at: from_millis(get_i64("expires_at")?),
            attempts: u8::try_from(attempts).unwrap_or(u8::MAX),
            verified_at: verified_at.map(from_millis),
        };
        Ok(Some((state, digest)))
    }

    async fn record_check(&self, org_id: Uuid, id: Uuid, check: &CheckRecord) -> Result<bool, RepoError> {
        let (verified_at, token_digest, token_expires_at) = match &check.verified {
            Some((at, digest, expires)) => (Some(to_millis(*at)), Some(digest.clone()), Some(to_millis(*expires))),
            None => (None, None, None),
        };
        let done = self
            .db
            .write_one(stmt(
                self.db.backend(),
                "UPDATE identity_verifications SET attempts = attempts + 1, \
                   verified_at = COALESCE($1, verified_at), token_digest = COALESCE($2, token_digest), \
                   token_expires_at = COALESCE($3, token_expires_at) \
                 WHERE id = $4 AND org_id = $5 AND attempts = $6 AND verified_at IS NULL",
                vec![
                    verified_at.into(),
                    token_digest.into(),
                    token_expires_at.into(),
                    id.to_string().into(),
                    org_id.to_string().into(),
                    i32::from(check.seen_attempts).into(),
                ],
            ))
            .await
            .map_err(unavailable)?;
        Ok(done == 1)
    }

    async fn person(&self, token_digest: &str) -> Result<Option<VerifiedPerson>, RepoError> {
        self.verified_where("token_digest = $1", vec![token_digest.to_owned().into()]).await
    }

    async fn verified(&self, org_id: Uuid, id: Uuid) -> Result<Option<VerifiedPerson>, RepoError> {
        self.verified_where(
            "id = $1 AND org_id = $2 AND verified_at IS NOT NULL",
            vec![id.to_string().into(), org_id.to_string().into()],
        )
        .await
    }
}

impl SeaIdentityRepository {
    /// The verified person of the one row `filter` selects.
    async fn verified_where(
        &self,
        filter: &str,
        values: Vec<sea_orm::Value>,
    ) -> Result<Option<VerifiedPerson>, RepoError> {
        let sql = format!(
            "SELECT id, org_id, name_enc, birth_date_enc, gender_enc, phone_enc, carrier, mohom_id, \
               verified_at, token_expires_at FROM identity_verifications WHERE {filter}"
        );
        let row = self.db.conn().query_one_raw(stmt(self.db.backend(), &sql, values)).await.map_err(unavailable)?;
        let Some(row) = row else { return Ok(None) };
        let id: String = row.try_get("", "id").map_err(|e| corrupt(TABLE, "?", e))?;
        let uuid = |raw: &str| Uuid::parse_str(raw).map_err(|e| corrupt(TABLE, &id, e));
        let org: String = row.try_get("", "org_id").map_err(|e| corrupt(TABLE, &id, e))?;
        let verified_at: Option<i64> = row.try_get("", "verified_at").map_err(|e| corrupt(TABLE, &id, e))?;
        let expires: Option<i64> = row.try_get("", "token_expires_at").map_err(|e| corrupt(TABLE, &id, e))?;
        let (Some(verified_at), Some(expires)) = (verified_at, expires) else {
            return Err(corrupt(TABLE, &id, "a token without its verification time"));
        };
        Ok(Some(VerifiedPerson {
            verification_id: uuid(&id)?,
            org_id: uuid(&org)?,
            claim: self.claim_of(&row, &id)?,
            verified_at: from_millis(verified_at),
            token_expires_at: from_millis(expires),
        }))
    }
}

/// Codes and tokens from the system's random source, digested under keys derived from
/// the keyring's index key.
#[derive(Clone)]
pub struct KeyedSecrets {
    keyring: Arc<Keyring>,
    random: SystemRandom,
}

impl KeyedSecrets {
    #[must_use]
    pub fn new(keyring: Arc<Keyring>) -> Self {
        Self { keyring, random: SystemRandom::new() }
    }

    fn fill(&self, bytes: &mut [u8]) -> Result<(), RepoError> {
        self.random.fill(bytes).map_err(|_| RepoError::Unavailable("the system's random source failed".into()))
    }
}

/// The largest multiple of 10^6 that fits in a `u32`: draws at or above it are
/// redrawn, so every code is equally likely.
const UNBIASED_BELOW: u32 = 4_294_000_000;

impl VerificationSecrets for KeyedSecrets {
    fn new_code(&self) -> Result<Pii<String>, RepoError> {
        loop {
            let mut bytes = [0u8; 4];
            self.fill(&mut bytes)?;
            let draw = u32::from_le_bytes(bytes);
            if draw < UNBIASED_BELOW {
                return Ok(Pii::new(format!("{:0width$}", draw % 1_000_000, width = CODE_DIGITS)));
            }
        }
    }

    fn new_token(&self) -> Result<String, RepoError> {
        let mut bytes = [0u8; 32];
        self.fill(&mut bytes)?;
        Ok(format!("vt_{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    fn code_digest(&self, id: Uuid, code: &str) -> String {
        self.keyring.blind_index(&CODE_DIGEST, &format!("{id}:{code}"))
    }

    fn token_digest(&self, token: &str) -> String {
        self.keyring.blind_index(&TOKEN_DIGEST, token)
    }

    fn digests_match(&self, a: &str, b: &str) -> bool {
        a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> KeyedSecrets {
        let keyring = Keyring::new(crate::crypto::KeyringConfig {
            keys: vec![(1, [3u8; 32])],
            active: 1,
            retired: vec![],
            index_key: [9u8; 32],
        })
        .unwrap();
        KeyedSecrets::new(Arc::new(keyring))
    }

    #[test]
    fn codes_are_six_digits_and_tokens_are_long_and_distinct() {
        let s = secrets();
        for _ in 0..200 {
            let code = s.new_code().unwrap();
            assert!(domain::funnel::identity::is_code_shaped(code.expose()), "{}", code.expose());
        }
        let (a, b) = (s.new_token().unwrap(), s.new_token().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 3 + 43);
    }

    #[test]
    fn a_code_digest_is_bound_to_its_verification() {
        let s = secrets();
        let (one, two) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(s.code_digest(one, "123456").len(), 64);
        assert!(s.digests_match(&s.code_digest(one, "123456"), &s.code_digest(one, "123456")));
        assert!(!s.digests_match(&s.code_digest(one, "123456"), &s.code_digest(two, "123456")));
        assert!(!s.digests_match(&s.code_digest(one, "123456"), &s.code_digest(one, "123457")));
    }
}
