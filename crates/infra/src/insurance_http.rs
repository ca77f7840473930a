//! The insurance-data port's adapters as configured ([`InsuranceAdapter`]: `none`,
//! `sandbox`, `http`) and the `http` adapter's client (`docs/providers.md`).
//!
//! Invariants of the `http` adapter:
//! - `POST <insurance_url>/contracts` with `Authorization: Bearer <token>` and the
//!   person `{name, birthDate, gender, phone}` (E.164); 10 s timeout, redirects not
//!   followed, the answer read to at most [`MAX_ANSWER_BYTES`];
//! - only a 200 whose body parses whole is taken: every contract's status, date,
//!   category and amount must be known and well formed, or the answer is refused as a
//!   whole (a partial analysis would mislead the person);
//! - a failure's reason names the status or the error class, never the person.

use std::time::Duration;

use domain::funnel::coverage::{Category, Contract, ContractStatus, Coverage, Won};
use domain::funnel::identity::IdentityClaim;
use domain::ports::{InsuranceData, ProviderFailure};
use serde::Deserialize;
use time::Date;

use crate::config::{FunnelSettings, InsuranceAdapterKind};
use crate::insurance_sandbox::SandboxInsurance;
use crate::provider_http::ProviderClient;

/// How long the registry has to answer.
pub const INSURANCE_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read (the shared provider client's).
pub use crate::provider_http::MAX_ANSWER_BYTES;

/// The configured insurance-data adapter.
#[derive(Clone)]
pub enum InsuranceAdapter {
    Disabled,
    Sandbox(SandboxInsurance),
    Http(HttpInsurance),
}

impl InsuranceAdapter {
    /// The adapter `settings` name.
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn from_settings(settings: &FunnelSettings) -> anyhow::Result<Self> {
        Ok(match settings.insurance {
            InsuranceAdapterKind::None => Self::Disabled,
            InsuranceAdapterKind::Sandbox => Self::Sandbox(SandboxInsurance::default()),
            InsuranceAdapterKind::Http => {
                Self::Http(HttpInsurance::new(&settings.insurance_url, &settings.insurance_token)?)
            }
        })
    }
}

impl InsuranceData for InsuranceAdapter {
    async fn contracts(&self, person: &IdentityClaim) -> Result<Vec<Contract>, ProviderFailure> {
        match self {
            Self::Disabled => Err(ProviderFailure("no insurance-data provider is configured".to_owned())),
            Self::Sandbox(sandbox) => sandbox.contracts(person).await,
            Self::Http(http) => http.contracts(person).await,
        }
    }
}

/// The `http` adapter.
#[derive(Clone)]
pub struct HttpInsurance {
    client: ProviderClient,
    url: String,
}

impl HttpInsurance {
    /// # Errors
    /// The TLS configuration or the client cannot be built.
    pub fn new(base_url: &str, token: &str) -> anyhow::Result<Self> {
        let client = ProviderClient::new("insurance-data", INSURANCE_TIMEOUT, token)?;
        let url = format!("{}/contracts", base_url.trim().trim_end_matches('/'));
        Ok(Self { client, url })
    }

    async fn contracts(&self, person: &IdentityClaim) -> Result<Vec<Contract>, ProviderFailure> {
        let body = serde_json::json!({
            "name": person.name.expose().as_str(),
            "birthDate": person.birth_date.expose().to_string(),
            "gender": person.gender.as_str(),
            "phone": person.phone.expose().e164(),
        });
        let bytes = self.client.post(&self.url, &body).await?;
        parse_answer(&bytes)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    contracts: Vec<AnswerContract>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnswerContract {
    insurer: String,
    product: String,
    contract_date: String,
    status: String,
    monthly_premium: u64,
    coverages: Vec<AnswerCoverage>,
}

#[derive(Deserialize)]
struct AnswerCoverage {
    category: String,
    amount: u64,
}

/// The contracts of a provider's answer, or why it is refused as a whole.
fn parse_answer(bytes: &[u8]) -> Result<Vec<Contract>, ProviderFailure> {
    let refused = |why: String| ProviderFailure(format!("the insurance-data answer is malformed: {why}"));
    let answer: Answer =
        serde_json::from_slice(bytes).map_err(|e| refused(format!("line {} column {}", e.line(), e.column())))?;
    answer
        .contracts
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let status = match c.status.as_str() {
                "ACTIVE" => ContractStatus::Active,
                "LAPSED" => ContractStatus::Lapsed,
                "MATURED" => ContractStatus::Matured,
                _ => return Err(refused(format!("contracts[{i}].status"))),
            };
            let contract_date =
                Date::parse(&c.contract_date, time::macros::format_description!("[year]-[month]-[day]"))
                    .map_err(|_| refused(format!("contracts[{i}].contractDate")))?;
            let text = |v: &str| !v.trim().is_empty() && v.chars().count() <= 200 && !v.chars().any(char::is_control);
            if !text(&c.insurer) || !text(&c.product) {
                return Err(refused(format!("contracts[{i}].insurer or product")));
            }
            let coverages = c
                .coverages
                .into_iter()
                .enumerate()
                .map(|(j, v)| {
                    Category::parse(&v.category)
                        .map(|category| Coverage { category, amount: Won(v.amount) })
                        .ok_or_else(|| refused(format!("contracts[{i}].coverages[{j}].category")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Contract {
                insurer: c.insurer.trim().to_owned(),
                product: c.product.trim().to_owned(),
                contract_date,
                status,
                monthly_premium: Won(c.monthly_premium),
                coverages,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_answer_parses_and_any_unknown_part_refuses_it() {
        let good = r#"{"contracts":[{"insurer":"삼성화재","product":"실손의료보험","contractDate":"2020-01-31",
            "status":"ACTIVE","monthlyPremium":23700,"coverages":[{"category":"MEDICAL_EXPENSE","amount":50000000}]}]}"#;
        let contracts = parse_answer(good.as_bytes()).unwrap();
        assert_eq!(contracts[0].coverages[0], Coverage { category: Category::MedicalExpense, amount: Won(50_000_000) });
        let text = good;
        for (from, to) in
            [("MEDICAL_EXPENSE", "DENTISTRY"), ("ACTIVE", "PAUSED"), ("2020-01-31", "31/01/2020"), ("23700", "-1")]
        {
            let bad = text.replace(from, to);
            assert!(parse_answer(bad.as_bytes()).is_err(), "{to}");
        }
        assert!(parse_answer(b"<html>").unwrap_err().0.contains("malformed"));
    }
}
