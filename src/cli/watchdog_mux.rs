//! `watchdog-mux` (07 §5): the self-fencing guard's command line. It has
//! no subcommands; its messages go to standard error, which systemd hands
//! to the journal.
//!
//! Before anything else it reads the node configuration for its failover
//! budget (07 §10.1) and refuses to start on a bad file or an unsafe
//! budget: one `error: …` line, status 1 like every start-up failure,
//! before any device, marker or socket is touched.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use clap::Parser;

use crate::cluster::node_config;
use crate::watchdog::server::{self, Config, EXIT_FAILURE};
use crate::watchdog::MuxTiming;

/// Owns the watchdog device and feeds it for as long as every client of
/// /run/watchdog-mux.sock writes at least once per client timeout.
///
/// The client timeout, the warning threshold and the device timeout come
/// from the node configuration file, /etc/pve-ha/node.cfg or the file
/// named by the environment variable PVE_HA_NODE_CONFIG. On the pve
/// backend (also when the file does not exist) they are upstream's 60 s,
/// 50 s and 10 s; with 'backend: etcd' they come from the failover budget
/// (watchdog-client-timeout, watchdog-device-timeout; the warning 10 s
/// before expiry, closer for client timeouts under 20 s). watchdog-mux
/// refuses to start, exit status 1, when the file cannot be read or
/// parsed, or when the budget is unsafe: the lease must exceed client
/// timeout + 1 s tick + device timeout + max loop time + skew margin.
/// The HA daemons must read the same file.
#[derive(Parser, Debug)]
#[command(name = "watchdog-mux", version)]
struct Args {
    /// Use PATH instead of /dev/watchdog. A regular file or a FIFO records
    /// the writes ('.' per keep-alive, 'V' on the magic close) and skips
    /// the driver ioctls; no driver module is ever loaded with this option.
    #[arg(long, value_name = "PATH")]
    device: Option<PathBuf>,
}

/// The role's command line (for its man page).
pub fn command() -> clap::Command {
    <Args as clap::CommandFactory>::command()
}

/// Entry point of the role; returns the exit status (1 on a start-up
/// failure or the error exit, 0 after the loop, 2 on bad arguments).
pub fn main(argv: Vec<OsString>) -> i32 {
    let args: Args = match super::parse_args(argv) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let mut err = std::io::stderr();
    let timing = match timing() {
        Ok(t) => t,
        Err(msg) => {
            // One write: one journal line, like the server's messages.
            let _ = err.write_all(format!("error: {msg}\n").as_bytes());
            return EXIT_FAILURE;
        }
    };
    let config = Config {
        device: args.device,
        timing,
    };
    server::run(&config, &mut err)
}

/// The node's thresholds, or why it must not start.
fn timing() -> Result<MuxTiming, String> {
    let node = node_config::load().map_err(|e| e.to_string())?;
    node.budget.check().map_err(|e| e.to_string())?;
    Ok(MuxTiming::from_budget(&node.budget))
}
