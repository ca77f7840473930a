//! The `webhook` scenario's receiver: a loopback HTTP/1.1 server (hyper) that verifies
//! every delivery's signature with the independent `standardwebhooks` crate, counts each
//! event id once, and records for every `lead.assigned` the time from the event's
//! `createdAt` (written in the intake's transaction, just before its commit) to its
//! arrival: the commit-to-receipt latency of issue #16, in milliseconds.
//!
//! Answers 204 to a verified delivery and 400 to a forged one (which the run then fails
//! on: `bad_signatures` must stay 0).

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// What the receiver saw.
pub struct Received {
    /// Commit-to-receipt of `lead.assigned`, ms (1 µs resolution is not available: the
    /// envelope's `createdAt` has milliseconds).
    pub latency_ms: Histogram<u64>,
    pub deliveries: u64,
    pub distinct_events: u64,
    pub lead_assigned: u64,
    pub bad_signatures: u64,
}

struct State {
    /// Set once the endpoint is created (its secret is shown then); a delivery before
    /// that counts as a bad signature.
    verifier: Option<standardwebhooks::Webhook>,
    seen: HashSet<String>,
    latency_ms: Histogram<u64>,
    deliveries: u64,
    lead_assigned: u64,
    bad_signatures: u64,
}

/// The running receiver.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl Receiver {
    /// Listens on a free loopback port; [`Receiver::set_secret`] before events arrive.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State {
            verifier: None,
            seen: HashSet::new(),
            latency_ms: Histogram::new_with_bounds(1, 600_000, 3)?,
            deliveries: 0,
            lead_assigned: 0,
            bad_signatures: 0,
        }));
        let task = {
            let state = Arc::clone(&state);
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let state = Arc::clone(&state);
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req| handle(Arc::clone(&state), req));
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            })
        };
        Ok(Self { addr, state, task: Arc::new(task) })
    }

    /// Verifies with `secret` (`whsec_…`) from now on.
    pub fn set_secret(&self, secret: &str) -> anyhow::Result<()> {
        let verifier = standardwebhooks::Webhook::new(secret).map_err(|e| anyhow::anyhow!("secret: {e}"))?;
        self.state.lock().unwrap_or_else(PoisonError::into_inner).verifier = Some(verifier);
        Ok(())
    }

    /// The URL to register.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// What arrived so far.
    pub fn received(&self) -> Received {
        let s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        Received {
            latency_ms: s.latency_ms.clone(),
            deliveries: s.deliveries,
            distinct_events: u64::try_from(s.seen.len()).unwrap_or(u64::MAX),
            lead_assigned: s.lead_assigned,
            bad_signatures: s.bad_signatures,
        }
    }

    /// Waits until `n` distinct `lead.assigned` arrived or `timeout` passed.
    pub async fn wait_for_assigned(&self, n: u64, timeout: std::time::Duration) -> Received {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let got = self.received();
            if got.lead_assigned >= n || std::time::Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    pub fn stop(&self) {
        self.task.abort();
    }
}

async fn handle(
    state: Arc<Mutex<State>>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let arrived = time::OffsetDateTime::now_utc();
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(answer(StatusCode::BAD_REQUEST)),
    };
    let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
    s.deliveries += 1;
    if s.verifier.as_ref().is_none_or(|v| v.verify(&body, &parts.headers).is_err()) {
        s.bad_signatures += 1;
        return Ok(answer(StatusCode::BAD_REQUEST));
    }
    let id = parts.headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    if !s.seen.insert(id) {
        // A duplicate (a retry whose first answer was lost): counted once.
        return Ok(answer(StatusCode::NO_CONTENT));
    }
    let envelope: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if envelope["type"] == "lead.assigned" {
        s.lead_assigned += 1;
        let created = envelope["createdAt"]
            .as_str()
            .and_then(|t| time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok());
        if let Some(created) = created {
            let ms = u64::try_from((arrived - created).whole_milliseconds().max(1)).unwrap_or(u64::MAX);
            let _ = s.latency_ms.record(ms);
        }
    }
    Ok(answer(StatusCode::NO_CONTENT))
}

fn answer(status: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}
