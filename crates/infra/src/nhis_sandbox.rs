//! The `sandbox` health-data adapter (`domain::ports::HealthData`; `docs/providers.md`
//! "Health data"): a stateless simulation of the NHIS simple authentication and **test
//! check-ups**, deterministic from the person, plausible for their age and gender.
//!
//! Invariants:
//! - no state: the session reference `sbx.<start unix ms>.<PROVIDER>.<ok|no>.<tag>`
//!   carries its start and its outcome; the tag (16 hex digits of a SHA-256 over the
//!   person, start, provider and outcome) binds it to the person it was started for,
//!   so another person's check-ups are never released through it. It holds no
//!   personal data in clear;
//! - the status at `now`: `PENDING` before `start + approve_after`; then `APPROVED` for
//!   [`APPROVED_LIFETIME`], then `EXPIRED`; a session whose approval would come at or
//!   after `start + HEALTH_AUTH_TTL` is `EXPIRED` from then on. A denied session is
//!   `DENIED` from `start + approve_after` on, and it is denied exactly when the
//!   person's phone ends in `0000` (**a test rule**, documented as such);
//! - check-ups are released only while the session is `APPROVED` (by the wall clock)
//!   and only to its person, else a `ProviderFailure` that names neither;
//! - the same person (name, birth date, phone) always gets the same check-ups on a day:
//!   3 to 5, two years apart (the general check-up is biennial, in the years of the
//!   birth year's parity), from the year the person turns 20, oldest first; each holds
//!   every [`Measure`] at one decimal place, BMI consistent with height and weight;
//! - about a third of people (more of the old than of the young) show one or two
//!   risks (borderline or disease-suspected values) in their latest check-ups; the
//!   others' values lie inside the NHIS normal ranges;
//! - nothing here is real health data: it is test data and says so.

use std::time::Duration;

use domain::funnel::identity::{Gender, IdentityClaim};
use domain::funnel::medical::{AuthProvider, AuthStatus, Checkup, HEALTH_AUTH_TTL, Measure};
use domain::ports::{HealthAuthTicket, HealthData, ProviderFailure};
use ring::digest::{SHA256, digest};
use rust_decimal::Decimal;
use time::{Date, Month, OffsetDateTime};

use crate::sandbox_rng::SplitMix;

/// How long an approved sandbox session keeps serving check-ups (longer than the
/// platform's own use window of an approval, so the platform's rule is the one seen).
pub const APPROVED_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// The `sandbox` adapter: the person "approves" `approve_after` after the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxHealth {
    pub approve_after: Duration,
}

impl Default for SandboxHealth {
    /// Approval after 3 seconds: long enough to see `PENDING`, short for a walkthrough.
    fn default() -> Self {
        Self { approve_after: Duration::from_secs(3) }
    }
}

/// The draws the check-ups are made of, over the sandboxes' shared generator.
trait Draws {
    fn between(&mut self, low: i64, high: i64) -> i64;
    fn noise(&mut self, spread: i64) -> i64;
    fn pick(&mut self, severity: Option<bool>, normal: (i64, i64), borderline: (i64, i64), disease: (i64, i64)) -> i64;
    fn chance(&mut self, percent: u64) -> bool;
}

impl Draws for SplitMix {
    /// Uniform in `low..=high` (`high >= low`).
    fn between(&mut self, low: i64, high: i64) -> i64 {
        let span = u64::try_from(high - low).unwrap_or(0) + 1;
        low + i64::try_from(self.next() % span).unwrap_or(0)
    }

    /// Uniform in `-spread..=spread`.
    fn noise(&mut self, spread: i64) -> i64 {
        self.between(-spread, spread)
    }

    /// A value by severity: `None` is `normal` scattered by `spread`; `Some(false)`
    /// uniform in the borderline band, `Some(true)` in the disease band.
    fn pick(&mut self, severity: Option<bool>, normal: (i64, i64), borderline: (i64, i64), disease: (i64, i64)) -> i64 {
        match severity {
            None => normal.0 + self.noise(normal.1),
            Some(false) => self.between(borderline.0, borderline.1),
            Some(true) => self.between(disease.0, disease.1),
        }
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// A session as its reference says.
struct Session<'a> {
    start_ms: i64,
    provider: &'a str,
    denied: bool,
    tag: &'a str,
}

fn parse_reference(reference: &str) -> Option<Session<'_>> {
    let mut parts = reference.split('.');
    let (Some("sbx"), Some(ms), Some(provider), Some(outcome), Some(tag), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let denied = match outcome {
        "ok" => false,
        "no" => true,
        _ => return None,
    };
    AuthProvider::parse(provider)?;
    let tag_ok = tag.len() == 16 && tag.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
    Some(Session { start_ms: ms.parse().ok()?, provider, denied, tag }).filter(|_| tag_ok)
}

/// The tag binding a session to its person.
fn tag(person: &IdentityClaim, start_ms: i64, provider: &str, denied: bool) -> String {
    let text = format!(
        "nhis-sandbox|{}|{}|{}|{start_ms}|{provider}|{denied}",
        person.name.expose().as_str(),
        person.birth_date.expose(),
        person.phone.expose().e164()
    );
    digest(&SHA256, text.as_bytes()).as_ref()[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The test rule: a phone ending in `0000` is denied.
fn is_denied(person: &IdentityClaim) -> bool {
    person.phone.expose().e164().ends_with("0000")
}

fn unix_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn failure(reason: &str) -> ProviderFailure {
    ProviderFailure(reason.to_owned())
}

impl SandboxHealth {
    /// The reference and expiry of a session of `person` with `provider` started at `now`.
    #[must_use]
    pub fn ticket(person: &IdentityClaim, provider: AuthProvider, now: OffsetDateTime) -> HealthAuthTicket {
        let start_ms = unix_ms(now);
        let denied = is_denied(person);
        let tag = tag(person, start_ms, provider.code(), denied);
        let outcome = if denied { "no" } else { "ok" };
        HealthAuthTicket {
            reference: format!("sbx.{start_ms}.{}.{outcome}.{tag}", provider.code()),
            expires_at: now + HEALTH_AUTH_TTL,
        }
    }

    /// The status of session `reference` at `now` (module invariants).
    ///
    /// # Errors
    /// A reference this adapter did not make.
    pub fn status_at(&self, reference: &str, now: OffsetDateTime) -> Result<AuthStatus, ProviderFailure> {
        let session = parse_reference(reference).ok_or_else(|| failure("the health-data session is unknown"))?;
        let elapsed = i128::from(unix_ms(now)) - i128::from(session.start_ms);
        let approve = i128::try_from(self.approve_after.as_millis()).unwrap_or(i128::MAX);
        let ttl = i128::try_from(HEALTH_AUTH_TTL.as_millis()).unwrap_or(i128::MAX);
        let lifetime = i128::try_from(APPROVED_LIFETIME.as_millis()).unwrap_or(i128::MAX);
        Ok(if elapsed < approve.min(ttl) {
            AuthStatus::Pending
        } else if approve >= ttl {
            AuthStatus::Expired
        } else if session.denied {
            AuthStatus::Denied
        } else if elapsed < approve + lifetime {
            AuthStatus::Approved
        } else {
            AuthStatus::Expired
        })
    }

    /// The check-ups of `person` through session `reference` at `now`.
    ///
    /// # Errors
    /// The reference is unknown, not the person's, or not approved at `now`.
    pub fn checkups_at(
        &self,
        person: &IdentityClaim,
        reference: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<Checkup>, ProviderFailure> {
        let session = parse_reference(reference).ok_or_else(|| failure("the health-data session is unknown"))?;
        if tag(person, session.start_ms, session.provider, session.denied) != session.tag {
            return Err(failure("the health-data session was started for someone else"));
        }
        match self.status_at(reference, now)? {
            AuthStatus::Approved => Ok(Self::checkups_on(person, now.date())),
            status => Err(ProviderFailure(format!("the health-data session is {}", status.code()))),
        }
    }

    /// The test check-ups of `person` as of `today` (module invariants), oldest first.
    #[must_use]
    pub fn checkups_on(person: &IdentityClaim, today: Date) -> Vec<Checkup> {
        let birth = *person.birth_date.expose();
        let gender = person.gender;
        let mut rng = SplitMix::seeded(&format!(
            "nhis|{}|{}|{}",
            person.name.expose().as_str(),
            birth,
            person.phone.expose().e164()
        ));
        let profile = Profile::draw(&mut rng, gender, i64::from(today.year() - birth.year()));
        let count = rng.between(3, 5);
        // The biennial check-up falls in the years of the birth year's parity.
        let mut latest = if (today.year() - birth.year()) % 2 == 0 { today.year() } else { today.year() - 1 };
        let mut dates = Vec::new();
        for i in 0..count {
            let month = Month::try_from(u8::try_from(rng.between(3, 11)).unwrap_or(6)).unwrap_or(Month::June);
            let day = u8::try_from(rng.between(1, 28)).unwrap_or(1);
            if i == 0 && Date::from_calendar_date(latest, month, day).is_ok_and(|d| d > today) {
                latest -= 2;
            }
            let year = latest - 2 * i32::try_from(i).unwrap_or(0);
            if let Ok(date) = Date::from_calendar_date(year, month, day) {
                dates.push(date);
            }
        }
        let mut checkups: Vec<Checkup> = dates
            .into_iter()
            .enumerate()
            .filter(|(_, date)| date.year() - birth.year() >= 20)
            .map(|(i, date)| {
                let at_risk = i64::try_from(i).unwrap_or(0) < profile.onset;
                let age = i64::from(date.year() - birth.year());
                Checkup { year: date.year(), date, values: profile.values(&mut rng, gender, age, at_risk) }
            })
            .collect();
        checkups.reverse();
        checkups
    }
}

/// A risk the sandbox can give a person, and how severe.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Risk {
    Hypertension,
    Diabetes,
    Dyslipidemia,
    Obesity,
    Liver,
    Kidney,
    Anaemia,
}

/// A person's stable traits: what each check-up's values scatter around.
struct Profile {
    height: i64,
    bmi: i64,
    systolic: i64,
    diastolic: i64,
    glucose: i64,
    cholesterol: i64,
    hdl: i64,
    triglycerides: i64,
    haemoglobin: i64,
    ast: i64,
    alt: i64,
    gtp: i64,
    egfr_offset: i64,
    /// The risks, each with whether it is disease-suspected.
    risks: Vec<(Risk, bool)>,
    /// The risks show in the latest `onset` check-ups (0: none).
    onset: i64,
}

impl Profile {
    fn draw(rng: &mut SplitMix, gender: Gender, age: i64) -> Self {
        let male = gender == Gender::Male;
        // Tenths of a cm; older generations are a little shorter.
        let shrink = (age - 30).max(0) * 15 / 10;
        let height = if male { 1740 } else { 1610 } - shrink + rng.noise(60);
        let mut risks = Vec::new();
        // 20 % at 20, rising to 50 % at 80: about a third of adults.
        if rng.chance(u64::try_from(20 + (age.clamp(20, 80) - 20) / 2).unwrap_or(30)) {
            let n = if rng.chance(67) { 1 } else { 2 };
            while risks.len() < n {
                let risk = match rng.between(0, 14) {
                    0..=2 => Risk::Hypertension,
                    3..=4 => Risk::Diabetes,
                    5..=7 => Risk::Dyslipidemia,
                    8..=10 => Risk::Obesity,
                    11..=12 => Risk::Liver,
                    13 if age >= 45 => Risk::Kidney,
                    13 => Risk::Dyslipidemia,
                    _ if !male || rng.chance(30) => Risk::Anaemia,
                    _ => Risk::Hypertension,
                };
                if risks.iter().all(|(r, _)| *r != risk) {
                    risks.push((risk, rng.chance(33)));
                }
            }
        }
        Self {
            height,
            bmi: rng.between(195, 235),
            systolic: rng.between(100, 116),
            diastolic: rng.between(62, 74),
            glucose: rng.between(78, 94),
            cholesterol: rng.between(160, 190),
            hdl: rng.between(62, 80),
            triglycerides: rng.between(60, 130),
            haemoglobin: if male { rng.between(136, 158) } else { rng.between(125, 145) },
            ast: rng.between(16, 32),
            alt: rng.between(10, 28),
            gtp: if male { rng.between(18, 50) } else { rng.between(12, 28) },
            egfr_offset: rng.noise(8),
            onset: if risks.is_empty() { 0 } else { rng.between(1, 3) },
            risks,
        }
    }

    fn risk(&self, risk: Risk, at_risk: bool) -> Option<bool> {
        at_risk.then(|| self.risks.iter().find(|(r, _)| *r == risk).map(|(_, disease)| *disease)).flatten()
    }

    /// One check-up's values, every measure at one decimal place.
    fn values(&self, rng: &mut SplitMix, gender: Gender, age: i64, at_risk: bool) -> Vec<(Measure, Decimal)> {
        let male = gender == Gender::Male;
        let risk = |r| self.risk(r, at_risk);
        let bmi_target = rng.pick(risk(Risk::Obesity), (self.bmi, 5), (255, 295), (302, 360));
        // weight (tenths of kg) = BMI × height², then the BMI of the rounded weight.
        let h2 = self.height * self.height;
        let weight = (bmi_target * h2 + 500_000) / 1_000_000;
        let bmi = (weight * 1_000_000 + h2 / 2) / h2;
        let waist = if male { bmi * 26 / 10 + 220 } else { bmi * 24 / 10 + 200 } + rng.noise(20);

        let hypertension = risk(Risk::Hypertension);
        let systolic = rng.pick(hypertension, (self.systolic, 2), (122, 136), (142, 165));
        let diastolic = rng.pick(hypertension, (self.diastolic, 2), (80, 88), (88, 100));
        let glucose = rng.pick(risk(Risk::Diabetes), (self.glucose, 3), (101, 124), (128, 180));
        let lipids = risk(Risk::Dyslipidemia);
        let cholesterol = rng.pick(lipids, (self.cholesterol, 5), (205, 235), (245, 290));
        let hdl = rng.pick(lipids, (self.hdl, 2), (42, 58), (34, 45));
        let triglycerides = rng.pick(lipids, (self.triglycerides, 10), (155, 195), (205, 350));
        // Friedewald: LDL = total − HDL − TG/5.
        let ldl = cholesterol - hdl - triglycerides / 5;
        let haemoglobin = rng.pick(
            risk(Risk::Anaemia),
            (self.haemoglobin, 2),
            if male { (121, 128) } else { (102, 117) },
            if male { (100, 118) } else { (85, 98) },
        );
        let liver = risk(Risk::Liver);
        let ast = rng.pick(liver, (self.ast, 3), (42, 49), (55, 110));
        let alt = rng.pick(liver, (self.alt, 3), (37, 44), (50, 140));
        let gtp = rng.pick(
            liver,
            (self.gtp, 3),
            if male { (65, 76) } else { (37, 44) },
            if male { (80, 200) } else { (48, 120) },
        );
        // eGFR falls about 0.7 a year after 20; normal stays at 62 or above.
        let expected_egfr = 115 - (age - 20).max(0) * 7 / 10 + self.egfr_offset;
        let egfr = match risk(Risk::Kidney) {
            // No borderline band: a kidney risk is disease-suspected.
            Some(_) => rng.between(35, 58),
            None => (expected_egfr + rng.noise(3)).max(62),
        };

        let tenths = |v: i64| Decimal::new(v, 1);
        let whole = |v: i64| Decimal::new(v * 10, 1);
        vec![
            (Measure::Height, tenths(self.height)),
            (Measure::Weight, tenths(weight)),
            (Measure::Bmi, tenths(bmi)),
            (Measure::Waist, tenths(waist)),
            (Measure::SystolicBp, whole(systolic)),
            (Measure::DiastolicBp, whole(diastolic)),
            (Measure::FastingGlucose, whole(glucose)),
            (Measure::TotalCholesterol, whole(cholesterol)),
            (Measure::Hdl, whole(hdl)),
            (Measure::Ldl, whole(ldl)),
            (Measure::Triglycerides, whole(triglycerides)),
            (Measure::Haemoglobin, tenths(haemoglobin)),
            (Measure::Ast, whole(ast)),
            (Measure::Alt, whole(alt)),
            (Measure::GammaGtp, whole(gtp)),
            (Measure::Egfr, whole(egfr)),
        ]
    }
}

impl HealthData for SandboxHealth {
    async fn start_auth(
        &self,
        person: &IdentityClaim,
        provider: AuthProvider,
        now: OffsetDateTime,
    ) -> Result<HealthAuthTicket, ProviderFailure> {
        Ok(Self::ticket(person, provider, now))
    }

    async fn auth_status(&self, reference: &str, now: OffsetDateTime) -> Result<AuthStatus, ProviderFailure> {
        self.status_at(reference, now)
    }

    async fn checkups(&self, person: &IdentityClaim, reference: &str) -> Result<Vec<Checkup>, ProviderFailure> {
        self.checkups_at(person, reference, OffsetDateTime::now_utc())
    }
}

#[cfg(test)]
mod tests {
    use domain::funnel::identity::IdentityFields;
    use domain::funnel::medical::{Judgement, judge, risk_flags};
    use time::macros::{date, datetime};

    use super::*;

    const TODAY: Date = date!(2026 - 12 - 03);
    const NOW: OffsetDateTime = datetime!(2026-12-03 10:00 UTC);

    fn person(birth: &str, gender: &'static str, phone: &str) -> IdentityClaim {
        let fields = IdentityFields {
            name: Some("홍길동"),
            birth_date: Some(birth),
            gender: Some(gender),
            phone: Some(phone),
            carrier: Some("SKT"),
            mohom_id: None,
        };
        IdentityClaim::parse(&fields, TODAY).unwrap()
    }

    #[test]
    fn the_same_person_gets_the_same_checkups_and_another_other_ones() {
        let a = person("1985-04-12", "M", "010-1234-5678");
        let first = SandboxHealth::checkups_on(&a, TODAY);
        assert_eq!(first, SandboxHealth::checkups_on(&a, TODAY));
        let b = person("1985-04-12", "M", "010-1234-5679");
        assert_ne!(first, SandboxHealth::checkups_on(&b, TODAY));
    }

    #[test]
    fn the_session_is_pending_then_approved_then_expired() {
        let sandbox = SandboxHealth { approve_after: Duration::from_secs(10) };
        let p = person("1985-04-12", "F", "010-1234-5678");
        let ticket = SandboxHealth::ticket(&p, AuthProvider::Kakao, NOW);
        assert!(
            ticket.reference.starts_with("sbx.") && ticket.reference.contains(".KAKAO.ok."),
            "{}",
            ticket.reference
        );
        assert!(!ticket.reference.contains("5678") && !ticket.reference.contains("1985"), "no personal data");
        assert_eq!(ticket.expires_at, NOW + HEALTH_AUTH_TTL);
        let at = |secs: i64| sandbox.status_at(&ticket.reference, NOW + time::Duration::seconds(secs)).unwrap();
        assert_eq!(at(-5), AuthStatus::Pending);
        assert_eq!(at(0), AuthStatus::Pending);
        assert_eq!(at(9), AuthStatus::Pending);
        assert_eq!(at(10), AuthStatus::Approved);
        assert_eq!(at(1_800), AuthStatus::Approved, "an approval outlives the wait for it");
        assert_eq!(at(3_609), AuthStatus::Approved);
        assert_eq!(at(3_610), AuthStatus::Expired);
        let slow = SandboxHealth { approve_after: Duration::from_secs(600) };
        let never = |secs: i64| slow.status_at(&ticket.reference, NOW + time::Duration::seconds(secs)).unwrap();
        assert_eq!(
            (never(299), never(300), never(900)),
            (AuthStatus::Pending, AuthStatus::Expired, AuthStatus::Expired)
        );
        assert!(sandbox.status_at("sbx.1.KAKAO.ok.zz", NOW).is_err());
        assert!(sandbox.status_at("nope", NOW).is_err());

        let fetched = sandbox.checkups_at(&p, &ticket.reference, NOW + time::Duration::seconds(30)).unwrap();
        assert_eq!(fetched, SandboxHealth::checkups_on(&p, NOW.date()));
        let early = sandbox.checkups_at(&p, &ticket.reference, NOW).unwrap_err();
        assert_eq!(early.0, "the health-data session is PENDING");
        let late = sandbox.checkups_at(&p, &ticket.reference, NOW + time::Duration::minutes(61)).unwrap_err();
        assert_eq!(late.0, "the health-data session is EXPIRED");
        let other = person("1985-04-12", "F", "010-1234-5679");
        let stolen = sandbox.checkups_at(&other, &ticket.reference, NOW + time::Duration::seconds(30)).unwrap_err();
        assert!(stolen.0.contains("someone else") && !stolen.0.contains("홍"), "{stolen}");
        let forged = ticket.reference.replace(".ok.", ".no.");
        assert!(sandbox.checkups_at(&p, &forged, NOW + time::Duration::seconds(30)).is_err());
    }

    #[test]
    fn a_phone_ending_in_0000_is_denied_as_a_test_rule() {
        let sandbox = SandboxHealth { approve_after: Duration::from_secs(2) };
        let p = person("1990-01-01", "M", "010-5555-0000");
        let ticket = SandboxHealth::ticket(&p, AuthProvider::Pass, NOW);
        assert!(ticket.reference.contains(".PASS.no."));
        assert_eq!(sandbox.status_at(&ticket.reference, NOW).unwrap(), AuthStatus::Pending);
        let later = NOW + time::Duration::seconds(3);
        assert_eq!(sandbox.status_at(&ticket.reference, later).unwrap(), AuthStatus::Denied);
        assert_eq!(
            sandbox.status_at(&ticket.reference, NOW + time::Duration::hours(1)).unwrap(),
            AuthStatus::Denied,
            "a denial is final"
        );
        assert_eq!(
            sandbox.checkups_at(&p, &ticket.reference, later).unwrap_err().0,
            "the health-data session is DENIED"
        );
    }

    #[test]
    fn checkups_are_biennial_and_plausible_for_many_people() {
        let mut with_risk = 0;
        let mut people = 0;
        for i in 0..400u32 {
            let gender = if i % 2 == 0 { "M" } else { "F" };
            let birth = format!("{}-0{}-1{}", 1940 + i % 66, 1 + i % 9, i % 10);
            let p = person(&birth, gender, &format!("010-6{:03}-{:04}", i % 1000, i + 1));
            let born = *p.birth_date.expose();
            let checkups = SandboxHealth::checkups_on(&p, TODAY);
            let age = TODAY.year() - born.year();
            if age >= 30 {
                assert!((3..=5).contains(&checkups.len()), "{age}: {}", checkups.len());
            }
            for pair in checkups.windows(2) {
                assert_eq!(pair[1].year - pair[0].year, 2, "biennial, oldest first");
            }
            for c in &checkups {
                assert_eq!(c.date.year(), c.year);
                assert!(c.date <= TODAY && c.year - born.year() >= 20);
                assert_eq!((c.year - born.year()) % 2, 0, "the birth year's parity");
                let ids: Vec<Measure> = c.values.iter().map(|(m, _)| *m).collect();
                assert_eq!(ids, Measure::ALL.to_vec());
                let v = |m| c.value(m).unwrap();
                assert!(c.values.iter().all(|(_, v)| v.scale() == 1 && *v > Decimal::ZERO), "{c:?}");
                let in_range = |m, lo: i64, hi: i64| {
                    let x = v(m);
                    assert!(x >= Decimal::from(lo) && x <= Decimal::from(hi), "{m:?} {x}");
                };
                in_range(Measure::Height, 140, 195);
                in_range(Measure::Weight, 35, 140);
                in_range(Measure::Waist, 55, 130);
                in_range(Measure::SystolicBp, 90, 170);
                in_range(Measure::DiastolicBp, 55, 105);
                in_range(Measure::Ldl, 30, 230);
                in_range(Measure::Egfr, 30, 130);
                assert!(v(Measure::SystolicBp) > v(Measure::DiastolicBp));
                let h = v(Measure::Height) / Decimal::from(100);
                let bmi = (v(Measure::Weight) / (h * h)).round_dp(1);
                assert!((bmi - v(Measure::Bmi)).abs() <= Decimal::new(1, 1), "BMI {bmi} vs {}", v(Measure::Bmi));
            }
            if let Some(latest) = checkups.last() {
                people += 1;
                let out = Measure::ALL
                    .iter()
                    .any(|&m| judge(m, p.gender, latest.value(m).unwrap()).is_some_and(|j| j != Judgement::Normal));
                with_risk += usize::from(out);
                assert_eq!(out, !risk_flags(&checkups, p.gender).is_empty(), "every finding is a risk flag");
            }
        }
        let share = with_risk * 100 / people;
        assert!((20..=50).contains(&share), "{with_risk} of {people} people show a risk");
    }

    #[test]
    fn a_minor_has_no_checkups() {
        let p = person("2010-05-05", "F", "010-2222-3333");
        assert!(SandboxHealth::checkups_on(&p, TODAY).is_empty());
    }
}
