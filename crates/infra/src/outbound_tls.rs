//! TLS for the server's outbound HTTP (webhooks, providers): rustls on ring, trusting
//! the webpki roots only (no platform store, no other crypto provider), so every
//! outbound client verifies servers the same way on every machine.

use std::sync::Arc;

/// A rustls client configuration: ring, safe default protocol versions, webpki roots.
///
/// # Errors
/// rustls refuses the protocol versions (it does not with ring).
pub fn client_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
