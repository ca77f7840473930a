use proptest::prelude::*;
use time::macros::date;

use super::*;

fn table() -> RecommendationTable {
    let band = |from, to, gender, death, cancer| RecommendationBand {
        age_from: from,
        age_to: to,
        gender,
        amounts: vec![
            (Category::Death, Won(death)),
            (Category::Cancer, Won(cancer)),
            (Category::MedicalExpense, Won(50_000_000)),
        ],
    };
    RecommendationTable {
        version: "2026.12".to_owned(),
        bands: vec![
            band(20, 39, Gender::Male, 100_000_000, 50_000_000),
            band(40, 59, Gender::Male, 150_000_000, 60_000_000),
            band(20, 39, Gender::Female, 80_000_000, 60_000_000),
            band(40, 59, Gender::Female, 100_000_000, 70_000_000),
        ],
    }
}

fn contract(status: ContractStatus, premium: u64, coverages: &[(Category, u64)]) -> Contract {
    Contract {
        insurer: "삼성생명".to_owned(),
        product: "종신보험".to_owned(),
        contract_date: date!(2015 - 03 - 01),
        status,
        monthly_premium: Won(premium),
        coverages: coverages.iter().map(|(c, a)| Coverage { category: *c, amount: Won(*a) }).collect(),
    }
}

const TODAY: Date = date!(2026 - 12 - 03);

fn summary_of(analysis: &Analysis, category: Category) -> &CategorySummary {
    analysis.summary.iter().find(|s| s.category == category).unwrap()
}

#[test]
fn age_counts_full_years_only() {
    assert_eq!(age_on(date!(1985 - 12 - 04), TODAY), 40);
    assert_eq!(age_on(date!(1985 - 12 - 03), TODAY), 41);
    assert_eq!(age_on(date!(2027 - 01 - 01), TODAY), 0);
}

#[test]
fn held_sums_the_contracts_in_force_and_lapsed_ones_do_not_count() {
    let contracts = [
        contract(ContractStatus::Active, 120_000, &[(Category::Death, 100_000_000), (Category::Cancer, 30_000_000)]),
        contract(ContractStatus::Active, 45_000, &[(Category::Cancer, 20_000_000)]),
        contract(ContractStatus::Lapsed, 80_000, &[(Category::Death, 500_000_000)]),
    ];
    let analysis = analyse(&contracts, date!(1985 - 04 - 12), Gender::Male, TODAY, &table()).unwrap();
    assert_eq!(analysis.age, 41);
    assert_eq!(analysis.monthly_premium_total, Won(165_000));
    let death = summary_of(&analysis, Category::Death);
    assert_eq!(
        (death.held, death.recommended, death.status),
        (Won(100_000_000), Won(150_000_000), CoverageStatus::Lack)
    );
    let cancer = summary_of(&analysis, Category::Cancer);
    assert_eq!(
        (cancer.held, cancer.recommended, cancer.status),
        (Won(50_000_000), Won(60_000_000), CoverageStatus::Lack)
    );
    let medical = summary_of(&analysis, Category::MedicalExpense);
    assert_eq!((medical.held, medical.status), (Won(0), CoverageStatus::Lack));
    let dental = summary_of(&analysis, Category::Dental);
    assert_eq!((dental.recommended, dental.status), (Won(0), CoverageStatus::Enough), "nothing held, nothing needed");
    assert_eq!(analysis.table_version, "2026.12");
}

#[test]
fn the_status_is_lack_below_enough_up_to_twice_and_excess_above() {
    assert_eq!(CoverageStatus::of(Won(99), Won(100)), CoverageStatus::Lack);
    assert_eq!(CoverageStatus::of(Won(100), Won(100)), CoverageStatus::Enough);
    assert_eq!(CoverageStatus::of(Won(200), Won(100)), CoverageStatus::Enough);
    assert_eq!(CoverageStatus::of(Won(201), Won(100)), CoverageStatus::Excess);
    assert_eq!(CoverageStatus::of(Won(1), Won(0)), CoverageStatus::Excess);
}

#[test]
fn an_age_outside_every_band_takes_the_nearest_of_its_gender() {
    let t = table();
    assert_eq!(t.band(72, Gender::Female).unwrap().age_from, 40);
    assert_eq!(t.band(12, Gender::Male).unwrap().age_from, 20);
    let empty = RecommendationTable { version: "x".into(), bands: vec![] };
    assert_eq!(analyse(&[], date!(1990 - 01 - 01), Gender::Male, TODAY, &empty), Err(AnalysisError::NoBand));
}

#[test]
fn categories_round_trip_by_code() {
    for category in Category::ALL {
        assert_eq!(Category::parse(category.code()), Some(category));
    }
    assert_eq!(Category::parse("death"), None);
}

fn arb_contract() -> impl Strategy<Value = Contract> {
    let status = prop_oneof![Just(ContractStatus::Active), Just(ContractStatus::Lapsed), Just(ContractStatus::Matured)];
    let coverage = (0usize..10, 0u64..1_000_000_000).prop_map(|(c, a)| (Category::ALL[c], a));
    (status, 0u64..1_000_000, proptest::collection::vec(coverage, 0..6))
        .prop_map(|(status, premium, coverages)| contract(status, premium, &coverages))
}

proptest! {
    /// Held totals equal the in-force coverages, premiums add up, every category appears
    /// once in order, and the same input gives the same output.
    #[test]
    fn totals_equal_the_contracts_and_the_analysis_is_deterministic(
        contracts in proptest::collection::vec(arb_contract(), 0..9),
        birth_year in 1930i32..2008,
        female in any::<bool>(),
    ) {
        let gender = if female { Gender::Female } else { Gender::Male };
        let birth = Date::from_calendar_date(birth_year, time::Month::June, 15).unwrap();
        let analysis = analyse(&contracts, birth, gender, TODAY, &table()).unwrap();
        let in_force = contracts.iter().filter(|c| c.status == ContractStatus::Active);
        let coverage_total: u64 = in_force.clone().flat_map(|c| &c.coverages).map(|c| c.amount.0).sum();
        let held_total: u64 = analysis.summary.iter().map(|s| s.held.0).sum();
        prop_assert_eq!(held_total, coverage_total);
        let premiums: u64 = in_force.map(|c| c.monthly_premium.0).sum();
        prop_assert_eq!(analysis.monthly_premium_total.0, premiums);
        let order: Vec<Category> = analysis.summary.iter().map(|s| s.category).collect();
        prop_assert_eq!(order, Category::ALL.to_vec());
        for s in &analysis.summary {
            prop_assert_eq!(s.status, CoverageStatus::of(s.held, s.recommended));
        }
        prop_assert_eq!(analyse(&contracts, birth, gender, TODAY, &table()).unwrap(), analysis);
    }
}
