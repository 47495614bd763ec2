//! Faults the mock's HTTP side injects, by feed request number (1, 2, 3, …): request `n` gets
//! fault `f` when `f`'s period divides `n` (a period of 0 never fires). When several would fire,
//! the first of this list wins: 401 (every token revoked), 429 with `Retry-After`, 5xx, a
//! dropped connection, a malformed (truncated) page; a slow answer adds its delay to whatever
//! follows, and a rewind sends the page with a `nextCursor` before its first event.

/// Periods and settings of the HTTP faults. `Default`: none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HttpFaults {
    /// Every n-th feed request revokes every token and answers 401.
    pub unauthorized_every: u32,
    /// Every n-th feed request answers 429 with `Retry-After: retry_after_secs`.
    pub rate_limit_every: u32,
    /// The `Retry-After` of a 429, in seconds.
    pub retry_after_secs: u32,
    /// Every n-th feed request answers 503.
    pub server_error_every: u32,
    /// Every n-th feed request sends half the page, then drops the connection.
    pub drop_every: u32,
    /// Every n-th feed request answers 200 with half the page (not JSON).
    pub malformed_page_every: u32,
    /// Every n-th feed request waits `slow_ms` before answering.
    pub slow_every: u32,
    /// The delay of a slow answer, in milliseconds.
    pub slow_ms: u64,
    /// Every n-th feed request answers its page with a `nextCursor` going back two pages.
    pub rewind_every: u32,
}

/// What to do with one feed request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    Unauthorized,
    RateLimited,
    ServerError,
    Drop,
    MalformedPage,
}

/// The fault for request `n` (1-based), if any, and whether it is slow and whether it rewinds.
pub(crate) fn decide(f: &HttpFaults, n: u64) -> (Option<Fault>, bool, bool) {
    let hits = |every: u32| every > 0 && n.is_multiple_of(u64::from(every));
    let fault = [
        (f.unauthorized_every, Fault::Unauthorized),
        (f.rate_limit_every, Fault::RateLimited),
        (f.server_error_every, Fault::ServerError),
        (f.drop_every, Fault::Drop),
        (f.malformed_page_every, Fault::MalformedPage),
    ]
    .into_iter()
    .find_map(|(every, fault)| hits(every).then_some(fault));
    (fault, hits(f.slow_every), hits(f.rewind_every))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_pick_requests_and_the_first_fault_wins() {
        let f = HttpFaults {
            rate_limit_every: 2,
            server_error_every: 3,
            slow_every: 3,
            ..HttpFaults::default()
        };
        assert_eq!(decide(&f, 1), (None, false, false));
        assert_eq!(decide(&f, 2), (Some(Fault::RateLimited), false, false));
        assert_eq!(decide(&f, 3), (Some(Fault::ServerError), true, false));
        assert_eq!(decide(&f, 6), (Some(Fault::RateLimited), true, false));
        assert_eq!(decide(&HttpFaults::default(), 6), (None, false, false));
    }
}
