//! Counsel allocation (상담할당관리, seed 001): queues of CS work, the managers who are
//! members of them, and the cases routed to those managers by the allocation engine.
//!
//! Invariants:
//! - a queue is identified by its group code (`autoDivGbCd`, code table CS023) and its
//!   detail number (`autoDivDtlNo`); its policy is `ROUND_ROBIN`, `WEIGHTED` or
//!   `LEAST_LOADED` (never `FIFO`, which orders lines, not people);
//! - a membership (`autoDivNo`) is eligible for a new case only when its flag is `Y`,
//!   its manager is active and its open cases are under its capacity
//!   ([`member_eligibility`]); the engine (`crate::allocation`) decides among the
//!   eligible ones with its ordinary pick;
//! - a case is assigned to at most one manager at a time; a case nobody can take waits
//!   (`WAITING`) and is offered again, oldest first, when capacity appears.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::allocation::{Eligibility, SkipReason};
use crate::error::{FieldError, ValidationError};
use crate::pii::{PersonName, PhoneNumber};
use crate::reference::{AllocationPolicy, code_enum};

mod records;
mod refusal;

pub use records::{CaseFilter, CaseOutcome, CounselCase, ManagerEntry, Membership, Queue};
pub use refusal::{Candidate, CounselError, ManagerFacts, ManagerRefusal, candidate_refusal, judge_manager};

/// The zone counsel's days are counted in (statistics ranges) and the export's times are
/// written in.
pub const COUNSEL_ZONE: &str = "Asia/Seoul";

/// Most characters of a queue's name.
pub const MAX_QUEUE_NAME_CHARS: usize = 100;

/// A queue's display name: trimmed, 1 to [`MAX_QUEUE_NAME_CHARS`] characters, no control
/// character. The API and `ldbds counsel queue-add` both take names through
/// [`QueueName::parse`], so they accept and refuse the same ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueName(String);

impl QueueName {
    /// # Errors
    /// A field error on `name` for a blank, over-long or control-holding name.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let name = raw.trim();
        if name.is_empty() || name.chars().count() > MAX_QUEUE_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(ValidationError::single("name", "must be 1 to 100 printable characters"));
        }
        Ok(Self(name.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

code_enum!(
    /// CS023: the kind of work a queue holds.
    AutoDivGroup { Inquiry => "10", AsReview => "20", Outbound => "50" }
);

impl AutoDivGroup {
    /// The Korean label of the code.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Inquiry => "문의",
            Self::AsReview => "AS 검토",
            Self::Outbound => "아웃바운드",
        }
    }
}

code_enum!(
    /// Where a case is.
    CaseStatus { Waiting => "WAITING", Assigned => "ASSIGNED", Completed => "COMPLETED" }
);

code_enum!(
    /// How a case reached its manager.
    AssignKind { Auto => "AUTO", Manual => "MANUAL" }
);

/// The allocation policies a counsel queue may use.
pub const QUEUE_POLICIES: [AllocationPolicy; 3] =
    [AllocationPolicy::RoundRobin, AllocationPolicy::Weighted, AllocationPolicy::LeastLoaded];

/// Checks a queue's policy.
///
/// # Errors
/// `FIFO` or an unknown name.
pub fn parse_queue_policy(raw: &str) -> Result<AllocationPolicy, ValidationError> {
    match raw.parse::<AllocationPolicy>() {
        Ok(policy) if QUEUE_POLICIES.contains(&policy) => Ok(policy),
        _ => Err(ValidationError::single("policy", "must be one of ROUND_ROBIN, WEIGHTED, LEAST_LOADED")),
    }
}

/// The pattern of a detail number (`autoDivDtlNo`), as the API document states it.
pub const DETAIL_PATTERN: &str = "^[A-Za-z0-9]{1,20}$";

/// 1 to 20 ASCII letters or digits, nothing around them ([`DETAIL_PATTERN`]).
#[must_use]
pub fn is_detail_number(raw: &str) -> bool {
    (1..=20).contains(&raw.len()) && raw.chars().all(|c| c.is_ascii_alphanumeric())
}

/// The pattern of a membership number (`autoDivNo`).
pub const AUTO_DIV_NO_PATTERN: &str = "^[1-9][0-9]{0,17}$";

/// A membership number as the API writes it: digits, no sign, no leading zero.
#[must_use]
pub fn parse_auto_div_no(raw: &str) -> Option<i64> {
    let well_formed = (1..=18).contains(&raw.len()) && !raw.starts_with('0') && raw.chars().all(|c| c.is_ascii_digit());
    if well_formed { raw.parse().ok() } else { None }
}

/// A queue's identity: group code and detail number (1 to 20 letters or digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueKey {
    pub group: AutoDivGroup,
    pub detail: String,
}

impl QueueKey {
    /// # Errors
    /// An unknown group code or an empty, over-long or non-alphanumeric detail number.
    pub fn parse(group: &str, detail: &str) -> Result<Self, ValidationError> {
        let mut errors = Vec::new();
        let group = group
            .parse::<AutoDivGroup>()
            .map_err(|_| errors.push(FieldError::new("autoDivGbCd", "must be one of 10, 20, 50 (CS023)")))
            .ok();
        if !is_detail_number(detail) {
            errors.push(FieldError::new("autoDivDtlNo", "must be 1 to 20 letters or digits"));
        }
        match group {
            Some(group) if errors.is_empty() => Ok(Self { group, detail: detail.to_owned() }),
            _ => Err(ValidationError(errors)),
        }
    }
}

impl std::fmt::Display for QueueKey {
    /// `50/10020`: group code and detail number.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.group.as_str(), self.detail)
    }
}

/// Whether a membership may take a new case now.
#[must_use]
pub fn member_eligibility(possible: bool, active: bool, open_cases: u64, capacity: u64) -> Eligibility {
    if !possible || !active {
        Eligibility::Skipped(SkipReason::Unavailable)
    } else if open_cases >= capacity {
        Eligibility::Skipped(SkipReason::OverCapacity)
    } else {
        Eligibility::Eligible
    }
}

/// A membership's weight and capacity, as an administrator sets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberTerms {
    /// 1 to 100.
    pub weight: u32,
    /// Most open cases at once, 1 to 10,000.
    pub capacity: u32,
}

impl MemberTerms {
    /// # Errors
    /// A weight outside 1..=100 or a capacity outside 1..=10,000.
    pub fn new(weight: u32, capacity: u32) -> Result<Self, ValidationError> {
        let mut errors = Vec::new();
        if !(1..=100).contains(&weight) {
            errors.push(FieldError::new("weight", "must be 1 to 100"));
        }
        if !(1..=10_000).contains(&capacity) {
            errors.push(FieldError::new("capacity", "must be 1 to 10000"));
        }
        if errors.is_empty() { Ok(Self { weight, capacity }) } else { Err(ValidationError(errors)) }
    }
}

/// A case to create (imported from a spreadsheet, made for an AS review, or an inquiry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCounselCase {
    /// 상담유형번호.
    pub cnsl_typ_no: String,
    /// OB유형번호 (outbound cases).
    pub ob_typ_no: Option<String>,
    /// 회원번호.
    pub mbr_no: Option<String>,
    /// 주문번호.
    pub ord_no: Option<String>,
    /// 접수내용.
    pub accp_cont: Option<String>,
    /// The customer, personal data (encrypted at rest, masked on the way out).
    pub cust_nm: Option<PersonName>,
    pub cust_tel: Option<PhoneNumber>,
    /// The AS request an AS-review case is about.
    pub as_id: Option<Uuid>,
}

/// Per-manager counts over a range (`csAllocationMgmtList`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagerStats {
    pub user_id: Uuid,
    pub auto_assigned: u64,
    pub manual_assigned: u64,
    pub completed: u64,
    pub open: u64,
    pub weight: u32,
}

/// Each manager's share of the assigned cases beside the share their weight asks for,
/// in percent with two decimals: `(actual, expected)`.
#[must_use]
pub fn shares(stats: &[ManagerStats]) -> Vec<(f64, f64)> {
    let assigned: u64 = stats.iter().map(|s| s.auto_assigned + s.manual_assigned).sum();
    let weights: u64 = stats.iter().map(|s| u64::from(s.weight)).sum();
    let pct = |part: u64, whole: u64| {
        if whole == 0 {
            0.0
        } else {
            // Counts here stay far below 2^52: exact as f64.
            #[allow(clippy::cast_precision_loss)]
            let value = part as f64 * 100.0 / whole as f64;
            (value * 100.0).round() / 100.0
        }
    };
    stats
        .iter()
        .map(|s| (pct(s.auto_assigned + s.manual_assigned, assigned), pct(u64::from(s.weight), weights)))
        .collect()
}

/// [`shares`] within groups: each row against the rows of the same group (a queue), in
/// the order given.
#[must_use]
pub fn shares_within<K: PartialEq>(rows: &[(K, ManagerStats)]) -> Vec<(f64, f64)> {
    let mut out = vec![(0.0, 0.0); rows.len()];
    for (first, (key, _)) in rows.iter().enumerate() {
        if rows[..first].iter().any(|(k, _)| k == key) {
            continue;
        }
        let members: Vec<usize> = (first..rows.len()).filter(|&i| rows[i].0 == *key).collect();
        let stats: Vec<ManagerStats> = members.iter().map(|&i| rows[i].1.clone()).collect();
        for (&i, share) in members.iter().zip(shares(&stats)) {
            out[i] = share;
        }
    }
    out
}

/// The range of `dateSelect` (`all_day` = the whole period, 전체: no bound; `today`;
/// `week` = the last 7 days; `month` = the last 30 days; today included in each) or of
/// `startDate`..=`endDate` (which win over `dateSelect`), as UTC instants `[from, to)`,
/// with days counted in Asia/Seoul. Neither given: the whole period.
///
/// # Errors
/// An unknown `dateSelect`, a malformed date, or an end before the start.
pub fn stats_range(
    date_select: Option<&str>,
    start_date: Option<&str>,
    end_date: Option<&str>,
    now: OffsetDateTime,
) -> Result<(Option<OffsetDateTime>, Option<OffsetDateTime>), ValidationError> {
    const SEOUL: &str = COUNSEL_ZONE;
    let day_start = |date: time::Date| -> Result<OffsetDateTime, ValidationError> {
        let start = crate::calendar::date_start_ms(date, SEOUL)
            .map_err(|e| ValidationError::single("startDate", e.to_string()))?;
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(start) * 1_000_000)
            .map_err(|e| ValidationError::single("startDate", e.to_string()))
    };
    let parse = |field: &str, raw: &str| {
        time::Date::parse(raw.trim(), time::macros::format_description!("[year]-[month]-[day]"))
            .map_err(|_| ValidationError::single(field, "must be a date, e.g. 2026-11-25"))
    };
    let today =
        crate::calendar::local_date(now, SEOUL).map_err(|e| ValidationError::single("dateSelect", e.to_string()))?;
    let days_back = match date_select {
        None | Some("all_day") => None,
        Some("today") => Some(0),
        Some("week") => Some(6),
        Some("month") => Some(29),
        Some(_) => return Err(ValidationError::single("dateSelect", "must be one of all_day, today, week, month")),
    };
    if start_date.is_some() || end_date.is_some() {
        let from = start_date.map(|d| parse("startDate", d)).transpose()?;
        let to = end_date.map(|d| parse("endDate", d)).transpose()?;
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            return Err(ValidationError::single("endDate", "must not be before startDate"));
        }
        let from = from.map(day_start).transpose()?;
        let to = to.map(|t| day_start(t.next_day().unwrap_or(t))).transpose()?;
        return Ok((from, to));
    }
    let Some(days_back) = days_back else { return Ok((None, None)) };
    let first = today.checked_sub(time::Duration::days(days_back)).unwrap_or(today);
    Ok((Some(day_start(first)?), Some(day_start(today.next_day().unwrap_or(today))?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn queue_keys_take_cs023_codes_and_plain_detail_numbers() {
        assert_eq!(QueueKey::parse("50", "10020").unwrap().group, AutoDivGroup::Outbound);
        assert_eq!(QueueKey::parse("30", "1").unwrap_err().0[0].field, "autoDivGbCd");
        assert_eq!(QueueKey::parse("20", "../x").unwrap_err().0[0].field, "autoDivDtlNo");
        assert_eq!(QueueKey::parse("99", "").unwrap_err().0.len(), 2);
    }

    #[test]
    fn numbers_are_taken_exactly_as_documented() {
        assert_eq!(parse_auto_div_no("1000442"), Some(1_000_442));
        for bad in ["", "0", "012", "-1", " 1", "1 ", "+1", "1e3", "1234567890123456789"] {
            assert_eq!(parse_auto_div_no(bad), None, "{bad}");
        }
        assert!(is_detail_number("10020") && !is_detail_number(" 10020") && !is_detail_number(""));
    }

    #[test]
    fn queue_names_are_trimmed_printable_and_bounded() {
        assert_eq!(QueueName::parse("  아웃바운드 1 ").unwrap().as_str(), "아웃바운드 1");
        assert!(QueueName::parse(&"가".repeat(100)).is_ok());
        for bad in ["", "   ", "a\u{7}b", "tab\tname"] {
            assert_eq!(QueueName::parse(bad).unwrap_err().0[0].field, "name", "{bad:?}");
        }
        assert!(QueueName::parse(&"가".repeat(101)).is_err());
    }

    #[test]
    fn fifo_is_not_a_queue_policy() {
        assert!(parse_queue_policy("FIFO").is_err());
        assert_eq!(parse_queue_policy("LEAST_LOADED").ok(), Some(AllocationPolicy::LeastLoaded));
    }

    #[test]
    fn eligibility_needs_the_flag_activity_and_room() {
        assert_eq!(member_eligibility(true, true, 2, 3), Eligibility::Eligible);
        assert_eq!(member_eligibility(false, true, 0, 3), Eligibility::Skipped(SkipReason::Unavailable));
        assert_eq!(member_eligibility(true, false, 0, 3), Eligibility::Skipped(SkipReason::Unavailable));
        assert_eq!(member_eligibility(true, true, 3, 3), Eligibility::Skipped(SkipReason::OverCapacity));
    }

    #[test]
    fn terms_are_bounded() {
        assert!(MemberTerms::new(1, 1).is_ok());
        assert_eq!(MemberTerms::new(0, 0).unwrap_err().0.len(), 2);
    }

    #[test]
    fn shares_compare_counts_with_weights() {
        let s = |w: u32, n: u64| ManagerStats {
            user_id: Uuid::nil(),
            auto_assigned: n,
            manual_assigned: 0,
            completed: 0,
            open: 0,
            weight: w,
        };
        assert_eq!(shares(&[s(1, 167), s(2, 333), s(3, 500)]), vec![(16.7, 16.67), (33.3, 33.33), (50.0, 50.0)]);
        assert_eq!(shares(&[s(1, 0)]), vec![(0.0, 100.0)]);
        // Two queues interleaved: each row is compared within its own queue.
        let rows = [("50", s(1, 1)), ("20", s(1, 4)), ("50", s(3, 3))];
        assert_eq!(shares_within(&rows), vec![(25.0, 25.0), (100.0, 100.0), (75.0, 75.0)]);
    }

    #[test]
    fn stats_ranges_count_seoul_days() {
        // 2026-11-25 16:00 UTC is 2026-11-26 01:00 in Seoul.
        let now = datetime!(2026-11-25 16:00 UTC);
        let (from, to) = stats_range(Some("today"), None, None, now).unwrap();
        assert_eq!((from, to), (Some(datetime!(2026-11-25 15:00 UTC)), Some(datetime!(2026-11-26 15:00 UTC))));
        let (from, to) = stats_range(Some("week"), None, None, now).unwrap();
        assert_eq!((from, to), (Some(datetime!(2026-11-19 15:00 UTC)), Some(datetime!(2026-11-26 15:00 UTC))));
        let (from, _) = stats_range(Some("month"), None, None, now).unwrap();
        assert_eq!(from, Some(datetime!(2026-10-27 15:00 UTC)), "30 Seoul days, today the last");
        assert_eq!(stats_range(Some("all_day"), None, None, now).unwrap(), (None, None), "전체");
        let (from, _) = stats_range(Some("all_day"), Some("2023-09-08"), Some("2023-09-11"), now).unwrap();
        assert_eq!(from, Some(datetime!(2023-09-07 15:00 UTC)), "the seed's example: the dates win");
        let (from, to) = stats_range(None, Some("2026-11-01"), Some("2026-11-01"), now).unwrap();
        assert_eq!((from, to), (Some(datetime!(2026-10-31 15:00 UTC)), Some(datetime!(2026-11-01 15:00 UTC))));
        assert!(stats_range(Some("year"), None, None, now).is_err());
        assert!(stats_range(Some("year"), Some("2026-11-01"), None, now).is_err(), "checked even beside dates");
        assert!(stats_range(None, Some("2026-11-02"), Some("2026-11-01"), now).is_err());
        assert!(stats_range(None, Some("11/01/2026"), None, now).is_err());
        assert_eq!(stats_range(None, None, None, now).unwrap(), (None, None));
    }
}
