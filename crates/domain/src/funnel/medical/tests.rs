use proptest::prelude::*;
use time::macros::date;

use super::*;

fn d(tenths: i64) -> Decimal {
    Decimal::new(tenths, 1)
}

fn w(whole: i64) -> Decimal {
    Decimal::new(whole, 0)
}

fn checkup(year: i32, values: &[(Measure, Decimal)]) -> Checkup {
    Checkup { year, date: Date::from_calendar_date(year, time::Month::June, 1).unwrap(), values: values.to_vec() }
}

fn summary(rows: &[(Category, u64, u64)]) -> Vec<CategorySummary> {
    rows.iter()
        .map(|&(category, held, recommended)| CategorySummary {
            category,
            held: Won(held),
            recommended: Won(recommended),
            status: CoverageStatus::of(Won(held), Won(recommended)),
        })
        .collect()
}

fn flag(kind: RiskKind, level: Judgement) -> RiskFlag {
    RiskFlag { kind, level, measures: vec![], year: 2026 }
}

#[test]
fn codes_round_trip() {
    for p in AuthProvider::ALL {
        assert_eq!(AuthProvider::parse(p.code()), Some(p));
    }
    assert_eq!(AuthProvider::parse("kakao"), None);
    for s in AuthStatus::ALL {
        assert_eq!(AuthStatus::parse(s.code()), Some(s));
    }
    for m in Measure::ALL {
        assert_eq!(Measure::parse(m.code()), Some(m));
        assert!(!m.name_ko().is_empty() && !m.unit().is_empty());
    }
    assert_eq!(Measure::parse("gammaGtp"), Some(Measure::GammaGtp));
    for k in RiskKind::ALL {
        assert_eq!(RiskKind::parse(k.code()), Some(k));
        assert!(!k.categories().is_empty() && !k.measures().is_empty());
    }
    for j in Judgement::ALL {
        assert_eq!(Judgement::parse(j.code()), Some(j));
    }
    assert_eq!(HEALTH_AUTH_TTL.as_secs(), 300);
}

#[test]
fn the_nhis_table_judges_each_band() {
    use Judgement::{Borderline as B, Disease as D, Normal as N};
    let m = Gender::Male;
    let f = Gender::Female;
    let cases: &[(Measure, Gender, Decimal, Judgement)] = &[
        (Measure::SystolicBp, m, d(1199), N),
        (Measure::SystolicBp, m, w(120), B),
        (Measure::SystolicBp, m, w(139), B),
        (Measure::SystolicBp, m, w(140), D),
        (Measure::DiastolicBp, f, w(79), N),
        (Measure::DiastolicBp, f, w(80), B),
        (Measure::DiastolicBp, f, w(90), D),
        (Measure::FastingGlucose, m, w(99), N),
        (Measure::FastingGlucose, m, w(100), B),
        (Measure::FastingGlucose, m, w(125), B),
        (Measure::FastingGlucose, m, w(126), D),
        (Measure::TotalCholesterol, f, w(199), N),
        (Measure::TotalCholesterol, f, w(239), B),
        (Measure::TotalCholesterol, f, w(240), D),
        (Measure::Hdl, m, w(60), N),
        (Measure::Hdl, m, w(59), B),
        (Measure::Hdl, m, w(40), B),
        (Measure::Hdl, m, d(399), D),
        (Measure::Ldl, m, w(129), N),
        (Measure::Ldl, m, w(130), B),
        (Measure::Ldl, m, w(160), D),
        (Measure::Triglycerides, f, w(149), N),
        (Measure::Triglycerides, f, w(150), B),
        (Measure::Triglycerides, f, w(200), D),
        (Measure::Haemoglobin, m, d(130), N),
        (Measure::Haemoglobin, m, d(129), B),
        (Measure::Haemoglobin, m, d(119), D),
        (Measure::Haemoglobin, m, d(165), N),
        (Measure::Haemoglobin, m, d(166), B),
        (Measure::Haemoglobin, f, d(120), N),
        (Measure::Haemoglobin, f, d(100), B),
        (Measure::Haemoglobin, f, d(99), D),
        (Measure::Haemoglobin, f, d(156), B),
        (Measure::Ast, m, w(40), N),
        (Measure::Ast, m, w(41), B),
        (Measure::Ast, m, w(50), B),
        (Measure::Ast, m, w(51), D),
        (Measure::Alt, f, w(35), N),
        (Measure::Alt, f, w(36), B),
        (Measure::Alt, f, w(46), D),
        (Measure::GammaGtp, m, w(63), N),
        (Measure::GammaGtp, m, w(64), B),
        (Measure::GammaGtp, m, w(78), D),
        (Measure::GammaGtp, f, w(35), N),
        (Measure::GammaGtp, f, w(36), B),
        (Measure::GammaGtp, f, w(46), D),
        (Measure::GammaGtp, f, w(5), N),
        (Measure::Egfr, m, w(60), N),
        (Measure::Egfr, m, d(599), D),
        (Measure::Bmi, f, d(184), B),
        (Measure::Bmi, f, d(185), N),
        (Measure::Bmi, f, d(249), N),
        (Measure::Bmi, f, w(25), B),
        (Measure::Bmi, f, d(299), B),
        (Measure::Bmi, f, w(30), D),
        (Measure::Waist, m, d(899), N),
        (Measure::Waist, m, w(90), B),
        (Measure::Waist, f, w(85), B),
        (Measure::Waist, f, d(849), N),
        (Measure::Waist, m, w(130), B),
    ];
    for &(measure, gender, value, expected) in cases {
        assert_eq!(judge(measure, gender, value), Some(expected), "{measure:?} {gender:?} {value}");
    }
    assert_eq!(judge(Measure::Height, m, w(180)), None);
    assert_eq!(judge(Measure::Weight, f, w(50)), None);
    assert_eq!(reference(Measure::Height, m), None);
}

#[test]
fn reference_ranges_print_as_the_nhis_notice_does() {
    let shown = |m, g| reference(m, g).unwrap().display();
    assert_eq!(shown(Measure::SystolicBp, Gender::Male), "120 미만");
    assert_eq!(shown(Measure::DiastolicBp, Gender::Male), "80 미만");
    assert_eq!(shown(Measure::Hdl, Gender::Female), "60 이상");
    assert_eq!(shown(Measure::Ast, Gender::Female), "40 이하");
    assert_eq!(shown(Measure::Bmi, Gender::Female), "18.5–24.9");
    assert_eq!(shown(Measure::Haemoglobin, Gender::Male), "13.0–16.5");
    assert_eq!(shown(Measure::Haemoglobin, Gender::Female), "12.0–15.5");
    assert_eq!(shown(Measure::GammaGtp, Gender::Male), "11–63");
    assert_eq!(shown(Measure::GammaGtp, Gender::Female), "8–35");
    assert_eq!(shown(Measure::Waist, Gender::Male), "90 미만");
    assert_eq!(shown(Measure::Waist, Gender::Female), "85 미만");
    assert_eq!(shown(Measure::Egfr, Gender::Male), "60 이상");
    let r = reference(Measure::FastingGlucose, Gender::Male).unwrap();
    assert_eq!((r.low, r.high, r.high_inclusive), (None, Some(w(100)), false));
}

#[test]
fn the_latest_checkup_gives_one_flag_per_kind_at_its_worst_level() {
    let checkups = [
        checkup(2022, &[(Measure::SystolicBp, w(160)), (Measure::Egfr, w(40))]),
        checkup(
            2026,
            &[
                (Measure::SystolicBp, w(125)),
                (Measure::DiastolicBp, w(95)),
                (Measure::Hdl, w(45)),
                (Measure::Ldl, w(170)),
                (Measure::Triglycerides, w(120)),
                (Measure::Bmi, d(172)),
                (Measure::Haemoglobin, d(170)),
                (Measure::Egfr, w(75)),
                (Measure::Height, w(180)),
            ],
        ),
        checkup(2024, &[(Measure::FastingGlucose, w(140))]),
    ];
    let flags = risk_flags(&checkups, Gender::Male);
    assert_eq!(
        flags,
        vec![
            RiskFlag {
                kind: RiskKind::Hypertension,
                level: Judgement::Disease,
                measures: vec![(Measure::SystolicBp, w(125)), (Measure::DiastolicBp, w(95))],
                year: 2026,
            },
            RiskFlag {
                kind: RiskKind::Dyslipidemia,
                level: Judgement::Disease,
                measures: vec![(Measure::Hdl, w(45)), (Measure::Ldl, w(170))],
                year: 2026,
            },
        ],
        "only the latest year; an underweight BMI is no obesity, a high haemoglobin no anaemia"
    );
    assert!(risk_flags(&[], Gender::Female).is_empty());
    let anaemic = [checkup(2025, &[(Measure::Haemoglobin, d(110)), (Measure::Waist, w(88))])];
    let flags = risk_flags(&anaemic, Gender::Female);
    let kinds: Vec<(RiskKind, Judgement)> = flags.iter().map(|f| (f.kind, f.level)).collect();
    assert_eq!(kinds, [(RiskKind::Obesity, Judgement::Borderline), (RiskKind::Anaemia, Judgement::Borderline)]);
}

#[test]
fn flags_raise_related_categories_above_larger_gaps() {
    let summary = summary(&[
        (Category::Death, 0, 100_000_000),
        (Category::Cancer, 40_000_000, 50_000_000),
        (Category::Cerebrovascular, 20_000_000, 30_000_000),
        (Category::Heart, 30_000_000, 30_000_000),
        (Category::Hospitalization, 90_000, 50_000),
        (Category::Dental, 10_000_000, 1_000_000),
    ]);
    let plain = recommend(&summary, &[]);
    let order: Vec<(Category, u32)> = plain.iter().map(|r| (r.category, r.score)).collect();
    assert_eq!(order, [(Category::Death, 20), (Category::Cerebrovascular, 14), (Category::Cancer, 12)]);
    assert_eq!(plain[0].gap, Won(100_000_000));

    let flags = [flag(RiskKind::Hypertension, Judgement::Disease), flag(RiskKind::Anaemia, Judgement::Borderline)];
    let raised = recommend(&summary, &flags);
    let order: Vec<(u8, Category, u32)> = raised.iter().map(|r| (r.rank, r.category, r.score)).collect();
    assert_eq!(
        order,
        [
            (1, Category::Cerebrovascular, 42),
            (2, Category::Death, 20),
            (3, Category::Cancer, 12),
            (4, Category::Heart, 6),
            (5, Category::Hospitalization, 3),
        ]
    );
    assert_eq!(raised[0].reasons, [RiskKind::Hypertension]);
    assert_eq!((raised[3].status, raised[3].gap), (CoverageStatus::Enough, Won(0)));
    assert!(raised.iter().all(|r| r.category != Category::Dental), "an excess is never recommended");
}

#[test]
fn the_analysis_joins_flags_and_recommendations() {
    let summary = summary(&[(Category::Heart, 0, 30_000_000), (Category::Surgery, 0, 5_000_000)]);
    let checkups = [checkup(2024, &[(Measure::FastingGlucose, w(130))])];
    let analysis = analyse_medical(&summary, &checkups, Gender::Female);
    assert_eq!(analysis.latest_year, Some(2024));
    assert_eq!(analysis.flags.len(), 1);
    assert_eq!(analysis.recommendations.len(), 2);
    assert!(analysis.recommendations.iter().all(|r| r.reasons == [RiskKind::Diabetes] && r.score == 60));
    assert_eq!(analyse_medical(&summary, &[], Gender::Male).latest_year, None);
}

fn arb_summary() -> impl Strategy<Value = Vec<CategorySummary>> {
    proptest::collection::vec((0u64..300, 0u64..200), 10).prop_map(|amounts| {
        Category::ALL
            .iter()
            .zip(amounts)
            .map(|(&category, (held, recommended))| {
                let (held, recommended) = (Won(held * 1_000_000), Won(recommended * 1_000_000));
                CategorySummary { category, held, recommended, status: CoverageStatus::of(held, recommended) }
            })
            .collect()
    })
}

fn arb_flag() -> impl Strategy<Value = RiskFlag> {
    (0usize..RiskKind::ALL.len(), any::<bool>()).prop_map(|(k, disease)| {
        flag(RiskKind::ALL[k], if disease { Judgement::Disease } else { Judgement::Borderline })
    })
}

fn score_of(recs: &[Recommendation], category: Category) -> u32 {
    recs.iter().find(|r| r.category == category).map_or(0, |r| r.score)
}

const HIGHER_IS_WORSE: [Measure; 10] = [
    Measure::SystolicBp,
    Measure::DiastolicBp,
    Measure::FastingGlucose,
    Measure::TotalCholesterol,
    Measure::Ldl,
    Measure::Triglycerides,
    Measure::Ast,
    Measure::Alt,
    Measure::GammaGtp,
    Measure::Waist,
];

proptest! {
    /// Ranks are 1..=n, scores never rise down the list (ties in category order), no
    /// EXCESS and no zero score is listed, and the same input gives the same output.
    #[test]
    fn the_ranking_is_contiguous_ordered_and_deterministic(
        summary in arb_summary(),
        flags in proptest::collection::vec(arb_flag(), 0..8),
    ) {
        let recs = recommend(&summary, &flags);
        for (i, r) in recs.iter().enumerate() {
            prop_assert_eq!(usize::from(r.rank), i + 1);
            prop_assert!(r.score > 0);
            prop_assert!(r.status != CoverageStatus::Excess);
            let s = summary.iter().find(|s| s.category == r.category).unwrap();
            prop_assert_eq!(r.gap.0, s.recommended.0.saturating_sub(s.held.0));
        }
        for pair in recs.windows(2) {
            prop_assert!(
                pair[0].score > pair[1].score
                    || (pair[0].score == pair[1].score && pair[0].category < pair[1].category)
            );
        }
        prop_assert_eq!(recommend(&summary, &flags), recs);
    }

    /// Adding a flag never lowers any category's score.
    #[test]
    fn a_flag_never_lowers_a_score(
        summary in arb_summary(),
        flags in proptest::collection::vec(arb_flag(), 0..6),
        extra in arb_flag(),
    ) {
        let before = recommend(&summary, &flags);
        let mut more = flags.clone();
        more.push(extra);
        let after = recommend(&summary, &more);
        for category in Category::ALL {
            prop_assert!(score_of(&after, category) >= score_of(&before, category), "{:?}", category);
        }
    }

    /// Without flags only shortfalls are listed, the largest share missing first.
    #[test]
    fn without_flags_the_order_follows_the_gaps(summary in arb_summary()) {
        let recs = recommend(&summary, &[]);
        let lacking = summary.iter().filter(|s| s.status == CoverageStatus::Lack).count();
        prop_assert_eq!(recs.len(), lacking);
        let share = |r: &Recommendation| {
            let s = summary.iter().find(|s| s.category == r.category).unwrap();
            (u128::from(r.gap.0) * 10).div_ceil(u128::from(s.recommended.0))
        };
        for pair in recs.windows(2) {
            prop_assert!(share(&pair[0]) >= share(&pair[1]));
            prop_assert!(pair[0].reasons.is_empty());
        }
    }

    /// For "higher is worse" measures a higher value is never judged better; for HDL and
    /// eGFR a lower one never is; and normal is exactly the reference range.
    #[test]
    fn judgements_are_monotone_and_match_the_reference(
        a in 0i64..5_000,
        b in 0i64..5_000,
        female in any::<bool>(),
    ) {
        let gender = if female { Gender::Female } else { Gender::Male };
        let (low, high) = (d(a.min(b)), d(a.max(b)));
        for m in HIGHER_IS_WORSE {
            prop_assert!(judge(m, gender, low) <= judge(m, gender, high), "{:?} {} {}", m, low, high);
        }
        for m in [Measure::Hdl, Measure::Egfr] {
            prop_assert!(judge(m, gender, low) >= judge(m, gender, high), "{:?} {} {}", m, low, high);
        }
        for m in Measure::ALL {
            let (Some(j), Some(r)) = (judge(m, gender, low), reference(m, gender)) else { continue };
            let below_gtp = m == Measure::GammaGtp && r.is_below(low);
            prop_assert_eq!(j == Judgement::Normal, r.contains(low) || below_gtp, "{:?} {}", m, low);
        }
    }
}

#[test]
fn a_checkup_reads_its_values() {
    let c = checkup(2026, &[(Measure::Alt, w(20))]);
    assert_eq!(c.value(Measure::Alt), Some(w(20)));
    assert_eq!(c.value(Measure::Ast), None);
    assert_eq!(c.date, date!(2026 - 06 - 01));
}
