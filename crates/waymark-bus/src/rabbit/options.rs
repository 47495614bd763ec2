//! Settings of the RabbitMQ bus.

use std::time::Duration;

/// Settings of [`RabbitBus`](super::RabbitBus). `Default` gives the documented defaults.
#[derive(Clone, Debug)]
pub struct RabbitBusOptions {
    /// Largest message accepted, in bytes: body plus key plus header names and values (as the
    /// embedded bus counts). Default 32 MiB, the embedded bus's default; the broker's own
    /// `max_message_size` (128 MiB by default in 3.10) must not be lower.
    pub max_message_size: usize,
    /// Messages the broker may push to this process per consumed queue before they are acked
    /// (`basic.qos`). They wait in this process's local queue, where per-key order, leases and
    /// short retries are kept. Default 128.
    pub prefetch: u16,
    /// How long one publish may wait for the broker in all — connecting, reconnecting, blocked
    /// by an alarm, waiting for the confirm — before it fails with `BusError::Backend`.
    /// Default 10 minutes: a broker restart or an alarm makes publishers wait, not fail.
    pub publish_patience: Duration,
    /// How long one confirm is awaited before the publish is treated as failed and retried on
    /// a fresh connection. Default 30 s.
    pub confirm_timeout: Duration,
    /// First back-off after a failed connection attempt; doubles up to `reconnect_max`.
    /// Default 100 ms.
    pub reconnect_min: Duration,
    /// Longest back-off between connection attempts. Default 5 s.
    pub reconnect_max: Duration,
    /// How long [`RabbitBus::connect`](super::RabbitBus::connect) tries before it gives up with
    /// a clear error (a process should not start against a broker it cannot reach). Default 30 s.
    pub connect_patience: Duration,
    /// How many message ids each dedupe memory keeps (published per queue by this process;
    /// settled per consumed queue). Default 200,000.
    pub dedupe_capacity: usize,
    /// How long an id is remembered by the dedupe memories and how long purge tombstones are
    /// kept (the control stream's `x-max-age`). Default 7 days, as the embedded bus.
    pub dedupe_retention: Duration,
}

impl Default for RabbitBusOptions {
    fn default() -> Self {
        Self {
            max_message_size: 32 * 1024 * 1024,
            prefetch: 128,
            publish_patience: Duration::from_secs(600),
            confirm_timeout: Duration::from_secs(30),
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(5),
            connect_patience: Duration::from_secs(30),
            dedupe_capacity: 200_000,
            dedupe_retention: Duration::from_secs(7 * 24 * 60 * 60),
        }
    }
}
