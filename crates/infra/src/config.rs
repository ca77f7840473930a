//! Typed settings: `config/base.toml`, then `config/{LDBDS_ENV}.toml`, then the file in
//! `LDBDS_CONFIG_FILE` (optional), then `LDBDS__SECTION__KEY` environment variables.
//!
//! The TOML layers are compiled into the binary, so the server and the tests find them
//! from any working directory. Invariant: a [`Settings`] value that exists has passed
//! [`Settings::validate`]; every refusal names the key and the reason.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use config::{Config, Environment, File, FileFormat};
use serde::Deserialize;
use thiserror::Error;

const BASE: &str = include_str!("../../../config/base.toml");
const DEV: &str = include_str!("../../../config/dev.toml");
const TEST: &str = include_str!("../../../config/test.toml");
const PRODUCTION: &str = include_str!("../../../config/production.toml");

/// A setting that could not be loaded or does not make sense.
#[derive(Debug, Error)]
pub enum SettingsError {
    #[error("configuration key `{key}`: {reason}")]
    Invalid { key: String, reason: String },
    #[error("configuration could not be read: {0}")]
    Load(String),
}

fn invalid(key: &str, reason: impl Into<String>) -> SettingsError {
    SettingsError::Invalid { key: key.to_owned(), reason: reason.into() }
}

/// The run mode, from `LDBDS_ENV` (`dev` when unset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnv {
    Dev,
    Test,
    Production,
}

impl RunEnv {
    /// # Errors
    /// Any name other than dev, test or production.
    pub fn parse(name: &str) -> Result<Self, SettingsError> {
        match name {
            "dev" | "development" => Ok(Self::Dev),
            "test" => Ok(Self::Test),
            "production" | "prod" => Ok(Self::Production),
            other => Err(invalid("LDBDS_ENV", format!("`{other}` is not one of dev, test, production"))),
        }
    }

    fn layer(self) -> &'static str {
        match self {
            Self::Dev => DEV,
            Self::Test => TEST,
            Self::Production => PRODUCTION,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(skip, default = "default_env")]
    pub env: RunEnv,
    pub data_dir: PathBuf,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub log: LogSettings,
    pub limits: LimitSettings,
    pub rate_limit: RateLimitSettings,
    pub jwt: JwtSettings,
    pub crypto: CryptoSettings,
    pub files: FilesSettings,
    /// The in-process caches of principals and reference data (`[auth]`).
    #[serde(default)]
    pub auth: AuthSettings,
    /// Events: webhook delivery and the NATS stream (`[events]`, issue #16).
    #[serde(default)]
    pub events: EventsSettings,
    /// The consumer funnel's providers (`[funnel]`, issue #17).
    #[serde(default)]
    pub funnel: FunnelSettings,
}

fn default_env() -> RunEnv {
    RunEnv::Dev
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: String,
    pub workers: usize,
    pub shutdown_timeout_secs: u64,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub pool_size: u32,
    pub migrate_on_start: bool,
    pub seed_demo_on_first_start: bool,
    pub busy_timeout_ms: u64,
    pub connect_timeout_secs: u64,
}

domain::redacting_debug!(DatabaseSettings {
    show: [pool_size, migrate_on_start, seed_demo_on_first_start, busy_timeout_ms, connect_timeout_secs],
    redact: [url]
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    pub json_body_bytes: usize,
    pub upload_body_bytes: usize,
}

/// Token buckets. `per_second`/`burst` is the bucket of each API key (Bearer tokens a key
/// minted draw on it; an SSO user has its own); the named tables are the stricter buckets
/// of one action.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    pub per_second: u32,
    pub burst: u32,
    /// Per acting user: searches by phone, email or name (`search` on the lead and user lists).
    pub search: BucketSettings,
    /// Per acting user: contact reveals (`POST /leads/{id}/use`, `POST /leads/contacts`).
    pub reveal: BucketSettings,
    /// Per client address: failed authentications (unknown, revoked or forged credentials).
    pub auth_failure: BucketSettings,
    /// Per client address: `GET /api/v1/auth/sso`, every attempt.
    pub sso: BucketSettings,
    /// Peer addresses of reverse proxies whose `X-Forwarded-For` names the client
    /// (comma-separated IPs); empty: the connection's peer address is the client.
    pub trusted_proxies: String,
}

/// One token bucket: sustained requests per second and the burst above it.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketSettings {
    pub per_second: u32,
    pub burst: u32,
}

impl RateLimitSettings {
    /// The parsed `trusted_proxies` (validated at start-up; a bad entry is skipped here).
    #[must_use]
    pub fn trusted_proxy_addrs(&self) -> Vec<IpAddr> {
        self.trusted_proxies.split(',').filter_map(|a| a.trim().parse().ok()).collect()
    }

    fn validate(&self) -> Result<(), SettingsError> {
        let buckets = [
            ("rate_limit", BucketSettings { per_second: self.per_second, burst: self.burst }),
            ("rate_limit.search", self.search),
            ("rate_limit.reveal", self.reveal),
            ("rate_limit.auth_failure", self.auth_failure),
            ("rate_limit.sso", self.sso),
        ];
        for (prefix, bucket) in buckets {
            if bucket.per_second == 0 {
                return Err(invalid(&format!("{prefix}.per_second"), "must be at least 1"));
            }
            if bucket.burst == 0 {
                return Err(invalid(&format!("{prefix}.burst"), "must be at least 1"));
            }
        }
        for entry in self.trusted_proxies.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry.parse::<IpAddr>().is_err() {
                return Err(invalid("rate_limit.trusted_proxies", "must be comma-separated IP addresses"));
            }
        }
        Ok(())
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtSettings {
    pub issuer: String,
    pub audience: String,
    pub ttl_secs: u64,
    pub secret: String,
    pub kid: String,
    pub previous: String,
    pub leeway_secs: u64,
}

domain::redacting_debug!(JwtSettings {
    show: [issuer, audience, ttl_secs, kid, leeway_secs],
    redact: [secret, previous]
});

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CryptoSettings {
    pub kek: String,
    pub keys: String,
    pub active_key: u32,
    pub retired: String,
    pub index_key: String,
}

domain::redacting_debug!(CryptoSettings { show: [active_key, retired], redact: [kek, keys, index_key] });

/// Where uploaded files go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilesBackend {
    /// `{data_dir}/files/`, uploaded to this server with an HMAC-signed URL.
    Local,
    /// An S3-compatible store, uploaded with a SigV4 presigned PUT.
    S3,
}

/// The principal and reference caches (ADR 0009): how long an entry may be served
/// without a look at the database, how many entries each cache holds, and how often the
/// keys' `last_used_at` is written.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// The bound on a revocation or role change made where no NOTIFY reaches (1 to 60).
    pub cache_ttl_secs: u64,
    /// Entries per cache (keys, users, orgs, members), at least 1.
    pub cache_capacity: u64,
    /// How often `last_used_at` is written behind (1 to 60).
    pub last_used_flush_secs: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self { cache_ttl_secs: 30, cache_capacity: 10_000, last_used_flush_secs: 5 }
    }
}

impl AuthSettings {
    fn validate(&self) -> Result<(), SettingsError> {
        if !(1..=60).contains(&self.cache_ttl_secs) {
            return Err(invalid("auth.cache_ttl_secs", "must be from 1 to 60 (the revocation bound)"));
        }
        if !(1..=10_000_000).contains(&self.cache_capacity) {
            return Err(invalid("auth.cache_capacity", "must be from 1 to 10000000"));
        }
        if !(1..=60).contains(&self.last_used_flush_secs) {
            return Err(invalid("auth.last_used_flush_secs", "must be from 1 to 60"));
        }
        Ok(())
    }
}

/// Events (`events.md`): where webhooks may go, the dispatcher, and the NATS stream.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsSettings {
    /// Lets endpoint URLs be `http` and resolve to loopback (development and tests only;
    /// production refuses it). Every other non-public address stays refused.
    pub allow_loopback: bool,
    /// Runs the webhook dispatcher in this process (`serve`); a node with `false` only
    /// writes events.
    pub dispatch: bool,
    /// Endpoints sent to at once by this node's dispatcher (1 to 1000).
    pub max_in_flight: usize,
    /// `nats://host:port` of the JetStream server; empty: no stream.
    pub nats_url: String,
}

impl Default for EventsSettings {
    fn default() -> Self {
        Self { allow_loopback: false, dispatch: true, max_in_flight: 32, nats_url: String::new() }
    }
}

impl EventsSettings {
    fn validate(&self, env: RunEnv) -> Result<(), SettingsError> {
        if !(1..=1000).contains(&self.max_in_flight) {
            return Err(invalid("events.max_in_flight", "must be from 1 to 1000"));
        }
        let nats = self.nats_url.trim();
        if !(nats.is_empty() || nats.starts_with("nats://") || nats.starts_with("tls://")) {
            return Err(invalid("events.nats_url", "must be empty, nats://host:port or tls://host:port"));
        }
        if env == RunEnv::Production && self.allow_loopback {
            return Err(invalid(
                "events.allow_loopback",
                "is refused in production (webhooks must go to public https)",
            ));
        }
        Ok(())
    }
}

/// Which SMS adapter sends identity codes (`docs/providers.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsAdapterKind {
    /// No provider: code requests answer 503.
    None,
    /// Development only: the message is written to the server log.
    Log,
    /// The published JSON-over-HTTPS contract.
    Http,
}

/// Which adapter answers the insurance-contract registry (`docs/providers.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InsuranceAdapterKind {
    /// No provider: analyses answer 503.
    None,
    /// Deterministic test data (`infra::insurance_sandbox`); refused in production.
    Sandbox,
    /// The published JSON-over-HTTPS contract.
    Http,
}

/// An `https://` URL, or `http://` outside production, with a host.
fn provider_url(url: &str, env: RunEnv) -> bool {
    let url = url.trim();
    is_http_base(url) && (url.starts_with("https://") || env != RunEnv::Production)
}

/// The consumer funnel (`funnel.md`): its providers.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FunnelSettings {
    pub sms: SmsAdapterKind,
    /// The `http` adapter's endpoint (`https://`; `http://` only outside production).
    pub sms_url: String,
    /// The `http` adapter's bearer token.
    pub sms_token: String,
    /// The sending number or name the provider shows.
    pub sms_sender: String,
    /// A TOML file replacing the built-in table of recommended coverage amounts
    /// (`fixtures/coverage_recommendations.toml` shows the format); empty: built-in.
    pub recommendations_file: String,
    pub insurance: InsuranceAdapterKind,
    /// The `http` insurance adapter's base URL (`POST <url>/contracts`).
    pub insurance_url: String,
    /// The `http` insurance adapter's bearer token.
    pub insurance_token: String,
    /// The source (by code) whose org provides, and whose default product is, the lead
    /// of an analysis with the `THIRD_PARTY_PROVISION` consent (the platform's own
    /// source; `ldbds orgs add-source`). Missing: no lead is made, and the log says so.
    pub lead_source: String,
    /// The health-data provider of the medical analysis (NHIS simple authentication and
    /// check-ups): the same three kinds as `insurance`.
    pub health: InsuranceAdapterKind,
    /// The `http` health adapter's base URL (`POST <url>/nhis/...`).
    pub health_url: String,
    /// The `http` health adapter's bearer token.
    pub health_token: String,
    /// The sandbox's simulated approval delay, in milliseconds (0 in tests).
    pub health_approve_after_ms: u64,
    /// Days health data (medical analyses, their sessions) is kept; identity
    /// verifications are deleted after as many days.
    pub medical_retention_days: u16,
    /// Seconds between two runs of the server's purge task (0: never from the server).
    pub purge_interval_secs: u64,
}

impl std::fmt::Debug for FunnelSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FunnelSettings")
            .field("sms", &self.sms)
            .field("sms_url", &self.sms_url)
            .field("sms_token", &if self.sms_token.is_empty() { "" } else { "***" })
            .field("sms_sender", &self.sms_sender)
            .field("recommendations_file", &self.recommendations_file)
            .field("insurance", &self.insurance)
            .field("insurance_url", &self.insurance_url)
            .field("insurance_token", &if self.insurance_token.is_empty() { "" } else { "***" })
            .field("lead_source", &self.lead_source)
            .field("health", &self.health)
            .field("health_url", &self.health_url)
            .field("health_token", &if self.health_token.is_empty() { "" } else { "***" })
            .field("health_approve_after_ms", &self.health_approve_after_ms)
            .field("medical_retention_days", &self.medical_retention_days)
            .field("purge_interval_secs", &self.purge_interval_secs)
            .finish()
    }
}

impl Default for FunnelSettings {
    fn default() -> Self {
        Self {
            sms: SmsAdapterKind::None,
            sms_url: String::new(),
            sms_token: String::new(),
            sms_sender: String::new(),
            recommendations_file: String::new(),
            insurance: InsuranceAdapterKind::Sandbox,
            insurance_url: String::new(),
            insurance_token: String::new(),
            lead_source: "COVERAGE".to_owned(),
            health: InsuranceAdapterKind::Sandbox,
            health_url: String::new(),
            health_token: String::new(),
            health_approve_after_ms: 3000,
            medical_retention_days: domain::funnel::health::DEFAULT_RETENTION_DAYS,
            purge_interval_secs: 3600,
        }
    }
}

impl FunnelSettings {
    fn validate(&self, env: RunEnv) -> Result<(), SettingsError> {
        if self.medical_retention_days == 0 {
            return Err(invalid("funnel.medical_retention_days", "must be at least 1"));
        }
        match self.health {
            InsuranceAdapterKind::Sandbox if env == RunEnv::Production => {
                return Err(invalid(
                    "funnel.health",
                    "\"sandbox\" shows test data to real people and is refused in production; use \"http\" or \"none\"",
                ));
            }
            InsuranceAdapterKind::Http => {
                if !provider_url(&self.health_url, env) {
                    return Err(invalid("funnel.health_url", "must be an https:// URL (http:// outside production)"));
                }
                if self.health_token.trim().is_empty() {
                    return Err(invalid("funnel.health_token", "is required with funnel.health = \"http\""));
                }
            }
            _ => {}
        }
        match self.insurance {
            InsuranceAdapterKind::Sandbox if env == RunEnv::Production => {
                return Err(invalid(
                    "funnel.insurance",
                    "\"sandbox\" shows test data to real people and is refused in production; use \"http\" or \"none\"",
                ));
            }
            InsuranceAdapterKind::Http => {
                if !provider_url(&self.insurance_url, env) {
                    return Err(invalid(
                        "funnel.insurance_url",
                        "must be an https:// URL (http:// outside production)",
                    ));
                }
                if self.insurance_token.trim().is_empty() {
                    return Err(invalid("funnel.insurance_token", "is required with funnel.insurance = \"http\""));
                }
            }
            _ => {}
        }
        match self.sms {
            SmsAdapterKind::Log if env == RunEnv::Production => Err(invalid(
                "funnel.sms",
                "\"log\" writes codes to the log and is refused in production; use \"http\" or \"none\"",
            )),
            SmsAdapterKind::Http => {
                let url = self.sms_url.trim();
                let https = url.starts_with("https://") && url.len() > "https://".len();
                let http = url.starts_with("http://") && url.len() > "http://".len();
                if !(https || (http && env != RunEnv::Production)) {
                    return Err(invalid("funnel.sms_url", "must be an https:// URL (http:// outside production)"));
                }
                if self.sms_token.trim().is_empty() {
                    return Err(invalid("funnel.sms_token", "is required with funnel.sms = \"http\""));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesSettings {
    pub backend: FilesBackend,
    /// How long an upload URL lives.
    pub ttl_secs: u64,
    /// `scheme://host[:port]` of local upload URLs; empty: `http://<server.bind>`.
    pub public_base_url: String,
    pub s3: S3Settings,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Settings {
    /// `https://s3.<region>.amazonaws.com`, `http://127.0.0.1:9000`, ...
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
    /// `true`: `endpoint/bucket/key`; `false`: `bucket.endpoint/key` (virtual host).
    pub path_style: bool,
}

domain::redacting_debug!(S3Settings { show: [endpoint, bucket, region, path_style], redact: [access_key, secret_key] });

impl CryptoSettings {
    /// True when no key is configured (dev and test then use generated keys).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.kek.trim().is_empty() && self.keys.trim().is_empty()
    }
}

impl Settings {
    /// Loads the settings of the process: `LDBDS_ENV`, `LDBDS_CONFIG_FILE` and the
    /// `LDBDS__*` variables of its environment.
    ///
    /// # Errors
    /// [`SettingsError`] naming the first key that is missing, malformed or out of range.
    pub fn load() -> Result<Self, SettingsError> {
        let env_name = std::env::var("LDBDS_ENV").unwrap_or_else(|_| "dev".to_owned());
        let file = std::env::var_os("LDBDS_CONFIG_FILE").map(PathBuf::from);
        let vars: HashMap<String, String> = std::env::vars().filter(|(k, _)| k.starts_with("LDBDS__")).collect();
        Self::load_from(&env_name, file.as_deref(), vars)
    }

    /// Loads settings from explicit inputs (what [`Settings::load`] reads from the process).
    ///
    /// # Errors
    /// As [`Settings::load`].
    pub fn load_from(
        env_name: &str,
        file: Option<&Path>,
        vars: HashMap<String, String>,
    ) -> Result<Self, SettingsError> {
        let env = RunEnv::parse(env_name)?;
        let mut builder = Config::builder()
            .add_source(File::from_str(BASE, FileFormat::Toml))
            .add_source(File::from_str(env.layer(), FileFormat::Toml));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(invalid("LDBDS_CONFIG_FILE", format!("{} is not a readable file", path.display())));
            }
            builder = builder.add_source(File::from(path).format(FileFormat::Toml));
        }
        builder = builder.add_source(
            Environment::with_prefix("LDBDS")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .source(Some(vars.into_iter().collect())),
        );
        let raw = builder.build().map_err(|e| SettingsError::Load(e.to_string()))?;
        let mut settings: Settings = raw.try_deserialize().map_err(|e| {
            let text = e.to_string();
            // The config crate says "<reason> for key `<key>`[ in <source>]".
            match text.rsplit_once(" for key `").and_then(|(reason, rest)| Some((reason, rest.split_once('`')?.0))) {
                Some((reason, key)) => invalid(key, reason),
                None => SettingsError::Load(text),
            }
        })?;
        settings.env = env;
        settings.validate()?;
        Ok(settings)
    }

    /// # Errors
    /// The first value out of range, by key.
    pub fn validate(&self) -> Result<(), SettingsError> {
        self.server.bind.parse::<SocketAddr>().map_err(|_| invalid("server.bind", "must be an IP:port address"))?;
        if self.data_dir.as_os_str().is_empty() {
            return Err(invalid("data_dir", "must not be empty"));
        }
        if !(1..=1000).contains(&self.database.pool_size) {
            return Err(invalid("database.pool_size", "must be from 1 to 1000"));
        }
        if !(1..=300).contains(&self.database.connect_timeout_secs) {
            return Err(invalid("database.connect_timeout_secs", "must be from 1 to 300"));
        }
        let url = self.database.url.trim();
        if !(url.is_empty()
            || url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(invalid("database.url", "must be empty (embedded), sqlite:... or postgres://..."));
        }
        if self.limits.json_body_bytes < 1024 {
            return Err(invalid("limits.json_body_bytes", "must be at least 1024"));
        }
        if self.limits.upload_body_bytes < self.limits.json_body_bytes {
            return Err(invalid("limits.upload_body_bytes", "must be at least limits.json_body_bytes"));
        }
        self.rate_limit.validate()?;
        if self.jwt.issuer.is_empty() || self.jwt.audience.is_empty() {
            return Err(invalid("jwt.issuer", "issuer and audience must not be empty"));
        }
        if !(60..=86_400).contains(&self.jwt.ttl_secs) {
            return Err(invalid("jwt.ttl_secs", "must be from 60 to 86400"));
        }
        if !self.jwt.secret.is_empty() && self.jwt.secret.len() < 32 {
            return Err(invalid("jwt.secret", "must be at least 32 bytes"));
        }
        if self.jwt.kid.is_empty() || self.jwt.kid.contains(':') || self.jwt.kid.contains(',') {
            return Err(invalid("jwt.kid", "must be non-empty, without ':' or ','"));
        }
        if self.jwt.leeway_secs > 300 {
            return Err(invalid("jwt.leeway_secs", "must be at most 300"));
        }
        if !self.crypto.kek.trim().is_empty() && !self.crypto.keys.trim().is_empty() {
            return Err(invalid("crypto.keys", "set either crypto.kek or crypto.keys, not both"));
        }
        if !self.crypto.is_empty() && self.crypto.index_key.trim().is_empty() {
            return Err(invalid("crypto.index_key", "is required when keys are configured"));
        }
        self.validate_files()?;
        self.auth.validate()?;
        self.events.validate(self.env)?;
        self.funnel.validate(self.env)?;
        if self.env == RunEnv::Production {
            if url.is_empty() || url.starts_with("sqlite:") {
                return Err(invalid("database.url", "production needs a postgres:// URL"));
            }
            if self.jwt.secret.is_empty() {
                return Err(invalid("jwt.secret", "is required in production"));
            }
            if self.crypto.is_empty() {
                return Err(invalid("crypto.kek", "is required in production (or crypto.keys)"));
            }
        }
        Ok(())
    }

    fn validate_files(&self) -> Result<(), SettingsError> {
        let files = &self.files;
        if !(60..=86_400).contains(&files.ttl_secs) {
            return Err(invalid("files.ttl_secs", "must be from 60 to 86400"));
        }
        let base = files.public_base_url.trim();
        if !base.is_empty() && !is_http_base(base) {
            return Err(invalid(
                "files.public_base_url",
                "must be empty or http(s)://host[:port][/path], without query",
            ));
        }
        if files.backend == FilesBackend::S3 {
            let s3 = &files.s3;
            if !is_http_base(s3.endpoint.trim()) {
                return Err(invalid("files.s3.endpoint", "must be an http(s):// URL when files.backend = \"s3\""));
            }
            for (key, value) in [
                ("files.s3.bucket", &s3.bucket),
                ("files.s3.region", &s3.region),
                ("files.s3.access_key", &s3.access_key),
                ("files.s3.secret_key", &s3.secret_key),
            ] {
                if value.trim().is_empty() {
                    return Err(invalid(key, "is required when files.backend = \"s3\""));
                }
            }
            if !s3.path_style && s3.bucket.contains('.') {
                return Err(invalid("files.s3.path_style", "must be true for a bucket name with dots"));
            }
        }
        Ok(())
    }

    /// The base of local upload URLs: `files.public_base_url` without a trailing slash,
    /// or `http://<server.bind>` (an unspecified address becomes the loopback one).
    #[must_use]
    pub fn files_public_base_url(&self) -> String {
        let base = self.files.public_base_url.trim().trim_end_matches('/');
        if !base.is_empty() {
            return base.to_owned();
        }
        match self.server.bind.parse::<SocketAddr>() {
            Ok(SocketAddr::V4(a)) if a.ip().is_unspecified() => format!("http://127.0.0.1:{}", a.port()),
            Ok(SocketAddr::V6(a)) if a.ip().is_unspecified() => format!("http://[::1]:{}", a.port()),
            Ok(addr) => format!("http://{addr}"),
            Err(_) => format!("http://{}", self.server.bind),
        }
    }

    /// True when the database is the embedded SQLite file in the data directory.
    #[must_use]
    pub fn uses_embedded_database(&self) -> bool {
        self.database.url.trim().is_empty()
    }

    /// Connection options of the database: pool size, timeouts.
    #[must_use]
    pub fn pool(&self) -> crate::db::PoolSettings {
        crate::db::PoolSettings {
            size: self.database.pool_size,
            busy_timeout: std::time::Duration::from_millis(self.database.busy_timeout_ms),
            connect_timeout: std::time::Duration::from_secs(self.database.connect_timeout_secs),
        }
    }

    /// The database URL, the embedded default resolved.
    #[must_use]
    pub fn database_url(&self) -> String {
        if self.uses_embedded_database() {
            format!("sqlite://{}?mode=rwc", self.data_dir.join("ldbds.db").display())
        } else {
            self.database.url.trim().to_owned()
        }
    }
}

/// `http://host...` or `https://host...`, with a host and no query or fragment.
fn is_http_base(url: &str) -> bool {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split('/').next().unwrap_or_default();
        !host.is_empty() && !r.contains(['?', '#', ' '])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let vars = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Settings::load_from("test", None, vars)
    }

    fn key_of(result: Result<Settings, SettingsError>) -> Option<String> {
        match result {
            Err(SettingsError::Invalid { key, .. }) => Some(key),
            _ => None,
        }
    }

    #[test]
    fn the_defaults_load_and_point_at_the_embedded_database() -> Result<(), SettingsError> {
        let settings = load(&[])?;
        assert!(settings.uses_embedded_database());
        assert_eq!(settings.database_url(), "sqlite://data/ldbds.db?mode=rwc");
        assert_eq!(settings.env, RunEnv::Test);
        Ok(())
    }

    #[test]
    fn an_environment_variable_overrides_a_file_value() -> Result<(), SettingsError> {
        let settings = load(&[("LDBDS__DATABASE__POOL_SIZE", "7"), ("LDBDS__SERVER__BIND", "127.0.0.1:9999")])?;
        assert_eq!(settings.database.pool_size, 7);
        assert_eq!(settings.server.bind, "127.0.0.1:9999");
        Ok(())
    }

    #[test]
    fn the_debug_of_the_settings_prints_no_secret() -> Result<(), SettingsError> {
        let settings = load(&[
            ("LDBDS__DATABASE__URL", "postgres://ldbds:pw-planted-1@127.0.0.1/ldbds"),
            ("LDBDS__JWT__SECRET", "jwt-planted-2-0123456789abcdef0123456789"),
            ("LDBDS__FILES__S3__SECRET_KEY", "s3-planted-3"),
            ("LDBDS__FILES__S3__ACCESS_KEY", "s3-planted-4"),
        ])?;
        let printed = format!("{settings:?}");
        for planted in ["pw-planted-1", "jwt-planted-2", "s3-planted-3", "s3-planted-4"] {
            assert!(!printed.contains(planted), "{planted} in {printed}");
        }
        assert!(printed.contains("***") && printed.contains("ttl_secs"), "{printed}");
        Ok(())
    }

    #[test]
    fn a_bad_bind_address_names_its_key() {
        assert_eq!(key_of(load(&[("LDBDS__SERVER__BIND", "nowhere")])).as_deref(), Some("server.bind"));
    }

    #[test]
    fn a_pool_of_zero_names_its_key() {
        assert_eq!(key_of(load(&[("LDBDS__DATABASE__POOL_SIZE", "0")])).as_deref(), Some("database.pool_size"));
    }

    #[test]
    fn a_non_number_names_its_key() {
        assert_eq!(key_of(load(&[("LDBDS__RATE_LIMIT__BURST", "lots")])).as_deref(), Some("rate_limit.burst"));
    }

    #[test]
    fn the_action_buckets_default_to_the_specs_numbers_and_refuse_zero() -> Result<(), SettingsError> {
        let settings = load(&[])?;
        let rl = &settings.rate_limit;
        assert_eq!((rl.search.per_second, rl.search.burst, rl.reveal.per_second, rl.reveal.burst), (5, 20, 1, 10));
        assert!(rl.trusted_proxy_addrs().is_empty());
        for (var, key) in [
            ("LDBDS__RATE_LIMIT__SEARCH__PER_SECOND", "rate_limit.search.per_second"),
            ("LDBDS__RATE_LIMIT__REVEAL__BURST", "rate_limit.reveal.burst"),
            ("LDBDS__RATE_LIMIT__AUTH_FAILURE__PER_SECOND", "rate_limit.auth_failure.per_second"),
            ("LDBDS__RATE_LIMIT__SSO__BURST", "rate_limit.sso.burst"),
            ("LDBDS__RATE_LIMIT__PER_SECOND", "rate_limit.per_second"),
        ] {
            assert_eq!(key_of(load(&[(var, "0")])).as_deref(), Some(key), "{var}");
        }
        let bad = load(&[("LDBDS__RATE_LIMIT__TRUSTED_PROXIES", "10.0.0.1,proxy.local")]);
        assert_eq!(key_of(bad).as_deref(), Some("rate_limit.trusted_proxies"));
        let two = load(&[("LDBDS__RATE_LIMIT__TRUSTED_PROXIES", "10.0.0.1, ::1")])?;
        assert_eq!(two.rate_limit.trusted_proxy_addrs().len(), 2);
        Ok(())
    }

    #[test]
    fn the_cache_ttl_defaults_to_30_s_and_refuses_more_than_60() -> Result<(), SettingsError> {
        let auth = load(&[])?.auth;
        assert_eq!((auth.cache_ttl_secs, auth.cache_capacity, auth.last_used_flush_secs), (30, 10_000, 5));
        for (var, value, key) in [
            ("LDBDS__AUTH__CACHE_TTL_SECS", "61", "auth.cache_ttl_secs"),
            ("LDBDS__AUTH__CACHE_TTL_SECS", "0", "auth.cache_ttl_secs"),
            ("LDBDS__AUTH__CACHE_CAPACITY", "0", "auth.cache_capacity"),
            ("LDBDS__AUTH__LAST_USED_FLUSH_SECS", "0", "auth.last_used_flush_secs"),
        ] {
            assert_eq!(key_of(load(&[(var, value)])).as_deref(), Some(key), "{var}={value}");
        }
        assert_eq!(load(&[("LDBDS__AUTH__CACHE_TTL_SECS", "60")])?.auth.cache_ttl_secs, 60);
        Ok(())
    }

    #[test]
    fn an_unknown_log_format_names_its_key() {
        assert_eq!(key_of(load(&[("LDBDS__LOG__FORMAT", "xml")])).as_deref(), Some("log.format"));
    }

    #[test]
    fn an_unknown_run_env_is_refused() {
        let result = Settings::load_from("staging", None, HashMap::new());
        assert_eq!(key_of(result).as_deref(), Some("LDBDS_ENV"));
    }

    #[test]
    fn production_refuses_to_start_without_its_secrets() {
        let vars = HashMap::from([("LDBDS__DATABASE__URL".to_owned(), "postgres://db/ldbds".to_owned())]);
        let result = Settings::load_from("production", None, vars);
        assert_eq!(key_of(result).as_deref(), Some("jwt.secret"));
    }

    #[test]
    fn the_files_defaults_are_local_with_a_base_url_from_the_bind_address() -> Result<(), SettingsError> {
        let settings = load(&[])?;
        assert_eq!(settings.files.backend, FilesBackend::Local);
        assert_eq!(settings.files.ttl_secs, 900);
        assert_eq!(settings.files_public_base_url(), "http://127.0.0.1:8080");
        let any = load(&[("LDBDS__SERVER__BIND", "0.0.0.0:9000")])?;
        assert_eq!(any.files_public_base_url(), "http://127.0.0.1:9000");
        let set = load(&[("LDBDS__FILES__PUBLIC_BASE_URL", "https://ldbds.example.com/")])?;
        assert_eq!(set.files_public_base_url(), "https://ldbds.example.com");
        Ok(())
    }

    #[test]
    fn bad_files_settings_name_their_key() {
        let cases: [(&[(&str, &str)], &str); 6] = [
            (&[("LDBDS__FILES__TTL_SECS", "5")], "files.ttl_secs"),
            (&[("LDBDS__FILES__BACKEND", "ftp")], "files.backend"),
            (&[("LDBDS__FILES__PUBLIC_BASE_URL", "ldbds.example.com")], "files.public_base_url"),
            (&[("LDBDS__FILES__BACKEND", "s3")], "files.s3.endpoint"),
            (
                &[("LDBDS__FILES__BACKEND", "s3"), ("LDBDS__FILES__S3__ENDPOINT", "https://s3.amazonaws.com")],
                "files.s3.bucket",
            ),
            (
                &[
                    ("LDBDS__FILES__BACKEND", "s3"),
                    ("LDBDS__FILES__S3__ENDPOINT", "https://s3.amazonaws.com"),
                    ("LDBDS__FILES__S3__BUCKET", "evidence"),
                    ("LDBDS__FILES__S3__REGION", "ap-northeast-2"),
                    ("LDBDS__FILES__S3__ACCESS_KEY", "AKIA"),
                ],
                "files.s3.secret_key",
            ),
        ];
        for (vars, key) in cases {
            assert_eq!(key_of(load(vars)).as_deref(), Some(key), "{vars:?}");
        }
    }

    #[test]
    fn bad_funnel_settings_name_their_key() {
        let cases: [(&[(&str, &str)], &str); 4] = [
            (&[("LDBDS__FUNNEL__SMS", "http")], "funnel.sms_url"),
            (
                &[("LDBDS__FUNNEL__SMS", "http"), ("LDBDS__FUNNEL__SMS_URL", "https://sms.example.com")],
                "funnel.sms_token",
            ),
            (&[("LDBDS__FUNNEL__INSURANCE", "http")], "funnel.insurance_url"),
            (
                &[("LDBDS__FUNNEL__INSURANCE", "http"), ("LDBDS__FUNNEL__INSURANCE_URL", "ftp://registry.example.com")],
                "funnel.insurance_url",
            ),
        ];
        for (vars, key) in cases {
            assert_eq!(key_of(load(vars)).as_deref(), Some(key), "{vars:?}");
        }
    }

    #[test]
    fn production_refuses_the_log_sms_and_the_sandbox_insurance_data() {
        let secrets = [
            ("LDBDS__DATABASE__URL", "postgres://db/ldbds"),
            ("LDBDS__JWT__SECRET", "0123456789abcdef0123456789abcdef"),
            ("LDBDS__CRYPTO__KEK", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="),
            ("LDBDS__CRYPTO__INDEX_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="),
        ];
        let with = |extra: &[(&str, &str)]| {
            let vars = secrets.iter().chain(extra).map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
            Settings::load_from("production", None, vars)
        };
        assert_eq!(key_of(with(&[("LDBDS__FUNNEL__SMS", "log")])).as_deref(), Some("funnel.sms"));
        assert_eq!(key_of(with(&[("LDBDS__FUNNEL__INSURANCE", "sandbox")])).as_deref(), Some("funnel.insurance"));
        let defaults = with(&[]).map(|s| s.funnel.insurance);
        assert!(matches!(defaults, Ok(InsuranceAdapterKind::None)), "{defaults:?}");
    }

    #[test]
    fn production_refuses_the_embedded_database() {
        let result = Settings::load_from("production", None, HashMap::new());
        assert_eq!(key_of(result).as_deref(), Some("database.url"));
    }
}
