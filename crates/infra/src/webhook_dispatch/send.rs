//! One webhook attempt over HTTP: signed headers, no redirects, a 10 s bound on the
//! whole exchange, at most 64 KiB of the answer read (and dropped), and destinations
//! checked when the request is made.
//!
//! Invariants:
//! - the URL is checked again at send time (`webhook_destination::check_url`, so a
//!   literal address or `localhost` refused by the policy is never connected to), and
//!   every address a name resolves to is checked by [`GuardedResolver`] before the
//!   connection: the addresses checked are the addresses connected to, so DNS rebinding
//!   between a check and the connection cannot happen;
//! - no proxy from the environment is used (it would connect on our behalf, unchecked);
//! - redirects are answers (3xx), never followed;
//! - nothing of the receiver's answer is kept but its status: the body is read to the cap
//!   so the connection can be reused, then dropped; errors are classified into a few
//!   words of our own (`timeout`, `connect`, `destination refused: …`).

use std::net::SocketAddr;
use std::time::Instant;

use domain::webhooks::{MAX_RESPONSE_BYTES, Response, SEND_TIMEOUT};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::webhook_destination::{DestinationError, DestinationPolicy, check_address, check_url};
use crate::webhook_signature::{WebhookSecret, signature_header};

/// What one attempt gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub response: Response,
    pub latency_ms: i64,
    /// Our classification of a failure; `None` for a 2xx.
    pub error: Option<String>,
}

/// Resolves names, refusing any that resolves to an address the policy refuses.
#[derive(Debug, Clone, Copy)]
struct GuardedResolver {
    policy: DestinationPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            for addr in &addrs {
                check_address(addr.ip(), policy)?;
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The HTTP side of the dispatcher.
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
    policy: DestinationPolicy,
}

impl Sender {
    /// A client with the invariants above, TLS by rustls on ring with the webpki roots.
    ///
    /// # Errors
    /// The TLS configuration or the client cannot be built.
    pub fn new(policy: DestinationPolicy) -> anyhow::Result<Self> {
        let tls = crate::outbound_tls::client_config()?;
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .dns_resolver(GuardedResolver { policy })
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(SEND_TIMEOUT)
            .timeout(SEND_TIMEOUT)
            .http1_only()
            .user_agent("ldbds-webhooks/1")
            .build()?;
        Ok(Self { client, policy })
    }

    /// Sends `body` as event `id` to `url`, signed with `secrets` (current first).
    pub async fn send(&self, url: &str, id: &str, body: Vec<u8>, secrets: &[&WebhookSecret]) -> Attempt {
        let started = Instant::now();
        let elapsed = || i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        if let Err(refused) = check_url(url, self.policy) {
            return Attempt {
                response: Response::Unreachable,
                latency_ms: 0,
                error: Some(format!("destination refused: {refused}")),
            };
        }
        let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let signature = signature_header(secrets, id, timestamp, &body);
        let exchange = async {
            let mut response = self
                .client
                .post(url)
                .header("content-type", "application/json")
                .header("webhook-id", id)
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", signature)
                .body(body)
                .send()
                .await?;
            let status = response.status().as_u16();
            let mut read = 0usize;
            while read < MAX_RESPONSE_BYTES {
                match response.chunk().await {
                    Ok(Some(chunk)) => read += chunk.len(),
                    // The status is the answer; a body cut short does not change it.
                    Ok(None) | Err(_) => break,
                }
            }
            Ok::<u16, reqwest::Error>(status)
        };
        match tokio::time::timeout(SEND_TIMEOUT, exchange).await {
            Ok(Ok(status)) => {
                let ok = (200..300).contains(&status);
                Attempt {
                    response: Response::Status(status),
                    latency_ms: elapsed(),
                    error: (!ok).then(|| format!("http {status}")),
                }
            }
            Ok(Err(e)) if e.is_timeout() => {
                Attempt { response: Response::Timeout, latency_ms: elapsed(), error: Some("timeout".to_owned()) }
            }
            Ok(Err(e)) => Attempt { response: Response::Unreachable, latency_ms: elapsed(), error: Some(classify(&e)) },
            Err(_) => Attempt { response: Response::Timeout, latency_ms: elapsed(), error: Some("timeout".to_owned()) },
        }
    }
}

/// A few words for a failed exchange, never the receiver's text.
fn classify(error: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(refused) = e.downcast_ref::<DestinationError>() {
            return format!("destination refused: {refused}");
        }
        source = e.source();
    }
    if error.is_connect() { "connect".to_owned() } else { "request".to_owned() }
}
