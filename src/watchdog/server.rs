//! The server: start-up (07 §5.3), the event loop (§5.4, §5.5) and the
//! way out (§5.6, §5.7). Every line it prints is one of §5.8's messages,
//! written to the given stream (standard error, which systemd hands to
//! the journal).
//!
//! The loop is epoll on four kinds of descriptor: the listening socket,
//! the clients, a signal descriptor and a 1 s monotonic timer. The timer
//! is the one improvement over upstream's "quiet second" (§5.11): the
//! check-and-ping runs once per second even while clients keep writing,
//! so a chatty client can no longer starve the device.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::sys::errno::errno_text;

use super::clients::{Clients, Departure, Finding, Token};
use super::device::{self, Device, Kind};
use super::sys::{self, Epoll, ListenStep, SignalFd, Ticker};
use super::{
    notify, MuxTiming, ACTIVE_MARKER, DEVICE, JOURNAL_FLUSH, LISTEN_BACKLOG, READ_BUFFER, SOCKET,
    TICK,
};

/// How the server was asked to run.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// `--device PATH`. `None` is the real `/dev/watchdog`, the only case
    /// in which a driver module may be loaded.
    pub device: Option<PathBuf>,
    /// Client thresholds and the device timeout; upstream's by default,
    /// the node's failover budget otherwise (checked by the caller).
    pub timing: MuxTiming,
}

/// Exit status after start-up failures and the error exit.
pub const EXIT_FAILURE: i32 = 1;

/// The failures of 07 §5.8 that end the process, with their texts.
#[derive(Debug, thiserror::Error)]
pub enum Fatal {
    #[error("watchdog active - unable to restart watchdog-mux")]
    Active,
    #[error("watchdog open: {}", errno_text(.0))]
    Open(io::Error),
    #[error("watchdog set timeout: {}", errno_text(.0))]
    SetTimeout(io::Error),
    #[error("read watchdog info: {}", errno_text(.0))]
    Identity(io::Error),
    #[error("socket create: {}", errno_text(.0))]
    SocketCreate(io::Error),
    #[error("socket bind: {}", errno_text(.0))]
    SocketBind(io::Error),
    #[error("socket listen: {}", errno_text(.0))]
    SocketListen(io::Error),
    #[error("epoll_create: {}", errno_text(.0))]
    EpollCreate(io::Error),
    #[error("epoll_ctl add listen_sock: {}", errno_text(.0))]
    EpollAddListen(io::Error),
    #[error("unable to open signalfd: {}", errno_text(.0))]
    SignalFd(io::Error),
    #[error("epoll_ctl add sigfd: {}", errno_text(.0))]
    EpollAddSignal(io::Error),
    /// Our tick timer (not in upstream, which has none).
    #[error("timerfd: {}", errno_text(.0))]
    Timer(io::Error),
    #[error("epoll_pwait: {}", errno_text(.0))]
    Wait(io::Error),
    #[error("accept: {}", errno_text(.0))]
    Accept(io::Error),
    #[error("setnonblocking: {}", errno_text(.0))]
    NonBlocking(io::Error),
    #[error("unable to alloc wd_client structure")]
    TableFull,
    #[error("epoll_ctl: add conn_sock: {}", errno_text(.0))]
    EpollAddClient(io::Error),
    #[error("read: {}", errno_text(.0))]
    Read(io::Error),
    #[error("epoll_ctl: del conn_sock: {}", errno_text(.0))]
    EpollDelClient(io::Error),
    #[error("close conn_sock: {}", errno_text(.0))]
    CloseClient(io::Error),
}

/// Runs watchdog-mux until its loop ends; returns the exit status.
pub fn run(config: &Config, out: &mut dyn Write) -> i32 {
    if Path::new(ACTIVE_MARKER).exists() {
        say(out, Fatal::Active);
        return EXIT_FAILURE;
    }
    let path = match &config.device {
        Some(p) => p.clone(),
        None => {
            device::load_default_driver(out);
            PathBuf::from(DEVICE)
        }
    };
    let device = match Device::open(&path) {
        Ok(d) => d,
        Err(e) => {
            say(out, Fatal::Open(e));
            return EXIT_FAILURE;
        }
    };
    let mut device = match prepare(device, config.timing.device_timeout, out) {
        Some(d) => d,
        None => return EXIT_FAILURE,
    };
    let served = Server::start(config.timing, out).and_then(|mut s| {
        let r = s.serve(&mut device);
        r.map(|()| s.clients.any_active())
    });
    match served {
        Ok(active) => {
            if active {
                say(out, "exit watchdog-mux with active connections");
                flush_journal();
                // The device stays armed: closing it without `V` (at exit)
                // lets it reset the node.
            } else {
                say(out, "clean exit");
                let (written, closed) = device.magic_close();
                if let Err(e) = written {
                    say(
                        out,
                        format_args!("write magic watchdog close: {}", errno_text(&e)),
                    );
                }
                if let Err(e) = closed {
                    say(out, format_args!("close watchdog fd: {}", errno_text(&e)));
                }
            }
            let _ = std::fs::remove_file(SOCKET);
            0
        }
        Err(fatal) => {
            // The error exit (§5.7): no magic close.
            say(out, fatal);
            let _ = std::fs::remove_file(SOCKET);
            EXIT_FAILURE
        }
    }
}

/// Steps 4 and 5 of the start-up: timeout and identity of a real driver,
/// or the notice that a recording device skips them.
fn prepare(device: Device, timeout_secs: i32, out: &mut dyn Write) -> Option<Device> {
    let what = match device.kind() {
        Kind::Watchdog => {
            let checked = device
                .set_timeout(timeout_secs)
                .map_err(Fatal::SetTimeout)
                .and_then(|()| device.identity().map_err(Fatal::Identity));
            return match checked {
                Ok((identity, version)) => {
                    say(
                        out,
                        format_args!("Watchdog driver '{identity}', version {version:x}"),
                    );
                    Some(device)
                }
                Err(fatal) => {
                    say(out, fatal);
                    let _ = device.magic_close();
                    None
                }
            };
        }
        Kind::RecordingFile => "regular file",
        Kind::RecordingFifo => "FIFO",
    };
    say(
        out,
        format_args!(
            "recording device '{}' ({what}): watchdog timeout and identity skipped",
            device.path().display()
        ),
    );
    Some(device)
}

/// Prints one message line with a single write.
fn say(out: &mut dyn Write, msg: impl Display) {
    let _ = out.write_all(format!("{msg}\n").as_bytes());
}

/// Asks journald to sync, fire-and-forget: the child is reaped by the
/// next tick, and a missing journalctl is no reason to stop guarding.
fn flush_journal() {
    let _ = Command::new(JOURNAL_FLUSH)
        .arg("--sync")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

// Tokens of the server's own descriptors; clients count up from 0.
const LISTEN: Token = u64::MAX;
const SIGNALS: Token = u64::MAX - 1;
const TICKER: Token = u64::MAX - 2;

/// The running loop's state.
struct Server<'o> {
    out: &'o mut dyn Write,
    epoll: Epoll,
    listener: UnixListener,
    signals: SignalFd,
    ticker: Ticker,
    clients: Clients,
    /// Open connections; a client that left without `V` keeps its slot in
    /// `clients` but is gone from here.
    conns: BTreeMap<Token, UnixStream>,
    /// False once a client expired or left without `V`: from then on the
    /// device is never pinged again.
    pinging: bool,
}

impl<'o> Server<'o> {
    /// Steps 6–8: socket, event loop, signals; then readiness.
    fn start(timing: MuxTiming, out: &'o mut dyn Write) -> Result<Self, Fatal> {
        let _ = std::fs::remove_file(SOCKET);
        let listener = sys::unix_listener(Path::new(SOCKET), LISTEN_BACKLOG).map_err(
            |(step, e)| match step {
                ListenStep::Create => Fatal::SocketCreate(e),
                ListenStep::Bind => Fatal::SocketBind(e),
                ListenStep::Listen => Fatal::SocketListen(e),
            },
        )?;
        listener
            .set_nonblocking(true)
            .map_err(Fatal::SocketListen)?;
        let epoll = Epoll::new().map_err(Fatal::EpollCreate)?;
        epoll
            .add(listener.as_raw_fd(), LISTEN)
            .map_err(Fatal::EpollAddListen)?;
        let signals = SignalFd::new().map_err(Fatal::SignalFd)?;
        epoll
            .add(signals.fd(), SIGNALS)
            .map_err(Fatal::EpollAddSignal)?;
        let ticker = Ticker::new(TICK).map_err(Fatal::Timer)?;
        epoll.add(ticker.fd(), TICKER).map_err(Fatal::Timer)?;
        let _ = notify::ready();
        Ok(Self {
            out,
            epoll,
            listener,
            signals,
            ticker,
            clients: Clients::new(timing),
            conns: BTreeMap::new(),
            pinging: true,
        })
    }

    fn say(&mut self, msg: impl Display) {
        say(self.out, msg);
    }

    /// The main loop (§5.5). Returns when a terminate request was handled
    /// or on the first wake-up after pinging was disabled.
    fn serve(&mut self, device: &mut Device) -> Result<(), Fatal> {
        loop {
            let events = self
                .epoll
                .wait(16 + self.conns.len())
                .map_err(Fatal::Wait)?;
            if !self.pinging {
                return Ok(());
            }
            let mut terminate = false;
            for token in events {
                match token {
                    LISTEN => self.accept()?,
                    SIGNALS => terminate |= self.signals()?,
                    TICKER => self.tick(device),
                    client => self.read(client)?,
                }
            }
            if terminate {
                return Ok(());
            }
        }
    }

    /// The once-per-second check of every slot, then the ping.
    fn tick(&mut self, device: &mut Device) {
        self.ticker.acknowledge();
        sys::reap_children();
        if !self.pinging {
            return;
        }
        for finding in self.clients.check(Instant::now()) {
            match finding {
                Finding::Averted(pid) => self.say(format_args!(
                    "client (PID {pid}) watchdog was updated before expiring"
                )),
                Finding::AboutToExpire(pid) => {
                    self.say(format_args!(
                        "client (PID {pid}) watchdog is about to expire"
                    ));
                    flush_journal();
                }
                Finding::Expired(pid) => {
                    self.pinging = false;
                    self.say(format_args!(
                        "client (PID {pid}) watchdog expired - disable watchdog updates"
                    ));
                }
            }
        }
        if self.pinging {
            if let Err(e) = device.ping() {
                self.say(format_args!("watchdog update failed: {}", errno_text(&e)));
            }
        }
    }

    /// Reads the pending signals; true on a terminate request.
    fn signals(&mut self) -> Result<bool, Fatal> {
        // A failing read of our own signal descriptor is as fatal as a
        // failing wait: without it the server can no longer be stopped.
        let signals = self.signals.read().map_err(Fatal::Wait)?;
        let mut terminate = false;
        for s in signals {
            if s == libc::SIGHUP {
                self.say("got SIGHUP - ignored");
            } else {
                self.say("got terminate request");
                terminate = true;
            }
        }
        Ok(terminate)
    }

    /// A new connection (§5.4).
    fn accept(&mut self) -> Result<(), Fatal> {
        let stream = match self.listener.accept() {
            Ok((s, _)) => s,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::Interrupted
                        | io::ErrorKind::ConnectionAborted
                ) =>
            {
                return Ok(())
            }
            Err(e) => return Err(Fatal::Accept(e)),
        };
        stream.set_nonblocking(true).map_err(Fatal::NonBlocking)?;
        let pid = sys::peer_pid(stream.as_raw_fd()).unwrap_or_else(|e| {
            self.say(format_args!("get peer credentials: {}", errno_text(&e)));
            0
        });
        let token = self
            .clients
            .add(pid, Instant::now())
            .map_err(|_| Fatal::TableFull)?;
        self.epoll
            .add(stream.as_raw_fd(), token)
            .map_err(Fatal::EpollAddClient)?;
        self.conns.insert(token, stream);
        // Errors other than "exists" are not fatal either: the marker only
        // guards against restarts.
        let _ = std::fs::DirBuilder::new().mode(0o600).create(ACTIVE_MARKER);
        self.say(format_args!("added new client (PID {pid}) to watch"));
        Ok(())
    }

    /// Input on a client connection.
    fn read(&mut self, token: Token) -> Result<(), Fatal> {
        let Some(stream) = self.conns.get_mut(&token) else {
            return Ok(());
        };
        let mut buf = [0u8; READ_BUFFER];
        match stream.read(&mut buf) {
            Ok(0) => self.disconnect(token),
            Ok(n) => {
                self.clients.data(token, &buf[..n], Instant::now());
                Ok(())
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(Fatal::Read(e)),
        }
    }

    /// End of stream (§5.4). Upstream only acts on end of stream together
    /// with a hang-up and spins on a mere half-close; any end of stream
    /// counts here, which removes that failure mode.
    fn disconnect(&mut self, token: Token) -> Result<(), Fatal> {
        if let Some(stream) = self.conns.remove(&token) {
            self.epoll
                .delete(stream.as_raw_fd())
                .map_err(Fatal::EpollDelClient)?;
            sys::close(OwnedFd::from(stream)).map_err(Fatal::CloseClient)?;
        }
        match self.clients.disconnect(token) {
            Some(Departure::Clean(pid)) => self.say(format_args!(
                "client (PID {pid}) has disconnected cleanly. Removing it gracefully from the watch"
            )),
            Some(Departure::Unclean(pid)) => {
                self.say(format_args!(
                    "client (PID {pid}) did not stop watchdog - disable watchdog updates"
                ));
                flush_journal();
                self.pinging = false;
            }
            None => {}
        }
        if !self.clients.any_active() {
            self.say("all watchdog client connections to the multiplexer closed");
            let _ = std::fs::remove_dir(ACTIVE_MARKER);
        }
        Ok(())
    }
}
