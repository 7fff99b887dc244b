//! The one QMP question `check_running` asks (05 §12.2): the run status of
//! a VM whose configuration holds `lock: backup`, because a VM started
//! only to be backed up waits in `prelaunch` and does not count as
//! running. Bounded by a short timeout on every step, so a stuck QEMU
//! can never stall the daemon loop.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::sys::errno::errno_text;

/// Per-step limit for connect, read and write.
const STEP: Duration = Duration::from_secs(1);

/// The `status` of `query-status` through the QMP socket at `socket`.
pub fn query_status(socket: &Path) -> Result<String, String> {
    let stream = UnixStream::connect(socket)
        .map_err(|e| format!("unable to connect to VM socket - {}", errno_text(&e)))?;
    stream
        .set_read_timeout(Some(STEP))
        .and_then(|()| stream.set_write_timeout(Some(STEP)))
        .map_err(|e| errno_text(&e))?;
    let mut writer = stream.try_clone().map_err(|e| errno_text(&e))?;
    let mut reader = BufReader::new(stream);
    // The greeting, then the capabilities handshake, then the question.
    read_reply(&mut reader, false)?;
    send(&mut writer, r#"{"execute":"qmp_capabilities"}"#)?;
    read_reply(&mut reader, true)?;
    send(&mut writer, r#"{"execute":"query-status"}"#)?;
    let reply = read_reply(&mut reader, true)?;
    reply
        .get("return")
        .and_then(|r| r.get("status"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| "got unexpected QMP reply".to_string())
}

fn send(w: &mut UnixStream, cmd: &str) -> Result<(), String> {
    w.write_all(format!("{cmd}\n").as_bytes())
        .map_err(|e| format!("QMP write failed - {}", errno_text(&e)))
}

/// The next message that is not an asynchronous event; `want_return`
/// turns an `error` reply into an error.
fn read_reply(r: &mut BufReader<UnixStream>, want_return: bool) -> Result<Value, String> {
    // Events may precede the reply; a handful is plenty.
    for _ in 0..16 {
        let mut line = String::new();
        let n = r
            .read_line(&mut line)
            .map_err(|e| format!("QMP read failed - {}", errno_text(&e)))?;
        if n == 0 {
            return Err("QMP connection closed".to_string());
        }
        let v: Value = serde_json::from_str(&line).map_err(|e| format!("QMP: {e}"))?;
        if v.get("event").is_some() {
            continue;
        }
        if want_return {
            if let Some(e) = v.get("error") {
                let desc = e.get("desc").and_then(Value::as_str).unwrap_or("error");
                return Err(desc.to_string());
            }
        }
        return Ok(v);
    }
    Err("QMP: no reply".to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    /// A QMP server answering one client with `status`.
    pub fn serve(socket: &Path, status: &'static str) -> std::thread::JoinHandle<()> {
        let listener = UnixListener::bind(socket).unwrap();
        std::thread::spawn(move || {
            let Ok((conn, _)) = listener.accept() else {
                return;
            };
            let mut w = conn.try_clone().unwrap();
            let mut r = BufReader::new(conn);
            let _ = w.write_all(b"{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n");
            let mut line = String::new();
            let _ = r.read_line(&mut line);
            let _ = w.write_all(b"{\"return\": {}}\n");
            line.clear();
            let _ = r.read_line(&mut line);
            let _ = w.write_all(b"{\"event\": \"RESUME\", \"timestamp\": {}}\n");
            let reply =
                format!("{{\"return\": {{\"status\": \"{status}\", \"running\": false}}}}\n");
            let _ = w.write_all(reply.as_bytes());
        })
    }

    #[test]
    fn asks_for_the_status() {
        let dir = std::env::temp_dir().join(format!("pve-ha-qmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("100.qmp");
        let t = serve(&sock, "prelaunch");
        assert_eq!(query_status(&sock).as_deref(), Ok("prelaunch"));
        let _ = t.join();
        let e = query_status(&dir.join("none.qmp")).unwrap_err();
        assert_eq!(
            e,
            "unable to connect to VM socket - No such file or directory"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
