//! The manager: the master CRM's once-per-round logic (02 §3). It owns the
//! in-memory service and node status, runs the round in the normative step
//! order and writes `manager_status`. The per-service handlers live in
//! `crm::fsm`, node selection in `crm::placement`.

mod commands;
mod disarm;
mod groups;
mod round;
mod rules;

/// The motion kinds, for the auto-rebalancer's use of
/// `queue_resource_motion` (04 §8.8).
pub(crate) use commands::Motion;

use std::collections::BTreeMap;

use crate::config::datacenter::{CrsMode, CrsSettings};
use crate::config::status::{Disarm, LrmResult, ManagerStatus, NodeRequest, ServiceEntry};
use crate::crm::node_status::NodeStatus;
use crate::crm::placement::{CompiledRules, OnlineNodeUsage};
use crate::env::{Env, EnvResult, ServiceConfig, Timing};
use crate::types::{LrmMode, OrUnknown, Sid};

/// Inputs of one manager round that the service handlers read.
#[derive(Debug, Clone, Default)]
pub struct Round {
    /// The service configuration read at the start of the round; the
    /// recovery handler updates a recovered service's `node` in it.
    pub sc: ServiceConfig,
    /// LRM results of all nodes, by uid.
    pub lrm_results: BTreeMap<String, LrmResult>,
    /// LRM mode per node read this round.
    pub lrm_modes: BTreeMap<String, OrUnknown<LrmMode>>,
}

/// The master's state. Created when a CRM becomes master, dropped when it
/// stops being master (all in-memory state is then lost, 02 §2.1).
#[derive(Debug)]
pub struct Manager {
    /// Own node name.
    pub(crate) nodename: String,
    /// Node states and last-online times.
    pub(crate) ns: NodeStatus,
    /// Service status `ss`, by sid.
    pub(crate) ss: BTreeMap<Sid, ServiceEntry>,
    /// Pending node requests (maintenance), persisted.
    pub(crate) node_request: BTreeMap<String, NodeRequest>,
    /// Disarm request and progress, persisted.
    pub(crate) disarm: Option<Disarm>,
    /// Online node usage of this round.
    pub(crate) usage: OnlineNodeUsage,
    /// Compiled placement rules.
    pub(crate) rules: CompiledRules,
    /// Scheduler settings of the last refresh.
    pub(crate) crs: CrsSettings,
    /// Scheduler mode of the last refresh.
    pub(crate) crs_mode: OrUnknown<CrsMode>,
    /// Digests the rules were last compiled from (rules, groups, services).
    pub(crate) compiled_digests: Option<(String, String, String)>,
    /// Countdown to the next HA group migration attempt (02 §3.5).
    pub(crate) group_migration_round: i64,
    /// Rounds the auto-rebalance threshold has been exceeded (04 §8.3).
    pub(crate) sustained_imbalance_round: i64,
    /// Whether the last round found every LRM disarmed (02 §3.10).
    pub(crate) all_lrms_disarmed: bool,
    /// Delays and round counts (02 §1).
    pub(crate) timing: Timing,
    /// The node name folded into 64 bits, once, for [`Manager::new_uid`].
    uid_seed: u64,
}

impl Manager {
    /// Becomes master (02 §3.1): takes over the on-disk status of the
    /// previous master. A read error propagates to the CRM iteration.
    pub fn new(env: &mut dyn Env, timing: Timing) -> EnvResult<Self> {
        let old: ManagerStatus = env.read_manager_status()?;
        let mut m = Manager {
            nodename: env.nodename().to_string(),
            ns: NodeStatus::new(old.node_status),
            ss: old.service_status,
            node_request: old.node_request,
            disarm: old.disarm,
            usage: OnlineNodeUsage::default(),
            rules: CompiledRules::default(),
            crs: CrsSettings::default(),
            crs_mode: OrUnknown::Known(CrsMode::Basic),
            compiled_digests: None,
            group_migration_round: timing.group_migration_first_round,
            sustained_imbalance_round: 0,
            all_lrms_disarmed: false,
            timing,
            uid_seed: env
                .nodename()
                .bytes()
                .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                    (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
                }),
        };
        m.update_crs_scheduler_mode(env, true);
        Ok(m)
    }

    /// Whether the last round found the HA stack fully disarmed.
    pub fn is_fully_disarmed(&self) -> bool {
        self.all_lrms_disarmed
    }

    /// A fresh uid (02 §3.15): 22 characters of the base64 alphabet. Uids
    /// are opaque keys that are never logged, so instead of upstream's MD5
    /// over state, pid and time they mix the node, the time and the
    /// environment's [`unique_token`](Env::unique_token) (upstream's
    /// counter is process-wide, 01 §6.13; here the environment owns it, so
    /// the manager keeps no global state) — cheap enough to re-arm
    /// thousands of services per round. Distinct tokens give distinct
    /// uids: `lo` is a bijection of the token for a fixed `hi`.
    pub(crate) fn new_uid(&mut self, env: &mut dyn Env) -> String {
        let token = env.unique_token();
        let hi = splitmix64(self.uid_seed ^ (env.get_time() as u64).rotate_left(24));
        let lo = splitmix64(hi ^ token);
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&hi.to_be_bytes());
        bytes[8..].copy_from_slice(&lo.to_be_bytes());
        base64_22(&bytes)
    }

    /// Refreshes the CRS settings (02 §3.4), logging the initial mode or a
    /// switch.
    pub(crate) fn update_crs_scheduler_mode(&mut self, env: &mut dyn Env, first: bool) {
        let dc = env.get_datacenter_settings();
        let mode = dc.crs.mode();
        if first {
            if mode != OrUnknown::Known(CrsMode::Basic) {
                env.log(
                    crate::env::LogLevel::Info,
                    &format!("using scheduler mode '{mode}'"),
                );
            }
        } else if mode != self.crs_mode {
            env.log(
                crate::env::LogLevel::Info,
                &format!(
                    "switching scheduler mode from '{}' to '{mode}'",
                    self.crs_mode
                ),
            );
        }
        self.crs_mode = mode;
        self.crs = dc.crs;
    }
}

/// The splitmix64 finaliser: a fast bijective mix of 64 bits.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Unpadded base64 of 16 bytes (22 characters).
fn base64_22(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(22);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            out.push(char::from(ALPHABET[((acc >> bits) & 63) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((acc << (6 - bits)) & 63) as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::Manager;
    use crate::crm::fsm::test_env::FakeEnv;
    use crate::env::Timing;

    #[test]
    fn uids_are_unique_base64_tokens() {
        let mut env = FakeEnv::new("node1", 100);
        let mut a = Manager::new(&mut env, Timing::upstream()).expect("manager");
        let mut b = Manager::new(&mut env, Timing::upstream())
            .expect("second manager, same node and second");
        let mut seen = BTreeSet::new();
        for _ in 0..5000 {
            for m in [&mut a, &mut b] {
                let uid = m.new_uid(&mut env);
                assert_eq!(uid.len(), 22, "{uid}");
                assert!(uid
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/'));
                assert!(seen.insert(uid), "duplicate uid");
            }
        }
    }
}
