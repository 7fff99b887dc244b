//! The live simulator's clock: wall-clock time, optionally running faster
//! than real time (`--speed N`), as epoch seconds like the real
//! environment's clock, plus the local `HH:MM:SS` the interactive log
//! shows (01 §10).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::env::Time;

/// A virtual wall clock: starts at the real time and runs `speed` times
/// faster. Cheap to clone; every clone reads the same time.
#[derive(Debug, Clone, Copy)]
pub struct LiveClock {
    origin: Instant,
    epoch: f64,
    speed: f64,
}

impl LiveClock {
    /// A clock starting now, `speed` times faster than real time (values
    /// that are not finite and positive mean 1).
    pub fn new(speed: f64) -> Self {
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        LiveClock {
            origin: Instant::now(),
            epoch,
            speed: if speed.is_finite() && speed > 0.0 {
                speed
            } else {
                1.0
            },
        }
    }

    /// How much faster than real time the clock runs.
    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// The current time in (virtual) seconds since the epoch, with
    /// fractions.
    pub fn now_f64(&self) -> f64 {
        self.epoch + self.origin.elapsed().as_secs_f64() * self.speed
    }

    /// The current time in whole seconds, what the daemons see.
    pub fn now(&self) -> Time {
        self.now_f64().floor() as Time
    }

    /// The real duration of `secs` virtual seconds (0 for negative).
    pub fn real(&self, secs: f64) -> Duration {
        Duration::from_secs_f64((secs / self.speed).max(0.0))
    }
}

/// `t` (epoch seconds) as local `HH:MM:SS`, the time column of the
/// interactive log.
pub fn local_hms(t: Time) -> String {
    crate::sys::localtime::hms(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_scales_time() {
        let c = LiveClock::new(100.0);
        let a = c.now_f64();
        std::thread::sleep(Duration::from_millis(50));
        let b = c.now_f64();
        assert!(b - a >= 4.5, "50 ms at speed 100 is 5 s, got {}", b - a);
        assert_eq!(c.real(10.0), Duration::from_millis(100));
        assert_eq!(c.real(-1.0), Duration::ZERO);
        assert_eq!(LiveClock::new(f64::NAN).speed(), 1.0);
        assert_eq!(LiveClock::new(0.0).speed(), 1.0);
    }

    #[test]
    fn time_of_day_format() {
        let s = local_hms(0);
        assert_eq!(s.len(), 8);
        assert_eq!(&s[2..3], ":");
        assert!(local_hms(86_399).ends_with(":59"));
    }
}
