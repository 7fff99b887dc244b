//! Local time, the one place that asks the C library for it: the
//! `ctime`-like text of `ha-manager status` (06 §11.1, `Thu Apr  2
//! 17:58:13 2026`) and the `HH:MM:SS` column of the interactive
//! simulator's log. The zone is the C library's (`TZ`, else
//! `/etc/localtime`), and its own `localtime_r` does the zone work, so the
//! output follows exactly the rules upstream's Perl (`localtime`) follows.

use std::sync::Once;

extern "C" {
    /// POSIX `tzset` (not bound by the libc crate on Unix): reads `TZ`.
    fn tzset();
}

/// `ts` broken down in local time, or in UTC when the C library cannot
/// convert it to local time; `None` when not even that works.
fn local_or_utc(ts: i64) -> Option<libc::tm> {
    static TZSET: Once = Once::new();
    // SAFETY: `tzset` takes no arguments and only initialises the C
    // library's zone state; `Once` keeps it to one call in this process
    // (`localtime_r`, unlike `localtime`, need not read `TZ` itself).
    TZSET.call_once(|| unsafe { tzset() });
    broken_down(ts, libc::localtime_r).or_else(|| broken_down(ts, libc::gmtime_r))
}

/// `%a %b %e %H:%M:%S %Y` of `ts` in local time; UTC when the C library
/// cannot convert it, the plain number when not even that works.
pub fn ctime(ts: i64) -> String {
    local_or_utc(ts).map_or_else(|| ts.to_string(), |tm| format_tm(&tm))
}

/// `%H:%M:%S` of `ts` in local time (UTC when the C library cannot
/// convert it), the time column of the interactive simulator's log.
pub fn hms(ts: i64) -> String {
    let (h, m, s) = match local_or_utc(ts) {
        Some(tm) => (
            i64::from(tm.tm_hour),
            i64::from(tm.tm_min),
            i64::from(tm.tm_sec),
        ),
        None => {
            let day = ts.rem_euclid(86_400);
            (day / 3600, day % 3600 / 60, day % 60)
        }
    };
    format!("{h:02}:{m:02}:{s:02}")
}

/// The `ctime` text of `t` in UTC: what [`ctime`] prints under `TZ=UTC`
/// (the golden tests' transcripts).
pub fn format_utc_shifted(t: i64) -> String {
    broken_down(t, libc::gmtime_r).map_or_else(|| t.to_string(), |tm| format_tm(&tm))
}

/// The signature shared by `localtime_r` and `gmtime_r`.
type Convert = unsafe extern "C" fn(*const libc::time_t, *mut libc::tm) -> *mut libc::tm;

/// Runs a reentrant C conversion of `ts`; `None` when `ts` does not fit
/// `time_t` or the year does not fit the C `int`.
fn broken_down(ts: i64, convert: Convert) -> Option<libc::tm> {
    let t = libc::time_t::try_from(ts).ok()?;
    // SAFETY: the `_r` variants write only the `tm` we own and read only
    // `t`; an all-zero `tm` (integers and a null zone name pointer) is a
    // valid value to hand them.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        (!convert(&t, &mut tm).is_null()).then_some(tm)
    }
}

/// `ctime`'s layout of broken-down time.
fn format_tm(tm: &libc::tm) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let name = |names: &[&'static str], i: libc::c_int| {
        usize::try_from(i)
            .ok()
            .and_then(|i| names.get(i).copied())
            .unwrap_or("???")
    };
    format!(
        "{} {} {:>2} {:02}:{:02}:{:02} {}",
        name(&DAYS, tm.tm_wday),
        name(&MONTHS, tm.tm_mon),
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        i64::from(tm.tm_year) + 1900
    )
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
        assert_eq!(format_utc_shifted(-1), "Wed Dec 31 23:59:59 1969");
    }

    /// Marks the child run of [`zones_follow_tz`].
    const CHILD: &str = "PVE_HA_LOCALTIME_CHILD";

    /// The times the child prints.
    const TIMES: [i64; 3] = [0, 1_479_899_243, 1_467_331_200];

    /// In the child process only: prints `ctime` of [`TIMES`] under the
    /// `TZ` the parent set.
    #[test]
    fn child_prints_ctime() {
        if std::env::var_os(CHILD).is_some() {
            for t in TIMES {
                println!("ctime {t} = {}", ctime(t));
                println!("hms {t} = {}", hms(t));
            }
        }
    }

    /// `ctime` under `tz`, read from a child run of this test binary (the
    /// zone is process-wide state; setting `TZ` here would race with the
    /// other tests).
    fn ctimes_under(tz: &str) -> Vec<String> {
        lines_under(tz, "ctime")
    }

    /// The child's lines of one kind (`ctime` or `hms`) under `tz`.
    fn lines_under(tz: &str, kind: &str) -> Vec<String> {
        let exe = std::env::current_exe().expect("test binary path");
        let out = std::process::Command::new(exe)
            .args([
                "--exact",
                "sys::localtime::tests::child_prints_ctime",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("TZ", tz)
            .env(CHILD, "1")
            .output()
            .expect("child test run");
        let stdout = String::from_utf8_lossy(&out.stdout);
        TIMES
            .iter()
            .map(|t| {
                let prefix = format!("{kind} {t} = ");
                stdout
                    .lines()
                    // libtest may print its own text before ours.
                    .find_map(|l| l.split_once(&prefix).map(|(_, text)| text))
                    .unwrap_or_else(|| panic!("no line for {t} under TZ={tz}:\n{stdout}"))
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn zones_follow_tz() {
        let utc = [
            "Thu Jan  1 00:00:00 1970",
            "Wed Nov 23 11:07:23 2016",
            "Fri Jul  1 00:00:00 2016",
        ];
        assert_eq!(ctimes_under("UTC"), utc);
        assert_eq!(ctimes_under(""), utc);
        // Winter (+1 h) and summer (+2 h) time, from a POSIX rule that
        // needs no zone files.
        let vienna = [
            "Thu Jan  1 01:00:00 1970",
            "Wed Nov 23 12:07:23 2016",
            "Fri Jul  1 02:00:00 2016",
        ];
        assert_eq!(ctimes_under("CET-1CEST,M3.5.0,M10.5.0/3"), vienna);
        assert_eq!(
            lines_under("CET-1CEST,M3.5.0,M10.5.0/3", "hms"),
            ["01:00:00", "12:07:23", "02:00:00"]
        );
        assert_eq!(
            lines_under("UTC", "hms"),
            ["00:00:00", "11:07:23", "00:00:00"]
        );
        assert_eq!(
            ctimes_under("EST5")[0],
            "Wed Dec 31 19:00:00 1969".to_string()
        );
        if std::path::Path::new("/usr/share/zoneinfo/Europe/Vienna").exists() {
            assert_eq!(ctimes_under("Europe/Vienna"), vienna);
            assert_eq!(ctimes_under(":Europe/Vienna"), vienna);
        } else {
            eprintln!("notice: no tzdata; Europe/Vienna not checked");
        }
    }
}
