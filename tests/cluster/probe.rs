//! The floating address probe (issue 16 item 1): a network namespace of
//! its own on the cluster's bridge (`10.77.0.250`) that asks, about once
//! a second, who answers ARP for the floating address. `arping -b` keeps
//! broadcasting (it would otherwise unicast to the first answer only), so
//! every owner answers every probe; `-c 2 -w 1` returns at the second
//! answer or after a second. Each sample's distinct MACs go to
//! `probe.log` (`<seconds> <mac> …`, the boot clock of the journals).
//! Two MACs in one sample: the address was up on two nodes.

#![allow(dead_code)]

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::evidence::arping_macs;
use super::watchdog::now;
use crate::common::ns::{self, Namespace};

/// The probe's own address on the cluster network.
pub const PROBE_ADDR: &str = "10.77.0.250/24";

/// A running probe; stops (and its namespace ends) in `Drop`.
pub struct Probe {
    ns: Namespace,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    pub log: PathBuf,
}

fn run(cmd: &mut Command) -> bool {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Probe {
    /// Starts probing `target` from a namespace plugged into `br0` of the
    /// switch namespace `switch`.
    pub fn start(switch: &Namespace, target: &str, log: PathBuf) -> Probe {
        let ns = Namespace::spawn({
            let mut c = ns::unshare(&["--net"]);
            c.args(["sleep", "infinity"]).stdin(Stdio::null());
            c
        });
        let pid = ns.pid().to_string();
        assert!(
            run(switch.nsenter(&["--net"]).args([
                "ip", "link", "add", "pvhp", "type", "veth", "peer", "name", "eth0", "netns", &pid,
            ])),
            "probe veth"
        );
        assert!(
            run(switch
                .nsenter(&["--net"])
                .args(["ip", "link", "set", "pvhp", "master", "br0", "up"])),
            "probe port"
        );
        for args in [
            &["ip", "addr", "add", PROBE_ADDR, "dev", "eth0"][..],
            &["ip", "link", "set", "eth0", "up"],
            &["ip", "link", "set", "lo", "up"],
        ] {
            assert!(run(ns.nsenter(&["--net"]).args(args)), "probe {args:?}");
        }
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            let log = log.clone();
            let target = target.to_string();
            let nsenter = ns.nsenter(&["--net"]);
            let prog = nsenter.get_program().to_owned();
            let pre: Vec<_> = nsenter.get_args().map(|a| a.to_owned()).collect();
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let t = now();
                    let out = Command::new(&prog)
                        .args(&pre)
                        .args(["arping", "-b", "-c", "2", "-w", "1", "-I", "eth0"])
                        .arg(&target)
                        .stdin(Stdio::null())
                        .stderr(Stdio::null())
                        .output();
                    let macs = out
                        .map(|o| arping_macs(&String::from_utf8_lossy(&o.stdout)))
                        .unwrap_or_default();
                    if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(&log) {
                        let _ = writeln!(f, "{t:.3} {}", macs.join(" "));
                    }
                    thread::sleep(Duration::from_millis(100));
                }
            })
        };
        Probe {
            ns,
            stop,
            thread: Some(thread),
            log,
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.ns.kill();
    }
}
