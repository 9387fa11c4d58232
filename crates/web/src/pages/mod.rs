//! The people's side of Custos: the customer's personal cabinet (`/cabinet`) and the staff
//! back-office (`/office`), server-rendered in English and Russian.

mod admin;
mod cabinet;
mod disclosures;
mod export;
pub mod guard;
pub mod i18n;
mod kyc;
mod login;
mod office;
mod overview;
mod precheck;
mod queue;
mod recover;
pub mod viewer;
mod views;

use crate::state::AppState;
use axum::routing::{get, post};
use axum::Router;
use custos_domain::access::Permission;

/// Who may open a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (login, registration, the style sheet).
    Public,
    /// A customer, fully logged in.
    Customer,
    /// A customer between password and code.
    CustomerPending,
    /// A member of staff between password and code, or without MFA yet.
    StaffPending,
    /// A member of staff, fully logged in, with this permission (or any staff for `None`).
    Staff(Option<Permission>),
    /// A restricted record (authority requests): staff without this permission are told there
    /// is no such page (404), never that they may not see it.
    Restricted(Permission),
}

/// One page and who may open it.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

const fn page(method: &'static str, path: &'static str, access: Access) -> Page {
    Page { method, path, access }
}

/// Every page: the permission table of the web side (SEC-3). The gate refuses a page missing
/// from it.
pub const PAGES: &[Page] = &[
    page("GET", "/static/app.css", Access::Public),
    page("GET", "/static/app.js", Access::Public),
    page("GET", "/lang/{code}", Access::Public),
    page("GET", "/cabinet/login", Access::Public),
    page("POST", "/cabinet/login", Access::Public),
    page("GET", "/cabinet/register", Access::Public),
    page("POST", "/cabinet/register", Access::Public),
    page("GET", "/cabinet/confirm", Access::Public),
    page("GET", "/cabinet/forgot", Access::Public),
    page("POST", "/cabinet/forgot", Access::Public),
    page("GET", "/cabinet/resend", Access::Public),
    page("POST", "/cabinet/resend", Access::Public),
    page("GET", "/cabinet/reset", Access::Public),
    page("POST", "/cabinet/reset", Access::Public),
    page("GET", "/office/reset", Access::Public),
    page("POST", "/office/reset", Access::Public),
    page("GET", "/cabinet/login/code", Access::CustomerPending),
    page("POST", "/cabinet/login/code", Access::CustomerPending),
    page("GET", "/cabinet", Access::Customer),
    page("GET", "/cabinet/mfa", Access::Customer),
    page("POST", "/cabinet/mfa", Access::Customer),
    page("POST", "/cabinet/mfa/confirm", Access::Customer),
    page("GET", "/cabinet/precheck", Access::Customer),
    page("POST", "/cabinet/precheck", Access::Customer),
    page("GET", "/cabinet/orders/{id}", Access::Customer),
    page("GET", "/cabinet/settings", Access::Customer),
    page("POST", "/cabinet/kyc", Access::Customer),
    page("GET", "/cabinet/kyc/{id}", Access::Customer),
    page("POST", "/cabinet/kyc/{id}/documents", Access::Customer),
    page("POST", "/cabinet/orders/{id}/appeal", Access::Customer),
    page("POST", "/cabinet/standing/appeal", Access::Customer),
    page("POST", "/cabinet/settings/password", Access::Customer),
    page("POST", "/cabinet/settings/language", Access::Customer),
    page("POST", "/cabinet/settings/time-zone", Access::Customer),
    page("POST", "/cabinet/settings/email", Access::Customer),
    page("GET", "/cabinet/confirm-email", Access::Public),
    page("POST", "/cabinet/mfa/disable", Access::Customer),
    page("POST", "/cabinet/requests/{id}/answer", Access::Customer),
    page("POST", "/cabinet/logout", Access::CustomerPending),
    page("GET", "/office/login", Access::Public),
    page("POST", "/office/login", Access::Public),
    page("GET", "/office/login/code", Access::StaffPending),
    page("POST", "/office/login/code", Access::StaffPending),
    page("GET", "/office/mfa", Access::StaffPending),
    page("POST", "/office/mfa/confirm", Access::StaffPending),
    page("GET", "/office", Access::Staff(Some(Permission::CasesRead))),
    page("POST", "/office/cases/assign", Access::Staff(Some(Permission::CasesDecide))),
    page("GET", "/office/overview", Access::Staff(Some(Permission::CasesRead))),
    page("GET", "/office/cases.csv", Access::Staff(Some(Permission::CasesRead))),
    page("GET", "/office/precheck", Access::Staff(Some(Permission::AddressPrecheck))),
    page("POST", "/office/precheck", Access::Staff(Some(Permission::AddressPrecheck))),
    page("GET", "/office/staff", Access::Staff(Some(Permission::StaffManage))),
    page("POST", "/office/staff", Access::Staff(Some(Permission::StaffManage))),
    page("POST", "/office/staff/{id}", Access::Staff(Some(Permission::StaffManage))),
    page("POST", "/office/staff/{id}/reset-mfa", Access::Staff(Some(Permission::StaffManage))),
    page("POST", "/office/staff/{id}/reset-password", Access::Staff(Some(Permission::StaffManage))),
    page("GET", "/office/apikeys", Access::Staff(Some(Permission::ApiKeysManage))),
    page("POST", "/office/apikeys", Access::Staff(Some(Permission::ApiKeysManage))),
    page("POST", "/office/apikeys/{id}/revoke", Access::Staff(Some(Permission::ApiKeysManage))),
    page("GET", "/office/audit", Access::Staff(Some(Permission::AuditRead))),
    page("GET", "/office/audit.csv", Access::Staff(Some(Permission::AuditRead))),
    page("GET", "/office/disclosures", Access::Restricted(Permission::DisclosuresManage)),
    page("POST", "/office/disclosures", Access::Restricted(Permission::DisclosuresManage)),
    page("GET", "/office/disclosures/{id}", Access::Restricted(Permission::DisclosuresManage)),
    page("POST", "/office/disclosures/{id}/advance", Access::Restricted(Permission::DisclosuresManage)),
    page("POST", "/office/disclosures/{id}/verify", Access::Restricted(Permission::DisclosuresManage)),
    page("POST", "/office/disclosures/{id}/approve", Access::Restricted(Permission::DisclosuresApprove)),
    page("GET", "/office/disclosures/{id}/records.json", Access::Restricted(Permission::DisclosuresManage)),
    page("GET", "/office/disclosures/{id}/bundle.tar", Access::Restricted(Permission::DisclosuresManage)),
    page("POST", "/office/holds", Access::Restricted(Permission::DisclosuresManage)),
    page("POST", "/office/holds/{id}/release", Access::Restricted(Permission::DisclosuresManage)),
    page("POST", "/office/audit/verify", Access::Staff(Some(Permission::AuditRead))),
    page("GET", "/office/policy", Access::Staff(Some(Permission::PolicyRead))),
    page("GET", "/office/chains", Access::Staff(Some(Permission::CasesRead))),
    page("GET", "/office/customers", Access::Staff(Some(Permission::CustomersRead))),
    page("GET", "/office/customers/{id}", Access::Staff(Some(Permission::CustomersRead))),
    page("POST", "/office/customers/{id}/reveal", Access::Staff(Some(Permission::PersonalDataReveal))),
    page("GET", "/office/cases/{id}", Access::Staff(Some(Permission::CasesRead))),
    page("POST", "/office/cases/{id}/decide", Access::Staff(Some(Permission::CasesDecide))),
    page("POST", "/office/cases/{id}/request", Access::Staff(Some(Permission::CasesDecide))),
    page("POST", "/office/cases/{id}/act", Access::Staff(Some(Permission::CasesDecide))),
    page("POST", "/office/cases/{id}/reveal", Access::Staff(Some(Permission::PersonalDataReveal))),
    page("GET", "/office/documents/{id}", Access::Staff(Some(Permission::CasesDecide))),
    page("POST", "/office/appeals/{id}/answer", Access::Staff(Some(Permission::CasesDecide))),
    page("POST", "/office/standing-appeals/{id}/answer", Access::Staff(Some(Permission::CasesDecide))),
    page("POST", "/office/refunds/{id}/sent", Access::Staff(Some(Permission::CasesDecide))),
    page("POST", "/office/customers/{id}/verifications", Access::Staff(Some(Permission::CasesDecide))),
    page("POST", "/office/verifications/{id}/review", Access::Staff(Some(Permission::CasesDecide))),
    page("GET", "/office/verification-files/{id}", Access::Staff(Some(Permission::CasesDecide))),
    page("POST", "/office/decisions/{id}/approve", Access::Staff(Some(Permission::DecisionsApprove))),
    page("POST", "/office/stepup", Access::Staff(None)),
    page("POST", "/office/logout", Access::StaffPending),
];

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/static/app.css", get(views::stylesheet))
        .route("/static/app.js", get(views::script))
        .route("/lang/{code}", get(views::set_language))
        .route("/cabinet/login", get(login::login_form::<false>).post(login::login::<false>))
        .route("/cabinet/register", get(cabinet::register_form).post(cabinet::register))
        .route("/cabinet/confirm", get(cabinet::confirm))
        .route("/cabinet/forgot", get(recover::forgot_form).post(recover::forgot))
        .route("/cabinet/resend", get(recover::resend_form).post(recover::resend))
        .route("/cabinet/reset", get(recover::reset_form::<false>).post(recover::reset::<false>))
        .route("/office/reset", get(recover::reset_form::<true>).post(recover::reset::<true>))
        .route("/cabinet/login/code", get(login::code_form::<false>).post(login::code::<false>))
        .route("/cabinet", get(cabinet::orders))
        .route("/cabinet/mfa", get(login::mfa::<false>).post(login::mfa_begin))
        .route("/cabinet/mfa/confirm", post(login::mfa_confirm::<false>))
        .route("/cabinet/precheck", get(precheck::cabinet_form).post(precheck::cabinet_check))
        .route("/cabinet/logout", post(login::logout::<false>))
        .route("/cabinet/orders/{id}", get(cabinet::order))
        .route("/cabinet/settings", get(cabinet::settings))
        .route("/cabinet/kyc", post(kyc::start_own))
        .route("/cabinet/kyc/{id}", get(kyc::start))
        .route("/cabinet/kyc/{id}/documents", post(kyc::upload))
        .route("/cabinet/orders/{id}/appeal", post(cabinet::appeal))
        .route("/cabinet/standing/appeal", post(cabinet::appeal_standing))
        .route("/cabinet/settings/password", post(cabinet::change_password))
        .route("/cabinet/settings/language", post(cabinet::change_language))
        .route("/cabinet/settings/time-zone", post(cabinet::change_time_zone))
        .route("/cabinet/settings/email", post(cabinet::change_email))
        .route("/cabinet/confirm-email", get(cabinet::confirm_email_change))
        .route("/cabinet/mfa/disable", post(cabinet::disable_mfa))
        .route("/cabinet/requests/{id}/answer", post(cabinet::answer))
        .route("/office/login", get(login::login_form::<true>).post(login::login::<true>))
        .route("/office/login/code", get(login::code_form::<true>).post(login::code::<true>))
        .route("/office/mfa", get(login::mfa::<true>))
        .route("/office/mfa/confirm", post(login::mfa_confirm::<true>))
        .route("/office", get(queue::dashboard))
        .route("/office/cases/assign", post(queue::bulk_assign))
        .route("/office/overview", get(overview::overview))
        .route("/office/cases.csv", get(export::cases))
        .route("/office/audit.csv", get(export::audit))
        .route("/office/disclosures", get(disclosures::list).post(disclosures::register))
        .route("/office/disclosures/{id}", get(disclosures::show))
        .route("/office/disclosures/{id}/advance", post(disclosures::advance))
        .route("/office/disclosures/{id}/verify", post(disclosures::verify))
        .route("/office/disclosures/{id}/approve", post(disclosures::approve))
        .route("/office/disclosures/{id}/records.json", get(disclosures::records))
        .route("/office/disclosures/{id}/bundle.tar", get(disclosures::bundle))
        .route("/office/holds", post(disclosures::place_hold))
        .route("/office/holds/{id}/release", post(disclosures::release_hold))
        .route("/office/precheck", get(precheck::office_form).post(precheck::office_check))
        .route("/office/staff", get(admin::staff).post(admin::create_staff))
        .route("/office/staff/{id}", post(admin::change_staff))
        .route("/office/staff/{id}/reset-mfa", post(admin::reset_mfa))
        .route("/office/staff/{id}/reset-password", post(admin::reset_password))
        .route("/office/apikeys", get(admin::api_keys).post(admin::create_api_key))
        .route("/office/apikeys/{id}/revoke", post(admin::revoke_api_key))
        .route("/office/audit", get(admin::audit))
        .route("/office/audit/verify", post(admin::verify_audit))
        .route("/office/policy", get(admin::policy))
        .route("/office/chains", get(admin::chains))
        .route("/office/customers", get(office::customers))
        .route("/office/customers/{id}", get(office::customer))
        .route("/office/customers/{id}/reveal", post(office::reveal_customer))
        .route("/office/cases/{id}", get(office::case))
        .route("/office/cases/{id}/decide", post(office::decide))
        .route("/office/cases/{id}/request", post(office::request))
        .route("/office/cases/{id}/act", post(office::act))
        .route("/office/cases/{id}/reveal", post(office::reveal))
        .route("/office/documents/{id}", get(office::document))
        .route("/office/appeals/{id}/answer", post(office::answer_appeal))
        .route("/office/standing-appeals/{id}/answer", post(office::answer_standing_appeal))
        .route("/office/refunds/{id}/sent", post(office::refund_sent))
        .route("/office/customers/{id}/verifications", post(kyc::request))
        .route("/office/verifications/{id}/review", post(kyc::review))
        .route("/office/verification-files/{id}", get(kyc::file))
        .route("/office/decisions/{id}/approve", post(office::approve))
        .route("/office/stepup", post(office::step_up))
        .route("/office/logout", post(login::logout::<true>))
        .route_layer(axum::middleware::from_fn_with_state(state, guard::gate))
        // Outside the gate, so that it (and the page after it) may read a whole upload; the gate
        // holds every form to its page's own limit.
        .layer(axum::extract::DefaultBodyLimit::max(guard::MAX_UPLOAD_BYTES))
}

#[cfg(test)]
mod tests {
    use super::*;
    use custos_domain::access::Role;

    /// docs/web.md shows the permission table; it must say what the code does.
    #[test]
    fn the_documented_role_table_is_the_one_in_force() {
        let doc = include_str!("../../../../docs/web.md");
        for p in Permission::ALL {
            let row = doc
                .lines()
                .find(|l| l.starts_with(&format!("| {} |", p.as_str())))
                .unwrap_or_else(|| panic!("docs/web.md lacks the row of {}", p.as_str()));
            let marks: Vec<bool> = row.split('|').skip(2).take(5).map(|c| c.contains('✓')).collect();
            let actual: Vec<bool> = Role::ALL.iter().map(|r| r.can(p)).collect();
            assert_eq!(marks, actual, "docs/web.md is wrong about {}", p.as_str());
        }
    }

    #[test]
    fn every_page_is_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for p in PAGES {
            assert!(seen.insert((p.method, p.path)), "{} {} is listed twice", p.method, p.path);
        }
    }
}
