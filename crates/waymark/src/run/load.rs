//! What `waymark run` loads before it starts anything: the subscriptions (the file's, written
//! to the store, and the live set read back), the role policy, the webhook client.

use std::{collections::BTreeSet, path::Path, sync::Arc};

use anyhow::{Context as _, anyhow};
use waymark_config::EndpointMode;
use waymark_delivery::{EndpointPolicy, RestHook, RestHookConfig, Subscription};
use waymark_pipeline::SubscriptionSet;
use waymark_policy::Policy;
use waymark_store::Store;

use super::RunSettings as RunArgs;

/// Reads and validates the subscription file: a JSON array of version-1 subscriptions with
/// distinct ids. No file: no subscriptions.
pub(crate) fn load_subscriptions(path: Option<&Path>) -> anyhow::Result<Vec<Subscription>> {
    let Some(path) = path else {
        return Ok(Vec::new());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the subscriptions file {}", path.display()))?;
    let subs: Vec<Subscription> = serde_json::from_str(&text)
        .with_context(|| format!("{} is not an array of subscriptions", path.display()))?;
    let mut ids = BTreeSet::new();
    for sub in &subs {
        sub.validate()
            .with_context(|| format!("subscription `{}` is invalid", sub.id))?;
        if !ids.insert(sub.id.as_str()) {
            return Err(anyhow!("subscription id `{}` appears twice", sub.id));
        }
    }
    Ok(subs)
}

/// The endpoint policy of `mode`.
pub(crate) fn endpoint_policy(mode: EndpointMode) -> EndpointPolicy {
    match mode {
        EndpointMode::Local => EndpointPolicy::local(),
        EndpointMode::Production => EndpointPolicy::production(),
    }
}

/// The subscriptions file's subscriptions (checked against the endpoint policy) written to the
/// store, and the live set read back from it: what the API created survives a restart.
pub(super) async fn subscription_set(
    args: &RunArgs,
    store: &Arc<dyn Store>,
) -> anyhow::Result<Arc<SubscriptionSet>> {
    let seed = load_subscriptions(args.subscriptions.as_deref())?;
    let policy = endpoint_policy(args.endpoints);
    for sub in &seed {
        sub.validate_with(&policy)
            .with_context(|| format!("subscription `{}` is invalid", sub.id))?;
    }
    SubscriptionSet::from_store(Arc::clone(store), seed)
        .await
        .context("reading the subscriptions from the store")
}

/// The webhook client: the endpoint policy and retry window of the settings.
pub(super) fn rest_hook(args: &RunArgs) -> anyhow::Result<RestHook> {
    let config = RestHookConfig {
        retry_window: args.retry_window,
        endpoints: endpoint_policy(args.endpoints),
        ..RestHookConfig::default()
    };
    RestHook::new(&config).context("the webhook client")
}

/// The role policy: the file given (`hub.policy`), with the built-in derived alerts, or the
/// built-in policy.
pub(super) fn load_policy(path: Option<&Path>) -> anyhow::Result<Arc<Policy>> {
    let Some(path) = path else {
        return Ok(Arc::new(
            Policy::builtin().context("loading the role policy")?,
        ));
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the role policy {}", path.display()))?;
    let alerts = waymark_policy::DerivedAlerts::builtin().context("loading the derived alerts")?;
    let policy =
        Policy::from_json(&text).with_context(|| format!("the role policy {}", path.display()))?;
    Ok(Arc::new(policy.with_derived_alerts(alerts)))
}
