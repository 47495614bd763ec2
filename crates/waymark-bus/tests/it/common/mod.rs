//! What the RabbitMQ tests share: the broker's address from the environment, loudly.

#![allow(dead_code)]

use std::{future::Future, pin::Pin, sync::Arc};

use waymark_bus::{Bus, RabbitBus, RabbitBusOptions};

/// `WAYMARK_AMQP_URL`, or a panic saying how to get a broker.
pub fn amqp_url() -> String {
    match std::env::var("WAYMARK_AMQP_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "WAYMARK_AMQP_URL is not set: the RabbitMQ tests need a broker. Start one on loopback \
             with `eval \"$(deploy/local/rabbitmq.sh)\"` (it installs RabbitMQ if missing) and run \
             the tests again"
        ),
    }
}

/// A bus on the broker of `WAYMARK_AMQP_URL`, or a panic saying it cannot be reached.
pub async fn connect_with(options: RabbitBusOptions) -> RabbitBus {
    let url = amqp_url();
    let options = RabbitBusOptions {
        connect_patience: std::time::Duration::from_secs(10),
        ..options
    };
    RabbitBus::connect(&url, options).await.unwrap_or_else(|e| {
        panic!(
            "cannot reach the RabbitMQ broker of WAYMARK_AMQP_URL ({e}); start it with \
             `eval \"$(deploy/local/rabbitmq.sh)\"`"
        )
    })
}

/// A bus with the default options.
pub async fn rabbit() -> Arc<dyn Bus> {
    Arc::new(connect_with(RabbitBusOptions::default()).await)
}

/// A function that connects a new bus each time, as a restarted process would.
pub fn reconnector() -> impl Fn() -> Pin<Box<dyn Future<Output = Arc<dyn Bus>>>> {
    || Box::pin(rabbit())
}
