//! [`Subscription::from_fhir`]: every bad input a typed [`SubscriptionError`].

use serde_json::Value;
use waymark_core::{Role, Sensitive};
use waymark_policy::Recipient;

use super::{CLOUDEVENTS_JSON, FHIR_JSON, backport, waymark};
use crate::{
    EndpointPolicy, Filter, FilterName, PayloadMode, SUBSCRIPTION_VERSION, Subscription,
    SubscriptionError, SubscriptionStatus, TOPIC_BASE, subscription::shown,
};

type Result<T> = std::result::Result<T, SubscriptionError>;

impl Subscription {
    /// Reads an R4 `Subscription` in the Backport IG shape (see [`crate::fhir`]) and validates
    /// it with `policy`. The resource must carry `id`, the recipient extension and the secret
    /// extension; a missing `status` reads as `requested` (a creation).
    pub fn from_fhir(resource: &Value, policy: &EndpointPolicy) -> Result<Subscription> {
        match resource.get("resourceType").and_then(Value::as_str) {
            Some("Subscription") => {}
            Some(other) => return Err(SubscriptionError::ResourceType(shown(other))),
            None => return Err(SubscriptionError::Missing("resourceType")),
        }
        let id = text(resource, "id").ok_or(SubscriptionError::Missing("id"))?;
        let channel = resource
            .get("channel")
            .filter(|c| c.is_object())
            .ok_or(SubscriptionError::Missing("channel"))?;
        if text(channel, "type") != Some("rest-hook") {
            return Err(SubscriptionError::Element(
                "channel.type",
                "only rest-hook is supported",
            ));
        }
        let secret = extension(channel, "subscription-secret")
            .or_else(|| extension(resource, "subscription-secret"))
            .and_then(|e| text(e, "valueString"))
            .ok_or(SubscriptionError::Missing("subscription-secret extension"))?;
        let previous_secret = extension(channel, "subscription-previous-secret")
            .or_else(|| extension(resource, "subscription-previous-secret"))
            .and_then(|e| text(e, "valueString"))
            .map(|s| Sensitive::new(s.to_owned()));
        let sub = Subscription {
            version: SUBSCRIPTION_VERSION,
            id: id.to_owned(),
            topic: topic(resource)?,
            endpoint: text(channel, "endpoint")
                .ok_or(SubscriptionError::Missing("channel.endpoint"))?
                .to_owned(),
            recipient: recipient(resource)?,
            secret: Sensitive::new(secret.to_owned()),
            previous_secret,
            payload: payload(channel)?,
            enabled: true,
            status: status(resource)?,
            filters: filters(resource)?,
            heartbeat_period: heartbeat(channel)?,
            headers: headers(channel)?,
            reason: text(resource, "reason").map(str::to_owned),
        };
        sub.validate_with(policy)?;
        Ok(sub)
    }
}

fn text<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(Value::as_str)
}

/// The extension of `v` with Waymark URL `name`.
fn extension<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    let url = waymark(name);
    extensions(v, "extension").find(|e| text(e, "url") == Some(url.as_str()))
}

fn extensions<'a>(v: &'a Value, field: &str) -> impl Iterator<Item = &'a Value> {
    v.get(field).and_then(Value::as_array).into_iter().flatten()
}

fn status(resource: &Value) -> Result<SubscriptionStatus> {
    match resource.get("status") {
        None => Ok(SubscriptionStatus::Requested),
        Some(v) => {
            v.as_str()
                .and_then(SubscriptionStatus::from_code)
                .ok_or(SubscriptionError::Element(
                    "status",
                    "not requested, active, error or off",
                ))
        }
    }
}

fn topic(resource: &Value) -> Result<String> {
    let criteria = text(resource, "criteria").ok_or(SubscriptionError::Missing("criteria"))?;
    criteria
        .strip_prefix(TOPIC_BASE)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .ok_or(SubscriptionError::Element(
            "criteria",
            "not a Waymark SubscriptionTopic canonical",
        ))
}

fn filters(resource: &Value) -> Result<Vec<Filter>> {
    let url = backport("backport-filter-criteria");
    let Some(criteria) = resource.get("_criteria") else {
        return Ok(Vec::new());
    };
    extensions(criteria, "extension")
        .filter(|e| text(e, "url") == Some(url.as_str()))
        .map(|e| {
            let value = text(e, "valueString").ok_or(SubscriptionError::Element(
                "_criteria.extension",
                "a filter criteria needs a valueString",
            ))?;
            // The IG's examples write `Resource?name=value`; the resource part is not used.
            let query = value.split_once('?').map_or(value, |(_, q)| q);
            let (name, value) = query.split_once('=').ok_or(SubscriptionError::Element(
                "_criteria.extension",
                "a filter criteria is `name=value`",
            ))?;
            Ok(Filter {
                name: FilterName::parse(name)?,
                value: Sensitive::new(value.to_owned()),
            })
        })
        .collect()
}

fn payload(channel: &Value) -> Result<PayloadMode> {
    let mime = text(channel, "payload").ok_or(SubscriptionError::Missing("channel.payload"))?;
    let mime = mime.split(';').next().unwrap_or_default().trim();
    let url = backport("backport-payload-content");
    let content = channel
        .get("_payload")
        .map(|p| extensions(p, "extension"))
        .into_iter()
        .flatten()
        .find(|e| text(e, "url") == Some(url.as_str()))
        .map(|e| text(e, "valueCode").unwrap_or_default());
    let bad = |why| Err(SubscriptionError::Element("channel.payload", why));
    match (mime, content) {
        (FHIR_JSON, None | Some("id-only")) => Ok(PayloadMode::IdOnly),
        (FHIR_JSON, Some("full-resource")) => Ok(PayloadMode::FullResource),
        (CLOUDEVENTS_JSON, None | Some("id-only")) => Ok(PayloadMode::Signal),
        (FHIR_JSON | CLOUDEVENTS_JSON, Some(_)) => bad(
            "payload content must be id-only or full-resource (full-resource not with CloudEvents)",
        ),
        _ => bad("payload must be application/fhir+json or application/cloudevents+json"),
    }
}

fn heartbeat(channel: &Value) -> Result<Option<u64>> {
    let url = backport("backport-heartbeat-period");
    extensions(channel, "extension")
        .find(|e| text(e, "url") == Some(url.as_str()))
        .map(|e| {
            e.get("valueUnsignedInt")
                .and_then(Value::as_u64)
                .ok_or(SubscriptionError::Element(
                    "channel.extension",
                    "the heartbeat period needs a valueUnsignedInt",
                ))
        })
        .transpose()
}

fn headers(channel: &Value) -> Result<Vec<Sensitive<String>>> {
    let Some(headers) = channel.get("header") else {
        return Ok(Vec::new());
    };
    let bad = SubscriptionError::Element("channel.header", "must be a list of strings");
    headers
        .as_array()
        .ok_or(bad)?
        .iter()
        .map(|h| {
            h.as_str()
                .map(|s| Sensitive::new(s.to_owned()))
                .ok_or(SubscriptionError::Element(
                    "channel.header",
                    "must be a list of strings",
                ))
        })
        .collect()
}

fn recipient(resource: &Value) -> Result<Recipient> {
    let ext = extension(resource, "subscription-recipient").ok_or(SubscriptionError::Missing(
        "subscription-recipient extension",
    ))?;
    let part = |name: &str| extensions(ext, "extension").find(|e| text(e, "url") == Some(name));
    let string = |name: &'static str| {
        part(name)
            .and_then(|e| text(e, "valueString"))
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned)
            .ok_or(SubscriptionError::Missing(name))
    };
    let role: Role = part("role")
        .and_then(|e| text(e, "valueCode"))
        .ok_or(SubscriptionError::Missing("role"))?
        .parse()
        .map_err(|_| SubscriptionError::Element("recipient role", "not a known role"))?;
    let registered = match part("registered") {
        None => false,
        Some(e) => {
            e.get("valueBoolean")
                .and_then(Value::as_bool)
                .ok_or(SubscriptionError::Element(
                    "recipient registered",
                    "needs a valueBoolean",
                ))?
        }
    };
    Ok(Recipient {
        organisation: string("organisation")?,
        role,
        registered,
        purpose: string("purpose")?,
    })
}
