//! The pmxcfs-layout backend of the cluster store: a directory laid out like
//! `/etc/pve` (07 §3) — `ha/*.cfg`, `ha/manager_status`, `ha/crm_commands`,
//! `nodes/<node>/lrm_status`, `priv/lock/`, `.members`, `.vmlist`. On a
//! Proxmox node that directory *is* pmxcfs; anywhere else (tests, a
//! scratch root named by `PVE_HA_ROOT`) it is a plain directory, and the
//! backend emulates the two pmxcfs rules the HA tools rely on: read-only
//! without quorum (07 §3.1) and lock expiry (07 §4.3).

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use super::store::{ClusterStore, Guest, GuestKind, LockError, Members, StoreError, VmList};

/// Where pmxcfs is mounted on a Proxmox node.
pub const DEFAULT_ROOT: &str = "/etc/pve";

/// The environment variable that moves the root elsewhere.
pub const ROOT_ENV: &str = "PVE_HA_ROOT";

/// Budget for taking the domain lock (07 §4.8 step 3: 10 s, HA never
/// passes another value).
const LOCK_BUDGET: Duration = Duration::from_secs(10);

/// pmxcfs lock lifetime (07 §4.3), used to emulate expiry on a plain
/// directory.
const LOCK_LIFETIME: Duration = Duration::from_secs(120);

/// Attempts at creating the temporary file of an atomic write (07 §2.7).
const TEMP_ATTEMPTS: u32 = 3;

/// The directory backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PmxcfsStore {
    root: PathBuf,
}

impl PmxcfsStore {
    /// A store rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        PmxcfsStore { root: root.into() }
    }

    /// The store named by `PVE_HA_ROOT`, else `/etc/pve`. An empty value
    /// counts as unset.
    pub fn from_env() -> Self {
        match std::env::var_os(ROOT_ENV) {
            Some(v) if !v.is_empty() => PmxcfsStore::new(v),
            _ => PmxcfsStore::new(DEFAULT_ROOT),
        }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn full(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// The `local` symbolic link pmxcfs presents (07 §3.1): its presence
    /// means a real pmxcfs mount, whose own rules then apply.
    fn local_link(&self) -> Option<fs::Metadata> {
        fs::symlink_metadata(self.full("local"))
            .ok()
            .filter(|m| m.file_type().is_symlink())
    }

    /// Whether the root is a real pmxcfs mount (its `local` link exists)
    /// rather than a plain directory standing in for one.
    pub fn is_pmxcfs(&self) -> bool {
        self.local_link().is_some()
    }

    /// Adds (or moves) every guest whose config file lies in a node
    /// directory, and every OCF resource's location record
    /// (`nodes/<node>/ocf/<name>.conf`, kind `ocf`; its names start with
    /// a letter, so they never clash with a VMID).
    fn scan_guest_configs(&self, list: &mut VmList) {
        for node in fs::read_dir(self.full("nodes"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = node.file_name().to_string_lossy().into_owned();
            for (dir, kind) in [
                ("qemu-server", GuestKind::Qemu),
                ("lxc", GuestKind::Lxc),
                ("ocf", GuestKind::Other("ocf".to_string())),
            ] {
                for f in fs::read_dir(node.path().join(dir))
                    .into_iter()
                    .flatten()
                    .flatten()
                {
                    let file = f.file_name().to_string_lossy().into_owned();
                    let Some(vmid) = file.strip_suffix(".conf") else {
                        continue;
                    };
                    let named = match kind {
                        GuestKind::Other(_) => crate::config::ocf::check_name(vmid).is_ok(),
                        _ => !vmid.is_empty() && vmid.bytes().all(|b| b.is_ascii_digit()),
                    };
                    if named {
                        let guest = Guest {
                            node: name.clone(),
                            kind: kind.clone(),
                        };
                        list.ids.insert(vmid.to_string(), guest);
                    }
                }
            }
        }
    }

    fn read_members(&self) -> Option<Members> {
        fs::read(self.full(".members"))
            .ok()
            .and_then(|b| Members::parse(&b))
    }

    /// pmxcfs refuses every modification without quorum (07 §3.1); a plain
    /// directory would not, so the refusal is emulated with the same
    /// error text.
    fn check_writable(&self) -> Result<(), String> {
        if self.quorate() {
            Ok(())
        } else {
            Err(errno_text(&io::Error::from_raw_os_error(13)))
        }
    }

    /// An unlock request for a lock held by someone else (07 §4.2–§4.3).
    /// On pmxcfs that is `utime(dir, 0, 0)` and pmxcfs decides; on a plain
    /// directory the expiry rule is applied here, by the directory's age.
    /// Without quorum pmxcfs does not even send it (07 §4.4).
    fn unlock_request(&self, dir: &Path) {
        if !self.quorate() {
            return;
        }
        if self.local_link().is_some() {
            let _ = fs::File::open(dir).and_then(|f| {
                f.set_times(
                    fs::FileTimes::new()
                        .set_accessed(SystemTime::UNIX_EPOCH)
                        .set_modified(SystemTime::UNIX_EPOCH),
                )
            });
            return;
        }
        let expired = fs::metadata(dir)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > LOCK_LIFETIME);
        if expired {
            let _ = fs::remove_dir(dir);
        }
    }
}

use crate::sys::errno::errno_text;

/// The kernel host name up to the first dot (`localhost` if there is
/// none): the node name when the cluster does not name the node.
pub(crate) fn host_name() -> String {
    let host = fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .unwrap_or_default();
    let short = host.trim().split('.').next().unwrap_or_default();
    if short.is_empty() {
        "localhost".to_string()
    } else {
        short.to_string()
    }
}

/// A little per-process jitter so that many contenders started at the
/// same moment do not retry in lock step (both backends' domain locks).
pub(crate) fn jitter() -> Duration {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let seed = u64::from(nanos) ^ u64::from(std::process::id()).wrapping_mul(2_654_435_761);
    Duration::from_millis(seed % 50)
}

impl ClusterStore for PmxcfsStore {
    fn path_of(&self, rel: &str) -> String {
        self.full(rel).display().to_string()
    }

    /// Mounted iff the `local` link exists (07 §3.1) or, for a plain
    /// directory standing in for pmxcfs, the membership file does.
    fn is_mounted(&self) -> bool {
        self.local_link().is_some() || self.full(".members").is_file()
    }

    /// `.members` decides (07 §2.4 allows its `quorate` field): a cluster
    /// member follows the flag, a node outside any cluster is in local mode
    /// and always quorate. Without `.members` the `local` link's
    /// owner-write bit is pmxcfs's flag.
    fn quorate(&self) -> bool {
        if let Some(m) = self.read_members() {
            return m.quorate.unwrap_or(!m.in_cluster);
        }
        self.local_link()
            .is_some_and(|m| m.permissions().mode() & 0o200 != 0)
    }

    /// pmxcfs's own name for the node, else the kernel host name up to the
    /// first dot (07 §2).
    fn local_node(&self) -> String {
        if let Some(name) = self.read_members().and_then(|m| m.nodename) {
            return name;
        }
        host_name()
    }

    fn members(&self) -> Members {
        self.read_members().unwrap_or_default()
    }

    /// On pmxcfs `.vmlist` is the truth. A plain directory standing in for
    /// pmxcfs has nobody to regenerate it, so there the guests' config
    /// files (`nodes/<node>/{qemu-server,lxc}/<vmid>.conf`) decide where
    /// they are, and `.vmlist` only adds guests without a config file.
    fn vmlist(&self) -> VmList {
        let mut list = fs::read(self.full(".vmlist"))
            .map(|b| VmList::parse(&b))
            .unwrap_or_default();
        if !self.is_pmxcfs() {
            self.scan_guest_configs(&mut list);
        }
        list
    }

    /// Renames a file within the store (a guest's configuration moving
    /// between node directories, 07 §2.8); refused without quorum. The
    /// error is upstream's `rename '<old>' to '<new>' failed - <errno>`.
    fn rename(&self, from: &str, to: &str) -> Result<(), String> {
        let (old, new) = (self.full(from), self.full(to));
        let fail = |errno: String| {
            format!(
                "rename '{}' to '{}' failed - {errno}",
                old.display(),
                new.display()
            )
        };
        self.check_writable().map_err(fail)?;
        fs::rename(&old, &new).map_err(|e| fail(errno_text(&e)))
    }

    /// pmxcfs bumps `.version` whenever membership or VM list change.
    fn view_version(&self) -> Option<Vec<u8>> {
        fs::read(self.full(".version")).ok()
    }

    /// `.members` must exist and parse; on a real pmxcfs so must
    /// `.vmlist` (on a plain directory the guests' config files stand in
    /// for it). The messages are upstream's (07 §2.4).
    fn cluster_view(&self) -> Result<(Members, VmList), String> {
        let members = match self.read(".members").map_err(|e| e.to_string())? {
            Some(b) => Members::parse(&b)
                .ok_or_else(|| format!("unable to parse '{}'", self.path_of(".members")))?,
            None => {
                return Err(format!(
                    "unable to read file '{}' - No such file or directory",
                    self.path_of(".members")
                ))
            }
        };
        if self.is_pmxcfs() && !self.full(".vmlist").exists() {
            return Err(format!("unable to read file '{}'", self.path_of(".vmlist")));
        }
        Ok((members, self.vmlist()))
    }

    fn read(&self, rel: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match fs::read(self.full(rel)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            // The FUSE mount without its daemon (pmxcfs restarting).
            Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => Err(StoreError::Unavailable {
                path: self.path_of(rel),
                reason: errno_text(&e),
            }),
            Err(e) => Err(StoreError::Read {
                path: self.path_of(rel),
                errno: errno_text(&e),
            }),
        }
    }

    /// 07 §2.7: `<file>.tmp.<pid>` created exclusively with mode 0644
    /// (a stale one is removed, at most three attempts), written, synced,
    /// then renamed over the target; the temporary file never survives a
    /// failure.
    fn write_atomic(&self, rel: &str, data: &[u8]) -> Result<(), StoreError> {
        let path = self.full(rel);
        let tmp_path = PathBuf::from(format!("{}.tmp.{}", path.display(), std::process::id()));
        let tmp = tmp_path.display().to_string();
        if let Err(errno) = self.check_writable() {
            return Err(StoreError::Open { tmp, errno });
        }
        let mut attempt = 0;
        let mut file = loop {
            attempt += 1;
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o644)
                .open(&tmp_path)
            {
                Ok(f) => break f,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < TEMP_ATTEMPTS => {
                    fs::remove_file(&tmp_path).map_err(|e| StoreError::StaleTemp {
                        errno: errno_text(&e),
                    })?;
                }
                Err(e) => {
                    return Err(StoreError::Open {
                        tmp,
                        errno: errno_text(&e),
                    })
                }
            }
        };
        let cleanup = |err: StoreError| {
            let _ = fs::remove_file(&tmp_path);
            err
        };
        file.write_all(data).map_err(|e| {
            cleanup(StoreError::Write {
                tmp: tmp.clone(),
                errno: errno_text(&e),
            })
        })?;
        file.sync_all().map_err(|e| {
            cleanup(StoreError::Close {
                tmp: tmp.clone(),
                errno: errno_text(&e),
            })
        })?;
        drop(file);
        fs::rename(&tmp_path, &path).map_err(|e| {
            cleanup(StoreError::Rename {
                path: path.display().to_string(),
                errno: errno_text(&e),
            })
        })
    }

    fn remove(&self, rel: &str) -> Result<(), StoreError> {
        let err = |errno: String| StoreError::Modify {
            op: "unlink",
            path: self.path_of(rel),
            errno,
        };
        self.check_writable().map_err(err)?;
        match fs::remove_file(self.full(rel)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(err(errno_text(&e))),
        }
    }

    fn create_dir(&self, rel: &str) -> Result<(), StoreError> {
        let path = self.full(rel);
        if path.is_dir() {
            return Ok(());
        }
        let err = |errno: String| StoreError::Modify {
            op: "mkdir",
            path: self.path_of(rel),
            errno,
        };
        self.check_writable().map_err(err)?;
        fs::create_dir_all(&path).map_err(|e| err(errno_text(&e)))
    }

    fn ensure_lock_dir(&self) -> bool {
        let lockdir = self.full(super::paths::LOCK_DIR);
        if !lockdir.is_dir() && self.quorate() {
            let _ = fs::create_dir_all(&lockdir);
        }
        lockdir.is_dir()
    }

    fn lock_create(&self, name: &str) -> Result<(), String> {
        self.check_writable()?;
        fs::create_dir(self.full(&super::paths::lock(name))).map_err(|e| errno_text(&e))
    }

    /// On pmxcfs the file system itself enforces the renewal rules; on a
    /// plain directory the "never back in time" rule is applied here (the
    /// writer rule cannot be: ownership is per node, and a plain directory
    /// serves one node's view).
    fn lock_renew(&self, name: &str, now: i64) -> Result<(), String> {
        self.check_writable()?;
        let dir = self.full(&super::paths::lock(name));
        let stamp = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(now).unwrap_or(0));
        let f = fs::File::open(&dir).map_err(|e| errno_text(&e))?;
        if self.local_link().is_none() {
            let stored = f
                .metadata()
                .and_then(|m| m.modified())
                .map_err(|e| errno_text(&e))?;
            if stamp + Duration::from_secs(1) <= stored {
                return Err(errno_text(&io::Error::from_raw_os_error(libc::EACCES)));
            }
        }
        f.set_times(
            fs::FileTimes::new()
                .set_accessed(SystemTime::UNIX_EPOCH)
                .set_modified(stamp),
        )
        .map_err(|e| errno_text(&e))
    }

    fn lock_unlock_request(&self, name: &str) {
        self.unlock_request(&self.full(&super::paths::lock(name)));
    }

    fn lock_remove(&self, name: &str) -> bool {
        self.check_writable().is_ok()
            && fs::remove_dir(self.full(&super::paths::lock(name))).is_ok()
    }

    /// 07 §4.8 steps 2–3. The back-off starts at 0.1 s and grows by 0.1 s
    /// per attempt up to 1 s (plus a little jitter), so a crowd of editors
    /// started together spreads out quickly; the progress line is due at
    /// most once per second; an unlock request follows every failed
    /// attempt; the whole wait stays within the 10-second budget.
    fn acquire_domain_lock(
        &self,
        domain: &str,
        on_wait: &mut dyn FnMut(&str),
    ) -> Result<(), LockError> {
        if !self.ensure_lock_dir() {
            return Err(LockError::NotOnline);
        }
        let name = format!("domain-{domain}");
        let start = Instant::now();
        let mut last_notice: Option<Instant> = None;
        let mut attempt: u32 = 0;
        loop {
            // Without quorum pmxcfs refuses the mkdir (07 §4.4).
            if self.lock_create(&name).is_ok() {
                return Ok(());
            }
            attempt += 1;
            let backoff = Duration::from_millis(100 * u64::from(attempt.min(10))) + jitter();
            if start.elapsed() + backoff >= LOCK_BUDGET {
                return Err(LockError::Timeout);
            }
            if last_notice.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                on_wait(&format!("trying to acquire cfs lock 'domain-{domain}' ..."));
                last_notice = Some(Instant::now());
            }
            self.lock_unlock_request(&name);
            std::thread::sleep(backoff);
        }
    }

    fn release_domain_lock(&self, domain: &str) {
        self.lock_remove(&format!("domain-{domain}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PmxcfsStore {
        let dir = std::env::temp_dir().join(format!("pve-ha-pmxcfs-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        PmxcfsStore::new(dir)
    }

    fn members(store: &PmxcfsStore, quorate: u8) {
        let text = format!(
            r#"{{"nodename":"node1","version":1,"cluster":{{"name":"c","version":1,"nodes":1,"quorate":{quorate}}},"nodelist":{{"node1":{{"id":1,"online":1}}}}}}"#
        );
        fs::write(store.root().join(".members"), text).unwrap();
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let s = scratch("write");
        members(&s, 1);
        s.create_dir("ha").unwrap();
        s.write_atomic("ha/x", b"one").unwrap();
        s.write_atomic("ha/x", b"two").unwrap();
        assert_eq!(s.read("ha/x").unwrap().as_deref(), Some(&b"two"[..]));
        let names: Vec<_> = fs::read_dir(s.root().join("ha"))
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(names.len(), 1);
        assert_eq!(s.read("ha/missing").unwrap(), None);
        let _ = fs::remove_dir_all(s.root());
    }

    #[test]
    fn no_quorum_means_read_only() {
        let s = scratch("noquorum");
        members(&s, 0);
        assert!(!s.quorate());
        let err = s.write_atomic("x", b"1").unwrap_err().to_string();
        assert!(err.ends_with("- Permission denied"), "{err}");
        let _ = fs::remove_dir_all(s.root());
    }

    #[test]
    fn mounted_and_local_mode() {
        let s = scratch("mounted");
        assert!(!s.is_mounted());
        assert!(!s.quorate());
        fs::write(
            s.root().join(".members"),
            br#"{"nodename":"solo","version":1}"#,
        )
        .unwrap();
        assert!(s.is_mounted());
        assert!(s.quorate());
        assert_eq!(s.local_node(), "solo");
        let _ = fs::remove_dir_all(s.root());
    }

    #[test]
    fn lock_is_exclusive_and_released() {
        let s = scratch("lock");
        members(&s, 1);
        let mut noop = |_: &str| {};
        s.acquire_domain_lock("ha", &mut noop).unwrap();
        assert!(s.root().join("priv/lock/domain-ha").is_dir());
        s.release_domain_lock("ha");
        assert!(!s.root().join("priv/lock/domain-ha").exists());
        let _ = fs::remove_dir_all(s.root());
    }

    #[test]
    fn without_pmxcfs_the_config_files_place_the_guests() {
        let s = scratch("vmlist");
        fs::create_dir_all(s.root().join("nodes/n2/lxc")).unwrap();
        fs::write(s.root().join("nodes/n2/lxc/7.conf"), "").unwrap();
        fs::write(s.root().join("nodes/n2/lxc/notes.txt"), "").unwrap();
        fs::write(
            s.root().join(".vmlist"),
            r#"{"ids":{"7":{"node":"n1","type":"qemu"},"8":{"node":"n1","type":"qemu"}}}"#,
        )
        .unwrap();
        let v = s.vmlist();
        assert_eq!(
            v.get("7").map(|g| (g.node.as_str(), g.kind.as_str())),
            Some(("n2", "lxc"))
        );
        assert_eq!(v.get("8").map(|g| g.node.as_str()), Some("n1"));
        assert_eq!(v.ids.len(), 2);
        let _ = fs::remove_dir_all(s.root());
    }

    #[test]
    fn ocf_location_records_place_ocf_resources() {
        let s = scratch("ocf");
        fs::create_dir_all(s.root().join("nodes/n3/ocf")).unwrap();
        fs::write(s.root().join("nodes/n3/ocf/web-ip.conf"), "").unwrap();
        fs::write(s.root().join("nodes/n3/ocf/100.conf"), "").unwrap();
        let v = s.vmlist();
        assert_eq!(
            v.get("web-ip").map(|g| (g.node.as_str(), g.kind.as_str())),
            Some(("n3", "ocf"))
        );
        assert_eq!(v.ids.len(), 1);
        let _ = fs::remove_dir_all(s.root());
    }
}
