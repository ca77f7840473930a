//! The terms of the consumer funnel (`fixtures/terms.toml`, compiled in), parsed into
//! the domain's [`TermsBook`] once at start.
//!
//! Invariants: every version parses (purposes known, `required_for` among its
//! `purposes`, `effective_at` RFC 3339, title and content not blank) and no (id,
//! version) appears twice; a bad file stops the start with the file named.

use domain::funnel::terms::{Terms, TermsBook, TermsPurpose};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::fixtures::FixtureError;

const FILE: &str = "terms.toml";
const TERMS: &str = include_str!("../../../fixtures/terms.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TermsFile {
    terms: Vec<TermsRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TermsRow {
    id: String,
    version: String,
    title: String,
    purposes: Vec<String>,
    required_for: Vec<String>,
    effective_at: String,
    content: String,
}

fn invalid(reason: impl ToString) -> FixtureError {
    FixtureError::Invalid { file: FILE, reason: reason.to_string() }
}

fn purposes(raw: &[String], at: &str) -> Result<Vec<TermsPurpose>, FixtureError> {
    raw.iter().map(|p| TermsPurpose::parse(p).map_err(|_| invalid(format!("{at}: unknown purpose {p}")))).collect()
}

/// The terms book of the fixtures.
///
/// # Errors
/// [`FixtureError::Invalid`] naming the bad version.
pub fn book() -> Result<TermsBook, FixtureError> {
    parse(TERMS)
}

fn parse(text: &str) -> Result<TermsBook, FixtureError> {
    let file: TermsFile = toml::from_str(text).map_err(invalid)?;
    let mut versions: Vec<Terms> = Vec::with_capacity(file.terms.len());
    for row in file.terms {
        let at = format!("{} {}", row.id, row.version);
        if row.id.trim().is_empty() || row.version.trim().is_empty() {
            return Err(invalid("a terms id or version is blank"));
        }
        if row.title.trim().is_empty() || row.content.trim().is_empty() {
            return Err(invalid(format!("{at}: title and content must not be blank")));
        }
        if versions.iter().any(|v| v.id == row.id && v.version == row.version) {
            return Err(invalid(format!("{at}: listed twice")));
        }
        let shown = purposes(&row.purposes, &at)?;
        let required = purposes(&row.required_for, &at)?;
        if required.iter().any(|p| !shown.contains(p)) {
            return Err(invalid(format!("{at}: required_for names a purpose it is not shown for")));
        }
        let effective_at = OffsetDateTime::parse(&row.effective_at, &Rfc3339)
            .map_err(|e| invalid(format!("{at}: effective_at: {e}")))?;
        versions.push(Terms {
            id: row.id,
            version: row.version,
            title: row.title,
            purposes: shown,
            required_for: required,
            effective_at,
            content: row.content.trim().to_owned(),
        });
    }
    Ok(TermsBook::new(versions))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn the_fixture_parses_with_the_required_terms_of_each_purpose() {
        let book = book().unwrap();
        let now = datetime!(2026-12-03 0:00 UTC);
        let required = |p| -> Vec<String> {
            book.current(p, now).iter().filter(|t| t.required).map(|t| t.terms.id.clone()).collect()
        };
        assert_eq!(required(TermsPurpose::Coverage), ["PRIVACY_COLLECTION", "CREDIT_INFO_INQUIRY"]);
        assert_eq!(required(TermsPurpose::Medical), ["PRIVACY_COLLECTION", "CREDIT_INFO_INQUIRY", "SENSITIVE_INFO"]);
        assert!(
            book.current(TermsPurpose::Coverage, now)
                .iter()
                .any(|t| t.terms.id == "THIRD_PARTY_PROVISION" && !t.required)
        );
        assert!(book.current(TermsPurpose::Claim, now).iter().all(|t| t.terms.id != "THIRD_PARTY_PROVISION"));
    }

    #[test]
    fn a_version_listed_twice_or_required_where_not_shown_is_refused() {
        let one = r#"[[terms]]
id = "A"
version = "1"
title = "t"
purposes = ["COVERAGE"]
required_for = ["COVERAGE"]
effective_at = "2026-01-01T00:00:00Z"
content = "c"
"#;
        assert!(parse(&format!("{one}{one}")).is_err());
        assert!(parse(&one.replace(r#"required_for = ["COVERAGE"]"#, r#"required_for = ["CLAIM"]"#)).is_err());
        assert!(parse(&one.replace("COVERAGE\"]\nrequired", "HEALTH\"]\nrequired")).is_err());
        assert!(parse(one).is_ok());
    }
}
