//! The GP Connect client's retries: `Retry-After` is honoured, the give-up window yields a
//! typed error, an oversized answer is refused.

use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::watch;
use waymark_adapter_systmone::{
    Fetch, GpcClient, GpcIdentity, MockSystmOne, PullRequest, RetryPolicy, SystmOneError,
    mock::{Fault, MockData, MockFaults},
};
use waymark_core::ErrorCode;

use crate::common::SEED;

fn client(mock: &MockSystmOne, give_up: Duration, max_body: usize) -> GpcClient {
    let retry = RetryPolicy {
        initial: Duration::from_millis(10),
        max: Duration::from_secs(5),
        give_up_after: give_up,
    };
    let (base, id) = (mock.base_url(), GpcIdentity::default());
    GpcClient::new(&base, id, Duration::from_secs(5), retry, max_body, 12).unwrap()
}

#[tokio::test]
async fn retries_honour_retry_after_and_giving_up_is_typed() {
    let faults = MockFaults {
        cycle: vec![Fault::ServerError],
        every: 1,
        ..MockFaults::default()
    };
    let mock = MockSystmOne::start(
        MockData::synthetic(SEED, 60, &faults),
        Duration::ZERO,
        false,
    )
    .await
    .unwrap();
    let numbers = mock.data().pullable();
    let (_keep, shutdown) = watch::channel(false);
    let telemetry = waymark_adapter_systmone::Telemetry::default();
    let request = |nhs: &str| PullRequest::new(nhs, "identified", Utc::now()).unwrap();

    // Two 503s with `Retry-After: 1`: the answer comes after at least two seconds.
    let started = Instant::now();
    let fetched = client(&mock, Duration::from_secs(30), 1 << 24)
        .fetch(1, &request(&numbers[0]), &telemetry, &shutdown)
        .await;
    assert!(matches!(
        fetched,
        Fetch::Answered(waymark_adapter_systmone::Answer::Record(_))
    ));
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(telemetry.counters().retried, 2);

    // A window shorter than `Retry-After`: given up at once, with the last error named.
    let fetched = client(&mock, Duration::from_millis(500), 1 << 24)
        .fetch(2, &request(&numbers[1]), &telemetry, &shutdown)
        .await;
    match fetched {
        Fetch::Failed(err @ SystmOneError::GaveUp { last, .. }) => {
            assert_eq!(err.code(), "systmone.gave-up");
            assert_eq!(last, "systmone.gpc.internal-error");
        }
        other => panic!("{other:?}"),
    }

    // An answer over the body limit is refused, not read.
    let _ = client(&mock, Duration::from_secs(30), 1 << 24)
        .fetch(3, &request(&numbers[2]), &telemetry, &shutdown)
        .await;
    let fetched = client(&mock, Duration::from_secs(30), 100)
        .fetch(4, &request(&numbers[2]), &telemetry, &shutdown)
        .await;
    assert!(
        matches!(
            fetched,
            Fetch::Failed(SystmOneError::TooLarge { limit: 100 })
        ),
        "{fetched:?}"
    );
}
