//! The watchdog device: opened once, kept open for the server's whole
//! life, pinged with one byte, closed with the magic `V` only on a clean
//! exit (07 §5.3, §5.6).
//!
//! `--device PATH` may name a *recording device* instead: a regular file
//! or a FIFO. It gets exactly the writes the real device would get (`.`
//! per keep-alive, `V` on the magic close; a file grows), and only the
//! timeout and identity ioctls are skipped. That is how the tests watch
//! the server without a watchdog that could reset the machine.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{sys, DEVICE, MAGIC_CLOSE};

/// The keep-alive byte. Any byte but `V` pings a Linux watchdog.
pub const KEEPALIVE: u8 = b'.';

/// What the opened path turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A watchdog driver (a character device): timeout and identity ioctls.
    Watchdog,
    /// A regular file recording the writes.
    RecordingFile,
    /// A FIFO recording the writes (opening it waits for a reader).
    RecordingFifo,
}

/// The open device.
#[derive(Debug)]
pub struct Device {
    file: File,
    kind: Kind,
    path: PathBuf,
}

impl Device {
    /// Opens `path` write-only (close-on-exec). A regular file is written
    /// at its end so that a recording keeps growing.
    pub fn open(path: &Path) -> io::Result<Self> {
        let mut file = OpenOptions::new().write(true).open(path)?;
        let ft = file.metadata()?.file_type();
        let kind = if ft.is_file() {
            file.seek(SeekFrom::End(0))?;
            Kind::RecordingFile
        } else if ft.is_fifo() {
            Kind::RecordingFifo
        } else {
            Kind::Watchdog
        };
        Ok(Self {
            file,
            kind,
            path: path.to_path_buf(),
        })
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sets the driver's timeout (watchdog drivers only).
    pub fn set_timeout(&self, seconds: i32) -> io::Result<()> {
        sys::watchdog_set_timeout(self.file.as_raw_fd(), seconds)
    }

    /// The driver's identity and firmware version (watchdog drivers only).
    pub fn identity(&self) -> io::Result<(String, u32)> {
        sys::watchdog_identity(self.file.as_raw_fd())
    }

    /// One keep-alive.
    pub fn ping(&mut self) -> io::Result<()> {
        self.file.write_all(&[KEEPALIVE])
    }

    /// Tells the driver a stop is intended, then closes: the only way the
    /// device is ever closed on purpose. Returns the write and close
    /// results separately (each has its message).
    pub fn magic_close(mut self) -> (io::Result<()>, io::Result<()>) {
        let written = self.file.write_all(&[MAGIC_CLOSE]);
        let closed = sys::close(self.file.into());
        (written, closed)
    }
}

/// The default device path is missing: load a driver (07 §5.3 step 2).
/// Reached only when no `--device` was given.
pub struct ModuleLoad {
    /// `Some(module)` when `WATCHDOG_MODULE` was set (its value, to print).
    pub announced: Option<String>,
    /// modprobe's arguments.
    pub args: Vec<String>,
}

/// What to load: `WATCHDOG_MODULE`'s words (no shell involved) or
/// `softdog`; `None` if the device already exists.
pub fn module_to_load(device_exists: bool, watchdog_module: Option<&str>) -> Option<ModuleLoad> {
    if device_exists {
        return None;
    }
    let mut args = vec!["-q".to_string()];
    Some(match watchdog_module {
        Some(m) => {
            args.extend(m.split_whitespace().map(str::to_string));
            ModuleLoad {
                announced: Some(m.to_string()),
                args,
            }
        }
        None => {
            args.push("softdog".to_string());
            ModuleLoad {
                announced: None,
                args,
            }
        }
    })
}

/// Runs modprobe for the default device if it is missing; the result is
/// ignored, the open that follows tells. Never called with `--device`.
pub fn load_default_driver(out: &mut dyn Write) {
    let module = std::env::var("WATCHDOG_MODULE").ok();
    let Some(load) = module_to_load(Path::new(DEVICE).exists(), module.as_deref()) else {
        return;
    };
    if let Some(m) = &load.announced {
        let _ = writeln!(out, "Loading watchdog module '{m}'");
    }
    let _ = Command::new("modprobe")
        .args(&load.args)
        .stdin(Stdio::null())
        .status();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_existing_device_loads_nothing() {
        assert!(module_to_load(true, Some("ipmi_watchdog")).is_none());
        assert!(module_to_load(true, None).is_none());
    }

    #[test]
    fn softdog_is_loaded_silently_by_default() {
        let l = module_to_load(false, None).unwrap();
        assert_eq!(l.announced, None);
        assert_eq!(l.args, ["-q", "softdog"]);
    }

    #[test]
    fn watchdog_module_words_become_arguments() {
        let l = module_to_load(false, Some("iTCO_wdt  heartbeat=10")).unwrap();
        assert_eq!(l.announced.as_deref(), Some("iTCO_wdt  heartbeat=10"));
        assert_eq!(l.args, ["-q", "iTCO_wdt", "heartbeat=10"]);
    }

    #[test]
    fn a_recording_file_grows_with_pings_and_the_magic_close() {
        let path = std::env::temp_dir().join(format!("wdmux-dev-{}", std::process::id()));
        std::fs::write(&path, b"old").unwrap();
        let mut d = Device::open(&path).unwrap();
        assert_eq!(d.kind(), Kind::RecordingFile);
        d.ping().unwrap();
        d.ping().unwrap();
        let (w, c) = d.magic_close();
        assert!(w.is_ok() && c.is_ok());
        assert_eq!(std::fs::read(&path).unwrap(), b"old..V");
        let _ = std::fs::remove_file(&path);
    }
}
