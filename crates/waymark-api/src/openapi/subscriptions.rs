//! What the OpenAPI document says about the `Subscription` routes (issue 9).

use super::table::{Body, Kind, Op, Param};
use crate::fhir::Endpoint;

const IF_MATCH: &[Param] = &[Param {
    name: "if-match",
    kind: Kind::Text,
    text: "`W/\"<version>\"`: update only that version (412 when it moved on).",
}];

/// The operation of a `Subscription` endpoint, from the FHIR defaults in `base`.
pub(super) fn op(endpoint: Endpoint, base: Op) -> Op {
    let one = Op {
        answer: Body::Fhir("Subscription"),
        errors: &[404, 500],
        ..base.clone()
    };
    match endpoint {
        Endpoint::SubscriptionCreate => Op {
            id: "createSubscription",
            summary: "Create a subscription (the hub assigns the id; the handshake sets `active` or `error`)",
            request: Some(("Subscription", "application/fhir+json")),
            ok: &[201],
            errors: &[400, 409, 422, 500],
            ..one
        },
        Endpoint::SubscriptionRead => Op {
            id: "readSubscription",
            summary: "Read a subscription (never its secret or header values)",
            ..one
        },
        Endpoint::SubscriptionUpdate => Op {
            id: "updateSubscription",
            summary: "Update a subscription (secret and header values left out are kept)",
            headers: IF_MATCH,
            request: Some(("Subscription", "application/fhir+json")),
            errors: &[400, 404, 409, 412, 422, 500],
            ..one
        },
        Endpoint::SubscriptionDelete => Op {
            id: "deleteSubscription",
            summary: "Delete a subscription (its event numbers are kept)",
            ok: &[204],
            answer: Body::Empty,
            ..one
        },
        Endpoint::SubscriptionSearch => Op {
            id: "searchSubscription",
            summary: "The subscriptions the caller may manage (no total; `next` when there are more)",
            errors: &[400, 500],
            ..base
        },
        Endpoint::SubscriptionStatus => Op {
            id: "subscriptionStatus",
            summary: "The subscription's status and event count (Backport `$status`)",
            errors: &[404, 500],
            ..base
        },
        Endpoint::SubscriptionEvents => Op {
            id: "subscriptionEvents",
            summary: "Numbered events, id-only, at most 100 a call (Backport `$events`): refill a gap",
            query: vec![
                Param {
                    name: "eventsSinceNumber",
                    kind: Kind::Count,
                    text: "First event number (default 1).",
                },
                Param {
                    name: "eventsUntilNumber",
                    kind: Kind::Count,
                    text: "Last event number (default the latest).",
                },
            ],
            errors: &[400, 404, 500],
            ..base
        },
        _ => Op {
            id: "resendSubscription",
            summary: "Dead-lettered notifications back onto the subscription's queue (integration engineers)",
            answer: Body::Fhir("Parameters"),
            errors: &[404, 500],
            ..base
        },
    }
}
