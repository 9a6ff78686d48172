//! Timestamps: milliseconds since the Unix epoch, written as ISO-8601 UTC
//! with milliseconds (`2024-02-17T13:46:40.000Z`). Pure arithmetic, no clock.

/// Milliseconds since 1970-01-01T00:00:00Z.
pub type TimestampMs = i64;

/// Formats `ms` as `YYYY-MM-DDTHH:MM:SS.mmmZ` (proleptic Gregorian, UTC).
pub fn iso8601_ms(ms: TimestampMs) -> String {
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (sod / 3600, (sod % 3600) / 60, sod % 60);
    if !(0..=9999).contains(&y) {
        return format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{milli:03}Z");
    }
    // Every event and answer carries one. With `format!` it was 1.7 % of
    // the engine thread's samples, written digit by digit under 0.5 %
    // (BENCHMARKS.md §17).
    let mut text = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut value: i64| {
        for i in (at..at + width).rev() {
            text[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, y);
    put(5, 2, m);
    put(8, 2, d);
    put(11, 2, hh);
    put(14, 2, mm);
    put(17, 2, ss);
    put(20, 3, milli);
    text.iter().map(|&b| char::from(b)).collect()
}

/// The UTC calendar date of `ms` as `YYYY-MM-DD`.
pub fn iso_date(ms: TimestampMs) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(86_400_000));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD` → its UTC midnight in ms; the date must exist.
pub fn parse_date_ms(text: &str) -> Result<TimestampMs, String> {
    let bad = || format!("`{text}` is not a date YYYY-MM-DD");
    let mut parts = text.trim().splitn(3, '-').map(|p| p.parse::<i64>());
    let (Some(Ok(y)), Some(Ok(m)), Some(Ok(d))) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let days = days_from_civil(y, m, d);
    if !(1..=12).contains(&m) || civil_from_days(days) != (y, m, d) {
        return Err(bad());
    }
    Ok(days * 86_400_000)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` (as `iso8601_ms` writes it) → ms.
pub fn parse_iso8601_ms(text: &str) -> Result<TimestampMs, String> {
    let bad = || format!("`{text}` is not a time YYYY-MM-DDTHH:MM:SS.mmmZ");
    let (date, rest) = text.split_once('T').ok_or_else(bad)?;
    let day = parse_date_ms(date).map_err(|_| bad())?;
    let rest = rest.strip_suffix('Z').ok_or_else(bad)?;
    let (hms, milli) = rest.split_once('.').ok_or_else(bad)?;
    let mut parts = hms.splitn(3, ':').map(|p| p.parse::<i64>());
    let (Some(Ok(h)), Some(Ok(m)), Some(Ok(s))) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let milli: i64 = match milli.len() {
        3 => milli.parse().map_err(|_| bad())?,
        _ => return Err(bad()),
    };
    if !(0..24).contains(&h) || !(0..60).contains(&m) || !(0..60).contains(&s) || milli < 0 {
        return Err(bad());
    }
    Ok(day + ((h * 60 + m) * 60 + s) * 1000 + milli)
}

/// (year, month, day) → days since the epoch; H. Hinnant's algorithm.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since the epoch → (year, month, day); H. Hinnant's algorithm.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(iso8601_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601_ms(1_708_177_600_000), "2024-02-17T13:46:40.000Z");
        assert_eq!(iso8601_ms(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(iso8601_ms(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(iso_date(1_708_177_600_000), "2024-02-17");
    }

    #[test]
    fn writes_digits_as_format_would() {
        let by_format = |ms: i64| {
            let (secs, milli) = (ms.div_euclid(1000), ms.rem_euclid(1000));
            let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
            let sod = secs.rem_euclid(86_400);
            let (hh, mm, ss) = (sod / 3600, (sod % 3600) / 60, sod % 60);
            format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{milli:03}Z")
        };
        let mut ms = -62_167_219_200_000; // 0000-01-01
        while ms < 253_402_300_800_000 + 86_400_000 {
            for at in [ms, ms + 1, ms + 59_999, ms + 86_399_999] {
                assert_eq!(iso8601_ms(at), by_format(at), "{at}");
            }
            ms += 7_777_777_777;
        }
        // Outside years 0–9999 the text is `format!`'s own.
        assert_eq!(
            iso8601_ms(-62_167_219_200_001),
            by_format(-62_167_219_200_001)
        );
        assert_eq!(iso8601_ms(253_402_300_800_000), "10000-01-01T00:00:00.000Z");
    }

    #[test]
    fn parses_dates_back() {
        assert_eq!(parse_date_ms("1970-01-01"), Ok(0));
        assert_eq!(parse_date_ms("2024-02-17"), Ok(1_708_128_000_000));
        assert_eq!(parse_date_ms("2000-02-29"), Ok(951_782_400_000));
        for bad in ["2023-02-29", "2024-13-01", "2024-1", "x"] {
            assert!(parse_date_ms(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_what_it_writes() {
        for ms in [0, 1_708_177_600_000, 951_782_400_123, 1_795_000_000_999] {
            assert_eq!(parse_iso8601_ms(&iso8601_ms(ms)), Ok(ms));
        }
        for bad in [
            "2024-02-17T13:46:40Z",
            "2024-02-17T24:00:00.000Z",
            "2024-02-17T13:46:40.000",
            "2024-02-17 13:46:40.000Z",
            "2024-02-17T13:46:40.0000Z",
        ] {
            assert!(parse_iso8601_ms(bad).is_err(), "{bad}");
        }
    }
}
