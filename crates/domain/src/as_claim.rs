//! AS claims (AS 신청): the state machine, the rules a claim must pass, the order's AS
//! cap and auto-approval. Pure: the storage layer gathers the facts under its locks and
//! writes what these functions decide.
//!
//! Invariants:
//! - `REQUESTED` → `IN_REVIEW` → `APPROVED`/`REJECTED`; `REQUESTED` → `CANCELLED`;
//!   `REQUESTED` → `APPROVED`/`REJECTED` (a decision without a separate review step).
//!   A decided AS (`APPROVED`, `REJECTED`, `CANCELLED`) never changes again
//!   ([`AsStatus::apply`]).
//! - A claim is checked in one fixed order and the first rule that fails is the answer
//!   ([`check_claim`]): purchased, reason allowed, evidence, window, one open AS per
//!   lead, the order's cap.
//! - The order's cap is `max(1, ⌊percent × delivered / 100⌋)`; a claim is accepted only
//!   while approved + open AS of the order stay at or under it ([`as_cap`]).
//! - Auto-approval needs the product's consent and a plain case ([`is_plain_case`]); it
//!   never skips a rule.
//!
//! The vocabulary the use cases (`crate::service::as_claims`) and storage share lives in
//! `model` and is re-exported here.

use time::{Duration, OffsetDateTime};

use crate::error::ValidationError;
use crate::lead::AsStatus;
use crate::reference::{AsPolicy, AsReasonCode, AsWindowStart, code_enum};

mod model;
pub use model::*;

code_enum!(
    /// What a person does to an AS request.
    AsAction { Review => "REVIEW", Cancel => "CANCEL", Approve => "APPROVE", Reject => "REJECT" }
);

/// How long after the lead's first use a plain case is auto-approved.
pub const AUTO_APPROVE_WITHIN: Duration = Duration::hours(24);

impl AsStatus {
    /// `REQUESTED` or `IN_REVIEW`: counts against the lead (one open AS) and the order's cap.
    #[must_use]
    pub fn is_open(self) -> bool {
        matches!(self, Self::Requested | Self::InReview)
    }

    /// `APPROVED`, `REJECTED` or `CANCELLED`: the AS never changes again.
    #[must_use]
    pub fn is_final(self) -> bool {
        !self.is_open()
    }

    /// The status after `action`.
    ///
    /// # Errors
    /// [`AsRefusal::InvalidState`] when the action is not allowed from this status.
    pub fn apply(self, action: AsAction) -> Result<Self, AsRefusal> {
        match (self, action) {
            (Self::Requested, AsAction::Review) => Ok(Self::InReview),
            (Self::Requested, AsAction::Cancel) => Ok(Self::Cancelled),
            (Self::Requested | Self::InReview, AsAction::Approve) => Ok(Self::Approved),
            (Self::Requested | Self::InReview, AsAction::Reject) => Ok(Self::Rejected),
            (status, action) => Err(AsRefusal::InvalidState { status, action }),
        }
    }

    /// The statuses from which `action` may start (for conditional updates).
    #[must_use]
    pub fn allowed_before(action: AsAction) -> &'static [AsStatus] {
        match action {
            AsAction::Review | AsAction::Cancel => &[Self::Requested],
            AsAction::Approve | AsAction::Reject => &[Self::Requested, Self::InReview],
        }
    }
}

/// Why a claim or a transition is refused; each maps to one stable error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AsRefusal {
    /// `AS_NOT_ALLOWED`: the lead was not bought through an order.
    #[error("an AS can only be claimed on a purchased lead ({0})")]
    NotPurchased(&'static str),
    /// `AS_REASON_NOT_ALLOWED`: the product's policy does not accept this reason.
    #[error("the product's AS policy does not accept the reason {0}")]
    ReasonNotAllowed(AsReasonCode),
    /// `AS_EVIDENCE_REQUIRED`.
    #[error("the reason {0} requires at least one evidence file")]
    EvidenceRequired(AsReasonCode),
    /// `AS_WINDOW_CLOSED`.
    #[error("{0}")]
    WindowClosed(WindowState),
    /// `AS_ALREADY_OPEN`.
    #[error("this lead already has an open AS request")]
    AlreadyOpen,
    /// `AS_RATE_EXCEEDED`.
    #[error("the order's AS cap is reached: {counted} approved or open of {cap} allowed")]
    RateExceeded { cap: u64, counted: u64 },
    /// `AS_INVALID_STATE`.
    #[error("an AS that is {status} cannot take the action {action}")]
    InvalidState { status: AsStatus, action: AsAction },
}

/// Where `now` stands against the claim window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowState {
    /// The window counts from use and the lead has not been used.
    NotStarted,
    /// `now` is inside `[start, end]`.
    Open { start: OffsetDateTime, end: OffsetDateTime },
    /// The window ended at `end`.
    Closed { end: OffsetDateTime },
}

impl std::fmt::Display for WindowState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rfc = |t: &OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        match self {
            Self::NotStarted => f.write_str("the AS window counts from use: use the lead before claiming it"),
            Self::Open { end, .. } => write!(f, "the AS window is open until {}", rfc(end)),
            Self::Closed { end } => write!(f, "the AS window closed at {}", rfc(end)),
        }
    }
}

/// The claim window of a lead under `policy`: from the purchase (`ASSIGNED`) or from the
/// lead's first use (`USED`), `windowHours` long, both ends included.
#[must_use]
pub fn window(
    policy: &AsPolicy,
    purchased_at: OffsetDateTime,
    first_used_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> WindowState {
    let start = match policy.window_starts_from() {
        AsWindowStart::Assigned => purchased_at,
        AsWindowStart::Used => match first_used_at {
            Some(used) => used,
            None => return WindowState::NotStarted,
        },
    };
    let end = start + Duration::hours(i64::from(policy.window_hours()));
    if now > end { WindowState::Closed { end } } else { WindowState::Open { start, end } }
}

/// The most AS (approved + open) an order of `delivered` leads may carry:
/// `⌊percent × delivered / 100⌋`, but at least 1.
#[must_use]
pub fn as_cap(percent: u8, delivered: u64) -> u64 {
    (u128::from(delivered) * u128::from(percent) / 100).try_into().unwrap_or(u64::MAX).max(1)
}

/// What storage knows about a claim when it decides, read under its locks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimFacts {
    /// When the lead was delivered through an order (`ORDER`/`REPLACEMENT` assignment);
    /// `None` for a lead that was never bought (self-registered).
    pub purchased_at: Option<OffsetDateTime>,
    /// The first use of the lead by anyone since its purchase.
    pub first_used_at: Option<OffsetDateTime>,
    /// The lead already has a `REQUESTED` or `IN_REVIEW` AS.
    pub open_as: bool,
    /// The order's delivered count (units returned for a replacement not yet delivered
    /// included), and its AS counters.
    pub order_delivered: u64,
    pub order_open_as: u64,
    pub order_approved_as: u64,
    pub reason: AsReasonCode,
    pub evidence_files: usize,
    pub now: OffsetDateTime,
}

/// A claim that passed every rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimVerdict {
    /// The product allows auto-approval and this is a plain case: the AS is approved at
    /// creation.
    pub auto_approved: bool,
    pub window_end: OffsetDateTime,
}

/// Checks a claim against the product's policy, in the fixed order of the module doc.
///
/// # Errors
/// The first rule the claim breaks.
pub fn check_claim(policy: &AsPolicy, facts: &ClaimFacts) -> Result<ClaimVerdict, AsRefusal> {
    let Some(purchased_at) = facts.purchased_at else {
        return Err(AsRefusal::NotPurchased("this lead was registered, not bought through an order"));
    };
    if !policy.allowed_reasons().contains(&facts.reason) {
        return Err(AsRefusal::ReasonNotAllowed(facts.reason));
    }
    if facts.evidence_files == 0 && policy.evidence_required().contains(&facts.reason) {
        return Err(AsRefusal::EvidenceRequired(facts.reason));
    }
    let window_end = match window(policy, purchased_at, facts.first_used_at, facts.now) {
        WindowState::Open { end, .. } => end,
        closed => return Err(AsRefusal::WindowClosed(closed)),
    };
    if facts.open_as {
        return Err(AsRefusal::AlreadyOpen);
    }
    let cap = as_cap(policy.max_rate_percent(), facts.order_delivered);
    let counted = facts.order_open_as + facts.order_approved_as;
    if counted >= cap {
        return Err(AsRefusal::RateExceeded { cap, counted });
    }
    Ok(ClaimVerdict { auto_approved: policy.auto_approve() && is_plain_case(facts), window_end })
}

/// A case plain enough to approve without a person: a wrong number, shown by at least
/// one evidence file, claimed within [`AUTO_APPROVE_WITHIN`] of the lead's first use.
#[must_use]
pub fn is_plain_case(facts: &ClaimFacts) -> bool {
    facts.reason == AsReasonCode::WrongNumber
        && facts.evidence_files > 0
        && facts.first_used_at.is_some_and(|used| facts.now >= used && facts.now - used <= AUTO_APPROVE_WITHIN)
}

#[cfg(test)]
mod tests;
