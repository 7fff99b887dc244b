//! The tester role (`pve-ha-tester`): upstream's regression checks. For now
//! the fence-config report (06 §6.6); scenario runs come with the simulator.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;

use super::output;
use crate::config::fence;

#[derive(Debug, Parser)]
#[command(
    name = "pve-ha-tester",
    version,
    about = "Run upstream-compatible HA regression checks",
    arg_required_else_help = true
)]
struct Args {
    /// Print the fence-device report of FILE (which nodes get which agent
    /// command on each try), as upstream's fence config test does.
    #[arg(long, value_name = "FILE")]
    fence_config: Option<PathBuf>,
}

/// Entry point of the role.
pub fn main(argv: Vec<OsString>) -> i32 {
    let args = match Args::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    match args.fence_config {
        Some(path) => fence_report(&path),
        None => 0,
    }
}

/// Prints the §6.6 report for one fence config; the file name in messages
/// is the path as given.
fn fence_report(path: &PathBuf) -> i32 {
    let raw = match std::fs::read(path) {
        Ok(raw) => raw,
        Err(e) => {
            output::error(format!("unable to read '{}': {e}", path.display()));
            return 1;
        }
    };
    let name = path.to_string_lossy();
    let text = String::from_utf8_lossy(&raw);
    if let Ok(parsed) = fence::parse(&name, &text) {
        for w in &parsed.warnings {
            output::eprint(&format!("{w}\n"));
        }
    }
    output::print(&fence::conformance_report(&name, &text));
    0
}
