//! TOPSIS scoring (04 §4.5): rank alternatives by their distance to the
//! ideal best and worst values of weighted, normalised criteria. All four
//! placement criteria are minimised; higher scores are better.

/// Number of criteria of the placement alternatives.
pub const N_CRITERIA: usize = 4;

/// Raw weights of average CPU, highest CPU, average memory and highest
/// memory (04 §4.5 step 1); normalised to sum 1 before use.
pub const WEIGHTS: [f64; N_CRITERIA] = [1.0, 2.0, 5.0, 10.0];

/// One node's load as a fraction pair, the input of [`alternative`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    /// CPU in use (cores).
    pub cpu: f64,
    /// CPU capacity (cores).
    pub maxcpu: f64,
    /// Memory in use (bytes).
    pub mem: f64,
    /// Memory capacity (bytes).
    pub maxmem: f64,
}

/// The four criteria of one alternative cluster state (04 §4.5 step 1):
/// `1 +` root mean square and `1 +` maximum of the CPU and memory
/// fractions of every node. The `1 +` keeps tiny differences from
/// dominating.
pub fn alternative(loads: &[Load]) -> [f64; N_CRITERIA] {
    let n = loads.len() as f64;
    let (mut sq_cpu, mut hi_cpu, mut sq_mem, mut hi_mem) = (0.0, 0.0_f64, 0.0, 0.0_f64);
    for l in loads {
        let c = l.cpu / l.maxcpu;
        let m = l.mem / l.maxmem;
        hi_cpu = f64::max(hi_cpu, c);
        sq_cpu += c * c;
        hi_mem = f64::max(hi_mem, m);
        sq_mem += m * m;
    }
    [
        1.0 + (sq_cpu / n).sqrt(),
        1.0 + hi_cpu,
        1.0 + (sq_mem / n).sqrt(),
        1.0 + hi_mem,
    ]
}

/// Euclidean norm, summed left to right.
fn l2_norm(values: impl IntoIterator<Item = f64>) -> f64 {
    values.into_iter().fold(0.0, |acc, x| acc + x * x).sqrt()
}

/// Scores the alternatives (04 §4.5 steps 2–5), all criteria minimised.
/// The error texts are upstream's (`criterion <j> got invalid value <v>`,
/// `invalid score <v>`).
pub fn score(matrix: &[[f64; N_CRITERIA]]) -> Result<Vec<f64>, String> {
    let mut m: Vec<[f64; N_CRITERIA]> = matrix.to_vec();
    for j in 0..N_CRITERIA {
        let norm = l2_norm(m.iter().map(|row| row[j]));
        if norm == 0.0 {
            continue;
        }
        for row in m.iter_mut() {
            row[j] /= norm;
            if !row[j].is_finite() {
                return Err(format!("criterion {j} got invalid value {}", row[j]));
            }
        }
    }
    let total: f64 = WEIGHTS.iter().sum();
    let weights: Vec<f64> = WEIGHTS.iter().map(|w| w / total).collect();
    let mut best = [0.0; N_CRITERIA];
    let mut worst = [0.0; N_CRITERIA];
    for j in 0..N_CRITERIA {
        best[j] = m.iter().fold(f64::INFINITY, |a, row| a.min(row[j]));
        worst[j] = m.iter().fold(f64::NEG_INFINITY, |a, row| a.max(row[j]));
    }
    m.iter()
        .map(|row| {
            let to = |ideal: &[f64; N_CRITERIA]| {
                l2_norm((0..N_CRITERIA).map(|j| weights[j] * (row[j] - ideal[j])))
            };
            let (d_best, d_worst) = (to(&best), to(&worst));
            let divisor = d_best + d_worst;
            let s = if divisor == 0.0 {
                0.0
            } else {
                d_worst / divisor
            };
            if s.is_finite() {
                Ok(s)
            } else {
                Err(format!("invalid score {s}"))
            }
        })
        .collect()
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

    /// 04 §10.1 at 282: vm:102 (2 CPUs, 4e9 bytes) on node2/node3/node5.
    #[test]
    fn worked_example_static_recovery() {
        let caps = [(32.0, 200e9), (32.0, 300e9), (32.0, 100e9)];
        let matrix: Vec<[f64; 4]> = (0..3)
            .map(|k| {
                let loads: Vec<Load> = caps
                    .iter()
                    .enumerate()
                    .map(|(i, (c, m))| {
                        if i == k {
                            load(2.0, *c, 4e9, *m)
                        } else {
                            load(0.0, *c, 0.0, *m)
                        }
                    })
                    .collect();
                alternative(&loads)
            })
            .collect();
        assert!((matrix[0][0] - 1.036084).abs() < 1e-6);
        assert!((matrix[0][3] - 1.02).abs() < 1e-12);
        assert!((matrix[1][2] - 1.007698).abs() < 1e-6);
        let s = score(&matrix).unwrap();
        assert!((s[0] - 0.75).abs() < 1e-9, "{s:?}");
        assert!((s[1] - 1.0).abs() < 1e-12, "{s:?}");
        assert!(s[2].abs() < 1e-12, "{s:?}");
    }

    #[test]
    fn identical_alternatives_score_zero() {
        let a = alternative(&[load(0.0, 8.0, 0.0, 1.0), load(0.0, 8.0, 0.0, 1.0)]);
        assert_eq!(score(&[a, a, a]).unwrap(), [0.0, 0.0, 0.0]);
        assert_eq!(score(&[]).unwrap(), Vec::<f64>::new());
    }

    #[test]
    fn invalid_values_are_errors() {
        let bad = [f64::INFINITY, 1.0, 1.0, 1.0];
        assert!(score(&[bad, [1.0; 4]])
            .unwrap_err()
            .starts_with("criterion 0 got invalid value"));
    }
}
