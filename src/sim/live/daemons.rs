//! The live daemons: one thread per CRM and per LRM, each driving the
//! production state machine on the wall clock (01 §10), and the LRM's pool
//! of worker threads (05 §9.3). Threads are created here and nowhere in the
//! state machines, which only see their [`SimEnv`].
//!
//! A daemon ends when an iteration returns "stop" (it logs `daemon
//! stopped`), when an iteration fails (the error is logged), or when its
//! node is powered off: then its [`Life`] is cleared and the thread unwinds
//! at its next touch of the hardware (see [`Killed`]).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::crm::Crm;
use crate::env::{Env, EnvResult, LogLevel, Timing};
use crate::lrm::{Lrm, LrmShared};
use crate::sim::env::{DaemonKind, SimEnv};
use crate::sim::hardware::{Killed, Life, SharedHardware};

use super::clock::LiveClock;

/// Shortest live iteration, in virtual seconds. The tester charges every
/// iteration one second (01 §5.3); here the same floor keeps a round that
/// happens not to sleep from spinning on the CPU.
const MIN_ITERATION: f64 = 1.0;

/// A running (or finished) daemon thread.
#[derive(Debug)]
pub struct Daemon {
    life: Life,
    done: Arc<AtomicBool>,
}

impl Daemon {
    /// Whether the daemon still runs: not killed, not ended.
    pub fn running(&self) -> bool {
        self.life.alive() && !self.done.load(Ordering::SeqCst)
    }

    /// Its life, for the power-off.
    pub fn life(&self) -> &Life {
        &self.life
    }
}

/// A daemon constructed (its constructor has logged) but not yet running.
pub struct Prepared {
    life: Life,
    env: SimEnv,
    kind: Kind,
    clock: LiveClock,
}

/// The state machine a [`Prepared`] daemon drives.
enum Kind {
    Crm(Box<Crm>),
    Lrm(Box<Lrm>),
}

/// Creates `node`'s CRM; its constructor logs `status change startup =>
/// wait_for_quorum` now.
pub fn prepare_crm(hw: &SharedHardware, node: &str, clock: LiveClock) -> Prepared {
    let life = Life::new();
    let mut env = SimEnv::live(hw.for_life(&life), node, DaemonKind::Crm, clock);
    let crm = Crm::new(&mut env, Timing::upstream());
    Prepared {
        life,
        env,
        kind: Kind::Crm(Box::new(crm)),
        clock,
    }
}

/// Creates `node`'s LRM with its worker pool; its constructor logs
/// `status change startup => wait_for_agent_lock` now.
pub fn prepare_lrm(
    hw: &SharedHardware,
    node: &str,
    clock: LiveClock,
    shared: &LrmShared,
) -> Prepared {
    let life = Life::new();
    let mut env = SimEnv::live(hw.for_life(&life), node, DaemonKind::Lrm, clock);
    let pool = thread_pool(env.worker_env());
    env.set_worker_pool(Box::new(pool));
    let lrm = Lrm::new(&mut env, shared, Timing::upstream());
    Prepared {
        life,
        env,
        kind: Kind::Lrm(Box::new(lrm)),
        clock,
    }
}

impl Prepared {
    /// Starts the daemon's thread. If no thread can be created the daemon
    /// is logged as stopped and reported as not running.
    pub fn start(self) -> Daemon {
        let done = Arc::new(AtomicBool::new(false));
        let daemon = Daemon {
            life: self.life.clone(),
            done: done.clone(),
        };
        let name = self.env.id().to_string();
        let Prepared {
            mut env,
            kind,
            clock,
            ..
        } = self;
        // The environment goes into the thread; keep what the failure
        // path needs to log.
        let mut log_env = env.worker_env();
        let spawned = std::thread::Builder::new().name(name).spawn(move || {
            let run = catch_unwind(AssertUnwindSafe(|| match kind {
                Kind::Crm(mut crm) => drive(&mut env, clock, |e| crm.do_one_iteration(e)),
                Kind::Lrm(mut lrm) => drive(&mut env, clock, |e| lrm.do_one_iteration(e)),
            }));
            if let Err(payload) = run {
                if !payload.is::<Killed>() {
                    // A bug: report it in the log too (the panic hook has
                    // printed it on stderr); the daemon is gone.
                    let _ = catch_unwind(AssertUnwindSafe(|| {
                        env.log(LogLevel::Err, "daemon crashed (internal error)")
                    }));
                }
            }
            done.store(true, Ordering::SeqCst);
        });
        if let Err(e) = spawned {
            log_env.log(
                LogLevel::Err,
                &format!("unable to start daemon thread - {e}"),
            );
            daemon.done.store(true, Ordering::SeqCst);
        }
        daemon
    }
}

/// The daemon loop (upstream's `for (;;) { exit if !do_one_iteration }`),
/// with the one-second floor per iteration.
fn drive(env: &mut SimEnv, clock: LiveClock, mut step: impl FnMut(&mut SimEnv) -> EnvResult<bool>) {
    loop {
        let start = clock.now_f64();
        match step(env) {
            Ok(true) => {}
            Ok(false) => {
                env.log(LogLevel::Info, "daemon stopped");
                return;
            }
            Err(e) => {
                env.log(LogLevel::Err, e.message());
                return;
            }
        }
        env.wait_until(start + MIN_ITERATION);
    }
}

/// The LRM's worker pool: the crate's one thread pool ([`crate::pool`]),
/// each job in a fresh [`SimEnv::worker_env`] of the LRM's (same node,
/// log id, clock and life; no pool, no watchdog), as the `WorkerPool`
/// contract asks. A job killed with its node reports nothing.
pub type ThreadPool = crate::pool::ThreadPool<SimEnv>;

/// A pool whose workers run in copies of `template`.
pub fn thread_pool(template: SimEnv) -> ThreadPool {
    let name = template.id().to_string();
    crate::pool::ThreadPool::new(name, move || template.worker_env(), killed_or_abort)
}

/// Killed with its node: nobody is left to collect; any other panic is a
/// bug, reported as a crashed worker.
fn killed_or_abort(p: &(dyn std::any::Any + Send)) -> Option<i64> {
    if p.is::<Killed>() {
        None
    } else {
        Some(crate::pool::PANIC_STATUS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::status::{ManagerStatus, ServiceEntry};
    use crate::env::{FinishedJob, WorkerJob, WorkerPool};
    use crate::sim::hardware::{Hardware, NodeHardware, RawService};
    use crate::sim::scenario::Scenario;
    use crate::types::Sid;
    use crate::types::{OrUnknown, ResultCode, ServiceState};
    use std::sync::atomic::AtomicUsize;
    use std::sync::mpsc::channel;
    use std::sync::Mutex;

    /// A [`ThreadPool`] that remembers the most workers it ran at once.
    struct Watched {
        pool: ThreadPool,
        most: Arc<AtomicUsize>,
    }

    impl WorkerPool for Watched {
        fn start(
            &mut self,
            sid: &Sid,
            job: WorkerJob,
            payload: Box<dyn std::any::Any + Send>,
        ) -> Result<(), String> {
            self.pool.start(sid, job, payload)?;
            self.most.fetch_max(self.pool.running(), Ordering::SeqCst);
            Ok(())
        }
        fn collect(&mut self) -> Vec<FinishedJob> {
            self.pool.collect()
        }
        fn is_running(&self, sid: &Sid) -> bool {
            self.pool.is_running(sid)
        }
        fn running(&self) -> usize {
            self.pool.running()
        }
    }

    /// One powered node with `n` services the manager wants started.
    fn cluster(n: usize) -> SharedHardware {
        let mut s = Scenario::empty();
        let mut node = NodeHardware::off();
        node.power = true;
        node.network = true;
        s.nodes.insert("node1".into(), node);
        let mut ms = ManagerStatus::default();
        for i in 0..n {
            let sid = format!("vm:{}", 101 + i);
            s.services.insert(
                sid.clone(),
                RawService::from([
                    ("node".to_string(), "node1".to_string()),
                    ("state".to_string(), "started".to_string()),
                ]),
            );
            ms.service_status.insert(
                sid.parse().unwrap(),
                ServiceEntry {
                    state: Some(OrUnknown::Known(ServiceState::Started)),
                    node: Some("node1".into()),
                    uid: Some(format!("u{i}")),
                    ..ServiceEntry::default()
                },
            );
        }
        s.manager_status = Some(ms);
        let hw = Hardware::new(&s);
        hw.shared()
    }

    #[test]
    fn the_pool_runs_every_job_once_at_most_four_at_a_time() {
        let hw = cluster(6);
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        hw.borrow_mut().set_log_hook(Box::new(move |_, _, id, msg| {
            sink.lock().unwrap().push(format!("{id}: {msg}"));
        }));
        let clock = LiveClock::new(500.0);
        let life = Life::new();
        let mut env = SimEnv::live(hw.for_life(&life), "node1", DaemonKind::Lrm, clock);
        let most = Arc::new(AtomicUsize::new(0));
        env.set_worker_pool(Box::new(Watched {
            pool: thread_pool(env.worker_env()),
            most: most.clone(),
        }));
        let mut lrm = Lrm::new(&mut env, &LrmShared::default(), Timing::upstream());
        for _ in 0..20 {
            assert!(lrm.do_one_iteration(&mut env).unwrap());
            if hw.borrow().lrm_status("node1").results.len() == 6 {
                break;
            }
        }
        let status = hw.borrow().lrm_status("node1");
        assert_eq!(status.results.len(), 6, "{status:?}");
        assert!(status
            .results
            .values()
            .all(|r| r.exit_code == ResultCode::Success));
        for i in 0..6 {
            assert!(hw.borrow().is_running("node1", &format!("vm:{}", 101 + i)));
        }
        let lines = lines.lock().unwrap();
        for i in 0..6 {
            let start = format!("node1/lrm: starting service vm:{}", 101 + i);
            let n = lines.iter().filter(|l| **l == start).count();
            assert_eq!(n, 1, "one job per request: {lines:?}");
        }
        let most = most.load(Ordering::SeqCst);
        assert!(most > 1 && most <= 4, "{most} workers at once");
    }

    #[test]
    fn every_job_runs_in_its_own_environment_without_a_pool() {
        let hw = cluster(0);
        let clock = LiveClock::new(500.0);
        let life = Life::new();
        let mut env = SimEnv::live(hw.for_life(&life), "node1", DaemonKind::Lrm, clock);
        env.set_worker_pool(Box::new(thread_pool(env.worker_env())));
        let (tx, rx) = channel();
        let pool = env.worker_pool().expect("the LRM's pool");
        for i in 0..2 {
            let tx = tx.clone();
            let job: WorkerJob = Box::new(move |job_env: &mut dyn Env| {
                let _ = tx.send((
                    job_env.nodename().to_string(),
                    job_env.worker_pool().is_none(),
                ));
                0
            });
            let sid: Sid = format!("vm:{}", 101 + i).parse().unwrap();
            pool.start(&sid, job, Box::new(())).unwrap();
        }
        let seen: Vec<(String, bool)> = (0..2)
            .map(|_| rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap())
            .collect();
        for (node, no_pool) in &seen {
            assert_eq!(node, "node1");
            assert!(no_pool, "a worker cannot start workers");
        }
    }

    #[test]
    fn daemons_and_environments_can_move_to_threads() {
        fn is_send<T: Send>() {}
        is_send::<Crm>();
        is_send::<Lrm>();
        is_send::<SimEnv>();
        is_send::<Prepared>();
    }
}
