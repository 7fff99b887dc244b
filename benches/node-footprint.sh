#!/usr/bin/env bash
# Figures of a real node (issue 13, item 7), measured, never asserted:
#
#   * RSS of pve-ha-crm and pve-ha-lrm after MINUTES minutes (default 10)
#     with GUESTS guests (default 50) running on one node;
#   * their CPU time per idle 10-second round over that window;
#   * the three-node failover time (node reset -> guest running on
#     another node).
#
# Both come from the node end-to-end harness (tests/node_e2e.rs) built in
# release mode: the ignored `footprint_figures` entry and the three-node
# test, which print `figure:`/`notice:` lines. Needs what those tests
# need: root, util-linux, iproute2. The two measurements run at the same
# time; expect MINUTES plus a few minutes in all.
#
# usage: benches/node-footprint.sh [MINUTES [GUESTS]]
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-10}
guests=${2:-50}

cargo test --release --test node_e2e --no-run 2>/dev/null
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

FOOTPRINT_MINUTES=$minutes FOOTPRINT_GUESTS=$guests \
    cargo test --release --test node_e2e -- --ignored --exact footprint_figures --nocapture \
    >"$log/footprint" 2>&1 &
footprint=$!
cargo test --release --test node_e2e -- --exact three_nodes_fence_a_reset_node_and_recover_its_guest --nocapture \
    >"$log/failover" 2>&1 || { cat "$log/failover" >&2; exit 1; }
wait "$footprint" || { cat "$log/footprint" >&2; exit 1; }

grep -h -e '^figure:' -e '^notice: .*guests running' "$log/footprint"
grep -h '^notice: three-node failover' "$log/failover"
