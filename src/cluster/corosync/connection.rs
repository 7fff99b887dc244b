//! The library calls: one connection to corosync (a cmap, a quorum and a
//! votequorum handle) and the reads that make a [`Snapshot`].
//!
//! Only request/answer calls are used, no tracking: nothing is ever
//! queued for dispatch, so no callback can run and no dispatch can block.
//! A connection is opened when a query needs one and dropped when a call
//! fails (corosync stopped or restarted: its old handles are dead), so the
//! next query connects afresh.

use rust_corosync::cmap::{self, Data};
use rust_corosync::quorum::{self, Model1Data, Model1Flags, ModelData};
use rust_corosync::votequorum::{self, NodeState};
use rust_corosync::{CsError, NodeId};

use super::snapshot::{ConfiguredNode, Snapshot};
use super::CorosyncError;

/// More nodes than corosync supports: bounds the nodelist walk.
const MAX_NODES: usize = 1024;

/// Open handles to corosync's services; dropping it finalizes them.
pub struct Connection {
    cmap: cmap::Handle,
    quorum: quorum::Handle,
    votequorum: votequorum::Handle,
}

impl Connection {
    /// Connects to the three services.
    pub fn open() -> Result<Connection, CorosyncError> {
        let connect = |service, code| CorosyncError::Connect { service, code };
        let cmap = cmap::initialize(cmap::Map::Icmap).map_err(|c| connect("cmap", c))?;
        let model = ModelData::ModelV1(Model1Data {
            flags: Model1Flags::None,
            quorum_notification_fn: None,
            nodelist_notification_fn: None,
        });
        let (quorum, _) = quorum::initialize(&model, 0).map_err(|c| connect("quorum", c))?;
        let callbacks = votequorum::Callbacks {
            quorum_notification_fn: None,
            nodelist_notification_fn: None,
            expectedvotes_notification_fn: None,
        };
        let votequorum =
            votequorum::initialize(&callbacks).map_err(|c| connect("votequorum", c))?;
        Ok(Connection {
            cmap,
            quorum,
            votequorum,
        })
    }

    /// The worker's query: reads a snapshot over `conn`, connecting first
    /// when there is no connection, and drops the connection when a call
    /// failed in a way that means it is dead.
    pub fn query(conn: &mut Option<Connection>) -> Result<Snapshot, CorosyncError> {
        let c = match conn {
            Some(c) => c,
            None => conn.insert(Connection::open()?),
        };
        let snapshot = c.snapshot();
        if snapshot
            .as_ref()
            .is_err_and(CorosyncError::drops_connection)
        {
            *conn = None;
        }
        snapshot
    }

    /// Reads the node list, this node's id, the quorum flag and which
    /// configured nodes are members of this partition.
    fn snapshot(&self) -> Result<Snapshot, CorosyncError> {
        let nodelist = self.nodelist()?;
        let local_id = self
            .get_u32("runtime.votequorum.this_node_id")?
            .ok_or_else(|| {
                call(
                    "cmap_get(runtime.votequorum.this_node_id)",
                    CsError::CsErrNotExist,
                )
            })?;
        let quorate = quorum::getquorate(&self.quorum).map_err(|c| call("quorum_getquorate", c))?;
        let mut member_ids = std::collections::BTreeSet::new();
        for id in nodelist.iter().filter_map(|n| n.nodeid) {
            match votequorum::get_info(&self.votequorum, NodeId::from(id)) {
                Ok(info) if matches!(info.node_state, NodeState::Member) => {
                    member_ids.insert(id);
                }
                // A configured node votequorum has not heard of: not here.
                Ok(_) | Err(CsError::CsErrNotExist) => {}
                Err(c) => return Err(call(format!("votequorum_getinfo({id})"), c)),
            }
        }
        Ok(Snapshot {
            nodelist,
            local_id,
            quorate,
            member_ids,
        })
    }

    /// `nodelist.node.0.*`, `nodelist.node.1.*`, … up to the first index
    /// with none of the keys read. corosync numbers the entries without
    /// gaps (also after a configuration reload), which is what makes this
    /// walk complete; cmap's iterator is not used because its Rust wrapper
    /// ends silently on an error, which would hide nodes.
    fn nodelist(&self) -> Result<Vec<ConfiguredNode>, CorosyncError> {
        let mut list = Vec::new();
        for i in 0..MAX_NODES {
            let key = |k: &str| format!("nodelist.node.{i}.{k}");
            let entry = ConfiguredNode {
                nodeid: self.get_u32(&key("nodeid"))?,
                name: self.get_string(&key("name"))?,
                ring0_addr: self.get_string(&key("ring0_addr"))?,
            };
            if entry == ConfiguredNode::default() {
                break;
            }
            list.push(entry);
        }
        Ok(list)
    }

    /// A cmap value; `None` when the key does not exist.
    fn get(&self, key: &str) -> Result<Option<Data>, CorosyncError> {
        match cmap::get(&self.cmap, key) {
            Ok(d) => Ok(Some(d)),
            Err(CsError::CsErrNotExist) => Ok(None),
            Err(c) => Err(call(format!("cmap_get({key})"), c)),
        }
    }

    /// A cmap number that fits a node id (any integer type).
    fn get_u32(&self, key: &str) -> Result<Option<u32>, CorosyncError> {
        let n: Option<i128> = match self.get(key)? {
            None => return Ok(None),
            Some(Data::UInt8(v)) => Some(v.into()),
            Some(Data::UInt16(v)) => Some(v.into()),
            Some(Data::UInt32(v)) => Some(v.into()),
            Some(Data::UInt64(v)) => Some(v.into()),
            Some(Data::Int8(v)) => Some(v.into()),
            Some(Data::Int16(v)) => Some(v.into()),
            Some(Data::Int32(v)) => Some(v.into()),
            Some(Data::Int64(v)) => Some(v.into()),
            Some(Data::String(s)) => s.trim().parse().ok(),
            Some(_) => None,
        };
        match n.and_then(|n| u32::try_from(n).ok()) {
            Some(v) => Ok(Some(v)),
            None => Err(CorosyncError::Value(key.to_string())),
        }
    }

    /// A cmap string.
    fn get_string(&self, key: &str) -> Result<Option<String>, CorosyncError> {
        match self.get(key)? {
            None => Ok(None),
            Some(Data::String(s)) => Ok(Some(s)),
            Some(_) => Err(CorosyncError::Value(key.to_string())),
        }
    }
}

fn call(what: impl Into<String>, code: CsError) -> CorosyncError {
    CorosyncError::Call {
        call: what.into(),
        code,
    }
}
