//! Who a use case acts for: the org, the credential that proved it, and the member a
//! member-scoped call acts as.
//!
//! Invariants:
//! - a principal belongs to exactly one org; every use case scopes its reads and writes
//!   to [`Principal::org_id`], so another org's record is "not found", never "forbidden";
//! - [`Principal::acting`] is resolved before the use case runs (an API key names a
//!   `mohomId` of its own org; a token is its own user) and is an active user;
//! - the audit actor is derived from the credential, never from input.

use uuid::Uuid;

use crate::identity::{Role, User};
use crate::reference::OrgKind;

/// The credential a request proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A server of the org, by its API key.
    ApiKey { key_id: Uuid },
    /// A user, by a Bearer access token.
    Token { user_id: Uuid },
    /// The operator's command line.
    Cli,
}

/// A resolved caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub org_id: Uuid,
    pub org_kind: OrgKind,
    pub credential: Credential,
    /// The member the call acts as, when it is member-scoped.
    pub acting: Option<User>,
}

impl Principal {
    /// The audit `actor`: `key:<id>`, `user:<id>` or `cli`.
    #[must_use]
    pub fn actor(&self) -> String {
        match self.credential {
            Credential::ApiKey { key_id } => format!("key:{key_id}"),
            Credential::Token { user_id } => format!("user:{user_id}"),
            Credential::Cli => "cli".to_owned(),
        }
    }

    /// The API key behind the call, if any.
    #[must_use]
    pub fn key_id(&self) -> Option<Uuid> {
        match self.credential {
            Credential::ApiKey { key_id } => Some(key_id),
            _ => None,
        }
    }

    /// The acting member's role, when there is one.
    #[must_use]
    pub fn role(&self) -> Option<Role> {
        self.acting.as_ref().map(|u| u.role)
    }

    /// The same principal acting as `user`.
    #[must_use]
    pub fn acting_as(mut self, user: User) -> Self {
        self.acting = Some(user);
        self
    }
}
