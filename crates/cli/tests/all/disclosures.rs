//! Authority requests (DISC-1): a register of restricted records, with the requester verified,
//! the request moved only along its life and approved by two people who did not register it;
//! whoever lacks the permissions finds no such thing anywhere (pages, menu, audit log, export).

use crate::common::*;
use custos_domain::access::Role;
use reqwest::StatusCode;

const AUTHORITY: &str = "Investigative Committee, Cyber Unit 7";

/// Registers a request through the form, as the MLRO would; returns its page's path.
async fn register(c: &reqwest::Client, base: &str, mlro: &Person) -> String {
    let form = [
        ("kind", "law_enforcement"),
        ("authority", AUTHORITY),
        ("legal_basis", "Article 21 of the AML law; request letter"),
        ("document_ref", "IC-7/2026/0412"),
        ("received", "2026-01-01"),
        ("due", "2026-01-08"),
        ("customers", "anna@example.com\n"),
        ("from", "2025-12-01"),
        ("to", "2025-12-31"),
        ("category", "transactions"),
        ("category", "account"),
    ];
    let (status, _) = mlro.post(c, format!("{base}/office/disclosures"), &form).await;
    assert!(status.is_redirection(), "{status}");
    let (_, list) = mlro.get(c, format!("{base}/office/disclosures")).await;
    let id = between(&list, "href=\"/office/disclosures/", "\"").to_owned();
    assert_eq!(id.len(), 36, "{list}");
    format!("/office/disclosures/{id}")
}

both!(disc_1_an_authority_request_is_verified_moved_along_its_life_and_approved_by_two, |t: TestApp| async move {
    let base = t.serve_only().await;
    let c = client();
    let registrar = staff(&t, "mira@example.com", Role::SeniorOfficer).await;
    let second = staff(&t, "max@example.com", Role::SeniorOfficer).await;
    let third = staff(&t, "lev@example.com", Role::SeniorOfficer).await;
    let path = register(&c, &base, &registrar).await;
    let url = format!("{base}{path}");
    let (_, page) = registrar.get(&c, url.clone()).await;
    assert!(page.contains("Authority request № 1") && page.contains(AUTHORITY), "{page}");
    assert!(page.contains("<span id=\"ds-state\">received</span>") && page.contains("anna@example.com"), "{page}");
    // Sealed at rest: the authority and the customers in scope are not stored in the clear.
    let sealed: Vec<String> =
        sqlx::query_scalar("SELECT details_enc FROM authority_requests").fetch_all(t.store.pool()).await.unwrap();
    assert!(!sealed[0].contains("Cyber") && !sealed[0].contains("anna@"), "{}", sealed[0]);

    // Only the moves the life of a request allows.
    let (status, page) = registrar.post(&c, format!("{url}/advance"), &[("to", "produced")]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{page}");
    assert!(page.contains("cannot go from received to produced"), "{page}");
    let (_, page) = registrar.submit(&c, format!("{url}/advance"), &[("to", "verifying")]).await;
    assert!(page.contains("verifying the requester") && page.contains("id=\"ds-verify\""), "{page}");
    // No approval before the requester is verified and the request is in legal review.
    step_up(&t, &c, &base, &second).await;
    let (status, page) = second.post(&c, format!("{url}/approve"), &[("outcome", "approved")]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{page}");
    let verification =
        [("channel", "call-back to the unit's published number"), ("method", "officer's ID and case no.")];
    let (_, page) = registrar.submit(&c, format!("{url}/verify"), &verification).await;
    assert!(page.contains("<span id=\"ds-state\">legal review</span>"), "{page}");
    assert!(page.contains("call-back to the unit") && page.contains("mira@example.com"), "who verified: {page}");

    // Two approvers, neither the registrar; the first chooses in full or in part.
    step_up(&t, &c, &base, &registrar).await;
    let (status, page) = registrar.post(&c, format!("{url}/approve"), &[("outcome", "approved")]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("registered the request cannot approve it"), "{page}");
    let (_, page) = second.submit(&c, format!("{url}/approve"), &[("outcome", "partly_approved")]).await;
    assert!(page.contains("1 / 2") && page.contains("legal review"), "one approval is not enough: {page}");
    let (status, page) = second.post(&c, format!("{url}/approve"), &[("outcome", "partly_approved")]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("already approved"), "{page}");
    step_up(&t, &c, &base, &third).await;
    let (_, page) = third.post(&c, format!("{url}/approve"), &[("outcome", "approved")]).await;
    assert!(page.contains("approve the same, or reject"), "{page}");
    let (_, page) = third.submit(&c, format!("{url}/approve"), &[("outcome", "partly_approved")]).await;
    assert!(page.contains("<span id=\"ds-state\">approved in part</span>"), "{page}");
    let (_, page) = third.submit(&c, format!("{url}/advance"), &[("to", "produced")]).await;
    assert!(page.contains("<span id=\"ds-state\">produced</span>"), "{page}");

    // Each change audited once, on the restricted entity.
    let audit = t.store.audit_entries(0, 10_000).await.unwrap();
    let count = |action: &str| audit.iter().filter(|e| e.action == action).count();
    assert_eq!(count("disclosure.registered"), 1);
    assert_eq!(count("disclosure.verified"), 1);
    assert_eq!(count("disclosure.approved"), 2);
    let moves: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "disclosure.state_changed")
        .map(|e| serde_json::from_str::<serde_json::Value>(&e.data).unwrap()["to"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(moves, ["verifying", "legal_review", "partly_approved", "produced"]);
    assert!(audit.iter().filter(|e| e.action.starts_with("disclosure.")).all(|e| e.entity_type == "authority_request"));
});

both!(disc_1_restricted_records_do_not_exist_for_whoever_lacks_the_permission, |t: TestApp| async move {
    let base = t.serve_only().await;
    let c = client();
    let mlro = staff(&t, "mira@example.com", Role::SeniorOfficer).await;
    let path = register(&c, &base, &mlro).await;
    let (_, page) = mlro.get(&c, format!("{base}/office/audit")).await;
    assert!(page.contains("disclosure.registered"), "the MLRO sees the entries");
    for (email, role) in [
        ("olga@example.com", Role::Officer),
        ("ada@example.com", Role::Auditor),
        ("sam@example.com", Role::Support),
        ("root@example.com", Role::Admin),
    ] {
        let who = staff(&t, email, role).await;
        for url in ["/office/disclosures".to_owned(), path.clone()] {
            let (status, page) = who.get(&c, format!("{base}{url}")).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{role:?} {url}");
            assert!(!page.contains(AUTHORITY) && !page.contains("Authority request"), "{page}");
        }
        let (status, _) = who.post(&c, format!("{base}{path}/advance"), &[("to", "verifying")]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{role:?} cannot act on it either");
        let (_, home) = who.get(&c, format!("{base}/office/policy")).await;
        assert!(!home.contains("/office/disclosures"), "no menu entry for {role:?}");
        if role.can(custos_domain::access::Permission::AuditRead) {
            let (_, log) = who.get(&c, format!("{base}/office/audit")).await;
            assert!(!log.contains("disclosure.") && !log.contains("authority_request"), "{role:?}: {log}");
            let (_, csv) = who.get(&c, format!("{base}/office/audit.csv")).await;
            assert!(!csv.contains("disclosure.") && !csv.contains("authority_request"), "{role:?}: {csv}");
        }
    }
    let id = path.rsplit('/').next().unwrap();
    let (status, _) = mlro.get(&c, format!("{base}/office/disclosures/{}", id.replace('0', "1"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an unknown request is not found either");
});
