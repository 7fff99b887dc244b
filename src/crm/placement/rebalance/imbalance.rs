//! The imbalance metric of auto-rebalancing (04 §8.2) and the truncation
//! the methods compare and report it with (04 §8.6).

use crate::crm::placement::topsis::Load;

/// A node's load (04 §8.2): the mean of its CPU and memory fractions.
pub fn node_load(l: &Load) -> f64 {
    (l.cpu / l.maxcpu + l.mem / l.maxmem) / 2.0
}

/// The imbalance of a cluster view (04 §8.2): the coefficient of variation
/// (population standard deviation over mean) of the node loads, taken in
/// the given (sorted node) order.
///
/// Deliberately **not** divided by `sqrt(n − 1)` as the current upstream
/// library does: the 5.2.0 scenarios expect the raw value (04 §12.12).
/// Fewer than two nodes or no load at all give `0.0`. The error (a
/// non-finite result, which node capacities of 0 could cause but the usage
/// init rules out) is the `<error>` of the `unable to calculate … node
/// imbalance` warning.
pub fn imbalance<'a>(loads: impl IntoIterator<Item = &'a Load>) -> Result<f64, String> {
    let loads: Vec<f64> = loads.into_iter().map(node_load).collect();
    let n = loads.len();
    let sum: f64 = loads.iter().sum();
    if n < 2 || sum == 0.0 {
        return Ok(0.0);
    }
    let mean = sum / n as f64;
    let var = loads.iter().map(|l| (l - mean) * (l - mean)).sum::<f64>() / n as f64;
    let cv = var.sqrt() / mean;
    if cv.is_finite() {
        Ok(cv)
    } else {
        Err(format!("got invalid imbalance {cv}"))
    }
}

/// Truncates an imbalance toward zero at 15 decimals (04 §8.6), so that
/// mathematically equal imbalances compare equal despite rounding noise
/// and the smallest sid/target wins.
pub fn truncate(x: f64) -> f64 {
    (x * 1e15).trunc() / 1e15
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(cpu: f64, maxcpu: f64, mem: f64, maxmem: f64) -> Load {
        Load {
            cpu,
            maxcpu,
            mem,
            maxmem,
        }
    }

    #[test]
    fn node_load_is_mean_of_fractions() {
        // 04 §10.2: four VMs of 2 CPUs / 8 GiB on a 24 CPU / 32 GiB node.
        let gib = 1024.0 * 1024.0 * 1024.0;
        let l = load(8.0, 24.0, 32.0 * gib, 32.0 * gib);
        assert!((node_load(&l) - 2.0 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn all_load_on_one_of_three_nodes_is_sqrt_2() {
        let v = [
            load(8.0, 24.0, 32.0, 32.0),
            load(0.0, 24.0, 0.0, 32.0),
            load(0.0, 24.0, 0.0, 32.0),
        ];
        let cv = imbalance(&v).unwrap();
        assert!((cv - 2f64.sqrt()).abs() < 1e-12, "{cv}");
        assert_eq!(format!("{cv:.2}"), "1.41");
    }

    #[test]
    fn not_normalised_by_sqrt_n_minus_1() {
        // 04 §10.2 after the first move: loads (0.5, 0.1667, 0) ⇒ 0.9354,
        // which the upstream library would divide by sqrt(2) to 0.661.
        let v = [
            load(6.0, 24.0, 24.0, 32.0),
            load(2.0, 24.0, 8.0, 32.0),
            load(0.0, 24.0, 0.0, 32.0),
        ];
        let cv = imbalance(&v).unwrap();
        assert!((cv - 0.935414346693485).abs() < 1e-12, "{cv}");
    }

    #[test]
    fn degenerate_views_are_balanced() {
        assert_eq!(imbalance(&[]).unwrap(), 0.0);
        assert_eq!(imbalance(&[load(4.0, 8.0, 1.0, 2.0)]).unwrap(), 0.0);
        let idle = [load(0.0, 8.0, 0.0, 2.0), load(0.0, 8.0, 0.0, 2.0)];
        assert_eq!(imbalance(&idle).unwrap(), 0.0);
        let even = [load(2.0, 8.0, 1.0, 2.0), load(2.0, 8.0, 1.0, 2.0)];
        assert_eq!(imbalance(&even).unwrap(), 0.0);
    }

    #[test]
    fn invalid_capacities_are_errors() {
        let v = [load(1.0, 0.0, 0.0, 2.0), load(0.0, 8.0, 0.0, 2.0)];
        assert!(imbalance(&v)
            .unwrap_err()
            .starts_with("got invalid imbalance"));
    }

    #[test]
    fn truncation_goes_toward_zero_at_15_decimals() {
        assert_eq!(truncate(0.1234567890123459), 0.123456789012345);
        assert_eq!(truncate(0.0), 0.0);
        // Two computations of the same value differing in the last bits
        // become equal.
        let a = 2f64.sqrt() / 3.0;
        let b = f64::from_bits(a.to_bits() + 1);
        assert_eq!(truncate(a), truncate(b));
    }
}
