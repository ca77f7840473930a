//! Statements per request: the round-trip budget of `performance.md`.
//!
//! The server counts the statements it sends by use case (`ldbds_db_statements_total`,
//! `<METHOD> <route>` for a request, a background writer's own name) and the requests it
//! answers (`http_requests_total`). The harness scrapes `/metrics` of every node at the
//! start of the measured window and after it, and divides the deltas:
//! - **all use cases**: every statement the nodes sent in the window (requests, and the
//!   background work they cause, e.g. a group-committed log) over every request answered
//!   in it; this is the figure the budget judges ("amortized under load");
//! - **the scenario's route**: the statements counted under its own use case over its own
//!   requests.
//!
//! The scrapes themselves (`GET /metrics`) are left out of both sides. The import is a
//! command, not a server: its figure comes from the JSON `ldbds import --statements-json`
//! writes, as statements beyond its `INSERT`s, `BEGIN`s and `COMMIT`s per batch.

use std::collections::BTreeMap;

use anyhow::Context;
use hyper::StatusCode;
use serde_json::json;

use crate::http::{Call, Conn};
use crate::target::Backend;

/// The use case and the route label of the scrape requests, left out of every figure.
const SCRAPE_USE_CASE: &str = "GET /metrics";
const SCRAPE_ROUTE: &str = "/metrics";

/// The budget of `performance.md` for a scenario on a backend: statements per request,
/// or per batch of 500 rows beyond the inserts for the import.
///
/// The budget counts round trips. SQLite has none (a statement is a call into the
/// library) and no data-modifying CTEs, so where PostgreSQL chains several writes into
/// one statement SQLite sends them apart, and its budget counts them: `distribute` 6 (the
/// transfer's ended, opened and moved parts, `infra::transfers`) and the import 6 (its
/// duplicate lookup, pools and lines read apart, where PostgreSQL reads the first two in
/// one statement, and the lines, orders and pools written apart, `update_rows`). See
/// `docs/performance.md`.
pub fn budget(scenario: &str, db: Backend) -> Option<f64> {
    match (scenario, db) {
        ("owned-list" | "search-phone" | "detail", _) => Some(2.0),
        ("intake", _) => Some(4.0),
        ("distribute", Backend::Postgres) => Some(5.0),
        ("distribute", Backend::Sqlite) => Some(6.0),
        ("import" | "import-owners", Backend::Postgres) => Some(3.0),
        ("import" | "import-owners", Backend::Sqlite) => Some(6.0),
        _ => None,
    }
}

/// The counters of one or more nodes at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scrape {
    /// (use case, kind) → statements.
    pub statements: BTreeMap<(String, String), u64>,
    /// `<METHOD> <route>` → requests answered (any status).
    pub requests: BTreeMap<String, u64>,
}

impl Scrape {
    /// Adds one node's `/metrics` text.
    pub fn add_text(&mut self, text: &str) {
        for line in text.lines() {
            let Some((name, labels, value)) = sample(line) else { continue };
            let label = |k: &str| labels.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
            match name {
                "ldbds_db_statements_total" => {
                    *self.statements.entry((label("use_case"), label("kind"))).or_insert(0) += value;
                }
                "http_requests_total" => {
                    *self.requests.entry(format!("{} {}", label("method"), label("route"))).or_insert(0) += value;
                }
                _ => {}
            }
        }
    }

    /// What happened between `self` (earlier) and `later`.
    pub fn until(&self, later: &Self) -> Window {
        let mut by_use_case: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for ((use_case, kind), n) in &later.statements {
            let delta = n.saturating_sub(self.statements.get(&(use_case.clone(), kind.clone())).copied().unwrap_or(0));
            if delta > 0 {
                by_use_case.entry(use_case.clone()).or_default().insert(kind.clone(), delta);
            }
        }
        let mut requests = BTreeMap::new();
        for (route, n) in &later.requests {
            let delta = n.saturating_sub(self.requests.get(route).copied().unwrap_or(0));
            if delta > 0 {
                requests.insert(route.clone(), delta);
            }
        }
        Window { by_use_case, requests }
    }
}

/// A sample's labels, names and values (unescaped), in the line's order.
type Labels = Vec<(String, String)>;

/// One sample line of the text format: its name, its labels and its value.
fn sample(line: &str) -> Option<(&str, Labels, u64)> {
    if line.starts_with('#') {
        return None;
    }
    let open = line.find('{')?;
    let name = &line[..open];
    let mut labels = Vec::new();
    let mut rest = &line[open + 1..];
    loop {
        rest = rest.trim_start_matches(',');
        if let Some(after) = rest.strip_prefix('}') {
            let value: f64 = after.trim().parse().ok()?;
            // Counters of statements and requests are whole numbers.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            return Some((name, labels, value as u64));
        }
        let eq = rest.find("=\"")?;
        let label = rest[..eq].to_owned();
        let mut value = String::new();
        let mut chars = rest[eq + 2..].char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break eq + 2 + i + 1,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                (_, c) => value.push(c),
            }
        };
        labels.push((label, value));
        rest = &rest[end..];
    }
}

/// Scrapes `/metrics` of every node; one [`Scrape`] per node, in `addrs`' order.
pub async fn scrape(addrs: &[String]) -> anyhow::Result<Vec<Scrape>> {
    let mut all = Vec::with_capacity(addrs.len());
    for addr in addrs {
        let mut conn = Conn::open(addr, "").await?;
        let (status, body) = conn.send(&Call::get(SCRAPE_ROUTE)).await.with_context(|| format!("scrape {addr}"))?;
        if status != StatusCode::OK {
            anyhow::bail!("GET /metrics on {addr} answered {status}");
        }
        let mut one = Scrape::default();
        one.add_text(&String::from_utf8_lossy(&body));
        all.push(one);
    }
    Ok(all)
}

/// The nodes' counters added up.
pub fn sum(nodes: &[Scrape]) -> Scrape {
    let mut all = Scrape::default();
    for node in nodes {
        for (k, n) in &node.statements {
            *all.statements.entry(k.clone()).or_insert(0) += n;
        }
        for (k, n) in &node.requests {
            *all.requests.entry(k.clone()).or_insert(0) += n;
        }
    }
    all
}

/// The counters' deltas over the measured window.
#[derive(Debug, Clone, Default)]
pub struct Window {
    /// use case → kind → statements.
    pub by_use_case: BTreeMap<String, BTreeMap<String, u64>>,
    /// `<METHOD> <route>` → requests.
    pub requests: BTreeMap<String, u64>,
}

impl Window {
    fn statements_of(&self, use_case: &str) -> u64 {
        self.by_use_case.get(use_case).map_or(0, |kinds| kinds.values().sum())
    }

    /// The figures of a scenario whose requests go to `route` (`<METHOD> <pattern>`).
    #[allow(clippy::cast_precision_loss)]
    pub fn figures(&self, route: &str) -> Figures {
        let statements: u64 =
            self.by_use_case.iter().filter(|(u, _)| *u != SCRAPE_USE_CASE).map(|(_, k)| k.values().sum::<u64>()).sum();
        let scrape_route = format!("GET {SCRAPE_ROUTE}");
        let requests: u64 = self.requests.iter().filter(|(r, _)| **r != scrape_route).map(|(_, n)| n).sum();
        let route_requests = self.requests.get(route).copied().unwrap_or(0);
        let route_statements = self.statements_of(route);
        let per = |s: u64, r: u64| if r > 0 { s as f64 / r as f64 } else { 0.0 };
        Figures {
            unit: "request",
            value: per(statements, requests),
            route: Some((route.to_owned(), per(route_statements, route_requests))),
            detail: json!({
                "requests": requests,
                "statements": statements,
                "route": route,
                "routeRequests": route_requests,
                "routeStatements": route_statements,
                "byUseCase": self.by_use_case,
            }),
        }
    }
}

/// What the budget judges, and what goes beside it.
#[derive(Debug, Clone)]
pub struct Figures {
    /// What one figure is per: `request`, or `batch of 500 rows`.
    pub unit: &'static str,
    /// Statements per unit, all use cases: the figure the budget judges.
    pub value: f64,
    /// The scenario's own route and its statements per request.
    pub route: Option<(String, f64)>,
    /// The counts behind the figures, for the JSON.
    pub detail: serde_json::Value,
}

/// The import's figure from the JSON `ldbds import --statements-json` wrote: the
/// statements of use case `import` beyond its `INSERT`s, `BEGIN`s and `COMMIT`s, per batch
/// of valid rows (the batch size it reports, 500 by default).
#[allow(clippy::cast_precision_loss)]
pub fn import_figures(written: &serde_json::Value) -> anyhow::Result<Figures> {
    let rows = written["rows"].as_u64().context("no rows in the statements JSON")?;
    let batch = written["batch"].as_u64().context("no batch in the statements JSON")?.max(1);
    let kinds = written["statements"]["import"].as_object().context("no `import` use case in the statements JSON")?;
    let of = |kind: &str| kinds.get(kind).and_then(serde_json::Value::as_u64).unwrap_or(0);
    let total: u64 = kinds.values().filter_map(serde_json::Value::as_u64).sum();
    let beyond = total - of("insert") - of("begin") - of("commit");
    let batches = rows.div_ceil(batch).max(1);
    Ok(Figures {
        unit: if batch == 500 { "batch of 500 rows" } else { "batch" },
        value: beyond as f64 / batches as f64,
        route: None,
        detail: json!({
            "rows": rows,
            "batch": batch,
            "batches": batches,
            "statements": total,
            "beyondInsertBeginCommit": beyond,
            "allPerBatch": total as f64 / batches as f64,
            "byUseCase": written["statements"],
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "# HELP http_requests_total HTTP requests served\n\
        # TYPE http_requests_total counter\n\
        http_requests_total{method=\"GET\",route=\"/api/v1/leads\",status=\"200\"} 10\n\
        http_requests_total{method=\"GET\",route=\"/metrics\",status=\"200\"} 1\n\
        ldbds_db_statements_total{kind=\"select\",use_case=\"GET /api/v1/leads\"} 60\n";
    const AFTER: &str = "http_requests_total{method=\"GET\",route=\"/api/v1/leads\",status=\"200\"} 110\n\
        http_requests_total{method=\"GET\",route=\"/api/v1/leads\",status=\"404\"} 5\n\
        http_requests_total{method=\"GET\",route=\"/metrics\",status=\"200\"} 2\n\
        ldbds_db_statements_total{kind=\"select\",use_case=\"GET /api/v1/leads\"} 660\n\
        ldbds_db_statements_total{kind=\"insert\",use_case=\"reveal-log \\\"writer\\\"\"} 21\n";

    #[test]
    fn labels_are_read_unescaped_and_deltas_divide_into_figures() {
        let (mut before, mut after) = (Scrape::default(), Scrape::default());
        before.add_text(BEFORE);
        after.add_text(AFTER);
        assert_eq!(after.statements.get(&("reveal-log \"writer\"".into(), "insert".into())), Some(&21));
        let window = before.until(&after);
        assert_eq!(window.requests.get("GET /api/v1/leads"), Some(&105));
        let f = window.figures("GET /api/v1/leads");
        // (600 + 21) statements over 105 requests; the scrape is neither.
        assert!((f.value - 621.0 / 105.0).abs() < 1e-9, "{}", f.value);
        let (route, per) = f.route.expect("a route figure");
        assert_eq!(route, "GET /api/v1/leads");
        assert!((per - 600.0 / 105.0).abs() < 1e-9, "{per}");
    }

    #[test]
    fn two_nodes_add_up() {
        let mut one = Scrape::default();
        one.add_text(BEFORE);
        let both = sum(&[one.clone(), one]);
        assert_eq!(both.requests.get("GET /api/v1/leads"), Some(&20));
        assert_eq!(both.statements.get(&("GET /api/v1/leads".into(), "select".into())), Some(&120));
    }

    #[test]
    fn the_import_is_judged_beyond_its_inserts_begins_and_commits_per_batch() {
        let written = json!({"rows": 1000, "batch": 500, "statements": {
            "import": {"select": 7, "update": 3, "insert": 40, "begin": 2, "commit": 2},
            "import-migrate": {"select": 1}}});
        let f = import_figures(&written).expect("figures");
        assert!((f.value - 5.0).abs() < 1e-9, "10 statements beyond over 2 batches: {}", f.value);
        assert_eq!(f.detail["batches"], 2);
    }
}
