//! pve-ha: the Proxmox VE high-availability stack as one library behind one
//! multi-call binary. See ARCHITECTURE.md for the map.

pub mod cli;
pub mod cluster;
pub mod config;
pub mod crm;
pub mod daemon;
pub mod env;
pub mod lrm;
pub mod ocf;
pub mod pool;
pub mod pve;
pub mod sim;
pub mod sys;
pub mod types;
pub mod watchdog;
