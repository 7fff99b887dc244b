//! Which daemon a process is, and the files and limits that follow from
//! its name (07 §6.1–6.5).

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The two HA daemons sharing this runtime (the shared vocabulary's
/// [`Daemon`](crate::types::Daemon), named for what it is here).
pub use crate::types::Daemon as Role;

impl Role {
    /// How long `stop` waits after SIGTERM before it sends SIGKILL
    /// (07 §6.5): a CRM is done within a round or two, an LRM may have to
    /// stop or migrate every guest of the node first.
    pub fn stop_wait(self) -> Duration {
        match self {
            Role::Crm => Duration::from_secs(60),
            Role::Lrm => Duration::from_secs(3600),
        }
    }
}

/// The directory of the real pid and lock files. `/var/run` is a link to
/// it; messages keep upstream's `/var/run` spelling (07 §6.2).
pub const RUN_DIR: &str = "/run";

/// The spelling of [`RUN_DIR`] in messages.
const SHOWN_RUN_DIR: &str = "/var/run";

/// A daemon's pid file and instance lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFiles {
    dir: PathBuf,
    name: &'static str,
}

impl RunFiles {
    /// The files of `role` under `/run`: what `status`, `stop` and the
    /// unit's `PIDFile=` agree on.
    pub fn of(role: Role) -> Self {
        Self::in_dir(role, Path::new(RUN_DIR))
    }

    /// The files of `role` in another directory (unit tests).
    pub fn in_dir(role: Role, dir: &Path) -> Self {
        RunFiles {
            dir: dir.to_path_buf(),
            name: role.name(),
        }
    }

    /// `/run/<name>.pid`: the daemon's pid and a newline.
    pub fn pid(&self) -> PathBuf {
        self.dir.join(format!("{}.pid", self.name))
    }

    /// `/run/<name>.pid.lock`: flocked for the daemon's lifetime.
    pub fn lock(&self) -> PathBuf {
        self.dir.join(format!("{}.pid.lock", self.name))
    }

    /// How `path` (one of the two files) appears in messages.
    pub fn shown(&self, path: &Path) -> String {
        match path.strip_prefix(RUN_DIR) {
            Ok(rest) if self.dir == Path::new(RUN_DIR) => {
                format!("{SHOWN_RUN_DIR}/{}", rest.display())
            }
            _ => path.display().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_wait_times_and_files_follow_the_spec() {
        assert_eq!(Role::Crm.name(), "pve-ha-crm");
        assert_eq!(Role::Lrm.name(), "pve-ha-lrm");
        assert_eq!(Role::Crm.stop_wait().as_secs(), 60);
        assert_eq!(Role::Lrm.stop_wait().as_secs(), 3600);
        let f = RunFiles::of(Role::Lrm);
        assert_eq!(f.pid(), Path::new("/run/pve-ha-lrm.pid"));
        assert_eq!(f.lock(), Path::new("/run/pve-ha-lrm.pid.lock"));
        assert_eq!(f.shown(&f.lock()), "/var/run/pve-ha-lrm.pid.lock");
        let t = RunFiles::in_dir(Role::Crm, Path::new("/tmp/x"));
        assert_eq!(t.shown(&t.pid()), "/tmp/x/pve-ha-crm.pid");
    }
}
