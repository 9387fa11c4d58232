//! The OpenAPI 3.1 document, generated from the route table and the schemas below.

use crate::body;
use crate::problem::catalogue;
use crate::route::RouteSpec;
use custos_domain::decision::Rationale;
use custos_domain::{Asset, Network};
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn problem_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/problem+json": {"schema": r("Problem")}}})
}

/// A JSON answer of the type `T` (its schema derived from the type, in `components.schemas`).
fn of<T: ToSchema>(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": r(&T::name())}}})
}

fn empty_json(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {}}})
}

/// An operation's request body schema and the answers particular to it; [`document`] adds those
/// every route of its kind gives (authentication, body, path and `Idempotency-Key` problems).
fn operation(operation_id: &str) -> (Option<&'static str>, Value) {
    let p = problem_response;
    match operation_id {
        "createScreening" => {
            (Some("ScreeningRequest"), json!({"201": of::<body::Screening>("The screening and its decision")}))
        }
        "createOrder" => (
            Some("OrderRequest"),
            json!({"201": of::<body::Order>("The order with its deposit address"),
                   "409": p("customer_restricted: the customer may not start an exchange now; network_not_configured")}),
        ),
        "getOrder" => (None, json!({"200": of::<body::Order>("The order, with the requests to the customer")})),
        "listOrders" => (
            None,
            json!({"200": of::<body::OrderList>("A page of orders, the newest first"),
                   "422": p("invalid_query: a parameter is not what it should be; `detail` names it")}),
        ),
        "listCases" => (
            None,
            json!({"200": of::<body::CaseList>("A page of cases, the newest first"),
                   "422": p("invalid_query: a parameter is not what it should be; `detail` names it")}),
        ),
        "reportDeposit" => (
            Some("DepositRequest"),
            json!({
                "201": of::<body::Deposit>("The deposit, screened and decided"),
                "200": of::<body::Deposit>("The same transfer was reported before: the existing deposit"),
                "404": p("unknown_deposit_address: the address is no order's deposit address"),
                "409": p("asset_mismatch, or the order accepts no deposits"),
            }),
        ),
        "requestPayout" => (
            None,
            json!({"200": of::<body::PayoutRequested>("The order (payout_pending, or in_review when the destination was not clean), the destination's screening, and the case if one opened"),
                   "409": p("The order is not payable, or the customer may not be paid out now")}),
        ),
        "completePayout" => (
            Some("PayoutCompletion"),
            json!({"200": of::<body::OrderSummary>("The completed order"), "409": p("No payout is pending; txid_network_mismatch")}),
        ),
        "getCase" => {
            (None, json!({"200": of::<body::CaseFile>("The case, with its evidence, requests and decisions")}))
        }
        "decide" => (
            Some("DecisionBody"),
            json!({
            "201": of::<body::Decision>("The decision, in effect"),
            "403": p("four_eyes_needs_staff: a refund or a release of held or rejected funds is two officers' work in the back-office, never a key's"),
            "409": p("The case is closed, the order cannot take this decision, or the refund is refused")}),
        ),
        "caseAction" => {
            (Some("CaseActionBody"), json!({"200": of::<body::Case>("The case"), "409": p("The case is closed")}))
        }
        "requestFromCustomer" => (
            Some("RequestBody"),
            json!({"201": of::<body::CustomerRequestBody>("The request, with its deadline"), "409": p("The case is closed")}),
        ),
        "answerRequest" => (
            Some("AnswerBody"),
            json!({"200": of::<body::CustomerRequestBody>("The request, answered"),
            "403": p("answers_by_key_disabled: the integration mode [api] answers_by_key is off"),
            "409": p("Already answered")}),
        ),
        "refundSent" => (
            Some("PayoutCompletion"),
            json!({"200": of::<body::Refund>("The refund, sent"), "409": p("No refund is pending; txid_network_mismatch")}),
        ),
        "getWebhookEvent" => (None, json!({"200": of::<body::WebhookEvent>("The event")})),
        "replayWebhookEvent" => (None, json!({"202": of::<body::WebhookEvent>("The event, pending again")})),
        "registerCard" => (
            Some("CardBody"),
            json!({"201": of::<body::CardRegistered>("The card by its ends, and whether a review case opened because another customer registered it"),
            "409": p("customer_required: the order has no customer e-mail")}),
        ),
        "getMetrics" => (
            None,
            json!({"200": {"description": "The analyzers' counters in the Prometheus text format",
                           "content": {"text/plain": {"schema": {"type": "string"}}}}}),
        ),
        "getOpenApi" => (None, json!({"200": empty_json("This document")})),
        _ => (None, json!({"200": empty_json("OK")})),
    }
}

/// The query parameters of a list operation.
fn query_parameters(operation_id: &str) -> Vec<Value> {
    let q = |name: &str, schema: Value, description: &str| json!({"name": name, "in": "query", "required": false, "schema": schema, "description": description});
    let page = [
        q("limit", json!({"type": "integer", "minimum": 1, "maximum": 200, "default": 50}), "Items on the page"),
        q(
            "cursor",
            json!({"type": "string", "pattern": "^[1-9][0-9]{0,17}$"}),
            "The `next_cursor` of the page before, as given",
        ),
    ];
    let mut params = match operation_id {
        "listOrders" => vec![
            q(
                "external_id",
                json!({"type": "string", "minLength": 1, "maxLength": 200}),
                "The exchange's own order id",
            ),
            q(
                "status",
                json!({"type": "string", "enum": custos_domain::OrderStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>()}),
                "Orders in this status",
            ),
            q("created_after", json!({"type": "string", "format": "date-time"}), "Created at or after this moment"),
            q("created_before", json!({"type": "string", "format": "date-time"}), "Created before this moment"),
        ],
        "listCases" => vec![
            q(
                "status",
                json!({"type": "string", "enum": custos_domain::status::CaseStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>()}),
                "Cases in this status",
            ),
            q(
                "opened_because",
                json!({"type": "string", "enum": ["review", "hold", "reject"]}),
                "Cases opened by this decision",
            ),
        ],
        _ => return Vec::new(),
    };
    params.extend(page);
    params
}

/// Adds `description` to a response already documented (its problem codes), or documents it.
fn also(responses: &mut Value, status: &str, description: &str) {
    let joined = match responses.get(status).and_then(|r| r["description"].as_str()) {
        Some(d) if d != description => format!("{description}; {d}"),
        _ => description.to_owned(),
    };
    responses[status] = problem_response(&joined);
}

/// The document of `routes` (the API's are `routes::ROUTES`).
pub fn document(routes: &[RouteSpec]) -> Value {
    let mut paths = Map::new();
    for route in routes {
        let (body, mut responses) = operation(route.operation_id);
        let mut op = json!({
            "operationId": route.operation_id,
            "summary": route.summary,
            "responses": {},
        });
        if let Some(scope) = route.scope {
            op["security"] = json!([{"bearer": []}]);
            op["x-required-scope"] = json!(scope.as_str());
            also(&mut responses, "401", "unauthorized: missing, unknown or revoked API key");
            also(&mut responses, "403", "forbidden: the API key lacks the required scope");
            also(&mut responses, "503", "service_unavailable: the database is unavailable; retry");
        }
        let mut parameters = query_parameters(route.operation_id);
        if route.method == "POST" && route.scope.is_some() {
            parameters.push(json!({
                "name": "Idempotency-Key", "in": "header", "required": false,
                "description": "Retries with the same key and body get the first response again (header Idempotent-Replayed: true); a key is for one request only.",
                "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"}
            }));
            also(
                &mut responses,
                "409",
                "idempotency_key_reused (for a different request), idempotency_request_in_progress (still being processed)",
            );
            also(&mut responses, "413", "body_too_large: the body exceeds the size limit");
            also(&mut responses, "422", "invalid_idempotency_key: not 1 to 255 visible ASCII characters");
        }
        if let Some(schema) = body {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": r(schema)}}});
            also(&mut responses, "400", "invalid_body: the body is not JSON");
            also(&mut responses, "415", "unsupported_media_type: the body is not sent as application/json");
            also(&mut responses, "422", "The body is invalid; `code` says why");
        }
        if route.path.contains("{id}") {
            parameters.push(
                json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"},
                                   "description": "A UUID; anything else is no such resource (404)"}),
            );
            also(&mut responses, "400", "invalid_path: the path is not UTF-8");
            also(&mut responses, "404", "not_found: no such resource (the code names it)");
        }
        if !parameters.is_empty() {
            op["parameters"] = Value::Array(parameters);
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
        "webhooks": webhooks(),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "An API key made with `custos apikey create`"}},
            "schemas": schemas(),
        },
    })
}

/// The `webhooks` section: what Custos POSTs to the operator's receiver, one entry per event type
/// of `app::events::CATALOGUE` (docs/webhooks.md says the same).
fn webhooks() -> Value {
    let mut hooks = Map::new();
    for spec in custos_app::events::CATALOGUE {
        let body = json!({
            "type": "object",
            "required": ["id", "type", "created_at", "data"],
            "properties": {
                "id": {"type": "string", "format": "uuid", "description": "Stable across retries (also in Custos-Event-Id): deduplicate by it"},
                "type": {"const": spec.event_type},
                "created_at": {"type": "string", "format": "date-time"},
                "data": event_data(spec.fields, ""),
            }
        });
        let post = json!({
            "operationId": format!("webhook_{}", spec.event_type.replace('.', "_")),
            "summary": spec.when,
            "parameters": [
                {"name": "Custos-Signature", "in": "header", "required": true, "schema": {"type": "string"},
                 "description": "t=<unix>,v1=<hex HMAC-SHA256 of \"t.body\"> (one v1 per live secret)"},
                {"name": "Custos-Event-Id", "in": "header", "required": true, "schema": {"type": "string", "format": "uuid"}}
            ],
            "requestBody": {"required": true, "content": {"application/json": {"schema": body}}},
            "responses": {
                "2XX": {"description": "Received"},
                "default": {"description": "5xx, 408, 429 and network errors are retried after 10 s, 1 min, then 10 min six times; other answers, and exhausted retries, dead-letter the event"}
            }
        });
        hooks.insert(spec.event_type.to_owned(), json!({"post": post}));
    }
    Value::Object(hooks)
}

/// The schema of the fields of `fields` under `prefix` (dotted names are nested objects).
fn event_data(fields: &[custos_app::events::EventField], prefix: &str) -> Value {
    let mut properties = Map::new();
    for f in fields {
        let Some(name) = f.name.strip_prefix(prefix) else { continue };
        if name.contains('.') {
            continue;
        }
        let mut schema = match f.schema {
            "order_status" => {
                json!({"type": "string", "enum": custos_domain::OrderStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>()})
            }
            "decision" => {
                json!({"type": "string", "enum": custos_domain::policy::Action::ALL.iter().map(|a| a.as_str()).collect::<Vec<_>>()})
            }
            t => match t.split_once('|') {
                Some((t, "null")) => json!({"type": [t, "null"]}),
                _ => json!({"type": t}),
            },
        };
        if !f.format.is_empty() {
            schema["format"] = json!(f.format);
        }
        if !f.about.is_empty() {
            schema["description"] = json!(f.about);
        }
        let nested = format!("{}.", f.name);
        if fields.iter().any(|g| g.name.starts_with(&nested)) {
            if let (Value::Object(s), Value::Object(inner)) = (&mut schema, event_data(fields, &nested)) {
                s.extend(inner.into_iter().filter(|(k, _)| k == "properties"));
            }
        }
        properties.insert(name.to_owned(), schema);
    }
    json!({"type": "object", "properties": properties})
}

/// The integers from 1 to `n`, without leading zeros, as regex alternatives.
fn one_to(n: u128) -> String {
    let digits: Vec<u8> = n.to_string().bytes().map(|b| b - b'0').collect();
    let len = digits.len();
    let mut alternatives = Vec::new();
    if len >= 2 {
        alternatives.push(format!("[1-9][0-9]{{0,{}}}", len - 2));
    }
    for (i, &d) in digits.iter().enumerate() {
        let low = u8::from(i == 0);
        if d > low {
            let prefix: String = digits[..i].iter().map(|x| char::from(b'0' + x)).collect();
            let class = if d - 1 == low { low.to_string() } else { format!("[{low}-{}]", d - 1) };
            let rest = len - i - 1;
            let tail = if rest > 0 { format!("[0-9]{{{rest}}}") } else { String::new() };
            alternatives.push(format!("{prefix}{class}{tail}"));
        }
    }
    alternatives.push(n.to_string());
    alternatives.join("|")
}

/// An amount of `asset` in base units: digits, more than zero, at most the asset's supply.
fn amount_of(asset: Asset) -> Value {
    let max = asset.max_supply();
    json!({"type": "string", "pattern": format!("^0*(?:{})$", one_to(max.0)),
           "description": format!("{asset} in base units, as a string of digits: more than 0, at most {max} (all the {asset} there is)")})
}

/// Free text: something besides white space, at most `max` characters.
fn text(max: usize, description: &str) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": max,
           "pattern": format!("[^{}]", custos_domain::text::WHITESPACE_CLASS), "description": description})
}

fn nullable(schema: Value) -> Value {
    json!({"anyOf": [schema, {"type": "null"}]})
}

/// An address on `network`, its checksum verified (a format of this document: the pattern
/// alone cannot say it).
fn address_on(network: Network) -> Value {
    let what = match network {
        Network::Bitcoin => "a Bitcoin address: base58 P2PKH or P2SH, or bech32 / bech32m SegWit, checksum verified",
        Network::Ethereum => {
            "an Ethereum address: 0x and 40 hex digits, all lower case, all upper case or EIP-55 mixed case"
        }
        Network::Tron => "a TRON address: base58check, starting with T",
    };
    json!({"type": "string", "format": format!("{network}-address"), "description": what})
}

fn txid_on(network: Network) -> Value {
    let pattern = match network {
        Network::Ethereum => "^0x[0-9a-fA-F]{64}$",
        Network::Bitcoin | Network::Tron => "^[0-9a-fA-F]{64}$",
    };
    json!({"type": "string", "pattern": pattern, "description": format!("A {network} transaction id")})
}

/// The (network, asset) pairs that move (USDT and USDC on Ethereum and TRON).
fn pairs() -> Vec<(Network, Asset)> {
    Network::ALL
        .into_iter()
        .flat_map(|n| Asset::ALL.into_iter().filter(move |a| a.is_on(n)).map(move |a| (n, a)))
        .collect()
}

/// One variant per (network, asset) pair: `fields` adds what depends on them.
fn per_pair(required: &[&str], fields: impl Fn(Network, Asset) -> Map<String, Value>) -> Value {
    let variants: Vec<Value> = pairs()
        .into_iter()
        .map(|(n, a)| {
            let mut properties = Map::new();
            properties.insert("network".into(), json!({"const": n.as_str()}));
            properties.insert("asset".into(), json!({"const": a.as_str()}));
            properties.extend(fields(n, a));
            json!({"type": "object", "additionalProperties": false, "required": required, "properties": properties,
                   "title": format!("{a} on {n}")})
        })
        .collect();
    json!({"oneOf": variants})
}

fn props(list: &[(&str, Value)]) -> Map<String, Value> {
    list.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

fn schemas() -> Value {
    let screening_request: Vec<Value> = Network::ALL
        .into_iter()
        .map(|n| {
            json!({"type": "object", "additionalProperties": false, "required": ["network", "address"], "title": n.as_str(),
                   "properties": {"network": {"const": n.as_str()}, "address": address_on(n)}})
        })
        .collect();
    let any_address = json!({"anyOf": Network::ALL.into_iter().map(address_on).collect::<Vec<_>>(),
                             "description": "Refund: one of the deposit's source addresses"});
    let any_txid = json!({"anyOf": Network::ALL.into_iter().map(txid_on).collect::<Vec<_>>(),
                          "description": "On the order's network; one of another network is 409 txid_network_mismatch"});
    let max_fee = crate::dto::MAX_NETWORK_FEE;
    let fee = json!({"type": "string", "pattern": format!("^(?:0+|0*(?:{}))$", one_to(max_fee.0)),
                     "description": format!("In the deposit's base units, at most {max_fee}")});
    let null = json!({"type": "null"});
    let action = |name: &str, own: &[(&str, Value)]| {
        let mut properties = props(&[("action", json!({"const": name}))]);
        for field in ["assignee", "note", "hours", "reason"] {
            properties.insert(field.into(), null.clone());
        }
        properties.extend(props(own));
        let mut required = vec!["action"];
        required.extend(own.iter().map(|(k, _)| *k));
        json!({"type": "object", "additionalProperties": false, "required": required, "properties": properties, "title": name})
    };
    let rationale = json!({"type": "string", "maxLength": Rationale::MAX_CHARS, "pattern": Rationale::pattern(),
        "description": "Why the officer decides so: at least 10 characters besides white space; stored encrypted, \
                        bound to the audit log by its SHA-256, shown in the back-office, never returned"});
    let decision = |name: &str, refund: bool| {
        let (to, fee_field) = if refund { (any_address.clone(), fee.clone()) } else { (null.clone(), null.clone()) };
        let required: Vec<&str> = if refund {
            vec!["decision", "rationale", "to_address", "network_fee"]
        } else {
            vec!["decision", "rationale"]
        };
        json!({"type": "object", "additionalProperties": false, "required": required, "title": name,
               "properties": {"decision": {"const": name}, "rationale": rationale.clone(), "to_address": to, "network_fee": fee_field}})
    };
    let u32_max = u64::from(u32::MAX);
    let mut schemas = json!({
        "Problem": {
            "type": "object",
            "required": ["type", "title", "status", "code", "detail"],
            "properties": {
                "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                "code": {"type": "string", "enum": catalogue()}, "detail": {"type": "string"}
            }
        },
        "ScreeningRequest": {"oneOf": screening_request},
        "OrderRequest": {
            "type": "object", "additionalProperties": false, "required": ["pay", "receive"],
            "properties": {
                "external_id": nullable(json!({"type": "string", "pattern": crate::dto::EXTERNAL_ID_PATTERN,
                    "description": "Your order's reference; kept in clear, so never personal data"})),
                "customer_email": nullable(json!({"type": "string", "maxLength": custos_domain::text::EMAIL_MAX,
                    "pattern": custos_domain::text::email_pattern(), "description": "Stored encrypted; never returned"})),
                "pay": per_pair(&["network", "asset", "amount"], |_, a| props(&[("amount", amount_of(a))])),
                "receive": per_pair(&["network", "asset", "amount", "address"], |n, a| {
                    props(&[("amount", amount_of(a)), ("address", address_on(n))])
                })
            }
        },
        "DepositRequest": per_pair(&["network", "asset", "address", "txid", "index", "amount"], |n, a| props(&[
            ("address", json!({"allOf": [address_on(n)], "description": "The order's deposit address"})),
            ("txid", txid_on(n)),
            ("index", json!({"type": "integer", "minimum": 0, "maximum": u32_max, "description": "Output index (Bitcoin) or log/transfer index"})),
            ("amount", amount_of(a)),
            ("sources", json!({"type": "array", "maxItems": crate::dto::MAX_SOURCES, "items": address_on(n),
                               "description": "The addresses the funds came from"})),
            ("confirmations", nullable(json!({"type": "integer", "minimum": 0, "maximum": u32_max}))),
        ])),
        "DecisionBody": {"oneOf": [decision("release", false), decision("freeze", false), decision("refund", true)]},
        "CaseActionBody": {"oneOf": [
            action("assign", &[("assignee", text(100, "Who takes the case"))]),
            action("note", &[("note", text(10_000, "Stored encrypted"))]),
            action("escalate", &[]),
            action("close", &[]),
            action("extend", &[("hours", json!({"type": "integer", "minimum": 1, "maximum": 336, "description": "By how many hours"})),
                               ("reason", text(500, "Why more analysis is needed"))]),
        ]},
        "RequestBody": {
            "type": "object", "additionalProperties": false, "required": ["kind", "message"],
            "properties": {"kind": {"type": "string", "enum": ["kyc", "source_of_funds", "information"]},
                           "message": text(2000, "What the customer is asked; stored sealed")}
        },
        "AnswerBody": {
            "type": "object", "additionalProperties": false, "required": ["answer"],
            "properties": {"answer": text(20_000, "Stored encrypted; never returned")}
        },
        "CardBody": {
            "type": "object", "additionalProperties": false, "required": ["number"],
            "properties": {"number": {"type": "string", "format": "card-number", "description": "12 to 19 digits (spaces and dashes between them are ignored) with a valid Luhn check digit; never stored (only the first 6 and last 4 digits and a keyed hash)"},
                           "holder_name": nullable(json!({"type": "string", "maxLength": crate::dto::HOLDER_NAME_MAX, "description": "As on the card; stored encrypted"}))}
        },
        "PayoutCompletion": {
            "type": "object", "additionalProperties": false, "required": ["txid"],
            "properties": {"txid": any_txid}
        },
    });
    for (name, schema) in body::schemas() {
        schemas[name] = serde_json::to_value(schema).expect("a schema serialises");
    }
    schemas
}
