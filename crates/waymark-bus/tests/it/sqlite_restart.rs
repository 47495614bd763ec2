//! The embedded bus under load and across restarts: 1,000 concurrent publishers, and the file
//! dropped and reopened three times mid-stream (the embedded bus's "restart").

use std::{path::PathBuf, sync::Arc, time::Duration};

use async_trait::async_trait;
use tokio::sync::Mutex;
use waymark_bus::{
    Bus, SqliteBus,
    conformance::{self, RestartShape, Restartable},
};

/// The bus in one file, closed and opened again on `restart`.
struct Reopening {
    path: PathBuf,
    bus: Mutex<Arc<SqliteBus>>,
}

#[async_trait]
impl Restartable for Reopening {
    async fn bus(&self) -> Arc<dyn Bus> {
        self.bus.lock().await.clone()
    }

    async fn restart(&self) {
        let mut bus = self.bus.lock().await;
        bus.close().await;
        *bus = Arc::new(SqliteBus::open(&self.path).await.unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thousand_concurrent_publishers() {
    let dir = tempfile::tempdir().unwrap();
    let bus = Arc::new(SqliteBus::open(&dir.path().join("bus.db")).await.unwrap());
    let report = conformance::thousand_concurrent_publishers(bus).await;
    eprintln!(
        "sqlite bus, 1,000 publishers: {report:?}, {:.0} msgs/s",
        report.per_second()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn survives_three_reopens_mid_stream() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bus.db");
    let bus = Mutex::new(Arc::new(SqliteBus::open(&path).await.unwrap()));
    let harness = Arc::new(Reopening { path, bus });
    let shape = RestartShape {
        messages: 2_000,
        restarts: 3,
        publishers: 20,
        consumers: 4,
        settle: Duration::ZERO,
        deadline: Duration::from_secs(90),
    };
    let report = conformance::survives_restarts(harness, shape).await;
    eprintln!(
        "sqlite bus, {} reopens: published {}, lost {}, duplicated effects {}, at risk {}, \
         recovered {}, redeliveries {}, publish retries {}, {:.1?}",
        report.restarts,
        report.published,
        report.lost,
        report.duplicated_effects,
        report.at_risk,
        report.recovered,
        report.redeliveries,
        report.publish_retries,
        report.elapsed
    );
}
