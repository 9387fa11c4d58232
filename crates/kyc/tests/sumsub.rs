//! The SumSub adapter against its contract (`vendor-apis/sumsub.md`) and fixtures: the signing
//! vectors, webhook digests with each algorithm, both event shapes, and a local server that
//! checks the signature of every call as SumSub does.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use custos_domain::kyc::VerificationState;
use custos_kyc::sumsub::*;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn fixture(name: &str) -> String {
    let shared = std::env::var("CUSTOS_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let path = shared.join("vendor-apis/fixtures/sumsub").join(format!("{name}.json"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (set CUSTOS_SHARED_DIR to the shared folder)", path.display()))
}

fn vectors() -> Value {
    serde_json::from_str(&fixture("signing_vectors")).unwrap()
}

#[test]
fn requests_are_signed_as_the_contract_vectors_say() {
    let v = vectors();
    let secret = v["request_signing"]["secret_key"].as_str().unwrap();
    for case in v["request_signing"]["vectors"].as_array().unwrap() {
        let h = &case["headers"];
        let sig = sign(
            secret,
            h["X-App-Access-Ts"].as_str().unwrap(),
            case["method"].as_str().unwrap(),
            case["path_with_query"].as_str().unwrap(),
            case["body"].as_str().unwrap().as_bytes(),
        );
        assert_eq!(sig, h["X-App-Access-Sig"].as_str().unwrap(), "{}", case["name"]);
    }
}

#[test]
fn webhook_digests_with_each_algorithm_and_refusals() {
    let v = vectors();
    for case in v["webhook_digest"]["vectors"].as_array().unwrap() {
        let mut settings = WebhookSettings::new(case["webhook_secret"].as_str().unwrap());
        settings.allowed = vec![DigestAlg::Sha1, DigestAlg::Sha256, DigestAlg::Sha512];
        let body = case["raw_body"].as_str().unwrap().as_bytes();
        for (alg, digest) in case["x_payload_digest_by_alg"].as_object().unwrap() {
            let r = verify_webhook(&settings, body, digest.as_str(), Some(alg));
            if case.get("expect").is_some() {
                assert_eq!(r, Err(WebhookError::BadDigest), "{}", case["name"]);
            } else {
                assert_eq!(r, Ok(()), "{} {alg}", case["name"]);
            }
        }
    }
    let case = &v["webhook_digest"]["vectors"][0];
    let body = case["raw_body"].as_str().unwrap().as_bytes();
    let digests = &case["x_payload_digest_by_alg"];
    let settings = WebhookSettings::new(case["webhook_secret"].as_str().unwrap());
    // SHA-1 is legacy: refused unless the operator allowed it; no downgrade by header.
    assert!(matches!(
        verify_webhook(&settings, body, digests["HMAC_SHA1_HEX"].as_str(), Some("HMAC_SHA1_HEX")),
        Err(WebhookError::AlgorithmNotAllowed(_))
    ));
    // Without the header, the configured algorithm.
    assert_eq!(verify_webhook(&settings, body, digests["HMAC_SHA256_HEX"].as_str(), None), Ok(()));
    assert_eq!(verify_webhook(&settings, body, None, None), Err(WebhookError::MissingDigest));
    assert_eq!(verify_webhook(&settings, body, Some("zz"), None), Err(WebhookError::BadDigest));
    assert_eq!(verify_webhook(&settings, body, Some("c09e"), None), Err(WebhookError::BadDigest), "length mismatch");
    let wrong = WebhookSettings::new("another secret");
    assert_eq!(verify_webhook(&wrong, body, digests["HMAC_SHA256_HEX"].as_str(), None), Err(WebhookError::BadDigest));
    assert!(matches!(
        verify_webhook(&settings, body, Some("00"), Some("HMAC_MD5_HEX")),
        Err(WebhookError::AlgorithmNotAllowed(_))
    ));
}

#[test]
fn events_of_both_shapes_map_onto_verification_states() {
    let green = Event::parse(fixture("webhook_applicant_reviewed_green").as_bytes()).unwrap();
    assert_eq!(green.state(), Some(VerificationState::Verified));
    let shape_2025 = Event::parse(fixture("webhook_applicant_reviewed_green_2025_shape").as_bytes()).unwrap();
    assert_eq!(shape_2025.state(), Some(VerificationState::Verified));
    assert_eq!(shape_2025.created_at_ms.as_deref(), Some("2025-03-05 04:41:48.704"));
    let red = Event::parse(fixture("webhook_applicant_reviewed_red_final").as_bytes()).unwrap();
    assert_eq!(red.state(), Some(VerificationState::Failed));
    let result = red.review_result.clone().unwrap();
    assert_eq!(result.reject_labels, ["UNSATISFACTORY_PHOTOS", "GRAPHIC_EDITOR", "FORGERY"]);
    let created = Event::parse(fixture("webhook_applicant_created").as_bytes()).unwrap();
    assert_eq!(created.state(), Some(VerificationState::Requested), "sandboxMode as a string is accepted");
    assert_ne!(created.dedup_key(), red.dedup_key());
    // The state comes from the status, not the type (S7).
    let prechecked =
        Event::parse(br#"{"type":"applicantPrechecked","applicantId":"a","reviewStatus":"queued"}"#).unwrap();
    assert_eq!(prechecked.state(), Some(VerificationState::InProgress));
    let retry = Event::parse(
        br#"{"type":"applicantReviewed","applicantId":"a","reviewStatus":"completed",
             "reviewResult":{"reviewAnswer":"RED","reviewRejectType":"RETRY","rejectLabels":["BAD_PHOTO"],"moderationComment":"Take a sharper photo"}}"#,
    )
    .unwrap();
    assert_eq!(retry.state(), Some(VerificationState::Resubmission));
    let unknown = Event::parse(br#"{"type":"kytCaseReviewed","applicantId":"a"}"#).unwrap();
    assert!(!unknown.is_handled());
    assert!(matches!(Event::parse(b"not json"), Err(WebhookError::Malformed(_))));
}

/// A local SumSub: checks every request's signature as SumSub does and answers with the
/// fixtures; a bad signature gets the documented 401.
#[derive(Clone)]
struct Fake {
    secret: String,
    seen: Arc<Mutex<Vec<(String, String, Value)>>>,
}

async fn handle(
    State(f): State<Fake>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let path = uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let expected = sign(&f.secret, &h("x-app-access-ts"), method.as_str(), &path, &body);
    if h("x-app-access-sig") != expected || h("x-app-token").is_empty() {
        return (StatusCode::UNAUTHORIZED, fixture("error_401_invalid_signature")).into_response();
    }
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    f.seen.lock().unwrap().push((method.to_string(), path.clone(), json));
    let answer = if path.starts_with("/resources/applicants?") {
        fixture("create_applicant_response_synthetic")
    } else if path == "/resources/accessTokens/sdk" {
        fixture("access_token_sdk_response_synthetic")
    } else if path.starts_with("/resources/applicants/-;externalUserId=") && path.ends_with("/one") {
        // The applicant as created, after review, with the data SumSub extracted (§4.2).
        let mut a: Value = serde_json::from_str(&fixture("create_applicant_response_synthetic")).unwrap();
        a["info"] = serde_json::json!({"firstName": "Иван", "lastName": "Иванов", "firstNameEn": "Ivan", "lastNameEn": "Ivanov"});
        a.to_string()
    } else if path.ends_with("/status") {
        fixture("applicant_status_completed_green_synthetic")
    } else {
        return StatusCode::NOT_FOUND.into_response();
    };
    ([("content-type", "application/json")], answer).into_response()
}

async fn fake(secret: &str) -> (String, Fake) {
    let f = Fake { secret: secret.into(), seen: Arc::default() };
    let app = axum::Router::new().fallback(handle).with_state(f.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), f)
}

fn client(base: &str, secret: &str) -> Client {
    Client::new(ClientSettings {
        base_url: base.into(),
        app_token: "sbx:example-app-token-not-real".into(),
        secret_key: secret.into(),
        sandbox: true,
        timeout: Duration::from_secs(5),
    })
    .unwrap()
}

#[tokio::test]
async fn applicants_and_sdk_tokens_through_signed_calls() {
    let (base, fake) = fake("example-secret-key-not-real").await;
    let c = client(&base, "example-secret-key-not-real");
    let applicant = c.create_applicant("cust-7f3a", "kyc level+1@example", 1_741_149_600).await.unwrap();
    let expected: Value = serde_json::from_str(&fixture("create_applicant_response_synthetic")).unwrap();
    assert_eq!(applicant.id, expected["id"].as_str().unwrap());
    let token = c.sdk_token("cust-7f3a", "basic-kyc-level", 600, 1_741_149_660).await.unwrap();
    let expected: Value = serde_json::from_str(&fixture("access_token_sdk_response_synthetic")).unwrap();
    assert_eq!(token, expected["token"].as_str().unwrap());
    let (status, result) = c.status(&applicant.id, 1_741_149_720).await.unwrap();
    assert_eq!(status.as_deref(), Some("completed"));
    assert_eq!(result.unwrap().review_answer.as_deref(), Some("GREEN"));
    let seen = fake.seen.lock().unwrap().clone();
    assert_eq!(seen[0].1, "/resources/applicants?levelName=kyc%20level%2B1%40example", "encoded as signed");
    assert_eq!(seen[0].2, json!({"externalUserId": "cust-7f3a", "type": "individual"}), "no personal data sent");
    assert_eq!(seen[1].2["ttlInSecs"], 600);
}

#[tokio::test]
async fn kyc_4_the_verified_name_is_read_by_our_reference_in_latin_letters() {
    let (base, fake) = fake("example-secret-key-not-real").await;
    let c = client(&base, "example-secret-key-not-real");
    let name = c.identity_name("c-0a1b2c", 1_741_149_600).await.unwrap();
    assert_eq!(name.as_deref(), Some("Ivan Ivanov"), "the transliteration, as a card shows it");
    let seen = fake.seen.lock().unwrap().clone();
    assert_eq!(seen[0].0, "GET");
    assert_eq!(seen[0].1, "/resources/applicants/-;externalUserId=c-0a1b2c/one", "the documented form (S5)");
}

#[tokio::test]
async fn a_wrong_secret_is_reported_with_sumsubs_words() {
    let (base, _) = fake("example-secret-key-not-real").await;
    let c = client(&base, "a wrong secret");
    let err = c.create_applicant("cust-7f3a", "basic-kyc-level", 1_741_149_600).await.unwrap_err();
    match err {
        ApiError::Refused { status, description, .. } => {
            assert_eq!(status, 401);
            assert_eq!(description, "Invalid signature");
        }
        other => panic!("{other:?}"),
    }
}
