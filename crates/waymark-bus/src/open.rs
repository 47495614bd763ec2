//! Opening a bus from a URL, so a stage process needs only its configuration.

use std::{path::Path, sync::Arc};

use crate::{Bus, BusError, SqliteBus};

/// Opens the bus a URL names:
/// - `sqlite://PATH` (or `sqlite:PATH`): the embedded bus in the file at `PATH`, created if
///   missing (`sqlite:///var/lib/waymark/bus.db` is absolute, `sqlite://bus.db` relative);
/// - `amqp://...` / `amqps://...`: RabbitMQ, with default `RabbitBusOptions` (feature
///   `rabbitmq`; `amqps` also needs a TLS feature of lapin, not enabled yet).
///
/// Anything else is [`BusError::Invalid`]. The URL is never echoed in errors (it may hold a
/// password).
pub async fn open(url: &str) -> Result<Arc<dyn Bus>, BusError> {
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        if path.is_empty() {
            return Err(BusError::Invalid(
                "a sqlite: bus URL needs a file path".into(),
            ));
        }
        return Ok(Arc::new(SqliteBus::open(Path::new(path)).await?));
    }
    if url.starts_with("amqp://") || url.starts_with("amqps://") {
        return open_amqp(url).await;
    }
    let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
    Err(BusError::Invalid(format!(
        "unknown bus URL scheme `{scheme}` (expected sqlite: or amqp:)"
    )))
}

#[cfg(feature = "rabbitmq")]
async fn open_amqp(url: &str) -> Result<Arc<dyn Bus>, BusError> {
    let bus = crate::RabbitBus::connect(url, crate::RabbitBusOptions::default()).await?;
    Ok(Arc::new(bus))
}

#[cfg(not(feature = "rabbitmq"))]
async fn open_amqp(_url: &str) -> Result<Arc<dyn Bus>, BusError> {
    Err(BusError::Invalid(
        "this build has no RabbitMQ bus (feature `rabbitmq` of waymark-bus)".into(),
    ))
}
