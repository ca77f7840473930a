//! Terms (약관) and consents of the consumer funnel, `funnel.md`: versioned texts a
//! person consents to before an analysis or a claim.
//!
//! Invariants:
//! - the terms in force for a purpose at an instant are, per terms id, the version with
//!   the latest `effective_at` not after that instant ([`TermsBook::current`]); a terms
//!   id applies to a purpose only if it lists it, and is required there only if it says
//!   so;
//! - a set of consents is accepted only if it names known terms of the purpose, each at
//!   its version in force, and covers every required one ([`TermsBook::accept`]): a
//!   stale version is refused with the current one, before missing ones are named, so
//!   a client that refreshes once can succeed;
//! - an accepted consent records the exact id and version the person saw.

use time::OffsetDateTime;

use crate::error::{FieldError, ValidationError};

/// What a person consents for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TermsPurpose {
    Coverage,
    Medical,
    Claim,
}

impl TermsPurpose {
    pub const ALL: [Self; 3] = [Self::Coverage, Self::Medical, Self::Claim];

    /// `COVERAGE`, `MEDICAL` or `CLAIM`.
    ///
    /// # Errors
    /// Names `purpose`.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == raw.trim())
            .ok_or_else(|| ValidationError::single("purpose", "must be one of COVERAGE, MEDICAL, CLAIM"))
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Coverage => "COVERAGE",
            Self::Medical => "MEDICAL",
            Self::Claim => "CLAIM",
        }
    }
}

/// The terms id whose consent makes an analysis a lead (제3자 제공: 보험설계사 상담).
pub const THIRD_PARTY_PROVISION: &str = "THIRD_PARTY_PROVISION";

/// One version of one terms text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    pub id: String,
    pub version: String,
    pub title: String,
    /// The purposes it is shown for.
    pub purposes: Vec<TermsPurpose>,
    /// The purposes it must be consented for.
    pub required_for: Vec<TermsPurpose>,
    pub effective_at: OffsetDateTime,
    pub content: String,
}

/// A terms version in force for a purpose, as `GET .../terms` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentTerms<'a> {
    pub terms: &'a Terms,
    pub required: bool,
}

/// A consent as the client sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentInput<'a> {
    pub terms_id: &'a str,
    pub version: &'a str,
}

/// A consent accepted: what the person consented to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub terms_id: String,
    pub version: String,
}

/// Why a set of consents was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentRefusal {
    /// A consent names terms that do not apply to the purpose, or says nothing.
    #[error(transparent)]
    Invalid(ValidationError),
    /// A consent was given to another version than the one in force.
    #[error("the terms {terms_id} changed: the current version is {current_version}")]
    VersionChanged { terms_id: String, current_version: String },
    /// Required terms were not consented.
    #[error("consent to the required terms is missing: {}", missing.join(", "))]
    Required { missing: Vec<String> },
}

/// Every version of every terms text (the fixtures).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TermsBook {
    versions: Vec<Terms>,
}

impl TermsBook {
    #[must_use]
    pub fn new(versions: Vec<Terms>) -> Self {
        Self { versions }
    }

    /// The terms in force for `purpose` at `now`, in the order the book first lists each id.
    #[must_use]
    pub fn current(&self, purpose: TermsPurpose, now: OffsetDateTime) -> Vec<CurrentTerms<'_>> {
        let mut shown: Vec<CurrentTerms<'_>> = Vec::new();
        for terms in self.versions.iter().filter(|t| t.purposes.contains(&purpose) && t.effective_at <= now) {
            let entry = CurrentTerms { terms, required: terms.required_for.contains(&purpose) };
            match shown.iter_mut().find(|s| s.terms.id == terms.id) {
                Some(existing) if existing.terms.effective_at < terms.effective_at => *existing = entry,
                Some(_) => {}
                None => shown.push(entry),
            }
        }
        shown
    }

    /// Accepts `given` for `purpose` at `now` (see the module invariants); a consent
    /// given twice counts once.
    ///
    /// # Errors
    /// [`ConsentRefusal`], in the order: unknown terms, stale version, missing required.
    pub fn accept(
        &self,
        purpose: TermsPurpose,
        given: &[ConsentInput<'_>],
        now: OffsetDateTime,
    ) -> Result<Vec<Consent>, ConsentRefusal> {
        let current = self.current(purpose, now);
        let unknown: Vec<FieldError> = given
            .iter()
            .enumerate()
            .filter(|(_, c)| !current.iter().any(|t| t.terms.id == c.terms_id))
            .map(|(i, _)| FieldError::new(format!("consents[{i}].termsId"), "is not a terms id of this purpose"))
            .collect();
        if !unknown.is_empty() {
            return Err(ConsentRefusal::Invalid(ValidationError(unknown)));
        }
        let mut accepted: Vec<Consent> = Vec::new();
        for consent in given {
            let Some(now_in_force) = current.iter().find(|t| t.terms.id == consent.terms_id) else { continue };
            if now_in_force.terms.version != consent.version {
                return Err(ConsentRefusal::VersionChanged {
                    terms_id: consent.terms_id.to_owned(),
                    current_version: now_in_force.terms.version.clone(),
                });
            }
            if !accepted.iter().any(|a| a.terms_id == consent.terms_id) {
                accepted.push(Consent { terms_id: consent.terms_id.to_owned(), version: consent.version.to_owned() });
            }
        }
        let missing: Vec<String> = current
            .iter()
            .filter(|t| t.required && !accepted.iter().any(|a| a.terms_id == t.terms.id))
            .map(|t| t.terms.id.clone())
            .collect();
        if !missing.is_empty() {
            return Err(ConsentRefusal::Required { missing });
        }
        Ok(accepted)
    }
}

/// Whether `consents` include the one that makes an analysis a lead.
#[must_use]
pub fn shares_with_agents(consents: &[Consent]) -> bool {
    consents.iter().any(|c| c.terms_id == THIRD_PARTY_PROVISION)
}

#[cfg(test)]
mod tests;
