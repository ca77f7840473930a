//! Days in a product's time zone (`dailyLimit` pacing): a day starts at local midnight
//! of the product's IANA zone, whatever the server's zone is. The zone database is
//! compiled in (jiff's bundled tzdb), so the answer does not depend on the host.

use time::OffsetDateTime;

/// A time zone name the bundled database does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown time zone {0}")]
pub struct UnknownZone(pub String);

/// The instant (Unix milliseconds) at which the local day containing `instant_ms` began
/// in `zone`.
///
/// # Errors
/// When `zone` is not an IANA zone name, or the instant is out of range.
pub fn day_start_ms(instant_ms: i64, zone: &str) -> Result<i64, UnknownZone> {
    let unknown = || UnknownZone(zone.to_owned());
    let tz = jiff::tz::TimeZone::get(zone).map_err(|_| unknown())?;
    let local = jiff::Timestamp::from_millisecond(instant_ms).map_err(|_| unknown())?.to_zoned_datetime(tz);
    let start = local.start_of_day().map_err(|_| unknown())?;
    Ok(start.timestamp().as_millisecond())
}

/// [`day_start_ms`] of an `OffsetDateTime`.
///
/// # Errors
/// As [`day_start_ms`].
pub fn day_start(instant: OffsetDateTime, zone: &str) -> Result<i64, UnknownZone> {
    let ms = i64::try_from(instant.unix_timestamp_nanos() / 1_000_000).map_err(|_| UnknownZone(zone.to_owned()))?;
    day_start_ms(ms, zone)
}

/// The local calendar date of `instant` in `zone`.
///
/// # Errors
/// As [`day_start_ms`].
pub fn local_date(instant: OffsetDateTime, zone: &str) -> Result<time::Date, UnknownZone> {
    let unknown = || UnknownZone(zone.to_owned());
    let tz = jiff::tz::TimeZone::get(zone).map_err(|_| unknown())?;
    let ms = i64::try_from(instant.unix_timestamp_nanos() / 1_000_000).map_err(|_| unknown())?;
    let local = jiff::Timestamp::from_millisecond(ms).map_err(|_| unknown())?.to_zoned_datetime(tz);
    let month = time::Month::try_from(u8::try_from(local.month()).map_err(|_| unknown())?).map_err(|_| unknown())?;
    time::Date::from_calendar_date(i32::from(local.year()), month, u8::try_from(local.day()).map_err(|_| unknown())?)
        .map_err(|_| unknown())
}

/// The offset from UTC of `zone` at `instant` (for writing that instant's local time).
///
/// # Errors
/// As [`day_start_ms`].
pub fn offset_at(instant: OffsetDateTime, zone: &str) -> Result<time::UtcOffset, UnknownZone> {
    let unknown = || UnknownZone(zone.to_owned());
    let tz = jiff::tz::TimeZone::get(zone).map_err(|_| unknown())?;
    let ms = i64::try_from(instant.unix_timestamp_nanos() / 1_000_000).map_err(|_| unknown())?;
    let offset = tz.to_offset(jiff::Timestamp::from_millisecond(ms).map_err(|_| unknown())?);
    time::UtcOffset::from_whole_seconds(offset.seconds()).map_err(|_| unknown())
}

/// The instant (Unix milliseconds) at which `date` begins in `zone`.
///
/// # Errors
/// As [`day_start_ms`].
pub fn date_start_ms(date: time::Date, zone: &str) -> Result<i64, UnknownZone> {
    let unknown = || UnknownZone(zone.to_owned());
    let tz = jiff::tz::TimeZone::get(zone).map_err(|_| unknown())?;
    let civil = jiff::civil::date(
        i16::try_from(date.year()).map_err(|_| unknown())?,
        i8::try_from(u8::from(date.month())).map_err(|_| unknown())?,
        i8::try_from(date.day()).map_err(|_| unknown())?,
    );
    let start = civil.to_zoned_datetime(tz).map_err(|_| unknown())?;
    Ok(start.timestamp().as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn ms(t: OffsetDateTime) -> i64 {
        i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or_default()
    }

    #[test]
    fn seoul_days_start_at_15_utc() {
        assert_eq!(offset_at(datetime!(2026-11-24 14:59 UTC), "Asia/Seoul").map(|o| o.whole_hours()), Ok(9));
        // 2026-11-24 14:59 UTC is 23:59 in Seoul: still the 24th there.
        let late = ms(datetime!(2026-11-24 14:59 UTC));
        assert_eq!(day_start_ms(late, "Asia/Seoul"), Ok(ms(datetime!(2026-11-23 15:00 UTC))));
        // One minute later it is the 25th in Seoul.
        let next = ms(datetime!(2026-11-24 15:00 UTC));
        assert_eq!(day_start_ms(next, "Asia/Seoul"), Ok(ms(datetime!(2026-11-24 15:00 UTC))));
    }

    #[test]
    fn ho_chi_minh_days_start_at_17_utc() {
        let t = ms(datetime!(2026-11-24 16:30 UTC));
        assert_eq!(day_start_ms(t, "Asia/Ho_Chi_Minh"), Ok(ms(datetime!(2026-11-23 17:00 UTC))));
    }

    #[test]
    fn a_dst_zone_uses_its_local_midnight() {
        // New York on 2026-11-01 (DST ends): midnight is still EDT, UTC-4.
        let t = ms(datetime!(2026-11-01 20:00 UTC));
        assert_eq!(day_start_ms(t, "America/New_York"), Ok(ms(datetime!(2026-11-01 04:00 UTC))));
    }

    #[test]
    fn an_unknown_zone_is_refused() {
        assert_eq!(day_start_ms(0, "Mars/Olympus"), Err(UnknownZone("Mars/Olympus".to_owned())));
    }
}
