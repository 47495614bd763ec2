//! The demo's sources beside NOMIS: each adapter with its mock on loopback, publishing to the
//! hub's ingest queue — Athena polled by cursor, ExceliCare sending HL7 over MLLP, the SCR and
//! SystmOne pulled for the people the mocks know. Every mock serves its part of the same seeded
//! synthetic population (`waymark-synth`).

use std::{net::SocketAddr, path::Path, sync::Arc};

use tokio::sync::watch;
use waymark_adapter_athena as athena;
use waymark_adapter_excelicare as excelicare;
use waymark_adapter_scr as scr;
use waymark_adapter_systmone as systmone;
use waymark_bus::{AdapterContext, Bus, Publisher};
use waymark_core::SourceSystem;
use waymark_pipeline::INGEST;

/// Where a source is: what its adapter published, and whether its mock has given all it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceProgress {
    /// The source.
    pub source: SourceSystem,
    /// Messages the bus confirmed as new.
    pub published: u64,
    /// The mock has nothing more to give and the adapter nothing in hand.
    pub finished: bool,
}

/// The four running adapters and their mocks.
pub struct OtherSources {
    athena_mock: athena::MockAthena,
    athena: athena::RunningAdapter,
    excelicare_mock: excelicare::MockExcelicare,
    excelicare: excelicare::RunningAdapter,
    excelicare_sent: watch::Receiver<bool>,
    scr_mock: scr::MockScr,
    scr: scr::RunningAdapter,
    systmone_mock: systmone::MockSystmOne,
    systmone: systmone::RunningAdapter,
    stop: watch::Sender<bool>,
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

impl OtherSources {
    /// Starts the mocks and the adapters; ExceliCare starts sending and the pull adapters are
    /// asked for every person their mock knows (as a prison reception or an identification
    /// would ask).
    pub async fn start(
        bus: Arc<dyn Bus>,
        data_dir: &Path,
        seed: u64,
        people: usize,
        bad: bool,
    ) -> anyhow::Result<Self> {
        let (stop, shutdown) = watch::channel(false);
        let cx = AdapterContext {
            publisher: Publisher::new(bus, INGEST),
            shutdown,
        };
        let feed_faults = athena::FeedFaults {
            malformed: bad,
            duplicates: bad,
            out_of_order: bad,
        };
        let athena_mock =
            athena::MockAthena::start(athena::Feed::synthetic(seed, people, feed_faults)).await?;
        let athena = athena::AthenaConfig::new(
            athena_mock.base_url(),
            athena_mock.token_url(),
            athena::MOCK_CLIENT_ID,
            athena::MOCK_CLIENT_SECRET,
            data_dir.join("athena.checkpoint"),
        )
        .build(cx.clone())
        .await?;

        let excelicare = excelicare::ExcelicareConfig::new(loopback())
            .build(cx.clone())
            .await?;
        let mut script = excelicare::Script::synthetic(seed, people);
        if bad {
            script = script.with_faults();
        }
        let excelicare_mock = excelicare::MockExcelicare::new(script);
        let (sent, excelicare_sent) = watch::channel(false);
        let (sender, addr) = (excelicare_mock.clone(), excelicare.local_addr);
        tokio::spawn(async move {
            sender
                .send_all(addr, excelicare::SendOptions::default())
                .await;
            let _ = sent.send(true);
        });

        let scr_mock = scr::MockScr::start(
            scr::ScrPopulation::generate(seed, people),
            scr::Faults::default(),
        )
        .await?;
        let scr = scr::ScrConfig::new(
            loopback(),
            scr_mock.base_url(),
            "demo-token",
            data_dir.join("scr-pull.journal"),
        )
        .build(cx.clone())
        .await?;
        for request in scr_mock.pull_script() {
            scr.handle().submit(request).await?;
        }

        let (systmone_mock, systmone) = start_systmone(cx, data_dir, seed, people).await?;
        Ok(Self {
            athena_mock,
            athena,
            excelicare_mock,
            excelicare,
            excelicare_sent,
            scr_mock,
            scr,
            systmone_mock,
            systmone,
            stop,
        })
    }

    /// Each source's progress, in a fixed order.
    pub fn progress(&self) -> [SourceProgress; 4] {
        let athena = self.athena.telemetry().snapshot();
        let athena_expected = self.athena_mock.feed().expected().unique as u64;
        let ex = self.excelicare.metrics();
        let scr = self.scr.handle();
        let systmone = self.systmone.handle();
        let (s1, s1_journal) = (systmone.telemetry(), systmone.journal_stats());
        let s1_feed = self.systmone_mock.data().feed().len() as u64;
        [
            SourceProgress {
                source: SourceSystem::Athena,
                published: athena.published,
                finished: athena.published >= athena_expected && athena.caught_up > 0,
            },
            SourceProgress {
                source: SourceSystem::Excelicare,
                published: ex.published,
                finished: *self.excelicare_sent.borrow(),
            },
            SourceProgress {
                source: SourceSystem::Scr,
                published: scr.telemetry().published,
                finished: scr.status().pending == 0,
            },
            SourceProgress {
                source: SourceSystem::Systmone,
                published: s1.published,
                finished: s1.notifications >= s1_feed
                    && s1_journal.pending == 0
                    && s1_journal.in_flight == 0,
            },
        ]
    }

    /// Stops the adapters (in-flight work finishes), then the mocks.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.athena.stopped().await;
        let _ = self.excelicare.stopped().await;
        let _ = self.scr.stopped().await;
        let _ = self.systmone.stopped().await;
        self.athena_mock.stop().await;
        self.scr_mock.stop().await;
        self.systmone_mock.stop().await;
        drop(self.excelicare_mock);
    }
}

/// SystmOne: its change feed names every record the mock holds, so the adapter's poller asks
/// for each (a prison reception would ask the same way, through the pull endpoint).
async fn start_systmone(
    cx: AdapterContext,
    data_dir: &Path,
    seed: u64,
    people: usize,
) -> anyhow::Result<(systmone::MockSystmOne, systmone::RunningAdapter)> {
    let mock =
        systmone::MockSystmOne::synthetic(seed, people, &systmone::mock::MockFaults::default())
            .await?;
    let adapter = systmone::SystmOneConfig::new(loopback(), mock.base_url(), data_dir)
        .build(cx)
        .await?;
    Ok((mock, adapter))
}
