//! The `sandbox` insurance-data adapter (`domain::ports::InsuranceData`; `funnel.md`
//! "Providers"): test data, deterministic from the person, plausible for Korea.
//!
//! Invariants:
//! - the same person (name, birth date, phone) always gets the same contracts; another
//!   person almost surely other ones: the generator is seeded by SHA-256 of the three;
//! - 2 to 8 contracts, each from an insurer operating in Korea (life insurers sell life
//!   products, non-life insurers non-life ones), signed on or after the person's 19th
//!   birthday (or birth, for a minor: a parent's policy) and not in the future;
//! - about one contract in seven is no longer in force (`LAPSED` or `MATURED`);
//! - amounts are whole won: coverages in steps of 1,000,000 (실손 and 배상책임 in their
//!   usual fixed limits), premiums in steps of 100;
//! - nothing here is real data: it is documented as test data (`docs/providers.md`).

use crate::sandbox_rng::SplitMix;
use domain::funnel::coverage::{Category, Contract, ContractStatus, Coverage, Won};
use domain::funnel::identity::IdentityClaim;
use domain::ports::{InsuranceData, ProviderFailure};
use time::{Date, Duration, OffsetDateTime};

/// Life insurers (생명보험) operating in Korea.
const LIFE: &[&str] = &[
    "삼성생명",
    "한화생명",
    "교보생명",
    "신한라이프",
    "NH농협생명",
    "미래에셋생명",
    "동양생명",
    "흥국생명",
    "KB라이프",
    "라이나생명",
];
/// Non-life insurers (손해보험) operating in Korea.
const NON_LIFE: &[&str] = &[
    "삼성화재",
    "현대해상",
    "DB손해보험",
    "KB손해보험",
    "메리츠화재",
    "한화손해보험",
    "롯데손해보험",
    "흥국화재",
    "NH농협손해보험",
];

/// A product: its name, whether a life insurer sells it, and its coverages as
/// `(category, lowest, highest)` in millions of won (`0, 0` for a fixed amount below).
struct Product {
    name: &'static str,
    life: bool,
    coverages: &'static [(Category, u64, u64)],
}

const PRODUCTS: &[Product] = &[
    Product {
        name: "무배당 종신보험",
        life: true,
        coverages: &[(Category::Death, 50, 300), (Category::Disability, 10, 50)],
    },
    Product { name: "정기보험", life: true, coverages: &[(Category::Death, 50, 200)] },
    Product {
        name: "CI보험",
        life: true,
        coverages: &[
            (Category::Death, 30, 100),
            (Category::Cancer, 20, 50),
            (Category::Cerebrovascular, 10, 30),
            (Category::Heart, 10, 30),
        ],
    },
    Product {
        name: "암보험",
        life: true,
        coverages: &[(Category::Cancer, 20, 100), (Category::Hospitalization, 1, 5), (Category::Surgery, 1, 5)],
    },
    Product {
        name: "건강보험",
        life: false,
        coverages: &[
            (Category::Cancer, 10, 50),
            (Category::Cerebrovascular, 10, 50),
            (Category::Heart, 10, 50),
            (Category::Surgery, 1, 10),
            (Category::Disability, 10, 100),
        ],
    },
    Product { name: "실손의료보험", life: false, coverages: &[(Category::MedicalExpense, 0, 0)] },
    Product {
        name: "운전자보험",
        life: false,
        coverages: &[(Category::Disability, 10, 100), (Category::Liability, 0, 0)],
    },
    Product { name: "치아보험", life: false, coverages: &[(Category::Dental, 1, 5)] },
    Product {
        name: "종합보험",
        life: false,
        coverages: &[
            (Category::Death, 10, 100),
            (Category::Hospitalization, 1, 5),
            (Category::Surgery, 1, 5),
            (Category::Liability, 0, 0),
        ],
    },
];

/// The usual fixed limits: 실손의료비 50,000,000 per year, 일상생활배상책임 100,000,000.
fn fixed_amount(category: Category) -> Won {
    match category {
        Category::MedicalExpense => Won(50_000_000),
        _ => Won(100_000_000),
    }
}

/// Uniform in `low..=high` (`high >= low`).
fn between(rng: &mut SplitMix, low: u64, high: u64) -> u64 {
    low + rng.next() % (high - low + 1)
}

/// The `sandbox` adapter; `today` fixes the calendar (tests) or follows the clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SandboxInsurance {
    pub today: Option<Date>,
}

impl SandboxInsurance {
    /// The contracts of `person`, as of `today`.
    #[must_use]
    pub fn contracts_on(person: &IdentityClaim, today: Date) -> Vec<Contract> {
        let birth = *person.birth_date.expose();
        let seed_text = format!("{}|{}|{}", person.name.expose().as_str(), birth, person.phone.expose().e164());
        let mut rng = SplitMix::seeded(&seed_text);
        let adult = birth.replace_year(birth.year() + 19).unwrap_or(birth);
        let earliest = if adult <= today { adult } else { birth };
        let span_days = (today - earliest).whole_days().max(0);
        let count = between(&mut rng, 2, 8);
        (0..count)
            .map(|_| {
                let product = &PRODUCTS[usize::try_from(rng.next() % PRODUCTS.len() as u64).unwrap_or(0)];
                let insurers = if product.life { LIFE } else { NON_LIFE };
                let insurer = insurers[usize::try_from(rng.next() % insurers.len() as u64).unwrap_or(0)];
                let back = i64::try_from(between(&mut rng, 0, u64::try_from(span_days).unwrap_or(0))).unwrap_or(0);
                let contract_date = today - Duration::days(back);
                let status = match rng.next() % 14 {
                    0 => ContractStatus::Lapsed,
                    1 => ContractStatus::Matured,
                    _ => ContractStatus::Active,
                };
                let coverages: Vec<Coverage> = product
                    .coverages
                    .iter()
                    .map(|&(category, low, high)| Coverage {
                        category,
                        amount: if high == 0 {
                            fixed_amount(category)
                        } else {
                            Won(between(&mut rng, low, high) * 1_000_000)
                        },
                    })
                    .collect();
                // About 0.05 % of the insured amount a month, at least 9,900 won, in 100s.
                let insured: u64 = coverages.iter().map(|c| c.amount.0).sum();
                let premium = (insured / 2_000).max(9_900) * between(&mut rng, 80, 120) / 100 / 100 * 100;
                Contract {
                    insurer: insurer.to_owned(),
                    product: format!("{insurer} {}", product.name),
                    contract_date,
                    status,
                    monthly_premium: Won(premium),
                    coverages,
                }
            })
            .collect()
    }
}

impl InsuranceData for SandboxInsurance {
    async fn contracts(&self, person: &IdentityClaim) -> Result<Vec<Contract>, ProviderFailure> {
        let today = self.today.unwrap_or_else(|| OffsetDateTime::now_utc().date());
        Ok(Self::contracts_on(person, today))
    }
}

#[cfg(test)]
mod tests {
    use domain::funnel::identity::IdentityFields;
    use time::macros::date;

    use super::*;

    const TODAY: Date = date!(2026 - 12 - 03);

    fn person(name: &'static str, birth: &'static str, phone: &'static str) -> IdentityClaim {
        let fields = IdentityFields {
            name: Some(name),
            birth_date: Some(birth),
            gender: Some("F"),
            phone: Some(phone),
            carrier: Some("SKT"),
            mohom_id: None,
        };
        IdentityClaim::parse(&fields, TODAY).unwrap()
    }

    #[test]
    fn the_same_person_gets_the_same_contracts_and_another_other_ones() {
        let a = person("홍길동", "1985-04-12", "010-1234-5678");
        assert_eq!(SandboxInsurance::contracts_on(&a, TODAY), SandboxInsurance::contracts_on(&a, TODAY));
        let b = person("홍길동", "1985-04-12", "010-1234-5679");
        assert_ne!(SandboxInsurance::contracts_on(&a, TODAY), SandboxInsurance::contracts_on(&b, TODAY));
    }

    #[test]
    fn contracts_are_plausible_for_many_people() {
        let mut inactive = 0;
        let mut total = 0;
        for i in 0..300u32 {
            let phone = format!("010-5{:03}-{:04}", i % 1000, i);
            let birth = format!("{}-0{}-1{}", 1940 + i % 80, 1 + i % 9, i % 10);
            let claim = IdentityClaim::parse(
                &IdentityFields {
                    name: Some("김민수"),
                    birth_date: Some(&birth),
                    gender: Some("M"),
                    phone: Some(&phone),
                    carrier: Some("KT"),
                    mohom_id: None,
                },
                TODAY,
            )
            .unwrap();
            let birth_date = *claim.birth_date.expose();
            let contracts = SandboxInsurance::contracts_on(&claim, TODAY);
            assert!((2..=8).contains(&contracts.len()), "{}", contracts.len());
            for c in &contracts {
                total += 1;
                inactive += usize::from(c.status != ContractStatus::Active);
                assert!(c.contract_date <= TODAY && c.contract_date >= birth_date, "{c:?}");
                let life = LIFE.contains(&c.insurer.as_str());
                assert!(life || NON_LIFE.contains(&c.insurer.as_str()));
                assert!(c.product.starts_with(&c.insurer));
                assert!(c.monthly_premium.0 >= 7_900 && c.monthly_premium.0 % 100 == 0, "{}", c.monthly_premium.0);
                assert!(!c.coverages.is_empty() && c.coverages.iter().all(|v| v.amount.0 >= 1_000_000));
            }
        }
        assert!(inactive * 100 / total < 25, "{inactive} of {total} not in force");
        assert!(inactive > 0);
    }
}
