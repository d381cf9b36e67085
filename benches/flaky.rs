//! Flaky-sources benchmark: a fifth of the sources answer their first GET with a 503 (a host
//! that blips), so their files come back FAILED; the run must explain them (a probe of the
//! source, no API call), trash the FAILED files and import those rows again. Measured against
//! the same run with healthy sources: every row READY, API calls per 100 files (target ≤ 2.5),
//! and the time to all READY (target within 1.5× of the healthy run). Run on demand:
//!
//! ```sh
//! cargo bench --bench flaky
//! cargo bench --bench flaky -- --rows 12000 --flaky-per-mille 300
//! ```
//!
//! Every figure is counted on the server (see `support`); the run panics if a row is not READY
//! or the client's counts disagree with the server's.

mod support;

use support::{Measured, Scenario, migrate, pct};

fn scenario() -> Scenario {
    Scenario {
        rows: 6_000,
        flaky_per_mille: 200,
        ..Scenario::default()
    }
}

fn calls_per_100(m: &Measured) -> f64 {
    m.server.total_calls as f64 / m.server_ready_files().max(1) as f64 * 100.0
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let flaky = scenario().parse(&args);
    let healthy = Scenario {
        flaky_per_mille: 0,
        ..scenario().parse(&args)
    };
    println!(
        "flaky bench on {} cores: {} rows, {}‰ of sources fail their first GET",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        flaky.rows,
        flaky.flaky_per_mille
    );
    let h = migrate(&healthy);
    let f = migrate(&flaky);
    for (name, m) in [("healthy", &h), ("flaky", &f)] {
        println!(
            "  {name:<8} files READY (server): {} of {} rows; {} API calls = {:.2} per 100 files ({} bulk deletes to the trash); all READY after {:.1} s (server clock)",
            m.server_ready_files(),
            m.rows,
            m.server.total_calls,
            calls_per_100(m),
            m.endpoint("bulk/files/delete"),
            m.window().as_secs_f64()
        );
    }
    assert_eq!(
        f.server_ready_files(),
        f.rows,
        "every row of a flaky source must end READY"
    );
    let ratio = f.window().as_secs_f64() / h.window().as_secs_f64();
    println!(
        "  flaky ÷ healthy: time {ratio:.2}× (target ≤ 1.5×), calls per 100 files {:.2} (target ≤ 2.5)",
        calls_per_100(&f)
    );
    println!(
        "  budget spent (flaky): {}",
        pct(f.admitted() as f64 / f.allowed(flaky.limit, flaky.burst))
    );
    println!("  reproduce: cargo bench --bench flaky -- {}", flaky.args());
}
