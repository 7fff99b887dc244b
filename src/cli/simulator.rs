//! The simulator role (`pve-ha-simulator`, 01 §10): a live virtual cluster
//! served as a local web page, or with `--batch` the regression tester on
//! the directory, as upstream's simulator does.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;

use super::output;
use crate::sim::live::{self, access, signals, Config, Listener, Policy, DEFAULT_LISTEN};
use crate::sim::tester;

/// Fastest clock the simulator accepts: beyond it, thread scheduling
/// delays of a loaded machine become minutes of virtual time and daemons
/// abort with `loop took too long`.
pub const MAX_SPEED: f64 = 1000.0;

#[derive(Debug, Parser)]
#[command(
    name = "pve-ha-simulator",
    version,
    about = "Run a virtual HA cluster in real time and watch it in the browser",
    after_help = "Without DIR the default cluster (3 nodes, 6 VMs) runs in a fresh \
                  temporary directory and is booted: every node powered on, every \
                  service requested 'started'. The HTTP API is documented in the README."
)]
struct Args {
    /// Working directory: its hardware_status, service_config, … are read
    /// (missing files give the default 3-node, 6-VM cluster, all nodes
    /// off); the live state is kept in DIR/status, the log in DIR/log.
    #[arg(value_name = "DIR")]
    dir: Option<PathBuf>,

    /// Run the regression tester on DIR instead (DIR/cmdlist, log to
    /// DIR/status/log and stdout), exactly as upstream's --batch.
    #[arg(long, requires = "dir")]
    batch: bool,

    /// Address to serve the page on (port 0 picks a free port). A
    /// non-loopback or wildcard address requires a token.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    listen: String,

    /// The token every request must carry (`?token=T` or
    /// `Authorization: Bearer T`); generated and printed in the URL when a
    /// non-loopback --listen needs one and none is given.
    #[arg(long, value_name = "T", value_parser = parse_token)]
    token: Option<String>,

    /// Run the virtual clock N times faster than real time, so that a
    /// failover takes seconds instead of minutes.
    #[arg(long, value_name = "N", default_value_t = 1.0, value_parser = parse_speed)]
    speed: f64,

    /// Record every action into DIR/cmdlist (overwriting it), for the
    /// tester to replay: `pve-ha simulator DIR --batch`.
    #[arg(long)]
    record: bool,

    /// Power on every node and request every service 'started' at start
    /// (the default when no DIR is given).
    #[arg(long)]
    boot: bool,
}

/// `--speed`: a number in (0, MAX_SPEED].
fn parse_speed(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if v > 0.0 && v <= MAX_SPEED {
        Ok(v)
    } else {
        Err(format!("must be more than 0 and at most {MAX_SPEED}"))
    }
}

/// `--token`: characters that need no escaping in a URL.
fn parse_token(s: &str) -> Result<String, String> {
    if access::valid_token(s) {
        Ok(s.to_string())
    } else {
        Err("use letters, digits, '-', '.', '_' or '~'".into())
    }
}

/// The role's command line (for its man page).
pub fn command() -> clap::Command {
    <Args as clap::CommandFactory>::command()
}

/// Entry point of the role.
pub fn main(argv: Vec<OsString>) -> i32 {
    let args: Args = match super::parse_args(argv) {
        Ok(a) => a,
        Err(code) => return code,
    };
    if args.batch {
        return match &args.dir {
            Some(dir) => batch(dir),
            None => super::dispatch::EXIT_USAGE,
        };
    }
    // Bind first: a busy port must fail before anything is created.
    let listener = match Listener::bind(&args.listen) {
        Ok(l) => l,
        Err(e) => {
            output::error(e);
            return 1;
        }
    };
    let policy = match Policy::for_listen(listener.local_addr(), args.token.clone()) {
        Ok(p) => p,
        Err(e) => {
            output::error(format!("unable to generate a token: {e}"));
            return 1;
        }
    };
    if let Err(e) = signals::install() {
        output::error(format!("unable to handle signals: {e}"));
        return 1;
    }
    let (dir, boot, created) = match &args.dir {
        Some(d) => (d.clone(), args.boot, false),
        None => match fresh_dir() {
            Ok(d) => (d, true, true),
            Err(e) => {
                output::error(e);
                return 1;
            }
        },
    };
    let code = interactive(&args, listener, policy, dir.clone(), boot);
    // Only a directory of our own making goes; never the user's DIR.
    if created {
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            output::error(format!("{}: {e}", dir.display()));
            return code.max(1);
        }
    }
    code
}

/// `--batch`: the tester on DIR (01 §10), without comparing any
/// `log.expect`, exit 0 once the run is complete.
fn batch(dir: &Path) -> i32 {
    match tester::run_with_status_dir(dir, &dir.join("status"), true) {
        Ok(_) => 0,
        Err(e) => {
            output::error(e);
            1
        }
    }
}

/// A new, empty directory under the system's temporary directory.
fn fresh_dir() -> Result<PathBuf, String> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!("pve-ha-simulator-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// Runs the live cluster until the process is stopped (Ctrl-C or
/// SIGTERM: exit status 130 or 143, once every thread that writes into
/// the directory has ended).
fn interactive(args: &Args, listener: Listener, policy: Policy, dir: PathBuf, boot: bool) -> i32 {
    let cfg = Config {
        dir: dir.clone(),
        speed: args.speed,
        record: args.record,
    };
    let notice = Box::new(|msg: &str| output::print(&format!("{msg}\n")));
    let server = match live::start(cfg, listener, policy, notice) {
        Ok(s) => s,
        Err(e) => {
            output::error(e);
            return 1;
        }
    };
    let rt = server.runtime().clone();
    output::print(&format!(
        "pve-ha simulator: working directory {}\n",
        dir.display()
    ));
    if args.record {
        output::print(&format!(
            "pve-ha simulator: recording actions into {}\n",
            dir.join("cmdlist").display()
        ));
    }
    if boot {
        if let Err(e) = rt.boot() {
            output::error(e.line());
            rt.shutdown();
            return 1;
        }
    }
    output::print(&format!(
        "pve-ha simulator: serving {} (clock speed {}x; Ctrl-C stops)\n",
        server.url(),
        args.speed
    ));
    server.serve(|| signals::caught().is_some());
    rt.shutdown();
    signals::caught().map_or(0, signals::exit_status)
}
