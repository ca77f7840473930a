//! Instants are stored as `BIGINT` milliseconds since the Unix epoch (UTC) on both
//! databases: exact, sortable and identical on SQLite and PostgreSQL.

use time::OffsetDateTime;

/// Milliseconds since the epoch; sub-millisecond precision is dropped.
#[must_use]
pub fn to_millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The instant of a stored millisecond count (the epoch for an out-of-range value).
#[must_use]
pub fn from_millis(millis: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn millisecond_instants_round_trip() {
        let at = datetime!(2026-11-24 18:58:05.123 UTC);
        assert_eq!(from_millis(to_millis(at)), at);
    }
}
