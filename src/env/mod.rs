//! The `Env` trait: everything the daemons (CRM, manager, LRM) need from the
//! world, and nothing else (01 §8, 07 §2.1). The state machines call it
//! synchronously, as upstream's daemons do; the simulator and the real
//! daemons provide different implementations of the very same interface.
//!
//! Invariant: this module only declares the boundary. Implementations live
//! beside their runtime (`sim` for the simulated cluster; real backends
//! later), so the state machines never see a file, clock or socket.
//! Besides the trait: its value types, and [`Timing`], the timing
//! constants the runtime hands to the state machines with the `Env`.

use std::collections::BTreeMap;

use crate::config::datacenter::DatacenterConfig;
use crate::config::groups::GroupsConfig;
use crate::config::rules::RulesConfig;
use crate::config::status::{LrmStatus, ManagerStatus};
use crate::types::{RequestedState, Sid};
use crate::word_enum;

mod error;
mod timing;

pub use error::{EnvError, EnvErrorKind};
pub use timing::Timing;

/// Whole seconds of an environment's clock (virtual in the simulator).
pub type Time = i64;

word_enum! {
    /// Log levels the daemons use (01 §3.2, 02 §0).
    pub enum LogLevel ("log level") {
        /// Dropped by the simulator's log.
        Debug => "debug",
        /// Normal progress.
        Info => "info",
        /// Noteworthy.
        Notice => "notice",
        /// Upstream uses both spellings; both print as `warn`.
        Warning => "warning",
        /// See `Warning`.
        Warn => "warn",
        /// Errors.
        Err => "err",
        /// Notification mails (the simulator logs them).
        Email => "email",
        /// Upstream's malformed level for one LRM line (05 §7.2: LF, TAB,
        /// four spaces, `info`). The simulator prints it byte for byte,
        /// which yields an empty line and an indented one; real logs treat
        /// it as `info`.
        MalformedInfo => "\n\t    info",
    }
}

/// Result of an environment operation.
pub type EnvResult<T> = Result<T, EnvError>;

/// What [`Env::is_node_shutdown`] found out about the node itself while
/// the daemon is being stopped (05 §7.1, 07 §2.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NodeShutdown {
    /// The node is going down (power-off, halt, kexec or reboot).
    pub shutdown: bool,
    /// The node reboots (a reboot normally also sets `shutdown`).
    pub reboot: bool,
}

/// An open watchdog connection (opaque to the daemons).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchdogHandle(pub String);

/// One HA resource as the daemons read it: the checked view of the
/// resource configuration with defaults applied and the guest's current
/// node (06 §3.3; the simulator's `service_config`, 01 §2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceConf {
    /// Node the guest's configuration lives on (empty if unknown).
    pub node: String,
    /// Requested state (`enabled` already normalised to `started`).
    pub state: RequestedState,
    /// Move back to the preferred node when it returns (default on).
    pub failback: bool,
    /// LRM start retries (default 1).
    pub max_restart: i64,
    /// CRM relocations after failed starts (default 1).
    pub max_relocate: i64,
    /// Deprecated HA group.
    pub group: Option<String>,
    /// Free text.
    pub comment: Option<String>,
}

/// The service configuration, by sid.
pub type ServiceConfig = BTreeMap<Sid, ServiceConf>;

/// A change to one resource's configuration (`update_service_config`):
/// properties to set (by their file key, values as text) and keys to
/// delete.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceConfigChange {
    /// Key → new value.
    pub set: BTreeMap<String, String>,
    /// Keys to remove.
    pub delete: Vec<String>,
}

/// Which statistics source the scheduler asks for (04 §4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsKind {
    /// No usage numbers.
    Basic,
    /// Configured limits (`maxcpu`, `maxmem`).
    Static,
    /// Measured load (`cpu`, `mem`) on top of the limits.
    Dynamic,
}

/// Usage numbers of one guest; absent values stay absent.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Usage {
    /// Configured CPUs.
    pub maxcpu: Option<f64>,
    /// Configured memory (bytes).
    pub maxmem: Option<f64>,
    /// Measured CPU load.
    pub cpu: Option<f64>,
    /// Measured memory (bytes).
    pub mem: Option<f64>,
}

/// One guest as the statistics see it (HA-managed or not).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceStats {
    /// Node the guest is configured on.
    pub node: String,
    /// Configured state word.
    pub state: String,
    /// Whether the guest counts as running.
    pub running: bool,
    /// Usage numbers for the requested kind.
    pub usage: Usage,
}

/// Capacity (and, for dynamic stats, load) of one node.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct NodeStats {
    /// CPUs.
    pub maxcpu: Option<f64>,
    /// Memory (bytes).
    pub maxmem: Option<f64>,
    /// Current CPU load.
    pub cpu: f64,
    /// Current memory use (bytes).
    pub mem: f64,
}

/// A fencing notification (02 §6.2): the two texts plus the on-disk
/// manager status read when it was sent, from which the template data are
/// built.
#[derive(Debug, Clone, PartialEq)]
pub struct FenceNotification {
    /// `FENCE` or `SUCCEED`.
    pub prefix: String,
    /// `Try to fence node '<node>'` or the acknowledgement text.
    pub status: String,
    /// The node being fenced.
    pub failed_node: String,
    /// The on-disk manager status at sending time.
    pub manager_status: ManagerStatus,
}

/// Everything a daemon needs from the world. One instance per daemon
/// (each CRM and each LRM has its own); in the simulator each carries its
/// own virtual clock.
///
/// Methods are grouped as in 01 §8. Errors carry upstream's message text.
///
/// # Clock and sleep contract
///
/// What every implementation honours, and all that the state machines may
/// assume about [`get_time`](Env::get_time), [`sleep`](Env::sleep) and
/// [`sleep_until`](Env::sleep_until):
///
/// * `get_time` never goes backwards within one environment.
/// * A sleep may return early (the real daemon: a signal) or late (the
///   real `sleep_until` wakes up to a second after its target), and it
///   may not move `get_time` at all: in the tester the clock is frozen
///   for the whole iteration and a sleep only adds to the iteration's
///   "loop delay" (01 §5.3). Hence every loop that sleeps is bounded by a
///   number of passes as well as by elapsed time (the lock retries, the
///   LRM's worker loop), or it would spin forever in the tester.
/// * A sleep has no other effect: no log line, no state change; a request
///   for zero or fewer seconds (or a target already reached) returns at
///   once.
pub trait Env {
    // --- identity and time (01 §8.1; the contract is in the trait doc) ---

    /// The node this environment belongs to.
    fn nodename(&self) -> &str;
    /// Current time of this environment, whole seconds (real: since the
    /// epoch; tester: the node's virtual clock). Never decreases.
    fn get_time(&self) -> Time;
    /// Waits about `secs` seconds (see the trait's contract). Real: sleeps,
    /// possibly cut short by a signal; tester: adds `secs` to the loop
    /// delay, the clock stays; live simulator: sleeps on its scaled wall
    /// clock.
    fn sleep(&mut self, secs: i64);
    /// Waits until `get_time() >= t`, or returns early (see the trait's
    /// contract); returns at once if `t` has passed. Real: 1-second sleeps
    /// until `t` (07 §2.3); tester: adds what is missing from `t` to the
    /// loop delay, the clock stays; live simulator: sleeps on its clock.
    fn sleep_until(&mut self, t: Time);
    /// Called first in every daemon iteration.
    fn loop_start_hook(&mut self) -> EnvResult<()>;
    /// Called last in every daemon iteration (real: warns about a slow
    /// iteration; tester: advances the clock by one second).
    fn loop_end_hook(&mut self) -> EnvResult<()>;
    /// Parallel LRM workers; 0 runs resource commands inline.
    fn get_max_workers(&self) -> usize;
    /// A number this node's environments never returned before, for
    /// as long as the cluster lives (a cluster-wide counter in the
    /// simulator). The manager builds its uids (02 §3.15) from it, the
    /// node name and the time, so they are unique within the cluster
    /// without any process-wide state in the state machines.
    fn unique_token(&mut self) -> u64;

    // --- logging and notifications (01 §8.2) ---

    /// Logs one message (a trailing newline is removed by the sink).
    fn log(&mut self, level: LogLevel, msg: &str);
    /// Sends a fencing notification.
    fn send_notification(&mut self, notification: &FenceNotification);

    // --- membership, quorum, cluster health (01 §8.3) ---

    /// Every cluster member with its online flag, and whether the cluster
    /// is quorate.
    fn get_node_info(&mut self) -> EnvResult<(BTreeMap<String, bool>, bool)>;
    /// Whether this node is a member of a quorate partition.
    fn quorate(&mut self) -> bool;
    /// Whether the cluster file system view could be refreshed.
    fn cluster_state_update(&mut self) -> bool;
    /// Whether the node itself is going down or rebooting, asked when the
    /// LRM is told to stop (05 §7.1; real: the systemd job queue, 07
    /// §2.9). An error means "could not tell"; the LRM then treats the
    /// stop as an LRM restart, as upstream does when the query fails.
    fn is_node_shutdown(&mut self) -> EnvResult<NodeShutdown>;
    /// The pve-manager version a node reports.
    fn get_node_version(&mut self, node: &str) -> Option<String>;

    // --- locks and watchdog (01 §8.4) ---

    /// Acquires or renews the manager lock.
    fn get_ha_manager_lock(&mut self) -> bool;
    /// Releases the manager lock.
    fn release_ha_manager_lock(&mut self) -> bool;
    /// Acquires or renews the agent lock of `node` (default: own node).
    fn get_ha_agent_lock(&mut self, node: Option<&str>) -> bool;
    /// Releases the own agent lock.
    fn release_ha_agent_lock(&mut self) -> bool;
    /// Opens a watchdog connection.
    fn watchdog_open(&mut self) -> EnvResult<WatchdogHandle>;
    /// Feeds the watchdog.
    fn watchdog_update(&mut self, handle: &WatchdogHandle) -> EnvResult<()>;
    /// Closes the watchdog connection cleanly (disarms it).
    fn watchdog_close(&mut self, handle: &WatchdogHandle) -> EnvResult<()>;

    // --- shared state (01 §8.5) ---

    /// The manager status (`{}` when absent).
    fn read_manager_status(&mut self) -> EnvResult<ManagerStatus>;
    /// Replaces the manager status.
    fn write_manager_status(&mut self, status: &ManagerStatus) -> EnvResult<()>;
    /// The LRM status of `node` (default: own node).
    fn read_lrm_status(&mut self, node: Option<&str>) -> EnvResult<LrmStatus>;
    /// Replaces the own node's LRM status.
    fn write_lrm_status(&mut self, status: &LrmStatus) -> EnvResult<()>;
    /// The service configuration and, in the real environment, its digest.
    fn read_service_config(&mut self) -> EnvResult<(ServiceConfig, Option<String>)>;
    /// Applies property changes to resources, in sid order.
    fn update_service_config(
        &mut self,
        changes: &BTreeMap<Sid, ServiceConfigChange>,
    ) -> EnvResult<()>;
    /// Moves a guest's configuration from `current` to `new` (recovery).
    fn steal_service(&mut self, sid: &Sid, current: &str, new: &str) -> EnvResult<()>;
    /// The rules configuration (with digest).
    fn read_rules_config(&mut self) -> EnvResult<RulesConfig>;
    /// Writes the rules configuration.
    fn write_rules_config(&mut self, rules: &RulesConfig) -> EnvResult<()>;
    /// The (deprecated) groups configuration (with digest).
    fn read_group_config(&mut self) -> EnvResult<GroupsConfig>;
    /// Deletes the groups configuration.
    fn delete_group_config(&mut self) -> EnvResult<()>;
    /// Whether the CRM command queue is non-empty.
    fn any_pending_crm_command(&mut self) -> EnvResult<bool>;
    /// Takes the whole CRM command queue, leaving it empty.
    fn read_crm_commands(&mut self) -> EnvResult<String>;
    /// The datacenter-wide HA settings (re-read on every call).
    fn get_datacenter_settings(&mut self) -> DatacenterConfig;

    // --- statistics for the scheduler (01 §8.6) ---

    /// Every guest with its usage numbers of the given kind.
    fn get_service_stats(&mut self, kind: StatsKind) -> EnvResult<BTreeMap<Sid, ServiceStats>>;
    /// Node capacities.
    fn get_static_node_stats(&mut self) -> EnvResult<BTreeMap<String, NodeStats>>;
    /// Node capacities and current load.
    fn get_dynamic_node_stats(&mut self) -> EnvResult<BTreeMap<String, NodeStats>>;

    // --- resource plugins (05 §12) ---

    /// Whether a resource plugin is registered for this type.
    fn has_resource_type(&self, ty: &str) -> bool;
    /// Whether the guest runs on this node.
    fn resource_check_running(&mut self, sid: &Sid) -> EnvResult<bool>;
    /// Starts the guest on this node.
    fn resource_start(&mut self, sid: &Sid) -> EnvResult<()>;
    /// Stops the guest on this node (`timeout` as given by the command).
    fn resource_shutdown(&mut self, sid: &Sid, timeout: Option<&str>) -> EnvResult<()>;
    /// Moves the guest to `target`, live if `online`; true when it left.
    fn resource_migrate(&mut self, sid: &Sid, target: &str, online: bool) -> EnvResult<bool>;
    /// Removes the first of `locks` the guest holds; returns its name.
    /// `node` names whose copy of the guest's configuration is edited:
    /// recovery passes the fenced node, where the configuration still is
    /// (the service is stolen afterwards), as upstream does.
    fn resource_remove_locks(
        &mut self,
        sid: &Sid,
        locks: &[&str],
        node: &str,
    ) -> EnvResult<Option<String>>;

    // --- asynchronous LRM workers (05 §9.3) ---

    /// The pool that runs the LRM's jobs in parallel when
    /// `get_max_workers() > 0` (upstream forks a child per job). `None`,
    /// the default, makes the LRM execute its jobs inline.
    fn worker_pool(&mut self) -> Option<&mut dyn WorkerPool> {
        None
    }
}

/// One job for an asynchronous LRM worker: runs against the worker's own
/// environment (upstream: the forked child's; see [`WorkerPool`]) and
/// returns the job's raw wait status (05 §9.5).
pub type WorkerJob = Box<dyn FnOnce(&mut dyn Env) -> i64 + Send>;

/// A job that a worker finished, as the pool hands it back.
pub struct FinishedJob {
    /// The service the job was for.
    pub sid: Sid,
    /// Raw wait status: exit code × 256, or a signal number in the low 7
    /// bits if the worker died (05 §9.5).
    pub status: i64,
    /// What the LRM gave [`WorkerPool::start`] to remember the job by.
    pub payload: Box<dyn std::any::Any + Send>,
}

/// Where an environment runs LRM jobs in parallel (05 §9.3). The pool owns
/// the threads (or processes); the LRM only starts jobs and collects the
/// finished ones, so results are recorded only when collected.
///
/// **Each job runs in its own environment** (07 §2.10), which the pool
/// creates for it: same node, log identity and clock as the LRM's, but no
/// state shared implicitly with the main loop — its own cluster file
/// system handles and caches, no worker pool, and never a copy of the
/// watchdog connection. That is what upstream's `after_fork` re-creates
/// in a forked child; here it is the pool's duty, so the job itself needs
/// no set-up call.
///
/// The pool never blocks: `start` returns once the worker is launched,
/// `collect` returns what has finished so far. A job that never finishes
/// simply stays running; the LRM's loop is bounded regardless (05 §9.3).
pub trait WorkerPool {
    /// Starts a worker for `sid` running `job`; `payload` comes back with
    /// the result. `Err` carries the OS error text when no worker could be
    /// started.
    fn start(
        &mut self,
        sid: &Sid,
        job: WorkerJob,
        payload: Box<dyn std::any::Any + Send>,
    ) -> Result<(), String>;
    /// Takes the jobs that finished since the last call.
    fn collect(&mut self) -> Vec<FinishedJob>;
    /// Whether a worker for `sid` is still running.
    fn is_running(&self, sid: &Sid) -> bool;
    /// How many workers are still running.
    fn running(&self) -> usize;
}
