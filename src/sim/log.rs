//! The simulator's log (01 §3): the line format, the level rules for daemon
//! and harness lines, and the sink every line goes to (memory, plus any
//! number of echo writers such as `status/log` and stdout).

use std::fmt;
use std::io::Write;

use crate::env::{LogLevel, Time};

/// Formats one log line (01 §3.1): level left-justified in 5 columns, the
/// time right-justified in 5, the id right-justified in 12, then `: ` and
/// the message. Longer fields widen the line instead of being cut. One
/// trailing newline of the message is removed; the rest is verbatim.
pub fn format_line(level: &str, time: Time, id: &str, msg: &str) -> String {
    let msg = msg.strip_suffix('\n').unwrap_or(msg);
    format!("{level:<5} {time:>5} {id:>12}: {msg}\n")
}

/// Splits a line written by [`format_line`] into its time, id and
/// message (the level is dropped); `None` for anything else, such as the
/// one-space line after an abnormal end.
pub fn parse_line(line: &str) -> Option<(Time, &str, &str)> {
    let rest = line.trim_start();
    let (_level, rest) = rest.split_once(' ')?;
    let rest = rest.trim_start();
    let (time, rest) = rest.split_once(' ')?;
    let time = time.parse().ok()?;
    let (id, msg) = rest.trim_start().split_once(": ")?;
    Some((time, id, msg.strip_suffix('\n').unwrap_or(msg)))
}

/// The level word a *daemon* environment prints (01 §3.2): `debug` is
/// dropped (`None`), every other level is cut to its first 4 characters
/// (`notice` → `noti`, `warning` → `warn`, `email` → `emai`).
pub fn daemon_level(level: LogLevel) -> Option<&'static str> {
    if level == LogLevel::Debug {
        return None;
    }
    let word = level.as_str();
    Some(word.get(..4).unwrap_or(word))
}

/// Where log lines go: always kept in memory (the tester compares them),
/// and written line by line, in call order, to every echo writer.
///
/// `Send`, so the hardware that owns it can later sit behind a mutex in a
/// real-time driver.
#[derive(Default)]
pub struct LogSink {
    text: String,
    echoes: Vec<Box<dyn Write + Send>>,
}

impl fmt::Debug for LogSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogSink")
            .field("bytes", &self.text.len())
            .field("echoes", &self.echoes.len())
            .finish()
    }
}

impl LogSink {
    /// An empty, memory-only sink.
    pub fn new() -> Self {
        LogSink::default()
    }

    /// Adds a writer that receives every following line as it is logged.
    /// Write errors are ignored: the log is best-effort output, and the
    /// in-memory copy is what the tester compares.
    pub fn add_echo(&mut self, w: Box<dyn Write + Send>) {
        self.echoes.push(w);
    }

    /// Appends one formatted line (see [`format_line`]).
    pub fn line(&mut self, level: &str, time: Time, id: &str, msg: &str) {
        let line = format_line(level, time, id, msg);
        for w in &mut self.echoes {
            let _ = w.write_all(line.as_bytes());
        }
        self.text.push_str(&line);
    }

    /// Everything logged so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Flushes the echo writers (buffered files) and drops them.
    pub fn close_echoes(&mut self) {
        for mut w in self.echoes.drain(..) {
            let _ = w.flush();
        }
    }
}

impl Drop for LogSink {
    fn drop(&mut self) {
        self.close_echoes();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn parse_line_inverts_format_line() {
        let l = format_line("info", 240, "node1/crm", "recover service 'vm:1': a: b");
        assert_eq!(
            parse_line(&l),
            Some((240, "node1/crm", "recover service 'vm:1': a: b"))
        );
        assert_eq!(parse_line(" "), None);
    }

    #[test]
    fn line_format_matches_the_examples() {
        assert_eq!(
            format_line("info", 0, "hardware", "starting simulation"),
            "info      0     hardware: starting simulation\n"
        );
        assert_eq!(
            format_line("emai", 160, "node1/crm", "FENCE: Try to fence node 'node3'"),
            "emai    160    node1/crm: FENCE: Try to fence node 'node3'\n"
        );
        assert_eq!(
            format_line(
                "info",
                22,
                "node10/crm",
                "status change wait_for_quorum => slave"
            ),
            "info     22   node10/crm: status change wait_for_quorum => slave\n"
        );
        assert_eq!(
            format_line("err", 240, "node1/crm", "x"),
            "err     240    node1/crm: x\n"
        );
    }

    #[test]
    fn long_fields_widen_the_line() {
        assert_eq!(
            format_line("warning", 100000, "a-very-long-node/crm", "m"),
            "warning 100000 a-very-long-node/crm: m\n"
        );
    }

    #[test]
    fn one_trailing_newline_is_removed() {
        assert_eq!(
            format_line("info", 1, "x", "a\n"),
            "info      1            x: a\n"
        );
        assert_eq!(
            format_line("info", 1, "x", "a\n\n"),
            "info      1            x: a\n\n"
        );
        // The abnormal-end shape of 01 §5.7: message ends in "\n ".
        assert_eq!(
            format_line("err", 5, "hardware", "exit simulation - boom\n "),
            "err       5     hardware: exit simulation - boom\n \n"
        );
    }

    #[test]
    fn daemon_levels_are_truncated_and_debug_dropped() {
        assert_eq!(daemon_level(LogLevel::Debug), None);
        assert_eq!(daemon_level(LogLevel::Info), Some("info"));
        assert_eq!(daemon_level(LogLevel::Notice), Some("noti"));
        assert_eq!(daemon_level(LogLevel::Warning), Some("warn"));
        assert_eq!(daemon_level(LogLevel::Warn), Some("warn"));
        assert_eq!(daemon_level(LogLevel::Err), Some("err"));
        assert_eq!(daemon_level(LogLevel::Email), Some("emai"));
    }

    /// A writer appending into shared memory, to observe echoes.
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::ErrorKind::Other)?
                .extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn sink_keeps_and_echoes_lines_in_order() {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let mut sink = LogSink::new();
        sink.line("info", 0, "hardware", "a");
        sink.add_echo(Box::new(Shared(buf.clone())));
        sink.line("err", 3, "cmdlist", "b");
        assert_eq!(
            sink.text(),
            "info      0     hardware: a\nerr       3      cmdlist: b\n"
        );
        assert_eq!(
            buf.lock().unwrap().as_slice(),
            b"err       3      cmdlist: b\n"
        );
    }
}
