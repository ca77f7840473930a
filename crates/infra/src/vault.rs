//! Loading the keyring and the JWT secret from the settings.
//!
//! Invariants:
//! - production never generates a key: missing keys are a start-up error (settings
//!   validation already refuses them);
//! - dev and test generate their keys once into the data directory (`dev-keys`,
//!   `jwt-secret`, mode 0600) and report that they did, so the operator is told;
//! - configured keys are used as given; `crypto.active_key = 0` picks the highest id.

use std::path::Path;

use crate::config::{RunEnv, Settings};
use crate::crypto::{self, CryptoError, Keyring, KeyringConfig};

/// What the loader did, to tell the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Configured,
    /// Generated now into this file.
    Generated(String),
    /// Read from a file generated earlier.
    DevFile(String),
}

fn parse_ids(text: &str) -> Result<Vec<u32>, CryptoError> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        // Never echo the entry: a key pasted here by mistake would be printed.
        .map(|s| {
            s.parse::<u32>().map_err(|_| CryptoError::InvalidKey("crypto.retired: an entry is not a key id".to_owned()))
        })
        .collect()
}

/// The keyring of these settings.
///
/// # Errors
/// Malformed key material or ids, or a data directory that cannot be written (dev).
pub fn keyring_from_settings(settings: &Settings) -> Result<(Keyring, KeySource), CryptoError> {
    let c = &settings.crypto;
    if c.is_empty() {
        if settings.env == RunEnv::Production {
            return Err(CryptoError::InvalidKey("crypto.kek is required in production".to_owned()));
        }
        std::fs::create_dir_all(&settings.data_dir).map_err(|e| CryptoError::InvalidKey(e.to_string()))?;
        let dev = crypto::load_or_create_dev_keys(&settings.data_dir)?;
        let path = dev.path.display().to_string();
        let source = if dev.created { KeySource::Generated(path) } else { KeySource::DevFile(path) };
        return Ok((Keyring::new(dev.config)?, source));
    }
    let keys = if c.kek.trim().is_empty() {
        crypto::parse_key_list(&c.keys)?
    } else {
        vec![(1, crypto::decode_key(c.kek.trim())?)]
    };
    let active = if c.active_key == 0 { keys.iter().map(|(id, _)| *id).max().unwrap_or(1) } else { c.active_key };
    let config = KeyringConfig {
        keys,
        active,
        retired: parse_ids(&c.retired)?,
        index_key: crypto::decode_key(c.index_key.trim())?,
    };
    Ok((Keyring::new(config)?, KeySource::Configured))
}

/// The HS256 secret of these settings: configured, or (dev/test) generated once into
/// `<data_dir>/jwt-secret`.
///
/// # Errors
/// When the dev secret file cannot be read or written.
pub fn jwt_secret(settings: &Settings) -> Result<(Vec<u8>, KeySource), CryptoError> {
    if !settings.jwt.secret.is_empty() {
        return Ok((settings.jwt.secret.as_bytes().to_vec(), KeySource::Configured));
    }
    if settings.env == RunEnv::Production {
        return Err(CryptoError::InvalidKey("jwt.secret is required in production".to_owned()));
    }
    dev_secret_file(&settings.data_dir.join("jwt-secret"))
}

fn dev_secret_file(path: &Path) -> Result<(Vec<u8>, KeySource), CryptoError> {
    let shown = path.display().to_string();
    if let Ok(text) = std::fs::read_to_string(path) {
        let key = crypto::decode_key(text.trim())?;
        return Ok((key.to_vec(), KeySource::DevFile(shown)));
    }
    let key = crypto::generate_key()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| CryptoError::InvalidKey(e.to_string()))?;
    }
    write_private(path, &crypto::encode_key(&key)).map_err(|e| CryptoError::InvalidKey(e.to_string()))?;
    Ok((key.to_vec(), KeySource::Generated(shown)))
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")
}
