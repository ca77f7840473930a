//! The user repository: personal data encrypted per field, searchable by blind index.
//!
//! Invariants:
//! - `name`, `phone` and `email` are stored only as envelopes bound to
//!   (`users`, column, row id); `enc_key_id` is the key they were written under (all
//!   fields of a row share it) so `ldbds keys status|rotate` can count and find rows;
//! - lookups by phone, phone last 4 (compound with the org), email or name go through
//!   the blind index, then every candidate is decrypted and compared exactly, so an
//!   index collision never returns a wrong user;
//! - a row whose ciphertext fails to decrypt is an error (`Unavailable`), never data;
//! - `generation` goes up by one in the very `UPDATE` that changes a user's role or status
//!   (a delete, the revival of a deleted `mohomId`, a role change), never otherwise, so an
//!   access token naming an older generation (see [`SeaUserRepository::find_for_token`])
//!   is refused from the next request on;
//! - every [`UserRepository::update`] drops the user from this process's principal caches
//!   and, on PostgreSQL, notifies the other nodes in the same statement
//!   ([`crate::invalidation`]).

use std::sync::Arc;

use domain::error::RepoError;
use domain::identity::{MohomId, Role, User, UserQuery, UserSearchTerm, UserSortKey, UserStatus};
use domain::pagination::{Page, SortOrder};
use domain::pii::{Email, PersonName, PhoneNumber};
use domain::ports::UserRepository;
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, Order, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, SqlErr,
};
use uuid::Uuid;

use crate::crypto::{BlindIndex, FieldContext, Keyring};
use crate::entities::user;
use crate::error::unavailable;
use crate::{from_millis, to_millis};

/// Blind indexes of users. Sizing (see docs/adr/0003-pii-vault.md): up to ~100,000 users
/// per deployment; 16 bits leave about 1.5 unrelated candidates per lookup, which hides
/// exact equality between rows while costing a couple of decryptions.
pub const PHONE_INDEX: BlindIndex = BlindIndex { table: "users", column: "phone", name: "phone", bits: 16 };
pub const PHONE_LAST4_INDEX: BlindIndex =
    BlindIndex { table: "users", column: "phone", name: "org_phone_last4", bits: 16 };
pub const EMAIL_INDEX: BlindIndex = BlindIndex { table: "users", column: "email", name: "email", bits: 16 };
pub const NAME_INDEX: BlindIndex = BlindIndex { table: "users", column: "name", name: "name", bits: 16 };

/// [`UserRepository`] over sea-orm with field encryption.
#[derive(Clone, Debug)]
pub struct SeaUserRepository {
    conn: DatabaseConnection,
    keyring: Arc<Keyring>,
    /// Tests force tiny indexes (many collisions) to prove exact comparison.
    index_bits: Option<u32>,
}

fn ctx<'a>(column: &'a str, id: &'a str) -> FieldContext<'a> {
    FieldContext { table: "users", column, row_id: id }
}

fn corrupt(id: &str, what: impl std::fmt::Display) -> RepoError {
    crate::error::corrupt("users", id, what)
}

impl SeaUserRepository {
    #[must_use]
    pub fn new(conn: DatabaseConnection, keyring: Arc<Keyring>) -> Self {
        Self { conn, keyring, index_bits: None }
    }

    /// The same repository with every blind index truncated to `bits` (tests only: tiny
    /// values force collisions).
    #[must_use]
    pub fn with_index_bits(mut self, bits: u32) -> Self {
        self.index_bits = Some(bits);
        self
    }

    fn index(&self, spec: &BlindIndex, input: &str) -> String {
        match self.index_bits {
            Some(bits) => self.keyring.blind_index(&BlindIndex { bits, ..*spec }, input),
            None => self.keyring.blind_index(spec, input),
        }
    }

    fn last4_input(org_id: &str, last4: &str) -> String {
        format!("{org_id}|{last4}")
    }

    fn write_row(&self, u: &User) -> Result<user::ActiveModel, RepoError> {
        let id = u.id.to_string();
        let org = u.org_id.to_string();
        let seal =
            |column: &str, text: &str| self.keyring.encrypt_str(text, &ctx(column, &id)).map_err(|e| corrupt(&id, e));
        let phone = u.phone.as_ref();
        let email = u.email.as_ref();
        Ok(user::ActiveModel {
            id: Set(id.clone()),
            org_id: Set(org.clone()),
            mohom_id: Set(u.mohom_id.as_str().to_owned()),
            role: Set(u.role.as_str().to_owned()),
            team_id: Set(u.team_id.clone()),
            name_enc: Set(seal("name", u.name.as_str())?),
            phone_enc: Set(phone.map(|p| seal("phone", p.e164())).transpose()?),
            email_enc: Set(email.map(|e| seal("email", e.as_str())).transpose()?),
            name_bidx: Set(self.index(&NAME_INDEX, &u.name.blind_index_form())),
            phone_bidx: Set(phone.map(|p| self.index(&PHONE_INDEX, p.e164()))),
            phone_last4_bidx: Set(phone.map(|p| self.index(&PHONE_LAST4_INDEX, &Self::last4_input(&org, p.last4())))),
            email_bidx: Set(email.map(|e| self.index(&EMAIL_INDEX, e.as_str()))),
            enc_key_id: Set(i32::try_from(self.keyring.active_key_id()).unwrap_or(i32::MAX)),
            status: Set(u.status.as_str().to_owned()),
            created_at: Set(to_millis(u.created_at)),
            updated_at: Set(to_millis(u.updated_at)),
            deleted_at: Set((u.status == UserStatus::Deleted).then(|| to_millis(u.updated_at))),
            // New rows start at the column default (0); updates bump it by expression.
            generation: sea_orm::ActiveValue::NotSet,
        })
    }

    /// An active or deleted user with its generation (`None`: no such row), in one read:
    /// what a Bearer request checks its token's `gen` against.
    ///
    /// # Errors
    /// `Unavailable` on a storage failure or an undecryptable row.
    pub async fn find_for_token(&self, id: Uuid) -> Result<Option<(User, i64)>, RepoError> {
        let row = user::Entity::find_by_id(id.to_string()).one(&self.conn).await.map_err(unavailable)?;
        row.map(|r| {
            let generation = r.generation;
            self.read_row(r).map(|u| (u, generation))
        })
        .transpose()
    }

    /// The user of `org_id` with `mohom_id` (any status) with its generation, in one read:
    /// what the principal cache loads a member with.
    ///
    /// # Errors
    /// `Unavailable` on a storage failure or an undecryptable row.
    pub async fn find_member(&self, org_id: Uuid, mohom_id: &MohomId) -> Result<Option<(User, i64)>, RepoError> {
        let row = user::Entity::find()
            .filter(user::Column::OrgId.eq(org_id.to_string()))
            .filter(user::Column::MohomId.eq(mohom_id.as_str()))
            .one(&self.conn)
            .await
            .map_err(unavailable)?;
        row.map(|r| {
            let generation = r.generation;
            self.read_row(r).map(|u| (u, generation))
        })
        .transpose()
    }

    fn read_row(&self, row: user::Model) -> Result<User, RepoError> {
        let id = row.id.clone();
        let open = |column: &str, bytes: &[u8]| {
            self.keyring.decrypt_string(bytes, &ctx(column, &id)).map_err(|e| corrupt(&id, e))
        };
        let name = PersonName::parse(&open("name", &row.name_enc)?).map_err(|e| corrupt(&id, e))?;
        let phone = match &row.phone_enc {
            Some(bytes) => Some(PhoneNumber::parse(&open("phone", bytes)?).map_err(|e| corrupt(&id, e))?),
            None => None,
        };
        let email = match &row.email_enc {
            Some(bytes) => Some(Email::parse(&open("email", bytes)?).map_err(|e| corrupt(&id, e))?),
            None => None,
        };
        Ok(User {
            id: row.id.parse().map_err(|e| corrupt(&id, e))?,
            org_id: row.org_id.parse().map_err(|e| corrupt(&id, e))?,
            mohom_id: MohomId::parse(&row.mohom_id).map_err(|e| corrupt(&id, e))?,
            role: row.role.parse::<Role>().map_err(|e| corrupt(&id, e))?,
            team_id: row.team_id,
            name,
            phone,
            email,
            status: row.status.parse::<UserStatus>().map_err(|e| corrupt(&id, e))?,
            created_at: from_millis(row.created_at),
            updated_at: from_millis(row.updated_at),
        })
    }

    /// The index condition of a search term and the exact check applied after decryption.
    fn search_condition(&self, org: &str, term: &UserSearchTerm) -> Condition {
        let condition = match term {
            UserSearchTerm::Phone(p) => user::Column::PhoneBidx.eq(self.index(&PHONE_INDEX, p.e164())),
            UserSearchTerm::PhoneLast4(d) => {
                user::Column::PhoneLast4Bidx.eq(self.index(&PHONE_LAST4_INDEX, &Self::last4_input(org, d)))
            }
            UserSearchTerm::Email(e) => user::Column::EmailBidx.eq(self.index(&EMAIL_INDEX, e.as_str())),
            UserSearchTerm::Name(n) => user::Column::NameBidx.eq(self.index(&NAME_INDEX, &n.blind_index_form())),
        };
        Condition::all().add(condition)
    }
}

/// The exact comparison that removes blind-index false positives.
fn matches(term: &UserSearchTerm, u: &User) -> bool {
    match term {
        UserSearchTerm::Phone(p) => u.phone.as_ref().is_some_and(|q| q.e164() == p.e164()),
        UserSearchTerm::PhoneLast4(d) => u.phone.as_ref().is_some_and(|q| q.last4() == d.as_str()),
        UserSearchTerm::Email(e) => u.email.as_ref().is_some_and(|q| q.as_str() == e.as_str()),
        UserSearchTerm::Name(n) => u.name.blind_index_form() == n.blind_index_form(),
    }
}

fn map_write_err(err: DbErr) -> RepoError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => RepoError::Conflict("users.mohom_id".to_owned()),
        _ => unavailable(err),
    }
}

impl UserRepository for SeaUserRepository {
    async fn find(&self, org_id: Uuid, mohom_id: &MohomId) -> Result<Option<User>, RepoError> {
        let row = user::Entity::find()
            .filter(user::Column::OrgId.eq(org_id.to_string()))
            .filter(user::Column::MohomId.eq(mohom_id.as_str()))
            .one(&self.conn)
            .await
            .map_err(unavailable)?;
        row.map(|r| self.read_row(r)).transpose()
    }

    async fn find_by_id(&self, id: Uuid) -> Result<Option<User>, RepoError> {
        let row = user::Entity::find_by_id(id.to_string()).one(&self.conn).await.map_err(unavailable)?;
        row.map(|r| self.read_row(r)).transpose()
    }

    async fn insert(&self, u: &User) -> Result<(), RepoError> {
        let row = self.write_row(u)?;
        user::Entity::insert(row).exec_without_returning(&self.conn).await.map_err(map_write_err)?;
        Ok(())
    }

    async fn update(&self, u: &User) -> Result<(), RepoError> {
        use sea_orm::QueryTrait;
        let row = self.write_row(u)?;
        // Compared with the row's values before this UPDATE (both databases evaluate the
        // right-hand sides against the old row).
        let changes_standing =
            Expr::col(user::Column::Role).ne(u.role.as_str()).or(Expr::col(user::Column::Status).ne(u.status.as_str()));
        let generation = Expr::case(changes_standing, Expr::col(user::Column::Generation).add(1))
            .finally(Expr::col(user::Column::Generation));
        let update = user::Entity::update_many()
            .set(row)
            .col_expr(user::Column::Generation, generation.into())
            .filter(user::Column::Id.eq(u.id.to_string()))
            .build(self.conn.get_database_backend());
        // One statement: the update and, on PostgreSQL, the other nodes' notification.
        let updated = crate::invalidation::exec_notifying(&self.conn, update, "user").await.map_err(map_write_err)?;
        crate::invalidation::user_changed(u.id);
        if updated == 1 { Ok(()) } else { Err(RepoError::NotFound) }
    }

    async fn list(&self, org_id: Uuid, query: &UserQuery) -> Result<Page<User>, RepoError> {
        let org = org_id.to_string();
        let mut select = user::Entity::find()
            .filter(user::Column::OrgId.eq(org.as_str()))
            .filter(user::Column::Status.eq(UserStatus::Active.as_str()));
        if let Some(role) = query.role {
            select = select.filter(user::Column::Role.eq(role.as_str()));
        }
        let column = match query.sort.key {
            UserSortKey::CreatedAt => user::Column::CreatedAt,
            UserSortKey::UpdatedAt => user::Column::UpdatedAt,
            UserSortKey::MohomId => user::Column::MohomId,
        };
        let order = match query.sort.order {
            SortOrder::Asc => Order::Asc,
            SortOrder::Desc => Order::Desc,
        };
        select = select.order_by(column, order.clone()).order_by(user::Column::Id, order);
        if let Some(term) = &query.search {
            // Candidates by index (a handful), decrypted and compared exactly, then paged.
            let rows = select.filter(self.search_condition(&org, term)).all(&self.conn).await.map_err(unavailable)?;
            let mut hits = Vec::new();
            for row in rows {
                let user = self.read_row(row)?;
                if matches(term, &user) {
                    hits.push(user);
                }
            }
            let total = hits.len() as u64;
            let offset = usize::try_from(query.page.offset()).unwrap_or(usize::MAX);
            let limit = usize::try_from(query.page.limit()).unwrap_or(usize::MAX);
            let items = hits.into_iter().skip(offset).take(limit).collect();
            return Ok(Page { items, request: query.page, total });
        }
        let total = select.clone().count(&self.conn).await.map_err(unavailable)?;
        let rows =
            select.offset(query.page.offset()).limit(query.page.limit()).all(&self.conn).await.map_err(unavailable)?;
        let items = rows.into_iter().map(|r| self.read_row(r)).collect::<Result<_, _>>()?;
        Ok(Page { items, request: query.page, total })
    }

    async fn find_for_token(&self, id: Uuid) -> Result<Option<(User, i64)>, RepoError> {
        Self::find_for_token(self, id).await
    }

    async fn owned_leads(&self, user_id: Uuid) -> Result<u64, RepoError> {
        use crate::entities::lead;
        lead::Entity::find()
            .filter(lead::Column::OwnerUserId.eq(user_id.to_string()))
            .count(&self.conn)
            .await
            .map_err(unavailable)
    }
}

/// User changes are audited through the same connection and keyring (the entry's
/// detail sealed).
impl domain::ports::AuditLog for SeaUserRepository {
    async fn record(&self, event: &domain::ports::AuditEvent) -> Result<(), RepoError> {
        let entry = crate::audit::AuditEntry {
            org_id: event.org_id,
            actor: &event.actor,
            action: event.action,
            entity: event.entity,
            entity_id: event.entity_id.as_deref(),
            request_id: event.request_id.as_deref(),
            detail: event.detail.clone(),
        };
        crate::audit::record(&self.conn, &self.keyring, entry, event.at).await.map_err(unavailable)
    }
}

/// Rows per encryption key id (`ldbds keys status`).
///
/// # Errors
/// The driver's error.
pub async fn count_by_key(conn: &DatabaseConnection) -> Result<Vec<(i32, u64)>, DbErr> {
    let rows: Vec<(i32, i64)> = user::Entity::find()
        .select_only()
        .column(user::Column::EncKeyId)
        .column_as(Expr::from(Func::count(Expr::col(user::Column::Id))), "n")
        .group_by(user::Column::EncKeyId)
        .order_by_asc(user::Column::EncKeyId)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(|(k, n)| (k, u64::try_from(n).unwrap_or(0))).collect())
}
