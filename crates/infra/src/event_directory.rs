//! Who an event goes to, by the ids the writers hold: a user's `mohomId` and org, an
//! org's code. Producers of events (an intake batch, an order, a transfer) know owner and
//! org ids only; the envelope names the org by code and the owner by `mohomId`.
//!
//! Invariants:
//! - a user's `mohomId` and org, and an org's code, never change once written (no
//!   endpoint or command changes them), so an entry is never stale; entries still expire
//!   after [`TTL`] so a deleted row does not linger, and the caches are bounded;
//! - a miss costs one statement for all the ids missing (users joined to their orgs), on
//!   the caller's connection, so it reads inside the caller's transaction; it is counted
//!   under [`USE_CASE`], like a cache's fill, not under the writer's use case.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use domain::error::RepoError;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Query};
use sea_orm::{ConnectionTrait, QueryResult};
use uuid::Uuid;

use crate::error::{corrupt, unavailable};

/// The use case a miss's statement is counted under: a cache fill, apart from the
/// writer whose event needed it.
pub const USE_CASE: &str = "event-directory";

/// How long an entry is served.
pub const TTL: Duration = Duration::from_secs(600);
const CAPACITY: u64 = 100_000;

/// A user as events name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub mohom_id: String,
    pub org_id: Uuid,
    pub org_code: String,
}

/// The caches; one per `Db`, shared by its clones.
#[derive(Debug)]
pub struct EventDirectory {
    users: moka::sync::Cache<String, Arc<Recipient>>,
    orgs: moka::sync::Cache<String, Arc<str>>,
}

impl Default for EventDirectory {
    fn default() -> Self {
        Self {
            users: moka::sync::Cache::builder().max_capacity(CAPACITY).time_to_live(TTL).build(),
            orgs: moka::sync::Cache::builder().max_capacity(CAPACITY).time_to_live(TTL).build(),
        }
    }
}

fn text(row: &QueryResult, column: &str) -> Result<String, RepoError> {
    row.try_get::<String>("", column).map_err(unavailable)
}

impl EventDirectory {
    /// The users `ids` (user ids as stored); an unknown id is left out.
    ///
    /// # Errors
    /// Storage failures; a stored org id that is not a UUID.
    pub async fn users<'a>(
        &self,
        conn: &impl ConnectionTrait,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<HashMap<String, Arc<Recipient>>, RepoError> {
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        for id in ids {
            match self.users.get(id) {
                Some(user) => {
                    found.insert(id.to_owned(), user);
                }
                None if !found.contains_key(id) => missing.push(id.to_owned()),
                None => {}
            }
        }
        missing.sort_unstable();
        missing.dedup();
        if missing.is_empty() {
            return Ok(found);
        }
        let select = Query::select()
            .expr_as(Expr::col((Alias::new("u"), Alias::new("id"))), Alias::new("id"))
            .expr_as(Expr::col((Alias::new("u"), Alias::new("mohom_id"))), Alias::new("mohom_id"))
            .expr_as(Expr::col((Alias::new("u"), Alias::new("org_id"))), Alias::new("org_id"))
            .expr_as(Expr::col((Alias::new("o"), Alias::new("code"))), Alias::new("code"))
            .from_as(Alias::new("users"), Alias::new("u"))
            .join_as(
                JoinType::InnerJoin,
                Alias::new("organizations"),
                Alias::new("o"),
                Expr::col((Alias::new("o"), Alias::new("id"))).equals((Alias::new("u"), Alias::new("org_id"))),
            )
            .and_where(Expr::col((Alias::new("u"), Alias::new("id"))).is_in(missing.iter().map(String::as_str)))
            .to_owned();
        // A cache fill, counted apart from the writer's own statements (`/metrics`).
        let rows = crate::statements::scoped(USE_CASE, conn.query_all(&select)).await.map_err(unavailable)?;
        for row in rows {
            let id = text(&row, "id")?;
            let org_id = text(&row, "org_id")?;
            let user = Arc::new(Recipient {
                mohom_id: text(&row, "mohom_id")?,
                org_id: org_id.parse().map_err(|e| corrupt("users", &id, e))?,
                org_code: text(&row, "code")?,
            });
            self.orgs.insert(org_id, Arc::from(user.org_code.as_str()));
            self.users.insert(id.clone(), Arc::clone(&user));
            found.insert(id, user);
        }
        Ok(found)
    }

    /// The code of the org `org_id`.
    ///
    /// # Errors
    /// Storage failures; `RepoError::NotFound` for an unknown org.
    pub async fn org_code(&self, conn: &impl ConnectionTrait, org_id: &str) -> Result<Arc<str>, RepoError> {
        if let Some(code) = self.orgs.get(org_id) {
            return Ok(code);
        }
        let select = Query::select()
            .column(Alias::new("code"))
            .from(Alias::new("organizations"))
            .and_where(Expr::col(Alias::new("id")).eq(org_id))
            .to_owned();
        let row = crate::statements::scoped(USE_CASE, conn.query_one(&select))
            .await
            .map_err(unavailable)?
            .ok_or(RepoError::NotFound)?;
        let code: Arc<str> = Arc::from(text(&row, "code")?.as_str());
        self.orgs.insert(org_id.to_owned(), Arc::clone(&code));
        Ok(code)
    }
}
