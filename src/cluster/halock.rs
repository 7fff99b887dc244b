//! The HA lock operation (07 §4.5, upstream's `get_pve_lock`) for
//! `ha_manager_lock` and `ha_agent_<node>_lock`, over the store's lock
//! primitives (07 §4.2: mkdir, mtime renewal, unlock request, rmdir;
//! all refused without quorum). The per-process memory of each lock —
//! when this process last held it and whether it held it at the last
//! call — lives in [`HaLocks`], one per daemon process.

use std::collections::BTreeMap;

use crate::env::{LogLevel, Time};

use super::store::ClusterStore;

/// pmxcfs's lock lifetime (07 §4.3): within it the holder renews, after
/// it the holder has to take the lock afresh.
pub const LOCK_LIFETIME: Time = 120;

#[derive(Debug, Clone, Copy, Default)]
struct Memory {
    lock_time: Time,
    got_lock: bool,
}

/// A line the lock operation logs on a transition (07 §4.5 step 6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockEvent {
    /// `info` on acquisition, `err` on loss.
    pub level: LogLevel,
    /// The text, upstream's (including the missing closing quote).
    pub message: String,
}

/// The per-process memory of the HA locks.
#[derive(Debug, Default)]
pub struct HaLocks {
    memory: BTreeMap<String, Memory>,
}

impl HaLocks {
    /// No lock held yet.
    pub fn new() -> Self {
        HaLocks::default()
    }

    /// Acquires or renews `name` at `now` (07 §4.5 steps 1–7). Returns
    /// whether the lock is held and the transition line to log, if any.
    pub fn get(
        &mut self,
        store: &dyn ClusterStore,
        name: &str,
        now: Time,
    ) -> (bool, Option<LockEvent>) {
        let mem = self.memory.entry(name.to_string()).or_default();
        let result: Result<(), String> = if !store.ensure_lock_dir() {
            Err(format!(
                "can't create '{}' (pmxcfs not mounted?)",
                store.path_of(super::paths::LOCK_DIR)
            ))
        } else if now - mem.lock_time < store.lock_lifetime() {
            store
                .lock_renew(name, now)
                .map_err(|e| format!("cfs lock update failed - {e}"))
        } else {
            match store.lock_create(name) {
                Ok(()) => Ok(()),
                Err(_) => {
                    store.lock_unlock_request(name);
                    Err("can't get cfs lock".to_string())
                }
            }
        };
        let got = result.is_ok();
        let event = match (mem.got_lock, &result) {
            (false, Ok(())) => Some(LockEvent {
                level: LogLevel::Info,
                message: format!("successfully acquired lock '{name}'"),
            }),
            (true, Err(reason)) => Some(LockEvent {
                level: LogLevel::Err,
                message: format!("lost lock '{name} - {reason}"),
            }),
            _ => None,
        };
        mem.got_lock = got;
        if got {
            mem.lock_time = now;
        }
        (got, event)
    }

    /// Releases `name`: forgets the memory (the next acquisition takes the
    /// mkdir path and logs again), then removes the directory.
    pub fn release(&mut self, store: &dyn ClusterStore, name: &str) -> bool {
        self.memory.remove(name);
        store.lock_remove(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::PmxcfsStore;
    use std::fs;

    /// Lock times are compared with the directory's mtime (a renewal may
    /// not go back in time), so the tests' clock starts at the real one.
    fn t0() -> Time {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as Time)
            .unwrap_or(0)
    }

    fn store(name: &str, quorate: u8) -> PmxcfsStore {
        let dir = std::env::temp_dir().join(format!("pve-ha-halock-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let s = PmxcfsStore::new(dir);
        set_quorum(&s, quorate);
        s
    }

    fn set_quorum(s: &PmxcfsStore, quorate: u8) {
        fs::write(
            s.root().join(".members"),
            format!(r#"{{"nodename":"n1","version":1,"cluster":{{"name":"c","version":1,"nodes":2,"quorate":{quorate}}},"nodelist":{{}}}}"#),
        )
        .unwrap();
    }

    #[test]
    fn acquire_renew_lose_and_release() {
        let s = store("cycle", 1);
        let mut locks = HaLocks::new();
        let t = t0();
        let (got, ev) = locks.get(&s, "ha_manager_lock", t);
        assert!(got);
        assert_eq!(
            ev.unwrap().message,
            "successfully acquired lock 'ha_manager_lock'"
        );
        assert!(s.root().join("priv/lock/ha_manager_lock").is_dir());
        // Renewal: no line.
        assert_eq!(locks.get(&s, "ha_manager_lock", t + 10), (true, None));
        // Without quorum the renewal fails: one err line, then silence.
        set_quorum(&s, 0);
        let (got, ev) = locks.get(&s, "ha_manager_lock", t + 20);
        assert!(!got);
        let ev = ev.unwrap();
        assert_eq!(ev.level, LogLevel::Err);
        assert_eq!(
            ev.message,
            "lost lock 'ha_manager_lock - cfs lock update failed - Permission denied"
        );
        assert_eq!(locks.get(&s, "ha_manager_lock", t + 21), (false, None));
        set_quorum(&s, 1);
        assert!(locks.get(&s, "ha_manager_lock", t + 30).0);
        assert!(locks.release(&s, "ha_manager_lock"));
        assert!(!s.root().join("priv/lock/ha_manager_lock").exists());
        let _ = fs::remove_dir_all(s.root());
    }

    #[test]
    fn a_fresh_process_waits_for_expiry() {
        let s = store("expiry", 1);
        let t = t0();
        let mut first = HaLocks::new();
        assert!(first.get(&s, "ha_agent_n2_lock", t).0);
        // Another process (fresh memory) takes the mkdir path: refused,
        // and its unlock request does not delete a young lock.
        let mut second = HaLocks::new();
        assert_eq!(second.get(&s, "ha_agent_n2_lock", t + 1), (false, None));
        assert!(s.root().join("priv/lock/ha_agent_n2_lock").is_dir());
        // Age the directory beyond 120 s: the unlock request removes it,
        // the next attempt succeeds.
        let dir = fs::File::open(s.root().join("priv/lock/ha_agent_n2_lock")).unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(200);
        dir.set_times(fs::FileTimes::new().set_modified(old))
            .unwrap();
        assert_eq!(second.get(&s, "ha_agent_n2_lock", t + 2), (false, None));
        let (got, ev) = second.get(&s, "ha_agent_n2_lock", t + 3);
        assert!(got);
        assert_eq!(ev.unwrap().level, LogLevel::Info);
        // A renewal that would move the mtime back is refused (07 §4.2).
        let (got, ev) = first.get(&s, "ha_agent_n2_lock", t - 50);
        assert!(!got);
        assert_eq!(
            ev.unwrap().message,
            "lost lock 'ha_agent_n2_lock - cfs lock update failed - Permission denied"
        );
        let _ = fs::remove_dir_all(s.root());
    }

    #[test]
    fn without_the_lock_dir_the_reason_names_it() {
        let s = store("nodir", 0);
        let mut locks = HaLocks::new();
        let t = t0();
        assert_eq!(locks.get(&s, "ha_manager_lock", t), (false, None));
        // Only a loss after a success logs; simulate one.
        set_quorum(&s, 1);
        assert!(locks.get(&s, "ha_manager_lock", t + 1).0);
        fs::remove_dir_all(s.root().join("priv")).unwrap();
        set_quorum(&s, 0);
        let (_, ev) = locks.get(&s, "ha_manager_lock", t + 2);
        let msg = ev.unwrap().message;
        assert!(msg.ends_with("/priv/lock' (pmxcfs not mounted?)"), "{msg}");
        let _ = fs::remove_dir_all(s.root());
    }
}
