//! Events (issue #16, `events.md`): the changes a partner or the operator may act on, as
//! the envelope a webhook body and a NATS message carry.
//!
//! Invariants:
//! - an event id is `evt_` + a time-ordered UUIDv7 in simple form, fixed when the event is
//!   made: every delivery attempt's `webhook-id` and the NATS `Nats-Msg-Id` are this id,
//!   so receivers and the stream deduplicate by it;
//! - an event's `data` is one of the payload types of this module ([`Payload`]), never an
//!   arbitrary value: the type fixes the event type and its fields;
//! - no payload carries plain personal data: a lead's contacts enter
//!   [`LeadAssigned::new`] as the domain's parsed values and leave masked by
//!   `crate::pii::mask` (the same masks as every masked API answer); the other payloads
//!   carry ids, codes, statuses and times only;
//! - `createdAt` and every time in a payload are RFC 3339 UTC with milliseconds
//!   (`2026-12-02T11:25:30.525Z`);
//! - the envelope is serialized once ([`Event::body`]); those bytes are what is stored,
//!   signed and sent.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use time::OffsetDateTime;
use time::macros::format_description;
use uuid::Uuid;

use crate::lead::{Lead, LeadPii};
use crate::money::Money;
use crate::pii::mask::{mask_email, mask_name, mask_phone};

/// The types of `events.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    LeadAssigned,
    LeadDistributed,
    LeadRecalled,
    OrderCompleted,
    OrderCancelled,
    AsCreated,
    AsDecided,
    CounselCaseAssigned,
    IntakeStatusChanged,
    EndpointDisabled,
    Ping,
}

impl EventType {
    /// Every type, in the order of `events.md`.
    pub const ALL: [Self; 11] = [
        Self::LeadAssigned,
        Self::LeadDistributed,
        Self::LeadRecalled,
        Self::OrderCompleted,
        Self::OrderCancelled,
        Self::AsCreated,
        Self::AsDecided,
        Self::CounselCaseAssigned,
        Self::IntakeStatusChanged,
        Self::EndpointDisabled,
        Self::Ping,
    ];

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LeadAssigned => "lead.assigned",
            Self::LeadDistributed => "lead.distributed",
            Self::LeadRecalled => "lead.recalled",
            Self::OrderCompleted => "order.completed",
            Self::OrderCancelled => "order.cancelled",
            Self::AsCreated => "as.created",
            Self::AsDecided => "as.decided",
            Self::CounselCaseAssigned => "counsel.case.assigned",
            Self::IntakeStatusChanged => "intake.status_changed",
            Self::EndpointDisabled => "endpoint.disabled",
            Self::Ping => "ping",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A type name that `events.md` does not list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type {0:?}")]
pub struct UnknownEventType(pub String);

impl FromStr for EventType {
    type Err = UnknownEventType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| UnknownEventType(s.to_owned()))
    }
}

/// The time form of every event: RFC 3339 UTC with milliseconds.
#[must_use]
pub fn event_time(at: OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    utc.format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"))
        .unwrap_or_default()
}

/// A payload: its fields are the event's `data`, its type the event's type.
pub trait Payload: Serialize {
    const TYPE: EventType;
}

/// `lead.assigned`, to the owner's org: the lead's contacts masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeadAssigned {
    pub lead_id: Uuid,
    pub product_id: Uuid,
    pub product_name: String,
    pub region: String,
    pub order_id: Uuid,
    pub owner_mohom_id: String,
    pub assigned_at: String,
    name: String,
    phone: String,
    email: Option<String>,
}

/// What `lead.assigned` needs of a lead: writers that hold the parsed lead but not a
/// stored [`Lead`] (an intake, an import) build this.
#[derive(Debug, Clone, Copy)]
pub struct LeadRef<'a> {
    pub id: Uuid,
    pub product_id: Uuid,
    pub product_name: &'a str,
    pub region: &'a str,
    pub pii: &'a LeadPii,
}

impl<'a> From<&'a Lead> for LeadRef<'a> {
    fn from(lead: &'a Lead) -> Self {
        Self {
            id: lead.id,
            product_id: lead.product_id,
            product_name: &lead.product_name,
            region: &lead.region,
            pii: &lead.pii,
        }
    }
}

impl LeadAssigned {
    /// The payload of `lead` delivered through `order_id` to `owner_mohom_id`; its
    /// contacts are masked here, the only way they enter an event.
    #[must_use]
    pub fn new(lead: &Lead, order_id: Uuid, owner_mohom_id: &str, assigned_at: OffsetDateTime) -> Self {
        Self::of(LeadRef::from(lead), order_id, owner_mohom_id, assigned_at)
    }

    /// [`LeadAssigned::new`] from a lead's parts.
    #[must_use]
    pub fn of(lead: LeadRef<'_>, order_id: Uuid, owner_mohom_id: &str, assigned_at: OffsetDateTime) -> Self {
        Self {
            lead_id: lead.id,
            product_id: lead.product_id,
            product_name: lead.product_name.to_owned(),
            region: lead.region.to_owned(),
            order_id,
            owner_mohom_id: owner_mohom_id.to_owned(),
            assigned_at: event_time(assigned_at),
            name: mask_name(lead.pii.name.as_str()),
            phone: mask_phone(&lead.pii.phone.national()),
            email: lead.pii.email.as_ref().map(|e| mask_email(e.as_str())),
        }
    }
}

impl Payload for LeadAssigned {
    const TYPE: EventType = EventType::LeadAssigned;
}

/// `lead.distributed`, to the owner's org: the leads a leader handed to a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeadsDistributed {
    pub lead_ids: Vec<Uuid>,
    pub from_mohom_id: String,
    pub to_mohom_id: String,
    pub distributed_at: String,
}

impl Payload for LeadsDistributed {
    const TYPE: EventType = EventType::LeadDistributed;
}

/// `lead.recalled`, to the owner's org: the leads a leader took back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeadsRecalled {
    pub lead_ids: Vec<Uuid>,
    pub from_mohom_id: String,
    pub to_mohom_id: String,
    pub recalled_at: String,
}

impl Payload for LeadsRecalled {
    const TYPE: EventType = EventType::LeadRecalled;
}

/// `order.completed`, to the buyer's org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCompleted {
    pub order_id: Uuid,
    pub mohom_id: String,
    pub product_id: Uuid,
    pub delivered: u64,
    pub completed_at: String,
}

impl Payload for OrderCompleted {
    const TYPE: EventType = EventType::OrderCompleted;
}

/// `order.cancelled`, to the buyer's org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCancelled {
    pub order_id: Uuid,
    pub mohom_id: String,
    pub refunded_amount: Money,
    pub cancelled_at: String,
}

impl Payload for OrderCancelled {
    const TYPE: EventType = EventType::OrderCancelled;
}

/// `as.created`, to the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AsCreated {
    pub as_id: Uuid,
    pub lead_id: Uuid,
    pub org_code: String,
    pub reason_code: String,
    pub created_at: String,
}

impl Payload for AsCreated {
    const TYPE: EventType = EventType::AsCreated;
}

/// `as.decided`, to the claimant's org: `status` `APPROVED` or `REJECTED`,
/// `compensation` `REFUND`, `REPLACEMENT` or null.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AsDecided {
    pub as_id: Uuid,
    pub lead_id: Uuid,
    pub status: String,
    pub compensation: Option<String>,
    pub decided_at: String,
}

impl Payload for AsDecided {
    const TYPE: EventType = EventType::AsDecided;
}

/// `counsel.case.assigned`, to the operator (seed 001's field names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CounselCaseAssigned {
    pub cnsl_no: String,
    pub aemp_id: String,
    pub auto_div_gb_cd: String,
    pub auto_div_dtl_no: String,
    pub assigned_at: String,
}

impl Payload for CounselCaseAssigned {
    const TYPE: EventType = EventType::CounselCaseAssigned;
}

/// `intake.status_changed`, to the source's org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntakeStatusChanged {
    pub lead_source_id: String,
    pub lead_id: Uuid,
    pub status: String,
    pub changed_at: String,
}

impl Payload for IntakeStatusChanged {
    const TYPE: EventType = EventType::IntakeStatusChanged;
}

/// `endpoint.disabled`, to the endpoint's org (on its other endpoints).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointDisabled {
    pub endpoint_id: Uuid,
    pub url: String,
    pub reason: String,
    pub disabled_at: String,
}

impl Payload for EndpointDisabled {
    const TYPE: EventType = EventType::EndpointDisabled;
}

/// `ping`, the test call's event: no data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ping {}

impl Payload for Ping {
    const TYPE: EventType = EventType::Ping;
}

/// One event, to one org (see the module invariants).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    pub event_type: EventType,
    pub org_id: Uuid,
    pub org_code: String,
    pub created_at: OffsetDateTime,
    data: serde_json::Value,
}

/// The envelope as serialized: `events.md`'s field names and order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    event_type: &'static str,
    created_at: String,
    org_code: &'a str,
    data: &'a serde_json::Value,
}

impl Event {
    /// A new event of `payload` to the org `org_id` (`org_code`), made at `at`.
    #[must_use]
    pub fn new<P: Payload>(org_id: Uuid, org_code: &str, payload: &P, at: OffsetDateTime) -> Self {
        Self {
            id: format!("evt_{}", Uuid::now_v7().simple()),
            event_type: P::TYPE,
            org_id,
            org_code: org_code.to_owned(),
            created_at: at,
            // A payload is plain fields and strings: its serialization cannot fail.
            data: serde_json::to_value(payload).unwrap_or(serde_json::Value::Null),
        }
    }

    /// The event's `data`.
    #[must_use]
    pub const fn data(&self) -> &serde_json::Value {
        &self.data
    }

    /// The envelope's bytes: stored, signed and sent as they are.
    #[must_use]
    pub fn body(&self) -> Vec<u8> {
        let envelope = Envelope {
            id: &self.id,
            event_type: self.event_type.as_str(),
            created_at: event_time(self.created_at),
            org_code: &self.org_code,
            data: &self.data,
        };
        serde_json::to_vec(&envelope).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
