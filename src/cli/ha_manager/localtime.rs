//! Local time for `ha-manager status` (06 §11.1): a Unix time formatted
//! like C's `ctime` without the newline (`Thu Apr  2 17:58:13 2026`), in
//! the zone the C library would use (`TZ`, else `/etc/localtime`). The
//! zone files (TZif, RFC 8536) and POSIX `TZ` rules are read here because
//! the crate has no libc binding; anything unreadable falls back to UTC.

use std::fs;

/// `%a %b %e %H:%M:%S %Y` of `ts` in local time.
pub fn ctime(ts: i64) -> String {
    let offset = Zone::from_env().offset_at(ts);
    format_utc_shifted(ts + offset)
}

/// Formats a time already shifted by the zone offset.
pub fn format_utc_shifted(t: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let wday = DAYS[usize::try_from(days.rem_euclid(7)).unwrap_or(0)];
    let month = MONTHS[usize::try_from(m - 1).unwrap_or(0).min(11)];
    format!(
        "{wday} {month} {d:>2} {:02}:{:02}:{:02} {y}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Days since 1970-01-01 → (year, month 1–12, day 1–31).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A time zone: transitions from a zone file and/or a POSIX rule.
#[derive(Debug, Clone, Default)]
struct Zone {
    /// (transition time, offset in effect from then on).
    transitions: Vec<(i64, i64)>,
    /// Offset before the first transition.
    initial: i64,
    /// Rule for times after the last transition (the TZif footer or `TZ`).
    rule: Option<Rule>,
}

impl Zone {
    fn from_env() -> Zone {
        match std::env::var("TZ") {
            Err(_) => Zone::from_file("/etc/localtime").unwrap_or_default(),
            Ok(tz) => {
                let tz = tz.strip_prefix(':').unwrap_or(&tz).to_string();
                if tz.is_empty() {
                    return Zone::default();
                }
                let path = if tz.starts_with('/') {
                    tz.clone()
                } else {
                    format!("/usr/share/zoneinfo/{tz}")
                };
                if !tz.contains("..") {
                    if let Some(z) = Zone::from_file(&path) {
                        return z;
                    }
                }
                Zone {
                    rule: Rule::parse(&tz),
                    ..Zone::default()
                }
            }
        }
    }

    fn from_file(path: &str) -> Option<Zone> {
        parse_tzif(&fs::read(path).ok()?)
    }

    /// The offset at `ts`: the last transition at or before it, the rule
    /// after the last transition (or when there are none), the initial
    /// offset before the first.
    fn offset_at(&self, ts: i64) -> i64 {
        let last = self.transitions.iter().rposition(|(t, _)| *t <= ts);
        let after_table = match last {
            Some(i) => i + 1 == self.transitions.len(),
            None => self.transitions.is_empty(),
        };
        match (&self.rule, last) {
            (Some(rule), _) if after_table => rule.offset_at(ts),
            (_, Some(i)) => self.transitions[i].1,
            (_, None) => self.initial,
        }
    }
}

fn be32(b: &[u8], at: usize) -> Option<i64> {
    let s: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(i64::from(i32::from_be_bytes(s)))
}

fn be64(b: &[u8], at: usize) -> Option<i64> {
    let s: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
    Some(i64::from_be_bytes(s))
}

/// Reads a TZif file; the 64-bit block and footer of version 2+ files are
/// preferred.
fn parse_tzif(b: &[u8]) -> Option<Zone> {
    if b.get(0..4)? != b"TZif" {
        return None;
    }
    let counts = |at: usize| -> Option<[usize; 6]> {
        let mut c = [0usize; 6];
        for (i, slot) in c.iter_mut().enumerate() {
            *slot = usize::try_from(be32(b, at + 20 + 4 * i)?).ok()?;
        }
        Some(c)
    };
    let [isut, isstd, leap, time, types, chars] = counts(0)?;
    let v1_len = time * 5 + types * 6 + chars + leap * 8 + isstd + isut;
    let (base, tsize) = if b[4] >= b'2' {
        (44 + v1_len, 8)
    } else {
        (0, 4)
    };
    let [isut, isstd, leap, time, types, chars] = counts(base)?;
    let mut at = base + 44;
    let read_time = |at: usize| if tsize == 8 { be64(b, at) } else { be32(b, at) };
    let mut times = Vec::with_capacity(time);
    for i in 0..time {
        times.push(read_time(at + i * tsize)?);
    }
    at += time * tsize;
    let idx: Vec<usize> = b
        .get(at..at + time)?
        .iter()
        .map(|&x| usize::from(x))
        .collect();
    at += time;
    let mut ttinfo = Vec::with_capacity(types);
    for i in 0..types {
        let off = be32(b, at + i * 6)?;
        let dst = *b.get(at + i * 6 + 4)? != 0;
        ttinfo.push((off, dst));
    }
    at += types * 6 + chars + leap * (tsize + 4) + isstd + isut;
    let initial = ttinfo
        .iter()
        .find(|(_, dst)| !dst)
        .or(ttinfo.first())
        .map_or(0, |t| t.0);
    let transitions = times
        .into_iter()
        .zip(idx)
        .filter_map(|(t, i)| ttinfo.get(i).map(|(off, _)| (t, *off)))
        .collect();
    let rule = if tsize == 8 {
        b.get(at..)
            .and_then(|f| std::str::from_utf8(f).ok())
            .and_then(|f| f.trim_matches('\n').lines().next().map(str::to_string))
            .and_then(|f| Rule::parse(&f))
    } else {
        None
    };
    Some(Zone {
        transitions,
        initial,
        rule,
    })
}

/// A POSIX `TZ` rule: standard offset and, optionally, daylight saving
/// time with its start and end (`Mm.w.d[/time]` or `Jn`/`n` days).
#[derive(Debug, Clone, PartialEq)]
struct Rule {
    std: i64,
    dst: Option<(i64, When, When)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum When {
    /// Month, week (5 = last), weekday; seconds after local midnight.
    Month(i64, i64, i64, i64),
    /// Julian day 1–365 without leap days; seconds.
    Julian(i64, i64),
    /// Zero-based day 0–365; seconds.
    Day(i64, i64),
}

impl Rule {
    fn parse(s: &str) -> Option<Rule> {
        let mut p = s;
        skip_name(&mut p)?;
        let std = -parse_offset(&mut p)?;
        if p.is_empty() {
            return Some(Rule { std, dst: None });
        }
        skip_name(&mut p)?;
        let dst_off = if p.starts_with(',') || p.is_empty() {
            std + 3600
        } else {
            -parse_offset(&mut p)?
        };
        let (start, end) = match p.strip_prefix(',') {
            Some(rest) => {
                let (a, b) = rest.split_once(',')?;
                (parse_when(a)?, parse_when(b)?)
            }
            None => (When::Month(3, 2, 0, 7200), When::Month(11, 1, 0, 7200)),
        };
        Some(Rule {
            std,
            dst: Some((dst_off, start, end)),
        })
    }

    fn offset_at(&self, ts: i64) -> i64 {
        let Some((dst, start, end)) = self.dst else {
            return self.std;
        };
        let (year, _, _) = civil_from_days((ts + self.std).div_euclid(86_400));
        let s = when_utc(start, year) - self.std;
        let e = when_utc(end, year) - dst;
        let in_dst = if s < e {
            ts >= s && ts < e
        } else {
            ts >= s || ts < e
        };
        if in_dst {
            dst
        } else {
            self.std
        }
    }
}

/// Local seconds since the epoch of a transition in `year`.
fn when_utc(w: When, year: i64) -> i64 {
    let jan1 = days_from_civil(year, 1, 1);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match w {
        When::Julian(n, t) => (jan1 + n - 1 + i64::from(leap && n >= 60)) * 86_400 + t,
        When::Day(n, t) => (jan1 + n) * 86_400 + t,
        When::Month(m, wk, wd, t) => {
            let first = days_from_civil(year, m, 1);
            let first_wd = (first + 4).rem_euclid(7);
            let mut day = first + (wd - first_wd).rem_euclid(7) + (wk - 1) * 7;
            let next = if m == 12 {
                days_from_civil(year + 1, 1, 1)
            } else {
                days_from_civil(year, m + 1, 1)
            };
            while day >= next {
                day -= 7;
            }
            day * 86_400 + t
        }
    }
}

fn skip_name(p: &mut &str) -> Option<()> {
    if let Some(rest) = p.strip_prefix('<') {
        let end = rest.find('>')?;
        *p = &rest[end + 1..];
        return Some(());
    }
    let n = p
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(p.len());
    if n < 3 {
        return None;
    }
    *p = &p[n..];
    Some(())
}

/// `[+-]hh[:mm[:ss]]` in seconds (POSIX sign: west of Greenwich positive).
fn parse_offset(p: &mut &str) -> Option<i64> {
    let (sign, rest) = match p.as_bytes().first() {
        Some(b'-') => (-1, &p[1..]),
        Some(b'+') => (1, &p[1..]),
        _ => (1, *p),
    };
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ':'))
        .unwrap_or(rest.len());
    let secs = hms(&rest[..end])?;
    *p = &rest[end..];
    Some(sign * secs)
}

fn hms(s: &str) -> Option<i64> {
    let mut total = 0;
    let mut parts = s.split(':');
    for mult in [3600, 60, 1] {
        match parts.next() {
            Some(x) if !x.is_empty() => total += x.parse::<i64>().ok()? * mult,
            Some(_) => return None,
            None => break,
        }
    }
    Some(total)
}

fn parse_when(s: &str) -> Option<When> {
    let (date, time) = match s.split_once('/') {
        Some((d, t)) => {
            let neg = t.starts_with('-');
            let v = hms(t.trim_start_matches(['-', '+']))?;
            (d, if neg { -v } else { v })
        }
        None => (s, 7200),
    };
    if let Some(m) = date.strip_prefix('M') {
        let mut it = m.split('.').map(|x| x.parse::<i64>().ok());
        let (mo, wk, wd) = (it.next()??, it.next()??, it.next()??);
        return Some(When::Month(mo, wk, wd, time));
    }
    if let Some(j) = date.strip_prefix('J') {
        return Some(When::Julian(j.parse().ok()?, time));
    }
    Some(When::Day(date.parse().ok()?, time))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctime_layout() {
        assert_eq!(format_utc_shifted(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(
            format_utc_shifted(1_479_899_243),
            "Wed Nov 23 11:07:23 2016"
        );
        assert_eq!(
            format_utc_shifted(1_775_152_693),
            "Thu Apr  2 17:58:13 2026"
        );
    }

    #[test]
    fn posix_rules() {
        let r = Rule::parse("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        // 2016-11-23 is winter time (+1 h), 2016-07-01 summer time (+2 h).
        assert_eq!(r.offset_at(1_479_899_243), 3600);
        assert_eq!(r.offset_at(1_467_331_200), 7200);
        assert_eq!(Rule::parse("UTC0").map(|r| r.offset_at(0)), Some(0));
        assert_eq!(Rule::parse("EST5").map(|r| r.offset_at(0)), Some(-18_000));
        assert!(Rule::parse("x").is_none());
    }

    #[test]
    fn garbage_zone_files_are_refused() {
        assert!(parse_tzif(b"TZif2").is_none());
        assert!(parse_tzif(b"nope").is_none());
    }
}
