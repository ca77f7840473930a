//! The recommendation table of the coverage analysis (`fixtures/coverage_recommendations.toml`,
//! compiled in; `funnel.recommendations_file` replaces it), parsed into the domain's
//! [`RecommendationTable`] once at start.
//!
//! Invariants: the version is not blank; every band has a known gender, `from <= to`
//! within 0..=120, and known category codes; the bands of one gender do not overlap and
//! each gender has at least one; a bad table stops the start, naming the file.

use std::collections::BTreeMap;
use std::path::Path;

use domain::funnel::coverage::{Category, RecommendationBand, RecommendationTable, Won};
use domain::funnel::identity::Gender;
use serde::Deserialize;

use crate::fixtures::FixtureError;

const FILE: &str = "coverage_recommendations.toml";
const BUILT_IN: &str = include_str!("../../../fixtures/coverage_recommendations.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    version: String,
    band: Vec<BandRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BandRow {
    gender: String,
    ages: [u8; 2],
    amounts: BTreeMap<String, u64>,
}

fn invalid(reason: impl ToString) -> FixtureError {
    FixtureError::Invalid { file: FILE, reason: reason.to_string() }
}

/// The table: `path`'s when given, else the built-in one.
///
/// # Errors
/// [`FixtureError::Invalid`] for an unreadable or bad file, naming the problem.
pub fn load(path: Option<&Path>) -> Result<RecommendationTable, FixtureError> {
    match path {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| invalid(format!("{}: {e}", path.display())))?;
            parse(&text)
        }
        None => parse(BUILT_IN),
    }
}

fn parse(text: &str) -> Result<RecommendationTable, FixtureError> {
    let file: TableFile = toml::from_str(text).map_err(invalid)?;
    if file.version.trim().is_empty() {
        return Err(invalid("version must not be blank"));
    }
    let mut bands: Vec<RecommendationBand> = Vec::with_capacity(file.band.len());
    for (i, row) in file.band.into_iter().enumerate() {
        let gender = Gender::parse(&row.gender).map_err(|_| invalid(format!("band {i}: gender must be M or F")))?;
        let [age_from, age_to] = row.ages;
        if age_from > age_to || age_to > 120 {
            return Err(invalid(format!("band {i}: ages must be [from, to] with from <= to <= 120")));
        }
        if bands.iter().any(|b| b.gender == gender && b.age_from <= age_to && age_from <= b.age_to) {
            return Err(invalid(format!("band {i}: overlaps another band of gender {}", gender.as_str())));
        }
        let amounts = row
            .amounts
            .into_iter()
            .map(|(code, amount)| {
                Category::parse(&code)
                    .map(|c| (c, Won(amount)))
                    .ok_or_else(|| invalid(format!("band {i}: unknown category {code}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        bands.push(RecommendationBand { age_from, age_to, gender, amounts });
    }
    for gender in [Gender::Male, Gender::Female] {
        if !bands.iter().any(|b| b.gender == gender) {
            return Err(invalid(format!("no band for gender {}", gender.as_str())));
        }
    }
    Ok(RecommendationTable { version: file.version.trim().to_owned(), bands })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_table_covers_every_age_of_both_genders() {
        let table = load(None).unwrap();
        assert_eq!(table.version, "2026.12-illustrative");
        for gender in [Gender::Male, Gender::Female] {
            for age in 0..=120u8 {
                let band = table.band(age, gender).unwrap();
                assert!((band.age_from..=band.age_to).contains(&age), "{age}");
                assert_eq!(band.amounts.len(), 10, "every category recommended");
            }
        }
    }

    #[test]
    fn bad_tables_are_refused_naming_the_problem() {
        let band = "[[band]]\ngender = \"M\"\nages = [0, 50]\namounts = { DEATH = 1 }\n";
        let female = "[[band]]\ngender = \"F\"\nages = [0, 120]\namounts = { DEATH = 1 }\n";
        assert!(parse(&format!("version = \"v\"\n{band}{female}")).is_ok());
        let overlap = "[[band]]\ngender = \"M\"\nages = [40, 60]\namounts = {}\n";
        let err = parse(&format!("version = \"v\"\n{band}{overlap}{female}")).unwrap_err().to_string();
        assert!(err.contains("overlaps"), "{err}");
        let err = parse(&format!("version = \"v\"\n{band}")).unwrap_err().to_string();
        assert!(err.contains("no band for gender F"), "{err}");
        let unknown = band.replace("DEATH", "LIFE");
        assert!(parse(&format!("version = \"v\"\n{unknown}{female}")).unwrap_err().to_string().contains("LIFE"));
        assert!(parse(&format!("version = \" \"\n{band}{female}")).is_err());
        assert!(load(Some(Path::new("/nonexistent/table.toml"))).is_err());
    }
}
