//! Integration tests of the `ha-manager` role (issue 7): golden transcripts
//! of every command family on scratch roots seeded from our own fixtures,
//! concurrent edits under the `ha` domain lock, the lock timeout, and the
//! completion / man page generators.

#[path = "cli/harness.rs"]
mod harness;

#[path = "cli/golden.rs"]
mod golden;

#[path = "cli/concurrency.rs"]
mod concurrency;

#[path = "cli/lock.rs"]
mod lock;

#[path = "cli/completion.rs"]
mod completion;

#[path = "cli/status_props.rs"]
mod status_props;

#[path = "cli/rewrite_guard.rs"]
mod rewrite_guard;
