//! Users (모홈 사용자) and roles.
//!
//! Invariants:
//! - a user belongs to exactly one org and is unique there by `mohomId`;
//! - a partner org's users are `MEMBER`s and `LEADER`s; the operator org's users are
//!   `CS_MANAGER`s and `ADMIN`s; a provider org has no users ([`roles_for`]);
//! - a deleted user is kept (soft delete) and acts for nothing;
//! - personal data (name, phone, email) only ever travels in the `pii` types, whose
//!   `Debug` is redacted.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{FieldError, ValidationError};
use crate::pagination::{PageRequest, Sort, SortKey};
use crate::pii::{Email, PersonName, PhoneNumber};
use crate::reference::{OrgKind, code_enum};

code_enum!(
    /// What a user may do.
    Role { Member => "MEMBER", Leader => "LEADER", CsManager => "CS_MANAGER", Admin => "ADMIN" }
);

code_enum!(
    /// Whether a user can act.
    UserStatus { Active => "ACTIVE", Deleted => "DELETED" }
);

/// The roles an org of this kind may hold.
#[must_use]
pub fn roles_for(kind: OrgKind) -> &'static [Role] {
    match kind {
        OrgKind::Partner => &[Role::Member, Role::Leader],
        OrgKind::Operator => &[Role::CsManager, Role::Admin],
        OrgKind::Provider => &[],
    }
}

/// The partner's id of a user (`mohomId`): 1 to 128 characters of `A-Z a-z 0-9 . _ - @ :`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MohomId(String);

impl MohomId {
    /// # Errors
    /// Names `mohomId` when empty, too long or with another character.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let ok = (1..=128).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@' | b':'));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValidationError::single("mohomId", "must be 1 to 128 characters of A-Z a-z 0-9 . _ - @ :"))
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A team label within an org (free text, 1 to 128 characters).
fn parse_team(raw: &str) -> Result<String, FieldError> {
    let trimmed = raw.trim();
    if (1..=128).contains(&trimmed.chars().count()) && !trimmed.chars().any(char::is_control) {
        Ok(trimmed.to_owned())
    } else {
        Err(FieldError::new("teamId", "must be 1 to 128 printable characters"))
    }
}

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: Uuid,
    pub org_id: Uuid,
    pub mohom_id: MohomId,
    pub role: Role,
    pub team_id: Option<String>,
    pub name: PersonName,
    pub phone: Option<PhoneNumber>,
    pub email: Option<Email>,
    pub status: UserStatus,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl User {
    #[must_use]
    pub fn is_active(&self) -> bool {
        self.status == UserStatus::Active
    }
}

/// The raw fields of a user as a client sends them. Its `Debug` prints none of the
/// personal fields.
#[derive(Clone, Default)]
pub struct UserFields<'a> {
    pub mohom_id: Option<&'a str>,
    pub name: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
    pub role: Option<&'a str>,
    pub team_id: Option<&'a str>,
}

crate::redacting_debug!(UserFields<'a> { show: [mohom_id, role, team_id], redact: [name, phone, email] });

/// A validated new user.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub mohom_id: MohomId,
    pub name: PersonName,
    pub phone: PhoneNumber,
    pub email: Email,
    pub role: Role,
    pub team_id: Option<String>,
}

fn required<'a>(value: Option<&'a str>, field: &str, errors: &mut Vec<FieldError>) -> Option<&'a str> {
    if value.is_none() {
        errors.push(FieldError::new(field, "is required"));
    }
    value
}

fn collect<T>(result: Result<T, ValidationError>, errors: &mut Vec<FieldError>) -> Option<T> {
    result.map_err(|e| errors.extend(e.0)).ok()
}

fn parse_role(raw: &str) -> Result<Role, ValidationError> {
    raw.parse::<Role>().map_err(|_| ValidationError::single("role", "must be one of MEMBER, LEADER, CS_MANAGER, ADMIN"))
}

impl NewUser {
    /// Parses every field, reporting all the bad ones at once.
    ///
    /// # Errors
    /// One [`FieldError`] per missing or malformed field.
    pub fn parse(fields: &UserFields<'_>) -> Result<Self, ValidationError> {
        let mut errors = Vec::new();
        let mohom_id =
            required(fields.mohom_id, "mohomId", &mut errors).and_then(|v| collect(MohomId::parse(v), &mut errors));
        let name = required(fields.name, "name", &mut errors).and_then(|v| collect(PersonName::parse(v), &mut errors));
        let phone =
            required(fields.phone, "phone", &mut errors).and_then(|v| collect(PhoneNumber::parse(v), &mut errors));
        let email = required(fields.email, "email", &mut errors).and_then(|v| collect(Email::parse(v), &mut errors));
        let role = required(fields.role, "role", &mut errors).and_then(|v| collect(parse_role(v), &mut errors));
        let team_id = fields.team_id.and_then(|v| parse_team(v).map_err(|e| errors.push(e)).ok());
        match (mohom_id, name, phone, email, role) {
            (Some(mohom_id), Some(name), Some(phone), Some(email), Some(role)) if errors.is_empty() => {
                Ok(Self { mohom_id, name, phone, email, role, team_id })
            }
            _ => Err(ValidationError(errors)),
        }
    }
}

/// A validated change to a user: only the given fields change.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub name: Option<PersonName>,
    pub phone: Option<PhoneNumber>,
    pub email: Option<Email>,
    pub role: Option<Role>,
    pub team_id: Option<String>,
}

impl UserChange {
    /// # Errors
    /// One [`FieldError`] per malformed field; a change with no field at all is refused.
    pub fn parse(fields: &UserFields<'_>) -> Result<Self, ValidationError> {
        let mut errors = Vec::new();
        let change = Self {
            name: fields.name.and_then(|v| collect(PersonName::parse(v), &mut errors)),
            phone: fields.phone.and_then(|v| collect(PhoneNumber::parse(v), &mut errors)),
            email: fields.email.and_then(|v| collect(Email::parse(v), &mut errors)),
            role: fields.role.and_then(|v| collect(parse_role(v), &mut errors)),
            team_id: fields.team_id.and_then(|v| parse_team(v).map_err(|e| errors.push(e)).ok()),
        };
        let empty = fields.name.is_none()
            && fields.phone.is_none()
            && fields.email.is_none()
            && fields.role.is_none()
            && fields.team_id.is_none();
        if empty {
            errors.push(FieldError::new("body", "must change at least one of name, phone, email, role, teamId"));
        }
        if errors.is_empty() { Ok(change) } else { Err(ValidationError(errors)) }
    }
}

/// What a user search looks for, decided from the shape of the `search` text.
#[derive(Debug, Clone)]
pub enum UserSearchTerm {
    /// A full phone number in any format.
    Phone(PhoneNumber),
    /// Exactly four digits: the end of a phone number.
    PhoneLast4(String),
    /// A full email address.
    Email(Email),
    /// An exact name.
    Name(PersonName),
}

impl UserSearchTerm {
    /// # Errors
    /// Names `search` when the text is none of the supported shapes.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let text = raw.trim();
        if text.len() == 4 && text.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(Self::PhoneLast4(text.to_owned()));
        }
        if text.contains('@') {
            return Email::parse(text)
                .map(Self::Email)
                .map_err(|_| ValidationError::single("search", "is not a valid email address"));
        }
        let digits = text.chars().filter(char::is_ascii_digit).count();
        if digits >= 7 && text.chars().all(|c| c.is_ascii_digit() || " +-.()".contains(c)) {
            return PhoneNumber::parse(text)
                .map(Self::Phone)
                .map_err(|_| ValidationError::single("search", "is not a valid mobile number"));
        }
        PersonName::parse(text).map(Self::Name).map_err(|_| {
            ValidationError::single("search", "must be a phone number, its last 4 digits, an email or a name")
        })
    }
}

/// Sort keys of the user list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSortKey {
    CreatedAt,
    UpdatedAt,
    MohomId,
}

impl SortKey for UserSortKey {
    const ALLOWED: &'static [(&'static str, Self)] = &[
        ("createdAt", UserSortKey::CreatedAt),
        ("updatedAt", UserSortKey::UpdatedAt),
        ("mohomId", UserSortKey::MohomId),
    ];
    const DEFAULT: Self = UserSortKey::CreatedAt;
}

/// A user list query within one org; deleted users are never listed.
#[derive(Debug, Clone)]
pub struct UserQuery {
    pub role: Option<Role>,
    pub search: Option<UserSearchTerm>,
    pub page: PageRequest,
    pub sort: Sort<UserSortKey>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> UserFields<'static> {
        UserFields {
            mohom_id: Some("m-001"),
            name: Some("홍길동"),
            phone: Some("010-1234-5678"),
            email: Some("Hong@Example.com"),
            role: Some("MEMBER"),
            team_id: Some("team-a"),
        }
    }

    #[test]
    fn a_complete_user_parses_and_normalizes() {
        let user = NewUser::parse(&fields()).unwrap();
        assert_eq!(user.phone.e164(), "+821012345678");
        assert_eq!(user.email.as_str(), "hong@example.com");
        assert_eq!(user.role, Role::Member);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let bad =
            UserFields { mohom_id: Some("has space"), phone: Some("12"), email: None, role: Some("BOSS"), ..fields() };
        let err = NewUser::parse(&bad).err().unwrap();
        let names: Vec<&str> = err.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["mohomId", "phone", "email", "role"]);
    }

    #[test]
    fn partners_hold_members_and_leaders_and_the_operator_staff() {
        assert_eq!(roles_for(OrgKind::Partner), [Role::Member, Role::Leader]);
        assert_eq!(roles_for(OrgKind::Operator), [Role::CsManager, Role::Admin]);
        assert!(roles_for(OrgKind::Provider).is_empty());
    }

    #[test]
    fn an_empty_change_is_refused() {
        assert!(UserChange::parse(&UserFields::default()).is_err());
        assert!(UserChange::parse(&UserFields { team_id: Some("b"), ..UserFields::default() }).is_ok());
    }

    #[test]
    fn the_search_text_decides_what_is_searched() {
        assert!(matches!(UserSearchTerm::parse("010-1234-5678"), Ok(UserSearchTerm::Phone(_))));
        assert!(matches!(UserSearchTerm::parse("5678"), Ok(UserSearchTerm::PhoneLast4(_))));
        assert!(matches!(UserSearchTerm::parse("a@b.co"), Ok(UserSearchTerm::Email(_))));
        assert!(matches!(UserSearchTerm::parse("홍길동"), Ok(UserSearchTerm::Name(_))));
        assert!(UserSearchTerm::parse("02-123-4567").is_err(), "a landline is not a mobile");
    }
}
