//! The online node usage (04 §4): which services load which online node,
//! rebuilt every round and updated on every state change, and the start
//! scores node selection sorts by.

use std::collections::{BTreeMap, BTreeSet};

use super::weighted::{Flavour, WeightedUsage};
use crate::config::datacenter::CrsMode;
use crate::config::status::ServiceEntry;
use crate::env::{Env, EnvResult, LogLevel, ServiceStats, StatsKind};
use crate::types::{OrUnknown, ServiceState, Sid};

/// The nodes an entry occupies among the online nodes (04 §2.2): its
/// current node and its target node, each only when online.
///
/// `request_start_balance` occupies only its target (04 §12.3): the stopped
/// guest will start there, not on its source.
pub fn used_nodes<'a>(
    sd: &'a ServiceEntry,
    online: &BTreeSet<String>,
) -> (Option<&'a str>, Option<&'a str>) {
    let on = |n: &'a Option<String>| n.as_deref().filter(|n| online.contains(*n));
    match sd.state_known() {
        Some(
            ServiceState::Started
            | ServiceState::RequestStop
            | ServiceState::Fence
            | ServiceState::Freeze
            | ServiceState::Error
            | ServiceState::Recovery,
        ) => (on(&sd.node), None),
        Some(ServiceState::Migrate | ServiceState::Relocate) => (on(&sd.node), on(&sd.target)),
        Some(ServiceState::RequestStartBalance) => (None, on(&sd.target)),
        // `stopped`, `request_start`, and words that are no CRM state (a
        // non-HA guest's `disabled`/`ignored`) occupy nothing.
        Some(ServiceState::Stopped | ServiceState::RequestStart) | None => (None, None),
    }
}

/// Per-mode accounting behind [`OnlineNodeUsage`].
#[derive(Debug, Clone, PartialEq)]
enum Scheduler {
    /// `basic` (04 §4.2): the set of sids on each online node.
    Basic(BTreeMap<String, BTreeSet<Sid>>),
    /// `static` or `dynamic` (04 §4.3–§4.5).
    Weighted(WeightedUsage),
}

/// Load per online node, rebuilt every round (04 §4.1).
#[derive(Debug, Clone, PartialEq)]
pub struct OnlineNodeUsage {
    /// The online nodes, sorted.
    nodes: Vec<String>,
    /// The same, for lookups.
    online: BTreeSet<String>,
    sched: Scheduler,
}

impl Default for OnlineNodeUsage {
    fn default() -> Self {
        OnlineNodeUsage::new_basic(&[])
    }
}

impl OnlineNodeUsage {
    /// An empty `basic` usage object over `online_nodes` (no services
    /// added yet).
    pub fn new_basic(online_nodes: &[String]) -> Self {
        let online: BTreeSet<String> = online_nodes.iter().cloned().collect();
        OnlineNodeUsage {
            nodes: online.iter().cloned().collect(),
            sched: Scheduler::Basic(
                online
                    .iter()
                    .map(|n| (n.clone(), BTreeSet::new()))
                    .collect(),
            ),
            online,
        }
    }

    /// Builds the usage for the online nodes (04 §4.1): picks the
    /// scheduler for `mode` (logging the documented fallback warnings, every
    /// round), then adds every entry of `ss` (sorted) and every guest of the
    /// service statistics that is not in `ss` (sorted; the non-HA guests).
    ///
    /// A failure to fetch the basic statistics propagates, as upstream's
    /// round dies there.
    pub fn build(
        env: &mut dyn Env,
        mode: &OrUnknown<CrsMode>,
        online_nodes: &[String],
        ss: &BTreeMap<Sid, ServiceEntry>,
    ) -> EnvResult<Self> {
        let mut built: Option<(OnlineNodeUsage, BTreeMap<Sid, ServiceStats>)> = None;
        match mode {
            OrUnknown::Known(CrsMode::Basic) => {}
            OrUnknown::Known(m @ (CrsMode::Static | CrsMode::Dynamic)) => {
                match Self::init_scheduler(env, *m, online_nodes) {
                    Ok(b) => built = Some(b),
                    Err(e) => env.log(
                        LogLevel::Warning,
                        &format!(
                            "fallback to 'basic' scheduler mode, init for '{m}' failed - {}",
                            e.trim_end_matches('\n')
                        ),
                    ),
                }
            }
            OrUnknown::Unknown(w) => env.log(
                LogLevel::Warning,
                &format!("got unknown scheduler mode '{w}', using 'basic'"),
            ),
        }
        let (mut usage, stats) = match built {
            Some(b) => b,
            None => (
                OnlineNodeUsage::new_basic(online_nodes),
                env.get_service_stats(StatsKind::Basic)?,
            ),
        };
        for (sid, sd) in ss {
            usage.add_logged(env, sid, sd);
        }
        for (sid, st) in &stats {
            if ss.contains_key(sid) {
                continue;
            }
            usage.add_logged(env, sid, &entry_from_stats(st));
        }
        Ok(usage)
    }

    /// Creates the `static` / `dynamic` scheduler (04 §4.3–§4.5); the
    /// error is the `<error>` of the fallback warning.
    fn init_scheduler(
        env: &mut dyn Env,
        mode: CrsMode,
        online_nodes: &[String],
    ) -> Result<(OnlineNodeUsage, BTreeMap<Sid, ServiceStats>), String> {
        let flavour = match mode {
            CrsMode::Static => Flavour::Static,
            CrsMode::Dynamic => Flavour::Dynamic,
            CrsMode::Basic => return Err("basic scheduling needs no init".into()),
        };
        let w = WeightedUsage::init(env, flavour, online_nodes)?;
        let stats = w.stats().clone();
        let online: BTreeSet<String> = online_nodes.iter().cloned().collect();
        Ok((
            OnlineNodeUsage {
                nodes: online.iter().cloned().collect(),
                online,
                sched: Scheduler::Weighted(w),
            },
            stats,
        ))
    }

    /// The `static`/`dynamic` object, if that mode is in effect (for
    /// auto-rebalancing, 04 §8).
    pub fn weighted(&self) -> Option<&WeightedUsage> {
        match &self.sched {
            Scheduler::Basic(_) => None,
            Scheduler::Weighted(w) => Some(w),
        }
    }

    /// The online nodes, sorted.
    pub fn online_nodes(&self) -> &[String] {
        &self.nodes
    }

    /// The online nodes as a set.
    pub fn online_set(&self) -> &BTreeSet<String> {
        &self.online
    }

    /// Accounts a service's entry (04 §4.1 "add service usage"). Problems
    /// (only possible in `static`/`dynamic` mode) are dropped silently; use
    /// [`OnlineNodeUsage::try_add_service_usage`] to report them.
    pub fn add_service_usage(&mut self, sid: &Sid, sd: &ServiceEntry) {
        let _ = self.try_add_service_usage(sid, sd);
    }

    /// Accounts a service's entry; the error text is the `<error>` of
    /// `unable to add service '<sid>' - <error>` (04 §4.3).
    pub fn try_add_service_usage(&mut self, sid: &Sid, sd: &ServiceEntry) -> Result<(), String> {
        let (current, target) = used_nodes(sd, &self.online);
        match &mut self.sched {
            Scheduler::Basic(sets) => {
                // §2.2 only yields online nodes, so both lookups succeed.
                for node in [current, target].into_iter().flatten() {
                    if let Some(set) = sets.get_mut(node) {
                        set.insert(sid.clone());
                    }
                }
                Ok(())
            }
            Scheduler::Weighted(w) => {
                // 04 §4.1: a service runs when `started` and confirmed, or
                // when it is in any other state that occupies a node.
                let started = sd.state_known() == Some(ServiceState::Started);
                let running = (started && sd.running) || (!started && current.is_some());
                w.add(sid, current, target, running)
            }
        }
    }

    /// Adds and logs a failure as upstream's usage objects do.
    pub fn add_logged(&mut self, env: &mut dyn Env, sid: &Sid, sd: &ServiceEntry) {
        if let Err(e) = self.try_add_service_usage(sid, sd) {
            env.log(
                LogLevel::Warning,
                &format!(
                    "unable to add service '{sid}' - {}",
                    e.trim_end_matches('\n')
                ),
            );
        }
    }

    /// Removes a service's contribution from every node.
    pub fn remove_service_usage(&mut self, sid: &Sid) {
        match &mut self.sched {
            Scheduler::Basic(sets) => {
                for set in sets.values_mut() {
                    set.remove(sid);
                }
            }
            Scheduler::Weighted(w) => w.remove(sid),
        }
    }

    /// Start scores of every online node for `sid` (04 §4): lower is
    /// better. `basic`: the number of services on the node (04 §4.2);
    /// `static`/`dynamic`: the negated TOPSIS score (04 §4.5). When scoring
    /// fails every node scores 0 (04 §4.3, §4.4) — see
    /// [`OnlineNodeUsage::try_score_nodes_to_start_service`] for the error.
    pub fn score_nodes_to_start_service(&self, sid: &Sid) -> BTreeMap<String, f64> {
        self.try_score_nodes_to_start_service(sid)
            .unwrap_or_else(|_| self.nodes.iter().map(|n| (n.clone(), 0.0)).collect())
    }

    /// Like [`OnlineNodeUsage::score_nodes_to_start_service`]; a failure is
    /// the whole `err` line upstream logs
    /// (`unable to score nodes according to <mode> usage for service '<sid>' - <error>`).
    pub fn try_score_nodes_to_start_service(
        &self,
        sid: &Sid,
    ) -> Result<BTreeMap<String, f64>, String> {
        match &self.sched {
            Scheduler::Basic(sets) => Ok(sets
                .iter()
                .map(|(n, s)| (n.clone(), s.len() as f64))
                .collect()),
            Scheduler::Weighted(w) => w.score(sid).map_err(|e| {
                format!(
                    "unable to score nodes according to {} usage for service '{sid}' - {}",
                    w.flavour().word(),
                    e.trim_end_matches('\n')
                )
            }),
        }
    }
}

/// The entry a non-HA guest's statistics stand for (04 §4.1 step 4): its
/// configured node, its state word (`started`/`stopped` in the real
/// environment, any configured word in the simulator) and running flag.
fn entry_from_stats(st: &ServiceStats) -> ServiceEntry {
    ServiceEntry {
        state: Some(
            st.state
                .parse()
                .unwrap_or_else(|e: std::convert::Infallible| match e {}),
        ),
        node: Some(st.node.clone()),
        running: st.running,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::fsm::test_env::FakeEnv;
    use crate::crm::placement::{select_service_node_logged, CompiledRules, NodePreference};
    use crate::env::{NodeStats, ServiceConf, Usage};
    use crate::types::RequestedState;

    fn sid(s: &str) -> Sid {
        s.parse().unwrap()
    }

    fn nodes(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn entry(state: ServiceState, node: &str) -> ServiceEntry {
        ServiceEntry {
            state: Some(OrUnknown::Known(state)),
            node: Some(node.into()),
            ..Default::default()
        }
    }

    fn stats(node: &str, state: &str, usage: Usage) -> ServiceStats {
        ServiceStats {
            node: node.into(),
            state: state.into(),
            running: state == "started",
            usage,
        }
    }

    fn limits(maxcpu: f64, maxmem: f64) -> Usage {
        Usage {
            maxcpu: Some(maxcpu),
            maxmem: Some(maxmem),
            ..Default::default()
        }
    }

    fn node(maxcpu: f64, maxmem: f64) -> NodeStats {
        NodeStats {
            maxcpu: Some(maxcpu),
            maxmem: Some(maxmem),
            ..Default::default()
        }
    }

    fn conf() -> ServiceConf {
        ServiceConf {
            node: String::new(),
            state: RequestedState::Started,
            failback: true,
            max_restart: 1,
            max_relocate: 1,
            group: None,
            comment: None,
        }
    }

    const BASIC: OrUnknown<CrsMode> = OrUnknown::Known(CrsMode::Basic);
    const STATIC: OrUnknown<CrsMode> = OrUnknown::Known(CrsMode::Static);
    const DYNAMIC: OrUnknown<CrsMode> = OrUnknown::Known(CrsMode::Dynamic);

    #[test]
    fn used_nodes_per_state() {
        let online: BTreeSet<String> = ["n1", "n2"].iter().map(|s| s.to_string()).collect();
        let mut sd = entry(ServiceState::Migrate, "n1");
        sd.target = Some("n2".into());
        assert_eq!(used_nodes(&sd, &online), (Some("n1"), Some("n2")));
        sd.state = Some(OrUnknown::Known(ServiceState::RequestStartBalance));
        assert_eq!(used_nodes(&sd, &online), (None, Some("n2")));
        sd.state = Some(OrUnknown::Known(ServiceState::Relocate));
        sd.node = Some("n3".into());
        assert_eq!(used_nodes(&sd, &online), (None, Some("n2")));
        for s in [ServiceState::Stopped, ServiceState::RequestStart] {
            assert_eq!(used_nodes(&entry(s, "n1"), &online), (None, None));
        }
        for s in [
            ServiceState::Error,
            ServiceState::Freeze,
            ServiceState::Fence,
        ] {
            assert_eq!(used_nodes(&entry(s, "n1"), &online), (Some("n1"), None));
        }
        let mut odd = entry(ServiceState::Started, "n1");
        odd.state = Some(OrUnknown::Unknown("disabled".into()));
        assert_eq!(used_nodes(&odd, &online), (None, None));
    }

    #[test]
    fn basic_counts_ha_and_non_ha_guests() {
        let mut env = FakeEnv::new("n1", 0);
        env.stats
            .insert(sid("vm:1"), stats("n2", "started", Usage::default()));
        env.stats
            .insert(sid("vm:200"), stats("n2", "started", Usage::default()));
        env.stats
            .insert(sid("vm:201"), stats("n1", "ignored", Usage::default()));
        env.stats
            .insert(sid("vm:202"), stats("n1", "stopped", Usage::default()));
        let mut ss = BTreeMap::new();
        ss.insert(sid("vm:1"), entry(ServiceState::Started, "n1"));
        let u = OnlineNodeUsage::build(&mut env, &BASIC, &nodes(&["n1", "n2"]), &ss).unwrap();
        let scores = u.score_nodes_to_start_service(&sid("vm:9"));
        assert_eq!((scores["n1"], scores["n2"]), (1.0, 1.0));
        assert!(env.logs.is_empty());
    }

    #[test]
    fn unknown_mode_and_static_fallbacks_warn() {
        let online = nodes(&["n1", "n2"]);
        let ss = BTreeMap::new();
        let mut env = FakeEnv::new("n1", 0);
        let mode = OrUnknown::Unknown("fancy".into());
        let u = OnlineNodeUsage::build(&mut env, &mode, &online, &ss).unwrap();
        assert!(u.weighted().is_none());
        OnlineNodeUsage::build(&mut env, &STATIC, &online, &ss).unwrap();
        env.node_stats = Some([("n1".to_string(), node(8.0, 1e9))].into());
        OnlineNodeUsage::build(&mut env, &DYNAMIC, &online, &ss).unwrap();
        env.node_stats = Some(
            [
                ("n1".to_string(), node(8.0, 1e9)),
                (
                    "n2".to_string(),
                    NodeStats {
                        maxmem: Some(1e9),
                        ..Default::default()
                    },
                ),
            ]
            .into(),
        );
        OnlineNodeUsage::build(&mut env, &STATIC, &online, &ss).unwrap();
        env.node_stats = Some(
            [
                ("n1".to_string(), node(8.0, 1e9)),
                ("n2".to_string(), node(8.0, 0.0)),
            ]
            .into(),
        );
        OnlineNodeUsage::build(&mut env, &STATIC, &online, &ss).unwrap();
        assert_eq!(
            env.lines(),
            [
                "warn got unknown scheduler mode 'fancy', using 'basic'",
                "warn fallback to 'basic' scheduler mode, init for 'static' failed - did not get static node usage information - no node stats",
                "warn fallback to 'basic' scheduler mode, init for 'dynamic' failed - did not get dynamic node usage information for 'n2'",
                "warn fallback to 'basic' scheduler mode, init for 'static' failed - static node usage information for 'n2' missing cpu count",
                "warn fallback to 'basic' scheduler mode, init for 'static' failed - static node usage information for 'n2' missing memory",
            ]
        );
    }

    /// 04 §10.1 (test-crs-static2 at 282): recovery of vm:102 by static
    /// TOPSIS scores over node2, node3 and node5.
    #[test]
    fn static_recovery_worked_example() {
        let mut env = FakeEnv::new("node2", 282);
        env.node_stats = Some(
            [
                ("node1", 32.0, 100e9),
                ("node2", 32.0, 200e9),
                ("node3", 32.0, 300e9),
                ("node4", 64.0, 300e9),
                ("node5", 32.0, 100e9),
            ]
            .iter()
            .map(|(n, c, m)| (n.to_string(), node(*c, *m)))
            .collect(),
        );
        env.stats
            .insert(sid("vm:102"), stats("node1", "started", limits(2.0, 4e9)));
        let mut ss = BTreeMap::new();
        ss.insert(sid("vm:102"), entry(ServiceState::Recovery, "node1"));
        let online = nodes(&["node2", "node3", "node5"]);
        let u = OnlineNodeUsage::build(&mut env, &STATIC, &online, &ss).unwrap();
        assert!(u.weighted().is_some());
        let s = u.score_nodes_to_start_service(&sid("vm:102"));
        assert!((s["node2"] + 0.75).abs() < 1e-9 && (s["node3"] + 1.0).abs() < 1e-12);
        assert!(s["node5"].abs() < 1e-12);
        let rules = CompiledRules::default();
        let got = select_service_node_logged(
            &mut env,
            &rules,
            &u,
            &sid("vm:102"),
            &conf(),
            &ss,
            NodePreference::BestScore,
        );
        assert_eq!(got.as_deref(), Some("node3"));
        assert!(env.logs.is_empty(), "{:?}", env.lines());
    }

    #[test]
    fn static_service_without_stats_warns_and_scores_zero() {
        let mut env = FakeEnv::new("n1", 0);
        env.node_stats = Some(
            [
                ("n1".to_string(), node(8.0, 8e9)),
                ("n2".to_string(), node(8.0, 8e9)),
            ]
            .into(),
        );
        env.stats
            .insert(sid("vm:1"), stats("n1", "started", limits(4.0, 4e9)));
        env.stats
            .insert(sid("vm:2"), stats("n2", "started", Usage::default()));
        env.stats
            .insert(sid("vm:3"), stats("n2", "started", limits(0.0, 1e9)));
        let mut ss = BTreeMap::new();
        ss.insert(sid("vm:1"), entry(ServiceState::Started, "n1"));
        ss.insert(sid("vm:2"), entry(ServiceState::Started, "n2"));
        ss.insert(sid("vm:9"), entry(ServiceState::Started, "n2"));
        let u = OnlineNodeUsage::build(&mut env, &STATIC, &nodes(&["n1", "n2"]), &ss).unwrap();
        // Memory dominates (weights 5 and 10): n2 (1e9 used) wins.
        let s = u.score_nodes_to_start_service(&sid("vm:1"));
        assert!(s["n2"] < s["n1"], "{s:?}");
        let got = select_service_node_logged(
            &mut env,
            &CompiledRules::default(),
            &u,
            &sid("vm:9"),
            &conf(),
            &BTreeMap::new(),
            NodePreference::BestScore,
        );
        assert_eq!(got.as_deref(), Some("n1"), "all 0: name order");
        assert_eq!(
            env.lines(),
            [
                "warn unable to add service 'vm:2' - missing field `maxcpu`",
                "warn unable to add service 'vm:9' - did not get static service usage information for 'vm:9'",
                "err unable to score nodes according to static usage for service 'vm:9' - did not get static service usage information for 'vm:9'",
            ]
        );
    }
}
