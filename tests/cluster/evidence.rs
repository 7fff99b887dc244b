//! The drills' evidence, as pure code: the journals the wrapper OCF agent
//! (`tests/cluster/journal-agent`) and the reset watcher write, turned into
//! activity intervals per resource and node; the overlap checker (safety:
//! never active on two nodes at once); the liveness view (active on
//! exactly one node); the failover figures. No clock, no file access
//! beyond [`read_dir_journals`], so every rule has a unit test.
//!
//! A journal line is `<seconds> <node> <resource> <event> <rc>`, seconds
//! from the kernel's boot clock (`/proc/uptime`, shared by every node's
//! namespace), events `start-begin`, `start-end`, `stop-begin`,
//! `stop-end` (from the wrapper agent) and `reset` (from the harness;
//! resource `*`). The intervals are conservative: a start attempt counts
//! as possibly active from its beginning, whatever its result; only a
//! successful stop, or a reset of its node, ends it.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// What a journal line says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    StartBegin,
    StartEnd,
    StopBegin,
    StopEnd,
    /// The whole node ended (resource `*`).
    Reset,
}

/// One journal line.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub t: f64,
    pub node: String,
    pub resource: String,
    pub event: Event,
    pub rc: i32,
}

/// Parses one line; `None` for anything malformed (a line torn by a
/// reset mid-write is simply not evidence).
pub fn parse_line(line: &str) -> Option<Record> {
    let mut w = line.split_ascii_whitespace();
    let t: f64 = w.next()?.parse().ok()?;
    let node = w.next()?.to_string();
    let resource = w.next()?.to_string();
    let event = match w.next()? {
        "start-begin" => Event::StartBegin,
        "start-end" => Event::StartEnd,
        "stop-begin" => Event::StopBegin,
        "stop-end" => Event::StopEnd,
        "reset" => Event::Reset,
        _ => return None,
    };
    let rc = w.next()?.parse().ok()?;
    if w.next().is_some() || !t.is_finite() {
        return None;
    }
    Some(Record {
        t,
        node,
        resource,
        event,
        rc,
    })
}

/// Every record of `text`, in file order.
pub fn parse(text: &str) -> Vec<Record> {
    text.lines().filter_map(parse_line).collect()
}

/// Every record of every `*.log` file in `dir`, ordered by time (stable:
/// one file's equal timestamps keep their order).
pub fn read_dir_journals(dir: &Path) -> Vec<Record> {
    let mut all = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    files.sort();
    for f in files {
        all.extend(parse(&std::fs::read_to_string(&f).unwrap_or_default()));
    }
    sort(&mut all);
    all
}

/// Orders records by time, keeping the order of equal timestamps.
pub fn sort(records: &mut [Record]) {
    records.sort_by(|a, b| a.t.total_cmp(&b.t));
}

/// A span during which a resource was possibly active on a node; `end`
/// is `None` while it still is.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    pub resource: String,
    pub node: String,
    pub begin: f64,
    pub end: Option<f64>,
}

impl Interval {
    fn end_or(&self, now: f64) -> f64 {
        self.end.unwrap_or(now)
    }
}

/// The activity intervals of time-ordered `records`.
pub fn intervals(records: &[Record]) -> Vec<Interval> {
    let mut done = Vec::new();
    // (resource, node) → index into `open`
    let mut open: BTreeMap<(String, String), Interval> = BTreeMap::new();
    for r in records {
        match r.event {
            Event::StartBegin => {
                open.entry((r.resource.clone(), r.node.clone()))
                    .or_insert_with(|| Interval {
                        resource: r.resource.clone(),
                        node: r.node.clone(),
                        begin: r.t,
                        end: None,
                    });
            }
            Event::StopEnd if r.rc == 0 => {
                if let Some(mut iv) = open.remove(&(r.resource.clone(), r.node.clone())) {
                    iv.end = Some(r.t);
                    done.push(iv);
                }
            }
            Event::Reset => {
                let keys: Vec<_> = open.keys().filter(|k| k.1 == r.node).cloned().collect();
                for k in keys {
                    if let Some(mut iv) = open.remove(&k) {
                        iv.end = Some(r.t);
                        done.push(iv);
                    }
                }
            }
            _ => {}
        }
    }
    done.extend(open.into_values());
    done.sort_by(|a, b| a.begin.total_cmp(&b.begin));
    done
}

/// Two intervals of one resource on different nodes that overlap.
#[derive(Debug, Clone, PartialEq)]
pub struct DoubleRun {
    pub resource: String,
    pub first: Interval,
    pub second: Interval,
    /// When the overlap began.
    pub at: f64,
}

impl fmt::Display for DoubleRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |iv: &Interval| match iv.end {
            Some(e) => format!("{} [{:.2}, {:.2}]", iv.node, iv.begin, e),
            None => format!("{} [{:.2}, still]", iv.node, iv.begin),
        };
        write!(
            f,
            "{} active on two nodes at {:.2}: {} and {}",
            self.resource,
            self.at,
            show(&self.first),
            show(&self.second)
        )
    }
}

/// Every overlapping pair (open intervals last until `now`). Touching
/// intervals (a stop ending exactly when the next start begins) are no
/// overlap: the journal's order makes that the handover.
pub fn double_runs(ivs: &[Interval], now: f64) -> Vec<DoubleRun> {
    let mut out = Vec::new();
    for (i, a) in ivs.iter().enumerate() {
        for b in &ivs[i + 1..] {
            if a.resource != b.resource || a.node == b.node {
                continue;
            }
            if a.begin < b.end_or(now) && b.begin < a.end_or(now) {
                out.push(DoubleRun {
                    resource: a.resource.clone(),
                    first: a.clone(),
                    second: b.clone(),
                    at: a.begin.max(b.begin),
                });
            }
        }
    }
    out
}

/// Resource → nodes where it is active *now* for liveness: its last
/// start on that node succeeded, and no successful stop or reset of
/// the node came after it.
pub fn active(records: &[Record]) -> BTreeMap<String, Vec<String>> {
    let mut on: BTreeMap<(String, String), bool> = BTreeMap::new();
    for r in records {
        match r.event {
            Event::StartEnd => {
                on.insert((r.resource.clone(), r.node.clone()), r.rc == 0);
            }
            Event::StopEnd if r.rc == 0 => {
                on.insert((r.resource.clone(), r.node.clone()), false);
            }
            Event::Reset => {
                for (k, v) in on.iter_mut() {
                    if k.1 == r.node {
                        *v = false;
                    }
                }
            }
            _ => {}
        }
    }
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ((res, node), yes) in on {
        let e = out.entry(res).or_default();
        if yes {
            e.push(node);
        }
    }
    out
}

/// The resources of `wanted` that are not active on exactly one node.
pub fn not_live(records: &[Record], wanted: &[&str]) -> Vec<String> {
    let act = active(records);
    wanted
        .iter()
        .filter(|w| act.get(**w).map_or(0, Vec::len) != 1)
        .map(|w| w.to_string())
        .collect()
}

/// Failover time of one resource after a fault at `fault` on `node`:
/// its first successful start on another node after the fault, minus
/// the fault's time. `None` if it never started elsewhere.
pub fn failover(records: &[Record], resource: &str, node: &str, fault: f64) -> Option<f64> {
    records
        .iter()
        .find(|r| {
            r.event == Event::StartEnd
                && r.rc == 0
                && r.t >= fault
                && r.resource == resource
                && r.node != node
        })
        .map(|r| r.t - fault)
}

/// One probe sample of the floating address: when, and the distinct
/// link-layer addresses that answered for it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeSample {
    pub t: f64,
    pub macs: Vec<String>,
}

/// Parses the probe log (`<seconds> <mac> <mac> …`, possibly none).
pub fn parse_probe(text: &str) -> Vec<ProbeSample> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_ascii_whitespace();
            let t: f64 = w.next()?.parse().ok()?;
            let mut macs: Vec<String> = w.map(str::to_string).collect();
            macs.sort();
            macs.dedup();
            Some(ProbeSample { t, macs })
        })
        .collect()
}

/// The distinct MACs `arping` output shows answering (`Unicast reply
/// from IP [MAC]` lines), sorted.
pub fn arping_macs(output: &str) -> Vec<String> {
    let mut macs: Vec<String> = output
        .lines()
        .filter(|l| l.contains("reply from"))
        .filter_map(|l| {
            let open = l.find('[')?;
            let close = l[open..].find(']')? + open;
            Some(l[open + 1..close].to_ascii_lowercase())
        })
        .collect();
    macs.sort();
    macs.dedup();
    macs
}

/// Incidents where the probe saw two owners: each maximal run of
/// consecutive samples with more than one MAC counts once; the times of
/// their first samples.
pub fn probe_doubles(samples: &[ProbeSample]) -> Vec<f64> {
    let mut out = Vec::new();
    let mut inside = false;
    for s in samples {
        let double = s.macs.len() > 1;
        if double && !inside {
            out.push(s.t);
        }
        inside = double;
    }
    out
}

/// The median and maximum of `xs` (`None` when empty).
pub fn median_max(xs: &[f64]) -> Option<(f64, f64)> {
    if xs.is_empty() {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some((median, v[n - 1]))
}

/// The summary line `tests/cluster/drill` prints last.
pub fn summary(runs: usize, doubles: usize, lost: usize, failovers: &[f64]) -> String {
    match median_max(failovers) {
        Some((m, x)) => format!(
            "drills: {runs} run, {doubles} double-runs, {lost} lost, failover median {m:.1} s, max {x:.1} s"
        ),
        None => format!(
            "drills: {runs} run, {doubles} double-runs, {lost} lost, failover median - s, max - s"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recs(text: &str) -> Vec<Record> {
        let mut r = parse(text);
        sort(&mut r);
        r
    }

    #[test]
    fn lines_parse_and_junk_is_dropped() {
        let r = parse("10.50 node1 dummy1 start-begin 0\n10.5 node1 dummy1\n\nx y z w 0\n11 node2 * reset 0\n12 node1 dummy1 stop-end 0 extra\n");
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].event, Event::StartBegin);
        assert_eq!(r[1].event, Event::Reset);
        assert_eq!(r[1].resource, "*");
    }

    #[test]
    fn a_clean_handover_is_no_double_run() {
        let r = recs(
            "1 node1 d start-begin 0\n1.2 node1 d start-end 0\n5 node1 d stop-begin 0\n\
             5.3 node1 d stop-end 0\n5.3 node2 d start-begin 0\n5.5 node2 d start-end 0\n",
        );
        let ivs = intervals(&r);
        assert_eq!(ivs.len(), 2);
        assert!(double_runs(&ivs, 100.0).is_empty());
        assert_eq!(active(&r)["d"], vec!["node2".to_string()]);
        assert!(not_live(&r, &["d"]).is_empty());
    }

    #[test]
    fn a_start_before_the_old_stop_ended_is_a_double_run() {
        let r = recs(
            "1 node1 d start-begin 0\n1.2 node1 d start-end 0\n5 node1 d stop-begin 0\n\
             5.2 node2 d start-begin 0\n5.3 node1 d stop-end 0\n5.5 node2 d start-end 0\n",
        );
        let d = double_runs(&intervals(&r), 100.0);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].at, 5.2);
        assert!(d[0].to_string().contains("d active on two nodes"));
    }

    #[test]
    fn a_failed_stop_keeps_it_active_and_a_failed_start_counts_from_its_beginning() {
        let r = recs(
            "1 node1 d start-begin 0\n1.1 node1 d start-end 1\n2 node1 d stop-end 1\n\
             3 node2 d start-begin 0\n3.1 node2 d start-end 0\n",
        );
        assert_eq!(double_runs(&intervals(&r), 10.0).len(), 1);
        // Liveness counts only a successful start.
        assert_eq!(active(&r)["d"], vec!["node2".to_string()]);
    }

    #[test]
    fn a_reset_ends_every_resource_of_its_node_at_the_reset() {
        let r = recs(
            "1 node1 a start-begin 0\n1.1 node1 a start-end 0\n1 node1 b start-begin 0\n\
             1.1 node1 b start-end 0\n1 node3 c start-begin 0\n20 node1 * reset 0\n\
             30 node2 a start-begin 0\n30.2 node2 a start-end 0\n",
        );
        let ivs = intervals(&r);
        assert!(double_runs(&ivs, 100.0).is_empty());
        let ends: Vec<_> = ivs
            .iter()
            .filter(|i| i.node == "node1")
            .map(|i| i.end)
            .collect();
        assert_eq!(ends, vec![Some(20.0), Some(20.0)]);
        assert_eq!(not_live(&r, &["a", "b", "c"]), vec!["b", "c"]);
        assert_eq!(failover(&r, "a", "node1", 10.0), Some(20.2));
        assert_eq!(failover(&r, "b", "node1", 10.0), None);
    }

    #[test]
    fn without_a_reset_the_isolated_copy_runs_on_and_overlaps() {
        // The negative control's picture: node1 never reset.
        let r = recs("1 node1 a start-begin 0\n30 node2 a start-begin 0\n60 node1 * reset 0\n");
        let d = double_runs(&intervals(&r), 100.0);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].at, 30.0);
    }

    #[test]
    fn the_same_node_restarting_is_no_double_run() {
        let r = recs("1 node1 a start-begin 0\n2 node1 a start-begin 0\n3 node1 a stop-end 0\n");
        let ivs = intervals(&r);
        assert_eq!(ivs.len(), 1);
        assert!(double_runs(&ivs, 10.0).is_empty());
    }

    #[test]
    fn probe_counts_runs_of_two_owners_once() {
        let s = parse_probe("1 aa:bb\n2 aa:bb cc:dd\n3 cc:dd aa:bb\n4\n5 aa:bb aa:bb\n6 aa cc\n");
        assert_eq!(s[4].macs.len(), 1);
        assert_eq!(probe_doubles(&s), vec![2.0, 6.0]);
        let out = "ARPING 10.77.0.100 from 10.77.0.250 eth0\n\
                   Unicast reply from 10.77.0.100 [AA:BB:CC:00:00:01]  0.6ms\n\
                   Unicast reply from 10.77.0.100 [aa:bb:cc:00:00:02]  0.7ms\n\
                   Unicast reply from 10.77.0.100 [aa:bb:cc:00:00:01]  0.7ms\nSent 2 probes\n";
        assert_eq!(
            arping_macs(out),
            vec!["aa:bb:cc:00:00:01", "aa:bb:cc:00:00:02"]
        );
    }

    #[test]
    fn summary_line() {
        assert_eq!(
            summary(16, 0, 0, &[20.0, 24.0, 22.0]),
            "drills: 16 run, 0 double-runs, 0 lost, failover median 22.0 s, max 24.0 s"
        );
        assert_eq!(median_max(&[1.0, 3.0]), Some((2.0, 3.0)));
        assert!(summary(1, 0, 0, &[]).contains("median - s"));
    }
}
