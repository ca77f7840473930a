//! Telemetry: the request span every log line of a request carries, and the process's
//! log subscriber.
//!
//! Invariants (security.md, "Logs carry no personal data and no credentials"):
//! - the request span ([`RequestSpan`]) records only values from closed sets or of the
//!   server's own making: the route template (`http.route`: the matched pattern, or
//!   `unmatched`), the method (`http.method`: a standard method or `OTHER`), the status,
//!   the error code, the request id and the caller's org id. It never records the raw
//!   path, the query string, a header (credentials, user agent, cookies), the client
//!   address or a message that could quote the request;
//! - a failed request logs one event, with its status and stable error `code` only: error
//!   messages and details may name what the caller sent (a field name, a path), so they
//!   are the caller's to read in the reply and never go to the log;
//! - tokens, keys, secrets and signed URLs are carried in [`domain::secret::Secret`]
//!   wherever they are held in a struct, whose `Debug` and `Display` print `***`;
//! - log lines carry ANSI colour codes only when they go to a terminal ([`colour`]).

use std::io::IsTerminal;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use infra::config::{LogFormat, LogSettings};
use tracing::Span;
use tracing::field::Empty;
use tracing_actix_web::{RequestId, RootSpanBuilder};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::error::ApiError;
use crate::metrics::{method_label, route_label};

/// The `code` of a failed request whose error is not an [`ApiError`] (an actix extractor
/// or transport error): its text is not ours to vouch for, so it is not logged.
pub const UNCLASSIFIED_ERROR: &str = "UNCLASSIFIED";

/// tracing-actix-web's root span, built from bounded values only (module invariants).
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = route_label(request.match_pattern());
        let request_id = request.extensions().get::<RequestId>().map(ToString::to_string).unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %method_label(request.method()),
            http.route = %route,
            http.status_code = Empty,
            error.code = Empty,
            request_id = %request_id,
            org_id = Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let (status, error) = match outcome {
            Ok(response) => (response.status(), response.response().error()),
            Err(error) => (error.as_response_error().status_code(), Some(error)),
        };
        span.record("http.status_code", status.as_u16());
        let Some(error) = error else { return };
        let code = error.as_error::<ApiError>().map_or(UNCLASSIFIED_ERROR, ApiError::code);
        span.record("error.code", tracing::field::display(code));
        if status.is_server_error() {
            tracing::error!(parent: &span, status = status.as_u16(), code = %code, "request failed");
        } else {
            tracing::warn!(parent: &span, status = status.as_u16(), code = %code, "request refused");
        }
    }
}

/// Whether log lines get ANSI colour: only on a terminal, never in a file or a pipe, and
/// never in JSON.
#[must_use]
pub fn colour(format: LogFormat, writes_to_terminal: bool) -> bool {
    writes_to_terminal && matches!(format, LogFormat::Pretty)
}

/// A subscriber writing to `writer` at the configured level (`RUST_LOG` wins when set)
/// and format, coloured only when `writes_to_terminal` (see [`colour`]).
pub fn subscriber<W>(
    settings: &LogSettings,
    writer: W,
    writes_to_terminal: bool,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(colour(settings.format, writes_to_terminal));
    match settings.format {
        LogFormat::Json => Box::new(builder.json().finish()),
        LogFormat::Pretty => Box::new(builder.finish()),
    }
}

/// Installs the process's subscriber: standard error, coloured when it is a terminal.
/// Does nothing when a subscriber is already installed.
pub fn init(settings: &LogSettings) {
    let terminal = std::io::stderr().is_terminal();
    let _ = tracing::subscriber::set_global_default(subscriber(settings, std::io::stderr, terminal));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_and_never_in_json() {
        assert!(colour(LogFormat::Pretty, true));
        assert!(!colour(LogFormat::Pretty, false));
        assert!(!colour(LogFormat::Json, true));
        assert!(!colour(LogFormat::Json, false));
    }
}
