//! The simulated cluster and the regression tester (01).
//!
//! * [`scenario`] loads a scenario directory (01 §2);
//! * [`hardware`] holds all shared simulated state (01 §6), with
//!   [`stats`] for the scheduler's usage numbers;
//! * [`env`] is the per-daemon simulated [`Env`](crate::env::Env) with its
//!   own clock, and [`resources`] the simulated `vm`/`ct`/`fa` plugins (01 §7);
//! * [`cluster`] keeps every node's environments and daemon instances,
//!   [`commands`] applies the `cmdlist` language to them (01 §4);
//! * [`run_loop`] drives everything in virtual time (01 §5);
//! * [`log`] formats the compared log (01 §3), [`diff`] prints mismatches;
//! * [`tester`] runs one scenario or a whole suite (01 §9);
//! * [`live`] is the interactive simulator's real-time runtime (01 §10);
//! * [`whatif`] plans the effect of an event on a live cluster by
//!   running the tester's loop from its state (issue 17).
//! * [`fuzz`] runs randomized fault schedules with invariant checks
//!   (issue 17), through the run loop's `Observer` and the hardware's
//!   optional [`probe`].
//!
//! Invariant: outside [`live`], nothing here depends on wall-clock time,
//! process ids or randomness for anything that reaches the log (the
//! fuzzer's randomness is a seeded PRNG that only chooses the `cmdlist`). File
//! access is confined to [`scenario`] (reading inputs), [`tester`] (status
//! directory) and [`live`] (its working directory).

pub mod cluster;
pub mod commands;
pub mod diff;
pub mod env;
pub mod fuzz;
pub mod hardware;
pub mod live;
pub mod log;
pub mod probe;
pub mod resources;
pub mod run_loop;
pub mod scenario;
pub mod stats;
pub mod tester;
pub mod whatif;

pub use env::SimEnv;
pub use hardware::{Hardware, SharedHardware};
pub use run_loop::{Outcome, Simulation};
pub use scenario::{Scenario, ScenarioError};
pub use tester::{check_dir, run_suite, Verdict};
