//! OCF resource agents (docs/ocf.md), the resource standard of Linux HA:
//! resource type `ocf` runs `<OCF_ROOT>/resource.d/<provider>/<type>`.
//!
//! * `agent` — one action with the OCF environment, a timeout that kills
//!   the process group, the captured output;
//! * `exit` — the OCF return codes and what they mean for the LRM;
//! * `metadata` — the `meta-data` XML: parameters, actions, timeouts;
//! * `validate` — the checks of `ha-manager add/set`;
//! * `driver` — the resource plugin operations the real environment
//!   calls for `ocf` sids.
//!
//! A layer beside `pve`: it runs processes, knows the configuration
//! values (`config::ocf`) and the `Env` error type, never the daemons,
//! the cluster store or the front ends.

pub mod agent;
pub mod driver;
pub mod exit;
pub mod metadata;
pub mod validate;

pub use driver::OcfDriver;
