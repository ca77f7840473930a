//! A minimal keep-alive HTTP/1.1 client (hyper) and the closed-loop load generator.
//!
//! Each client task owns one TCP connection for the whole run and sends its next request
//! when the previous response has been read completely (closed loop, like `wrk`). Between
//! the warm-up and the measured window every client pauses with no request in flight, so
//! what is read of the server then (its counters) is exact at the window's edge.
//! Latencies recorded after the warm-up go into one HdrHistogram per task (microseconds,
//! 3 significant digits), merged at the end. Any response whose status is not the one the
//! scenario expects is an error: counted, and the first few are kept with their body.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::Barrier;

/// One request a scenario asks for.
pub struct Call {
    pub method: Method,
    pub path: String,
    /// The body (cheap to clone for every send); sent as JSON unless a `content-type`
    /// header says otherwise.
    pub body: Option<Bytes>,
    pub headers: Vec<(&'static str, String)>,
}

impl Call {
    pub fn get(path: impl Into<String>) -> Self {
        Self { method: Method::GET, path: path.into(), body: None, headers: Vec::new() }
    }

    pub fn post(path: impl Into<String>, body: impl Into<String>) -> Self {
        Self { method: Method::POST, path: path.into(), body: Some(Bytes::from(body.into())), headers: Vec::new() }
    }

    /// A `multipart/form-data` POST of one file field.
    pub fn multipart(path: impl Into<String>, field: &str, filename: &str, content_type: &str, file: &[u8]) -> Self {
        const BOUNDARY: &str = "----ldbds-bench-boundary-3f9c2a71d8e4";
        let mut body = Vec::with_capacity(file.len() + 256);
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        body.extend_from_slice(
            format!("Content-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n").as_bytes(),
        );
        body.extend_from_slice(format!("Content-Type: {content_type}\r\n\r\n").as_bytes());
        body.extend_from_slice(file);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        Self { method: Method::POST, path: path.into(), body: Some(Bytes::from(body)), headers: Vec::new() }
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// One keep-alive connection to the server, authenticating with an API key.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    host: String,
    key: String,
}

impl Conn {
    pub async fn open(addr: &str, key: &str) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr).await.with_context(|| format!("connect {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Self { sender, host: addr.to_owned(), key: key.to_owned() })
    }

    /// Sends one call and reads the whole response.
    pub async fn send(&mut self, call: &Call) -> anyhow::Result<(StatusCode, Bytes)> {
        self.sender.ready().await?;
        let mut builder = Request::builder().method(call.method.clone()).uri(&call.path).header("host", &self.host);
        // An anonymous connection (readiness, /metrics) sends no key at all.
        if !self.key.is_empty() {
            builder = builder.header("x-api-key", &self.key);
        }
        if call.body.is_some() && !call.headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-type")) {
            builder = builder.header("content-type", "application/json");
        }
        for (name, value) in &call.headers {
            builder = builder.header(*name, value);
        }
        let body = Full::new(call.body.clone().unwrap_or_default());
        let response = self.sender.send_request(builder.body(body)?).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        Ok((status, bytes))
    }

    /// Sends a call that must succeed with `expect`; returns the JSON body.
    pub async fn json(&mut self, call: &Call, expect: StatusCode) -> anyhow::Result<serde_json::Value> {
        let (status, body) = self.send(call).await?;
        if status != expect {
            bail!("{} {} answered {status}: {}", call.method, call.path, String::from_utf8_lossy(&body));
        }
        if body.is_empty() {
            return Ok(serde_json::Value::Null);
        }
        Ok(serde_json::from_slice(&body)?)
    }
}

/// What a load run measured.
pub struct LoadResult {
    pub requests: u64,
    pub errors: u64,
    pub first_errors: Vec<String>,
    pub seconds: f64,
    pub histogram: Histogram<u64>,
    /// The scenario ran out of work (e.g. leads to distribute) before the duration ended.
    pub exhausted: bool,
}

impl LoadResult {
    #[allow(clippy::cast_precision_loss)]
    pub fn rate(&self) -> f64 {
        if self.seconds > 0.0 { self.requests as f64 / self.seconds } else { 0.0 }
    }

    /// A latency quantile in milliseconds.
    #[allow(clippy::cast_precision_loss)]
    pub fn ms(&self, q: f64) -> f64 {
        self.histogram.value_at_quantile(q) as f64 / 1000.0
    }
}

/// Makes the `n`-th call of the run (0-based, over all clients), or `None` when the
/// scenario has no more work.
pub type CallSource = Arc<dyn Fn(u64) -> Option<Call> + Send + Sync>;

/// Runs once between the warm-up and the measured window, while no request is in
/// flight (e.g. the first scrape of the server's counters).
pub type WindowOpen = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>> + Send>;

/// Drives `clients` connections for `warmup` then `duration`, every response expected to
/// be `expect`. Client `i` talks to `addrs[i % addrs.len()]` (the nodes, round-robin).
///
/// At the end of the warm-up every client finishes its request in flight and waits;
/// `open` runs then, with the server idle, and the measured window opens when it returns.
/// A client that ran out of work or failed still takes part, so nobody waits forever.
#[allow(clippy::too_many_arguments)]
pub async fn run_load(
    addrs: &[String],
    key: &str,
    clients: usize,
    warmup: Duration,
    duration: Duration,
    expect: StatusCode,
    source: CallSource,
    open: WindowOpen,
) -> anyhow::Result<LoadResult> {
    if addrs.is_empty() {
        bail!("no server to drive");
    }
    let counter = Arc::new(AtomicU64::new(0));
    let exhausted = Arc::new(AtomicBool::new(false));
    let warmup_end = Instant::now() + warmup;
    // Every client and this task: first when all are idle, then when the window opens.
    let (idle, opened) = (Arc::new(Barrier::new(clients + 1)), Arc::new(Barrier::new(clients + 1)));
    let window: Arc<OnceLock<Instant>> = Arc::new(OnceLock::new());
    let mut tasks = Vec::with_capacity(clients);
    for i in 0..clients {
        let conn = Conn::open(&addrs[i % addrs.len()], key).await?;
        let (counter, exhausted, source) = (counter.clone(), exhausted.clone(), source.clone());
        let (idle, opened, window) = (idle.clone(), opened.clone(), window.clone());
        tasks.push(tokio::spawn(async move {
            let mut waited = false;
            let pause = async || {
                idle.wait().await;
                opened.wait().await;
            };
            let result = async {
                let mut conn = conn;
                let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
                let (mut requests, mut errors, mut first_errors) = (0u64, 0u64, Vec::new());
                loop {
                    if !waited && Instant::now() >= warmup_end {
                        pause().await;
                        waited = true;
                    }
                    let measured_window = window.get().map(|from| (*from, *from + duration));
                    if measured_window.is_some_and(|(_, end)| Instant::now() >= end) {
                        break;
                    }
                    let Some(call) = source(counter.fetch_add(1, Ordering::Relaxed)) else {
                        exhausted.store(true, Ordering::Relaxed);
                        break;
                    };
                    let sent = Instant::now();
                    let outcome = conn.send(&call).await;
                    let took = sent.elapsed();
                    let measured = measured_window.is_some_and(|(from, end)| sent >= from && Instant::now() <= end);
                    match outcome {
                        Ok((status, _)) if status == expect => {}
                        Ok((status, body)) => {
                            errors += 1;
                            if first_errors.len() < 3 {
                                first_errors.push(format!(
                                    "{} {}: {status} {}",
                                    call.method,
                                    call.path,
                                    String::from_utf8_lossy(&body)
                                ));
                            }
                        }
                        Err(e) => {
                            errors += 1;
                            if first_errors.len() < 3 {
                                first_errors.push(format!("{} {}: {e:#}", call.method, call.path));
                            }
                            conn = Conn::open(&conn.host, &conn.key).await?;
                        }
                    }
                    if measured {
                        requests += 1;
                        histogram.record(u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1))?;
                    }
                }
                anyhow::Ok((histogram, requests, errors, first_errors))
            }
            .await;
            if !waited {
                pause().await;
            }
            result
        }));
    }
    tokio::time::sleep_until(warmup_end.into()).await;
    idle.wait().await;
    let opening = open().await;
    let from = Instant::now();
    let _ = window.set(from);
    opened.wait().await;
    opening?;
    let end = from + duration;
    let mut merged = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let (mut requests, mut errors, mut first_errors) = (0, 0, Vec::new());
    for task in tasks {
        let (histogram, r, e, f) = task.await??;
        merged.add(histogram)?;
        requests += r;
        errors += e;
        first_errors.extend(f);
    }
    let measured_end = Instant::now().min(end);
    let seconds = measured_end.saturating_duration_since(from).as_secs_f64();
    first_errors.truncate(5);
    Ok(LoadResult {
        requests,
        errors,
        first_errors,
        seconds,
        histogram: merged,
        exhausted: exhausted.load(Ordering::Relaxed),
    })
}
