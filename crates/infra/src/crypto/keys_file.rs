//! Key material as text, and the embedded default's generated key file.
//!
//! `<data_dir>/dev-keys` (mode 0600), one item per line:
//! `kek <id> <base64>`, `index <base64>`, `active <id>`, `retired <id>,<id>`.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::rand::{SecureRandom, SystemRandom};

use super::CryptoError;
use super::keyring::KeyringConfig;

const FILE: &str = "dev-keys";

/// The dev key file's keys, and whether this call created it.
#[derive(Debug)]
pub struct DevKeys {
    pub config: KeyringConfig,
    pub created: bool,
    pub path: PathBuf,
}

/// 32 random bytes.
///
/// # Errors
/// [`CryptoError::Random`].
pub fn generate_key() -> Result<[u8; 32], CryptoError> {
    let mut key = [0u8; 32];
    SystemRandom::new().fill(&mut key).map_err(|_| CryptoError::Random)?;
    Ok(key)
}

#[must_use]
pub fn encode_key(key: &[u8; 32]) -> String {
    STANDARD.encode(key)
}

/// Standard base64 of exactly 32 bytes.
///
/// # Errors
/// [`CryptoError::InvalidKey`] naming the problem (never the key).
pub fn decode_key(b64: &str) -> Result<[u8; 32], CryptoError> {
    let bytes = STANDARD.decode(b64.trim()).map_err(|_| CryptoError::InvalidKey("not base64".to_owned()))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| CryptoError::InvalidKey(format!("{} bytes, 32 expected", bytes.len())))
}

/// `"1:<base64>,2:<base64>"`.
///
/// # Errors
/// A malformed entry or key, or a duplicate id.
pub fn parse_key_list(spec: &str) -> Result<Vec<(u32, [u8; 32])>, CryptoError> {
    let mut keys: Vec<(u32, [u8; 32])> = Vec::new();
    for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (id, b64) =
            entry.split_once(':').ok_or_else(|| CryptoError::InvalidKey("entries are <id>:<base64>".to_owned()))?;
        // Never echo the id: with the parts swapped (`<base64>:1`) it is the key.
        let id: u32 =
            id.trim().parse().map_err(|_| CryptoError::InvalidKey("an entry's id is not a key id".to_owned()))?;
        if keys.iter().any(|(k, _)| *k == id) {
            return Err(CryptoError::InvalidKey(format!("key id {id} is listed twice")));
        }
        keys.push((id, decode_key(b64)?));
    }
    if keys.is_empty() {
        return Err(CryptoError::InvalidKey("no key listed".to_owned()));
    }
    Ok(keys)
}

fn io(err: std::io::Error) -> CryptoError {
    CryptoError::InvalidKey(format!("key file: {err}"))
}

fn render(cfg: &KeyringConfig) -> String {
    let mut text = String::from("# LDBDS development keys. Keep with the database; never commit.\n");
    for (id, key) in &cfg.keys {
        text.push_str(&format!("kek {id} {}\n", encode_key(key)));
    }
    text.push_str(&format!("index {}\nactive {}\n", encode_key(&cfg.index_key), cfg.active));
    if !cfg.retired.is_empty() {
        let ids: Vec<String> = cfg.retired.iter().map(u32::to_string).collect();
        text.push_str(&format!("retired {}\n", ids.join(",")));
    }
    text
}

fn parse(text: &str) -> Result<KeyringConfig, CryptoError> {
    // Named by its number, never by its text: a line that is only a key would print it.
    let bad = |number: usize| CryptoError::InvalidKey(format!("dev-keys: line {number} is unreadable"));
    let (mut keys, mut index, mut active, mut retired) = (Vec::new(), None, None, Vec::new());
    let lines = text.lines().map(str::trim).enumerate().map(|(i, l)| (i + 1, l));
    for (n, line) in lines.filter(|(_, l)| !l.is_empty() && !l.starts_with('#')) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts.as_slice() {
            ["kek", id, b64] => keys.push((id.parse().map_err(|_| bad(n))?, decode_key(b64)?)),
            ["index", b64] => index = Some(decode_key(b64)?),
            ["active", id] => active = Some(id.parse().map_err(|_| bad(n))?),
            ["retired", ids] => {
                retired = ids.split(',').map(|i| i.parse().map_err(|_| bad(n))).collect::<Result<_, _>>()?;
            }
            _ => return Err(bad(n)),
        }
    }
    let index_key = index.ok_or_else(|| CryptoError::InvalidKey("dev-keys: no index key".to_owned()))?;
    let active = active.or_else(|| keys.iter().map(|(id, _)| *id).max()).unwrap_or(1);
    Ok(KeyringConfig { keys, active, retired, index_key })
}

fn write(path: &Path, cfg: &KeyringConfig, create: bool) -> Result<(), CryptoError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).mode(0o600);
    if create {
        options.create_new(true);
    } else {
        options.truncate(true);
    }
    let mut file = options.open(path).map_err(io)?;
    file.write_all(render(cfg).as_bytes()).map_err(io)
}

/// Reads `<data_dir>/dev-keys`, creating it with a fresh key 1 and index key if missing.
///
/// # Errors
/// An unreadable file, or one that cannot be written.
pub fn load_or_create_dev_keys(data_dir: &Path) -> Result<DevKeys, CryptoError> {
    let path = data_dir.join(FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(DevKeys { config: parse(&text)?, created: false, path }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let config = KeyringConfig {
                keys: vec![(1, generate_key()?)],
                active: 1,
                retired: vec![],
                index_key: generate_key()?,
            };
            write(&path, &config, true)?;
            Ok(DevKeys { config, created: true, path })
        }
        Err(err) => Err(io(err)),
    }
}

/// Adds a key version to the dev file and makes it active; returns its id.
///
/// # Errors
/// An unreadable or unwritable file.
pub fn add_dev_key(data_dir: &Path) -> Result<u32, CryptoError> {
    let mut dev = load_or_create_dev_keys(data_dir)?;
    let id = dev.config.keys.iter().map(|(id, _)| *id).max().unwrap_or(0) + 1;
    dev.config.keys.push((id, generate_key()?));
    dev.config.active = id;
    write(&dev.path, &dev.config, false)?;
    Ok(id)
}

/// Marks a key id retired in the dev file.
///
/// # Errors
/// The active key, an unknown id, or an unreadable or unwritable file.
pub fn retire_dev_key(data_dir: &Path, id: u32) -> Result<(), CryptoError> {
    let mut dev = load_or_create_dev_keys(data_dir)?;
    if dev.config.active == id {
        return Err(CryptoError::InvalidKey(format!("key {id} is the active key")));
    }
    if !dev.config.keys.iter().any(|(k, _)| *k == id) {
        return Err(CryptoError::UnknownKey(id));
    }
    if !dev.config.retired.contains(&id) {
        dev.config.retired.push(id);
    }
    write(&dev.path, &dev.config, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dev_file_is_created_once_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create_dev_keys(dir.path()).unwrap();
        assert!(first.created);
        let mode = std::fs::metadata(&first.path).unwrap().permissions();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777, 0o600);
        let second = load_or_create_dev_keys(dir.path()).unwrap();
        assert!(!second.created);
        assert_eq!(second.config.keys, first.config.keys);
        assert_eq!(second.config.index_key, first.config.index_key);
    }

    #[test]
    fn a_new_dev_key_becomes_active_and_an_old_one_can_be_retired() {
        let dir = tempfile::tempdir().unwrap();
        load_or_create_dev_keys(dir.path()).unwrap();
        assert_eq!(add_dev_key(dir.path()).unwrap(), 2);
        assert!(retire_dev_key(dir.path(), 2).is_err(), "the active key stays");
        retire_dev_key(dir.path(), 1).unwrap();
        let cfg = load_or_create_dev_keys(dir.path()).unwrap().config;
        assert_eq!((cfg.active, cfg.retired, cfg.keys.len()), (2, vec![1], 2));
        assert!(retire_dev_key(dir.path(), 9).is_err());
    }

    #[test]
    fn an_unreadable_dev_keys_line_is_named_by_its_number_not_its_text() {
        let key = encode_key(&[5u8; 32]);
        for text in [format!("# keys\n{key}\n"), format!("index {key}\nkek {key} 1\n"), format!("\nretired {key}\n")] {
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.starts_with("invalid key material: dev-keys: line 2 is unreadable"), "{err}");
            assert!(!err.contains(&key[..8]), "{err}");
        }
    }

    #[test]
    fn key_lists_parse_and_bad_ones_are_refused() {
        let k = encode_key(&[3u8; 32]);
        assert_eq!(parse_key_list(&format!("1:{k}, 2:{k}")).unwrap().len(), 2);
        assert!(parse_key_list(&format!("1:{k},1:{k}")).is_err(), "duplicate");
        assert!(parse_key_list("1:not-base64!").is_err());
        assert!(parse_key_list(&format!("1:{}", STANDARD.encode([1u8; 16]))).is_err(), "16 bytes");
        assert!(parse_key_list(&format!("x:{k}")).is_err());
        assert!(parse_key_list("").is_err());
        let swapped = parse_key_list(&format!("{k}:1")).unwrap_err().to_string();
        assert!(!swapped.contains(&k[..8]), "a key written where the id goes is not echoed: {swapped}");
    }
}
