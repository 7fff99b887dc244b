//! pmxcfs's RRD dump (07 §2.13): the latest sample per guest and node, as
//! colon-separated lines `<key>:<v0>:<v1>:…` (`U` = unknown), and the
//! usage numbers the scheduler takes from it. A missing or unreadable
//! dump is simply an empty one: statistics are never a reason to fail.

use std::collections::BTreeMap;

use crate::env::{NodeStats, Usage};

/// Key prefixes of the samples HA reads.
const GUEST_KEY: &str = "pve-vm-9.0/";
const NODE_KEY: &str = "pve-node-9.0/";

/// One sample's fields after the key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample(Vec<String>);

impl Sample {
    /// Field `i` as text.
    pub fn text(&self, i: usize) -> Option<&str> {
        self.0.get(i).map(String::as_str)
    }

    /// Field `i` as a float, 0 when missing or unknown (`f` of 07 §2.13).
    pub fn f(&self, i: usize) -> f64 {
        self.text(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    }

    /// Field `i` as an integer, 0 when missing or unknown (`int`).
    pub fn int(&self, i: usize) -> f64 {
        self.f(i).trunc()
    }
}

/// The samples of one dump.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rrd {
    /// VMID → sample.
    pub guests: BTreeMap<String, Sample>,
    /// Node → sample.
    pub nodes: BTreeMap<String, Sample>,
}

impl Rrd {
    /// Parses a dump; lines of other keys are ignored.
    pub fn parse(text: &str) -> Rrd {
        let mut out = Rrd::default();
        for line in text.lines() {
            let mut fields = line.split(':');
            let Some(key) = fields.next() else { continue };
            let sample = Sample(fields.map(str::to_string).collect());
            if let Some(vmid) = key.strip_prefix(GUEST_KEY) {
                out.guests.insert(vmid.to_string(), sample);
            } else if let Some(node) = key.strip_prefix(NODE_KEY) {
                out.nodes.insert(node.to_string(), sample);
            }
        }
        out
    }

    /// Whether the guest's status field says `running`.
    pub fn guest_running(&self, vmid: &str) -> bool {
        self.guests.get(vmid).and_then(|s| s.text(2)) == Some("running")
    }

    /// Dynamic usage of a guest (07 §2.13): `{maxcpu: f(5), cpu:
    /// f(6)·maxcpu, maxmem: int(7), mem: int(8)}`; zeros without a sample.
    pub fn guest_usage(&self, vmid: &str) -> Usage {
        let s = self.guests.get(vmid).cloned().unwrap_or_default();
        let maxcpu = s.f(5);
        Usage {
            maxcpu: Some(maxcpu),
            cpu: Some(s.f(6) * maxcpu),
            maxmem: Some(s.int(7)),
            mem: Some(s.int(8)),
        }
    }

    /// Dynamic node statistics: `{maxcpu: int(4), cpu: f(5)·maxcpu,
    /// maxmem: int(7), mem: int(8)}` for every node with a sample.
    pub fn node_stats(&self) -> BTreeMap<String, NodeStats> {
        self.nodes
            .iter()
            .map(|(node, s)| {
                let maxcpu = s.int(4);
                (
                    node.clone(),
                    NodeStats {
                        maxcpu: Some(maxcpu),
                        cpu: s.f(5) * maxcpu,
                        maxmem: Some(s.int(7)),
                        mem: s.int(8),
                    },
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_dump() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/pve/root/.rrd"
        ))
        .unwrap_or_default();
        let rrd = Rrd::parse(&text);
        assert!(rrd.guest_running("100"));
        assert!(!rrd.guest_running("101"));
        assert!(!rrd.guest_running("999"));
        let u = rrd.guest_usage("100");
        assert_eq!(u.maxcpu, Some(4.0));
        assert_eq!(u.cpu, Some(0.5 * 4.0));
        assert_eq!(u.maxmem, Some(4294967296.0));
        assert_eq!(u.mem, Some(1073741824.0));
        // Unknown fields count as 0.
        assert_eq!(rrd.guest_usage("101").cpu, Some(0.0));
        let n = &rrd.node_stats()["node1"];
        assert_eq!(
            (n.maxcpu, n.cpu, n.maxmem, n.mem),
            (Some(8.0), 0.25 * 8.0, Some(34359738368.0), 8589934592.0)
        );
        assert!(Rrd::parse("").nodes.is_empty());
    }
}
