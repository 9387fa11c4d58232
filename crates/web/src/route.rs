//! What a route of the API is: the entries of `routes::ROUTES`, which the router, the auth
//! middleware and the OpenAPI document read.

use custos_app::model::Scope;

/// One route of the API and what it requires. The auth middleware refuses any authenticated
/// route not listed here, and the OpenAPI document is generated from this table.
///
/// Each route is declared once, in `routes::api_routes!`: the table and the router (with the handler)
/// come from the same line, so they cannot drift.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    /// `None`: public (no key needed).
    pub scope: Option<Scope>,
    pub operation_id: &'static str,
    pub summary: &'static str,
}
