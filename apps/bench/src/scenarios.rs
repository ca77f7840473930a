//! The scenarios of `performance.md`: what each seeds, what it sends, what pgbench does on
//! the reference side, and which invariants are checked after it.
//!
//! Seeding goes through the product's own bulk path: users and orders over HTTP (a few
//! thousand calls), leads through `ldbds import` (validated, encrypted, indexed,
//! deduplicated and allocated to the orders, as in production), then a single SQL update
//! marks half of the leads used. Nothing is inserted behind the engine's back.
//!
//! Every load scenario names the route it drives (`<METHOD> <pattern>`, the server's use
//! case for it), so the statements per request are reported for it and for all use cases.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hyper::StatusCode;
use serde_json::json;

use crate::Args;
use crate::http::{Call, CallSource, Conn, LoadResult, WindowOpen, run_load};
use crate::receiver::Receiver;
use crate::reference::{self, Reference};
use crate::statements::{self, Figures};
use crate::target::{Backend, KR_REGIONS, Target, kr_phone, write_leads_csv};

/// The owners whose lines `import-owners` fills.
pub const IMPORT_OWNERS: u64 = 1_000;

/// What one scenario measured.
pub struct Outcome {
    pub unit: &'static str,
    /// Our rate in `unit` per second.
    pub rate: f64,
    pub load: Option<LoadResult>,
    pub reference: Option<Reference>,
    /// (what, value, holds)
    pub invariants: Vec<(String, i64, bool)>,
    pub notes: Vec<String>,
    pub seed_seconds: f64,
    pub peak_rss_mib: Option<f64>,
    pub reference_failed: bool,
    /// The statements the server (or the import) sent, per request (or per batch).
    pub statements: Option<Figures>,
}

impl Outcome {
    /// Keeps the reference's figure; a reference that failed is reported (and fails the
    /// run) without losing our side's figures.
    fn checked(&mut self, reference: anyhow::Result<Option<Reference>>) -> Option<Reference> {
        reference.unwrap_or_else(|e| {
            self.reference_failed = true;
            self.notes.push(format!("REFERENCE FAILED: {e:#}"));
            None
        })
    }

    fn new(unit: &'static str) -> Self {
        Self {
            unit,
            rate: 0.0,
            load: None,
            reference: None,
            invariants: Vec::new(),
            notes: Vec::new(),
            seed_seconds: 0.0,
            peak_rss_mib: None,
            reference_failed: false,
            statements: None,
        }
    }
}

async fn id_of(t: &Target, table: &str, column: &str, value: &str) -> anyhow::Result<String> {
    t.strings(&format!("SELECT id AS v FROM {table} WHERE {column} = '{value}'"))
        .await?
        .into_iter()
        .next()
        .with_context(|| format!("no {table} row with {column} = {value}"))
}

/// Creates users (`mohom_ids` with `role`) over `conns` parallel connections.
async fn create_users(t: &Target, ids: Vec<String>, role: &'static str) -> anyhow::Result<()> {
    parallel(t, ids, move |i, id| {
        Call::post(
            "/api/v1/users",
            json!({"mohomId": id, "name": "벤치 사용자", "phone": format!("010-2{:03}-{:04}", i / 10_000, i % 10_000),
                   "email": format!("{id}@bench.kr"), "role": role})
            .to_string(),
        )
    })
    .await
}

/// Sends one call per item over 8 connections; every call must answer 201.
async fn parallel<T: Send + Sync + 'static>(
    t: &Target,
    items: Vec<T>,
    call: impl Fn(usize, &T) -> Call + Send + Sync + 'static,
) -> anyhow::Result<()> {
    let items = Arc::new(items);
    let call = Arc::new(call);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..8 {
        // Spread over the nodes like the load, so every node serves from the start.
        let addrs = t.addrs();
        let mut conn = Conn::open(&addrs[i % addrs.len()], &t.partner_key).await?;
        let (items, call, next) = (items.clone(), call.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(item) = items.get(i) else { return anyhow::Ok(()) };
                conn.json(&call(i, item), StatusCode::CREATED).await?;
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

/// An order of `product` for `mohom_id` with `quantity` in each of `regions`.
fn order_call(mohom_id: &str, product: &str, regions: &[&str], quantity: u64) -> Call {
    let lines: Vec<_> = regions.iter().map(|r| json!({"region": r, "quantity": quantity})).collect();
    Call::post("/api/v1/orders", json!({"mohomId": mohom_id, "productId": product, "regions": lines}).to_string())
}

/// Runs `ldbds import` of `rows` generated leads (`regions` in turn) into INS-HEALTH, its
/// statement counts written to `statements.json` in the work directory; returns
/// (seconds, stdout).
async fn import(t: &Target, rows: u64, regions: &[&str]) -> anyhow::Result<(f64, String)> {
    let csv = t.work.join("leads.csv");
    write_leads_csv(&csv, rows, regions)?;
    let file = csv.to_string_lossy().into_owned();
    let counts = t.work.join("statements.json").to_string_lossy().into_owned();
    let started = Instant::now();
    let out =
        t.ldbds(&["import", &file, "--source", "TCB", "--product", "INS-HEALTH", "--statements-json", &counts]).await?;
    Ok((started.elapsed().as_secs_f64(), out))
}

/// The ownership invariants, checked with SQL after every write scenario.
pub async fn ownership_invariants(t: &Target) -> anyhow::Result<Vec<(String, i64, bool)>> {
    let checks = [
        (
            "leads with two open assignments",
            "SELECT COUNT(*) AS n FROM (SELECT lead_id FROM assignments WHERE ended_at IS NULL \
             GROUP BY lead_id HAVING COUNT(*) > 1) x",
        ),
        (
            "owned leads whose open assignment disagrees",
            "SELECT COUNT(*) AS n FROM leads l WHERE l.owner_user_id IS NOT NULL AND NOT EXISTS \
             (SELECT 1 FROM assignments a WHERE a.lead_id = l.id AND a.ended_at IS NULL \
              AND a.owner_user_id = l.owner_user_id)",
        ),
        (
            "order lines whose delivered differs from their assignment rows",
            "SELECT COUNT(*) AS n FROM order_lines ol LEFT JOIN \
             (SELECT order_line_id, COUNT(*) AS c FROM assignments WHERE order_line_id IS NOT NULL \
              GROUP BY order_line_id) a ON a.order_line_id = ol.id WHERE ol.delivered <> COALESCE(a.c, 0)",
        ),
        (
            "order lines delivered past their quantity",
            "SELECT COUNT(*) AS n FROM order_lines WHERE delivered > quantity",
        ),
        (
            "orders whose delivered differs from their lines",
            "SELECT COUNT(*) AS n FROM orders o WHERE o.delivered <> \
             (SELECT COALESCE(SUM(delivered), 0) FROM order_lines ol WHERE ol.order_id = o.id)",
        ),
    ];
    let mut out = Vec::new();
    for (what, sql) in checks {
        let n = t.count(sql).await?;
        out.push((what.to_owned(), n, n == 0));
    }
    let delivered = t.count("SELECT CAST(COALESCE(SUM(delivered), 0) AS BIGINT) AS n FROM order_lines").await?;
    let assignments = t.count("SELECT COUNT(*) AS n FROM assignments WHERE order_line_id IS NOT NULL").await?;
    out.push((
        format!("delivered {delivered} = order assignment rows {assignments}"),
        delivered,
        delivered == assignments,
    ));
    Ok(out)
}

/// Drives the nodes with `source` for the warm-up and the duration, records the rate,
/// the load, the statements per request (all use cases, and `route`'s, `<METHOD>
/// <pattern>`: `/metrics` scraped when the measured window opens and after the load) and
/// the servers' peak RSS in `outcome`, then stops the servers.
/// The load of `source` on the running server: rate, latencies and the statements per
/// request of the measured window into `outcome`; the server keeps running.
async fn measure_running(
    t: &mut Target,
    args: &Args,
    expect: StatusCode,
    route: &str,
    source: CallSource,
    outcome: &mut Outcome,
) -> anyhow::Result<()> {
    let (warmup, duration) = (Duration::from_secs(args.warmup), Duration::from_secs(args.duration));
    let addrs = t.addrs();
    let before = Arc::new(std::sync::Mutex::new(None));
    let open: WindowOpen = {
        let (addrs, before) = (addrs.clone(), before.clone());
        Box::new(move || {
            Box::pin(async move {
                let scrape = statements::scrape(&addrs).await?;
                *before.lock().map_err(|_| anyhow::anyhow!("scrape lock poisoned"))? = Some(scrape);
                Ok(())
            })
        })
    };
    let load = run_load(&addrs, &t.partner_key, args.clients, warmup, duration, expect, source, open).await?;
    // Every client has stopped: the server's counters are final for the window.
    let after = statements::scrape(&addrs).await?;
    let before = before.lock().map_err(|_| anyhow::anyhow!("scrape lock poisoned"))?.take();
    let before = before.context("the measured window opened without a scrape")?;
    outcome.statements = Some(statements::sum(&before).until(&statements::sum(&after)).figures(route));
    if addrs.len() > 1 {
        let per_node: Vec<String> = before
            .iter()
            .zip(&after)
            .map(|(b, a)| b.until(a).requests.iter().filter(|(r, _)| **r == route).map(|(_, n)| n).sum::<u64>())
            .map(|n| n.to_string())
            .collect();
        outcome.notes.push(format!("{route} requests served per node: {}", per_node.join(", ")));
    }
    outcome.rate = load.rate();
    outcome.load = Some(load);
    outcome.peak_rss_mib = t.server_peak_rss_mib();
    Ok(())
}

/// [`measure_running`], then the server stops.
async fn measure(
    t: &mut Target,
    args: &Args,
    expect: StatusCode,
    route: &str,
    source: CallSource,
    outcome: &mut Outcome,
) -> anyhow::Result<()> {
    measure_running(t, args, expect, route, source, outcome).await?;
    t.stop_server().await;
    Ok(())
}

/// `POST /lead-platform/v1/leads/create`: unique Vietnamese mobiles for source TCB,
/// product RE-HCM-APT, province 79, where one open order line takes every lead.
pub async fn intake(t: &mut Target, args: &Args) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::new("req");
    let seeding = Instant::now();
    t.start_server().await?;
    let product = id_of(t, "products", "code", "RE-HCM-APT").await?;
    create_users(t, vec!["bench-buyer".to_owned()], "MEMBER").await?;
    let mut conn = Conn::open(&t.addr(), &t.partner_key).await?;
    conn.json(&order_call("bench-buyer", &product, &["79"], 100_000), StatusCode::CREATED).await?;
    outcome.seed_seconds = seeding.elapsed().as_secs_f64();
    measure(t, args, StatusCode::CREATED, "POST /lead-platform/v1/leads/create", intake_source(), &mut outcome).await?;
    outcome.invariants = ownership_invariants(t).await?;
    let leads = t.count("SELECT COUNT(*) AS n FROM leads").await?;
    let delivered = t.count("SELECT COUNT(*) AS n FROM leads WHERE owner_user_id IS NOT NULL").await?;
    outcome.invariants.push((
        format!("every lead delivered ({delivered} of {leads})"),
        leads - delivered,
        leads == delivered,
    ));
    outcome.reference = outcome.checked(reference::run(t, args, "intake", &[]).await);
    Ok(outcome)
}

/// The intake's call: a new phone per request, region 79, delivered to the open order.
fn intake_source() -> CallSource {
    Arc::new(|n| {
        Some(
            Call::post(
                "/lead-platform/v1/leads/create",
                format!(
                    r#"{{"name":"Nguyen Van A","mobileNumber":"039{n:07}","email":"a@example.vn","regionCode":"79","projectCode":"BENCH"}}"#
                ),
            )
            .header("source", "TCB"),
        )
    })
}

/// `webhook` (issue #16): `intake` at load twice on one database, first with no endpoint
/// (events written and fanned out to nobody: delivery off), then with one endpoint of the
/// buyer's org subscribed to everything on a loopback receiver that verifies every
/// signature (delivery on). Reports the commit-to-receipt latency of `lead.assigned`
/// (p50/p99, ms), both intake rates and the reference's, and checks that every lead
/// delivered while the endpoint existed arrived exactly once, signed.
pub async fn webhook(t: &mut Target, args: &Args) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::new("req");
    let seeding = Instant::now();
    t.start_server().await?;
    let product = id_of(t, "products", "code", "RE-HCM-APT").await?;
    create_users(t, vec!["bench-buyer".to_owned()], "MEMBER").await?;
    let mut conn = Conn::open(&t.addr(), &t.partner_key).await?;
    conn.json(&order_call("bench-buyer", &product, &["79"], 100_000), StatusCode::CREATED).await?;
    outcome.seed_seconds = seeding.elapsed().as_secs_f64();
    // Delivery off: the numbers sequence continues in the second phase (new phones).
    let mut off = Outcome::new("req");
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let numbered = |counter: Arc<std::sync::atomic::AtomicU64>| -> CallSource {
        let inner = intake_source();
        Arc::new(move |_| inner(counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed)))
    };
    measure(
        t,
        args,
        StatusCode::CREATED,
        "POST /lead-platform/v1/leads/create",
        numbered(Arc::clone(&counter)),
        &mut off,
    )
    .await?;
    let delivered_before = t.count("SELECT COUNT(*) AS n FROM leads WHERE owner_user_id IS NOT NULL").await?;
    // Delivery on.
    t.start_server().await?;
    let mut conn = Conn::open(&t.addr(), &t.partner_key).await?;
    let receiver = Receiver::start().await?;
    let created = conn
        .json(
            &Call::post("/api/v1/webhooks", format!(r#"{{"url":"{}","events":["*"]}}"#, receiver.url())),
            StatusCode::CREATED,
        )
        .await?;
    receiver.set_secret(created["secret"].as_str().context("the endpoint's secret")?)?;
    measure_running(
        t,
        args,
        StatusCode::CREATED,
        "POST /lead-platform/v1/leads/create",
        numbered(counter),
        &mut outcome,
    )
    .await?;
    let delivered_after = t.count("SELECT COUNT(*) AS n FROM leads WHERE owner_user_id IS NOT NULL").await?;
    let expected = u64::try_from(delivered_after - delivered_before).unwrap_or(0);
    let got = receiver.wait_for_assigned(expected, Duration::from_secs(60)).await;
    t.stop_server().await;
    receiver.stop();
    let p = |q: f64| got.latency_ms.value_at_quantile(q);
    outcome.notes.push(format!(
        "lead.assigned commit to receipt: p50 {} ms, p99 {} ms, max {} ms over {} events (targets: p50 <= 50, p99 <= 250)",
        p(0.5),
        p(0.99),
        got.latency_ms.max(),
        got.latency_ms.len()
    ));
    outcome.notes.push(format!(
        "intake with delivery off: {:.0} req/s ({} statements/req); on: {:.0} req/s; cost {:.1} % (target <= 10 %)",
        off.rate,
        off.statements.as_ref().map_or_else(|| "?".to_owned(), |f| format!("{:.2}", f.value)),
        outcome.rate,
        if off.rate > 0.0 { (1.0 - outcome.rate / off.rate) * 100.0 } else { 0.0 },
    ));
    outcome.notes.push(format!(
        "receiver: {} deliveries, {} distinct events, {} duplicates",
        got.deliveries,
        got.distinct_events,
        got.deliveries - got.distinct_events - got.bad_signatures
    ));
    outcome.invariants = ownership_invariants(t).await?;
    outcome.invariants.push((
        format!(
            "every lead delivered with the endpoint arrived as lead.assigned ({} of {expected})",
            got.lead_assigned
        ),
        i64::try_from(expected.abs_diff(got.lead_assigned)).unwrap_or(i64::MAX),
        got.lead_assigned == expected,
    ));
    outcome.invariants.push((
        "every delivery verified by standardwebhooks".to_owned(),
        i64::try_from(got.bad_signatures).unwrap_or(i64::MAX),
        got.bad_signatures == 0,
    ));
    outcome.reference = outcome.checked(reference::run(t, args, "intake", &[]).await);
    if let Some(reference) = &outcome.reference {
        outcome.notes.push(format!("ratio with delivery off: {:.3}", off.rate / reference.rate));
    }
    Ok(outcome)
}

/// Seeds `owners` members, one order each (INS-HEALTH, one region each, in turn), and
/// `rows` leads imported and allocated to them; half of the owned leads then used.
async fn seed_owned(t: &Target, rows: u64, owners: u64) -> anyhow::Result<()> {
    let product = id_of(t, "products", "code", "INS-HEALTH").await?;
    let ids: Vec<String> = (0..owners).map(|i| format!("o-{i}")).collect();
    eprintln!("seeding {owners} owners and their orders...");
    create_users(t, ids.clone(), "MEMBER").await?;
    // Every region's leads fit in its owners' lines (the fewest owners a region has).
    let per_owner = (rows / 17 + 1).div_ceil((owners / 17).max(1)) + 1;
    parallel(t, ids, move |i, id| order_call(id, &product, &[KR_REGIONS[i % 17]], per_owner)).await?;
    eprintln!("importing {rows} leads...");
    let (seconds, out) = import(t, rows, &KR_REGIONS).await?;
    eprintln!("{}", out.trim_end());
    #[allow(clippy::cast_precision_loss)]
    let rate = rows as f64 / seconds;
    eprintln!("seed import: {rows} rows in {seconds:.1} s ({rate:.0} rows/s)");
    t.exec(
        "UPDATE leads SET used_at = assigned_at + 1000 WHERE owner_user_id IS NOT NULL \
         AND substr(id, 36, 1) IN ('0','1','2','3','4','5','6','7')",
    )
    .await?;
    t.exec(
        "UPDATE assignments SET used_at = (SELECT used_at FROM leads WHERE leads.id = assignments.lead_id) \
         WHERE ended_at IS NULL",
    )
    .await?;
    // The steady state a bulk load reaches once autovacuum has passed (its threshold, 20 %
    // of the rows changed, is crossed by the update above): fresh statistics and, on
    // PostgreSQL, a current visibility map, so the page's total is counted from the
    // owner's index alone (an index-only scan) rather than from 200 heap rows per request.
    t.exec(if t.backend == Backend::Postgres { "VACUUM (ANALYZE)" } else { "ANALYZE" }).await?;
    Ok(())
}

fn owners_for(rows: u64) -> u64 {
    (rows / 200).clamp(1, 5_000)
}

/// `GET /api/v1/leads?mohomId=..`: a page of 20 of one owner's leads (decrypt + mask).
pub async fn owned_list(t: &mut Target, args: &Args) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::new("req");
    let rows = args.rows.unwrap_or(1_000_000);
    let owners = owners_for(rows);
    let seeding = Instant::now();
    t.start_server().await?;
    seed_owned(t, rows, owners).await?;
    outcome.seed_seconds = seeding.elapsed().as_secs_f64();
    outcome.notes.push(format!("{rows} leads over {owners} owners, half used"));
    let source = scattered((0..owners).collect(), |o: &u64| Call::get(format!("/api/v1/leads?mohomId=o-{o}")));
    measure(t, args, StatusCode::OK, "GET /api/v1/leads", source, &mut outcome).await?;
    outcome.invariants = ownership_invariants(t).await?;
    outcome.reference = outcome.checked(reference::run(t, args, "owned-list", &[("owners", owners.to_string())]).await);
    Ok(outcome)
}

/// `GET /api/v1/leads?mohomId=..&search=<phone>`: a blind-index lookup of a phone the
/// owner holds (pairs read from the owners' used leads, whose phones are revealed).
pub async fn search_phone(t: &mut Target, args: &Args) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::new("req");
    let rows = args.rows.unwrap_or(1_000_000);
    let owners = owners_for(rows);
    let seeding = Instant::now();
    t.start_server().await?;
    seed_owned(t, rows, owners).await?;
    let mut pairs = Vec::new();
    let mut conn = Conn::open(&t.addr(), &t.partner_key).await?;
    for o in 0..owners.min(500) {
        let page = conn.json(&Call::get(format!("/api/v1/leads?mohomId=o-{o}&used=Y")), StatusCode::OK).await?;
        for lead in page["data"].as_array().into_iter().flatten() {
            if let Some(phone) = lead["phone"].as_str() {
                pairs.push((o, phone.to_owned()));
            }
        }
    }
    if pairs.is_empty() {
        bail!("no used lead with a revealed phone to search for");
    }
    outcome.seed_seconds = seeding.elapsed().as_secs_f64();
    outcome.notes.push(format!("{rows} leads over {owners} owners; {} (owner, phone) pairs searched", pairs.len()));
    let source = scattered(pairs, |(o, phone)| Call::get(format!("/api/v1/leads?mohomId=o-{o}&search={phone}")));
    measure(t, args, StatusCode::OK, "GET /api/v1/leads", source, &mut outcome).await?;
    outcome.reference = outcome.checked(reference::run(t, args, "search-phone", &[]).await);
    Ok(outcome)
}

/// The calls of `items` in a scattered order (the n-th call takes item n × 7919 modulo
/// their count, a prime stride, so consecutive calls hit unrelated owners and pages),
/// never running out. `items` must not be empty.
fn scattered<T: Send + Sync + 'static>(items: Vec<T>, call: impl Fn(&T) -> Call + Send + Sync + 'static) -> CallSource {
    let items = Arc::new(items);
    Arc::new(move |n| Some(call(&items[usize::try_from(n.wrapping_mul(7919)).unwrap_or(0) % items.len()])))
}

/// `GET /api/v1/leads/{leadId}?mohomId=..`: one owned lead's detail (decrypt + mask, its
/// assignment history; a used lead's reveal logged), over the owned-list seed, the leads
/// taken from the first 100,000 owned ones in turn.
pub async fn detail(t: &mut Target, args: &Args) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::new("req");
    let rows = args.rows.unwrap_or(1_000_000);
    let owners = owners_for(rows);
    let seeding = Instant::now();
    t.start_server().await?;
    seed_owned(t, rows, owners).await?;
    let pairs = t
        .strings(
            "SELECT u.mohom_id || ' ' || l.id AS v FROM leads l JOIN users u ON u.id = l.owner_user_id \
             WHERE u.mohom_id LIKE 'o-%' ORDER BY l.id LIMIT 100000",
        )
        .await?;
    let pairs: Vec<(String, String)> =
        pairs.iter().filter_map(|p| p.split_once(' ')).map(|(o, l)| (o.to_owned(), l.to_owned())).collect();
    if pairs.is_empty() {
        bail!("no owned lead to read");
    }
    outcome.seed_seconds = seeding.elapsed().as_secs_f64();
    outcome.notes.push(format!("{rows} leads over {owners} owners, half used; {} leads read in turn", pairs.len()));
    let source = scattered(pairs, |(owner, lead)| Call::get(format!("/api/v1/leads/{lead}?mohomId={owner}")));
    measure(t, args, StatusCode::OK, "GET /api/v1/leads/{leadId}", source, &mut outcome).await?;
    outcome.invariants = ownership_invariants(t).await?;
    outcome.reference = outcome.checked(reference::run(t, args, "detail", &[]).await);
    Ok(outcome)
}

/// `POST /api/v1/leads/distribute` of 50 leads from a leader to one of 8 members; every
/// lead is distributed once (the run ends early if the leader runs out of leads).
pub async fn distribute(t: &mut Target, args: &Args) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::new("req");
    let rows = args.rows.unwrap_or(200_000);
    let seeding = Instant::now();
    t.start_server().await?;
    let product = id_of(t, "products", "code", "INS-HEALTH").await?;
    create_users(t, vec!["bench-leader".to_owned()], "LEADER").await?;
    create_users(t, (1..=8).map(|i| format!("bench-m-{i}")).collect(), "MEMBER").await?;
    let mut conn = Conn::open(&t.addr(), &t.partner_key).await?;
    conn.json(&order_call("bench-leader", &product, &KR_REGIONS, rows / 17 + 17), StatusCode::CREATED).await?;
    let (_, out) = import(t, rows, &KR_REGIONS).await?;
    eprintln!("{}", out.trim_end());
    let ids = t
        .strings(
            "SELECT l.id AS v FROM leads l JOIN users u ON u.id = l.owner_user_id \
             WHERE u.mohom_id = 'bench-leader' ORDER BY l.id",
        )
        .await?;
    let chunks: Vec<String> = ids.chunks(50).filter(|c| c.len() == 50).map(|c| json!(c).to_string()).collect();
    outcome.seed_seconds = seeding.elapsed().as_secs_f64();
    outcome.notes.push(format!("{} leads owned by the leader, {} requests of 50 available", ids.len(), chunks.len()));
    let chunks = Arc::new(chunks);
    let source: CallSource = Arc::new(move |n| {
        let chunk = chunks.get(usize::try_from(n).ok()?)?;
        Some(Call::post(
            "/api/v1/leads/distribute",
            format!(r#"{{"mohomId":"bench-leader","toMohomId":"bench-m-{}","leadIds":{chunk}}}"#, n % 8 + 1),
        ))
    });
    measure(t, args, StatusCode::OK, "POST /api/v1/leads/distribute", source, &mut outcome).await?;
    if outcome.load.as_ref().is_some_and(|l| l.exhausted) {
        outcome.notes.push("the leader ran out of leads before the duration ended (use more --rows)".into());
    }
    outcome.invariants = ownership_invariants(t).await?;
    outcome.reference = outcome.checked(reference::run(t, args, "distribute", &[]).await);
    Ok(outcome)
}

/// `ldbds import` of `rows` generated leads (validate, encrypt, index, dedupe, allocate)
/// into `owners` members' order lines: with one owner, one order line in one region (every
/// row in that region); with more (`import-owners`), one order line each, the 17 regions
/// in turn, every line large enough that every row is delivered.
pub async fn import_scenario(t: &mut Target, args: &Args, owners: u64) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::new("rows");
    let rows = args.rows.unwrap_or(100_000);
    let seeding = Instant::now();
    t.start_server().await?;
    let product = id_of(t, "products", "code", "INS-HEALTH").await?;
    let regions: &[&str] = if owners == 1 {
        create_users(t, vec!["bench-buyer".to_owned()], "MEMBER").await?;
        let mut conn = Conn::open(&t.addr(), &t.partner_key).await?;
        // One line takes at most 100,000 (the API's limit): the spec's 100,000 rows fill it.
        let quantity = rows.clamp(1, 100_000);
        conn.json(&order_call("bench-buyer", &product, &KR_REGIONS[..1], quantity), StatusCode::CREATED).await?;
        &KR_REGIONS[..1]
    } else {
        let ids: Vec<String> = (0..owners).map(|i| format!("o-{i}")).collect();
        create_users(t, ids.clone(), "MEMBER").await?;
        let per_owner = (rows / 17 + 1).div_ceil((owners / 17).max(1)) + 1;
        parallel(t, ids, move |i, id| order_call(id, &product, &[KR_REGIONS[i % 17]], per_owner)).await?;
        &KR_REGIONS
    };
    t.stop_server().await;
    outcome.seed_seconds = seeding.elapsed().as_secs_f64();
    let (seconds, out) = import(t, rows, regions).await?;
    #[allow(clippy::cast_precision_loss)]
    let rate = rows as f64 / seconds;
    outcome.rate = rate;
    let lines = t.count("SELECT COUNT(*) AS n FROM order_lines").await?;
    outcome.notes.push(format!(
        "{rows} rows into {lines} order line(s) of {owners} owner(s) in {seconds:.1} s (wall time of the \
         `ldbds import` process)"
    ));
    outcome.notes.extend(out.lines().map(|l| l.trim().to_owned()));
    let written = std::fs::read_to_string(t.work.join("statements.json")).context("the import wrote no statements")?;
    outcome.statements = Some(statements::import_figures(&serde_json::from_str(&written)?)?);
    outcome.invariants = ownership_invariants(t).await?;
    let leads = t.count("SELECT COUNT(*) AS n FROM leads").await?;
    let expected = i64::try_from(rows)?;
    outcome.invariants.push((format!("leads {leads} = rows {rows}"), leads, leads == expected));
    let delivered = t.count("SELECT COUNT(*) AS n FROM leads WHERE owner_user_id IS NOT NULL").await?;
    outcome.invariants.push((
        format!("every lead delivered ({delivered} of {leads})"),
        leads - delivered,
        leads == delivered,
    ));
    let csv = t.work.join("leads.csv");
    outcome.reference = outcome.checked(reference::copy(t, &csv, rows).await);
    Ok(outcome)
}

/// The pure engine, in process: picks/s of `BulkPool` (the O(log k) backlog path) and of
/// `pick` (the transactional path with its explanation), at 10 and 1,000 candidates.
pub fn engine(args: &Args) -> Outcome {
    use domain::allocation::{BulkPool, Slot, line_eligibility, pick};
    use domain::reference::AllocationPolicy;
    let mut outcome = Outcome::new("picks");
    let budget = Duration::from_secs(args.duration.max(4) / 4);
    let weight = |i: usize| (i % 5) as u64 + 1;
    for k in [10usize, 1_000] {
        let mut pool = BulkPool::new((0..k).map(|i| (i, weight(i), i64::try_from(i).unwrap_or(0))));
        let started = Instant::now();
        let mut picks = 0u64;
        while started.elapsed() < budget {
            for _ in 0..10_000 {
                std::hint::black_box(pool.pick());
            }
            picks += 10_000;
        }
        #[allow(clippy::cast_precision_loss)]
        let bulk = picks as f64 / started.elapsed().as_secs_f64();
        let mut slots: Vec<Slot<usize>> = (0..k)
            .map(|i| Slot {
                id: i,
                weight: weight(i),
                credit: 0,
                tiebreak: i64::try_from(i).unwrap_or(0),
                load: 0,
                eligibility: line_eligibility(1_000_000, 0, None),
            })
            .collect();
        let started = Instant::now();
        let mut picks = 0u64;
        while started.elapsed() < budget {
            if let Ok(p) = pick(AllocationPolicy::Weighted, &slots) {
                for (id, credit) in &p.credits {
                    slots[*id].credit = *credit;
                }
            }
            picks += 1;
        }
        #[allow(clippy::cast_precision_loss)]
        let transactional = picks as f64 / started.elapsed().as_secs_f64();
        if k == 1_000 {
            outcome.rate = bulk;
        }
        outcome.notes.push(format!(
            "{k} candidates: BulkPool {:.2} M picks/s; pick with explanation {:.0} picks/s",
            bulk / 1e6,
            transactional
        ));
    }
    outcome.notes.push("criterion: cargo bench -p domain --bench engine".into());
    outcome
}

/// The counsel import's column map: the order of the cells [`counsel_row`] writes.
const COUNSEL_COLUMNS: &str = "mbrNo,ordNo,accpCont,custNm,custTelNo";
/// The outbound queue (`50`, this detail number) the sheet is imported into.
const COUNSEL_OB_TYP: &str = "900";
/// The CS managers of the queue: login id and weight.
const COUNSEL_MANAGERS: [(&str, u32); 3] = [("bench-cs-1", 1), ("bench-cs-2", 2), ("bench-cs-3", 3)];
/// Every manager's capacity: the most a membership may hold.
const COUNSEL_CAPACITY: u32 = 10_000;
/// The import's row limit (`domain::counsel_sheet::MAX_ROWS`).
const COUNSEL_MAX_ROWS: u64 = 50_000;

/// Row `i` of the generated sheet: a distinct member number, an order number, a content,
/// a name and a distinct Korean mobile.
fn counsel_row(i: u64) -> [String; 5] {
    [
        format!("M{i:08}"),
        format!("O{i:08}"),
        format!("아웃바운드 안내 {}", i % 100),
        format!("고객{}", i % 997),
        kr_phone(i),
    ]
}

/// The workbook of `rows` rows (a Korean header row first) and the same rows as a CSV
/// for the `COPY` reference.
fn write_counsel_files(csv: &std::path::Path, rows: u64) -> anyhow::Result<Vec<u8>> {
    use std::io::Write;
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let ws = workbook.add_worksheet();
    let mut out = std::io::BufWriter::new(std::fs::File::create(csv)?);
    writeln!(out, "mbr_no,ord_no,accp_cont,cust_nm,cust_tel")?;
    for (col, label) in (0u16..).zip(["회원번호", "주문번호", "접수내용", "고객명", "고객연락처"]) {
        ws.write_string(0, col, label)?;
    }
    for i in 0..rows {
        let row = counsel_row(i);
        let at = u32::try_from(i + 1)?;
        for (col, value) in (0u16..).zip(&row) {
            ws.write_string(at, col, value)?;
        }
        writeln!(out, "{}", row.join(","))?;
    }
    out.flush()?;
    Ok(workbook.save_to_buffer()?)
}

/// What their weights ask of each member when `total` cases go out and no one may pass
/// their capacity (water-filling: the capped get their capacity, the rest share what is
/// left by weight). `members` are (weight, capacity).
#[allow(clippy::cast_precision_loss)]
fn capped_shares(members: &[(i64, i64)], total: i64) -> Vec<f64> {
    let mut shares = vec![0.0; members.len()];
    let mut order: Vec<usize> = (0..members.len()).collect();
    let room = |i: usize| members[i].1 as f64 / members[i].0.max(1) as f64;
    order.sort_by(|&a, &b| room(a).total_cmp(&room(b)));
    let (mut left, mut weight) = (total as f64, members.iter().map(|m| m.0 as f64).sum::<f64>());
    for (k, &i) in order.iter().enumerate() {
        let (w, cap) = (members[i].0 as f64, members[i].1 as f64);
        if cap <= left * w / weight {
            shares[i] = cap;
            left -= cap;
            weight -= w;
        } else {
            for &j in &order[k..] {
                shares[j] = left * members[j].0 as f64 / weight;
            }
            break;
        }
    }
    shares
}

/// One member of the counsel queue after the run.
struct CounselMember {
    login: String,
    weight: i64,
    capacity: i64,
    open_cases: i64,
    /// Its `ASSIGNED` cases.
    assigned: i64,
    /// Its automatic picks made while no member was skipped for capacity.
    uncapped: i64,
}

async fn counsel_members(t: &Target) -> anyhow::Result<Vec<CounselMember>> {
    use sea_orm::{ConnectionTrait, Statement};
    let sql = "SELECT u.mohom_id AS login, m.weight AS weight, m.capacity AS capacity, m.open_cases AS open_cases, \
               (SELECT COUNT(*) FROM counsel_cases c WHERE c.auto_div_no = m.auto_div_no AND c.status = 'ASSIGNED') AS assigned, \
               (SELECT COUNT(*) FROM counsel_cases c WHERE c.auto_div_no = m.auto_div_no AND c.status = 'ASSIGNED' \
                AND c.assign_kind = 'AUTO' AND c.explanation NOT LIKE '%OVER_CAPACITY%') AS uncapped \
               FROM counsel_members m JOIN users u ON u.id = m.user_id WHERE m.removed_at IS NULL ORDER BY m.weight";
    let rows = t.sql.query_all_raw(Statement::from_string(t.db_backend(), sql)).await?;
    rows.iter()
        .map(|r| {
            Ok(CounselMember {
                login: r.try_get("", "login")?,
                weight: r.try_get("", "weight")?,
                capacity: r.try_get("", "capacity")?,
                open_cases: r.try_get("", "open_cases")?,
                assigned: r.try_get("", "assigned")?,
                uncapped: r.try_get("", "uncapped")?,
            })
        })
        .collect()
}

/// Each member's count against a share: ok when every one is within 1 of it.
#[allow(clippy::cast_precision_loss)]
fn shares_check(what: &str, members: &[CounselMember], counts: &[i64], shares: &[f64]) -> (String, i64, bool) {
    let mut worst = 0.0f64;
    let listed: Vec<String> = members
        .iter()
        .zip(counts.iter().zip(shares))
        .map(|(m, (count, share))| {
            worst = worst.max((*count as f64 - share).abs());
            format!("{} w{}: {count} vs {share:.1}", m.login, m.weight)
        })
        .collect();
    let total: i64 = counts.iter().sum();
    (format!("{what} of {total}, each within 1 of its share [{}]", listed.join(", ")), total, worst <= 1.0 + 1e-9)
}

/// `POST /v2/customerservice/csAllocationMgmt/saveObCsCounselInfoListExcel` of one
/// generated workbook (operator key): upload, parse, validate, encrypt, insert and
/// distribute `rows` cases over three CS managers of weights 1/2/3 on a `WEIGHTED` queue,
/// timed end to end as one request.
pub async fn counsel_import(t: &mut Target, args: &Args) -> anyhow::Result<Outcome> {
    const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let mut outcome = Outcome::new("rows");
    let rows = args.rows.unwrap_or(COUNSEL_MAX_ROWS);
    if rows == 0 || rows > COUNSEL_MAX_ROWS {
        bail!("counsel-import takes 1 to {COUNSEL_MAX_ROWS} rows (the Excel import's limit), not {rows}");
    }
    if t.operator_key.is_empty() {
        bail!("`ldbds seed --demo` printed no operator key");
    }
    let seeding = Instant::now();
    t.start_server().await?;
    let mut op = Conn::open(&t.addr(), &t.operator_key).await?;
    for (k, (login, _)) in COUNSEL_MANAGERS.iter().enumerate() {
        let user = json!({"mohomId": login, "name": "벤치 상담원", "phone": format!("010-3000-{:04}", k + 1),
                          "email": format!("{login}@bench.kr"), "role": "CS_MANAGER"});
        op.json(&Call::post("/api/v1/users", user.to_string()), StatusCode::CREATED).await?;
    }
    let queue =
        json!({"autoDivGbCd": "50", "autoDivDtlNo": COUNSEL_OB_TYP, "name": "벤치 아웃바운드", "policy": "WEIGHTED"});
    op.json(&Call::post("/api/v1/counsel/queues", queue.to_string()), StatusCode::CREATED).await?;
    for (login, weight) in COUNSEL_MANAGERS {
        let member = json!({"autoDivGbCd": "50", "autoDivDtlNo": COUNSEL_OB_TYP, "aempId": login, "weight": weight,
                            "capacity": COUNSEL_CAPACITY, "allocPossibleYn": "Y"});
        op.json(&Call::post("/api/v1/counsel/members", member.to_string()), StatusCode::CREATED).await?;
    }
    let csv = t.work.join("counsel.csv");
    let sheet = write_counsel_files(&csv, rows)?;
    outcome.seed_seconds = seeding.elapsed().as_secs_f64();
    let call = Call::multipart(
        format!(
            "/v2/customerservice/csAllocationMgmt/saveObCsCounselInfoListExcel?excelColumns={COUNSEL_COLUMNS}\
             &cnslTypNo=10&obTypNo={COUNSEL_OB_TYP}"
        ),
        "excelFile",
        "ob_cases.xlsx",
        XLSX,
        &sheet,
    );
    let addrs = t.addrs();
    let before = statements::sum(&statements::scrape(&addrs).await?);
    let started = Instant::now();
    let reply = op.json(&call, StatusCode::OK).await?;
    let seconds = started.elapsed().as_secs_f64();
    let after = statements::sum(&statements::scrape(&addrs).await?);
    outcome.statements =
        Some(before.until(&after).figures("POST /v2/customerservice/csAllocationMgmt/saveObCsCounselInfoListExcel"));
    outcome.peak_rss_mib = t.server_peak_rss_mib();
    t.stop_server().await;
    #[allow(clippy::cast_precision_loss)]
    let rate = rows as f64 / seconds;
    outcome.rate = rate;
    let field = |name: &str| reply[name].as_i64().with_context(|| format!("the import's reply has no {name}: {reply}"));
    let (imported, assigned, waiting) = (field("imported")?, field("assigned")?, field("waiting")?);
    outcome.notes.push(format!(
        "{rows} rows ({:.2} MiB .xlsx) in {seconds:.2} s, one request timed end to end (upload, parse, validate, \
         encrypt, insert, distribute); {assigned} assigned, {waiting} waiting",
        sheet.len() as f64 / (1024.0 * 1024.0)
    ));
    outcome.notes.push(format!(
        "queue 50/{COUNSEL_OB_TYP} WEIGHTED, managers of weights 1/2/3, capacity {COUNSEL_CAPACITY} each: past \
         {} rows the rest wait for manual assignment",
        3 * COUNSEL_CAPACITY
    ));
    if t.backend == Backend::Postgres {
        outcome.notes.push(
            "reference: COPY of the same rows as CSV into a 5-column table with 3 indexes (no validation, \
             encryption or allocation): the floor of the row work, not the same work"
                .into(),
        );
    }

    let expected = i64::try_from(rows)?;
    let cases = t.count("SELECT COUNT(*) AS n FROM counsel_cases").await?;
    let mut inv = vec![
        (format!("counsel_cases {cases} = rows {rows}"), cases, cases == expected),
        (format!("imported {imported} = rows {rows}"), imported, imported == expected),
    ];
    let in_sql = t.count("SELECT COUNT(*) AS n FROM counsel_cases WHERE status = 'ASSIGNED'").await?;
    let waiting_sql = t.count("SELECT COUNT(*) AS n FROM counsel_cases WHERE status = 'WAITING'").await?;
    inv.push((
        format!("ASSIGNED {in_sql} + WAITING {waiting_sql} = reply's {assigned} + {waiting} = rows"),
        in_sql + waiting_sql,
        in_sql == assigned && waiting_sql == waiting && assigned + waiting == expected,
    ));
    let over = t.count("SELECT COUNT(*) AS n FROM counsel_members WHERE open_cases > capacity").await?;
    inv.push(("members over their capacity".into(), over, over == 0));
    let members = counsel_members(t).await?;
    let drift = members.iter().filter(|m| m.open_cases != m.assigned).count();
    inv.push((
        format!(
            "members whose open_cases differ from their ASSIGNED cases [{}]",
            members
                .iter()
                .map(|m| format!("{} {}/{}", m.login, m.open_cases, m.capacity))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        i64::try_from(drift)?,
        drift == 0 && members.len() == COUNSEL_MANAGERS.len(),
    ));
    let terms: Vec<(i64, i64)> = members.iter().map(|m| (m.weight, m.capacity)).collect();
    let counts: Vec<i64> = members.iter().map(|m| m.assigned).collect();
    let final_shares = capped_shares(&terms, counts.iter().sum());
    inv.push(shares_check("assigned by weight (capacity-capped shares)", &members, &counts, &final_shares));
    let uncapped: Vec<i64> = members.iter().map(|m| m.uncapped).collect();
    let uncapped_total: i64 = uncapped.iter().sum();
    let pure_shares = capped_shares(&terms.iter().map(|(w, _)| (*w, i64::MAX)).collect::<Vec<_>>(), uncapped_total);
    inv.push(shares_check("picks while everyone had room, by weight", &members, &uncapped, &pure_shares));
    outcome.invariants = inv;
    outcome.reference = outcome.checked(reference::copy_counsel(t, &csv, rows).await);
    Ok(outcome)
}
