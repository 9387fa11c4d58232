//! Who may do what (SEC-3): the staff roles, the permissions, and the one table that maps
//! permissions to roles. Every web page and API route names the permission it needs; nothing
//! else grants access.

use serde::{Deserialize, Serialize};

/// A staff role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Answers customers: sees orders and cases with personal data masked, pre-checks addresses.
    Support,
    /// Read-only: decisions, the audit log and its verification.
    Auditor,
    /// Compliance officer: works the case queue.
    Officer,
    /// Senior officer (MLRO): also approves what needs a second pair of eyes.
    SeniorOfficer,
    /// Staff accounts, API keys and the configuration; not compliance decisions.
    Admin,
}

/// Something a staff member may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// The dashboard, the case queue and case pages, orders (personal data masked).
    CasesRead,
    /// Officer actions on a case: release, refund, freeze, report, request KYC or SoF.
    CasesDecide,
    /// Approve a decision that needs a second officer (four eyes).
    DecisionsApprove,
    /// Reveal masked personal data (after step-up; each reveal is audited).
    PersonalDataReveal,
    /// The address pre-check tool (PRE-1).
    AddressPrecheck,
    /// Customer pages.
    CustomersRead,
    /// The audit log viewer and its chain verification.
    AuditRead,
    /// Staff accounts and their roles.
    StaffManage,
    /// API keys of the exchange's integration.
    ApiKeysManage,
    /// The policy in force.
    PolicyRead,
    /// Restricted: the register of authority requests (DISC-1), its records and their audit
    /// entries. Without it, they do not exist.
    DisclosuresManage,
    /// Restricted: approve an authority request (two approvers, neither its registrar).
    DisclosuresApprove,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Support, Role::Auditor, Role::Officer, Role::SeniorOfficer, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Support => "support",
            Role::Auditor => "auditor",
            Role::Officer => "officer",
            Role::SeniorOfficer => "senior_officer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The permissions of this role: the one table.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Support => &[CasesRead, AddressPrecheck, CustomersRead],
            Role::Auditor => &[CasesRead, CustomersRead, AuditRead, PolicyRead],
            Role::Officer => {
                &[CasesRead, CasesDecide, PersonalDataReveal, AddressPrecheck, CustomersRead, AuditRead, PolicyRead]
            }
            Role::SeniorOfficer => &[
                CasesRead,
                CasesDecide,
                DecisionsApprove,
                PersonalDataReveal,
                AddressPrecheck,
                CustomersRead,
                AuditRead,
                PolicyRead,
                DisclosuresManage,
                DisclosuresApprove,
            ],
            Role::Admin => &[CasesRead, CustomersRead, AuditRead, StaffManage, ApiKeysManage, PolicyRead],
        }
    }

    pub fn can(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }

    /// Seniority, for "a lower role cannot change a higher one's account".
    pub fn rank(self) -> u8 {
        match self {
            Role::Support => 0,
            Role::Auditor | Role::Officer => 1,
            Role::SeniorOfficer => 2,
            Role::Admin => 3,
        }
    }

    /// Whether `self` may create or change an account of role `target` (or give it that role):
    /// only with [`Permission::StaffManage`], and never above its own rank.
    pub fn may_manage(self, target: Role) -> bool {
        self.can(Permission::StaffManage) && target.rank() <= self.rank()
    }
}

impl Permission {
    pub const ALL: [Permission; 12] = [
        Permission::CasesRead,
        Permission::CasesDecide,
        Permission::DecisionsApprove,
        Permission::PersonalDataReveal,
        Permission::AddressPrecheck,
        Permission::CustomersRead,
        Permission::AuditRead,
        Permission::StaffManage,
        Permission::ApiKeysManage,
        Permission::PolicyRead,
        Permission::DisclosuresManage,
        Permission::DisclosuresApprove,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::CasesRead => "cases_read",
            Permission::CasesDecide => "cases_decide",
            Permission::DecisionsApprove => "decisions_approve",
            Permission::PersonalDataReveal => "personal_data_reveal",
            Permission::AddressPrecheck => "address_precheck",
            Permission::CustomersRead => "customers_read",
            Permission::AuditRead => "audit_read",
            Permission::StaffManage => "staff_manage",
            Permission::ApiKeysManage => "api_keys_manage",
            Permission::PolicyRead => "policy_read",
            Permission::DisclosuresManage => "disclosures_manage",
            Permission::DisclosuresApprove => "disclosures_approve",
        }
    }
}

/// Shows the shape of personal data without the data: `al***@ex***.com`.
pub fn mask_email(email: &str) -> String {
    let Some((local, domain)) = email.split_once('@') else {
        return "***".into();
    };
    let (host, tld) = domain.rsplit_once('.').unwrap_or((domain, ""));
    let keep = |s: &str, n: usize| s.chars().take(n).collect::<String>();
    let tld = if tld.is_empty() { String::new() } else { format!(".{tld}") };
    format!("{}***@{}***{tld}", keep(local, 2), keep(host, 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sec3_support_cannot_decide_or_reveal_and_admin_does_not_decide_cases() {
        assert!(!Role::Support.can(Permission::CasesDecide));
        assert!(!Role::Support.can(Permission::PersonalDataReveal));
        assert!(Role::Support.can(Permission::AddressPrecheck));
        assert!(Role::Officer.can(Permission::CasesDecide));
        assert!(!Role::Officer.can(Permission::DecisionsApprove));
        assert!(Role::SeniorOfficer.can(Permission::DecisionsApprove));
        assert!(!Role::Admin.can(Permission::CasesDecide), "separation of duties");
        for role in Role::ALL {
            let mlro = role == Role::SeniorOfficer;
            assert_eq!(role.can(Permission::DisclosuresManage), mlro, "disc_1: restricted to the MLRO: {role:?}");
            assert_eq!(role.can(Permission::DisclosuresApprove), mlro);
        }
        for p in Permission::ALL {
            assert_eq!(
                Role::Auditor.can(p),
                matches!(
                    p,
                    Permission::CasesRead | Permission::CustomersRead | Permission::AuditRead | Permission::PolicyRead
                )
            );
        }
    }

    #[test]
    fn sec3_a_lower_role_cannot_manage_a_higher_one() {
        assert!(Role::Admin.may_manage(Role::Officer));
        assert!(Role::Admin.may_manage(Role::Admin));
        for r in Role::ALL {
            if r != Role::Admin {
                assert!(!r.may_manage(Role::Support), "{r:?} has no staff management");
            }
        }
        assert!(Role::SeniorOfficer.rank() > Role::Officer.rank());
    }

    #[test]
    fn names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn emails_are_masked_to_their_shape() {
        assert_eq!(mask_email("alice@example.com"), "al***@ex***.com");
        assert_eq!(mask_email("a@b"), "a***@b***");
        assert_eq!(mask_email("not an email"), "***");
    }
}
