//! What every source adapter is given by the process that runs it: the one place adapters
//! learn how to publish and when to stop.

use tokio::sync::watch;

use crate::Publisher;

/// What a component is given by the process that runs it.
#[derive(Clone, Debug)]
pub struct AdapterContext {
    /// Publishes to the ingest queue.
    pub publisher: Publisher,
    /// Turns `true` when the component must stop (in-flight deliveries finish first).
    pub shutdown: watch::Receiver<bool>,
}

impl AdapterContext {
    /// A context whose shutdown signal never fires; stop the adapter by dropping the runtime,
    /// or build the context by hand with a `watch` channel you keep.
    pub fn for_test(publisher: Publisher) -> Self {
        let (_never, shutdown) = watch::channel(false);
        Self {
            publisher,
            shutdown,
        }
    }

    /// Resolves once `true` is sent. If every sender is dropped, nobody can ask for a stop, so
    /// it never resolves.
    pub async fn stopped(mut shutdown: watch::Receiver<bool>) {
        if shutdown.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
