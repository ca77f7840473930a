//! The health-data port's adapters as configured ([`HealthAdapter`]: `none`,
//! `sandbox`, `http`) and the `http` adapter's client (`docs/providers.md` "Health
//! data").
//!
//! Invariants of the `http` adapter:
//! - three calls under `<nhis_url>`, each `POST` with `Authorization: Bearer <token>`
//!   and a JSON body: `/nhis/auth` (the person `{name, birthDate, gender, phone,
//!   carrier}` and `authProvider`), `/nhis/auth/status` (`{reference}`),
//!   `/nhis/checkups` (the person and `reference`); 10 s timeout, redirects not
//!   followed, each answer read to at most [`MAX_ANSWER_BYTES`];
//! - only a 200 whose body parses whole is taken: a session needs a printable
//!   reference and an RFC 3339 expiry after now; a status one of the four codes;
//!   every check-up a year, a date in that year, and values that are known measure
//!   codes with non-negative decimals of at most one decimal place. Anything else
//!   refuses the answer as a whole (a partial record would mislead the analysis);
//! - a failure's reason names the status, the error class or the field, never the
//!   person.

use std::str::FromStr;
use std::time::Duration;

use domain::funnel::identity::IdentityClaim;
use domain::funnel::medical::{AuthProvider, AuthStatus, Checkup, Measure};
use domain::ports::{HealthAuthTicket, HealthData, ProviderFailure};
use rust_decimal::Decimal;
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use crate::nhis_sandbox::SandboxHealth;
use crate::provider_http::ProviderClient;

/// How long the provider has to answer one call.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read (the shared provider client's).
pub use crate::provider_http::MAX_ANSWER_BYTES;
/// The largest value a check-up may report (no measure reaches it).
const MAX_VALUE: i64 = 10_000;

/// The configured health-data adapter.
#[derive(Clone)]
pub enum HealthAdapter {
    Disabled,
    Sandbox(SandboxHealth),
    Http(HttpHealth),
}

impl HealthData for HealthAdapter {
    async fn start_auth(
        &self,
        person: &IdentityClaim,
        provider: AuthProvider,
        now: OffsetDateTime,
    ) -> Result<HealthAuthTicket, ProviderFailure> {
        match self {
            Self::Disabled => Err(disabled()),
            Self::Sandbox(sandbox) => sandbox.start_auth(person, provider, now).await,
            Self::Http(http) => http.start_auth(person, provider, now).await,
        }
    }

    async fn auth_status(&self, reference: &str, now: OffsetDateTime) -> Result<AuthStatus, ProviderFailure> {
        match self {
            Self::Disabled => Err(disabled()),
            Self::Sandbox(sandbox) => sandbox.auth_status(reference, now).await,
            Self::Http(http) => http.auth_status(reference).await,
        }
    }

    async fn checkups(&self, person: &IdentityClaim, reference: &str) -> Result<Vec<Checkup>, ProviderFailure> {
        match self {
            Self::Disabled => Err(disabled()),
            Self::Sandbox(sandbox) => sandbox.checkups(person, reference).await,
            Self::Http(http) => http.checkups(person, reference).await,
        }
    }
}

fn disabled() -> ProviderFailure {
    ProviderFailure("no health-data provider is configured".to_owned())
}

/// The `http` adapter.
#[derive(Clone)]
pub struct HttpHealth {
    client: ProviderClient,
    base: String,
}

impl HttpHealth {
    /// # Errors
    /// The TLS configuration or the client cannot be built.
    pub fn new(base_url: &str, token: &str) -> anyhow::Result<Self> {
        let client = ProviderClient::new("health-data", HEALTH_TIMEOUT, token)?;
        Ok(Self { client, base: base_url.trim().trim_end_matches('/').to_owned() })
    }

    async fn start_auth(
        &self,
        person: &IdentityClaim,
        provider: AuthProvider,
        now: OffsetDateTime,
    ) -> Result<HealthAuthTicket, ProviderFailure> {
        let mut body = person_json(person);
        body["authProvider"] = provider.code().into();
        let bytes = self.post("/nhis/auth", &body).await?;
        parse_ticket(&bytes, now)
    }

    async fn auth_status(&self, reference: &str) -> Result<AuthStatus, ProviderFailure> {
        let bytes = self.post("/nhis/auth/status", &serde_json::json!({ "reference": reference })).await?;
        parse_status(&bytes)
    }

    async fn checkups(&self, person: &IdentityClaim, reference: &str) -> Result<Vec<Checkup>, ProviderFailure> {
        let mut body = person_json(person);
        body["reference"] = reference.into();
        let bytes = self.post("/nhis/checkups", &body).await?;
        parse_checkups(&bytes)
    }

    /// Posts `body` to `<base><path>` (the shared provider client's rules).
    async fn post(&self, path: &str, body: &serde_json::Value) -> Result<Vec<u8>, ProviderFailure> {
        self.client.post(&format!("{}{path}", self.base), body).await
    }
}

/// The person as every call that names them sends it.
fn person_json(person: &IdentityClaim) -> serde_json::Value {
    serde_json::json!({
        "name": person.name.expose().as_str(),
        "birthDate": person.birth_date.expose().to_string(),
        "gender": person.gender.as_str(),
        "phone": person.phone.expose().e164(),
        "carrier": person.carrier.as_str(),
    })
}

fn refused(why: &str) -> ProviderFailure {
    ProviderFailure(format!("the health-data answer is malformed: {why}"))
}

fn json<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, ProviderFailure> {
    serde_json::from_slice(bytes).map_err(|e| refused(&format!("line {} column {}", e.line(), e.column())))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TicketAnswer {
    reference: String,
    expires_at: String,
}

fn parse_ticket(bytes: &[u8], now: OffsetDateTime) -> Result<HealthAuthTicket, ProviderFailure> {
    let answer: TicketAnswer = json(bytes)?;
    let reference = answer.reference.trim();
    let printable = |v: &str| !v.is_empty() && v.chars().count() <= 500 && !v.chars().any(char::is_control);
    if !printable(reference) {
        return Err(refused("reference"));
    }
    let expires_at = OffsetDateTime::parse(&answer.expires_at, &Rfc3339)
        .ok()
        .filter(|at| *at > now)
        .ok_or_else(|| refused("expiresAt"))?;
    Ok(HealthAuthTicket { reference: reference.to_owned(), expires_at })
}

#[derive(Deserialize)]
struct StatusAnswer {
    status: String,
}

fn parse_status(bytes: &[u8]) -> Result<AuthStatus, ProviderFailure> {
    let answer: StatusAnswer = json(bytes)?;
    AuthStatus::parse(&answer.status).ok_or_else(|| refused("status"))
}

#[derive(Deserialize)]
struct CheckupsAnswer {
    checkups: Vec<CheckupAnswer>,
}

#[derive(Deserialize)]
struct CheckupAnswer {
    year: i32,
    date: String,
    /// Measure code → value as a decimal string, e.g. `{"systolicBp": "128.0"}`.
    values: std::collections::BTreeMap<String, String>,
}

/// The check-ups of a provider's answer, or why it is refused as a whole.
fn parse_checkups(bytes: &[u8]) -> Result<Vec<Checkup>, ProviderFailure> {
    let answer: CheckupsAnswer = json(bytes)?;
    answer
        .checkups
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let date = Date::parse(&c.date, time::macros::format_description!("[year]-[month]-[day]"))
                .ok()
                .filter(|d| d.year() == c.year)
                .ok_or_else(|| refused(&format!("checkups[{i}].date")))?;
            let mut values = c
                .values
                .iter()
                .map(|(code, raw)| {
                    let measure = Measure::parse(code).ok_or_else(|| refused(&format!("checkups[{i}].values")))?;
                    let value = Decimal::from_str(raw.trim())
                        .ok()
                        .filter(|v| v.scale() <= 1 && !v.is_sign_negative() && *v < Decimal::from(MAX_VALUE))
                        .map(|mut v| {
                            v.rescale(1);
                            v
                        })
                        .ok_or_else(|| refused(&format!("checkups[{i}].values.{}", measure.code())))?;
                    Ok((measure, value))
                })
                .collect::<Result<Vec<_>, ProviderFailure>>()?;
            values.sort_by_key(|(m, _)| *m);
            Ok(Checkup { year: c.year, date, values })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use domain::funnel::identity::IdentityFields;
    use testkit::receiver::Receiver;
    use time::macros::{date, datetime};

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-12-03 10:00 UTC);

    fn person() -> IdentityClaim {
        let fields = IdentityFields {
            name: Some("김카나리"),
            birth_date: Some("1961-03-09"),
            gender: Some("F"),
            phone: Some("010-7654-3219"),
            carrier: Some("KT_MVNO"),
            mohom_id: None,
        };
        IdentityClaim::parse(&fields, date!(2026 - 12 - 03)).unwrap()
    }

    const CHECKUPS: &str = r#"{"checkups":[{"year":2024,"date":"2024-05-14",
        "values":{"systolicBp":"128","diastolicBp":"84.0","gammaGtp":"31.5","height":"158.2"}}]}"#;

    #[test]
    fn a_whole_answer_parses_and_any_unknown_part_refuses_it() {
        let checkups = parse_checkups(CHECKUPS.as_bytes()).unwrap();
        assert_eq!(checkups.len(), 1);
        assert_eq!(checkups[0].date, date!(2024 - 05 - 14));
        let codes: Vec<Measure> = checkups[0].values.iter().map(|(m, _)| *m).collect();
        assert_eq!(codes, [Measure::Height, Measure::SystolicBp, Measure::DiastolicBp, Measure::GammaGtp]);
        assert_eq!(checkups[0].value(Measure::SystolicBp).unwrap().to_string(), "128.0");
        for (from, to, field) in [
            ("gammaGtp", "ggt", "checkups[0].values"),
            ("\"128\"", "\"128.25\"", "checkups[0].values.systolicBp"),
            ("\"84.0\"", "\"-84\"", "checkups[0].values.diastolicBp"),
            ("\"31.5\"", "\"abc\"", "checkups[0].values.gammaGtp"),
            ("\"158.2\"", "\"99999\"", "checkups[0].values.height"),
            ("2024-05-14", "2023-05-14", "checkups[0].date"),
            ("2024-05-14", "14/05/2024", "checkups[0].date"),
        ] {
            let err = parse_checkups(CHECKUPS.replace(from, to).as_bytes()).unwrap_err();
            assert!(err.0.ends_with(field), "{to}: {err}");
        }
        assert!(parse_checkups(b"<html>").unwrap_err().0.contains("malformed"));
        assert!(parse_checkups(br#"{"checkups":[{"year":2024,"date":"2024-05-14"}]}"#).is_err());

        let ticket = parse_ticket(br#"{"reference":"nhis-7f3a","expiresAt":"2026-12-03T10:05:00Z"}"#, NOW).unwrap();
        assert_eq!(
            ticket,
            HealthAuthTicket { reference: "nhis-7f3a".into(), expires_at: NOW + time::Duration::minutes(5) }
        );
        let stale = parse_ticket(br#"{"reference":"r","expiresAt":"2026-12-03T09:59:00Z"}"#, NOW).unwrap_err();
        assert!(stale.0.ends_with("expiresAt"));
        assert!(
            parse_ticket(br#"{"reference":" ","expiresAt":"2026-12-03T10:05:00Z"}"#, NOW)
                .unwrap_err()
                .0
                .ends_with("reference")
        );
        assert_eq!(parse_status(br#"{"status":"APPROVED"}"#).unwrap(), AuthStatus::Approved);
        assert!(parse_status(br#"{"status":"approved"}"#).unwrap_err().0.ends_with("status"));
    }

    #[tokio::test]
    async fn the_http_adapter_posts_each_call_and_takes_only_a_whole_answer() {
        let provider = Receiver::start().await;
        let health = HealthAdapter::Http(HttpHealth::new(&provider.url("/v1/"), "nhis-token").unwrap());
        let p = person();

        provider.answer_body(r#"{"reference":"nhis-7f3a","expiresAt":"2026-12-03T10:05:00+00:00"}"#);
        let ticket = health.start_auth(&p, AuthProvider::Naver, NOW).await.unwrap();
        assert_eq!(ticket.reference, "nhis-7f3a");
        provider.answer_body(r#"{"status":"PENDING"}"#);
        assert_eq!(health.auth_status("nhis-7f3a", NOW).await.unwrap(), AuthStatus::Pending);
        provider.answer_body(CHECKUPS);
        let checkups = health.checkups(&p, "nhis-7f3a").await.unwrap();
        assert_eq!(checkups[0].year, 2024);

        let got = provider.received();
        let paths: Vec<&str> = got.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["/v1/nhis/auth", "/v1/nhis/auth/status", "/v1/nhis/checkups"]);
        assert!(got.iter().all(|r| r.authorization == "Bearer nhis-token" && r.content_type == "application/json"));
        let sent = |i: usize| serde_json::from_slice::<serde_json::Value>(&got[i].body).unwrap();
        let who = serde_json::json!({"name": "김카나리", "birthDate": "1961-03-09", "gender": "F",
            "phone": "+821076543219", "carrier": "KT_MVNO"});
        let mut auth = who.clone();
        auth["authProvider"] = "NAVER".into();
        assert_eq!(sent(0), auth);
        assert_eq!(sent(1), serde_json::json!({"reference": "nhis-7f3a"}));
        let mut fetch = who;
        fetch["reference"] = "nhis-7f3a".into();
        assert_eq!(sent(2), fetch);

        provider.answer_with(&[502]);
        let refused = health.checkups(&p, "nhis-7f3a").await.unwrap_err();
        assert_eq!(refused.0, "the health-data provider answered 502");
        provider.answer_body(r#"{"checkups":[{"year":2024,"date":"2024-05-14","values":{"bloodType":"A"}}]}"#);
        let malformed = health.checkups(&p, "nhis-7f3a").await.unwrap_err();
        assert!(malformed.0.contains("checkups[0].values") && !malformed.0.contains("카나리"), "{malformed}");
        provider.answer_body(&format!(r#"{{"status":"{}"}}"#, "x".repeat(MAX_ANSWER_BYTES)));
        let large = health.auth_status("nhis-7f3a", NOW).await.unwrap_err();
        assert!(large.0.contains("larger than 1 MiB"), "{large}");
        provider.set_down(true);
        let down = health.auth_status("nhis-7f3a", NOW).await.unwrap_err();
        assert_eq!(down.0, "the health-data provider could not be reached");

        let none = HealthAdapter::Disabled.checkups(&p, "r").await.unwrap_err();
        assert!(none.0.contains("no health-data provider"));
        let sandbox = HealthAdapter::Sandbox(SandboxHealth::default());
        let t = sandbox.start_auth(&p, AuthProvider::Toss, NOW).await.unwrap();
        assert_eq!(sandbox.auth_status(&t.reference, NOW).await.unwrap(), AuthStatus::Pending);
    }
}
