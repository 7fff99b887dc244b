//! Guests on this node, read natively (05 §12.2–12.3): whether a guest
//! runs (`check_running`: the QEMU pid file and process command line, the
//! LXC command socket), its configuration file's properties, lock
//! removal, and the static usage numbers the scheduler derives from the
//! configuration. Where the host's files live is a [`HostPaths`] value, so
//! tests point it at fixture trees.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::cluster::{paths, ClusterStore};
use crate::env::Usage;
use crate::types::Sid;

/// Where the host keeps what `check_running` looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPaths {
    /// QEMU's pid files (`/var/run/qemu-server`).
    pub qemu_run_dir: PathBuf,
    /// The proc file system (`/proc`).
    pub proc_root: PathBuf,
}

impl Default for HostPaths {
    fn default() -> Self {
        HostPaths {
            qemu_run_dir: PathBuf::from("/var/run/qemu-server"),
            proc_root: PathBuf::from("/proc"),
        }
    }
}

/// The main section of a guest configuration file: `key: value` lines up
/// to the first `[section]` (snapshots and pending changes follow there).
pub fn config_props(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with('[') {
            break;
        }
        if line.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            let k = k.trim();
            if !k.is_empty() && !k.contains(char::is_whitespace) {
                out.insert(k.to_string(), v.trim().to_string());
            }
        }
    }
    out
}

/// The store path of `sid`'s configuration on `node` (`implement me` for
/// types without a configuration file, 07 §2.8).
pub fn config_path(sid: &Sid, node: &str) -> Result<String, String> {
    paths::guest_config(sid.type_str(), sid.name(), node).ok_or_else(|| "implement me".to_string())
}

/// The configuration of `sid` on `node`, or upstream's error when this
/// node does not hold it.
pub fn read_config(
    store: &dyn ClusterStore,
    sid: &Sid,
    node: &str,
) -> Result<BTreeMap<String, String>, String> {
    let rel = config_path(sid, node)?;
    match store.read(&rel).map_err(|e| e.to_string())? {
        Some(b) => Ok(config_props(&String::from_utf8_lossy(&b))),
        None => Err(format!("Configuration file '{rel}' does not exist")),
    }
}

/// `check_running` (05 §12.2–12.3) of a guest on `node`; `warn` gets the
/// lines upstream only warns about (a pid file from the future, a QMP
/// error).
pub fn check_running(
    store: &dyn ClusterStore,
    host: &HostPaths,
    sid: &Sid,
    node: &str,
    warn: &mut dyn FnMut(&str),
) -> Result<bool, String> {
    match sid.type_str() {
        "vm" => {
            let conf = read_config(store, sid, node)?;
            if !qemu_running(host, sid.name(), warn) {
                return Ok(false);
            }
            // A VM held for the backup of a stopped VM is not running.
            if conf.get("lock").map(String::as_str) == Some("backup") {
                let qmp = host.qemu_run_dir.join(format!("{}.qmp", sid.name()));
                match super::qmp::query_status(&qmp) {
                    Ok(status) if status == "prelaunch" => return Ok(false),
                    Ok(_) => {}
                    Err(e) => warn(&e),
                }
            }
            Ok(true)
        }
        "ct" => Ok(lxc_running(host, sid.name())),
        _ => Err("implement me".to_string()),
    }
}

/// A QEMU process of this VMID runs here: pid file, command line naming
/// the same pid file, process alive and not a zombie.
fn qemu_running(host: &HostPaths, vmid: &str, warn: &mut dyn FnMut(&str)) -> bool {
    let pidfile = host.qemu_run_dir.join(format!("{vmid}.pid"));
    let Ok(text) = fs::read_to_string(&pidfile) else {
        return false;
    };
    let future = fs::metadata(&pidfile)
        .and_then(|m| m.modified())
        .is_ok_and(|t| {
            t.duration_since(std::time::SystemTime::now())
                .is_ok_and(|d| !d.is_zero())
        });
    if future {
        warn(&format!("file '{}' modified in future", pidfile.display()));
    }
    let Some(pid) = text
        .lines()
        .next()
        .map(str::trim)
        .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    else {
        return false;
    };
    let proc_dir = host.proc_root.join(pid);
    let Ok(cmdline) = fs::read(proc_dir.join("cmdline")) else {
        return false;
    };
    cmdline_names_pidfile(&cmdline, &pidfile) && !is_zombie(&proc_dir)
}

/// The command line test of 05 §12.2: the program is a KVM/QEMU binary
/// and its `pidfile` option is exactly `pidfile`. A word `-x` or `--x`
/// names option `x` (so `--` itself is an option named `-`, not an end of
/// options) and the next word that is not an option is its value.
pub fn cmdline_names_pidfile(cmdline: &[u8], pidfile: &Path) -> bool {
    let text = String::from_utf8_lossy(cmdline);
    let mut words = text.split('\0').filter(|w| !w.is_empty());
    let Some(program) = words.next() else {
        return false;
    };
    let base = program.rsplit('/').next().unwrap_or(program);
    let is_qemu = program.ends_with("kvm")
        || base
            .strip_prefix("qemu-system-")
            .is_some_and(|arch| !arch.is_empty());
    if !is_qemu {
        return false;
    }
    let mut options: BTreeMap<&str, &str> = BTreeMap::new();
    let mut current: Option<&str> = None;
    for w in words {
        if let Some(name) = option_name(w) {
            options.insert(name, "");
            current = Some(name);
        } else if let Some(name) = current.take() {
            options.insert(name, w);
        }
    }
    options
        .get("pidfile")
        .is_some_and(|v| Path::new(v) == pidfile)
}

/// `-x` / `--x` ⇒ `x`; for `--` the one-dash reading leaves `-`.
fn option_name(w: &str) -> Option<&str> {
    let rest = w.strip_prefix('-')?;
    let name = match rest.strip_prefix('-') {
        Some(n) if !n.is_empty() => n,
        _ => rest,
    };
    (!name.is_empty()).then_some(name)
}

/// A process whose state (the field after the command's closing paren in
/// `stat`) is `Z`, or that vanished.
fn is_zombie(proc_dir: &Path) -> bool {
    let Ok(stat) = fs::read_to_string(proc_dir.join("stat")) else {
        return true;
    };
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next());
    matches!(state, Some("Z") | Some("X") | None)
}

/// An LXC monitor's abstract command socket for this VMID is listed in
/// this network namespace's `/proc/net/unix`.
fn lxc_running(host: &HostPaths, vmid: &str) -> bool {
    let want = format!("@/var/lib/lxc/{vmid}/command");
    fs::read_to_string(host.proc_root.join("net/unix"))
        .map(|t| {
            t.lines()
                .skip(1)
                .any(|l| l.split_whitespace().nth(7) == Some(want.as_str()))
        })
        .unwrap_or(false)
}

/// `remove_locks` (05 §12.1): if the configuration on `node` holds one of
/// `locks`, remove that line, write the file back atomically and return
/// the lock's name.
pub fn remove_locks(
    store: &dyn ClusterStore,
    sid: &Sid,
    locks: &[&str],
    node: &str,
) -> Result<Option<String>, String> {
    let rel = config_path(sid, node)?;
    let Some(raw) = store.read(&rel).map_err(|e| e.to_string())? else {
        return Err(format!("Configuration file '{rel}' does not exist"));
    };
    let text = String::from_utf8_lossy(&raw);
    let Some(lock) = config_props(&text).get("lock").cloned() else {
        return Ok(None);
    };
    if !locks.contains(&lock.as_str()) {
        return Ok(None);
    }
    let mut out = String::with_capacity(text.len());
    let mut in_main = true;
    for line in text.split_inclusive('\n') {
        if line.starts_with('[') {
            in_main = false;
        }
        let is_lock = in_main
            && line
                .split_once(':')
                .is_some_and(|(k, _)| k.trim() == "lock");
        if !is_lock {
            out.push_str(line);
        }
    }
    store
        .write_atomic(&rel, out.as_bytes())
        .map_err(|e| e.to_string())?;
    Ok(Some(lock))
}

fn num(props: &BTreeMap<String, String>, key: &str) -> Option<f64> {
    props.get(key).and_then(|v| v.trim().parse::<f64>().ok())
}

/// Memory in MiB: a plain number, or qemu-server's newer
/// `current=<MiB>[,…]` property string.
fn memory_mib(props: &BTreeMap<String, String>) -> Option<f64> {
    let v = props.get("memory")?;
    let current = v.split(',').find_map(|part| match part.split_once('=') {
        Some(("current", n)) => Some(n),
        Some(_) => None,
        None => Some(part),
    })?;
    current.trim().parse().ok()
}

const MIB: f64 = 1024.0 * 1024.0;

/// `get_static_stats_from_config` (05 §12.2–12.3) for `sid`'s type.
pub fn static_usage(ty: &str, props: &BTreeMap<String, String>) -> Usage {
    let (maxcpu, maxmem) = match ty {
        "vm" => {
            let cpus = num(props, "vcpus")
                .filter(|v| *v != 0.0)
                .unwrap_or_else(|| {
                    num(props, "sockets").unwrap_or(1.0) * num(props, "cores").unwrap_or(1.0)
                });
            (cpus, memory_mib(props).unwrap_or(512.0) * MIB)
        }
        _ => {
            let cpus = num(props, "cpulimit")
                .filter(|v| *v != 0.0)
                .or_else(|| num(props, "cores"))
                .unwrap_or(0.0);
            (cpus, memory_mib(props).unwrap_or(512.0) * MIB)
        }
    };
    Usage {
        maxcpu: Some(maxcpu),
        maxmem: Some(maxmem.trunc()),
        cpu: None,
        mem: None,
    }
}
