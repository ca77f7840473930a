//! `ldbds keys ...` and `ldbds orgs ...`: encryption keys, API keys, SSO settings.

use std::io::IsTerminal;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use infra::config::{RunEnv, Settings};
use infra::crypto;
use infra::rotation::{self, RotationProgress};

use crate::{KeysCommand, OrgsCommand, open, time_now};

pub(crate) async fn run(settings: Settings, cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Status => status(&settings).await,
        KeysCommand::Rotate { batch } => rotate(&settings, batch).await,
        KeysCommand::New => {
            dev_only(&settings, "add a key version to LDBDS__CRYPTO__KEYS and set LDBDS__CRYPTO__ACTIVE_KEY")?;
            let id = crypto::add_dev_key(&settings.data_dir)?;
            println!(
                "key {id} added to {} and active; run `ldbds keys rotate`",
                settings.data_dir.join("dev-keys").display()
            );
            Ok(())
        }
        KeysCommand::Retire { id } => {
            dev_only(&settings, "list the id in LDBDS__CRYPTO__RETIRED")?;
            let (keyring, _) = infra::vault::keyring_from_settings(&settings)?;
            let db = open(&settings).await?;
            let evidence = infra::files::key_use(&db, &settings.data_dir.join("files")).await?;
            let left = rotation::pending(&db, &keyring).await? + evidence.pending(keyring.active_key_id());
            if left > 0 {
                bail!("{left} rows are not under the active key yet: run `ldbds keys rotate` first");
            }
            crypto::retire_dev_key(&settings.data_dir, id)?;
            println!("key {id} retired: its ciphertexts are now refused");
            Ok(())
        }
        KeysCommand::CreateApiKey { org, label, scopes } => {
            let (keyring, _) = infra::vault::keyring_from_settings(&settings)?;
            let db = open(&settings).await?;
            let org_row = infra::orgs::find_by_code(db.conn(), &org)
                .await?
                .with_context(|| format!("no organization with code {org}"))?;
            let scopes: Vec<&str> = scopes.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
            let key = infra::api_keys::issue(db.conn(), org_row.id, &label, &scopes, time_now()).await?;
            infra::audit::record(
                db.conn(),
                &keyring,
                infra::audit::AuditEntry {
                    org_id: Some(org_row.id),
                    actor: "cli",
                    action: "api_key.created",
                    entity: "api_key",
                    entity_id: Some(&key.id.to_string()),
                    request_id: None,
                    detail: serde_json::json!({ "label": label }),
                },
                time_now(),
            )
            .await?;
            println!("API key {} for {} (shown once): {}", key.id, org_row.code, key.plaintext);
            Ok(())
        }
        KeysCommand::Revoke { key_id } => {
            let db = open(&settings).await?;
            if !infra::api_keys::revoke(db.conn(), key_id, time_now()).await? {
                bail!("no live API key with id {key_id}");
            }
            println!("API key {key_id} revoked");
            Ok(())
        }
    }
}

fn dev_only(settings: &Settings, instead: &str) -> anyhow::Result<()> {
    if settings.env == RunEnv::Production || !settings.crypto.is_empty() {
        bail!("keys are configured, not generated: {instead}");
    }
    Ok(())
}

async fn status(settings: &Settings) -> anyhow::Result<()> {
    let (keyring, _) = infra::vault::keyring_from_settings(settings)?;
    let db = open(settings).await?;
    println!("active key: {}", keyring.active_key_id());
    for (key_id, rows) in infra::users::count_by_key(db.conn()).await? {
        println!("users: key {key_id}: {rows} rows");
    }
    let mut by_key = std::collections::BTreeMap::<String, u64>::new();
    for (_, envelope) in infra::orgs::sso_secrets(db.conn()).await? {
        let key = crypto::envelope_key_id(&envelope).map_or_else(|_| "unreadable".to_owned(), |k| k.to_string());
        *by_key.entry(key).or_default() += 1;
    }
    for (key, n) in by_key {
        println!("organizations.sso_secret: key {key}: {n} rows");
    }
    for column in infra::seal_backfill::text_column_status(db.conn()).await? {
        let keys: Vec<String> = column.by_key.iter().map(|(key, n)| format!("key {key}: {n} rows")).collect();
        let keys = if keys.is_empty() { "no sealed rows".to_owned() } else { keys.join(", ") };
        println!("{}: {keys}; plaintext: {} rows", column.column, column.plaintext);
    }
    for (table, key_id, rows) in rotation::row_envelope_status(db.conn()).await? {
        println!("{table}: key {key_id}: {rows} rows");
    }
    for (key_id, rows) in infra::idempotency::count_by_key(db.conn()).await? {
        println!("idempotency_records.response_enc: key {key_id}: {rows} rows");
    }
    println!("rows not under the active key: {}", rotation::pending(&db, &keyring).await?);
    let evidence = infra::files::key_use(&db, &settings.data_dir.join("files")).await?;
    evidence.names.iter().for_each(|(key, n)| println!("uploaded_files.file_name: key {key}: {n} rows"));
    evidence.files.iter().for_each(|(key, n)| println!("evidence files: key {key}: {n} files"));
    let left = evidence.pending(keyring.active_key_id());
    println!("evidence names and files not under the active key: {left} ({} not sealed yet)", evidence.unsealed);
    Ok(())
}

async fn rotate(settings: &Settings, batch: u64) -> anyhow::Result<()> {
    let (keyring, _) = infra::vault::keyring_from_settings(settings)?;
    let db = open(settings).await?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(0);
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} rows re-encrypted ({eta})") {
            bar.set_style(style);
        }
        bar
    });
    let report = |p: RotationProgress| match &bar {
        Some(bar) => {
            bar.set_length(p.total);
            bar.set_position(p.rotated);
        }
        None => println!("rotated {}/{} rows", p.rotated, p.total),
    };
    let done = rotation::rotate(&db, &keyring, batch, report).await?;
    if let Some(bar) = bar {
        bar.finish();
    }
    println!("rotation complete: {} rows now under key {}", done.rotated, keyring.active_key_id());
    let moved = infra::files::rotate_keys(&db, &keyring, &settings.data_dir.join("files")).await?;
    println!("evidence: {moved} file names and files moved to key {}", keyring.active_key_id());
    Ok(())
}

pub(crate) async fn run_orgs(settings: Settings, cmd: OrgsCommand) -> anyhow::Result<()> {
    match cmd {
        OrgsCommand::SetSso { org, redirects, default } => {
            let (keyring, _) = infra::vault::keyring_from_settings(&settings)?;
            let db = open(&settings).await?;
            let org_row = infra::orgs::find_by_code(db.conn(), &org)
                .await?
                .with_context(|| format!("no organization with code {org}"))?;
            let secret = crypto::encode_key(&crypto::generate_key()?);
            infra::orgs::set_sso(db.conn(), &keyring, org_row.id, secret.as_bytes(), &redirects, default.as_deref())
                .await?;
            println!("SSO for {} (iss = {}): secret (shown once): {secret}", org_row.code, org_row.id);
            Ok(())
        }
        OrgsCommand::Onboard(cmd) => crate::orgs::run(settings, cmd).await,
    }
}
