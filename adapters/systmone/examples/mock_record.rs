//! Prints one record of the mock SystmOne (the STU3 Bundle it serves), to make mapping
//! fixtures: `cargo run -p waymark-adapter-systmone --example mock_record -- <seed> <people> <index> [unknown-extensions]`.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use waymark_adapter_systmone::mock::{Fault, MockData, MockFaults};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg =
        |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (seed, people, index) = (arg(0, 7) as u64, arg(1, 200), arg(2, 0));
    let unknown = args.get(3).is_some_and(|a| a == "unknown-extensions");
    let faults = if unknown {
        MockFaults {
            cycle: vec![Fault::UnknownExtensions],
            every: 1,
            slow: Duration::ZERO,
            ..MockFaults::default()
        }
    } else {
        MockFaults::default()
    };
    let data = MockData::synthetic(seed, people, &faults);
    let numbers = data.pullable();
    let nhs = &numbers[index % numbers.len()];
    println!(
        "{}",
        String::from_utf8(data.record(nhs).unwrap().body.clone()).unwrap()
    );
}
