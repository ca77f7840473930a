//! The statements a request sends are counted under its use case, `<METHOD> <route>`, and
//! `/metrics` shows them as `ldbds_db_statements_total` (the round-trip budget of #15).
//!
//! The counts are one table for the whole process, and the other tests of this binary run
//! beside these, some on the same routes. So a measurement is the delta of one request,
//! taken while this file's tests hold [`SERIAL`] (its SQLite and PostgreSQL runs do not
//! overlap), and the least of [`ATTEMPTS`] deltas is kept: another test's request can only
//! add to a delta, never take from it.

use std::collections::BTreeMap;

use infra::statements::{self, Kind};
use testkit::TestDb;

use crate::helpers::TestApp;

testkit::on_both_backends! { actix_web::test;
    a_requests_statements_are_counted_under_its_route => route_body;
}

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const ATTEMPTS: usize = 5;

/// What `GET /api/v1/regions` with a partner's API key sends today, by kind: the key with
/// its org, then the regions.
///
/// The principal cache (the `principal` helper's work on #15) takes the key lookup out
/// of the request, and the reference data in memory the regions: update these figures
/// when it lands (the failure message prints what was measured).
const REGIONS: &[(Kind, u64)] = &[(Kind::Select, 2)];

/// The counts under `use_case` now, by kind.
fn counts(use_case: &str) -> BTreeMap<Kind, u64> {
    statements::snapshot().into_iter().filter(|c| c.use_case == use_case).map(|c| (c.kind, c.total)).collect()
}

/// The statements one `GET uri` (with the partner key) adds under `use_case`: the least
/// of [`ATTEMPTS`], and every attempt for the failure message.
async fn one_request(app: &TestApp, uri: &str, use_case: &str) -> (BTreeMap<Kind, u64>, Vec<BTreeMap<Kind, u64>>) {
    let mut seen = Vec::new();
    for _ in 0..ATTEMPTS {
        let before = counts(use_case);
        let reply = app.get(uri).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let after = counts(use_case);
        let delta: BTreeMap<Kind, u64> = after
            .iter()
            .map(|(kind, n)| (*kind, n - before.get(kind).copied().unwrap_or(0)))
            .filter(|(_, n)| *n > 0)
            .collect();
        seen.push(delta);
    }
    let least = seen.iter().min_by_key(|d| d.values().sum::<u64>()).cloned().unwrap_or_default();
    (least, seen)
}

async fn route_body(db: TestDb) {
    let _serial = SERIAL.lock().await;
    let app = TestApp::new(db).await;
    let use_case = "GET /api/v1/regions";
    // A first request warms whatever is done once (a connection, a prepared statement).
    assert_eq!(app.get("/api/v1/regions").await.status, 200);

    let (least, seen) = one_request(&app, "/api/v1/regions", use_case).await;
    let expected: BTreeMap<Kind, u64> = REGIONS.iter().copied().collect();
    assert_eq!(least, expected, "statements of one {use_case} by kind (every attempt: {seen:?})");

    let text = app.get_anonymous("/metrics").await.text;
    let line = format!(r#"ldbds_db_statements_total{{kind="select",use_case="{use_case}"}} "#);
    let shown: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix(line.as_str()))
        .unwrap_or_else(|| panic!("no `{line}` in /metrics:\n{text}"))
        .parse()
        .expect("a count");
    let ours = u64::try_from(ATTEMPTS + 1).unwrap() * expected[&Kind::Select];
    assert!(shown >= ours, "/metrics shows {shown} selects under {use_case}, this test alone sent {ours}");
    assert!(text.contains("# TYPE ldbds_db_statements_total counter"), "{text}");
}
