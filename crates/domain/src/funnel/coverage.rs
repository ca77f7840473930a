//! Coverage analysis (보장분석), `funnel.md` "Coverage analysis": a person's insurance
//! contracts summed per category and set against recommended amounts.
//!
//! Invariants ([`analyse`], a pure function):
//! - only contracts in force (`ACTIVE`) count; for each of the ten [`Category`]s, `held`
//!   is the sum of their coverages in it, and the sum of `held` over the categories is
//!   the sum of every in-force coverage (no amount is lost or counted twice);
//! - `monthlyPremiumTotal` is the sum of the in-force contracts' monthly premiums;
//! - `recommended` comes from the [`RecommendationTable`] row of the person's age band
//!   and gender, and the analysis names the table's version;
//! - the status is `LACK` below the recommendation, `EXCESS` above twice it, `ENOUGH`
//!   between; a category with no recommendation is `ENOUGH` when nothing is held;
//! - amounts are whole won ([`Won`]), never negative, added with overflow checked; the
//!   same input gives the same output, categories in their fixed order.

use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::funnel::identity::Gender;
use crate::funnel::terms::Consent;

pub mod report;

/// An amount in whole Korean won.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Won(pub u64);

impl Won {
    /// `self + other`, or `None` past `u64::MAX` won.
    #[must_use]
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }
}

/// The ten coverage categories of the analysis, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Death,
    Cancer,
    Cerebrovascular,
    Heart,
    MedicalExpense,
    Hospitalization,
    Surgery,
    Disability,
    Dental,
    Liability,
}

impl Category {
    pub const ALL: [Self; 10] = [
        Self::Death,
        Self::Cancer,
        Self::Cerebrovascular,
        Self::Heart,
        Self::MedicalExpense,
        Self::Hospitalization,
        Self::Surgery,
        Self::Disability,
        Self::Dental,
        Self::Liability,
    ];

    /// The code on the wire, e.g. `CEREBROVASCULAR`.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Death => "DEATH",
            Self::Cancer => "CANCER",
            Self::Cerebrovascular => "CEREBROVASCULAR",
            Self::Heart => "HEART",
            Self::MedicalExpense => "MEDICAL_EXPENSE",
            Self::Hospitalization => "HOSPITALIZATION",
            Self::Surgery => "SURGERY",
            Self::Disability => "DISABILITY",
            Self::Dental => "DENTAL",
            Self::Liability => "LIABILITY",
        }
    }

    /// The Korean name reports print.
    #[must_use]
    pub fn name_ko(self) -> &'static str {
        match self {
            Self::Death => "사망",
            Self::Cancer => "암",
            Self::Cerebrovascular => "뇌혈관",
            Self::Heart => "심장",
            Self::MedicalExpense => "실손의료비",
            Self::Hospitalization => "입원",
            Self::Surgery => "수술",
            Self::Disability => "후유장해",
            Self::Dental => "치아",
            Self::Liability => "배상책임",
        }
    }

    /// The category of a code, or `None`.
    #[must_use]
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// Whether a contract is in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContractStatus {
    Active,
    Lapsed,
    Matured,
}

impl ContractStatus {
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Lapsed => "LAPSED",
            Self::Matured => "MATURED",
        }
    }
}

/// One coverage of a contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    pub category: Category,
    pub amount: Won,
}

/// One insurance contract of the person, as the insurance-data provider reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    pub insurer: String,
    pub product: String,
    pub contract_date: Date,
    pub status: ContractStatus,
    pub monthly_premium: Won,
    pub coverages: Vec<Coverage>,
}

/// Held against recommended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoverageStatus {
    Lack,
    Enough,
    Excess,
}

impl CoverageStatus {
    /// 부족, 적정 or 과다, as reports print it.
    #[must_use]
    pub fn name_ko(self) -> &'static str {
        match self {
            Self::Lack => "부족",
            Self::Enough => "적정",
            Self::Excess => "과다",
        }
    }

    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Lack => "LACK",
            Self::Enough => "ENOUGH",
            Self::Excess => "EXCESS",
        }
    }

    /// The status of `held` against `recommended` (see the module invariants).
    #[must_use]
    pub fn of(held: Won, recommended: Won) -> Self {
        if held < recommended {
            Self::Lack
        } else if held.0 > recommended.0.saturating_mul(2) {
            Self::Excess
        } else {
            Self::Enough
        }
    }
}

/// One row of the recommendation table: ages `from..=to` of one gender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecommendationBand {
    pub age_from: u8,
    pub age_to: u8,
    pub gender: Gender,
    /// The recommended amount per category; a category absent is 0.
    pub amounts: Vec<(Category, Won)>,
}

/// The versioned table of recommended amounts (a fixture).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecommendationTable {
    pub version: String,
    pub bands: Vec<RecommendationBand>,
}

impl RecommendationTable {
    /// The band of `age` and `gender`: the first that covers them, or the nearest by age
    /// of that gender (a table need not reach 0 or 120).
    #[must_use]
    pub fn band(&self, age: u8, gender: Gender) -> Option<&RecommendationBand> {
        let bands = self.bands.iter().filter(|b| b.gender == gender);
        bands
            .clone()
            .find(|b| (b.age_from..=b.age_to).contains(&age))
            .or_else(|| bands.min_by_key(|b| if age < b.age_from { b.age_from - age } else { age - b.age_to }))
    }
}

/// One category of the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategorySummary {
    pub category: Category,
    pub held: Won,
    pub recommended: Won,
    pub status: CoverageStatus,
}

/// The analysis of a person's contracts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    pub summary: Vec<CategorySummary>,
    pub monthly_premium_total: Won,
    /// The recommendation table's version used.
    pub table_version: String,
    pub age: u8,
}

/// Why an analysis could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalysisError {
    #[error("the recommendation table has no band for this gender")]
    NoBand,
    #[error("the amounts overflow")]
    Overflow,
}

/// Full years from `birth` to `today` (0 before the first birthday; at most 255).
#[must_use]
pub fn age_on(birth: Date, today: Date) -> u8 {
    let mut years = today.year() - birth.year();
    if (today.month() as u8, today.day()) < (birth.month() as u8, birth.day()) {
        years -= 1;
    }
    u8::try_from(years.max(0)).unwrap_or(u8::MAX)
}

/// Analyses `contracts` of a person born on `birth` of `gender`, on `today`, against
/// `table` (see the module invariants).
///
/// # Errors
/// [`AnalysisError::NoBand`] when the table has no row of the gender;
/// [`AnalysisError::Overflow`] past `u64::MAX` won.
pub fn analyse(
    contracts: &[Contract],
    birth: Date,
    gender: Gender,
    today: Date,
    table: &RecommendationTable,
) -> Result<Analysis, AnalysisError> {
    let age = age_on(birth, today);
    let band = table.band(age, gender).ok_or(AnalysisError::NoBand)?;
    let in_force: Vec<&Contract> = contracts.iter().filter(|c| c.status == ContractStatus::Active).collect();
    let mut summary = Vec::with_capacity(Category::ALL.len());
    for category in Category::ALL {
        let mut held = Won(0);
        for coverage in in_force.iter().flat_map(|c| &c.coverages).filter(|c| c.category == category) {
            held = held.checked_add(coverage.amount).ok_or(AnalysisError::Overflow)?;
        }
        let recommended =
            band.amounts.iter().filter(|(c, _)| *c == category).map(|(_, w)| *w).next().unwrap_or_default();
        summary.push(CategorySummary { category, held, recommended, status: CoverageStatus::of(held, recommended) });
    }
    let mut monthly_premium_total = Won(0);
    for contract in &in_force {
        monthly_premium_total =
            monthly_premium_total.checked_add(contract.monthly_premium).ok_or(AnalysisError::Overflow)?;
    }
    Ok(Analysis { summary, monthly_premium_total, table_version: table.version.clone(), age })
}

/// A stored coverage analysis: what the report of `POST .../analyses` shows, and what
/// its PDF and JSON reports are made from. The person appears masked only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageReport {
    pub id: Uuid,
    pub org_id: Uuid,
    pub verification_id: Uuid,
    /// The person's name masked (`홍*동`).
    pub masked_name: String,
    pub gender: Gender,
    pub contracts: Vec<Contract>,
    pub analysis: Analysis,
    /// The consents given with it, at their versions.
    pub consents: Vec<Consent>,
    pub created_at: OffsetDateTime,
}

#[cfg(test)]
mod tests;
