//! The cluster resource manager (02, 03, 04): the CRM daemon state machine
//! that elects one master, and the master's manager with the service state
//! machine and placement.
//!
//! Invariant: pure. Every effect goes through [`crate::env::Env`]; nothing
//! here reads a clock, a file or a socket.

pub mod daemon;
pub mod fsm;
pub mod manager;
pub mod node_status;
pub mod placement;

pub use daemon::Crm;
