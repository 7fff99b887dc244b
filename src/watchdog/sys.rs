//! The few Linux system calls the server needs that std does not wrap:
//! epoll, signalfd, timerfd, peer credentials, the listening socket with
//! its exact backlog, the watchdog ioctls and child reaping. Every `unsafe`
//! of the watchdog module lives here, behind functions that take and return
//! owned descriptors and `io::Result`s.

use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::time::Duration;

/// Maps a `-1` return to the thread's errno.
fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Takes ownership of a descriptor a system call just returned.
fn owned(fd: libc::c_int) -> io::Result<OwnedFd> {
    let fd = check(fd)?;
    // SAFETY: the kernel just handed us this descriptor; nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Creates a close-on-exec stream socket bound to `path` and listening with
/// `backlog`. The three steps fail separately because each has its own
/// message (07 §5.8); the error says which one.
pub fn unix_listener(path: &Path, backlog: i32) -> Result<UnixListener, (ListenStep, io::Error)> {
    // SAFETY: plain system call with constant arguments.
    let fd =
        owned(unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) })
            .map_err(|e| (ListenStep::Create, e))?;
    // SAFETY: sockaddr_un is plain old data; all-zero is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_os_str().as_bytes();
    if bytes.len() >= addr.sun_path.len() {
        return Err((
            ListenStep::Bind,
            io::Error::from_raw_os_error(libc::ENAMETOOLONG),
        ));
    }
    for (dst, src) in addr.sun_path.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    // SAFETY: `addr` is a valid sockaddr_un and the length covers it.
    check(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_un).cast(),
            size_of::<libc::sockaddr_un>() as libc::socklen_t,
        )
    })
    .map_err(|e| (ListenStep::Bind, e))?;
    // SAFETY: plain system call on a descriptor we own.
    check(unsafe { libc::listen(fd.as_raw_fd(), backlog) }).map_err(|e| (ListenStep::Listen, e))?;
    Ok(UnixListener::from(fd))
}

/// Which step of [`unix_listener`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenStep {
    Create,
    Bind,
    Listen,
}

/// The pid of the process at the other end of a Unix stream socket, as
/// seen from our pid namespace (0 when it lives outside).
pub fn peer_pid(fd: RawFd) -> io::Result<i32> {
    // SAFETY: ucred is plain old data; the length matches the buffer.
    let mut cred: libc::ucred = unsafe { zeroed() };
    let mut len = size_of::<libc::ucred>() as libc::socklen_t;
    check(unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    })?;
    Ok(cred.pid)
}

/// A close-on-exec epoll instance.
pub struct Epoll(OwnedFd);

impl Epoll {
    pub fn new() -> io::Result<Self> {
        // SAFETY: plain system call.
        owned(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) }).map(Self)
    }

    /// Watches `fd` for input (level-triggered) under `token`.
    pub fn add(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        // SAFETY: `ev` is a valid epoll_event for the duration of the call.
        check(unsafe { libc::epoll_ctl(self.0.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) })
            .map(drop)
    }

    pub fn delete(&self, fd: RawFd) -> io::Result<()> {
        // SAFETY: a null event is allowed for EPOLL_CTL_DEL since Linux 2.6.9.
        check(unsafe {
            libc::epoll_ctl(
                self.0.as_raw_fd(),
                libc::EPOLL_CTL_DEL,
                fd,
                std::ptr::null_mut(),
            )
        })
        .map(drop)
    }

    /// Waits without a timeout (the tick timer is one of the watched
    /// descriptors) and returns the tokens of the ready descriptors; an
    /// interrupted wait is retried. A hang-up needs no flag of its own:
    /// the read that follows sees the end of stream.
    pub fn wait(&self, max: usize) -> io::Result<Vec<u64>> {
        // SAFETY: epoll_event is plain old data.
        let mut buf: Vec<libc::epoll_event> = vec![unsafe { zeroed() }; max.max(1)];
        loop {
            // SAFETY: the buffer holds `buf.len()` events.
            let n = unsafe {
                libc::epoll_wait(
                    self.0.as_raw_fd(),
                    buf.as_mut_ptr(),
                    buf.len() as libc::c_int,
                    -1,
                )
            };
            match check(n) {
                Ok(n) => return Ok(buf[..n as usize].iter().map(|e| e.u64).collect()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// The signals the server handles through its descriptor.
pub const HANDLED_SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// A signal descriptor for [`HANDLED_SIGNALS`], which are blocked for the
/// process so that they are only ever read here.
pub struct SignalFd(OwnedFd);

impl SignalFd {
    pub fn new() -> io::Result<Self> {
        // SAFETY: sigset_t is initialised by sigemptyset before use.
        let mut set: libc::sigset_t = unsafe { zeroed() };
        unsafe {
            libc::sigemptyset(&mut set);
            for s in HANDLED_SIGNALS {
                libc::sigaddset(&mut set, s);
            }
        }
        // SAFETY: `set` is a valid signal set.
        check(unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) })?;
        owned(unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) }).map(Self)
    }

    pub fn fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }

    /// The pending signals, in arrival order.
    pub fn read(&self) -> io::Result<Vec<libc::c_int>> {
        let mut out = Vec::new();
        loop {
            // SAFETY: signalfd_siginfo is plain old data.
            let mut info: libc::signalfd_siginfo = unsafe { zeroed() };
            let size = size_of::<libc::signalfd_siginfo>();
            // SAFETY: the buffer is exactly one signalfd_siginfo.
            let n = unsafe {
                libc::read(
                    self.0.as_raw_fd(),
                    (&mut info as *mut libc::signalfd_siginfo).cast(),
                    size,
                )
            };
            if n == -1 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::WouldBlock => return Ok(out),
                    io::ErrorKind::Interrupted => continue,
                    _ => return Err(e),
                }
            }
            if n as usize != size {
                return Ok(out);
            }
            out.push(info.ssi_signo as libc::c_int);
        }
    }
}

/// A periodic timer on the monotonic clock: the server's check-and-ping
/// tick, which fires even while client events keep arriving (07 §5.11).
pub struct Ticker(OwnedFd);

impl Ticker {
    pub fn new(period: Duration) -> io::Result<Self> {
        // SAFETY: plain system call.
        let fd = owned(unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_CLOEXEC | libc::TFD_NONBLOCK,
            )
        })?;
        let ts = libc::timespec {
            tv_sec: period.as_secs() as libc::time_t,
            tv_nsec: period.subsec_nanos() as libc::c_long,
        };
        let spec = libc::itimerspec {
            it_interval: ts,
            it_value: ts,
        };
        // SAFETY: `spec` is valid; the old value is not wanted.
        check(unsafe { libc::timerfd_settime(fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) })?;
        Ok(Self(fd))
    }

    pub fn fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }

    /// Acknowledges the expirations so far (however many: one check
    /// follows, never a burst).
    pub fn acknowledge(&self) {
        let mut count = [0u8; 8];
        // SAFETY: the buffer is 8 bytes, as timerfd requires.
        let _ = unsafe { libc::read(self.0.as_raw_fd(), count.as_mut_ptr().cast(), count.len()) };
    }
}

/// Collects every exited child without blocking (the journal flush
/// helpers), so none lingers as a zombie.
pub fn reap_children() {
    loop {
        let mut status = 0;
        // SAFETY: plain system call; `status` is a valid out pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            return;
        }
    }
}

/// Closes a descriptor and reports the error, which dropping an owned
/// descriptor would swallow (07 §5.8 has messages for failed closes).
pub fn close(fd: OwnedFd) -> io::Result<()> {
    use std::os::fd::IntoRawFd;
    // SAFETY: we own `fd` and give it up here; it is not used afterwards.
    check(unsafe { libc::close(fd.into_raw_fd()) }).map(drop)
}

/// Sends on a socket without ever raising SIGPIPE: a peer that is gone
/// must show up as `EPIPE`, whatever the process's SIGPIPE disposition
/// (07 §5.10 logs it as `Broken pipe`).
pub fn send_nosignal(fd: RawFd, bytes: &[u8]) -> io::Result<usize> {
    // SAFETY: the buffer is valid for `bytes.len()` bytes.
    let n = unsafe { libc::send(fd, bytes.as_ptr().cast(), bytes.len(), libc::MSG_NOSIGNAL) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

// The Linux watchdog ioctls (<linux/watchdog.h>), built the way the _IOR /
// _IOWR macros build them: direction (2 bits), size (14), type 'W', number.
const fn ioc(dir: u64, nr: u64, size: u64) -> u64 {
    (dir << 30) | (size << 16) | ((b'W' as u64) << 8) | nr
}
const IOC_READ: u64 = 2;
const IOC_WRITE: u64 = 1;

/// `struct watchdog_info`.
#[repr(C)]
struct WatchdogInfo {
    options: u32,
    firmware_version: u32,
    identity: [u8; 32],
}

/// `WDIOC_GETSUPPORT` = _IOR('W', 0, struct watchdog_info).
pub const WDIOC_GETSUPPORT: u64 = ioc(IOC_READ, 0, size_of::<WatchdogInfo>() as u64);
/// `WDIOC_SETTIMEOUT` = _IOWR('W', 6, int).
pub const WDIOC_SETTIMEOUT: u64 = ioc(IOC_READ | IOC_WRITE, 6, size_of::<libc::c_int>() as u64);

/// Asks the driver for a timeout of `seconds` (what it grants is not
/// checked, as upstream).
pub fn watchdog_set_timeout(fd: RawFd, seconds: i32) -> io::Result<()> {
    let mut t: libc::c_int = seconds;
    // SAFETY: WDIOC_SETTIMEOUT reads and writes one int.
    check(unsafe { libc::ioctl(fd, WDIOC_SETTIMEOUT as _, &mut t as *mut libc::c_int) }).map(drop)
}

/// The driver's identity and firmware version.
pub fn watchdog_identity(fd: RawFd) -> io::Result<(String, u32)> {
    let mut info = WatchdogInfo {
        options: 0,
        firmware_version: 0,
        identity: [0; 32],
    };
    // SAFETY: WDIOC_GETSUPPORT fills one struct watchdog_info.
    check(unsafe { libc::ioctl(fd, WDIOC_GETSUPPORT as _, &mut info as *mut WatchdogInfo) })?;
    let len = info
        .identity
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(info.identity.len());
    Ok((
        String::from_utf8_lossy(&info.identity[..len]).into_owned(),
        info.firmware_version,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_numbers_match_the_kernel_headers() {
        // Values of the macros in <linux/watchdog.h> on Linux (x86, arm).
        assert_eq!(WDIOC_GETSUPPORT, 0x8028_5700);
        assert_eq!(WDIOC_SETTIMEOUT, 0xC004_5706);
    }

    #[test]
    fn ticker_fires_and_epoll_reports_its_token() {
        let ep = Epoll::new().unwrap();
        let t = Ticker::new(Duration::from_millis(20)).unwrap();
        ep.add(t.fd(), 7).unwrap();
        let evs = ep.wait(4).unwrap();
        assert_eq!(evs, [7]);
        t.acknowledge();
    }

    #[test]
    fn peer_pid_of_a_socket_pair_is_our_own() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        assert_eq!(peer_pid(a.as_raw_fd()).unwrap(), std::process::id() as i32);
    }

    #[test]
    fn listener_is_bound_and_reports_the_failing_step() {
        let dir = std::env::temp_dir().join(format!("wdmux-sys-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let l = unix_listener(&path, 32).unwrap();
        assert!(std::os::unix::net::UnixStream::connect(&path).is_ok());
        drop(l);
        let err = unix_listener(&path, 32).err().map(|(step, _)| step);
        assert_eq!(err, Some(ListenStep::Bind), "address in use");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
