//! The customer's personal cabinet: registration, confirmation, orders.

use super::guard::Viewer;
use super::views::{self, notice, render, Frame};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Form};
use custos_app::accounts::AuthError;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    f: Frame,
    error: Option<String>,
}

pub struct OrderRow {
    pub id: String,
    pub number: i64,
    pub status_key: &'static str,
    pub pay: String,
    pub receive: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "orders.html")]
struct OrdersPage {
    f: Frame,
    mfa_enabled: bool,
    orders: Vec<OrderRow>,
}

#[derive(Deserialize)]
pub struct RegisterForm {
    email: String,
    password: String,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: String,
}

/// The text key of an order status, in plain words.
pub fn status_key(status: custos_domain::OrderStatus) -> &'static str {
    use custos_domain::OrderStatus::*;
    match status {
        AwaitingDeposit => "st_awaiting_deposit",
        Confirming => "st_confirming",
        Screening => "st_screening",
        Accepted => "st_accepted",
        PayoutPending => "st_payout_pending",
        Completed => "st_completed",
        InReview => "st_in_review",
        OnHoldAwaitingCustomer => "st_on_hold_awaiting_customer",
        UnderReview => "st_under_review",
        Released => "st_released",
        RefundPending => "st_refund_pending",
        Refunded => "st_refunded",
        Frozen => "st_frozen",
        Rejected => "st_rejected",
        Expired => "st_expired",
    }
}

pub async fn register_form(Extension(v): Extension<Viewer>) -> Response {
    render(StatusCode::OK, RegisterPage { f: Frame::new(&v, false, "/cabinet/register"), error: None })
}

pub async fn register(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Form(form): Form<RegisterForm>,
) -> Response {
    match s.app.accounts().register_customer(&form.email, &form.password, v.lang.code()).await {
        Ok(()) => notice(Frame::new(&v, false, "/cabinet/login"), StatusCode::OK, "check_mail", None),
        Err(AuthError::Rejected(reason)) => render(
            StatusCode::UNPROCESSABLE_ENTITY,
            RegisterPage { f: Frame::new(&v, false, "/cabinet/register"), error: Some(reason) },
        ),
        Err(e) => {
            tracing::error!(error = %e, "registration failed");
            notice(Frame::new(&v, false, "/cabinet/register"), StatusCode::SERVICE_UNAVAILABLE, "error", None)
        }
    }
}

pub async fn confirm(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Query(q): Query<TokenQuery>,
) -> Response {
    let f = Frame::new(&v, false, "/cabinet/login");
    match s.app.accounts().confirm_email(&q.token).await {
        Ok(_) => notice(f, StatusCode::OK, "confirmed", Some(("/cabinet/login", "login"))),
        Err(_) => notice(f, StatusCode::NOT_FOUND, "not_found", Some(("/cabinet/login", "login"))),
    }
}

pub async fn orders(State(s): State<AppState>, Extension(v): Extension<Viewer>) -> Response {
    let Some(auth) = &v.auth else { return views::message(v.lang, StatusCode::UNAUTHORIZED, "expired") };
    let orders = match s.app.store().orders_of_customer(&auth.account.email_index, 200).await {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "orders of a customer failed");
            return views::message(v.lang, StatusCode::SERVICE_UNAVAILABLE, "error");
        }
    };
    let orders = orders
        .into_iter()
        .map(|o| OrderRow {
            id: o.id.to_string(),
            number: o.number,
            status_key: status_key(o.status),
            pay: views::amount(o.pay_amount, o.pay_asset),
            receive: views::amount(o.receive_amount, o.receive_asset),
            created: views::when(o.created_at_ms),
        })
        .collect();
    render(
        StatusCode::OK,
        OrdersPage { f: Frame::new(&v, false, "/cabinet"), mfa_enabled: auth.account.mfa_enabled, orders },
    )
}
