//! Managing an org's users (모홈 사용자 관리).
//!
//! Invariants:
//! - every operation is scoped to one org: another org's user is "not found";
//! - the role of a user must be one its org's kind may hold ([`roles_for`]);
//! - `mohomId` is unique per org; creating a deleted user's `mohomId` again revives that
//!   user with the new data (history stays attached to one id);
//! - delete is soft and idempotent only in the sense that a second delete is "not found".

use thiserror::Error;
use uuid::Uuid;

use crate::error::RepoError;
use crate::identity::{MohomId, NewUser, Role, User, UserChange, UserQuery, UserStatus, roles_for};
use crate::pagination::Page;
use crate::ports::{Clock, UserRepository};
use crate::reference::OrgKind;

#[derive(Debug, Error)]
pub enum UserError {
    #[error("user not found")]
    NotFound,
    #[error("a user with this mohomId already exists")]
    AlreadyExists,
    #[error("a {kind} organization cannot hold {role} users")]
    RoleNotAllowed { role: Role, kind: OrgKind },
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

pub struct UserService<'a, R: ?Sized, C: ?Sized> {
    repo: &'a R,
    clock: &'a C,
}

impl<'a, R: UserRepository + ?Sized, C: Clock + ?Sized> UserService<'a, R, C> {
    pub fn new(repo: &'a R, clock: &'a C) -> Self {
        Self { repo, clock }
    }

    /// # Errors
    /// [`UserError::RoleNotAllowed`], [`UserError::AlreadyExists`] for an active user
    /// with this `mohomId`, or a storage failure.
    pub async fn create(&self, scope: OrgScope, new: NewUser) -> Result<User, UserError> {
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
                Ok(user)
            }
        }
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
    /// [`UserError::NotFound`], [`UserError::RoleNotAllowed`], or a storage failure.
    pub async fn update(&self, scope: OrgScope, mohom_id: &MohomId, change: UserChange) -> Result<User, UserError> {
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
        Ok(updated)
    }

    /// Soft-deletes an active user.
    ///
    /// # Errors
    /// [`UserError::NotFound`] for an unknown or already deleted user.
    pub async fn delete(&self, org_id: Uuid, mohom_id: &MohomId) -> Result<User, UserError> {
        let current = self.get(org_id, mohom_id).await?;
        let deleted = User { status: UserStatus::Deleted, updated_at: self.clock.now(), ..current };
        self.repo.update(&deleted).await?;
        Ok(deleted)
    }

    /// # Errors
    /// Only storage failures.
    pub async fn list(&self, org_id: Uuid, query: &UserQuery) -> Result<Page<User>, UserError> {
        Ok(self.repo.list(org_id, query).await?)
    }
}
