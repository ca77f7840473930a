//! Lead intake's vocabulary: a partner's lead source, what a source sends besides the
//! lead, what became of an intake, and the source's own side of its leads (its id for a
//! lead and the status it reports through `changeStatus`).
//!
//! Invariants:
//! - a source belongs to exactly one org and is reached only with that org's credential;
//! - a source's project code selects at most one product ([`Source::product_for`]); an
//!   unmapped or absent code selects the source's default product;
//! - a source's own id for a lead names at most one lead of that source (storage holds a
//!   unique index on it);
//! - a source sees a held lead (`DUPLICATE_OTHER_PROVIDER`) as the status it was told at
//!   intake, never the flag: the flag would tell it another provider sent the phone.
//!
//! The use cases are `crate::service::intake`; storage is behind
//! `crate::ports::IntakeRepository`.

use std::collections::BTreeMap;

use time::OffsetDateTime;
use uuid::Uuid;

/// The longest source id for a lead (`leads.source_lead_id`).
pub const MAX_SOURCE_LEAD_ID: usize = 128;

/// The longest status a source reports (`leads.source_status`).
pub const MAX_SOURCE_STATUS: usize = 32;

/// A lead source as the intake sees it: its org, its default product and its project
/// map (project code to product).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub id: Uuid,
    /// The intake's `source` header value.
    pub code: String,
    pub org_id: Uuid,
    /// The product of a lead whose project code selects none; `None` for a source made
    /// before sources needed one (its intakes are refused).
    pub default_product_id: Option<Uuid>,
    /// The source's mapped project codes (exact, trimmed) and the product each selects.
    pub projects: BTreeMap<String, Uuid>,
}

impl Source {
    /// The product of a lead with this project code: the mapped one (the code trimmed,
    /// compared exactly), else the default one.
    #[must_use]
    pub fn product_for(&self, project: Option<&str>) -> Option<Uuid> {
        let code = project.map(str::trim).filter(|p| !p.is_empty());
        code.and_then(|c| self.projects.get(c).copied()).or(self.default_product_id)
    }
}

/// What a source sends besides the lead itself: national id numbers (encrypted, never
/// indexed, never shown) and its own id for the lead (`leadSourceId`, unique per source).
#[derive(Debug, Clone, Default)]
pub struct IntakeIds {
    pub id_number: Option<String>,
    pub passport: Option<String>,
    pub family_book: Option<String>,
    pub source_lead_id: Option<String>,
}

/// What became of an intake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntakeOutcome {
    /// A lead of the same phone and product from the same provider org arrived inside the
    /// duplicate window; nothing was written.
    Duplicate { earlier: Uuid },
    /// Only another provider org sent this phone and product inside the window: the lead
    /// is stored flagged `DUPLICATE_OTHER_PROVIDER` for the operator and delivered to no
    /// order. `as_if_delivered`: whether an order line would have taken it had it been
    /// fresh (the single intake computes it under the pool's lock, so the caller's answer
    /// is the fresh lead's; a batch, which is the operator's, leaves it false).
    Held { lead: Uuid, as_if_delivered: bool },
    /// In the pool, waiting for an order.
    Pooled { lead: Uuid },
    /// Delivered at once to an order line.
    Delivered { lead: Uuid, order: Uuid },
}

/// What the intake's write came to: an outcome, or the source's own id for the lead
/// already taken by another lead of the source (a create racing with the same id; the
/// write stored nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntakeWrite {
    Done(IntakeOutcome),
    SourceLeadIdTaken,
}

/// What storing a source's id for a lead came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceLeadIdSet {
    Stored,
    /// Another lead of the source holds this id (a concurrent create won the race).
    Taken,
}

/// A status report of a source (`changeStatus`), already validated.
#[derive(Clone, PartialEq)]
pub struct SourceStatusReport {
    /// 1 to [`MAX_SOURCE_STATUS`] characters, trimmed.
    pub status: String,
    /// PII-grade free text: sealed by storage.
    pub note: Option<String>,
    /// The report's non-personal fields, as a JSON object.
    pub detail: serde_json::Value,
}

// The note is PII-grade free text and the detail may carry a sale a person typed: not printed.
crate::redacting_debug!(SourceStatusReport { show: [status], redact: [note, detail] });

/// A lead as its source sees it after a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLead {
    pub id: Uuid,
    pub source_lead_id: Option<String>,
    /// The lead's lifecycle status as its source is shown it (`POOL`, `ASSIGNED`, ...;
    /// a held lead shows what its source was told at intake).
    pub status: String,
    pub source_status: Option<String>,
    pub source_status_at: Option<OffsetDateTime>,
}

/// Everything stored of a lead's source side, the note decrypted: for operators and
/// tests. It is not a reveal path: nothing here may reach a client unlogged.
#[derive(Clone, PartialEq)]
pub struct SourceSide {
    pub lead: SourceLead,
    pub source_id: Option<Uuid>,
    pub product_id: Uuid,
    pub detail: Option<serde_json::Value>,
    pub note: Option<String>,
}

// The note is PII-grade free text and the detail may carry a sale a person typed: not printed.
crate::redacting_debug!(SourceSide { show: [lead, source_id, product_id], redact: [note, detail] });

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapped_project_selects_its_product_and_anything_else_the_default() {
        let (default, mapped) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let source = Source {
            id: Uuid::from_u128(9),
            code: "TCB".to_owned(),
            org_id: Uuid::from_u128(8),
            default_product_id: Some(default),
            projects: BTreeMap::from([("TCB-INS".to_owned(), mapped)]),
        };
        assert_eq!(source.product_for(Some(" TCB-INS ")), Some(mapped), "trimmed");
        assert_eq!(source.product_for(Some("tcb-ins")), Some(default), "exact");
        assert_eq!(source.product_for(Some("   ")), Some(default));
        assert_eq!(source.product_for(None), Some(default));
        let bare = Source { default_product_id: None, ..source };
        assert_eq!(bare.product_for(Some("NOPE")), None);
    }

    #[test]
    fn a_report_never_prints_its_note_or_detail() {
        let report = SourceStatusReport {
            status: "LOST".to_owned(),
            note: Some("Khách hẹn".to_owned()),
            detail: serde_json::json!({"sale": "Nguyen"}),
        };
        let printed = format!("{report:?}");
        assert!(printed.contains("LOST") && !printed.contains("Khách") && !printed.contains("Nguyen"), "{printed}");
    }
}
