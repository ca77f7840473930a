//! Reference data: regions, products with their AS policy, AS reason codes, organizations.
//!
//! Invariants:
//! - every enum here has one spelling on the wire and in storage (`as_str`/`FromStr`
//!   round-trip), so a stored value that no longer parses is a corrupted row, not input;
//! - an [`AsPolicy`] only lists reason codes that exist, and its evidence-required codes
//!   are a subset of its allowed codes ([`AsPolicy::new`]).

use uuid::Uuid;

use crate::error::ValidationError;
use crate::money::Money;
use crate::pagination::{PageRequest, Sort, SortKey};

/// Declares a closed set of codes with one spelling each.
macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ValidationError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(ValidationError::single(
                        stringify!($name),
                        format!("must be one of {}", [$($text),+].join(", ")),
                    )),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use code_enum;

code_enum!(
    /// The country a region belongs to.
    Country { Kr => "KR", Vn => "VN" }
);

code_enum!(
    /// How competing order lines share incoming leads (see `allocation.md`).
    AllocationPolicy { Fifo => "FIFO", RoundRobin => "ROUND_ROBIN", Weighted => "WEIGHTED", LeastLoaded => "LEAST_LOADED" }
);

code_enum!(
    /// What an approved AS gives the buyer.
    Compensation { Replacement => "REPLACEMENT", Refund => "REFUND" }
);

code_enum!(
    /// The moment the AS window starts counting.
    AsWindowStart { Assigned => "ASSIGNED", Used => "USED" }
);

code_enum!(
    /// Why a lead is claimed back.
    AsReasonCode {
        WrongNumber => "WRONG_NUMBER",
        NotApplicant => "NOT_APPLICANT",
        Duplicate => "DUPLICATE",
        Unreachable => "UNREACHABLE",
        FalseInfo => "FALSE_INFO",
        OutOfRegion => "OUT_OF_REGION",
        Underage => "UNDERAGE",
        Etc => "ETC",
    }
);

code_enum!(
    /// The kind of tenant.
    OrgKind { Partner => "PARTNER", Provider => "PROVIDER", Operator => "OPERATOR" }
);

/// An allowed region value (`서울`, `경기`, `79`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub code: String,
    pub name: String,
    pub country: Country,
}

/// An AS reason with its Korean label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsReason {
    pub code: AsReasonCode,
    pub label: String,
    pub requires_evidence: bool,
}

/// A product's rules for claiming a lead back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsPolicy {
    window_hours: u32,
    window_starts_from: AsWindowStart,
    allowed_reasons: Vec<AsReasonCode>,
    evidence_required: Vec<AsReasonCode>,
    max_rate_percent: u8,
    compensation: Compensation,
    auto_approve: bool,
}

/// The raw parts of an [`AsPolicy`], before its rules are checked.
#[derive(Debug, Clone)]
pub struct AsPolicyParts {
    pub window_hours: u32,
    pub window_starts_from: AsWindowStart,
    pub allowed_reasons: Vec<AsReasonCode>,
    pub evidence_required: Vec<AsReasonCode>,
    pub max_rate_percent: u8,
    pub compensation: Compensation,
    pub auto_approve: bool,
}

impl AsPolicy {
    /// # Errors
    /// Refuses a window of zero hours, a rate above 100 %, no allowed reason, and an
    /// evidence-required reason that is not allowed.
    pub fn new(parts: AsPolicyParts) -> Result<Self, ValidationError> {
        let mut errors = Vec::new();
        if parts.window_hours == 0 {
            errors.push(crate::error::FieldError::new("asPolicy.windowHours", "must be at least 1"));
        }
        if parts.max_rate_percent > 100 {
            errors.push(crate::error::FieldError::new("asPolicy.maxRatePercent", "must be at most 100"));
        }
        if parts.allowed_reasons.is_empty() {
            errors.push(crate::error::FieldError::new("asPolicy.allowedReasonCodes", "must not be empty"));
        }
        if let Some(stray) = parts.evidence_required.iter().find(|c| !parts.allowed_reasons.contains(c)) {
            errors.push(crate::error::FieldError::new(
                "asPolicy.evidenceRequiredReasonCodes",
                format!("{stray} is not an allowed reason"),
            ));
        }
        if !errors.is_empty() {
            return Err(ValidationError(errors));
        }
        let mut allowed = parts.allowed_reasons;
        allowed.sort();
        allowed.dedup();
        let mut evidence = parts.evidence_required;
        evidence.sort();
        evidence.dedup();
        Ok(Self {
            window_hours: parts.window_hours,
            window_starts_from: parts.window_starts_from,
            allowed_reasons: allowed,
            evidence_required: evidence,
            max_rate_percent: parts.max_rate_percent,
            compensation: parts.compensation,
            auto_approve: parts.auto_approve,
        })
    }

    #[must_use]
    pub fn window_hours(&self) -> u32 {
        self.window_hours
    }
    #[must_use]
    pub fn window_starts_from(&self) -> AsWindowStart {
        self.window_starts_from
    }
    #[must_use]
    pub fn allowed_reasons(&self) -> &[AsReasonCode] {
        &self.allowed_reasons
    }
    #[must_use]
    pub fn evidence_required(&self) -> &[AsReasonCode] {
        &self.evidence_required
    }
    #[must_use]
    pub fn max_rate_percent(&self) -> u8 {
        self.max_rate_percent
    }
    #[must_use]
    pub fn compensation(&self) -> Compensation {
        self.compensation
    }
    #[must_use]
    pub fn auto_approve(&self) -> bool {
        self.auto_approve
    }
}

/// A product members can order leads of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: Uuid,
    /// Stable human key used by fixtures and sources (`INS-HEALTH`, ...).
    pub code: String,
    pub name: String,
    pub category: String,
    pub unit_price: Money,
    /// True when `unit_price` excludes VAT (the order shows VAT separately).
    pub prices_exclude_vat: bool,
    pub allocation_policy: AllocationPolicy,
    /// IANA zone in which `dailyLimit` days are counted.
    pub time_zone: String,
    /// Same phone + product inside this many hours is a duplicate lead.
    pub duplicate_window_hours: u32,
    pub on_sale: bool,
    pub as_policy: AsPolicy,
}

/// Sort keys of the product catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductSortKey {
    Name,
    UnitPrice,
    CreatedAt,
}

impl SortKey for ProductSortKey {
    const ALLOWED: &'static [(&'static str, Self)] = &[
        ("name", ProductSortKey::Name),
        ("unitPrice", ProductSortKey::UnitPrice),
        ("createdAt", ProductSortKey::CreatedAt),
    ];
    const DEFAULT: Self = ProductSortKey::CreatedAt;
}

/// A catalogue query: products on sale, optionally one category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductQuery {
    pub category: Option<String>,
    pub page: PageRequest,
    pub sort: Sort<ProductSortKey>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts() -> AsPolicyParts {
        AsPolicyParts {
            window_hours: 72,
            window_starts_from: AsWindowStart::Assigned,
            allowed_reasons: vec![AsReasonCode::WrongNumber, AsReasonCode::Etc],
            evidence_required: vec![AsReasonCode::WrongNumber],
            max_rate_percent: 10,
            compensation: Compensation::Replacement,
            auto_approve: false,
        }
    }

    #[test]
    fn every_code_reads_back_from_its_own_spelling() {
        for code in AsReasonCode::ALL {
            assert_eq!(code.as_str().parse::<AsReasonCode>().ok(), Some(*code));
        }
        for policy in AllocationPolicy::ALL {
            assert_eq!(policy.as_str().parse::<AllocationPolicy>().ok(), Some(*policy));
        }
    }

    #[test]
    fn an_unknown_code_names_the_allowed_ones() {
        let err = "REFUNDISH".parse::<Compensation>().err().map(|e| e.0[0].reason.clone());
        assert_eq!(err.as_deref(), Some("must be one of REPLACEMENT, REFUND"));
    }

    #[test]
    fn a_valid_policy_is_accepted() {
        assert!(AsPolicy::new(parts()).is_ok());
    }

    #[test]
    fn evidence_for_a_reason_that_is_not_allowed_is_refused() {
        let mut p = parts();
        p.evidence_required.push(AsReasonCode::Underage);
        assert!(AsPolicy::new(p).is_err());
    }

    #[test]
    fn a_zero_hour_window_and_a_rate_over_100_are_both_reported() {
        let mut p = parts();
        p.window_hours = 0;
        p.max_rate_percent = 101;
        assert_eq!(AsPolicy::new(p).err().map(|e| e.0.len()), Some(2));
    }
}
