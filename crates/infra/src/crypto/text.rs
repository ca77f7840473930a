//! Sealed free text: columns a person or a partner types (memos, descriptions, comments,
//! free JSON from sources, audit details), stored as envelopes beside a cleared plaintext
//! column.
//!
//! Invariants:
//! - a sealed text column `<c>` of table `t` is stored as `<c>_enc` (an envelope whose
//!   associated data names `t`, `<c>` and the row id, so a ciphertext copied to another
//!   row or column fails to decrypt) and `<c>_key_id` (the key id of the envelope);
//! - written rows leave `<c>` cleared: `NULL`, or `''` where the column is `NOT NULL`;
//! - a row whose `<c>_enc` is `NULL` is read from `<c>`: that is a row written before the
//!   vault covered the column and not sealed yet (`infra::seal_backfill` seals them at
//!   start-up), or a row whose value is absent.

use super::{CryptoError, FieldContext, Keyring};

/// A sealed text column: where it lives and how its plaintext column is cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedText {
    pub table: &'static str,
    /// The primary-key column (its value is the row id bound into the envelope).
    pub id_column: &'static str,
    /// The plaintext column; also the column name bound into the envelope.
    pub column: &'static str,
    pub sealed_column: &'static str,
    pub key_column: &'static str,
    /// The plaintext column is `NOT NULL`: cleared to `''` instead of `NULL`.
    pub plain_required: bool,
}

const fn sealed(
    table: &'static str,
    id_column: &'static str,
    column: &'static str,
    sealed_column: &'static str,
    key_column: &'static str,
    plain_required: bool,
) -> SealedText {
    SealedText { table, id_column, column, sealed_column, key_column, plain_required }
}

/// `as_requests.description`: the claimant's account of the problem.
pub const AS_DESCRIPTION: SealedText =
    sealed("as_requests", "id", "description", "description_enc", "description_key_id", true);
/// `as_status_history.comment`: the comment of a transition (approve, reject, cancel).
pub const AS_HISTORY_COMMENT: SealedText =
    sealed("as_status_history", "id", "comment", "comment_enc", "comment_key_id", false);
/// `audit_log.detail`: JSON that may carry comments, login ids and labels.
pub const AUDIT_DETAIL: SealedText = sealed("audit_log", "id", "detail", "detail_enc", "detail_key_id", true);
/// `orders.memo`: the buyer's memo.
pub const ORDER_MEMO: SealedText = sealed("orders", "id", "memo", "memo_enc", "memo_key_id", false);
/// `leads.metadata`: the free JSON a source or a registrant sends with a lead.
pub const LEAD_METADATA: SealedText = sealed("leads", "id", "metadata", "metadata_enc", "metadata_key_id", false);
/// `leads.source_detail`: a source's status report (`sale` and other free JSON).
pub const LEAD_SOURCE_DETAIL: SealedText =
    sealed("leads", "id", "source_detail", "source_detail_enc", "source_detail_key_id", false);
/// `counsel_cases.accp_cont`: what the customer asked (접수내용), typed or imported.
pub const COUNSEL_ACCP_CONT: SealedText =
    sealed("counsel_cases", "cnsl_no", "accp_cont", "accp_cont_enc", "accp_cont_key_id", false);

/// `webhook_endpoints.description`: what the org's admin wrote about the endpoint.
pub const WEBHOOK_DESCRIPTION: SealedText =
    sealed("webhook_endpoints", "id", "description", "description_enc", "description_key_id", false);
/// `webhook_endpoints.secret`: the endpoint's signing secret (`whsec_…`).
pub const WEBHOOK_SECRET: SealedText = sealed("webhook_endpoints", "id", "secret", "secret_enc", "secret_key_id", true);
/// `webhook_endpoints.previous_secret`: the secret a rotation replaced, signing for 24 h.
pub const WEBHOOK_PREVIOUS_SECRET: SealedText =
    sealed("webhook_endpoints", "id", "previous_secret", "previous_secret_enc", "previous_secret_key_id", false);
/// `outbox_events.body`: an event's envelope, the bytes signed and sent.
pub const OUTBOX_BODY: SealedText = sealed("outbox_events", "id", "body", "body_enc", "body_key_id", true);

/// A coverage analysis's report: the person's masked name, contracts and summary (JSON).
pub const ANALYSIS_REPORT: SealedText =
    sealed("coverage_analyses", "id", "report", "report_enc", "report_key_id", true);

/// An NHIS simple-authentication session's provider handle (it can fetch the person's
/// check-ups).
pub const HEALTH_AUTH_REFERENCE: SealedText =
    sealed("health_auth_sessions", "id", "reference", "reference_enc", "reference_key_id", true);

/// A medical analysis's report: the masked person, check-ups, risk flags and
/// recommendations (JSON; health data).
pub const MEDICAL_REPORT: SealedText = sealed("medical_analyses", "id", "report", "report_enc", "report_key_id", true);

/// Every sealed text column, for the start-up sealing step, rotation and key status.
pub const SEALED_TEXT_COLUMNS: [SealedText; 14] = [
    AS_DESCRIPTION,
    AS_HISTORY_COMMENT,
    AUDIT_DETAIL,
    ORDER_MEMO,
    LEAD_METADATA,
    LEAD_SOURCE_DETAIL,
    COUNSEL_ACCP_CONT,
    WEBHOOK_DESCRIPTION,
    WEBHOOK_SECRET,
    WEBHOOK_PREVIOUS_SECRET,
    OUTBOX_BODY,
    ANALYSIS_REPORT,
    HEALTH_AUTH_REFERENCE,
    MEDICAL_REPORT,
];

/// A sealed value as stored: the envelope and its key id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedValue {
    pub envelope: Vec<u8>,
    pub key_id: i32,
}

impl SealedText {
    /// `table.column`, as `ldbds keys status` names it.
    #[must_use]
    pub fn name(&self) -> String {
        format!("{}.{}", self.table, self.column)
    }

    fn context<'a>(&'a self, row_id: &'a str) -> FieldContext<'a> {
        FieldContext { table: self.table, column: self.column, row_id }
    }

    /// What the plaintext column holds once the value is sealed.
    #[must_use]
    pub fn cleared(&self) -> Option<String> {
        self.plain_required.then(String::new)
    }

    /// Seals `plain` for row `row_id` under the active key.
    ///
    /// # Errors
    /// [`CryptoError::Random`] if the system random generator fails.
    pub fn seal(&self, keyring: &Keyring, row_id: &str, plain: &str) -> Result<SealedValue, CryptoError> {
        Ok(SealedValue {
            envelope: keyring.encrypt_str(plain, &self.context(row_id))?,
            key_id: i32::try_from(keyring.active_key_id()).unwrap_or(i32::MAX),
        })
    }

    /// Seals an optional value: `(envelope, key id)`, both `None` when absent.
    ///
    /// # Errors
    /// As [`SealedText::seal`].
    pub fn seal_opt(
        &self,
        keyring: &Keyring,
        row_id: &str,
        plain: Option<&str>,
    ) -> Result<(Option<Vec<u8>>, Option<i32>), CryptoError> {
        Ok(match plain.map(|p| self.seal(keyring, row_id, p)).transpose()? {
            Some(v) => (Some(v.envelope), Some(v.key_id)),
            None => (None, None),
        })
    }

    /// The value of a row: the envelope decrypted, or the plaintext column when the row
    /// holds no envelope (see the module invariants).
    ///
    /// # Errors
    /// As [`Keyring::decrypt_string`]: an envelope moved from another row or column,
    /// tampered with, or under an unknown or retired key.
    pub fn open(
        &self,
        keyring: &Keyring,
        row_id: &str,
        envelope: Option<&[u8]>,
        plain: Option<&str>,
    ) -> Result<Option<String>, CryptoError> {
        match envelope {
            Some(sealed) => keyring.decrypt_string(sealed, &self.context(row_id)).map(Some),
            None => Ok(plain.map(str::to_owned)),
        }
    }

    /// The same value under the active key (rotation).
    ///
    /// # Errors
    /// As [`SealedText::open`].
    pub fn reseal(&self, keyring: &Keyring, row_id: &str, envelope: &[u8]) -> Result<SealedValue, CryptoError> {
        Ok(SealedValue {
            envelope: keyring.reencrypt(envelope, &self.context(row_id))?,
            key_id: i32::try_from(keyring.active_key_id()).unwrap_or(i32::MAX),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::KeyringConfig;

    fn ring() -> Keyring {
        Keyring::new(KeyringConfig { keys: vec![(1, [3u8; 32])], active: 1, retired: vec![], index_key: [4u8; 32] })
            .unwrap()
    }

    #[test]
    fn a_sealed_text_round_trips_and_never_holds_the_plaintext() {
        let ring = ring();
        let v = ORDER_MEMO.seal(&ring, "r1", "김비밀유출 010-9876-5432").unwrap();
        assert_eq!(v.key_id, 1);
        assert!(!v.envelope.windows(5).any(|w| w == "010-9".as_bytes()));
        let back = ORDER_MEMO.open(&ring, "r1", Some(&v.envelope), Some("ignored")).unwrap();
        assert_eq!(back.as_deref(), Some("김비밀유출 010-9876-5432"));
    }

    #[test]
    fn a_sealed_text_moved_to_another_row_or_column_fails() {
        let ring = ring();
        let v = ORDER_MEMO.seal(&ring, "r1", "memo").unwrap();
        assert!(ORDER_MEMO.open(&ring, "r2", Some(&v.envelope), None).is_err());
        assert!(AS_DESCRIPTION.open(&ring, "r1", Some(&v.envelope), None).is_err());
    }

    #[test]
    fn a_row_without_an_envelope_reads_its_plaintext_column() {
        let ring = ring();
        assert_eq!(AUDIT_DETAIL.open(&ring, "r", None, Some("{}")).unwrap().as_deref(), Some("{}"));
        assert_eq!(ORDER_MEMO.open(&ring, "r", None, None).unwrap(), None);
        assert_eq!(AUDIT_DETAIL.cleared().as_deref(), Some(""));
        assert_eq!(ORDER_MEMO.cleared(), None);
    }

    #[test]
    fn every_sealed_column_is_named_consistently() {
        for c in SEALED_TEXT_COLUMNS {
            assert_eq!(c.sealed_column, format!("{}_enc", c.column));
            assert_eq!(c.key_column, format!("{}_key_id", c.column));
        }
    }
}
