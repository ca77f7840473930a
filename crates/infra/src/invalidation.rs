//! Dropping cached principals and reference data when the rows behind them change: at
//! once in this process, and on PostgreSQL in every other process through
//! `LISTEN/NOTIFY` on the channel [`CHANNEL`] (ADR 0009).
//!
//! Invariants:
//! - every write that changes what a cache holds (a key revoked, a user's role or status,
//!   an org's SSO settings, a product, region, AS reason, source or project mapping) calls
//!   the matching function here after its statement, so the caches of this process never
//!   serve the old row to a request that starts after the write returned;
//! - on PostgreSQL the same write sends `pg_notify('ldbds_invalidate', '<kind>:<id>')` in
//!   the same statement ([`exec_notifying`]) or the same transaction ([`notify`]), so the
//!   message is delivered if and only if the change commits, to every node (this one
//!   included: a reader that re-cached the old row before the commit is dropped again);
//! - a [`spawn_listener`] task drops what the messages name; after every (re)connection it
//!   clears all the caches of its database, since messages sent while it was away are
//!   lost; it reconnects with a backoff capped at [`MAX_BACKOFF`];
//! - a cache load that raced an invalidation is not kept: every cache has an epoch that
//!   each invalidation bumps, and a load stores its result only if the epoch did not move
//!   while it read (see [`Epoch`]);
//! - SQLite has one process; a write made there by another process (the CLI) reaches the
//!   server only when the entry expires (`auth.cache_ttl_secs`, at most 60 s).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};
use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
use tokio::sync::watch;
use uuid::Uuid;

use crate::principal_cache::PrincipalCache;
use crate::reference_cache::ReferenceCache;

/// The PostgreSQL notification channel of cache invalidations.
pub const CHANNEL: &str = "ldbds_invalidate";

/// The longest wait between two attempts to reconnect the listener.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// What changed, as carried by a notification's payload (`key:<id>`, `user:<id>`,
/// `org:<id>`, `reference`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// An API key (revoked).
    Key(Uuid),
    /// A user (role, status, generation).
    User(Uuid),
    /// An organization (its SSO settings).
    Org(Uuid),
    /// Products, regions, AS reasons, sources or their project mappings.
    Reference,
}

impl Change {
    /// The payload of this change's notification.
    #[must_use]
    pub fn payload(&self) -> String {
        match self {
            Self::Key(id) => format!("key:{id}"),
            Self::User(id) => format!("user:{id}"),
            Self::Org(id) => format!("org:{id}"),
            Self::Reference => "reference".to_owned(),
        }
    }

    /// A payload read back; `None` for one this version does not know.
    #[must_use]
    pub fn parse(payload: &str) -> Option<Self> {
        if payload == "reference" {
            return Some(Self::Reference);
        }
        let (kind, id) = payload.split_once(':')?;
        let id = id.parse().ok()?;
        match kind {
            "key" => Some(Self::Key(id)),
            "user" => Some(Self::User(id)),
            "org" => Some(Self::Org(id)),
            _ => None,
        }
    }
}

/// A cache's invalidation counter: a load keeps its result only when no invalidation
/// happened between [`Epoch::now`] (before it read) and [`Epoch::unchanged_since`] (after).
#[derive(Debug, Default)]
pub struct Epoch(AtomicU64);

impl Epoch {
    /// The value to compare with once the load is done.
    #[must_use]
    pub fn now(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// True when no invalidation came since `then`.
    #[must_use]
    pub fn unchanged_since(&self, then: u64) -> bool {
        self.0.load(Ordering::Acquire) == then
    }

    /// Called before dropping entries.
    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

/// The caches of this process, each with the database URL it caches.
#[derive(Default)]
struct Registry {
    principals: Vec<(String, Weak<PrincipalCache>)>,
    references: Vec<(String, Weak<ReferenceCache>)>,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(|| Mutex::new(Registry::default()));

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    // The registry is a list of weak references: a panic while holding it leaves it valid.
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Makes a principal cache of the database at `url` reachable by the invalidations.
pub(crate) fn register_principals(url: &str, cache: &Arc<PrincipalCache>) {
    let mut all = registry();
    all.principals.retain(|(_, weak)| weak.strong_count() > 0);
    all.principals.push((url.to_owned(), Arc::downgrade(cache)));
}

/// Makes a reference cache of the database at `url` reachable by the invalidations.
pub(crate) fn register_reference(url: &str, cache: &Arc<ReferenceCache>) {
    let mut all = registry();
    all.references.retain(|(_, weak)| weak.strong_count() > 0);
    all.references.push((url.to_owned(), Arc::downgrade(cache)));
}

/// The live caches, those of `url` only when given.
fn caches(url: Option<&str>) -> (Vec<Arc<PrincipalCache>>, Vec<Arc<ReferenceCache>>) {
    let all = registry();
    let mine = |u: &String| url.is_none_or(|want| want == u);
    let principals = all.principals.iter().filter(|(u, _)| mine(u)).filter_map(|(_, w)| w.upgrade()).collect();
    let references = all.references.iter().filter(|(u, _)| mine(u)).filter_map(|(_, w)| w.upgrade()).collect();
    (principals, references)
}

/// Drops what `change` names from the caches (of `url` only, when given).
fn apply(change: Change, url: Option<&str>) {
    let (principals, references) = caches(url);
    match change {
        Change::Reference => references.iter().for_each(|r| r.invalidate()),
        other => principals.iter().for_each(|p| p.invalidate(other)),
    }
}

/// Empties every cache of the database at `url` (after the listener reconnected).
fn clear_all(url: &str) {
    let (principals, references) = caches(Some(url));
    principals.iter().for_each(|p| p.clear());
    references.iter().for_each(|r| r.invalidate());
}

tokio::task_local! {
    static ELSEWHERE: ();
}

/// Runs `fut` as if its writes were made by another process: they send their NOTIFY but
/// drop nothing from this process's caches. A test stands a second node's write with it,
/// so that only the notification can reach the other node.
pub async fn as_another_process<F: Future>(fut: F) -> F::Output {
    ELSEWHERE.scope((), fut).await
}

fn local(change: Change) {
    if ELSEWHERE.try_with(|()| ()).is_err() {
        apply(change, None);
    }
}

/// An API key changed (revoked): its cached principal is dropped.
pub fn key_changed(key_id: Uuid) {
    local(Change::Key(key_id));
}

/// A user changed (role, status, generation): its cached row is dropped.
pub fn user_changed(user_id: Uuid) {
    local(Change::User(user_id));
}

/// An organization changed: its cached row is dropped.
pub fn org_changed(org_id: Uuid) {
    local(Change::Org(org_id));
}

/// Reference data changed: every reference cache reloads on its next read.
pub fn reference_changed() {
    local(Change::Reference);
}

/// Runs an `UPDATE` of rows whose `id` names what changed, and on PostgreSQL sends one
/// notification `<kind>:<id>` per updated row in the same statement (a data-modifying
/// CTE). Returns the number of rows updated.
///
/// # Errors
/// The driver's error; nothing is sent then.
pub(crate) async fn exec_notifying(conn: &impl ConnectionTrait, update: Statement, kind: &str) -> Result<u64, DbErr> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return conn.execute_raw(update).await.map(|r| r.rows_affected());
    }
    let sql = format!(
        "WITH changed AS ({} RETURNING id) SELECT pg_notify('{CHANNEL}', '{kind}:' || id) FROM changed",
        update.sql
    );
    let wrapped = Statement { sql, ..update };
    let rows = conn.query_all_raw(wrapped).await?;
    Ok(rows.len() as u64)
}

/// On PostgreSQL, sends `change`'s notification through `conn` (inside the caller's
/// transaction when `conn` is one: it is delivered at the commit, or never); nothing on
/// SQLite.
///
/// # Errors
/// The driver's error.
pub(crate) async fn notify(conn: &impl ConnectionTrait, change: Change) -> Result<(), DbErr> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let stmt = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [CHANNEL.into(), change.payload().into()],
    );
    conn.query_all_raw(stmt).await.map(|_| ())
}

/// The invalidation listener of one database: a background task.
#[derive(Debug)]
pub struct Listener {
    connections: watch::Receiver<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl Listener {
    /// Waits until the listener has connected (at least) `n` times in all.
    pub async fn connected(&mut self, n: u64) {
        // An error only means the task ended; the caller then waits no longer.
        let _ = self.connections.wait_for(|count| *count >= n).await;
    }

    /// How many times the listener has connected so far.
    #[must_use]
    pub fn connections(&self) -> u64 {
        *self.connections.borrow()
    }

    /// Stops the task.
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts listening on [`CHANNEL`] of the PostgreSQL database at `url`, on a connection
/// of its own: each message drops what it names from this process's caches of that
/// database; each (re)connection clears them all first.
#[must_use]
pub fn spawn_listener(url: String) -> Listener {
    let (tx, connections) = watch::channel(0);
    let task = tokio::spawn(async move {
        let mut backoff = FIRST_BACKOFF;
        loop {
            match connect(&url).await {
                Ok(mut listener) => {
                    backoff = FIRST_BACKOFF;
                    // Whatever was sent while no connection listened is lost: start afresh.
                    clear_all(&url);
                    tx.send_modify(|n| *n += 1);
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(message)) => match Change::parse(message.payload()) {
                                Some(change) => apply(change, Some(&url)),
                                None => tracing::warn!(payload = message.payload(), "unknown invalidation message"),
                            },
                            Ok(None) => {
                                tracing::warn!("the invalidation listener lost its connection; reconnecting");
                                break;
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "the invalidation listener failed; reconnecting");
                                break;
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "the invalidation listener cannot connect; retrying"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    });
    Listener { connections, task }
}

/// [`spawn_listener`] on PostgreSQL; `None` on SQLite (one process, nothing to hear).
#[must_use]
pub fn spawn_listener_for(db: &crate::db::Db, url: String) -> Option<Listener> {
    (db.backend() == DbBackend::Postgres).then(|| spawn_listener(url))
}

async fn connect(url: &str) -> Result<sea_orm::sqlx::postgres::PgListener, sea_orm::sqlx::Error> {
    let mut listener = sea_orm::sqlx::postgres::PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_read_back_as_the_change_they_name() {
        let id = domain::ids::new_id();
        for change in [Change::Key(id), Change::User(id), Change::Org(id), Change::Reference] {
            assert_eq!(Change::parse(&change.payload()), Some(change));
        }
        assert_eq!(Change::parse("lead:1"), None);
        assert_eq!(Change::parse("key:not-a-uuid"), None);
    }

    #[test]
    fn an_epoch_tells_a_load_that_raced_an_invalidation() {
        let epoch = Epoch::default();
        let before = epoch.now();
        assert!(epoch.unchanged_since(before));
        epoch.bump();
        assert!(!epoch.unchanged_since(before));
    }
}
