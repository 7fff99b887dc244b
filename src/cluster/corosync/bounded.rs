//! A blocking query, asked with a time bound: the query runs on a thread
//! of its own and the caller waits for its answer at most a timeout.
//!
//! Why: corosync's client libraries wait for the daemon's answer without
//! a time limit (`CS_IPC_TIMEOUT_MS` is -1). A corosync that is alive but
//! stuck (stopped, starved, swapping) would hold the CRM's or LRM's loop
//! in a library call, and a loop that stops also stops feeding the
//! watchdog. So the caller gets an error after the timeout instead, and
//! the daemon treats it like "corosync down" (not quorate).
//!
//! At most one query is outstanding: while a timed-out query has not
//! returned, further asks fail at once with [`BoundError::Busy`] rather
//! than piling up threads. Its late answer is thrown away (it is stale)
//! and the next ask starts afresh. A worker that died (its query
//! panicked) is replaced by a new one with fresh state on the next ask.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

/// Why an ask got no answer.
#[derive(Debug, thiserror::Error)]
pub enum BoundError {
    /// The query did not return within the bound.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// An earlier query that timed out has still not returned.
    #[error("an earlier query has not returned yet")]
    Busy,
    /// The worker thread could not be started.
    #[error("cannot start the query thread: {0}")]
    Thread(#[source] std::io::Error),
    /// The worker thread ended (its query panicked).
    #[error("the query thread ended")]
    Gone,
}

/// Makes the state a fresh worker runs its queries on (on the worker's
/// thread, so the state need not be `Send`).
type Factory<S> = Arc<dyn Fn() -> S + Send + Sync>;

/// Runs `query` over worker state `S`, each ask bounded by a timeout.
pub struct Bounded<S, T> {
    timeout: Duration,
    name: &'static str,
    make: Factory<S>,
    query: fn(&mut S) -> T,
    link: Mutex<Option<Link<T>>>,
}

/// The channels to one worker thread.
struct Link<T> {
    requests: Sender<()>,
    replies: Receiver<T>,
    /// A request was sent whose answer has not been taken yet.
    pending: bool,
}

impl<S: 'static, T: Send + 'static> Bounded<S, T> {
    /// `query` runs on a worker thread named `name`, over state made by
    /// `make` (once per worker); every ask waits at most `timeout`.
    pub fn new(
        name: &'static str,
        timeout: Duration,
        make: impl Fn() -> S + Send + Sync + 'static,
        query: fn(&mut S) -> T,
    ) -> Self {
        Bounded {
            timeout,
            name,
            make: Arc::new(make),
            query,
            link: Mutex::new(None),
        }
    }

    /// The time bound of one ask.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Runs the query once and returns its answer, or an error after the
    /// timeout. Never blocks longer than the timeout (plus the time to
    /// start a thread).
    pub fn ask(&self) -> Result<T, BoundError> {
        let mut slot = self.link.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(self.spawn()?);
        }
        let Some(link) = slot.as_mut() else {
            return Err(BoundError::Gone);
        };
        let answer = link.ask(self.timeout);
        if matches!(answer, Err(BoundError::Gone)) {
            *slot = None;
        }
        answer
    }

    /// Starts a worker: it answers one request after the other until the
    /// requests' sender is dropped (with this value) or no one listens.
    fn spawn(&self) -> Result<Link<T>, BoundError> {
        let (requests, inbox) = mpsc::channel::<()>();
        let (outbox, replies) = mpsc::channel::<T>();
        let make = self.make.clone();
        let query = self.query;
        thread::Builder::new()
            .name(self.name.to_string())
            .spawn(move || {
                let mut state = make();
                for () in inbox.iter() {
                    if outbox.send(query(&mut state)).is_err() {
                        return;
                    }
                }
            })
            .map_err(BoundError::Thread)?;
        Ok(Link {
            requests,
            replies,
            pending: false,
        })
    }
}

impl<T> Link<T> {
    fn ask(&mut self, timeout: Duration) -> Result<T, BoundError> {
        if self.pending {
            match self.replies.try_recv() {
                // The late answer to a query that timed out: stale.
                Ok(_) => self.pending = false,
                Err(TryRecvError::Empty) => return Err(BoundError::Busy),
                Err(TryRecvError::Disconnected) => return Err(BoundError::Gone),
            }
        }
        self.requests.send(()).map_err(|_| BoundError::Gone)?;
        self.pending = true;
        match self.replies.recv_timeout(timeout) {
            Ok(answer) => {
                self.pending = false;
                Ok(answer)
            }
            Err(RecvTimeoutError::Timeout) => Err(BoundError::Timeout(timeout)),
            Err(RecvTimeoutError::Disconnected) => Err(BoundError::Gone),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Condvar;
    use std::time::Instant;

    /// A gate the test opens to let blocked queries return.
    #[derive(Default)]
    struct Gate {
        open: Mutex<bool>,
        cv: Condvar,
    }

    impl Gate {
        fn set(&self, open: bool) {
            *self.open.lock().unwrap_or_else(PoisonError::into_inner) = open;
            self.cv.notify_all();
        }
        fn pass(&self) {
            let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
            while !*open {
                open = self.cv.wait(open).unwrap_or_else(PoisonError::into_inner);
            }
        }
    }

    /// Worker state: counts its queries; waits at the gate; panics on
    /// query `panic_at`.
    struct Fake {
        gate: Arc<Gate>,
        count: u32,
        panic_at: u32,
        generation: u32,
    }

    fn query(f: &mut Fake) -> (u32, u32) {
        f.count += 1;
        assert_ne!(f.count, f.panic_at, "scripted failure");
        f.gate.pass();
        (f.generation, f.count)
    }

    /// `timeout` is long where the test waits for an answer or a death
    /// (a panic that prints a backtrace takes a while).
    fn bounded(gate: &Arc<Gate>, panic_at: u32, timeout: Duration) -> Bounded<Fake, (u32, u32)> {
        let gate = gate.clone();
        let generation = Arc::new(Mutex::new(0));
        Bounded::new(
            "test-query",
            timeout,
            move || {
                let mut g = generation.lock().unwrap_or_else(PoisonError::into_inner);
                *g += 1;
                Fake {
                    gate: gate.clone(),
                    count: 0,
                    panic_at,
                    generation: *g,
                }
            },
            query,
        )
    }

    #[test]
    fn answers_keep_the_worker_state() {
        let gate = Arc::new(Gate::default());
        gate.set(true);
        let b = bounded(&gate, 0, Duration::from_secs(10));
        assert_eq!(b.ask().ok(), Some((1, 1)));
        assert_eq!(b.ask().ok(), Some((1, 2)));
    }

    #[test]
    fn a_stuck_query_times_out_then_busy_then_its_late_answer_is_dropped() {
        let gate = Arc::new(Gate::default());
        let b = bounded(&gate, 0, Duration::from_millis(100));
        let t0 = Instant::now();
        assert!(matches!(b.ask(), Err(BoundError::Timeout(_))));
        assert!(t0.elapsed() < Duration::from_secs(2));
        assert!(matches!(b.ask(), Err(BoundError::Busy)));
        gate.set(true);
        // Once the late answer (query 1) has arrived, the next ask
        // discards it and gets query 2's.
        let deadline = Instant::now() + Duration::from_secs(5);
        let answer = loop {
            match b.ask() {
                Err(BoundError::Busy) if Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(10));
                }
                other => break other,
            }
        };
        assert_eq!(answer.ok(), Some((1, 2)));
    }

    #[test]
    fn a_worker_that_died_is_replaced_with_fresh_state() {
        let gate = Arc::new(Gate::default());
        gate.set(true);
        let b = bounded(&gate, 2, Duration::from_secs(10));
        assert_eq!(b.ask().ok(), Some((1, 1)));
        assert!(matches!(b.ask(), Err(BoundError::Gone)));
        assert_eq!(b.ask().ok(), Some((2, 1)));
    }
}
