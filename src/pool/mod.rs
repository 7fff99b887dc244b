//! The one thread-based [`WorkerPool`] (05 §9.3, 07 §2.10): a thread per
//! job, as upstream forks a child per job, results handed back through a
//! channel and taken only when the LRM collects them. Used by the live
//! simulator and by the real node's environment; each supplies how a
//! job's own environment is made (07 §2.10: same node and log identity,
//! no shared caches, no pool, never the watchdog connection) and what a
//! job's panic means.
//!
//! The pool never waits for a job: a helper that hangs keeps its thread,
//! and the LRM's bounded worker loop goes on without it.

use std::any::Any;
use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, Sender};

use crate::env::{Env, FinishedJob, WorkerJob, WorkerPool};
use crate::types::Sid;

/// What a job's panic becomes: a raw wait status, or `None` when nobody
/// is left to collect the result (the live simulator's powered-off node).
pub type PanicPolicy = fn(&(dyn Any + Send)) -> Option<i64>;

/// Wait status of a worker that panicked (a bug): signal 6, as a crashed
/// child would report (05 §9.5 logs `got signal 6`).
pub const PANIC_STATUS: i64 = 6;

/// Every panic is a dead worker.
pub fn panic_is_abort(_: &(dyn Any + Send)) -> Option<i64> {
    Some(PANIC_STATUS)
}

/// A pool whose workers run in environments of type `E` made by `make_env`.
pub struct ThreadPool<E: Env + Send + 'static> {
    make_env: Box<dyn FnMut() -> E + Send>,
    on_panic: PanicPolicy,
    /// Thread name prefix (the daemon's log id).
    name: String,
    running: BTreeSet<Sid>,
    tx: Sender<FinishedJob>,
    rx: Receiver<FinishedJob>,
}

impl<E: Env + Send + 'static> ThreadPool<E> {
    /// A pool creating each job's environment with `make_env`.
    pub fn new(
        name: impl Into<String>,
        make_env: impl FnMut() -> E + Send + 'static,
        on_panic: PanicPolicy,
    ) -> Self {
        let (tx, rx) = channel();
        ThreadPool {
            make_env: Box::new(make_env),
            on_panic,
            name: name.into(),
            running: BTreeSet::new(),
            tx,
            rx,
        }
    }
}

impl<E: Env + Send + 'static> WorkerPool for ThreadPool<E> {
    fn start(
        &mut self,
        sid: &Sid,
        job: WorkerJob,
        payload: Box<dyn Any + Send>,
    ) -> Result<(), String> {
        let mut env = (self.make_env)();
        let tx = self.tx.clone();
        let sid2 = sid.clone();
        let on_panic = self.on_panic;
        std::thread::Builder::new()
            .name(format!("{} {sid}", self.name))
            .spawn(move || {
                let status = match catch_unwind(AssertUnwindSafe(|| job(&mut env))) {
                    Ok(status) => status,
                    Err(p) => match on_panic(p.as_ref()) {
                        Some(status) => status,
                        None => return,
                    },
                };
                // The LRM may be gone already.
                let _ = tx.send(FinishedJob {
                    sid: sid2,
                    status,
                    payload,
                });
            })
            .map_err(|e| e.to_string())?;
        self.running.insert(sid.clone());
        Ok(())
    }

    fn collect(&mut self) -> Vec<FinishedJob> {
        let done: Vec<FinishedJob> = self.rx.try_iter().collect();
        for f in &done {
            self.running.remove(&f.sid);
        }
        done
    }

    fn is_running(&self, sid: &Sid) -> bool {
        self.running.contains(sid)
    }

    fn running(&self) -> usize {
        self.running.len()
    }
}
