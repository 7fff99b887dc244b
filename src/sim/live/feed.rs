//! What the page watches: the last log lines, the timeline events and the
//! latest state snapshot, each with a sequence number, behind one lock with
//! a condition variable so that every event-stream client can wait for
//! "anything newer than what I sent".

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::Serialize;

/// Log lines kept for new page clients and `GET /api/log`. The page shows
/// about the last 100 (01 §10); a few more let a client that reconnects
/// catch up.
pub const LOG_KEEP: usize = 500;

/// Timeline events kept (every service state change is one).
pub const TIMELINE_KEEP: usize = 5000;

/// One service state change, or a node event, on the timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineEvent {
    /// Sequence number (increasing, shared with nothing else).
    pub seq: u64,
    /// Virtual time (epoch seconds).
    pub t: i64,
    /// The service id, or the node name for node events.
    pub subject: String,
    /// `service` or `node`.
    pub kind: &'static str,
    /// Service: its node; node: the node itself.
    pub node: String,
    /// Service: the verbose state (06 §11.3); node: `power on`, `power
    /// off`, `network on`, `network off`, `fenced`.
    pub state: String,
}

/// The shared content.
#[derive(Debug, Default)]
struct FeedState {
    /// `(seq, formatted line)`, oldest first.
    lines: VecDeque<(u64, String)>,
    next_line: u64,
    events: VecDeque<TimelineEvent>,
    next_event: u64,
    /// The latest `(node, state)` per subject: an event repeating it is
    /// dropped, whichever source reports it.
    last: BTreeMap<String, (String, String)>,
    /// The latest snapshot (JSON text) and its version.
    state: Arc<String>,
    state_version: u64,
    /// Set when the simulator stops: clients end their streams.
    closed: bool,
}

/// The feed, cheap to clone (all clones share it).
#[derive(Debug, Clone, Default)]
pub struct Feed {
    inner: Arc<(Mutex<FeedState>, Condvar)>,
}

/// Everything newer than a client's cursor.
#[derive(Debug, Default)]
pub struct Update {
    /// New log lines.
    pub lines: Vec<String>,
    /// New timeline events.
    pub events: Vec<TimelineEvent>,
    /// The snapshot, if it changed.
    pub state: Option<Arc<String>>,
    /// The feed was closed.
    pub closed: bool,
}

/// How far a client has read.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cursor {
    line: u64,
    event: u64,
    state: u64,
}

impl Feed {
    /// An empty feed.
    pub fn new() -> Self {
        Feed::default()
    }

    fn lock(&self) -> MutexGuard<'_, FeedState> {
        self.inner.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends a formatted log line (without newline).
    pub fn push_line(&self, line: String) {
        let mut st = self.lock();
        let seq = st.next_line;
        st.next_line += 1;
        st.lines.push_back((seq, line));
        if st.lines.len() > LOG_KEEP {
            st.lines.pop_front();
        }
        drop(st);
        self.inner.1.notify_all();
    }

    /// Appends timeline events (their `seq` is assigned here); events
    /// that repeat their subject's latest node and state are dropped.
    pub fn push_events(&self, events: Vec<TimelineEvent>) {
        if events.is_empty() {
            return;
        }
        let mut st = self.lock();
        for mut e in events {
            let now = (e.node.clone(), e.state.clone());
            if st.last.get(&e.subject) == Some(&now) {
                continue;
            }
            st.last.insert(e.subject.clone(), now);
            e.seq = st.next_event;
            st.next_event += 1;
            st.events.push_back(e);
        }
        while st.events.len() > TIMELINE_KEEP {
            st.events.pop_front();
        }
        drop(st);
        self.inner.1.notify_all();
    }

    /// Appends a service state seen in the log rather than in a snapshot
    /// (a state the manager passes through within one round, such as
    /// `fence` right before `recovery`), on the service's last known node.
    pub fn push_service_state(&self, t: i64, sid: &str, state: &str) {
        let node = self
            .lock()
            .last
            .get(sid)
            .map(|(n, _)| n.clone())
            .unwrap_or_default();
        self.push_events(vec![TimelineEvent {
            seq: 0,
            t,
            subject: sid.to_string(),
            kind: "service",
            node,
            state: state.to_string(),
        }]);
    }

    /// Publishes a snapshot if it differs from the current one.
    pub fn set_state(&self, json: String) {
        let mut st = self.lock();
        if *st.state == json {
            return;
        }
        st.state = Arc::new(json);
        st.state_version += 1;
        drop(st);
        self.inner.1.notify_all();
    }

    /// Ends every client's stream.
    pub fn close(&self) {
        self.lock().closed = true;
        self.inner.1.notify_all();
    }

    /// The last `n` log lines.
    pub fn last_lines(&self, n: usize) -> Vec<String> {
        let st = self.lock();
        let skip = st.lines.len().saturating_sub(n);
        st.lines.iter().skip(skip).map(|(_, l)| l.clone()).collect()
    }

    /// Every kept timeline event.
    pub fn events(&self) -> Vec<TimelineEvent> {
        self.lock().events.iter().cloned().collect()
    }

    /// The current snapshot.
    pub fn state(&self) -> Arc<String> {
        self.lock().state.clone()
    }

    /// Waits up to `timeout` for anything newer than `cursor` and returns
    /// it (possibly nothing, on timeout), moving the cursor. A fresh
    /// cursor gets the last `first_lines` lines, all events and the state.
    pub fn wait(&self, cursor: &mut Cursor, timeout: Duration, first_lines: usize) -> Update {
        let mut st = self.lock();
        let fresh = |st: &FeedState, c: &Cursor| {
            st.closed
                || st.next_line > c.line
                || st.next_event > c.event
                || st.state_version > c.state
        };
        if !fresh(&st, cursor) {
            st = self
                .inner
                .1
                .wait_timeout_while(st, timeout, |st| !fresh(st, cursor))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let mut up = Update {
            closed: st.closed,
            ..Update::default()
        };
        let first = cursor.line == 0 && cursor.event == 0 && cursor.state == 0;
        let skip = if first {
            st.lines.len().saturating_sub(first_lines)
        } else {
            0
        };
        up.lines = st
            .lines
            .iter()
            .skip(skip)
            .filter(|(seq, _)| *seq >= cursor.line)
            .map(|(_, l)| l.clone())
            .collect();
        up.events = st
            .events
            .iter()
            .filter(|e| e.seq >= cursor.event)
            .cloned()
            .collect();
        if st.state_version > cursor.state {
            up.state = Some(st.state.clone());
        }
        cursor.line = st.next_line;
        cursor.event = st.next_event;
        cursor.state = st.state_version;
        up
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(subject: &str, state: &str) -> TimelineEvent {
        TimelineEvent {
            seq: 0,
            t: 1,
            subject: subject.into(),
            kind: "service",
            node: "node1".into(),
            state: state.into(),
        }
    }

    #[test]
    fn clients_get_what_is_new() {
        let feed = Feed::new();
        feed.push_line("a".into());
        feed.push_line("b".into());
        feed.set_state("{}".into());
        let mut c = Cursor::default();
        let up = feed.wait(&mut c, Duration::ZERO, 1);
        assert_eq!(up.lines, ["b"], "a fresh client gets the last lines");
        assert_eq!(up.state.as_deref().map(String::as_str), Some("{}"));
        let up = feed.wait(&mut c, Duration::from_millis(1), 10);
        assert!(up.lines.is_empty() && up.state.is_none() && up.events.is_empty());
        feed.set_state("{}".into());
        feed.push_events(vec![event("vm:1", "started"), event("vm:2", "fence")]);
        feed.push_line("c".into());
        let up = feed.wait(&mut c, Duration::ZERO, 10);
        assert_eq!(up.lines, ["c"]);
        assert!(up.state.is_none(), "an unchanged snapshot is no news");
        assert_eq!(up.events.len(), 2);
        assert_eq!((up.events[0].seq, up.events[1].seq), (0, 1));
        // Repeats are dropped; a state from the log keeps the node.
        feed.push_events(vec![event("vm:1", "started")]);
        feed.push_service_state(2, "vm:1", "recovery");
        let up = feed.wait(&mut c, Duration::ZERO, 10);
        assert_eq!(up.events.len(), 1);
        assert_eq!(
            (up.events[0].node.as_str(), up.events[0].state.as_str()),
            ("node1", "recovery")
        );
    }

    #[test]
    fn buffers_are_bounded() {
        let feed = Feed::new();
        for i in 0..LOG_KEEP + 10 {
            feed.push_line(format!("{i}"));
        }
        let lines = feed.last_lines(usize::MAX);
        assert_eq!(lines.len(), LOG_KEEP);
        assert_eq!(lines[0], "10");
        assert_eq!(
            feed.last_lines(2),
            [format!("{}", LOG_KEEP + 8), format!("{}", LOG_KEEP + 9)]
        );
    }

    #[test]
    fn waiting_wakes_on_news_and_close() {
        let feed = Feed::new();
        let f2 = feed.clone();
        let t = std::thread::spawn(move || {
            let mut c = Cursor::default();
            f2.wait(&mut c, Duration::from_secs(10), 10)
        });
        std::thread::sleep(Duration::from_millis(20));
        feed.close();
        let up = t.join().unwrap();
        assert!(up.closed);
    }
}
