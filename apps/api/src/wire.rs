//! Wire formats shared by every response: the pagination block, timestamps (RFC 3339
//! UTC with milliseconds, `2019-08-24T14:15:22.123Z`) and the product reference that
//! leads and orders both carry.

use domain::pagination::Page;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;
use utoipa::ToSchema;
use uuid::Uuid;

const MILLIS_UTC: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// `2019-08-24T14:15:22.123Z`.
#[must_use]
pub fn timestamp(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC).format(MILLIS_UTC).unwrap_or_default()
}

/// The product of a lead.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductRef {
    pub id: Uuid,
    pub name: String,
}

/// The pagination block of every list.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    pub page: u64,
    pub limit: u64,
    pub total: u64,
    pub total_pages: u64,
}

impl<T> From<&Page<T>> for Pagination {
    fn from(page: &Page<T>) -> Self {
        Self {
            page: page.request.page(),
            limit: page.request.limit(),
            total: page.total,
            total_pages: page.total_pages(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn timestamps_have_exactly_three_fraction_digits_and_a_z() {
        assert_eq!(timestamp(datetime!(2019-08-24 14:15:22.1234 UTC)), "2019-08-24T14:15:22.123Z");
        assert_eq!(timestamp(datetime!(2019-08-24 23:15:22 +09:00)), "2019-08-24T14:15:22.000Z");
    }
}
