//! The shared vocabulary: service ids, state words and result codes. Pure
//! data, no I/O; every role and every file format speaks these types.
//!
//! Invariant: nothing here reads files, clocks or sockets.

pub mod daemon;
pub mod json;
pub mod perl;
pub mod result_code;
pub mod sid;
pub mod states;
pub mod text;
pub mod words;

pub use daemon::Daemon;
pub use result_code::ResultCode;
pub use sid::{ResourceType, Sid, SidError};
pub use states::{
    ConfiguredState, CrmState, DisarmMode, DisarmState, LrmMode, LrmState, NodeState,
    RequestedState, ServiceState,
};
pub use words::{OrUnknown, UnknownWord};
