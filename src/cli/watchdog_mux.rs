//! `watchdog-mux` (07 §5): the self-fencing guard's command line. It has
//! no subcommands; its messages go to standard error, which systemd hands
//! to the journal.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;

use crate::watchdog::server::{self, Config};

/// Owns the watchdog device and feeds it for as long as every client of
/// /run/watchdog-mux.sock writes at least once per 60 seconds.
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
    let config = Config {
        device: args.device,
    };
    server::run(&config, &mut std::io::stderr())
}
