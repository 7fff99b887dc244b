//! The three durations watchdog-mux enforces: when a silent client is
//! warned, when it expires, and the timeout asked of the device. Upstream
//! fixes them (60 s, 50 s, 10 s; 07 §5.2); another backend takes them
//! from its failover budget (07 §10.1), whose safety check
//! (`Budget::check`) the caller has already passed.

use crate::config::budget::Budget;

use super::{CLIENT_TIMEOUT_SECS, CLIENT_WARN_SECS, DEVICE_TIMEOUT_SECS};

/// What the server and the client table count with, in whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MuxTiming {
    /// A client idle for strictly more than this expires.
    pub client_timeout: u64,
    /// A client idle for strictly more than this is warned.
    pub warn_after: u64,
    /// Timeout set on a real watchdog device at start (the ioctl takes
    /// an `int`); a recording device ignores it.
    pub device_timeout: i32,
}

impl MuxTiming {
    /// Upstream's constants: the `pve` backend and the default.
    pub const fn upstream() -> MuxTiming {
        MuxTiming {
            client_timeout: CLIENT_TIMEOUT_SECS,
            warn_after: CLIENT_WARN_SECS,
            device_timeout: DEVICE_TIMEOUT_SECS,
        }
    }

    /// The node's budget: its client and device timeouts, and the warning
    /// threshold `Budget::warn_after` scales for short client timeouts.
    /// A negative client value (the parser admits only 1–3600 s) counts
    /// as 0, which fences sooner, never later; the device gets at least
    /// 1 s.
    pub fn from_budget(b: &Budget) -> MuxTiming {
        let secs = |v: i64| u64::try_from(v).unwrap_or(0);
        MuxTiming {
            client_timeout: secs(b.client_timeout),
            warn_after: secs(b.warn_after()),
            device_timeout: i32::try_from(b.device_timeout.clamp(1, i64::from(i32::MAX)))
                .unwrap_or(i32::MAX),
        }
    }
}

impl Default for MuxTiming {
    fn default() -> Self {
        MuxTiming::upstream()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_budget_gives_upstream_constants() {
        assert_eq!(
            MuxTiming::from_budget(&Budget::upstream()),
            MuxTiming::upstream()
        );
        assert_eq!(
            MuxTiming::upstream(),
            MuxTiming {
                client_timeout: 60,
                warn_after: 50,
                device_timeout: 10
            }
        );
    }

    #[test]
    fn plain_linux_budget_is_taken_over() {
        let t = MuxTiming::from_budget(&Budget::plain_linux());
        assert_eq!(
            t,
            MuxTiming {
                client_timeout: 7,
                warn_after: 6,
                device_timeout: 4
            }
        );
    }

    #[test]
    fn nonsense_values_fence_sooner() {
        let b = Budget {
            client_timeout: -5,
            device_timeout: 0,
            ..Budget::plain_linux()
        };
        let t = MuxTiming::from_budget(&b);
        assert_eq!(
            (t.client_timeout, t.warn_after, t.device_timeout),
            (0, 0, 1)
        );
    }
}
