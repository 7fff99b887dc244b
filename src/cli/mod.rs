//! Command-line front ends. [`dispatch`] picks a role from argv[0] or the
//! first argument; each role module parses its own arguments with clap and
//! returns the process exit code.
//!
//! Invariant: this is the only layer (with `src/bin`) that prints to the
//! terminal or maps errors to exit codes; everything below returns values.

pub mod daemon;
pub mod dispatch;
pub mod ha_manager;
pub mod man;
pub mod output;
pub mod simulator;
pub mod tester;
pub mod watchdog_mux;

pub use dispatch::{dispatch, Role, ROLES};

/// Parses a role's arguments with clap; on `--help`, `--version` or a
/// usage error prints clap's text and returns the exit status to use
/// (0 or 2).
pub(crate) fn parse_args<T: clap::Parser>(argv: Vec<std::ffi::OsString>) -> Result<T, i32> {
    T::try_parse_from(argv).map_err(|e| {
        let _ = e.print();
        e.exit_code()
    })
}
