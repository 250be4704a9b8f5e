//! What the camera wrote in EXIF: orientation, place and time. A value that is missing, blank or
//! impossible is left out (no location rather than a wrong one); it never refuses the photo.

use exif::{Exif, In, Tag, Value};
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Where the photo was taken, in WGS84 decimal degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Location {
    /// Degrees north (negative: south), -90..=90.
    pub latitude: f64,
    /// Degrees east (negative: west), -180..=180.
    pub longitude: f64,
    /// The receiver's horizontal error in metres (EXIF `GPSHPositioningError`), when written.
    pub accuracy_m: Option<f64>,
}

/// When the photo was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TakenAt {
    /// Milliseconds since the Unix epoch, UTC.
    pub unix_ms: i64,
    /// Which EXIF fields it came from: how far to trust it.
    pub source: TimeSource,
}

/// Where [`TakenAt`] came from, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSource {
    /// `GPSDateStamp` + `GPSTimeStamp`: UTC from the satellites.
    Gps,
    /// `DateTimeOriginal` with `OffsetTimeOriginal`: the camera's clock and its offset from UTC.
    CameraWithOffset,
    /// `DateTimeOriginal` alone, read as UK local time (GMT, or BST in summer): right when the
    /// camera's clock was set to UK time.
    CameraAssumedUk,
}

/// The EXIF fields ingest uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Metadata {
    /// EXIF orientation 1..=8 (1 when absent or out of range).
    pub orientation: u8,
    pub location: Option<Location>,
    pub taken_at: Option<TakenAt>,
}

impl Default for Metadata {
    fn default() -> Self {
        Metadata {
            orientation: 1,
            location: None,
            taken_at: None,
        }
    }
}

impl Metadata {
    /// Reads a TIFF-structured EXIF block (a JPEG's APP1 after `Exif\0\0`, a PNG's `eXIf`).
    /// Unreadable EXIF gives no metadata, not an error; a damaged block still gives what it can.
    pub(crate) fn read(tiff: Vec<u8>) -> Metadata {
        let exif = match exif::Reader::new().continue_on_error(true).read_raw(tiff) {
            Ok(exif) => exif,
            Err(exif::Error::PartialResult(partial)) => partial.into_inner().0,
            Err(_) => return Metadata::default(),
        };
        Metadata {
            orientation: uint(&exif, Tag::Orientation)
                .and_then(|o| u8::try_from(o).ok())
                .filter(|o| (1..=8).contains(o))
                .unwrap_or(1),
            location: location(&exif),
            taken_at: taken_at(&exif),
        }
    }
}

fn field(exif: &Exif, tag: Tag) -> Option<&Value> {
    exif.get_field(tag, In::PRIMARY).map(|f| &f.value)
}

fn uint(exif: &Exif, tag: Tag) -> Option<u32> {
    field(exif, tag)?.get_uint(0)
}

fn ascii(exif: &Exif, tag: Tag) -> Option<&[u8]> {
    match field(exif, tag)? {
        Value::Ascii(parts) => parts.first().map(Vec::as_slice),
        _ => None,
    }
}

/// Unsigned rationals as floats; `None` if any has a zero denominator.
fn rationals(exif: &Exif, tag: Tag) -> Option<Vec<f64>> {
    match field(exif, tag)? {
        Value::Rational(values) => values
            .iter()
            .map(|r| (r.denom != 0).then(|| r.to_f64()))
            .collect(),
        _ => None,
    }
}

/// Degrees, minutes and seconds to decimal degrees, with minutes and seconds below 60.
fn degrees(dms: &[f64]) -> Option<f64> {
    let [d, m, s] = *dms else { return None };
    (m < 60.0 && s < 60.0).then(|| d + m / 60.0 + s / 3600.0)
}

fn location(exif: &Exif) -> Option<Location> {
    let latitude = degrees(&rationals(exif, Tag::GPSLatitude)?)?;
    let longitude = degrees(&rationals(exif, Tag::GPSLongitude)?)?;
    let latitude = match ascii(exif, Tag::GPSLatitudeRef)? {
        b"N" => latitude,
        b"S" => -latitude,
        _ => return None,
    };
    let longitude = match ascii(exif, Tag::GPSLongitudeRef)? {
        b"E" => longitude,
        b"W" => -longitude,
        _ => return None,
    };
    // 0,0 is what cameras without a fix write; nobody inspects a restaurant in the Gulf of Guinea.
    if latitude.abs() > 90.0 || longitude.abs() > 180.0 || (latitude == 0.0 && longitude == 0.0) {
        return None;
    }
    let accuracy_m = rationals(exif, Tag::GPSHPositioningError)
        .and_then(|v| v.first().copied())
        .filter(|m| m.is_finite() && *m >= 0.0);
    Some(Location {
        latitude,
        longitude,
        accuracy_m,
    })
}

fn taken_at(exif: &Exif) -> Option<TakenAt> {
    if let Some(unix_ms) = gps_time(exif) {
        return Some(TakenAt {
            unix_ms,
            source: TimeSource::Gps,
        });
    }
    let mut camera = exif::DateTime::from_ascii(ascii(exif, Tag::DateTimeOriginal)?).ok()?;
    if let Some(subsec) = ascii(exif, Tag::SubSecTimeOriginal) {
        let _ = camera.parse_subsec(subsec);
    }
    let millis = camera.nanosecond.map_or(0, |ns| ns / 1_000_000);
    let date = date(i32::from(camera.year), camera.month, camera.day)?;
    let time =
        Time::from_hms_milli(camera.hour, camera.minute, camera.second, millis as u16).ok()?;
    let local = PrimitiveDateTime::new(date, time);
    let offset = ascii(exif, Tag::OffsetTimeOriginal).and_then(|o| camera.parse_offset(o).ok());
    let (utc, source) = match offset.and(camera.offset) {
        Some(minutes) => {
            let offset = UtcOffset::from_whole_seconds(i32::from(minutes) * 60).ok()?;
            (local.assume_offset(offset), TimeSource::CameraWithOffset)
        }
        None => (uk_local_to_utc(local), TimeSource::CameraAssumedUk),
    };
    Some(TakenAt {
        unix_ms: unix_ms(utc),
        source,
    })
}

fn gps_time(exif: &Exif) -> Option<i64> {
    // GPSDateStamp is "YYYY:MM:DD"; GPSTimeStamp is hours, minutes and (fractional) seconds, UTC.
    let stamp = std::str::from_utf8(ascii(exif, Tag::GPSDateStamp)?).ok()?;
    let mut parts = stamp
        .trim_end_matches('\0')
        .splitn(3, ':')
        .map(|p| p.parse::<u16>().ok());
    let (year, month, day) = (parts.next()??, parts.next()??, parts.next()??);
    let date = date(
        i32::from(year),
        u8::try_from(month).ok()?,
        u8::try_from(day).ok()?,
    )?;
    let [h, m, s] = *rationals(exif, Tag::GPSTimeStamp)? else {
        return None;
    };
    if !(0.0..24.0).contains(&h) || !(0.0..60.0).contains(&m) || !(0.0..61.0).contains(&s) {
        return None;
    }
    let ms = ((h.trunc() * 3600.0 + m.trunc() * 60.0 + s) * 1000.0).round() as i64;
    Some(unix_ms(date.midnight().assume_utc()) + ms)
}

/// A valid calendar date; "0000:00:00" (unset cameras) is not one.
fn date(year: i32, month: u8, day: u8) -> Option<Date> {
    if year < 1900 {
        return None;
    }
    Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()
}

fn unix_ms(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

/// UK civil time (Europe/London) to UTC, with today's rule: British Summer Time (UTC+1) from
/// 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October (in force
/// since 1996; older photos may be an hour out). The hour skipped in March is read as GMT; the
/// hour repeated in October is read as BST, its first occurrence.
pub(crate) fn uk_local_to_utc(local: PrimitiveDateTime) -> OffsetDateTime {
    let year = local.year();
    let last_sunday = |month: Month| {
        // March and October both have 31 days.
        Date::from_calendar_date(year, month, 31)
            .ok()
            .map(|last| last - Duration::days(i64::from(last.weekday().number_days_from_sunday())))
    };
    let one_am = Time::MIDNIGHT + Duration::hours(1);
    let as_bst = local.assume_utc() - Duration::hours(1);
    if let (Some(start), Some(end)) = (last_sunday(Month::March), last_sunday(Month::October)) {
        let bst = start.with_time(one_am).assume_utc()..end.with_time(one_am).assume_utc();
        if bst.contains(&as_bst) {
            return as_bst;
        }
    }
    local.assume_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(y: i32, mo: u8, d: u8, h: u8, mi: u8) -> i64 {
        let date = date(y, mo, d).expect("test date");
        let time = Time::from_hms(h, mi, 0).expect("test time");
        unix_ms(PrimitiveDateTime::new(date, time).assume_utc())
    }

    fn uk(y: i32, mo: u8, d: u8, h: u8, mi: u8) -> i64 {
        let date = date(y, mo, d).expect("test date");
        let time = Time::from_hms(h, mi, 0).expect("test time");
        unix_ms(uk_local_to_utc(PrimitiveDateTime::new(date, time)))
    }

    #[test]
    fn uk_winter_is_gmt_and_summer_is_bst() {
        assert_eq!(uk(2026, 1, 15, 10, 30), ms(2026, 1, 15, 10, 30));
        assert_eq!(uk(2026, 7, 15, 10, 30), ms(2026, 7, 15, 9, 30));
        assert_eq!(uk(2026, 12, 31, 23, 59), ms(2026, 12, 31, 23, 59));
    }

    #[test]
    fn uk_changes_on_the_last_sundays_of_march_and_october() {
        // 2026: Sunday 29 March and Sunday 25 October.
        assert_eq!(uk(2026, 3, 29, 0, 59), ms(2026, 3, 29, 0, 59));
        assert_eq!(uk(2026, 3, 29, 1, 30), ms(2026, 3, 29, 1, 30)); // skipped hour: as GMT
        assert_eq!(uk(2026, 3, 29, 2, 0), ms(2026, 3, 29, 1, 0));
        assert_eq!(uk(2026, 3, 28, 12, 0), ms(2026, 3, 28, 12, 0));
        assert_eq!(uk(2026, 10, 25, 0, 30), ms(2026, 10, 24, 23, 30));
        assert_eq!(uk(2026, 10, 25, 1, 30), ms(2026, 10, 25, 0, 30)); // repeated hour: BST
        assert_eq!(uk(2026, 10, 25, 2, 0), ms(2026, 10, 25, 2, 0));
        // 2024: Sunday 31 March (the 31st itself) and Sunday 27 October.
        assert_eq!(uk(2024, 3, 31, 12, 0), ms(2024, 3, 31, 11, 0));
        assert_eq!(uk(2024, 3, 30, 12, 0), ms(2024, 3, 30, 12, 0));
        assert_eq!(uk(2024, 10, 27, 12, 0), ms(2024, 10, 27, 12, 0));
        assert_eq!(uk(2024, 10, 26, 12, 0), ms(2024, 10, 26, 11, 0));
    }

    #[test]
    fn degrees_refuse_impossible_minutes() {
        assert_eq!(degrees(&[1.0, 30.0, 0.0]), Some(1.5));
        assert_eq!(degrees(&[1.0, 60.0, 0.0]), None);
        assert_eq!(degrees(&[1.0, 0.0]), None);
    }

    #[test]
    fn unset_dates_are_not_dates() {
        assert_eq!(date(0, 0, 0), None);
        assert_eq!(date(2026, 2, 30), None);
        assert!(date(2026, 2, 28).is_some());
    }
}
