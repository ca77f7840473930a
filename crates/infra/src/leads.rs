//! The lead repository: encrypted PII, the open assignment copied onto the lead row, the
//! PII access log of every reveal.
//!
//! Invariants:
//! - registering a lead writes the lead and its `REGISTERED` assignment in one
//!   transaction; the partial unique index keeps one open assignment per lead;
//! - a read is one statement (the round-trip budget of `performance.md`): a lead row comes
//!   with its product's name and its AS statuses (newest first) as correlated subqueries
//!   ([`with_extras`]), evaluated for the page's rows only; an owned-list page also carries
//!   its total, an uncorrelated `count(*)` subquery of the same filter (evaluated once: on
//!   PostgreSQL an `InitPlan`), and only a page past the last row, which has no row to
//!   carry it, costs a second statement (the count); a search by full phone or email reads
//!   its candidates in that one statement, and so does a search by last 4 digits or by
//!   name/product (the products come from the reference data in memory); the detail joins the lead to its ownership history;
//! - the total is not `count(*) OVER ()`: the window must buffer every matching row, with
//!   its sealed columns, before it returns the first, which at 1,000,000 leads measured
//!   about twice the time of the page with the subquery (see `docs/performance.md`);
//! - the subqueries use only SQL that PostgreSQL 15 and the bundled SQLite (3.44 or newer:
//!   `string_agg` with `ORDER BY` inside the aggregate) both run, so one text serves both;
//! - no plain PII leaves without its `pii_access_log` rows committed first: `use` marks
//!   the lead and logs in one transaction; the lists, the detail and `contacts` hand their
//!   rows to the group-committed [`RevealLog`] and wait until they are durable, and fail
//!   (revealing nothing) if they cannot be.
//!
//! Distribution and recall (the writes that move a lead between users) are in
//! [`crate::transfers`].

use std::sync::Arc;

use domain::error::RepoError;
use domain::identity::User;
use domain::ids::new_id;
use domain::lead::{
    AsStatus, AssignmentRecord, AssignmentSource, CurrentAssignment, Handover, Lead, LeadPii, LeadSearch, LeadStatus,
    ListScope, ListSortColumn, NewLead, OwnedQuery, TransferCandidate, TransferOutcome, TransferRefusal,
};
use domain::pagination::{Page, SortOrder};
use domain::pii::{Email, PersonName, PhoneNumber};
use domain::ports::{LeadRepository, PiiAccess};
use sea_orm::sea_query::{Expr, ExprTrait, NullOrdering};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, Order, PaginatorTrait,
    QueryFilter, QueryOrder, QueryResult, QuerySelect, QueryTrait, Select,
};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::crypto::{BlindIndex, FieldContext, Keyring, LEAD_METADATA};
use crate::db::Db;
use crate::entities::{assignment, lead};
use crate::error::{corrupt, unavailable};
use crate::reveal_log::RevealLog;
use crate::{from_millis, pii_access, to_millis};

/// Blind indexes of leads, sized for ~10,000,000 rows: 22 bits leave ~2.4 unrelated
/// candidates per lookup (see docs/adr/0003-pii-vault.md).
pub const PHONE_INDEX: BlindIndex = BlindIndex { table: "leads", column: "phone", name: "phone", bits: 22 };
/// Compound with the product: `<productId>|<last 4>`.
pub const PHONE_LAST4_INDEX: BlindIndex =
    BlindIndex { table: "leads", column: "phone", name: "product_phone_last4", bits: 16 };
pub const EMAIL_INDEX: BlindIndex = BlindIndex { table: "leads", column: "email", name: "email", bits: 22 };
pub const NAME_INDEX: BlindIndex = BlindIndex { table: "leads", column: "name", name: "name", bits: 22 };

/// Owned lists read at most this many candidate rows for a blind-index search.
const SEARCH_CANDIDATES: u64 = 5_000;

#[derive(Clone, Debug)]
pub struct SeaLeadRepository {
    pub(crate) db: Db,
    pub(crate) keyring: Arc<Keyring>,
    /// Intakes waiting for their pool's batch (`intake_queue`), shared by the clones.
    pub(crate) intake_queues: Arc<crate::intake_queue::IntakeQueues>,
    /// The reveal log every clone of this repository shares (started by the server).
    reveals: Arc<RevealLog>,
}

/// The table whose rows [`corrupt`] names.
pub(crate) const TABLE: &str = "leads";

fn ctx<'a>(column: &'a str, id: &'a str) -> FieldContext<'a> {
    FieldContext { table: "leads", column, row_id: id }
}

pub(crate) fn uuid(id: &str, text: &str) -> Result<Uuid, RepoError> {
    text.parse().map_err(|e| corrupt(TABLE, id, e))
}

/// The result column of a lead's product name ([`with_extras`]).
const PRODUCT_NAME: &str = "product_name";
/// The result column of a lead's AS statuses, comma-separated, newest first.
const AS_STATUSES: &str = "as_statuses";
/// The result column of an owned-list page's total (a scalar `count(*)` subquery).
const TOTAL: &str = "total_count";

/// The product's name, a correlated subquery on the primary key.
const PRODUCT_NAME_SQL: &str =
    r#"(SELECT "products"."name" FROM "products" WHERE "products"."id" = "leads"."product_id")"#;
/// The AS statuses, newest first (`ix_as_requests_lead`). The statuses are enum names, so
/// a comma separates them safely. `string_agg(.. ORDER BY ..)` is PostgreSQL's and, since
/// 3.44, SQLite's (the bundled one is newer).
const AS_STATUSES_SQL: &str = r#"(SELECT string_agg("as_requests"."status", ',' ORDER BY "as_requests"."created_at" DESC, "as_requests"."id" DESC) FROM "as_requests" WHERE "as_requests"."lead_id" = "leads"."id")"#;

/// A lead select that also reads each row's product name and AS statuses, so a page or a
/// lead is one statement.
pub(crate) fn with_extras(select: Select<lead::Entity>) -> Select<lead::Entity> {
    select.column_as(Expr::cust(PRODUCT_NAME_SQL), PRODUCT_NAME).column_as(Expr::cust(AS_STATUSES_SQL), AS_STATUSES)
}

/// The assignment columns the detail reads beside the lead's, under names of their own.
const HISTORY_COLUMNS: [(assignment::Column, &str); 8] = [
    (assignment::Column::Id, "h_id"),
    (assignment::Column::OwnerUserId, "h_owner_user_id"),
    (assignment::Column::Source, "h_source"),
    (assignment::Column::DistributorUserId, "h_distributor_user_id"),
    (assignment::Column::AssignedAt, "h_assigned_at"),
    (assignment::Column::UsedAt, "h_used_at"),
    (assignment::Column::EndedAt, "h_ended_at"),
    (assignment::Column::EndReason, "h_end_reason"),
];

/// The assignment of one detail row; `None` for the row of a lead without assignments.
fn history_record(lead_id: &str, res: &QueryResult) -> Result<Option<AssignmentRecord>, RepoError> {
    let get_text = |column: &str| res.try_get::<Option<String>>("", column).map_err(unavailable);
    let get_ms = |column: &str| res.try_get::<Option<i64>>("", column).map_err(unavailable);
    let Some(id) = get_text("h_id")? else { return Ok(None) };
    let (Some(owner), Some(source), Some(assigned_at)) =
        (get_text("h_owner_user_id")?, get_text("h_source")?, get_ms("h_assigned_at")?)
    else {
        return Err(corrupt("assignments", &id, "a required column is null"));
    };
    Ok(Some(AssignmentRecord {
        id: uuid(lead_id, &id)?,
        owner_user_id: uuid(lead_id, &owner)?,
        source: source.parse().map_err(|e| corrupt(TABLE, lead_id, e))?,
        distributor_user_id: get_text("h_distributor_user_id")?.as_deref().map(|d| uuid(lead_id, d)).transpose()?,
        assigned_at: from_millis(assigned_at),
        used_at: get_ms("h_used_at")?.map(from_millis),
        ended_at: get_ms("h_ended_at")?.map(from_millis),
        end_reason: get_text("h_end_reason")?,
    }))
}

impl SeaLeadRepository {
    #[must_use]
    pub fn new(db: Db, keyring: Arc<Keyring>) -> Self {
        let reveals = Arc::new(crate::reveal_log::reveal_log(db.clone()));
        Self { db, keyring, intake_queues: Arc::default(), reveals }
    }

    /// The group-committed reveal log of this repository and its clones: the server
    /// starts its writer before serving and drains it after (until then, and after,
    /// reveals are logged directly).
    #[must_use]
    pub fn reveals(&self) -> &Arc<RevealLog> {
        &self.reveals
    }

    fn last4_input(product_id: &str, last4: &str) -> String {
        format!("{product_id}|{last4}")
    }

    pub(crate) fn seal(&self, id: &str, column: &str, text: &str) -> Result<Vec<u8>, RepoError> {
        self.keyring.encrypt_str(text, &ctx(column, id)).map_err(|e| corrupt(TABLE, id, e))
    }

    /// A new lead row, PII sealed and indexed, in the pool (no owner).
    pub(crate) fn pool_row(
        &self,
        id: &str,
        new: &NewLead,
        provider_org_id: Uuid,
        now_ms: i64,
    ) -> Result<lead::ActiveModel, RepoError> {
        let product = new.product_id.to_string();
        let pii = &new.pii;
        let optional = |column: &str, value: Option<String>| value.map(|v| self.seal(id, column, &v)).transpose();
        let (metadata_enc, metadata_key_id) =
            LEAD_METADATA.seal_opt(&self.keyring, id, new.metadata.as_deref()).map_err(|e| corrupt(TABLE, id, e))?;
        Ok(lead::ActiveModel {
            id: Set(id.to_owned()),
            product_id: Set(product.clone()),
            provider_org_id: Set(provider_org_id.to_string()),
            source_id: Set(None),
            source_lead_id: Set(None),
            region: Set(new.region.clone()),
            gender: Set(new.gender.map(|g| g.as_str().to_owned())),
            metadata: Set(None),
            metadata_enc: Set(metadata_enc),
            metadata_key_id: Set(metadata_key_id),
            status: Set(LeadStatus::Pool.as_str().to_owned()),
            name_enc: Set(self.seal(id, "name", pii.name.as_str())?),
            phone_enc: Set(self.seal(id, "phone", pii.phone.e164())?),
            email_enc: Set(optional("email", pii.email.as_ref().map(|e| e.as_str().to_owned()))?),
            address_enc: Set(optional("address", pii.address.clone())?),
            birth_date_enc: Set(optional("birth_date", pii.birth_date.map(|d| d.to_string()))?),
            memo_enc: Set(optional("memo", pii.memo.clone())?),
            id_number_enc: Set(None),
            passport_enc: Set(None),
            family_book_enc: Set(None),
            name_bidx: Set(self.keyring.blind_index(&NAME_INDEX, &pii.name.blind_index_form())),
            phone_bidx: Set(self.keyring.blind_index(&PHONE_INDEX, pii.phone.e164())),
            phone_last4_bidx: Set(self
                .keyring
                .blind_index(&PHONE_LAST4_INDEX, &Self::last4_input(&product, pii.phone.last4()))),
            email_bidx: Set(pii.email.as_ref().map(|e| self.keyring.blind_index(&EMAIL_INDEX, e.as_str()))),
            enc_key_id: Set(i32::try_from(self.keyring.active_key_id()).unwrap_or(i32::MAX)),
            owner_user_id: Set(None),
            owner_org_id: Set(None),
            assignment_id: Set(None),
            assignment_source: Set(None),
            distributor_user_id: Set(None),
            assigned_at: Set(None),
            used_at: Set(None),
            last_distributed_at: Set(None),
            latest_as_status: Set(None),
            source_status: Set(None),
            held_shown_status: Set(None),
            source_status_at: Set(None),
            source_detail: Set(None),
            source_detail_enc: Set(None),
            source_detail_key_id: Set(None),
            source_note_enc: Set(None),
            created_at: Set(now_ms),
            updated_at: Set(now_ms),
        })
    }

    /// Puts a lead in the pool of a provider org, unowned, for orders to take (the
    /// intake path; orders deliver pool leads oldest first).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn add_to_pool(
        &self,
        new: &NewLead,
        provider_org_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<Uuid, RepoError> {
        let lead_id = new_id();
        let row = self.pool_row(&lead_id.to_string(), new, provider_org_id, to_millis(now))?;
        lead::Entity::insert(row).exec_without_returning(self.db.conn()).await.map_err(unavailable)?;
        Ok(lead_id)
    }

    /// Registers a lead the user found (DB 단건 등록): owned at once, `REGISTERED`.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn register(&self, owner: &User, new: &NewLead, now: OffsetDateTime) -> Result<(Uuid, Uuid), RepoError> {
        let lead_id = new_id();
        let assignment_id = new_id();
        let id = lead_id.to_string();
        let now_ms = to_millis(now);
        let mut row = self.pool_row(&id, new, owner.org_id, now_ms)?;
        row.status = Set(LeadStatus::Assigned.as_str().to_owned());
        row.owner_user_id = Set(Some(owner.id.to_string()));
        row.owner_org_id = Set(Some(owner.org_id.to_string()));
        row.assignment_id = Set(Some(assignment_id.to_string()));
        row.assignment_source = Set(Some(AssignmentSource::Registered.as_str().to_owned()));
        row.assigned_at = Set(Some(now_ms));
        let open = assignment::ActiveModel {
            id: Set(assignment_id.to_string()),
            lead_id: Set(id.clone()),
            owner_user_id: Set(owner.id.to_string()),
            owner_org_id: Set(owner.org_id.to_string()),
            source: Set(AssignmentSource::Registered.as_str().to_owned()),
            distributor_user_id: Set(None),
            order_line_id: Set(None),
            restored_from_id: Set(None),
            assigned_at: Set(now_ms),
            used_at: Set(None),
            ended_at: Set(None),
            end_reason: Set(None),
        };
        let txn = self.db.begin_write().await.map_err(unavailable)?;
        lead::Entity::insert(row).exec_without_returning(&*txn).await.map_err(unavailable)?;
        assignment::Entity::insert(open).exec_without_returning(&*txn).await.map_err(unavailable)?;
        txn.commit().await.map_err(unavailable)?;
        Ok((lead_id, assignment_id))
    }

    pub(crate) fn decrypt_pii(&self, row: &lead::Model) -> Result<LeadPii, RepoError> {
        decrypt_lead_pii(&self.keyring, row)
    }
}

/// A stored lead's personal data, decrypted.
///
/// # Errors
/// `RepoError::Corrupted` for an envelope that does not open or a value that no longer
/// parses.
pub(crate) fn decrypt_lead_pii(keyring: &Keyring, row: &lead::Model) -> Result<LeadPii, RepoError> {
    let id = row.id.as_str();
    let open =
        |column: &str, bytes: &[u8]| keyring.decrypt_string(bytes, &ctx(column, id)).map_err(|e| corrupt(TABLE, id, e));
    let optional = |column: &str, bytes: &Option<Vec<u8>>| bytes.as_deref().map(|b| open(column, b)).transpose();
    Ok(LeadPii {
        name: PersonName::parse(&open("name", &row.name_enc)?).map_err(|e| corrupt(TABLE, id, e))?,
        phone: PhoneNumber::parse(&open("phone", &row.phone_enc)?).map_err(|e| corrupt(TABLE, id, e))?,
        email: optional("email", &row.email_enc)?
            .map(|e| Email::parse(&e))
            .transpose()
            .map_err(|e| corrupt(TABLE, id, e))?,
        address: optional("address", &row.address_enc)?,
        birth_date: optional("birth_date", &row.birth_date_enc)?
            .map(|d| Date::parse(&d, time::macros::format_description!("[year]-[month]-[day]")))
            .transpose()
            .map_err(|e| corrupt(TABLE, id, e))?,
        memo: optional("memo", &row.memo_enc)?,
    })
}

impl SeaLeadRepository {
    /// A row read with [`with_extras`] to a lead.
    pub(crate) fn read_lead(&self, res: &QueryResult) -> Result<Lead, RepoError> {
        let row = lead::Model::from_query_result(res, "").map_err(unavailable)?;
        let product_name: Option<String> = res.try_get("", PRODUCT_NAME).map_err(unavailable)?;
        let statuses: Option<String> = res.try_get("", AS_STATUSES).map_err(unavailable)?;
        let as_statuses = statuses
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| s.split(',').map(|t| t.parse::<AsStatus>().map_err(|e| corrupt(TABLE, &row.id, e))).collect())
            .transpose()?
            .unwrap_or_default();
        self.to_lead(row, product_name, as_statuses)
    }

    /// A lead row, its product's name and its AS statuses (newest first) to a lead.
    fn to_lead(
        &self,
        row: lead::Model,
        product_name: Option<String>,
        as_statuses: Vec<AsStatus>,
    ) -> Result<Lead, RepoError> {
        let id = row.id.clone();
        let assignment = match (&row.assignment_id, &row.owner_user_id, &row.assignment_source, row.assigned_at) {
            (Some(a), Some(owner), Some(source), Some(at)) => Some(CurrentAssignment {
                id: uuid(&id, a)?,
                owner_user_id: uuid(&id, owner)?,
                source: source.parse().map_err(|e| corrupt(TABLE, &id, e))?,
                distributor_user_id: row.distributor_user_id.as_deref().map(|d| uuid(&id, d)).transpose()?,
                assigned_at: from_millis(at),
                used_at: row.used_at.map(from_millis),
            }),
            _ => None,
        };
        Ok(Lead {
            pii: self.decrypt_pii(&row)?,
            product_name: product_name.unwrap_or_default(),
            id: uuid(&id, &row.id)?,
            product_id: uuid(&id, &row.product_id)?,
            provider_org_id: uuid(&id, &row.provider_org_id)?,
            region: row.region,
            gender: row.gender.as_deref().map(str::parse).transpose().map_err(|e| corrupt(TABLE, &id, e))?,
            metadata: LEAD_METADATA
                .open(&self.keyring, &id, row.metadata_enc.as_deref(), row.metadata.as_deref())
                .map_err(|e| corrupt(TABLE, &id, e))?,
            status: row.status.parse().map_err(|e| corrupt(TABLE, &id, e))?,
            assignment,
            last_distributed_at: row.last_distributed_at.map(from_millis),
            as_statuses,
            created_at: from_millis(row.created_at),
        })
    }

    /// Runs a [`with_extras`] select and reads its leads: one statement.
    async fn read_leads(
        &self,
        conn: &impl ConnectionTrait,
        select: Select<lead::Entity>,
    ) -> Result<Vec<Lead>, RepoError> {
        let stmt = with_extras(select).build(conn.get_database_backend());
        conn.query_all_raw(stmt).await.map_err(unavailable)?.iter().map(|r| self.read_lead(r)).collect()
    }

    /// A lead by id, whoever owns it (callers apply [`Lead::visibility_for`]): one
    /// statement.
    ///
    /// # Errors
    /// Storage failures or an unreadable row.
    pub async fn get(&self, id: Uuid) -> Result<Option<Lead>, RepoError> {
        let select = lead::Entity::find_by_id(id.to_string());
        Ok(self.read_leads(self.db.conn(), select).await?.pop())
    }

    /// A lead with its ownership history oldest first, in one statement: the lead row (with
    /// its product's name and AS statuses) left-joined to its assignments, one result row
    /// per assignment.
    ///
    /// # Errors
    /// Storage failures or an unreadable row.
    pub async fn get_with_history(&self, id: Uuid) -> Result<Option<(Lead, Vec<AssignmentRecord>)>, RepoError> {
        let conn = self.db.conn();
        let mut query = with_extras(lead::Entity::find_by_id(id.to_string())).into_query();
        query.left_join(
            assignment::Entity,
            Expr::col((assignment::Entity, assignment::Column::LeadId)).equals((lead::Entity, lead::Column::Id)),
        );
        for (column, alias) in HISTORY_COLUMNS {
            query.expr_as(Expr::col((assignment::Entity, column)), alias);
        }
        query
            .order_by((assignment::Entity, assignment::Column::AssignedAt), Order::Asc)
            .order_by((assignment::Entity, assignment::Column::Id), Order::Asc);
        let rows = conn.query_all(&query).await.map_err(unavailable)?;
        let Some(first) = rows.first() else { return Ok(None) };
        let lead = self.read_lead(first)?;
        let lead_id = lead.id.to_string();
        let mut history = Vec::with_capacity(rows.len());
        for row in &rows {
            if let Some(record) = history_record(&lead_id, row)? {
                history.push(record);
            }
        }
        Ok(Some((lead, history)))
    }

    /// The ownership history of a lead, oldest first.
    ///
    /// # Errors
    /// Storage failures or an unreadable row.
    pub async fn history(&self, id: Uuid) -> Result<Vec<AssignmentRecord>, RepoError> {
        let rows = assignment::Entity::find()
            .filter(assignment::Column::LeadId.eq(id.to_string()))
            .order_by_asc(assignment::Column::AssignedAt)
            .order_by_asc(assignment::Column::Id)
            .all(self.db.conn())
            .await
            .map_err(unavailable)?;
        rows.into_iter()
            .map(|a| {
                Ok(AssignmentRecord {
                    id: uuid(&a.lead_id, &a.id)?,
                    owner_user_id: uuid(&a.lead_id, &a.owner_user_id)?,
                    source: a.source.parse().map_err(|e| corrupt(TABLE, &a.lead_id, e))?,
                    distributor_user_id: a.distributor_user_id.as_deref().map(|d| uuid(&a.lead_id, d)).transpose()?,
                    assigned_at: from_millis(a.assigned_at),
                    used_at: a.used_at.map(from_millis),
                    ended_at: a.ended_at.map(from_millis),
                    end_reason: a.end_reason,
                })
            })
            .collect()
    }

    /// Marks the caller's open assignment used (first call only) and logs the reveal, in
    /// one transaction. `None` when the caller does not own the lead.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn use_lead(&self, lead_id: Uuid, user: &User, mut access: PiiAccess) -> Result<Option<Lead>, RepoError> {
        let id = lead_id.to_string();
        let now_ms = to_millis(access.at);
        let txn = self.db.begin_write().await.map_err(unavailable)?;
        // Locked before its assignment is written: the lock order of every writer of an
        // open assignment (`crate::transfers`).
        let Some(row) = lead::Entity::find_by_id(id.clone()).lock_exclusive().one(&*txn).await.map_err(unavailable)?
        else {
            return Ok(None);
        };
        if row.owner_user_id.as_deref() != Some(user.id.to_string().as_str()) {
            return Ok(None);
        }
        if row.used_at.is_none() {
            let assignment = row.assignment_id.clone().unwrap_or_default();
            assignment::Entity::update_many()
                .col_expr(assignment::Column::UsedAt, Expr::value(now_ms))
                .filter(assignment::Column::Id.eq(assignment))
                .filter(assignment::Column::UsedAt.is_null())
                .exec(&*txn)
                .await
                .map_err(unavailable)?;
            lead::Entity::update_many()
                .col_expr(lead::Column::UsedAt, Expr::value(now_ms))
                .col_expr(lead::Column::UpdatedAt, Expr::value(now_ms))
                .filter(lead::Column::Id.eq(id.as_str()))
                .exec(&*txn)
                .await
                .map_err(unavailable)?;
        }
        access.subject_id = lead_id;
        pii_access::record(&*txn, &access).await.map_err(unavailable)?;
        let lead = self.read_leads(&*txn, lead::Entity::find_by_id(id)).await?.pop();
        txn.commit().await.map_err(unavailable)?;
        Ok(lead)
    }

    /// Logs reveals of these leads (one row each) through the group-committed
    /// [`RevealLog`]; returns once the rows are durable.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`] when the rows could not be written: nothing may be
    /// revealed then.
    pub async fn log_reveals(&self, leads: &[Uuid], template: &PiiAccess) -> Result<(), RepoError> {
        if leads.is_empty() {
            return Ok(());
        }
        let accesses: Vec<PiiAccess> =
            leads.iter().map(|id| PiiAccess { subject_id: *id, ..template.clone() }).collect();
        self.reveals.log(accesses).await
    }

    /// The leads among `ids` that `owner` owns now (`contacts` decides what to reveal).
    ///
    /// # Errors
    /// Storage failures or an unreadable row.
    pub async fn owned_among(&self, owner: Uuid, ids: &[Uuid]) -> Result<Vec<Lead>, RepoError> {
        let keys: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        let select = lead::Entity::find()
            .filter(lead::Column::Id.is_in(keys))
            .filter(lead::Column::OwnerUserId.eq(owner.to_string()));
        self.read_leads(self.db.conn(), select).await
    }

    /// How many leads the user owns now (delete refuses while any).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn count_owned(&self, user_id: Uuid) -> Result<u64, RepoError> {
        lead::Entity::find()
            .filter(lead::Column::OwnerUserId.eq(user_id.to_string()))
            .count(self.db.conn())
            .await
            .map_err(unavailable)
    }

    fn search_condition(&self, search: &LeadSearch, product_ids: &[String], matching_products: &[String]) -> Condition {
        match search {
            LeadSearch::Phone(p) => {
                Condition::all().add(lead::Column::PhoneBidx.eq(self.keyring.blind_index(&PHONE_INDEX, p.e164())))
            }
            LeadSearch::PhoneLast4(d) => {
                let indexes: Vec<String> = product_ids
                    .iter()
                    .map(|p| self.keyring.blind_index(&PHONE_LAST4_INDEX, &Self::last4_input(p, d)))
                    .collect();
                Condition::all().add(lead::Column::PhoneLast4Bidx.is_in(indexes))
            }
            LeadSearch::Email(e) => {
                Condition::all().add(lead::Column::EmailBidx.eq(self.keyring.blind_index(&EMAIL_INDEX, e.as_str())))
            }
            LeadSearch::NameOrProduct { name, .. } => {
                let mut any = Condition::any().add(lead::Column::ProductId.is_in(matching_products.to_vec()));
                if let Some(name) = name {
                    any = any.add(
                        lead::Column::NameBidx.eq(self.keyring.blind_index(&NAME_INDEX, &name.blind_index_form())),
                    );
                }
                any
            }
        }
    }

    /// 소유 DB 리스트: the owner's leads, filtered, sorted, one page.
    ///
    /// # Errors
    /// Storage failures or an unreadable row.
    pub async fn list_owned(&self, q: &OwnedQuery) -> Result<Page<Lead>, RepoError> {
        let conn = self.db.conn();
        let mut select = match q.scope {
            ListScope::Owned(owner) => lead::Entity::find().filter(lead::Column::OwnerUserId.eq(owner.to_string())),
            ListScope::DistributedBy(leader) => lead::Entity::find()
                .filter(lead::Column::DistributorUserId.eq(leader.to_string()))
                .filter(lead::Column::OwnerUserId.ne(leader.to_string())),
        };
        match q.used {
            Some(true) => select = select.filter(lead::Column::UsedAt.is_not_null()),
            Some(false) => select = select.filter(lead::Column::UsedAt.is_null()),
            None => {}
        }
        match q.has_as {
            Some(true) => {
                select = select
                    .filter(lead::Column::LatestAsStatus.is_not_null())
                    .filter(lead::Column::LatestAsStatus.ne(AsStatus::Cancelled.as_str()));
            }
            Some(false) => {
                select = select.filter(
                    Condition::any()
                        .add(lead::Column::LatestAsStatus.is_null())
                        .add(lead::Column::LatestAsStatus.eq(AsStatus::Cancelled.as_str())),
                );
            }
            None => {}
        }
        if let Some(product) = q.product_id {
            select = select.filter(lead::Column::ProductId.eq(product.to_string()));
        }
        if let Some(provider) = q.provider_id {
            select = select.filter(lead::Column::ProviderOrgId.eq(provider.to_string()));
        }
        // The page's total: the same filter, counted once per statement (an uncorrelated
        // scalar subquery; the inner `leads` is its own).
        let count = select.clone().select_only().column_as(Expr::cust("count(*)"), "n").into_query();
        let order = match q.sort_order {
            SortOrder::Asc => Order::Asc,
            SortOrder::Desc => Order::Desc,
        };
        // Unused leads sort after used ones by usedAt, whatever the direction.
        select = match q.sort_column {
            ListSortColumn::AssignedAt => select.order_by(lead::Column::AssignedAt, order.clone()),
            ListSortColumn::UsedAt => {
                select.order_by_with_nulls(lead::Column::UsedAt, order.clone(), NullOrdering::Last)
            }
            ListSortColumn::DistributedAt => select.order_by(lead::Column::LastDistributedAt, order.clone()),
        }
        .order_by(lead::Column::Id, order);

        let Some(search) = &q.search else {
            let page = select.clone().column_as(Expr::from(count), TOTAL).offset(q.page.offset()).limit(q.page.limit());
            let stmt = with_extras(page).build(conn.get_database_backend());
            let rows = conn.query_all_raw(stmt).await.map_err(unavailable)?;
            let total = match rows.first() {
                Some(first) => {
                    let total: i64 = first.try_get("", TOTAL).map_err(unavailable)?;
                    u64::try_from(total).unwrap_or_default()
                }
                None if q.page.offset() == 0 => 0,
                // Past the last row no row carries the total: the one case of a second
                // statement.
                None => select.count(conn).await.map_err(unavailable)?,
            };
            let items = rows.iter().map(|r| self.read_lead(r)).collect::<Result<Vec<_>, _>>()?;
            return Ok(Page { items, request: q.page, total });
        };
        // Only the last-4 and name/product searches need the products (the last-4 index
        // is per product; the fragment matches product names): they come from the
        // reference data in memory, so every search is one statement.
        let fragment = match search {
            LeadSearch::NameOrProduct { product_fragment, .. } => product_fragment.to_lowercase(),
            _ => String::new(),
        };
        let (product_ids, matching) = match search {
            LeadSearch::PhoneLast4(_) | LeadSearch::NameOrProduct { .. } => {
                let reference = self.db.reference_cache().snapshot(conn).await?;
                let ids: Vec<String> = reference.all_products().map(|(id, _)| id.to_owned()).collect();
                let matching: Vec<String> = reference
                    .all_products()
                    .filter(|(_, name)| !fragment.is_empty() && name.to_lowercase().contains(&fragment))
                    .map(|(id, _)| id.to_owned())
                    .collect();
                (ids, matching)
            }
            LeadSearch::Phone(_) | LeadSearch::Email(_) => (Vec::new(), Vec::new()),
        };
        let candidates = select.filter(self.search_condition(search, &product_ids, &matching)).limit(SEARCH_CANDIDATES);
        let mut hits = Vec::new();
        for lead in self.read_leads(conn, candidates).await? {
            let pii = &lead.pii;
            let exact = match search {
                LeadSearch::Phone(p) => pii.phone.e164() == p.e164(),
                LeadSearch::PhoneLast4(d) => pii.phone.last4() == d,
                LeadSearch::Email(e) => pii.email.as_ref().is_some_and(|m| m.as_str() == e.as_str()),
                LeadSearch::NameOrProduct { name, .. } => {
                    name.as_ref().is_some_and(|n| n.blind_index_form() == pii.name.blind_index_form())
                        || (!fragment.is_empty() && lead.product_name.to_lowercase().contains(&fragment))
                }
            };
            if exact {
                hits.push(lead);
            }
        }
        let total = hits.len() as u64;
        let offset = usize::try_from(q.page.offset()).unwrap_or(usize::MAX);
        let limit = usize::try_from(q.page.limit()).unwrap_or(usize::MAX);
        let items: Vec<Lead> = hits.into_iter().skip(offset).take(limit).collect();
        Ok(Page { items, request: q.page, total })
    }
}

impl LeadRepository for SeaLeadRepository {
    async fn register(&self, owner: &User, new: &NewLead, now: OffsetDateTime) -> Result<(Uuid, Uuid), RepoError> {
        Self::register(self, owner, new, now).await
    }

    async fn owned_page(&self, query: &OwnedQuery) -> Result<Page<Lead>, RepoError> {
        self.list_owned(query).await
    }

    async fn lead_with_history(&self, id: Uuid) -> Result<Option<(Lead, Vec<AssignmentRecord>)>, RepoError> {
        self.get_with_history(id).await
    }

    async fn mark_used(&self, lead_id: Uuid, owner: &User, access: PiiAccess) -> Result<Option<Lead>, RepoError> {
        self.use_lead(lead_id, owner, access).await
    }

    async fn owned_among(&self, owner: Uuid, ids: &[Uuid]) -> Result<Vec<Lead>, RepoError> {
        Self::owned_among(self, owner, ids).await
    }

    async fn reveal_log(&self, leads: &[Uuid], template: &PiiAccess) -> Result<(), RepoError> {
        self.log_reveals(leads, template).await
    }

    async fn transfer<D>(&self, ids: &[Uuid], decide: D) -> Result<TransferOutcome, RepoError>
    where
        D: FnOnce(&[TransferCandidate]) -> Result<Vec<Handover>, (Uuid, TransferRefusal)> + Send,
    {
        self.run_transfer(ids, decide).await
    }
}
