//! The OpenAPI 3.1 document, generated from the route table and the schemas below.

use crate::problem::catalogue;
use crate::routes::ROUTES;
use serde_json::{json, Map, Value};

fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn problem_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/problem+json": {"schema": r("Problem")}}})
}

fn json_response(description: &str, schema: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": r(schema)}}})
}

fn operation(operation_id: &str) -> (Option<&'static str>, Value) {
    match operation_id {
        "createScreening" => {
            (Some("ScreeningRequest"), json!({"201": json_response("The screening and its decision", "Screening")}))
        }
        "createOrder" => {
            (Some("OrderRequest"), json!({"201": json_response("The order with its deposit address", "Order")}))
        }
        "getOrder" => {
            (None, json!({"200": json_response("The order", "Order"), "404": problem_response("No such order")}))
        }
        "reportDeposit" => (
            Some("DepositRequest"),
            json!({
                "201": json_response("The deposit, screened and decided", "Deposit"),
                "200": json_response("The same transfer was reported before: the existing deposit", "Deposit"),
                "404": problem_response("The address is no order's deposit address"),
                "409": problem_response("The order accepts no deposits"),
            }),
        ),
        "requestPayout" => (
            None,
            json!({"200": {"description": "The order (payout_pending, or in_review when the destination was not clean), the destination's screening, and the case if one opened", "content": {"application/json": {}}}, "409": problem_response("The order is not payable")}),
        ),
        "completePayout" => (
            Some("PayoutCompletion"),
            json!({"200": json_response("The completed order", "Order"), "409": problem_response("No payout is pending")}),
        ),
        "getCase" => (None, json!({"200": json_response("The case", "Case"), "404": problem_response("No such case")})),
        "decide" => (
            Some("DecisionBody"),
            json!({
            "201": {"description": "The decision, in effect", "content": {"application/json": {}}},
            "403": problem_response("four_eyes_needs_staff: a refund or a release of held or rejected funds is two officers' work in the back-office, never a key's"),
            "409": problem_response("The case is closed, or the order cannot take this decision")}),
        ),
        "caseAction" => (
            Some("CaseActionBody"),
            json!({"200": json_response("The case", "Case"), "409": problem_response("The case is closed")}),
        ),
        "requestFromCustomer" => (
            Some("RequestBody"),
            json!({"201": {"description": "The request, with its deadline", "content": {"application/json": {}}},
            "409": problem_response("The case is closed")}),
        ),
        "answerRequest" => (
            Some("AnswerBody"),
            json!({"200": {"description": "The request, answered", "content": {"application/json": {}}},
            "403": problem_response("answers_by_key_disabled: the integration mode [api] answers_by_key is off"),
            "409": problem_response("Already answered")}),
        ),
        "refundSent" => (
            Some("PayoutCompletion"),
            json!({"200": {"description": "The refund, sent", "content": {"application/json": {}}},
            "409": problem_response("No refund is pending")}),
        ),
        "getWebhookEvent" => {
            (None, json!({"200": json_response("The event", "WebhookEvent"), "404": problem_response("No such event")}))
        }
        "replayWebhookEvent" => (
            None,
            json!({"202": json_response("The event, pending again", "WebhookEvent"), "404": problem_response("No such event")}),
        ),
        "registerCard" => (
            Some("CardBody"),
            json!({"201": {"description": "The card by its ends, and whether a review case opened because another customer registered it", "content": {"application/json": {}}},
            "422": problem_response("Not a card number")}),
        ),
        "getOpenApi" => (None, json!({"200": {"description": "This document", "content": {"application/json": {}}}})),
        _ => (None, json!({"200": {"description": "OK", "content": {"application/json": {}}}})),
    }
}

pub fn document() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let (body, mut responses) = operation(route.operation_id);
        let mut op = json!({
            "operationId": route.operation_id,
            "summary": route.summary,
            "responses": {},
        });
        if let Some(scope) = route.scope {
            op["security"] = json!([{"bearer": []}]);
            op["x-required-scope"] = json!(scope.as_str());
            responses["401"] = problem_response("Missing, unknown or revoked API key");
            let also = responses.get("403").and_then(|r| r["description"].as_str()).map(|d| format!("; or {d}"));
            responses["403"] = problem_response(&format!(
                "forbidden: the API key lacks the required scope{}",
                also.unwrap_or_default()
            ));
            responses["503"] = problem_response("The database is unavailable; retry");
        }
        if let Some(schema) = body {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": r(schema)}}});
            op["parameters"] = json!([{
                "name": "Idempotency-Key", "in": "header", "required": false,
                "description": "Retries with the same key and body get the first response again (header Idempotent-Replayed: true).",
                "schema": {"type": "string", "maxLength": 255}
            }]);
            responses["413"] = problem_response("The body exceeds the size limit");
            responses["415"] = problem_response("The body is not JSON");
            responses["422"] = problem_response("The body is invalid; `code` says why");
        }
        if route.path.contains("{id}") {
            let id =
                json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}});
            match op.get_mut("parameters").and_then(|p| p.as_array_mut()) {
                Some(list) => list.push(id),
                None => op["parameters"] = json!([id]),
            }
        }
        op["responses"] = responses;
        let entry = paths.entry(route.path.to_owned()).or_insert_with(|| json!({}));
        entry[route.method.to_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Custos API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "AML/KYC screening of orders and deposits for crypto exchange services. Amounts are integers in base units (satoshi, wei, sun), written as strings.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "An API key made with `custos apikey create`"}},
            "schemas": schemas(),
        },
    })
}

fn schemas() -> Value {
    let network = json!({"type": "string", "enum": ["bitcoin", "ethereum", "tron"]});
    let asset = json!({"type": "string", "enum": ["BTC", "ETH", "TRX", "USDT", "USDC"]});
    let amount = json!({"type": "string", "pattern": "^[0-9]+$", "maxLength": 39, "description": "Integer amount in base units, as a string of digits; more than zero and at most the asset's whole supply (BTC 21 million, ETH 200 million, TRX 200 billion, USDT and USDC a trillion)"});
    let categories: Vec<&str> = custos_domain::RiskCategory::ALL.iter().map(|c| c.as_str()).collect();
    let time = json!({"type": "string", "format": "date-time"});
    json!({
        "Problem": {
            "type": "object",
            "required": ["type", "title", "status", "code", "detail"],
            "properties": {
                "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                "code": {"type": "string", "enum": catalogue()}, "detail": {"type": "string"}
            }
        },
        "ScreeningRequest": {
            "type": "object", "additionalProperties": false, "required": ["network", "address"],
            "properties": {"network": network, "address": {"type": "string"}}
        },
        "Screening": {
            "type": "object",
            "required": ["id", "network", "address", "risk_score", "band", "decision", "categories", "analyzers", "policy_version", "explanation"],
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "network": network, "address": {"type": "string"},
                "risk_score": {"type": "number", "minimum": 0, "maximum": 100},
                "band": {"type": "string", "enum": ["low", "medium", "high", "critical"]},
                "decision": {"type": "string", "enum": ["proceed", "review", "hold", "reject"]},
                "requires_kyc": {"type": "boolean"},
                "categories": {"type": "array", "items": {"type": "object", "properties": {
                    "category": {"type": "string", "enum": categories}, "exposure": {"type": "number"}, "direct": {"type": "boolean"}}}},
                "analyzers": {"type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string"}, "address": {"type": "string"}, "status": {"type": "string", "enum": ["completed", "failed"]},
                    "risk_score": {"type": "number"}, "error": {"type": "string"}}}},
                "reasons": {"type": "array", "items": {"type": "object"}},
                "policy_version": {"type": "integer"},
                "explanation": {"type": "string"},
                "created_at": time
            }
        },
        "OrderRequest": {
            "type": "object", "additionalProperties": false, "required": ["pay", "receive"],
            "properties": {
                "external_id": {"type": "string", "pattern": crate::dto::EXTERNAL_ID_PATTERN, "description": "Your order's reference; kept in clear, so never personal data"},
                "customer_email": {"type": "string", "format": "email", "description": "Stored encrypted; never returned"},
                "pay": {"type": "object", "additionalProperties": false, "required": ["network", "asset", "amount"],
                        "properties": {"network": network, "asset": asset, "amount": amount}},
                "receive": {"type": "object", "additionalProperties": false, "required": ["network", "asset", "amount", "address"],
                            "properties": {"network": network, "asset": asset, "amount": amount, "address": {"type": "string"}}}
            }
        },
        "Case": {
            "type": "object",
            "properties": {
                "id": {"type": "string", "format": "uuid"}, "number": {"type": "integer"}, "status": {"type": "string"},
                "opened_because": {"type": "string", "enum": ["review", "hold", "reject"]},
                "reasons": {"type": "array", "items": {"type": "object"}},
                "opened_at": time,
                "deadline": {"type": "object", "properties": {"kind": {"type": "string", "enum": ["kyc", "review"]}, "due_at": time}}
            }
        },
        "Order": {
            "type": "object",
            "required": ["id", "number", "status", "pay", "receive", "deposit"],
            "properties": {
                "id": {"type": "string", "format": "uuid"}, "number": {"type": "integer"},
                "external_id": {"type": ["string", "null"]},
                "status": {"type": "string", "enum": custos_domain::OrderStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>()},
                "pay": {"type": "object"}, "receive": {"type": "object"},
                "deposit": {"type": "object", "properties": {"network": network, "asset": asset, "address": {"type": "string"}}},
                "deposits": {"type": "array", "items": r("DepositFields")},
                "screenings": {"type": "array", "items": r("Screening")},
                "cases": {"type": "array", "items": r("Case")},
                "deadlines": {"type": "array", "items": {"type": "object"}},
                "created_at": time, "updated_at": time
            }
        },
        "DepositRequest": {
            "type": "object", "additionalProperties": false,
            "required": ["network", "asset", "address", "txid", "index", "amount"],
            "properties": {
                "network": network, "asset": asset,
                "address": {"type": "string", "description": "The order's deposit address"},
                "txid": {"type": "string"}, "index": {"type": "integer", "minimum": 0, "description": "Output index (Bitcoin) or log/transfer index"},
                "amount": amount,
                "sources": {"type": "array", "maxItems": crate::dto::MAX_SOURCES, "items": {"type": "string"}, "description": "The addresses the funds came from"},
                "confirmations": {"type": "integer", "minimum": 0}
            }
        },
        "DepositFields": {
            "type": "object",
            "properties": {
                "id": {"type": "string", "format": "uuid"}, "order_id": {"type": "string", "format": "uuid"},
                "network": network, "asset": asset, "address": {"type": "string"}, "txid": {"type": "string"},
                "index": {"type": "integer"}, "amount": amount, "sources": {"type": "array", "items": {"type": "string"}},
                "confirmations": {"type": ["integer", "null"]}, "screening_id": {"type": "string"}, "received_at": time
            }
        },
        "DecisionBody": {
            "type": "object", "additionalProperties": false, "required": ["decision"],
            "properties": {
                "decision": {"type": "string", "enum": ["release", "refund", "freeze"]},
                "to_address": {"type": "string", "description": "Refund: one of the deposit's source addresses"},
                "network_fee": amount
            }
        },
        "CaseActionBody": {
            "type": "object", "additionalProperties": false, "required": ["action"],
            "properties": {"action": {"type": "string", "enum": ["assign", "note", "escalate", "extend", "close"]},
                           "hours": {"type": "integer", "minimum": 1, "maximum": 336, "description": "extend: by how many hours"},
                           "reason": {"type": "string", "maxLength": 500, "description": "extend: why more analysis is needed"},
                           "assignee": {"type": "string", "maxLength": 100},
                           "note": {"type": "string", "maxLength": 10000, "description": "Stored encrypted"}}
        },
        "RequestBody": {
            "type": "object", "additionalProperties": false, "required": ["kind", "message"],
            "properties": {"kind": {"type": "string", "enum": ["kyc", "source_of_funds", "information"]},
                           "message": {"type": "string", "maxLength": 2000}}
        },
        "AnswerBody": {
            "type": "object", "additionalProperties": false, "required": ["answer"],
            "properties": {"answer": {"type": "string", "maxLength": 20000, "description": "Stored encrypted; never returned"}}
        },
        "CardBody": {
            "type": "object", "additionalProperties": false, "required": ["number"],
            "properties": {"number": {"type": "string", "description": "12 to 19 digits; checked, never stored (only the first 6 and last 4 digits and a keyed hash)"},
                           "holder_name": {"type": "string", "description": "As on the card; stored encrypted"}}
        },
        "PayoutCompletion": {
            "type": "object", "additionalProperties": false, "required": ["txid"],
            "properties": {"txid": {"type": "string", "description": "The payout's transaction id on the receive network"}}
        },
        "WebhookEvent": {
            "type": "object",
            "properties": {
                "id": {"type": "string", "format": "uuid"}, "type": {"type": "string"},
                "status": {"type": "string", "enum": ["pending", "delivered", "dead"]},
                "attempts": {"type": "integer"}, "next_attempt_at": {"type": ["string", "null"], "format": "date-time"},
                "last_error": {"type": ["string", "null"]}, "created_at": time,
                "body": {"type": "object", "description": "Exactly what is POSTed: {id, type, created_at, data}"}
            }
        },
        "Deposit": {
            "allOf": [r("DepositFields"), {"type": "object", "properties": {
                "screening": r("Screening"),
                "order": {"type": "object", "properties": {"id": {"type": "string"}, "number": {"type": "integer"}, "status": {"type": "string"}}},
                "case": {"oneOf": [r("Case"), {"type": "null"}]},
                "created": {"type": "boolean"}
            }}]
        }
    })
}
