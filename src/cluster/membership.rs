//! Where a store without pmxcfs gets membership and quorum from (00
//! "quorum"): corosync on plain Linux (`corosync.rs`, feature
//! `plain-linux`), a fixed list in tests. pmxcfs needs none: it writes
//! `.members` itself.

use super::store::Members;

/// The cluster membership as this node's corosync sees it.
pub trait Membership: Send + Sync {
    /// The current view: `nodename` (this node), `quorate` (`Some`),
    /// `in_cluster` (true) and every configured node with its id and
    /// whether it is in this node's current membership. An error when
    /// the membership engine cannot be asked (corosync not running):
    /// callers treat that as "not quorate".
    fn members(&self) -> Result<Members, String>;
}

/// A fixed membership, for tests and single-node set-ups.
#[derive(Debug, Clone)]
pub struct StaticMembership(pub Members);

impl Membership for StaticMembership {
    fn members(&self) -> Result<Members, String> {
        Ok(self.0.clone())
    }
}
