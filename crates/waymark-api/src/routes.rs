//! A router that remembers what it routes: every route of [`crate::router`] is added through
//! [`Routes`], so [`crate::routed`] lists exactly the `(method, path)` pairs served, and the
//! OpenAPI document ([`crate::openapi`]) is checked against that list.

use axum::{
    Router,
    handler::Handler,
    routing::{MethodRouter, get, post},
};

use crate::ApiState;

/// A `Router<ApiState>` and the `(method, path)` of each route added to it.
pub(crate) struct Routes {
    router: Router<ApiState>,
    table: Vec<(&'static str, &'static str)>,
}

impl Routes {
    pub(crate) fn new() -> Self {
        Self {
            router: Router::new(),
            table: Vec::new(),
        }
    }

    /// Adds `method_router`, which must answer `method` only (see [`Self::get`], [`Self::post`]).
    pub(crate) fn route(
        mut self,
        method: &'static str,
        path: &'static str,
        method_router: MethodRouter<ApiState>,
    ) -> Self {
        self.router = self.router.route(path, method_router);
        self.table.push((method, path));
        self
    }

    /// Adds a `GET` route.
    pub(crate) fn get<H, T>(self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, ApiState>,
        T: 'static,
    {
        self.route("GET", path, get(handler))
    }

    /// Adds a `POST` route.
    pub(crate) fn post<H, T>(self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, ApiState>,
        T: 'static,
    {
        self.route("POST", path, post(handler))
    }

    /// Both sets of routes.
    pub(crate) fn merge(mut self, other: Self) -> Self {
        self.router = self.router.merge(other.router);
        self.table.extend(other.table);
        self
    }

    /// The routes' `(method, path)` pairs, in the order added.
    pub(crate) fn table(&self) -> &[(&'static str, &'static str)] {
        &self.table
    }

    /// The router.
    pub(crate) fn into_router(self) -> Router<ApiState> {
        self.router
    }
}
