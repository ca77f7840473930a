//! Who a request speaks for, from memory: API keys, users, orgs and `(org, mohomId)`
//! members in bounded caches (`moka`), and the keys' `last_used_at` written behind
//! (ADR 0009).
//!
//! Invariants:
//! - every cache holds at most `auth.cache_capacity` entries, each for at most
//!   `auth.cache_ttl_secs` (≤ 60 s) after it was loaded: the bound on a change that no
//!   invalidation reached;
//! - only what exists is cached: an unknown or revoked key, an unknown user or member is
//!   asked of the database every time, so a new key or user works at once;
//! - a presented key is found by the SHA-256 of its whole text: the cache maps a digest
//!   to a key id only after the database matched that digest, so a wrong secret never
//!   hits; the key's principal is cached by id, live keys only, and dropped by
//!   [`crate::invalidation::key_changed`];
//! - a member `(org, mohomId)` maps to a user id (the unique index makes that mapping
//!   fixed); the user itself, with its `generation`, is cached by id and dropped by
//!   [`crate::invalidation::user_changed`], so a role change or a deactivation takes effect
//!   on the next request of this node;
//! - a load that raced an invalidation is served but not kept ([`Epoch`]);
//! - a request served from the cache sends no statement: its key's use is noted in memory
//!   and [`PrincipalCache::flush_last_used`] writes all noted uses in one statement per
//!   1,000 keys, under the use case [`LAST_USED_USE_CASE`];
//! - decrypted user rows live here for at most the TTL and are never logged (`User`'s
//!   `Debug` redacts them).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use domain::error::RepoError;
use domain::identity::UserQuery;
use domain::identity::{MohomId, User};
use domain::pagination::Page;
use domain::ports::UserRepository;
use domain::service::orgs::Org;
use moka::sync::Cache;
use sea_orm::{ConnectionTrait, DbErr};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::api_keys::{self, KeyPrincipal};
use crate::config::AuthSettings;
use crate::db::Db;
use crate::invalidation::{self, Change, Epoch};
use crate::users::SeaUserRepository;

/// The use case the `last_used_at` flush is counted under.
pub const LAST_USED_USE_CASE: &str = "key-last-used";

/// Keys written per `last_used_at` statement.
const FLUSH_CHUNK: usize = 1_000;

/// The principal caches of one node (see the module invariants).
pub struct PrincipalCache {
    /// SHA-256 (hex) of a presented key → its id; fixed once the database matched it.
    key_ids: Cache<String, Uuid>,
    /// Key id → the principal of that key while it is live.
    keys: Cache<Uuid, Arc<KeyPrincipal>>,
    /// User id → the user and its generation.
    users: Cache<Uuid, Arc<(User, i64)>>,
    /// `(org, mohomId)` → user id.
    members: Cache<(Uuid, String), Uuid>,
    /// Org id → the org.
    orgs: Cache<Uuid, Arc<Org>>,
    epoch: Epoch,
    /// Key id → the last use noted (Unix ms) and not yet written.
    last_used: Mutex<HashMap<Uuid, i64>>,
}

impl std::fmt::Debug for PrincipalCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrincipalCache")
            .field("keys", &self.keys.entry_count())
            .field("users", &self.users.entry_count())
            .field("orgs", &self.orgs.entry_count())
            .finish_non_exhaustive()
    }
}

fn cache<K, V>(settings: &AuthSettings) -> Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    Cache::builder()
        .max_capacity(settings.cache_capacity)
        .time_to_live(Duration::from_secs(settings.cache_ttl_secs))
        .build()
}

impl PrincipalCache {
    /// Empty caches of the database at `url`, reachable by [`crate::invalidation`].
    #[must_use]
    pub fn new(url: &str, settings: &AuthSettings) -> Arc<Self> {
        let this = Arc::new(Self {
            key_ids: cache(settings),
            keys: cache(settings),
            users: cache(settings),
            members: cache(settings),
            orgs: cache(settings),
            epoch: Epoch::default(),
            last_used: Mutex::new(HashMap::new()),
        });
        invalidation::register_principals(url, &this);
        this
    }

    /// Drops what `change` names.
    pub(crate) fn invalidate(&self, change: Change) {
        self.epoch.bump();
        match change {
            Change::Key(id) => self.keys.invalidate(&id),
            Change::User(id) => self.users.invalidate(&id),
            Change::Org(id) => self.orgs.invalidate(&id),
            Change::Reference => {}
        }
    }

    /// Drops everything.
    pub(crate) fn clear(&self) {
        self.epoch.bump();
        self.key_ids.invalidate_all();
        self.keys.invalidate_all();
        self.users.invalidate_all();
        self.members.invalidate_all();
        self.orgs.invalidate_all();
    }

    /// The principal of a presented API key, `None` for anything that is not a live key;
    /// a hit sends no statement. The use is noted for [`Self::flush_last_used`].
    ///
    /// # Errors
    /// The driver's error.
    pub async fn key(
        &self,
        conn: &impl ConnectionTrait,
        presented: &str,
        now: OffsetDateTime,
    ) -> Result<Option<KeyPrincipal>, DbErr> {
        if !api_keys::well_formed(presented) {
            return Ok(None);
        }
        let digest = api_keys::digest(presented);
        let found = match self.key_ids.get(&digest) {
            Some(id) => self.key_by_id(conn, id).await?,
            None => {
                let epoch = self.epoch.now();
                let found = api_keys::lookup(conn, presented).await?;
                if let Some(key) = &found {
                    self.key_ids.insert(digest, key.key_id);
                    if self.epoch.unchanged_since(epoch) {
                        self.keys.insert(key.key_id, Arc::new(key.clone()));
                    }
                }
                found
            }
        };
        if let Some(key) = &found {
            self.note_used(key.key_id, crate::to_millis(now));
        }
        Ok(found)
    }

    /// The principal of a live key by its id (what a Bearer token minted by a key is
    /// checked against), `None` when revoked or unknown.
    ///
    /// # Errors
    /// The driver's error.
    pub async fn key_by_id(&self, conn: &impl ConnectionTrait, key_id: Uuid) -> Result<Option<KeyPrincipal>, DbErr> {
        if let Some(key) = self.keys.get(&key_id) {
            return Ok(Some(KeyPrincipal::clone(&key)));
        }
        let epoch = self.epoch.now();
        let found = api_keys::live_by_id(conn, key_id).await?;
        if let Some(key) = &found
            && self.epoch.unchanged_since(epoch)
        {
            self.keys.insert(key_id, Arc::new(key.clone()));
        }
        Ok(found)
    }

    /// A user (active or deleted) with its generation, by id.
    ///
    /// # Errors
    /// `Unavailable` on a storage failure or an undecryptable row.
    pub async fn user(&self, users: &SeaUserRepository, user_id: Uuid) -> Result<Option<(User, i64)>, RepoError> {
        if let Some(found) = self.users.get(&user_id) {
            return Ok(Some(found.as_ref().clone()));
        }
        let epoch = self.epoch.now();
        let found = users.find_for_token(user_id).await?;
        if let Some(found) = &found
            && self.epoch.unchanged_since(epoch)
        {
            self.users.insert(user_id, Arc::new(found.clone()));
        }
        Ok(found)
    }

    /// The user of `org` with `mohom_id` (any status), `None` when there is none.
    ///
    /// # Errors
    /// `Unavailable` on a storage failure or an undecryptable row.
    pub async fn member(
        &self,
        users: &SeaUserRepository,
        org_id: Uuid,
        mohom_id: &MohomId,
    ) -> Result<Option<User>, RepoError> {
        let member = (org_id, mohom_id.as_str().to_owned());
        if let Some(user_id) = self.members.get(&member)
            && let Some((user, _)) = self.user(users, user_id).await?
            && user.org_id == org_id
            && user.mohom_id == *mohom_id
        {
            return Ok(Some(user));
        }
        let epoch = self.epoch.now();
        let found = users.find_member(org_id, mohom_id).await?;
        if let Some((user, generation)) = &found {
            self.members.insert(member, user.id);
            if self.epoch.unchanged_since(epoch) {
                self.users.insert(user.id, Arc::new((user.clone(), *generation)));
            }
        }
        Ok(found.map(|(user, _)| user))
    }

    /// An org by id.
    ///
    /// # Errors
    /// Storage failures or a corrupted row.
    pub async fn org(&self, conn: &impl ConnectionTrait, org_id: Uuid) -> Result<Option<Org>, RepoError> {
        if let Some(org) = self.orgs.get(&org_id) {
            return Ok(Some(Org::clone(&org)));
        }
        let epoch = self.epoch.now();
        let found = crate::orgs::find(conn, org_id).await?;
        if let Some(org) = &found
            && self.epoch.unchanged_since(epoch)
        {
            self.orgs.insert(org_id, Arc::new(org.clone()));
        }
        Ok(found)
    }

    /// Notes that `key_id` was used at `at_ms` (Unix ms), for the next flush.
    pub fn note_used(&self, key_id: Uuid, at_ms: i64) {
        let mut pending = self.last_used.lock().unwrap_or_else(PoisonError::into_inner);
        let last = pending.entry(key_id).or_insert(at_ms);
        *last = (*last).max(at_ms);
    }

    /// How many key uses wait for the next flush.
    #[must_use]
    pub fn pending_uses(&self) -> usize {
        self.last_used.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Writes every noted use: one statement per 1,000 keys, counted under
    /// [`LAST_USED_USE_CASE`]; a `last_used_at` never moves back. Returns the keys written.
    /// On failure the uses are noted again for the next flush.
    ///
    /// # Errors
    /// The driver's error.
    pub async fn flush_last_used(&self, db: &Db) -> Result<usize, DbErr> {
        let pending: Vec<(Uuid, i64)> = {
            let mut noted = self.last_used.lock().unwrap_or_else(PoisonError::into_inner);
            noted.drain().collect()
        };
        let mut written = 0;
        for (i, chunk) in pending.chunks(FLUSH_CHUNK).enumerate() {
            let sent = crate::statements::scoped(LAST_USED_USE_CASE, api_keys::write_last_used(db.conn(), chunk)).await;
            if let Err(e) = sent {
                for (key_id, at) in &pending[i * FLUSH_CHUNK..] {
                    self.note_used(*key_id, *at);
                }
                return Err(e);
            }
            written += chunk.len();
        }
        Ok(written)
    }

    /// Flushes the noted uses every `every`, until the task is aborted (the caller flushes
    /// once more at shutdown).
    #[must_use]
    pub fn spawn_flusher(self: &Arc<Self>, db: Db, every: Duration) -> tokio::task::JoinHandle<()> {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = this.flush_last_used(&db).await {
                    tracing::warn!(error = %e, "writing the keys' last use failed; kept for the next flush");
                }
            }
        })
    }
}

/// The user repository with its two lookups answered from a node's [`PrincipalCache`]
/// (a use case naming a member, e.g. a distribution's recipient, costs no statement when
/// the member is cached); writes, lists and counts go to the repository.
///
/// A cached user is as fresh as the caches' invariants make it: a role change or a
/// deactivation drops it on this node at once, on the other nodes when their `LISTEN`
/// hears it, and within the TTL at the latest.
#[derive(Debug, Clone)]
pub struct CachedUsers {
    cache: Arc<PrincipalCache>,
    users: SeaUserRepository,
}

impl CachedUsers {
    #[must_use]
    pub fn new(cache: Arc<PrincipalCache>, users: SeaUserRepository) -> Self {
        Self { cache, users }
    }
}

impl UserRepository for CachedUsers {
    async fn find(&self, org_id: Uuid, mohom_id: &MohomId) -> Result<Option<User>, RepoError> {
        self.cache.member(&self.users, org_id, mohom_id).await
    }

    async fn find_by_id(&self, id: Uuid) -> Result<Option<User>, RepoError> {
        Ok(self.cache.user(&self.users, id).await?.map(|(user, _)| user))
    }

    async fn insert(&self, user: &User) -> Result<(), RepoError> {
        self.users.insert(user).await
    }

    async fn update(&self, user: &User) -> Result<(), RepoError> {
        self.users.update(user).await
    }

    async fn list(&self, org_id: Uuid, query: &UserQuery) -> Result<Page<User>, RepoError> {
        self.users.list(org_id, query).await
    }

    async fn find_for_token(&self, id: Uuid) -> Result<Option<(User, i64)>, RepoError> {
        self.cache.user(&self.users, id).await
    }

    async fn owned_leads(&self, user_id: Uuid) -> Result<u64, RepoError> {
        self.users.owned_leads(user_id).await
    }
}
