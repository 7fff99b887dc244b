//! What a real process said, line by line, with when each line arrived:
//! read from a pipe until it closes ([`Transcript::read`]) or followed in
//! a log file the process writes ([`Transcript::follow`]). Each line also
//! carries a *probe* value taken when it was seen — the tests use the
//! length of a watchdog recording device, so "no keep-alive after this
//! line" is a comparison of two numbers.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread;
use std::time::{Duration, Instant};

/// One line, when it arrived and the probe's value at that moment.
#[derive(Debug, Clone)]
pub struct Line {
    pub at: Instant,
    pub text: String,
    pub probe: usize,
}

#[derive(Default)]
struct State {
    lines: Vec<Line>,
    /// The source ended (pipe closed); no line will come any more.
    closed: bool,
}

type Shared = Arc<(Mutex<State>, Condvar)>;

/// The lines of one process, growing while it runs.
#[derive(Clone)]
pub struct Transcript {
    shared: Shared,
}

/// A probe that measures nothing.
pub fn no_probe() -> usize {
    0
}

fn push(shared: &Shared, text: String, probe: usize) {
    let (m, cv) = &**shared;
    m.lock().unwrap().lines.push(Line {
        at: Instant::now(),
        text,
        probe,
    });
    cv.notify_all();
}

impl Transcript {
    /// Reads `source` line by line in a thread until it ends.
    pub fn read(
        source: impl Read + Send + 'static,
        probe: impl Fn() -> usize + Send + 'static,
    ) -> Transcript {
        let shared: Shared = Arc::default();
        let s2 = Arc::clone(&shared);
        thread::spawn(move || {
            for text in BufReader::new(source).lines() {
                let Ok(text) = text else { break };
                push(&s2, text, probe());
            }
            let (m, cv) = &*s2;
            m.lock().unwrap().closed = true;
            cv.notify_all();
        });
        Transcript { shared }
    }

    /// Follows the file at `path` (which may not exist yet), polling it
    /// every 50 ms until the last copy of the transcript is dropped.
    pub fn follow(path: PathBuf, probe: impl Fn() -> usize + Send + 'static) -> Transcript {
        let shared: Shared = Arc::default();
        let weak: Weak<(Mutex<State>, Condvar)> = Arc::downgrade(&shared);
        thread::spawn(move || {
            let mut file: Option<File> = None;
            let mut pending = Vec::new();
            let mut buf = [0u8; 8192];
            loop {
                let Some(shared) = weak.upgrade() else { return };
                if file.is_none() {
                    file = File::open(&path).ok();
                }
                if let Some(f) = file.as_mut() {
                    while let Ok(n) = f.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        pending.extend_from_slice(&buf[..n]);
                    }
                    while let Some(i) = pending.iter().position(|&b| b == b'\n') {
                        let line: Vec<u8> = pending.drain(..=i).collect();
                        let text = String::from_utf8_lossy(&line[..i]).into_owned();
                        push(&shared, text, probe());
                    }
                }
                drop(shared);
                thread::sleep(Duration::from_millis(50));
            }
        });
        Transcript { shared }
    }

    /// The lines so far.
    pub fn lines(&self) -> Vec<Line> {
        self.shared.0.lock().unwrap().lines.clone()
    }

    /// The texts so far.
    pub fn texts(&self) -> Vec<String> {
        self.lines().into_iter().map(|l| l.text).collect()
    }

    /// Waits until `count` lines satisfy `hit` and returns the last of
    /// them; fails after `within` or when the source ends first, showing
    /// everything said (`what` describes the wait).
    pub fn wait_for(
        &self,
        what: &str,
        count: usize,
        within: Duration,
        hit: impl Fn(&str) -> bool,
    ) -> Line {
        let (m, cv) = &*self.shared;
        let deadline = Instant::now() + within;
        let mut t = m.lock().unwrap();
        loop {
            let hits: Vec<&Line> = t.lines.iter().filter(|l| hit(&l.text)).collect();
            if hits.len() >= count {
                return hits[count - 1].clone();
            }
            let now = Instant::now();
            if now >= deadline || t.closed {
                let all: Vec<&str> = t.lines.iter().map(|l| l.text.as_str()).collect();
                panic!("waited {within:?} for {count}× {what}; the process said {all:#?}");
            }
            t = cv.wait_timeout(t, deadline - now).unwrap().0;
        }
    }

    /// Waits for `count` lines equal to `text`.
    pub fn wait_count(&self, text: &str, count: usize, within: Duration) -> Line {
        self.wait_for(&format!("{text:?}"), count, within, |l| l == text)
    }

    /// Waits for a line equal to `text`.
    pub fn wait_line(&self, text: &str, within: Duration) -> Line {
        self.wait_count(text, 1, within)
    }

    /// Waits for `count` lines ending in `suffix`.
    pub fn wait_count_suffix(&self, suffix: &str, count: usize, within: Duration) -> Line {
        self.wait_for(&format!("…{suffix:?}"), count, within, |l| {
            l.ends_with(suffix)
        })
    }

    /// Waits for a line ending in `suffix`.
    pub fn wait_suffix(&self, suffix: &str, within: Duration) -> Line {
        self.wait_count_suffix(suffix, 1, within)
    }

    /// Waits for a line containing `part`.
    pub fn wait_contains(&self, part: &str, within: Duration) -> Line {
        self.wait_for(&format!("…{part:?}…"), 1, within, |l| l.contains(part))
    }

    /// Waits (at most `within`) for the source to end, so that every line
    /// is in.
    pub fn wait_closed(&self, within: Duration) {
        let (m, cv) = &*self.shared;
        let t = m.lock().unwrap();
        let _ = cv.wait_timeout_while(t, within, |t| !t.closed);
    }
}
