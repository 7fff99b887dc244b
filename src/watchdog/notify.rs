//! systemd readiness (`Type=notify`, 07 §5.9): one `READY=1` datagram to
//! `$NOTIFY_SOCKET`. Hand-written rather than a crate: it is a single
//! `sendto` on a Unix datagram socket, and the server should link as
//! little as possible (it stays resident for the node's whole uptime).

use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// Sends `READY=1` if the service manager asked for it; without
/// `NOTIFY_SOCKET` (started by hand) there is nobody to tell.
pub fn ready() -> io::Result<()> {
    match std::env::var_os("NOTIFY_SOCKET") {
        Some(path) => send(path.as_bytes(), b"READY=1"),
        None => Ok(()),
    }
}

/// Sends `state` to the notification socket `path`; a leading `@` names
/// an abstract socket.
fn send(path: &[u8], state: &[u8]) -> io::Result<()> {
    let addr = match path.strip_prefix(b"@") {
        Some(name) => SocketAddr::from_abstract_name(name)?,
        None => SocketAddr::from_pathname(std::ffi::OsStr::from_bytes(path))?,
    };
    UnixDatagram::unbound()?
        .send_to_addr(state, &addr)
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_reaches_a_path_socket() {
        let path = std::env::temp_dir().join(format!("wdmux-notify-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let rx = UnixDatagram::bind(&path).unwrap();
        send(path.as_os_str().as_bytes(), b"READY=1").unwrap();
        let mut buf = [0u8; 32];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn ready_reaches_an_abstract_socket() {
        let name = format!("wdmux-notify-test-{}", std::process::id());
        let rx = UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
            .unwrap();
        send(format!("@{name}").as_bytes(), b"READY=1").unwrap();
        let mut buf = [0u8; 32];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
    }
}
