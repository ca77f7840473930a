//! Webhook endpoints and their deliveries (issue #16, `events.md` "Endpoints" and
//! "Delivery"): what an org subscribes to, the states of an endpoint and of a delivery,
//! and the dispatcher's rules (what a response means, when the next attempt is due,
//! when an endpoint is disabled).
//!
//! Invariants:
//! - a subscription is `*` or a non-empty set of known event types; `ping` is never
//!   subscribed to (the test call targets its one endpoint) and an unknown name is
//!   refused with that name;
//! - a response is judged once, by [`judge`]: 2xx succeeds; 5xx, 408, 409, 429,
//!   timeouts and connection errors are retried; 410 gives up and disables the
//!   endpoint; any other status is a permanent failure of that delivery;
//! - the next attempt follows [`RETRY_SCHEDULE`] then every 12 h, each delay scaled by a
//!   jitter in ±20 %, and there is none once [`GIVE_UP_AFTER`] has passed since the
//!   event: the delivery is then `GAVE_UP`;
//! - an endpoint that has failed with no success for [`DISABLE_AFTER`] is disabled;
//! - an endpoint as the API and the CLI see it ([`Endpoint`]) never holds a secret: the
//!   secret exists in memory only as a [`Secret`] returned once by a creation or a
//!   rotation ([`IssuedSecret`]); its description (free text) never prints in `Debug`.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use time::{Duration, OffsetDateTime};

use uuid::Uuid;

use crate::events::EventType;
use crate::secret::Secret;

/// The delays after the 1st, 2nd, … failure; after the last, every [`LATER_RETRY`].
pub const RETRY_SCHEDULE: [Duration; 8] = [
    Duration::seconds(5),
    Duration::seconds(30),
    Duration::minutes(2),
    Duration::minutes(10),
    Duration::minutes(30),
    Duration::hours(1),
    Duration::hours(3),
    Duration::hours(6),
];
/// The delay between attempts once the schedule is spent.
pub const LATER_RETRY: Duration = Duration::hours(12);
/// No attempt is made later than this after the event.
pub const GIVE_UP_AFTER: Duration = Duration::days(3);
/// An endpoint failing this long with no success is disabled.
pub const DISABLE_AFTER: Duration = Duration::days(5);
/// The largest jitter, as a fraction of a delay.
pub const MAX_JITTER: f64 = 0.2;
/// A response is awaited this long.
pub const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// At most this much of a response body is read (and then dropped).
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// How long the old secret keeps signing after a rotation.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);

/// What an endpoint receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscription {
    /// `["*"]`: every event type of its org.
    All,
    /// The listed types.
    Only(BTreeSet<EventType>),
}

/// Why a subscription was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscriptionError {
    #[error("events must list at least one event type, or \"*\"")]
    Empty,
    #[error("unknown event type {0:?}")]
    Unknown(String),
    #[error("\"*\" cannot be combined with other event types")]
    StarWithOthers,
    #[error("{0} cannot be subscribed to: it is sent by the test call only")]
    NotSubscribable(&'static str),
}

impl Subscription {
    /// Parses the `events` field of a request.
    ///
    /// # Errors
    /// See [`SubscriptionError`].
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, SubscriptionError> {
        if names.is_empty() {
            return Err(SubscriptionError::Empty);
        }
        if names.iter().any(|n| n.as_ref() == "*") {
            return if names.len() == 1 { Ok(Self::All) } else { Err(SubscriptionError::StarWithOthers) };
        }
        let mut types = BTreeSet::new();
        for name in names {
            let t = EventType::from_str(name.as_ref()).map_err(|e| SubscriptionError::Unknown(e.0))?;
            if t == EventType::Ping {
                return Err(SubscriptionError::NotSubscribable(t.as_str()));
            }
            types.insert(t);
        }
        Ok(Self::Only(types))
    }

    /// Whether an event of type `t` fanned out to the org reaches this endpoint.
    #[must_use]
    pub fn includes(&self, t: EventType) -> bool {
        match self {
            Self::All => t != EventType::Ping,
            Self::Only(types) => types.contains(&t),
        }
    }

    /// The names, as the API shows them (`["*"]` or the types in `events.md` order).
    #[must_use]
    pub fn names(&self) -> Vec<&'static str> {
        match self {
            Self::All => vec!["*"],
            Self::Only(types) => types.iter().map(|t| t.as_str()).collect(),
        }
    }

    /// The stored form: `*` or the names comma-separated.
    #[must_use]
    pub fn stored(&self) -> String {
        self.names().join(",")
    }

    /// Reads the stored form back.
    ///
    /// # Errors
    /// A stored value this version does not know.
    pub fn from_stored(stored: &str) -> Result<Self, SubscriptionError> {
        let names: Vec<&str> = stored.split(',').filter(|s| !s.is_empty()).collect();
        Self::parse(&names)
    }
}

/// An endpoint's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointStatus {
    Enabled,
    Disabled,
}

impl EndpointStatus {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "ENABLED",
            Self::Disabled => "DISABLED",
        }
    }
}

impl FromStr for EndpointStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ENABLED" => Ok(Self::Enabled),
            "DISABLED" => Ok(Self::Disabled),
            other => Err(format!("unknown endpoint status {other:?}")),
        }
    }
}

impl fmt::Display for EndpointStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A delivery's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Not sent yet, or waiting for its next attempt.
    Pending,
    Succeeded,
    /// A permanent failure (a 4xx other than 408, 409, 410, 429).
    Failed,
    /// Retried until [`GIVE_UP_AFTER`], or ended by a 410 or a disabled endpoint.
    GaveUp,
}

impl DeliveryStatus {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::GaveUp => "GAVE_UP",
        }
    }
}

impl FromStr for DeliveryStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "PENDING" => Ok(Self::Pending),
            "SUCCEEDED" => Ok(Self::Succeeded),
            "FAILED" => Ok(Self::Failed),
            "GAVE_UP" => Ok(Self::GaveUp),
            other => Err(format!("unknown delivery status {other:?}")),
        }
    }
}

/// What came back from one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    /// An HTTP status (the body, if any, was read up to the cap and dropped).
    Status(u16),
    /// No answer within [`SEND_TIMEOUT`].
    Timeout,
    /// No connection (refused, reset, TLS, DNS), or a destination refused at send time.
    Unreachable,
}

/// What an attempt's response means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Succeeded,
    /// Try again on the schedule.
    Retry,
    /// This delivery failed for good; the endpoint stays enabled.
    Failed,
    /// 410 Gone: this delivery gives up and the endpoint is disabled.
    Gone,
}

/// Judges one attempt's response (see the module invariants).
#[must_use]
pub const fn judge(response: Response) -> Verdict {
    match response {
        Response::Status(s) if s >= 200 && s < 300 => Verdict::Succeeded,
        Response::Status(410) => Verdict::Gone,
        Response::Status(408 | 409 | 429) | Response::Timeout | Response::Unreachable => Verdict::Retry,
        Response::Status(s) if s >= 500 => Verdict::Retry,
        Response::Status(_) => Verdict::Failed,
    }
}

/// When the attempt after `failures` failures (≥ 1) of an event made at `event_at` is
/// due, failing now at `now`; `jitter` is clamped to ±[`MAX_JITTER`]. `None`: give up.
#[must_use]
pub fn next_attempt(
    event_at: OffsetDateTime,
    now: OffsetDateTime,
    failures: u32,
    jitter: f64,
) -> Option<OffsetDateTime> {
    let index = usize::try_from(failures.max(1) - 1).unwrap_or(usize::MAX);
    let base = RETRY_SCHEDULE.get(index).copied().unwrap_or(LATER_RETRY);
    let jitter = if jitter.is_finite() { jitter.clamp(-MAX_JITTER, MAX_JITTER) } else { 0.0 };
    let due = now + base * (1.0 + jitter);
    (due <= event_at + GIVE_UP_AFTER).then_some(due)
}

/// Whether an endpoint failing since `failing_since` with no success is disabled at `now`.
#[must_use]
pub fn failing_too_long(failing_since: Option<OffsetDateTime>, now: OffsetDateTime) -> bool {
    failing_since.is_some_and(|since| now - since >= DISABLE_AFTER)
}

/// The most characters an endpoint's description may hold.
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// The `disabledReason` of an endpoint its org disabled (`PATCH … status: DISABLED`).
pub const DISABLED_BY_ORG: &str = "disabled by the organization";

/// An org's webhook endpoint, without its secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub id: Uuid,
    pub org_id: Uuid,
    /// The checked URL, as the dispatcher sends to it.
    pub url: String,
    pub subscription: Subscription,
    pub description: Option<String>,
    pub status: EndpointStatus,
    /// Why it is disabled (`None` while enabled).
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<OffsetDateTime>,
    pub last_success_at: Option<OffsetDateTime>,
    pub last_failure_at: Option<OffsetDateTime>,
    /// The first failure since the last success; `None` while healthy.
    pub failing_since: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

crate::redacting_debug!(Endpoint {
    show: [
        id,
        org_id,
        url,
        subscription,
        status,
        disabled_reason,
        disabled_at,
        last_success_at,
        last_failure_at,
        failing_since,
        created_at,
        updated_at
    ],
    redact: [description]
});

/// A signing secret (`whsec_…`) handed over once: by a creation or a rotation.
pub type IssuedSecret = Secret<String>;

/// An endpoint to create, its fields checked.
#[derive(Clone, PartialEq, Eq)]
pub struct NewEndpoint {
    pub org_id: Uuid,
    pub url: String,
    pub subscription: Subscription,
    pub description: Option<String>,
}

crate::redacting_debug!(NewEndpoint { show: [org_id, url, subscription], redact: [description] });

/// A change of an endpoint's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    /// Enabled again: the disabled reason and time and `failing_since` are cleared, so
    /// the failure clock starts afresh.
    Enable,
    /// Disabled with this reason (kept as it was when the endpoint is disabled already).
    Disable { reason: &'static str },
}

/// A checked change of an endpoint (`PATCH`): `None` leaves a field as it is.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct EndpointChange {
    pub url: Option<String>,
    pub subscription: Option<Subscription>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<String>>,
    pub status: Option<StatusChange>,
}

crate::redacting_debug!(EndpointChange { show: [url, subscription, status], redact: [description] });

impl EndpointChange {
    /// Whether the change changes nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.url.is_none() && self.subscription.is_none() && self.description.is_none() && self.status.is_none()
    }
}

/// A checked description: trimmed, blank is none, at most [`MAX_DESCRIPTION_CHARS`].
///
/// # Errors
/// The reason, for a longer one.
pub fn parse_description(raw: &str) -> Result<Option<String>, String> {
    let trimmed = raw.trim();
    if trimmed.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(format!("must be at most {MAX_DESCRIPTION_CHARS} characters"));
    }
    Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
}

/// One event's delivery to one endpoint, as the delivery log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub event_id: String,
    pub event_type: String,
    /// Attempts made so far.
    pub attempt: u32,
    pub status: DeliveryStatus,
    pub response_status: Option<u16>,
    pub latency_ms: Option<u64>,
    pub next_attempt_at: Option<OffsetDateTime>,
    /// The event's `createdAt` (the log is ordered by it, newest first).
    pub created_at: OffsetDateTime,
}

/// Whether a delivery in `status` may be sent again by hand: anything but a success.
/// A `PENDING` one is accepted too: its next attempt is brought forward to now.
#[must_use]
pub fn may_retry(status: DeliveryStatus) -> bool {
    status != DeliveryStatus::Succeeded
}

/// What a retry found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryOutcome {
    /// Set `PENDING`, due now.
    Requeued,
    /// No such endpoint of the org.
    EndpointNotFound,
    /// The endpoint has no delivery of this event.
    DeliveryNotFound,
    /// Refused by the rule; the delivery's status.
    Refused(DeliveryStatus),
}

#[cfg(test)]
mod tests;
