//! The real Proxmox VE node (07 §2): [`env::PveEnv`], the daemons' `Env`
//! over pmxcfs (or a directory laid out like it), and the small modules
//! it is made of — guests on this node ([`guests`], with the one QMP
//! question in [`qmp`]), the guest helper
//! ([`helper`]), the RRD dump ([`rrd`]), systemd's job queue
//! ([`shutdown`]), the syslog sink ([`log`]). Files, locks and the
//! service configuration come from the shared cluster layer
//! (`crate::cluster`); the LRM's worker threads from `crate::pool`.
//!
//! This layer does I/O; the state machines (`crm`, `lrm`) never name it.

pub mod env;
pub mod guests;
pub mod helper;
pub mod log;
pub mod qmp;
pub mod rrd;
pub mod shutdown;

pub use env::{PveConfig, PveEnv};
