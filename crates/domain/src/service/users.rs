//! Managing an org's users (모홈 사용자 관리).
//!
//! Invariants:
//! - every operation is scoped to one org: another org's user is "not found";
//! - the role of a user must be one its org's kind may hold ([`roles_for`]);
//! - `mohomId` is unique per org; creating a deleted user's `mohomId` again revives that
//!   user with the new data (history stays attached to one id);
//! - delete is soft and idempotent only in the sense that a second delete is "not found";
//!   a user who owns leads is not deleted;
//! - every create, update and delete appends its audit entry (`user.created`,
//!   `user.updated`, `user.deleted`, with the `mohomId` and role) once the change is
//!   stored; a failed entry fails the call.

use thiserror::Error;
use uuid::Uuid;

use crate::error::RepoError;
use crate::identity::{MohomId, NewUser, Role, User, UserChange, UserQuery, UserStatus, roles_for};
use crate::pagination::Page;
use crate::ports::{AuditEvent, AuditLog, Clock, UserRepository};
use crate::reference::OrgKind;

#[derive(Debug, Error)]
pub enum UserError {
    #[error("user not found")]
    NotFound,
    #[error("a user with this mohomId already exists")]
    AlreadyExists,
    #[error("a {kind} organization cannot hold {role} users")]
    RoleNotAllowed { role: Role, kind: OrgKind },
    /// A user who owns leads is not deleted: its leads would have no owner.
    #[error("the user owns {count} leads: distribute or recall them first")]
    OwnsLeads { count: u64 },
    #[error(transparent)]
    Repo(RepoError),
}

impl From<RepoError> for UserError {
    fn from(err: RepoError) -> Self {
        match err {
            RepoError::Conflict(_) => Self::AlreadyExists,
            RepoError::NotFound => Self::NotFound,
            other => Self::Repo(other),
        }
    }
}

/// The org a call acts within.
#[derive(Debug, Clone, Copy)]
pub struct OrgScope {
    pub org_id: Uuid,
    pub kind: OrgKind,
}

impl OrgScope {
    fn check_role(self, role: Role) -> Result<(), UserError> {
        if roles_for(self.kind).contains(&role) {
            Ok(())
        } else {
            Err(UserError::RoleNotAllowed { role, kind: self.kind })
        }
    }
}

/// Who makes a change, for the audit log.
#[derive(Debug, Clone, Copy)]
pub struct ActedBy<'a> {
    /// `key:<id>`, `user:<id>` or `cli`.
    pub actor: &'a str,
    /// The request that made it, when there is one.
    pub request_id: Option<&'a str>,
}

pub struct UserService<'a, R: ?Sized, C: ?Sized> {
    repo: &'a R,
    clock: &'a C,
}

impl<'a, R: UserRepository + ?Sized, C: Clock + ?Sized> UserService<'a, R, C> {
    pub fn new(repo: &'a R, clock: &'a C) -> Self {
        Self { repo, clock }
    }

    /// An active user of the org.
    ///
    /// # Errors
    /// [`UserError::NotFound`] for an unknown or deleted user.
    pub async fn get(&self, org_id: Uuid, mohom_id: &MohomId) -> Result<User, UserError> {
        match self.repo.find(org_id, mohom_id).await? {
            Some(user) if user.is_active() => Ok(user),
            _ => Err(UserError::NotFound),
        }
    }

    /// # Errors
    /// Only storage failures.
    pub async fn list(&self, org_id: Uuid, query: &UserQuery) -> Result<Page<User>, UserError> {
        Ok(self.repo.list(org_id, query).await?)
    }
}

/// The changes, each with its audit entry.
impl<R: UserRepository + AuditLog + ?Sized, C: Clock + ?Sized> UserService<'_, R, C> {
    /// # Errors
    /// [`UserError::RoleNotAllowed`], [`UserError::AlreadyExists`] for an active user
    /// with this `mohomId`, or a storage failure.
    pub async fn create(&self, by: ActedBy<'_>, scope: OrgScope, new: NewUser) -> Result<User, UserError> {
        scope.check_role(new.role)?;
        let now = self.clock.now();
        match self.repo.find(scope.org_id, &new.mohom_id).await? {
            Some(existing) if existing.is_active() => Err(UserError::AlreadyExists),
            Some(deleted) => {
                let revived = User {
                    role: new.role,
                    team_id: new.team_id,
                    name: new.name,
                    phone: Some(new.phone),
                    email: Some(new.email),
                    status: UserStatus::Active,
                    updated_at: now,
                    ..deleted
                };
                self.repo.update(&revived).await?;
                self.audit(by, "user.created", &revived).await?;
                Ok(revived)
            }
            None => {
                let user = User {
                    id: crate::ids::new_id(),
                    org_id: scope.org_id,
                    mohom_id: new.mohom_id,
                    role: new.role,
                    team_id: new.team_id,
                    name: new.name,
                    phone: Some(new.phone),
                    email: Some(new.email),
                    status: UserStatus::Active,
                    created_at: now,
                    updated_at: now,
                };
                self.repo.insert(&user).await?;
                self.audit(by, "user.created", &user).await?;
                Ok(user)
            }
        }
    }

    /// # Errors
    /// [`UserError::NotFound`], [`UserError::RoleNotAllowed`], or a storage failure.
    pub async fn update(
        &self,
        by: ActedBy<'_>,
        scope: OrgScope,
        mohom_id: &MohomId,
        change: UserChange,
    ) -> Result<User, UserError> {
        if let Some(role) = change.role {
            scope.check_role(role)?;
        }
        let current = self.get(scope.org_id, mohom_id).await?;
        let updated = User {
            name: change.name.unwrap_or(current.name),
            phone: change.phone.or(current.phone),
            email: change.email.or(current.email),
            role: change.role.unwrap_or(current.role),
            team_id: change.team_id.or(current.team_id),
            updated_at: self.clock.now(),
            ..current
        };
        self.repo.update(&updated).await?;
        self.audit(by, "user.updated", &updated).await?;
        Ok(updated)
    }

    /// Soft-deletes an active user who owns no lead.
    ///
    /// # Errors
    /// [`UserError::NotFound`] for an unknown or already deleted user,
    /// [`UserError::OwnsLeads`], or a storage failure.
    pub async fn delete(&self, by: ActedBy<'_>, org_id: Uuid, mohom_id: &MohomId) -> Result<User, UserError> {
        let current = self.get(org_id, mohom_id).await?;
        let count = self.repo.owned_leads(current.id).await?;
        if count > 0 {
            return Err(UserError::OwnsLeads { count });
        }
        let deleted = User { status: UserStatus::Deleted, updated_at: self.clock.now(), ..current };
        self.repo.update(&deleted).await?;
        self.audit(by, "user.deleted", &deleted).await?;
        Ok(deleted)
    }

    async fn audit(&self, by: ActedBy<'_>, action: &'static str, user: &User) -> Result<(), UserError> {
        let event = AuditEvent {
            org_id: Some(user.org_id),
            actor: by.actor.to_owned(),
            action,
            entity: "user",
            entity_id: Some(user.id.to_string()),
            request_id: by.request_id.map(str::to_owned),
            detail: serde_json::json!({ "mohomId": user.mohom_id.as_str(), "role": user.role.as_str() }),
            at: self.clock.now(),
        };
        Ok(self.repo.record(&event).await?)
    }
}
