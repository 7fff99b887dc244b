//! Fuzzer throughput (issue 17 item 5): seeds per second in-process, one
//! thread, default configuration (3..7 nodes, 5..50 services). Criterion
//! reports the throughput as elements (= seeds) per second.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use pve_ha::sim::fuzz::{run_seed, FuzzConfig};

/// Seeds per measured iteration: enough to average over scenario sizes.
const SEEDS: u64 = 20;

fn seeds_per_second(c: &mut Criterion) {
    let cfg = FuzzConfig::default();
    let mut g = c.benchmark_group("fuzz");
    g.throughput(Throughput::Elements(SEEDS));
    g.sample_size(10);
    g.bench_function("seeds 1..20 (one thread)", |b| {
        b.iter(|| {
            for seed in 1..=SEEDS {
                black_box(run_seed(black_box(seed), &cfg));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, seeds_per_second);
criterion_main!(benches);
