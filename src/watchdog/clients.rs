//! The client table: who is connected, when each last wrote, who was
//! warned, and whether the last byte was the magic `V` (07 §5.4, §5.5).
//! Pure bookkeeping on monotonic instants, so the thresholds are unit
//! tested without waiting a minute. The thresholds come from the
//! [`MuxTiming`] the table is made with.

use std::collections::BTreeMap;
use std::time::Instant;

use super::{MuxTiming, MAGIC_CLOSE, MAX_CLIENTS};

/// Identifies a connection for its whole life (also after an unclean
/// disconnect, when its descriptor number may already be reused).
pub type Token = u64;

/// Warning state of one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Warning {
    None,
    /// Idle for more than [`MuxTiming::warn_after`].
    Warned,
    /// Wrote again after a warning.
    Averted,
}

/// One slot.
#[derive(Debug, Clone)]
pub struct Client {
    /// Peer pid (0 when unknown).
    pub pid: i32,
    pub last_update: Instant,
    pub warning: Warning,
    /// The last byte received was `V`.
    pub magic: bool,
    /// Still connected; false after a disconnect without `V` (the slot
    /// then stays and keeps counting as active).
    pub connected: bool,
}

/// What a tick found about one client, in the order to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finding {
    /// `client (PID <pid>) watchdog was updated before expiring`
    Averted(i32),
    /// `client (PID <pid>) watchdog is about to expire`
    AboutToExpire(i32),
    /// `client (PID <pid>) watchdog expired - disable watchdog updates`
    Expired(i32),
}

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Departure {
    /// Last byte `V`: the slot is freed.
    Clean(i32),
    /// Anything else: the slot stays, pinging must stop.
    Unclean(i32),
}

/// Full table: upstream's slot allocation fails (07 §5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableFull;

/// All slots, in connection order. `Default` counts with upstream's
/// thresholds.
#[derive(Debug, Default)]
pub struct Clients {
    slots: BTreeMap<Token, Client>,
    next: Token,
    timing: MuxTiming,
}

impl Clients {
    /// An empty table that warns and expires clients by `timing`.
    pub fn new(timing: MuxTiming) -> Clients {
        Clients {
            timing,
            ..Clients::default()
        }
    }

    /// Adds a freshly connected client; connecting arms its timer.
    pub fn add(&mut self, pid: i32, now: Instant) -> Result<Token, TableFull> {
        if self.slots.len() >= MAX_CLIENTS {
            return Err(TableFull);
        }
        let token = self.next;
        self.next += 1;
        self.slots.insert(
            token,
            Client {
                pid,
                last_update: now,
                warning: Warning::None,
                magic: false,
                connected: true,
            },
        );
        Ok(token)
    }

    /// Bytes arrived: the client is fed, and the last byte decides
    /// whether a following end of stream is a clean goodbye.
    pub fn data(&mut self, token: Token, bytes: &[u8], now: Instant) {
        if let (Some(c), Some(&last)) = (self.slots.get_mut(&token), bytes.last()) {
            c.last_update = now;
            c.magic = last == MAGIC_CLOSE;
        }
    }

    /// The connection ended.
    pub fn disconnect(&mut self, token: Token) -> Option<Departure> {
        let c = self.slots.get_mut(&token)?;
        if c.magic {
            let pid = c.pid;
            self.slots.remove(&token);
            Some(Departure::Clean(pid))
        } else {
            c.connected = false;
            Some(Departure::Unclean(c.pid))
        }
    }

    /// The per-second check (07 §5.5 steps 1–3) for every slot, connected
    /// or not. Idleness counts whole seconds, thresholds are "strictly
    /// more than".
    pub fn check(&mut self, now: Instant) -> Vec<Finding> {
        let MuxTiming {
            client_timeout,
            warn_after,
            ..
        } = self.timing;
        let mut out = Vec::new();
        for c in self.slots.values_mut() {
            let idle = now.saturating_duration_since(c.last_update).as_secs();
            if c.warning == Warning::Warned && idle <= warn_after {
                c.warning = Warning::Averted;
                out.push(Finding::Averted(c.pid));
            }
            if c.warning != Warning::Warned && idle > warn_after {
                c.warning = Warning::Warned;
                out.push(Finding::AboutToExpire(c.pid));
            }
            if idle > client_timeout {
                out.push(Finding::Expired(c.pid));
            }
        }
        out
    }

    /// Some slot counts as active (connected, or gone without `V`).
    pub fn any_active(&self) -> bool {
        !self.slots.is_empty()
    }

    pub fn get(&self, token: Token) -> Option<&Client> {
        self.slots.get(&token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::budget::Budget;
    use std::time::Duration;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn thresholds_are_strictly_more_than_whole_seconds() {
        let t0 = Instant::now();
        let mut c = Clients::default();
        c.add(42, t0).unwrap();
        assert!(c.check(t0 + secs(50)).is_empty());
        assert!(c
            .check(t0 + secs(50) + Duration::from_millis(999))
            .is_empty());
        assert_eq!(c.check(t0 + secs(51)), [Finding::AboutToExpire(42)]);
        assert!(c
            .check(t0 + secs(60) + Duration::from_millis(999))
            .is_empty());
        assert_eq!(c.check(t0 + secs(61)), [Finding::Expired(42)]);
    }

    #[test]
    fn an_update_after_the_warning_averts_it_once() {
        let t0 = Instant::now();
        let mut c = Clients::default();
        let k = c.add(7, t0).unwrap();
        assert_eq!(c.check(t0 + secs(52)), [Finding::AboutToExpire(7)]);
        c.data(k, b"\0", t0 + secs(55));
        assert_eq!(c.check(t0 + secs(56)), [Finding::Averted(7)]);
        assert!(c.check(t0 + secs(57)).is_empty());
        // Warned again on the next long silence.
        assert_eq!(c.check(t0 + secs(106)), [Finding::AboutToExpire(7)]);
    }

    #[test]
    fn a_client_silent_past_both_thresholds_in_one_step_is_warned_and_expired() {
        let t0 = Instant::now();
        let mut c = Clients::default();
        c.add(1, t0).unwrap();
        assert_eq!(
            c.check(t0 + secs(70)),
            [Finding::AboutToExpire(1), Finding::Expired(1)]
        );
    }

    #[test]
    fn only_a_final_v_is_a_clean_goodbye() {
        let t0 = Instant::now();
        let mut c = Clients::default();
        let a = c.add(1, t0).unwrap();
        let b = c.add(2, t0).unwrap();
        let d = c.add(3, t0).unwrap();
        c.data(a, b"\0V", t0);
        c.data(b, b"V\0", t0);
        c.data(d, b"V", t0);
        c.data(d, b"", t0); // an empty read changes nothing
        assert_eq!(c.disconnect(a), Some(Departure::Clean(1)));
        assert_eq!(c.disconnect(b), Some(Departure::Unclean(2)));
        assert_eq!(c.disconnect(d), Some(Departure::Clean(3)));
        // The unclean one still counts and is still checked.
        assert!(c.any_active());
        assert_eq!(c.get(b).map(|x| x.connected), Some(false));
        assert_eq!(
            c.check(t0 + secs(61)),
            [Finding::AboutToExpire(2), Finding::Expired(2)]
        );
    }

    /// A short budget: client timeout 8 s warns from 7 s on
    /// (`Budget::warn_after`), expires from 8 s on, still "strictly more
    /// than" whole seconds.
    #[test]
    fn a_short_budget_scales_both_thresholds() {
        let b = Budget {
            client_timeout: 8,
            ..Budget::plain_linux()
        };
        assert_eq!(b.warn_after(), 7);
        let t0 = Instant::now();
        let mut c = Clients::new(MuxTiming::from_budget(&b));
        let k = c.add(5, t0).unwrap();
        assert!(c
            .check(t0 + secs(7) + Duration::from_millis(999))
            .is_empty());
        assert_eq!(c.check(t0 + secs(8)), [Finding::AboutToExpire(5)]);
        c.data(k, b"\0", t0 + secs(8));
        assert_eq!(c.check(t0 + secs(9)), [Finding::Averted(5)]);
        // Fed at 8 s: warned again once idle for 8 s, expired at 9 s.
        assert!(c
            .check(t0 + secs(15) + Duration::from_millis(999))
            .is_empty());
        assert_eq!(c.check(t0 + secs(16)), [Finding::AboutToExpire(5)]);
        assert_eq!(c.check(t0 + secs(17)), [Finding::Expired(5)]);
    }

    #[test]
    fn tiny_client_timeouts_still_warn_a_second_before() {
        let t0 = Instant::now();
        for (timeout, warn) in [(3, 2), (5, 4), (12, 10), (19, 16), (20, 10), (30, 20)] {
            let b = Budget {
                client_timeout: timeout,
                ..Budget::plain_linux()
            };
            assert_eq!(b.warn_after(), warn, "client timeout {timeout}");
            let mut c = Clients::new(MuxTiming::from_budget(&b));
            c.add(9, t0).unwrap();
            let (w, t) = (warn as u64, timeout as u64);
            assert!(c.check(t0 + secs(w)).is_empty(), "timeout {timeout}");
            assert_eq!(c.check(t0 + secs(w + 1)), [Finding::AboutToExpire(9)]);
            if t > w + 1 {
                assert!(c.check(t0 + secs(t)).is_empty(), "timeout {timeout}");
            }
            assert_eq!(c.check(t0 + secs(t + 1)), [Finding::Expired(9)]);
        }
    }

    #[test]
    fn the_table_holds_98_clients() {
        let t0 = Instant::now();
        let mut c = Clients::default();
        for pid in 0..MAX_CLIENTS {
            c.add(pid as i32, t0).unwrap();
        }
        assert_eq!(c.add(99, t0), Err(TableFull));
        assert_eq!(MAX_CLIENTS, 98);
    }
}
