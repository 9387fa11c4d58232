//! The public API contract over real HTTP, on both databases.

use crate::common::*;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

fn order_body() -> Value {
    json!({
        "external_id": "site-42",
        "customer_email": "bob@example.com",
        "pay": {"network": "ethereum", "asset": "ETH", "amount": "250000000000000000"},
        "receive": {"network": "bitcoin", "asset": "BTC", "amount": "100000", "address": CLEAN_BTC}
    })
}

fn deposit_body(address: &str, seed: &str, sources: &[&str]) -> Value {
    json!({
        "network": "ethereum", "asset": "ETH", "address": address,
        "txid": format!("0x{}", custos_crypto::sha256_hex(seed.as_bytes())), "index": 0,
        "amount": "250000000000000000", "sources": sources, "confirmations": 3
    })
}

both!(pre_1_screening_api_returns_the_contract_fields, |t: TestApp| async move {
    let (base, key) = t.serve().await;
    let c = Client::new();
    let (status, s) =
        post(&c, &format!("{base}/api/v1/screenings"), &key, json!({"network": "ethereum", "address": SANCTIONED_ETH}))
            .await;
    assert_eq!(status, StatusCode::CREATED);
    for field in [
        "id",
        "network",
        "address",
        "risk_score",
        "band",
        "decision",
        "categories",
        "analyzers",
        "policy_version",
        "explanation",
    ] {
        assert!(s.get(field).is_some(), "missing {field} in {s}");
    }
    assert_eq!(s["decision"], "reject");
    assert_eq!(s["band"], "critical");
    assert_eq!(s["risk_score"], 100.0);
    assert_eq!(s["address"], SANCTIONED_ETH, "shown in EIP-55 form");
    assert_eq!(s["categories"][0], json!({"category": "sanctions", "exposure": 100.0, "direct": true}));
    assert_eq!(s["analyzers"][0]["name"], "builtin");
    let (_, clean) =
        post(&c, &format!("{base}/api/v1/screenings"), &key, json!({"network": "bitcoin", "address": CLEAN_BTC})).await;
    assert_eq!((clean["decision"].as_str(), clean["band"].as_str()), (Some("proceed"), Some("low")));
});

both!(flow_1_orders_and_deposits_through_the_api, |t: TestApp| async move {
    let (base, key) = t.serve().await;
    let c = Client::new();
    let (status, order) = post(&c, &format!("{base}/api/v1/orders"), &key, order_body()).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!(order["status"], "awaiting_deposit");
    assert!(order["number"].as_i64().unwrap() > 100_000);
    assert!(order.get("customer_email").is_none(), "personal data is not echoed");
    let address = order["deposit"]["address"].as_str().unwrap().to_owned();
    assert!(address.starts_with("0x"));

    let (status, dep) =
        post(&c, &format!("{base}/api/v1/deposits"), &key, deposit_body(&address, "t1", &[GAMBLING_ETH])).await;
    assert_eq!(status, StatusCode::CREATED, "{dep}");
    assert_eq!(dep["screening"]["decision"], "hold");
    assert_eq!(dep["order"]["status"], "on_hold_awaiting_customer");
    assert_eq!(dep["case"]["deadline"]["kind"], "kyc");
    assert_eq!(dep["amount"], "250000000000000000", "amounts are strings of base units");

    let (status, again) =
        post(&c, &format!("{base}/api/v1/deposits"), &key, deposit_body(&address, "t1", &[GAMBLING_ETH])).await;
    assert_eq!(status, StatusCode::OK, "the same transfer again is the same deposit");
    assert_eq!(again["id"], dep["id"]);
    assert_eq!(again["created"], false);

    let id = order["id"].as_str().unwrap();
    let view: Value = get(&c, format!("{base}/api/v1/orders/{id}"), &key).await;
    assert_eq!(view["status"], "on_hold_awaiting_customer");
    assert_eq!(view["deposits"].as_array().unwrap().len(), 1);
    assert_eq!(view["screenings"].as_array().unwrap().len(), 1);
    assert_eq!(view["cases"].as_array().unwrap().len(), 1);
    assert_eq!(view["deadlines"][0]["kind"], "kyc");
    assert_eq!(view["deadlines"][0]["due_at"], "2026-01-02T00:00:00Z");
});

both!(invariant_6_bad_input_gets_a_clear_problem, |t: TestApp| async move {
    let (base, key) = t.serve().await;
    let c = Client::new();
    let screen = format!("{base}/api/v1/screenings");
    for (body, code) in [
        (json!({"network": "bitcoin", "address": "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3"}), "address_bad_checksum"),
        (
            json!({"network": "bitcoin", "address": "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"}),
            "address_wrong_network",
        ),
        (json!({"network": "dogecoin", "address": "x"}), "unknown_network"),
        (
            json!({"network": "ethereum", "address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"}),
            "address_bad_eip55_checksum",
        ),
        (json!({"network": "ethereum"}), "invalid_body"),
        (json!({"network": "ethereum", "address": CLEAN_ETH, "extra": 1}), "invalid_body"),
    ] {
        let r = c.post(&screen).bearer_auth(&key).json(&body).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["code"], code, "{p}");
        assert!(p["detail"].as_str().unwrap().len() > 5);
    }
    let wrong = c
        .post(&screen)
        .bearer_auth(&key)
        .json(&json!({"network": "bitcoin", "address": "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"}))
        .send()
        .await
        .unwrap();
    let p: Value = wrong.json().await.unwrap();
    assert!(p["detail"].as_str().unwrap().contains("this is a Bitcoin testnet address"));

    let r = c
        .post(&screen)
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = c.post(&screen).bearer_auth(&key).body("network=bitcoin").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let big = json!({"network": "bitcoin", "address": "x".repeat(100_000)});
    let r = c.post(&screen).bearer_auth(&key).json(&big).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "body_too_large");

    let orders = format!("{base}/api/v1/orders");
    let mut float_amount = order_body();
    float_amount["pay"]["amount"] = json!(0.25);
    let (status, p) = post(&c, &orders, &key, float_amount).await;
    assert_eq!((status, p["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")));
    assert!(p["detail"].as_str().unwrap().contains("as a string of digits"), "{p}");
    let mut usdt_on_bitcoin = order_body();
    usdt_on_bitcoin["pay"] = json!({"network": "bitcoin", "asset": "USDT", "amount": "1"});
    assert_eq!(post(&c, &orders, &key, usdt_on_bitcoin).await.1["code"], "asset_not_on_network");
    let mut bad_email = order_body();
    bad_email["customer_email"] = json!("not-an-email");
    assert_eq!(post(&c, &orders, &key, bad_email).await.1["code"], "invalid_email");

    let deposits = format!("{base}/api/v1/deposits");
    let mut bad_txid = deposit_body(CLEAN_ETH, "x", &[]);
    bad_txid["txid"] = json!("0x1234");
    assert_eq!(post(&c, &deposits, &key, bad_txid).await.1["code"], "invalid_txid");
    let (status, p) = post(&c, &deposits, &key, deposit_body(CLEAN_ETH, "x", &[])).await;
    assert_eq!((status, p["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_deposit_address")));
    let (status, p) = post(&c, &deposits, &key, deposit_body(CLEAN_ETH, "x", &["0x123"])).await;
    assert_eq!((status, p["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("address_bad_length")));
    assert!(p["detail"].as_str().unwrap().starts_with("sources[0]"));

    let r = c.get(format!("{base}/api/v1/orders/not-a-uuid")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = c.get(format!("{base}/api/v1/orders/{}", uuid::Uuid::now_v7())).bearer_auth(&key).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "order_not_found");
    let r = c.get(format!("{base}/nowhere")).send().await.unwrap();
    assert_eq!(
        (r.status(), r.json::<Value>().await.unwrap()["code"].clone()),
        (StatusCode::NOT_FOUND, json!("not_found"))
    );
    let r = c.delete(format!("{base}/api/v1/orders")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
});

both!(invariant_5_every_route_checks_the_key_and_its_scope, |t: TestApp| async move {
    let base = t.serve_only().await;
    let c = Client::new();
    let (read_only, _) =
        t.app.api_keys().create("reader", vec![custos_app::model::Scope::OrdersRead], "test").await.unwrap();
    for route in custos_web::ROUTES {
        let url = format!("{base}{}", route.path.replace("{id}", &uuid::Uuid::now_v7().to_string()));
        let request = |key: Option<&str>| {
            let mut r = c.request(route.method.parse().unwrap(), &url);
            if let Some(k) = key {
                r = r.bearer_auth(k);
            }
            if route.method == "POST" {
                r = r.json(&json!({}));
            }
            r.send()
        };
        let anonymous = request(None).await.unwrap();
        match route.scope {
            None => assert_eq!(anonymous.status(), StatusCode::OK, "{} is public", route.path),
            Some(scope) => {
                assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "{} {}", route.method, route.path);
                assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
                let forged = request(Some("ck_forged")).await.unwrap();
                assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
                let limited = request(Some(&read_only)).await.unwrap();
                if scope == custos_app::model::Scope::OrdersRead {
                    assert_ne!(limited.status(), StatusCode::FORBIDDEN);
                } else {
                    assert_eq!(limited.status(), StatusCode::FORBIDDEN, "{} {}", route.method, route.path);
                    assert_eq!(limited.json::<Value>().await.unwrap()["code"], "forbidden");
                }
            }
        }
    }
});

both!(invariant_1_idempotency_key_replays_and_refuses_reuse, |t: TestApp| async move {
    let (base, key) = t.serve().await;
    let c = Client::new();
    let url = format!("{base}/api/v1/orders");
    let send = |body: Value, idem: &'static str| {
        c.post(&url).bearer_auth(&key).header("Idempotency-Key", idem).json(&body).send()
    };
    let first = send(order_body(), "order-1").await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = send(order_body(), "order-1").await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"], "one order, not two");
    let mut other = order_body();
    other["external_id"] = json!("site-43");
    let reused = send(other, "order-1").await.unwrap();
    assert_eq!(reused.status(), StatusCode::CONFLICT);
    assert_eq!(reused.json::<Value>().await.unwrap()["code"], "idempotency_key_reused");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders").fetch_one(t.store.pool()).await.unwrap();
    assert_eq!(n, 1);
    // Concurrent retries with one key still make one order.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (c, url, key) = (c.clone(), url.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            c.post(&url)
                .bearer_auth(&key)
                .header("Idempotency-Key", "order-2")
                .json(&order_body())
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for task in tasks {
        let s = task.await.unwrap();
        assert!(s == StatusCode::CREATED || s == StatusCode::CONFLICT, "{s}");
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders").fetch_one(t.store.pool()).await.unwrap();
    assert_eq!(n, 2);
});

both!(invariant_1_concurrent_duplicate_deposits_over_http_give_one_deposit, |t: TestApp| async move {
    let (base, key) = t.serve().await;
    let c = Client::new();
    let (_, order) = post(&c, &format!("{base}/api/v1/orders"), &key, order_body()).await;
    let address = order["deposit"]["address"].as_str().unwrap().to_owned();
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let (c, base, key, address) = (c.clone(), base.clone(), key.clone(), address.clone());
        tasks.push(tokio::spawn(async move {
            post(&c, &format!("{base}/api/v1/deposits"), &key, deposit_body(&address, "same", &[CLEAN_ETH])).await
        }));
    }
    let mut ids = std::collections::HashSet::new();
    let mut created = 0;
    for task in tasks {
        let (status, d) = task.await.unwrap();
        assert!(status == StatusCode::CREATED || status == StatusCode::OK, "{status} {d}");
        created += usize::from(status == StatusCode::CREATED);
        ids.insert(d["id"].as_str().unwrap().to_owned());
    }
    assert_eq!((ids.len(), created), (1, 1));
});

#[tokio::test]
async fn openapi_document_matches_the_routes_and_its_snapshot() {
    let doc = custos_web::openapi::document(custos_web::ROUTES);
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    documented.sort();
    let mut routes: Vec<(String, String)> =
        custos_web::ROUTES.iter().map(|r| (r.method.to_owned(), r.path.to_owned())).collect();
    routes.sort();
    assert_eq!(documented, routes);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/openapi.json");
    let rendered = format!("{}\n", serde_json::to_string_pretty(&doc).unwrap());
    if std::env::var("UPDATE_SNAPSHOTS").is_ok() {
        std::fs::write(&path, &rendered).unwrap();
    }
    let stored =
        std::fs::read_to_string(&path).expect("crates/web/openapi.json: run with UPDATE_SNAPSHOTS=1 to create it");
    assert_eq!(stored, rendered, "the OpenAPI document changed: review it, then run with UPDATE_SNAPSHOTS=1");
}

both!(openapi_is_served_and_every_route_answers, |t: TestApp| async move {
    let (base, key) = t.serve().await;
    let c = Client::new();
    let served: Value = c.get(format!("{base}/api/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(served, custos_web::openapi::document(custos_web::ROUTES));
    for route in custos_web::ROUTES {
        let url = format!("{base}{}", route.path.replace("{id}", &uuid::Uuid::now_v7().to_string()));
        let r = c.request(route.method.parse().unwrap(), &url).bearer_auth(&key).json(&json!({})).send().await.unwrap();
        assert_ne!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{} {} is routed", route.method, route.path);
        assert!(r.status().as_u16() < 500, "{} {}", route.method, route.path);
    }
});

both!(issue_15_orders_and_cases_are_listed_with_filters_and_a_cursor, |t: TestApp| async move {
    let (base, key) = t.serve().await;
    let c = Client::new();
    let mut numbers = Vec::new();
    for (i, source) in [GAMBLING_ETH, SANCTIONED_ETH, EXCHANGE_ETH].iter().enumerate() {
        let (_, order) = post(
            &c,
            format!("{base}/api/v1/orders"),
            &key,
            json!({"external_id": format!("EX-{i}"),
                   "pay": {"network": "ethereum", "asset": "ETH", "amount": "1000"},
                   "receive": {"network": "bitcoin", "asset": "BTC", "amount": "10", "address": CLEAN_BTC}}),
        )
        .await;
        post(
            &c,
            format!("{base}/api/v1/deposits"),
            &key,
            json!({"network": "ethereum", "asset": "ETH", "address": order["deposit"]["address"], "index": 0,
                   "amount": "1000", "txid": format!("0x{}", format!("{i:02}").repeat(32)), "sources": [source]}),
        )
        .await;
        numbers.push(order["number"].as_i64().unwrap());
    }
    // The newest first, a page at a time.
    let page = get(&c, format!("{base}/api/v1/orders?limit=2"), &key).await;
    let got: Vec<i64> = page["items"].as_array().unwrap().iter().map(|o| o["number"].as_i64().unwrap()).collect();
    assert_eq!(got, vec![numbers[2], numbers[1]]);
    let cursor = page["next_cursor"].as_str().expect("a next page").to_owned();
    let page = get(&c, format!("{base}/api/v1/orders?limit=2&cursor={cursor}"), &key).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["number"], numbers[0]);
    assert!(page["next_cursor"].is_null(), "the last page");
    // Filters.
    let page = get(&c, format!("{base}/api/v1/orders?external_id=EX-1"), &key).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["status"], "rejected");
    let page = get(&c, format!("{base}/api/v1/orders?status=accepted"), &key).await;
    assert_eq!(page["items"][0]["external_id"], "EX-2");
    let page = get(&c, format!("{base}/api/v1/orders?created_after=2030-01-01T00:00:00Z"), &key).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 0);
    let page = get(&c, format!("{base}/api/v1/orders?created_before=2030-01-01T00:00:00%2B03:00"), &key).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    // Cases: two opened (hold, reject), filtered by the decision that opened them.
    let page = get(&c, format!("{base}/api/v1/cases"), &key).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let page = get(&c, format!("{base}/api/v1/cases?opened_because=reject&status=open"), &key).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["opened_because"], "reject");
    let page = get(&c, format!("{base}/api/v1/cases?limit=1"), &key).await;
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let next = get(&c, format!("{base}/api/v1/cases?limit=1&cursor={cursor}"), &key).await;
    assert_ne!(next["items"][0]["id"], page["items"][0]["id"]);
    assert!(next["next_cursor"].is_null());
    // Bad parameters: a clear problem naming them.
    for bad in ["limit=0", "limit=201", "cursor=abc", "status=lost", "created_after=yesterday", "external_id="] {
        let r = c.get(format!("{base}/api/v1/orders?{bad}")).bearer_auth(&key).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(r.json::<Value>().await.unwrap()["code"], "invalid_query", "{bad}");
    }
    let r = c.get(format!("{base}/api/v1/cases?opened_because=proceed")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
});
