//! The JSON-over-HTTPS client every `http` provider adapter shares (insurance data,
//! health data; `docs/providers.md`).
//!
//! Invariants:
//! - TLS from `outbound_tls` (rustls on ring, webpki roots), no redirect followed, one
//!   time limit for connecting and for the whole call;
//! - every call is a `POST` of a JSON body with the bearer token;
//! - only a `200` is an answer, read whole up to [`MAX_ANSWER_BYTES`]; anything else is a
//!   [`ProviderFailure`] naming the provider's kind and the failure, never the request
//!   (which carries the person).

use std::time::Duration;

use domain::ports::ProviderFailure;

/// The largest answer a provider may give.
pub const MAX_ANSWER_BYTES: usize = 1 << 20;

/// A provider's client: its token and what it is called in failures.
#[derive(Clone)]
pub struct ProviderClient {
    client: reqwest::Client,
    token: String,
    /// E.g. `insurance-data`, `health-data`.
    what: &'static str,
}

impl ProviderClient {
    /// # Errors
    /// The TLS configuration or the client cannot be built.
    pub fn new(what: &'static str, timeout: Duration, token: &str) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(crate::outbound_tls::client_config()?)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .timeout(timeout)
            .user_agent(format!("ldbds-{what}/1"))
            .build()?;
        Ok(Self { client, token: token.to_owned(), what })
    }

    /// Posts `body` to `url` and reads a 200's answer whole (capped).
    ///
    /// # Errors
    /// Unreachable, too slow, another status, a broken or too large answer.
    pub async fn post(&self, url: &str, body: &serde_json::Value) -> Result<Vec<u8>, ProviderFailure> {
        let what = self.what;
        let failed = |reason: &str| ProviderFailure(format!("the {what} {reason}"));
        let mut answer = self
            .client
            .post(url)
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    failed("provider did not answer in time")
                } else {
                    failed("provider could not be reached")
                }
            })?;
        if answer.status() != reqwest::StatusCode::OK {
            return Err(failed(&format!("provider answered {}", answer.status().as_u16())));
        }
        let mut bytes: Vec<u8> = Vec::new();
        while let Some(chunk) = answer.chunk().await.map_err(|_| failed("answer broke off"))? {
            if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(failed("answer is larger than 1 MiB"));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }
}
