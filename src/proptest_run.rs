//! The runner of the property tests (`src/properties.rs`, and `mod
//! properties` next to the code they test). Test builds only.

use std::sync::atomic::{AtomicU64, Ordering};

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Runs `test` on `cases` inputs from `strategy` (or `PROPTEST_CASES` of
/// them), prints `property NAME: N inputs, F failures` for `bench/fuzz`,
/// and fails with the shrunk input.
pub(crate) fn check<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    let config = Config {
        cases,
        // Failures become plain #[test]s with the shrunk input, not files.
        failure_persistence: None,
        ..Config::default()
    };
    let tried = AtomicU64::new(0);
    let result = TestRunner::new(config).run(&strategy, |input| {
        tried.fetch_add(1, Ordering::Relaxed);
        test(input)
    });
    let tried = tried.load(Ordering::Relaxed);
    let failures = u32::from(result.is_err());
    println!("property {name}: {tried} inputs, {failures} failures");
    if let Err(e) = result {
        panic!("property {name}: {e}");
    }
}
