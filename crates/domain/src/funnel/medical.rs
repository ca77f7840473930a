//! Medical coverage analysis (메디컬보장분석), `funnel.md` "Medical coverage analysis":
//! the person's NHIS general health check-ups (일반건강검진), fetched after a simple
//! authentication (간편인증) in their app, judged by the NHIS criteria, turned into
//! risk flags, and joined with the coverage gaps of a coverage analysis into ranked
//! recommendations.
//!
//! Invariants (pure functions, no I/O):
//! - values are [`Decimal`]s at one decimal place; judgements follow the NHIS table of
//!   [`criteria`] ([`judge`], [`reference`]); height and weight are never judged;
//! - [`risk_flags`] reads the latest check-up only (greatest year, then date): one flag
//!   per [`RiskKind`] with at least one of its measures out of the normal range on the
//!   kind's side (an underweight BMI is no obesity, a high haemoglobin no anaemia), its
//!   level the worst of them (borderline or disease, never normal), in kind order;
//! - [`recommend`] scores each category of the coverage summary (table below), keeps
//!   those scoring above zero, and ranks them 1..=n by score (descending), then by
//!   category order; an `EXCESS` category is never recommended; adding a flag never
//!   lowers any category's score; the same input gives the same output.
//!
//! # Scoring
//!
//! Each flag related to a category adds to its risk: **1** for a borderline flag, **2**
//! for a disease-suspected one. The relations:
//!
//! | risk | categories whose weight it raises |
//! | --- | --- |
//! | 고혈압 `HYPERTENSION` | `CEREBROVASCULAR`, `HEART` |
//! | 당뇨 `DIABETES` | `HEART`, `CEREBROVASCULAR`, `HOSPITALIZATION`, `SURGERY` |
//! | 이상지질혈증 `DYSLIPIDEMIA` | `HEART`, `CEREBROVASCULAR` |
//! | 비만 `OBESITY` | `HEART`, `CEREBROVASCULAR`, `HOSPITALIZATION` |
//! | 간기능 이상 `LIVER_FUNCTION` | `CANCER`, `HOSPITALIZATION` |
//! | 신장기능 이상 `KIDNEY_FUNCTION` | `HOSPITALIZATION`, `SURGERY`, `MEDICAL_EXPENSE` |
//! | 빈혈 `ANAEMIA` | `HOSPITALIZATION` |
//!
//! The score of a category, from its coverage status and its risk `r`:
//!
//! | status | score |
//! | --- | --- |
//! | `LACK` | `(10 + ⌈10 × gap ÷ recommended⌉) × (1 + r)`: 11 to 20 for the shortfall's share, times the risk |
//! | `ENOUGH` | `3 × r`: recommended only when a risk bears on it, below most shortfalls |
//! | `EXCESS` | `0`: never recommended |
//!
//! So without flags the recommendations are the `LACK` categories, the largest share
//! missing first; a disease-suspected flag triples a related shortfall's score.

use std::time::Duration;

use rust_decimal::Decimal;
use time::Date;

use crate::funnel::coverage::{Category, CategorySummary, CoverageStatus, Won};
use crate::funnel::identity::Gender;

mod criteria;
pub mod report;

pub use self::criteria::{Judgement, ReferenceRange, judge, reference};

/// How long a simple-authentication session waits for the person's approval from its
/// start; unapproved by then, it is [`AuthStatus::Expired`].
pub const HEALTH_AUTH_TTL: Duration = Duration::from_secs(5 * 60);

/// The app the person approves the simple authentication (간편인증) in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthProvider {
    Kakao,
    Naver,
    Pass,
    Toss,
    Payco,
    Kb,
}

impl AuthProvider {
    pub const ALL: [Self; 6] = [Self::Kakao, Self::Naver, Self::Pass, Self::Toss, Self::Payco, Self::Kb];

    /// `KAKAO`, `NAVER`, `PASS`, `TOSS`, `PAYCO` or `KB`.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Kakao => "KAKAO",
            Self::Naver => "NAVER",
            Self::Pass => "PASS",
            Self::Toss => "TOSS",
            Self::Payco => "PAYCO",
            Self::Kb => "KB",
        }
    }

    /// The provider of a code, or `None`.
    #[must_use]
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.code() == code)
    }
}

/// Where a simple-authentication session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthStatus {
    /// Waiting for the person to approve in their app.
    Pending,
    /// Approved: the check-ups may be fetched.
    Approved,
    /// Not approved within [`HEALTH_AUTH_TTL`], or approved and past the provider's
    /// window for using it.
    Expired,
    /// The person (or the provider) refused.
    Denied,
}

impl AuthStatus {
    pub const ALL: [Self; 4] = [Self::Pending, Self::Approved, Self::Expired, Self::Denied];

    /// `PENDING`, `APPROVED`, `EXPIRED` or `DENIED`.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Approved => "APPROVED",
            Self::Expired => "EXPIRED",
            Self::Denied => "DENIED",
        }
    }

    #[must_use]
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// A measure of the general health check-up, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Measure {
    Height,
    Weight,
    Bmi,
    Waist,
    SystolicBp,
    DiastolicBp,
    FastingGlucose,
    TotalCholesterol,
    Hdl,
    Ldl,
    Triglycerides,
    Haemoglobin,
    Ast,
    Alt,
    GammaGtp,
    Egfr,
}

impl Measure {
    pub const ALL: [Self; 16] = [
        Self::Height,
        Self::Weight,
        Self::Bmi,
        Self::Waist,
        Self::SystolicBp,
        Self::DiastolicBp,
        Self::FastingGlucose,
        Self::TotalCholesterol,
        Self::Hdl,
        Self::Ldl,
        Self::Triglycerides,
        Self::Haemoglobin,
        Self::Ast,
        Self::Alt,
        Self::GammaGtp,
        Self::Egfr,
    ];

    /// The camelCase code JSON uses, e.g. `systolicBp`.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Height => "height",
            Self::Weight => "weight",
            Self::Bmi => "bmi",
            Self::Waist => "waist",
            Self::SystolicBp => "systolicBp",
            Self::DiastolicBp => "diastolicBp",
            Self::FastingGlucose => "fastingGlucose",
            Self::TotalCholesterol => "totalCholesterol",
            Self::Hdl => "hdl",
            Self::Ldl => "ldl",
            Self::Triglycerides => "triglycerides",
            Self::Haemoglobin => "haemoglobin",
            Self::Ast => "ast",
            Self::Alt => "alt",
            Self::GammaGtp => "gammaGtp",
            Self::Egfr => "egfr",
        }
    }

    /// The Korean name the NHIS result notice prints.
    #[must_use]
    pub fn name_ko(self) -> &'static str {
        match self {
            Self::Height => "키",
            Self::Weight => "몸무게",
            Self::Bmi => "체질량지수",
            Self::Waist => "허리둘레",
            Self::SystolicBp => "수축기 혈압",
            Self::DiastolicBp => "이완기 혈압",
            Self::FastingGlucose => "공복혈당",
            Self::TotalCholesterol => "총콜레스테롤",
            Self::Hdl => "HDL 콜레스테롤",
            Self::Ldl => "LDL 콜레스테롤",
            Self::Triglycerides => "중성지방",
            Self::Haemoglobin => "혈색소",
            Self::Ast => "AST(SGOT)",
            Self::Alt => "ALT(SGPT)",
            Self::GammaGtp => "감마지티피(γ-GTP)",
            Self::Egfr => "신사구체여과율(e-GFR)",
        }
    }

    /// The unit values are in.
    #[must_use]
    pub fn unit(self) -> &'static str {
        match self {
            Self::Height | Self::Waist => "cm",
            Self::Weight => "kg",
            Self::Bmi => "kg/m²",
            Self::SystolicBp | Self::DiastolicBp => "mmHg",
            Self::FastingGlucose | Self::TotalCholesterol | Self::Hdl | Self::Ldl | Self::Triglycerides => "mg/dL",
            Self::Haemoglobin => "g/dL",
            Self::Ast | Self::Alt | Self::GammaGtp => "IU/L",
            Self::Egfr => "mL/min/1.73m²",
        }
    }

    /// The measure of a code, or `None`.
    #[must_use]
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.code() == code)
    }
}

/// One general health check-up: its values at one decimal place, each measure at most
/// once (a check-up may lack some: the lipid panel, for one, is not in every year's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkup {
    pub year: i32,
    pub date: Date,
    pub values: Vec<(Measure, Decimal)>,
}

impl Checkup {
    /// The value of `measure`, if measured.
    #[must_use]
    pub fn value(&self, measure: Measure) -> Option<Decimal> {
        self.values.iter().find(|(m, _)| *m == measure).map(|(_, v)| *v)
    }
}

/// A health risk the check-ups can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RiskKind {
    Hypertension,
    Diabetes,
    Dyslipidemia,
    Obesity,
    LiverFunction,
    KidneyFunction,
    Anaemia,
}

impl RiskKind {
    pub const ALL: [Self; 7] = [
        Self::Hypertension,
        Self::Diabetes,
        Self::Dyslipidemia,
        Self::Obesity,
        Self::LiverFunction,
        Self::KidneyFunction,
        Self::Anaemia,
    ];

    /// The code on the wire, e.g. `LIVER_FUNCTION`.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Hypertension => "HYPERTENSION",
            Self::Diabetes => "DIABETES",
            Self::Dyslipidemia => "DYSLIPIDEMIA",
            Self::Obesity => "OBESITY",
            Self::LiverFunction => "LIVER_FUNCTION",
            Self::KidneyFunction => "KIDNEY_FUNCTION",
            Self::Anaemia => "ANAEMIA",
        }
    }

    /// The Korean name reports print.
    #[must_use]
    pub fn name_ko(self) -> &'static str {
        match self {
            Self::Hypertension => "고혈압",
            Self::Diabetes => "당뇨",
            Self::Dyslipidemia => "이상지질혈증",
            Self::Obesity => "비만",
            Self::LiverFunction => "간기능 이상",
            Self::KidneyFunction => "신장기능 이상",
            Self::Anaemia => "빈혈",
        }
    }

    #[must_use]
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The measures that show this risk.
    #[must_use]
    pub fn measures(self) -> &'static [Measure] {
        match self {
            Self::Hypertension => &[Measure::SystolicBp, Measure::DiastolicBp],
            Self::Diabetes => &[Measure::FastingGlucose],
            Self::Dyslipidemia => &[Measure::TotalCholesterol, Measure::Hdl, Measure::Ldl, Measure::Triglycerides],
            Self::Obesity => &[Measure::Bmi, Measure::Waist],
            Self::LiverFunction => &[Measure::Ast, Measure::Alt, Measure::GammaGtp],
            Self::KidneyFunction => &[Measure::Egfr],
            Self::Anaemia => &[Measure::Haemoglobin],
        }
    }

    /// The coverage categories this risk raises the weight of (module docs).
    #[must_use]
    pub fn categories(self) -> &'static [Category] {
        match self {
            Self::Hypertension => &[Category::Cerebrovascular, Category::Heart],
            Self::Diabetes => {
                &[Category::Heart, Category::Cerebrovascular, Category::Hospitalization, Category::Surgery]
            }
            Self::Dyslipidemia => &[Category::Heart, Category::Cerebrovascular],
            Self::Obesity => &[Category::Heart, Category::Cerebrovascular, Category::Hospitalization],
            Self::LiverFunction => &[Category::Cancer, Category::Hospitalization],
            Self::KidneyFunction => &[Category::Hospitalization, Category::Surgery, Category::MedicalExpense],
            Self::Anaemia => &[Category::Hospitalization],
        }
    }

    /// Whether an out-of-range `value` of `measure` shows this risk: the BMI only above
    /// its range (below is underweight), the haemoglobin only below (above is no
    /// anaemia); every other measure of the kind on either side it can be out on.
    fn shown_by(self, measure: Measure, gender: Gender, value: Decimal) -> bool {
        let below = reference(measure, gender).is_some_and(|r| r.is_below(value));
        match (self, measure) {
            (Self::Obesity, Measure::Bmi) => !below,
            (Self::Anaemia, Measure::Haemoglobin) => below,
            _ => true,
        }
    }
}

/// A risk the latest check-up shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskFlag {
    pub kind: RiskKind,
    /// [`Judgement::Borderline`] or [`Judgement::Disease`]: the worst of `measures`.
    pub level: Judgement,
    /// The kind's measures out of range, with their values, in measure order.
    pub measures: Vec<(Measure, Decimal)>,
    /// The check-up's year.
    pub year: i32,
}

/// The risk flags of the latest check-up (module invariants); none without check-ups.
#[must_use]
pub fn risk_flags(checkups: &[Checkup], gender: Gender) -> Vec<RiskFlag> {
    let Some(latest) = latest(checkups) else { return Vec::new() };
    RiskKind::ALL
        .into_iter()
        .filter_map(|kind| {
            let mut level = Judgement::Normal;
            let mut measures = Vec::new();
            for &measure in kind.measures() {
                let Some(value) = latest.value(measure) else { continue };
                let Some(judgement) = judge(measure, gender, value) else { continue };
                if judgement != Judgement::Normal && kind.shown_by(measure, gender, value) {
                    level = level.max(judgement);
                    measures.push((measure, value));
                }
            }
            (level != Judgement::Normal).then_some(RiskFlag { kind, level, measures, year: latest.year })
        })
        .collect()
}

/// The latest check-up: the greatest year, then date (the last of equals).
fn latest(checkups: &[Checkup]) -> Option<&Checkup> {
    checkups.iter().max_by_key(|c| (c.year, c.date))
}

/// One ranked recommendation: a coverage category to review first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recommendation {
    /// 1 for the first; contiguous.
    pub rank: u8,
    pub category: Category,
    pub status: CoverageStatus,
    /// Recommended minus held (0 when enough is held).
    pub gap: Won,
    pub score: u32,
    /// The risks that raised it, in kind order, each once.
    pub reasons: Vec<RiskKind>,
}

/// The risk points a flag adds to each related category.
fn risk_points(level: Judgement) -> u32 {
    match level {
        Judgement::Normal => 0,
        Judgement::Borderline => 1,
        Judgement::Disease => 2,
    }
}

/// The score of one category (module docs' table).
fn score(summary: &CategorySummary, risk: u32) -> u32 {
    match summary.status {
        CoverageStatus::Excess => 0,
        CoverageStatus::Enough => risk.saturating_mul(3),
        CoverageStatus::Lack => {
            let gap = u128::from(summary.recommended.0.saturating_sub(summary.held.0));
            let recommended = u128::from(summary.recommended.0.max(1));
            // ⌈10 × gap ÷ recommended⌉, 1..=10 for a shortfall.
            let tenths = u32::try_from((gap * 10).div_ceil(recommended).min(10)).unwrap_or(10);
            (10 + tenths).saturating_mul(risk.saturating_add(1))
        }
    }
}

/// The summary's categories ranked for review, from their gaps and the risk flags
/// (module docs: scoring); only categories scoring above zero.
#[must_use]
pub fn recommend(summary: &[CategorySummary], flags: &[RiskFlag]) -> Vec<Recommendation> {
    let mut scored: Vec<Recommendation> = summary
        .iter()
        .filter_map(|s| {
            let related: Vec<&RiskFlag> = flags.iter().filter(|f| f.kind.categories().contains(&s.category)).collect();
            let risk = related.iter().fold(0u32, |r, f| r.saturating_add(risk_points(f.level)));
            let mut reasons: Vec<RiskKind> =
                related.iter().filter(|f| risk_points(f.level) > 0).map(|f| f.kind).collect();
            reasons.sort_unstable();
            reasons.dedup();
            let score = score(s, risk);
            (score > 0).then(|| Recommendation {
                rank: 0,
                category: s.category,
                status: s.status,
                gap: Won(s.recommended.0.saturating_sub(s.held.0)),
                score,
                reasons,
            })
        })
        .collect();
    scored.sort_by(|a, b| b.score.cmp(&a.score).then(a.category.cmp(&b.category)));
    for (i, r) in scored.iter_mut().enumerate() {
        r.rank = u8::try_from(i + 1).unwrap_or(u8::MAX);
    }
    scored
}

/// The medical analysis: the latest check-up's risk flags and the ranked
/// recommendations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MedicalAnalysis {
    pub flags: Vec<RiskFlag>,
    pub recommendations: Vec<Recommendation>,
    /// The year of the latest check-up; `None` without check-ups.
    pub latest_year: Option<i32>,
}

/// [`risk_flags`] of the check-ups, then [`recommend`] against the coverage summary.
#[must_use]
pub fn analyse_medical(summary: &[CategorySummary], checkups: &[Checkup], gender: Gender) -> MedicalAnalysis {
    let flags = risk_flags(checkups, gender);
    let recommendations = recommend(summary, &flags);
    MedicalAnalysis { flags, recommendations, latest_year: latest(checkups).map(|c| c.year) }
}

#[cfg(test)]
mod tests;
