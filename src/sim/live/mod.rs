//! The interactive simulator's real-time runtime (01 §10): the same CRM and
//! LRM state machines as the tester, but each daemon on its own thread on
//! the (optionally accelerated) wall clock, the LRM with a pool of
//! parallel workers, the hardware behind its one global lock, and a local
//! web page to watch and steer the cluster.
//!
//! * [`runtime`] owns the live cluster: daemons, actions, the timer that
//!   fences nodes with expired watchdogs, the status directory, Save;
//! * [`daemons`] runs a CRM or LRM on a thread, and the LRM's worker
//!   pool (05 §9.3);
//! * [`clock`] is the accelerated wall clock;
//! * [`actions`] lists what a user can do and how a refusal reads;
//! * [`http`] serves the page, the JSON API and the event stream;
//! * [`access`] decides who may use it (Host, Origin, token, JSON bodies);
//! * [`signals`] turns Ctrl-C into an orderly stop;
//! * [`feed`], [`snapshot`], [`timeline`] are what the page shows;
//! * [`recorder`] writes the actions as a replayable `cmdlist`.
//!
//! Invariant: the state machines are the tester's, untouched; every thread
//! lives here. A killed daemon cannot change the shared state after its
//! power-off (see [`crate::sim::hardware::Life`]).

pub mod access;
pub mod actions;
pub mod clock;
pub mod daemons;
pub mod feed;
pub mod http;
pub mod recorder;
pub mod runtime;
pub mod signals;
pub mod snapshot;
pub mod timeline;

pub use access::Policy;
pub use actions::{Action, ApiError};
pub use http::{Listener, Server};
pub use runtime::{Config, LiveError, Notice, Runtime};

/// The address the page is served on unless `--listen` says otherwise:
/// loopback only, reachable from elsewhere through an SSH tunnel.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8480";

/// Starts the live cluster described by `cfg` and serves it on the
/// already bound `listener` under `policy`; call [`Server::serve`] to
/// answer requests.
pub fn start(
    cfg: Config,
    listener: Listener,
    policy: Policy,
    notice: Notice,
) -> Result<Server, LiveError> {
    let rt = Runtime::start(cfg, notice)?;
    Ok(Server::new(listener, rt, policy))
}
