//! The judgement criteria of the NHIS general health check-up (일반건강검진): per
//! measure (and gender, where they differ), the normal range and the bands of
//! 정상 / 경계 / 질환의심.
//!
//! Source: 보건복지부 고시 「건강검진 실시기준」 [별표 4의 별첨] 검사항목별 판정기준, the
//! table the 국민건강보험공단 (NHIS) result notice (결과통보서) prints, with its three
//! columns 정상A / 정상B(경계) / 질환의심:
//!
//! | measure | unit | 정상A (normal) | 정상B (borderline) | 질환의심 (disease) |
//! | --- | --- | --- | --- | --- |
//! | systolic / diastolic BP | mmHg | < 120 and < 80 | 120–139 or 80–89 | ≥ 140 or ≥ 90 |
//! | BMI | kg/m² | 18.5–24.9 | 25–29.9, < 18.5 | ≥ 30 |
//! | waist | cm | M < 90, F < 85 | M ≥ 90, F ≥ 85 | – |
//! | haemoglobin | g/dL | M 13.0–16.5, F 12.0–15.5 | M 12.0–12.9, F 10.0–11.9 | M < 12.0, F < 10.0 |
//! | fasting glucose | mg/dL | < 100 | 100–125 | ≥ 126 |
//! | total cholesterol | mg/dL | < 200 | 200–239 | ≥ 240 |
//! | HDL | mg/dL | ≥ 60 | 40–59 | < 40 |
//! | triglycerides | mg/dL | < 150 | 150–199 | ≥ 200 |
//! | LDL | mg/dL | < 130 | 130–159 | ≥ 160 |
//! | AST | U/L | ≤ 40 | 41–50 | ≥ 51 |
//! | ALT | U/L | ≤ 35 | 36–45 | ≥ 46 |
//! | γ-GTP | U/L | M 11–63, F 8–35 | M 64–77, F 36–45 | M ≥ 78, F ≥ 46 |
//! | eGFR | mL/min/1.73m² | ≥ 60 | – | < 60 |
//!
//! Invariants ([`judge`], [`reference`], pure):
//! - height and weight have no judgement and no reference (`None`);
//! - a value is judged at one decimal place (as check-ups report it), and it is
//!   [`Judgement::Normal`] exactly when [`ReferenceRange::contains`] it, except a
//!   γ-GTP below the range (the table names no low band: not a finding, `Normal`);
//! - the waist has no disease band (over the limit is borderline, as in the table);
//! - a haemoglobin above the normal range is not in the table (whose target is
//!   anaemia): it is judged borderline, outside the normal range but not anaemia;
//! - for every "higher is worse" measure (blood pressure, glucose, total cholesterol,
//!   LDL, triglycerides, AST, ALT, γ-GTP, waist) the judgement never improves as the
//!   value rises; for HDL and eGFR it never improves as the value falls.

use rust_decimal::Decimal;

use super::Measure;
use crate::funnel::identity::Gender;

/// The judgement of one value (정상 / 경계 / 질환의심), ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Judgement {
    Normal,
    Borderline,
    Disease,
}

impl Judgement {
    pub const ALL: [Self; 3] = [Self::Normal, Self::Borderline, Self::Disease];

    /// `NORMAL`, `BORDERLINE` or `DISEASE`.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Normal => "NORMAL",
            Self::Borderline => "BORDERLINE",
            Self::Disease => "DISEASE",
        }
    }

    /// 정상, 경계 or 질환의심.
    #[must_use]
    pub fn name_ko(self) -> &'static str {
        match self {
            Self::Normal => "정상",
            Self::Borderline => "경계",
            Self::Disease => "질환의심",
        }
    }

    #[must_use]
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|j| j.code() == code)
    }
}

/// The normal range (정상A) of a measure: `low` inclusive, `high` inclusive or not.
/// Bounds keep the scale the table prints (`120`, `18.5`, `13.0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferenceRange {
    /// The lowest normal value, if the range has one ("60 이상").
    pub low: Option<Decimal>,
    /// The range's upper end, if any.
    pub high: Option<Decimal>,
    /// Whether `high` itself is normal ("40 이하") or not ("120 미만").
    pub high_inclusive: bool,
}

impl ReferenceRange {
    fn below(high: Decimal) -> Self {
        Self { low: None, high: Some(high), high_inclusive: false }
    }

    fn up_to(high: Decimal) -> Self {
        Self { low: None, high: Some(high), high_inclusive: true }
    }

    fn from(low: Decimal) -> Self {
        Self { low: Some(low), high: None, high_inclusive: false }
    }

    fn between(low: Decimal, high: Decimal) -> Self {
        Self { low: Some(low), high: Some(high), high_inclusive: true }
    }

    /// Whether `value` (at one decimal place) is in the normal range.
    #[must_use]
    pub fn contains(&self, value: Decimal) -> bool {
        let v = value.round_dp(1);
        let above_low = self.low.is_none_or(|l| v >= l);
        let below_high = match self.high {
            None => true,
            Some(h) if self.high_inclusive => v <= h,
            Some(h) => v < h,
        };
        above_low && below_high
    }

    /// Whether `value` is below the range's low end.
    #[must_use]
    pub fn is_below(&self, value: Decimal) -> bool {
        self.low.is_some_and(|l| value.round_dp(1) < l)
    }

    /// The range as a report prints it: `120 미만`, `40 이하`, `60 이상`, `18.5–24.9`.
    #[must_use]
    pub fn display(&self) -> String {
        match (self.low, self.high) {
            (Some(l), Some(h)) if self.high_inclusive => format!("{l}–{h}"),
            (Some(l), Some(h)) => format!("{l} 이상 {h} 미만"),
            (Some(l), None) => format!("{l} 이상"),
            (None, Some(h)) if self.high_inclusive => format!("{h} 이하"),
            (None, Some(h)) => format!("{h} 미만"),
            (None, None) => "-".to_owned(),
        }
    }
}

/// `n` whole units.
fn whole(n: i64) -> Decimal {
    Decimal::new(n, 0)
}

/// `n` tenths (`tenths(185)` is 18.5, printed with its decimal).
fn tenths(n: i64) -> Decimal {
    Decimal::new(n, 1)
}

/// The normal range of `measure` for `gender`; `None` for height and weight.
#[must_use]
pub fn reference(measure: Measure, gender: Gender) -> Option<ReferenceRange> {
    let male = gender == Gender::Male;
    Some(match measure {
        Measure::Height | Measure::Weight => return None,
        Measure::Bmi => ReferenceRange::between(tenths(185), tenths(249)),
        Measure::Waist => ReferenceRange::below(whole(if male { 90 } else { 85 })),
        Measure::SystolicBp => ReferenceRange::below(whole(120)),
        Measure::DiastolicBp => ReferenceRange::below(whole(80)),
        Measure::FastingGlucose => ReferenceRange::below(whole(100)),
        Measure::TotalCholesterol => ReferenceRange::below(whole(200)),
        Measure::Hdl => ReferenceRange::from(whole(60)),
        Measure::Ldl => ReferenceRange::below(whole(130)),
        Measure::Triglycerides => ReferenceRange::below(whole(150)),
        Measure::Haemoglobin if male => ReferenceRange::between(tenths(130), tenths(165)),
        Measure::Haemoglobin => ReferenceRange::between(tenths(120), tenths(155)),
        Measure::Ast => ReferenceRange::up_to(whole(40)),
        Measure::Alt => ReferenceRange::up_to(whole(35)),
        Measure::GammaGtp if male => ReferenceRange::between(whole(11), whole(63)),
        Measure::GammaGtp => ReferenceRange::between(whole(8), whole(35)),
        Measure::Egfr => ReferenceRange::from(whole(60)),
    })
}

/// Higher is worse: normal below `borderline`, borderline below `disease`, then disease.
fn rising(v: Decimal, borderline: Decimal, disease: Decimal) -> Judgement {
    if v < borderline {
        Judgement::Normal
    } else if v < disease {
        Judgement::Borderline
    } else {
        Judgement::Disease
    }
}

/// Higher is worse with inclusive tops: normal up to `normal_max`, borderline up to
/// `borderline_max`, then disease.
fn rising_inclusive(v: Decimal, normal_max: Decimal, borderline_max: Decimal) -> Judgement {
    if v <= normal_max {
        Judgement::Normal
    } else if v <= borderline_max {
        Judgement::Borderline
    } else {
        Judgement::Disease
    }
}

/// Lower is worse: normal from `normal_min`, borderline from `borderline_min`, below it
/// disease.
fn falling(v: Decimal, normal_min: Decimal, borderline_min: Decimal) -> Judgement {
    if v >= normal_min {
        Judgement::Normal
    } else if v >= borderline_min {
        Judgement::Borderline
    } else {
        Judgement::Disease
    }
}

/// The judgement of `value` of `measure` for `gender` (see the module's table);
/// `None` for height and weight.
#[must_use]
pub fn judge(measure: Measure, gender: Gender, value: Decimal) -> Option<Judgement> {
    let v = value.round_dp(1);
    let male = gender == Gender::Male;
    Some(match measure {
        Measure::Height | Measure::Weight => return None,
        Measure::Bmi if v < tenths(185) => Judgement::Borderline,
        Measure::Bmi => rising(v, whole(25), whole(30)),
        Measure::Waist if v < whole(if male { 90 } else { 85 }) => Judgement::Normal,
        Measure::Waist => Judgement::Borderline,
        Measure::SystolicBp => rising(v, whole(120), whole(140)),
        Measure::DiastolicBp => rising(v, whole(80), whole(90)),
        Measure::FastingGlucose => rising(v, whole(100), whole(126)),
        Measure::TotalCholesterol => rising(v, whole(200), whole(240)),
        Measure::Hdl => falling(v, whole(60), whole(40)),
        Measure::Ldl => rising(v, whole(130), whole(160)),
        Measure::Triglycerides => rising(v, whole(150), whole(200)),
        Measure::Haemoglobin => {
            let (disease_below, normal_min, normal_max) =
                if male { (tenths(120), tenths(130), tenths(165)) } else { (tenths(100), tenths(120), tenths(155)) };
            if v > normal_max { Judgement::Borderline } else { falling(v, normal_min, disease_below) }
        }
        Measure::Ast => rising_inclusive(v, whole(40), whole(50)),
        Measure::Alt => rising_inclusive(v, whole(35), whole(45)),
        Measure::GammaGtp if male => rising_inclusive(v, whole(63), whole(77)),
        Measure::GammaGtp => rising_inclusive(v, whole(35), whole(45)),
        Measure::Egfr => falling(v, whole(60), whole(60)),
    })
}
