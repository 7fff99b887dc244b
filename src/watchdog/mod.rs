//! watchdog-mux (07 §5): the node's self-fencing guard. One small server
//! owns the watchdog device and keeps pinging it for as long as every
//! client connected to its Unix socket writes at least once per client
//! timeout (60 s upstream, the node's failover budget on other backends:
//! [`timing`]); [`client`] is the side the CRM and LRM use.
//!
//! Layout: [`clients`] is the pure bookkeeping (slots, idle thresholds,
//! magic close), [`timing`] the thresholds, [`device`] the device and its recording stand-in,
//! [`server`] start-up and the event loop, [`notify`] systemd readiness,
//! [`sys`] the system calls std does not wrap.
//!
//! Trying it by hand, safely: give the server a recording device and a
//! private `/run` (as root), then speak to the socket from inside:
//!
//! ```text
//! : > /tmp/dev
//! unshare --mount --pid --fork sh -c 'mount -t tmpfs tmpfs /run &&
//!   { pve-ha watchdog-mux --device /tmp/dev & p=$!; sleep 1;
//!     perl -MIO::Socket::UNIX -e '\''$s = IO::Socket::UNIX->new(
//!       Peer => "/run/watchdog-mux.sock"); syswrite $s, "\0"; sleep 3;
//!       syswrite $s, "V"; close $s'\''; kill $p; wait; }'
//! ```
//!
//! Leave out the `V` for an unclean goodbye, or sleep 70 s instead of 3
//! for the warning and the expiry (or point `PVE_HA_NODE_CONFIG` at a
//! node.cfg with `backend: etcd` and a short `watchdog-client-timeout`); `/tmp/dev` collects one `.` per keep-alive
//! and the final `V` of a clean exit. Never run it without `--device`:
//! the real `/dev/watchdog` resets the machine once a client fails.

pub mod client;
pub mod clients;
pub mod device;
pub mod notify;
pub mod server;
mod sys;
pub mod timing;

pub use timing::MuxTiming;

use std::time::Duration;

/// The watchdog device the server owns by default.
pub const DEVICE: &str = "/dev/watchdog";
/// The clients' socket.
pub const SOCKET: &str = "/run/watchdog-mux.sock";
/// Present while clients are (or were last seen) active; a restart is
/// refused while it exists.
pub const ACTIVE_MARKER: &str = "/run/watchdog-mux.active";
/// Backlog of the listening socket.
pub const LISTEN_BACKLOG: i32 = 32;
// The next three are upstream's values ([`MuxTiming::upstream`]); the
// server counts with the [`MuxTiming`] it is given.

/// Timeout asked of the device at start (seconds).
pub const DEVICE_TIMEOUT_SECS: i32 = 10;
/// A client idle for strictly more than this many whole seconds expires.
pub const CLIENT_TIMEOUT_SECS: u64 = 60;
/// A client idle for strictly more than this many whole seconds is warned.
pub const CLIENT_WARN_SECS: u64 = CLIENT_TIMEOUT_SECS - 10;
/// Period of the check-and-ping tick.
pub const TICK: Duration = Duration::from_secs(1);
/// Upstream's slot table has 100 entries, two of which it uses itself.
pub const MAX_CLIENTS: usize = 100 - 2;
/// Bytes read from a client at a time.
pub const READ_BUFFER: usize = 4096;
/// Asks journald to write out what it has, so the last words before a
/// reset are on disk.
pub const JOURNAL_FLUSH: &str = "/bin/journalctl";
/// The byte a client sends last to leave without fencing the node, and
/// the magic-close byte of the device.
pub const MAGIC_CLOSE: u8 = b'V';
