//! The SMS port's adapters (`domain::ports::SmsSender`; issue #17, `docs/providers.md`).
//!
//! - `none`: no provider; every send fails, so a code request answers 503 and stores
//!   nothing;
//! - `log`: development only (the settings refuse it in production): the message,
//!   code included, is written to the server log at `info` with the phone masked. This
//!   is the one place a secret is allowed into a log (`funnel.md` "Providers");
//! - `http`: `POST <url>` with `Authorization: Bearer <token>` and the JSON body
//!   `{"to": "+8210…", "from": "<sender>", "text": "…"}`; any 2xx is accepted, anything
//!   else, a timeout (10 s) or a connection error is a failure whose reason names the
//!   status or the error class, never the phone or the text. Redirects are not
//!   followed; the answer's body is not read.

use std::time::Duration;

use domain::pii::mask::mask_phone;
use domain::pii::{PhoneNumber, Pii};
use domain::ports::{SmsFailure, SmsSender};

use crate::config::{FunnelSettings, SmsAdapterKind};

/// How long the provider has to answer.
pub const SMS_TIMEOUT: Duration = Duration::from_secs(10);

/// The configured SMS adapter.
#[derive(Clone)]
pub enum SmsAdapter {
    Disabled,
    Log,
    Http(HttpSms),
}

impl SmsAdapter {
    /// The adapter `settings` name.
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn from_settings(settings: &FunnelSettings) -> anyhow::Result<Self> {
        Ok(match settings.sms {
            SmsAdapterKind::None => Self::Disabled,
            SmsAdapterKind::Log => Self::Log,
            SmsAdapterKind::Http => {
                Self::Http(HttpSms::new(&settings.sms_url, &settings.sms_token, &settings.sms_sender)?)
            }
        })
    }
}

/// The `http` adapter.
#[derive(Clone)]
pub struct HttpSms {
    client: reqwest::Client,
    url: String,
    token: String,
    sender: String,
}

impl HttpSms {
    /// # Errors
    /// The TLS configuration or the client cannot be built.
    pub fn new(url: &str, token: &str, sender: &str) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(crate::outbound_tls::client_config()?)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(SMS_TIMEOUT)
            .timeout(SMS_TIMEOUT)
            .user_agent("ldbds-sms/1")
            .build()?;
        Ok(Self { client, url: url.trim().to_owned(), token: token.to_owned(), sender: sender.to_owned() })
    }
}

impl SmsSender for SmsAdapter {
    async fn send(&self, to: &Pii<PhoneNumber>, text: &Pii<String>) -> Result<(), SmsFailure> {
        match self {
            Self::Disabled => Err(SmsFailure("no SMS provider is configured (funnel.sms = \"none\")".to_owned())),
            Self::Log => {
                tracing::info!(
                    to = %mask_phone(&to.expose().national()),
                    text = %text.expose(),
                    "SMS (funnel.sms = \"log\", development only)"
                );
                Ok(())
            }
            Self::Http(http) => {
                let body = serde_json::json!({ "to": to.expose().e164(), "from": http.sender, "text": text.expose() });
                let sent = http
                    .client
                    .post(&http.url)
                    .bearer_auth(&http.token)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.to_string())
                    .send()
                    .await;
                match sent {
                    Ok(answer) if answer.status().is_success() => Ok(()),
                    Ok(answer) => Err(SmsFailure(format!("the SMS provider answered {}", answer.status().as_u16()))),
                    Err(e) if e.is_timeout() => Err(SmsFailure("the SMS provider did not answer in time".to_owned())),
                    Err(e) if e.is_connect() => Err(SmsFailure("the SMS provider could not be reached".to_owned())),
                    Err(_) => Err(SmsFailure("the request to the SMS provider failed".to_owned())),
                }
            }
        }
    }
}
