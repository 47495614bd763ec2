//! What the OpenAPI document says about each route: parameters, request body, success and
//! error statuses. FHIR routes are described from [`crate::fhir::ENDPOINTS`]; the open and admin
//! routes from [`OTHER`]. Every error status answers an `OperationOutcome`.

use crate::fhir::{ENDPOINTS, Endpoint};

/// A query or header parameter's schema.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    /// Free text.
    Text,
    /// A whole number of at least 1.
    Count,
    /// `true` or `false`.
    Flag,
    /// One of the listed values.
    OneOf(&'static [&'static str]),
}

/// A query or header parameter.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Param {
    pub name: &'static str,
    pub kind: Kind,
    pub text: &'static str,
}

/// What a successful answer holds.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Body {
    /// A FHIR resource (`application/fhir+json`) of the named component schema.
    Fhir(&'static str),
    /// A FHIR document, or with `_format=html` a printable page.
    FhirOrHtml(&'static str),
    /// Plain JSON of the named component schema.
    Json(&'static str),
    /// No body (204).
    Empty,
}

/// One operation of the document.
#[derive(Clone, Debug)]
pub(crate) struct Op {
    pub method: &'static str,
    pub path: &'static str,
    pub id: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    /// No token needed.
    pub open: bool,
    pub query: Vec<Param>,
    pub headers: &'static [Param],
    /// The request body's component schema and its media type.
    pub request: Option<(&'static str, &'static str)>,
    /// Success statuses.
    pub ok: &'static [u16],
    pub answer: Body,
    /// Error statuses of the route itself (authentication and audit errors are added for
    /// protected routes).
    pub errors: &'static [u16],
}

/// The errors any protected route may answer: no or bad token, refused, locked out or rate
/// limited, keys or audit trail unavailable.
pub(crate) const PROTECTED_ERRORS: &[u16] = &[401, 403, 429, 503];

/// The statuses a store error becomes (see [`crate::store_error`]).
const STORE_ERRORS: &[u16] = &[404, 409, 500, 503];

const BREAK_GLASS: &[Param] = &[Param {
    name: crate::fhir::BREAK_GLASS_HEADER,
    kind: Kind::Text,
    text: "A clinician's stated break-glass reason (time-boxed; decided by the role policy).",
}];

const PAGE: Param = Param {
    name: "_page",
    kind: Kind::Text,
    text: "Opaque continuation from a `next` link; bound to the search it continues.",
};

/// Every documented operation: the FHIR routes, then the open and admin routes.
pub(crate) fn operations() -> Vec<Op> {
    let mut ops: Vec<Op> = ENDPOINTS.iter().map(|e| fhir_op(*e)).collect();
    ops.extend(OTHER.iter().map(|f| f()));
    ops
}

fn search_params(endpoint: Endpoint) -> Vec<Param> {
    let mut params: Vec<Param> = endpoint
        .search_params()
        .iter()
        .map(|(name, kind)| Param {
            name,
            kind: if *kind == "number" {
                Kind::Count
            } else {
                Kind::Text
            },
            text: search_text(name),
        })
        .collect();
    if matches!(
        endpoint,
        Endpoint::PatientSearch | Endpoint::AuditEventSearch | Endpoint::SubscriptionSearch
    ) {
        params.push(PAGE);
    }
    params
}

fn search_text(name: &str) -> &'static str {
    match name {
        "identifier" => "`system|value` (NHS number, PNC ID, CRO, prison number, custody record).",
        "name" => "Family and/or given names (aliases and fuzzy matches; needs `birthdate`).",
        "birthdate" => "Date of birth, `YYYY-MM-DD`.",
        "date" => "Time of the event, with `ge` / `le` / `gt` / `lt` prefixes.",
        "patient" => "`Patient/<id>` or the person's id.",
        "agent" => "The caller's subject.",
        "_count" => "Page size, 1 to 100.",
        "status" => "`requested`, `active`, `error` or `off`.",
        "topic" => "The topic, by name or SubscriptionTopic canonical.",
        _ => "Search parameter.",
    }
}

fn fhir_op(endpoint: Endpoint) -> Op {
    let base = Op {
        method: endpoint.method(),
        path: endpoint.path(),
        id: "",
        summary: "",
        tag: endpoint.resource(),
        open: false,
        query: search_params(endpoint),
        headers: &[],
        request: None,
        ok: &[200],
        answer: Body::Fhir("Bundle"),
        errors: &[400, 404, 409, 500],
    };
    match endpoint {
        Endpoint::PatientSearch => Op {
            id: "searchPatient",
            summary: "Role-scoped person search (no total; `next` only when another visible match exists)",
            ..base
        },
        Endpoint::Summary => Op {
            id: "patientSummary",
            summary: "The role-scoped person summary (Composition document; `_format=html` prints it)",
            query: vec![Param {
                name: "_format",
                kind: Kind::OneOf(&["json", "application/fhir+json", "html", "text/html"]),
                text: "`html` for the printable page.",
            }],
            headers: BREAK_GLASS,
            answer: Body::FhirOrHtml("Bundle"),
            ..base
        },
        Endpoint::Everything => Op {
            id: "patientEverything",
            summary: "Every released resource of the person (roles granted every data class)",
            headers: BREAK_GLASS,
            errors: &[404, 409, 500],
            ..base
        },
        Endpoint::ConsentCreate => Op {
            id: "createConsent",
            summary: "Record a Consent (a new `inactive` version of a held id withdraws it)",
            request: Some(("Consent", "application/fhir+json")),
            ok: &[200, 201],
            answer: Body::Fhir("Consent"),
            errors: &[400, 404, 409, 422, 500],
            ..base
        },
        Endpoint::ConsentRead => Op {
            id: "readConsent",
            summary: "Read a Consent",
            answer: Body::Fhir("Consent"),
            errors: &[404, 409, 500],
            ..base
        },
        Endpoint::ConsentSearch => Op {
            id: "searchConsent",
            summary: "A person's Consents",
            errors: &[400, 404, 409, 500],
            ..base
        },
        Endpoint::AuditEventSearch => Op {
            id: "searchAuditEvent",
            summary: "The audit trail as FHIR AuditEvents (privacy officers)",
            errors: &[400, 404, 409, 500],
            ..base
        },
        _ => super::subscriptions::op(endpoint, base),
    }
}

fn admin(
    method: &'static str,
    path: &'static str,
    id: &'static str,
    summary: &'static str,
    tag: &'static str,
) -> Op {
    Op {
        method,
        path,
        id,
        summary,
        tag,
        open: false,
        query: Vec::new(),
        headers: &[],
        request: None,
        ok: &[200],
        answer: Body::Json("AdminAnswer"),
        errors: STORE_ERRORS,
    }
}

const LIMIT: Param = Param {
    name: "limit",
    kind: Kind::Count,
    text: "Most items answered (at most 1,000).",
};

/// The open, ingest and admin routes.
const OTHER: &[fn() -> Op] = &[
    || Op {
        request: Some(("IngestMessage", "application/octet-stream")),
        ok: &[202],
        answer: Body::Json("IngestAnswer"),
        errors: &[400, 404, 413, 422, 500, 503],
        ..admin(
            "POST",
            "/ingest/{source}",
            "ingest",
            "A source system pushes one native message (as that source; 202 once the bus confirmed)",
            "Ingest",
        )
    },
    || Op {
        open: true,
        answer: Body::Json("Health"),
        ..admin(
            "GET",
            "/health",
            "health",
            "Liveness and store counts",
            "Operations",
        )
    },
    || Op {
        open: true,
        answer: Body::Fhir("CapabilityStatement"),
        errors: &[],
        ..admin(
            "GET",
            "/fhir/metadata",
            "capabilities",
            "The CapabilityStatement",
            "Metadata",
        )
    },
    || Op {
        open: true,
        answer: Body::Json("OpenApiDocument"),
        errors: &[],
        ..admin(
            "GET",
            super::PATH,
            "openapi",
            "This OpenAPI document",
            "Metadata",
        )
    },
    || Op {
        query: vec![
            Param {
                name: "open",
                kind: Kind::Flag,
                text: "Open items only (default true).",
            },
            LIMIT,
        ],
        errors: &[400, 404, 409, 500, 503],
        ..admin(
            "GET",
            "/admin/identity/reviews",
            "listReviews",
            "The identity review queue (ids, reasons, scores; never demographics)",
            "Identity",
        )
    },
    || {
        admin(
            "GET",
            "/admin/identity/reviews/{id}",
            "readReview",
            "One review item",
            "Identity",
        )
    },
    || Op {
        request: Some(("ReviewDecision", "application/json")),
        errors: &[400, 404, 409, 500, 503],
        ..admin(
            "POST",
            "/admin/identity/reviews/{id}/decision",
            "decideReview",
            "Decide a review item: the same person as a candidate, or different people",
            "Identity",
        )
    },
    || Op {
        request: Some(("Merge", "application/json")),
        ok: &[201],
        errors: &[400, 404, 409, 500, 503],
        ..admin(
            "POST",
            "/admin/identity/merge",
            "mergePersons",
            "Merge one person into another",
            "Identity",
        )
    },
    || Op {
        request: Some(("UndoMerge", "application/json")),
        errors: &[400, 404, 409, 500, 503],
        ..admin(
            "POST",
            "/admin/identity/persons/{id}/merges/{event}/undo",
            "undoMerge",
            "Undo a merge",
            "Identity",
        )
    },
    || {
        admin(
            "GET",
            "/admin/identity/persons/{id}/history",
            "personHistory",
            "A person's identity events",
            "Identity",
        )
    },
    || Op {
        query: vec![LIMIT],
        errors: &[400, 404, 409, 500, 503],
        ..admin(
            "GET",
            "/admin/quarantine",
            "listQuarantine",
            "Quarantined messages, newest first (reasons only, never content)",
            "Quarantine",
        )
    },
    || Op {
        query: vec![Param {
            name: "dry_run",
            kind: Kind::Flag,
            text: "Report only; publish and resolve nothing (default false).",
        }],
        answer: Body::Json("RedriveReport"),
        errors: &[400, 500, 503],
        ..admin(
            "POST",
            "/admin/quarantine/redrive",
            "redriveQuarantine",
            "Re-drive the map-stage entries the current mappings and profile now accept",
            "Quarantine",
        )
    },
    || {
        admin(
            "GET",
            "/admin/quarantine/{id}",
            "readQuarantine",
            "One quarantine entry's reason, outcome and resolution (never content)",
            "Quarantine",
        )
    },
    || Op {
        query: vec![
            Param {
                name: "source",
                kind: Kind::Text,
                text: "Source system whose mapping to try (replaces the envelope's).",
            },
            Param {
                name: "type",
                kind: Kind::Text,
                text: "Message type (replaces the envelope's).",
            },
        ],
        request: Some(("DryRunInput", "application/json")),
        answer: Body::Json("DryRunAnswer"),
        errors: &[400, 422, 500, 503],
        ..admin(
            "POST",
            "/admin/mappings/dry-run",
            "dryRunMapping",
            "Run a message through its mapping and the profile, with no side effects",
            "Mappings",
        )
    },
];
