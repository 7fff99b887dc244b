//! Membership and quorum from corosync (00 principle 5, 07 §2.4–§2.5,
//! §3.4) for nodes without pmxcfs, through the official `rust-corosync`
//! bindings (feature `plain-linux`). Nothing is parsed from the output of
//! `corosync-*` tools.
//!
//! What is read, per query:
//! * cmap `nodelist.node.N.{nodeid,name,ring0_addr}`: the configured
//!   nodes and their names (`name`, else `ring0_addr`, as corosync does);
//! * cmap `runtime.votequorum.this_node_id`: which of them is this node;
//! * `quorum_getquorate`: the quorum flag of this node's partition;
//! * `votequorum_getinfo` per configured node: `online` = the node is a
//!   member of this node's current membership.
//!
//! Every query is bounded in time ([`bounded`]): the libraries wait for
//! corosync without a limit, so the calls run on a worker thread and the
//! caller gets an error after the timeout. The handles are opened when
//! needed and dropped after a failed call, so a restarted corosync is
//! picked up by the next query. Any error means "ask again later";
//! callers treat it as not quorate.

mod bounded;
mod connection;
mod snapshot;

use std::time::Duration;

use rust_corosync::CsError;

pub use bounded::BoundError;
pub use snapshot::{ConfiguredNode, Snapshot};

use bounded::Bounded;
use connection::Connection;

use super::membership::Membership;
use super::store::Members;

/// Why corosync could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum CorosyncError {
    /// A service could not be connected to (corosync not running).
    #[error("cannot connect to corosync's {service} service: {code}")]
    Connect {
        /// `cmap`, `quorum` or `votequorum`.
        service: &'static str,
        /// The library's result code.
        code: CsError,
    },
    /// A call failed.
    #[error("corosync call {call} failed: {code}")]
    Call {
        /// The call and its argument.
        call: String,
        /// The library's result code.
        code: CsError,
    },
    /// A cmap key holds a value of an unexpected type or range.
    #[error("corosync's cmap key {0} has an unexpected value")]
    Value(String),
    /// This node's id is not in the node list.
    #[error("corosync's nodelist has no node with this node's id {0}")]
    NoLocalNode(u32),
    /// The query got no answer in time (see [`bounded`]).
    #[error("corosync query: {0}")]
    Bound(#[from] BoundError),
}

impl CorosyncError {
    /// Whether the connection is dead after this error, so the next
    /// query must connect afresh. A temporary refusal (`TRY_AGAIN`, while
    /// corosync synchronizes) and a bad value leave it usable.
    pub fn drops_connection(&self) -> bool {
        match self {
            CorosyncError::Call { code, .. } => *code != CsError::CsErrTryAgain,
            CorosyncError::Connect { .. } | CorosyncError::Bound(_) => true,
            CorosyncError::Value(_) | CorosyncError::NoLocalNode(_) => false,
        }
    }
}

/// This node's corosync as a [`Membership`]: `Send + Sync`, every query
/// bounded by a timeout, reconnecting by itself after a corosync restart.
pub struct CorosyncMembership {
    query: Bounded<Option<Connection>, Result<Snapshot, CorosyncError>>,
}

impl CorosyncMembership {
    /// The default bound of one query: well under the daemons' 10-second
    /// rounds and far under the watchdog's 60 seconds, and far over what
    /// a healthy corosync needs (milliseconds).
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

    /// With [`Self::DEFAULT_TIMEOUT`]. Connects on the first query.
    pub fn new() -> Self {
        Self::with_timeout(Self::DEFAULT_TIMEOUT)
    }

    /// Each query waits at most `timeout` for corosync.
    pub fn with_timeout(timeout: Duration) -> Self {
        CorosyncMembership {
            query: Bounded::new("corosync", timeout, || None, Connection::query),
        }
    }

    /// The bound of one query.
    pub fn timeout(&self) -> Duration {
        self.query.timeout()
    }

    /// What corosync reports now, as read.
    pub fn snapshot(&self) -> Result<Snapshot, CorosyncError> {
        self.query.ask()?
    }

    /// The membership (see [`Snapshot::members`]).
    pub fn query(&self) -> Result<Members, CorosyncError> {
        self.snapshot()?.members()
    }
}

impl Default for CorosyncMembership {
    fn default() -> Self {
        Self::new()
    }
}

impl Membership for CorosyncMembership {
    fn members(&self) -> Result<Members, String> {
        self.query().map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<CorosyncMembership>();
    }

    #[test]
    fn which_errors_drop_the_connection() {
        let call = |code| CorosyncError::Call {
            call: "x".into(),
            code,
        };
        assert!(call(CsError::CsErrLibrary).drops_connection());
        assert!(!call(CsError::CsErrTryAgain).drops_connection());
        assert!(!CorosyncError::NoLocalNode(1).drops_connection());
    }
}
