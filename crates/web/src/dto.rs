//! Request and response bodies of the public API (DESIGN.md's contract), and the parsing of
//! requests into validated domain values.

use crate::problem::Problem;
use axum::http::StatusCode;
use custos_app::model::*;
use custos_app::ErrorCode;

use custos_domain::decision::Rationale;
use custos_domain::{Address, Amount, Asset, Network};
use serde::Deserialize;

use uuid::Uuid;

/// Whole numbers as JSON Schema sees them: `25192.0` is the integer 25192, as `25192` is (a
/// fraction or a number out of range is refused).
mod whole {
    use serde::{Deserialize, Deserializer};

    pub fn u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let n = serde_json::Number::deserialize(d)?;
        let whole = match (n.as_u64(), n.as_f64()) {
            (Some(u), _) => Some(u),
            (None, Some(f)) if f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f) => Some(f as u64),
            _ => None,
        };
        whole
            .and_then(|u| u32::try_from(u).ok())
            .ok_or_else(|| serde::de::Error::custom(format!("expected a whole number from 0 to {}, got {n}", u32::MAX)))
    }

    pub fn opt_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        #[derive(Deserialize)]
        struct Whole(#[serde(deserialize_with = "u32")] u32);
        Ok(Option::<Whole>::deserialize(d)?.map(|Whole(n)| n))
    }
}

fn invalid(code: ErrorCode, detail: String) -> Problem {
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
}

pub fn network(field: &str, s: &str) -> Result<Network, Problem> {
    s.parse().map_err(|e| invalid(ErrorCode::UnknownNetwork, format!("{field}: {e}")))
}

pub fn asset(field: &str, s: &str) -> Result<Asset, Problem> {
    s.parse().map_err(|e| invalid(ErrorCode::UnknownAsset, format!("{field}: {e}")))
}

pub fn address(field: &str, network: Network, s: &str) -> Result<Address, Problem> {
    Address::parse(network, s).map_err(|e| invalid(ErrorCode::of_address(&e), format!("{field}: {e}")))
}

/// The pattern of `external_id` (also in the OpenAPI document).
pub const EXTERNAL_ID_PATTERN: &str = "^[A-Za-z0-9._:/#-]{1,128}$";

/// The exchange's reference for an order: an identifier, never a name or an e-mail, because it
/// is kept in clear for the exchange's reconciliation (docs/security.md).
pub fn valid_external_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:/#-".contains(&b))
}

/// An amount of `asset`: more than zero, and no more than the asset's whole supply.
pub fn amount(field: &str, asset: Asset, a: Amount) -> Result<Amount, Problem> {
    if a.0 == 0 {
        return Err(invalid(ErrorCode::InvalidAmount, format!("{field}: the amount must be greater than zero")));
    }
    let max = asset.max_supply();
    if a > max {
        return Err(invalid(
            ErrorCode::InvalidAmount,
            format!("{field}: more than all the {asset} there is (at most {max} base units)"),
        ));
    }
    Ok(a)
}

/// A transaction id, normalised to lower-case hex (`0x`-prefixed on Ethereum).
pub fn txid(network: Network, s: &str) -> Result<String, Problem> {
    let (hex, prefix) = match network {
        Network::Ethereum => (s.strip_prefix("0x").unwrap_or("!"), "0x"),
        Network::Bitcoin | Network::Tron => (s, ""),
    };
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        let expected = match network {
            Network::Ethereum => "0x followed by 64 hex digits",
            _ => "64 hex digits",
        };
        return Err(invalid(ErrorCode::InvalidTxid, format!("txid: a {network} transaction id is {expected}")));
    }
    Ok(format!("{prefix}{}", hex.to_ascii_lowercase()))
}

/// A transaction id on the network of the order (or refund) it is for: one that fits another
/// network is a conflict with that order (409 `txid_network_mismatch`), not a malformed request.
pub fn txid_of(network: Network, s: &str) -> Result<String, Problem> {
    txid(network, s).map_err(|problem| match Network::ALL.into_iter().find(|&n| txid(n, s).is_ok()) {
        Some(other) => Problem::new(
            StatusCode::CONFLICT,
            ErrorCode::TxidNetworkMismatch,
            format!("txid: a {other} transaction id, but this is on {network}"),
        ),
        None => problem,
    })
}

pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

// ---------------------------------------------------------------- lists

/// The most items a list returns at once, and the default.
pub const LIST_MAX: i64 = 200;
pub const LIST_DEFAULT: i64 = 50;

fn bad_query(detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidQuery, detail)
}

/// A list's query string as pairs; a later repeat of a parameter wins, unknown ones are ignored.
fn query_pairs(raw: Option<&str>) -> std::collections::HashMap<String, String> {
    form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect()
}

/// `limit` (1 to 200, 50 when absent) and `cursor` (the `next_cursor` of the page before).
fn page_of(q: &std::collections::HashMap<String, String>) -> Result<(i64, Option<i64>), Problem> {
    let limit = match q.get("limit") {
        None => LIST_DEFAULT,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=LIST_MAX).contains(l))
            .ok_or_else(|| bad_query(format!("limit: a whole number from 1 to {LIST_MAX}")))?,
    };
    let cursor = match q.get("cursor") {
        None => None,
        Some(c) => Some(
            c.parse::<i64>()
                .ok()
                .filter(|c| *c > 0)
                .ok_or_else(|| bad_query("cursor: the next_cursor of a page before, as given"))?,
        ),
    };
    Ok((limit, cursor))
}

fn moment(q: &std::collections::HashMap<String, String>, name: &str) -> Result<Option<i64>, Problem> {
    q.get(name)
        .map(|v| {
            time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
                .ok()
                .and_then(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok())
                .ok_or_else(|| bad_query(format!("{name}: an RFC 3339 date-time, e.g. 2026-01-01T00:00:00Z")))
        })
        .transpose()
}

/// `GET /api/v1/orders`: filters and the page, one more than the page asked for (to know
/// whether there is a next one).
pub fn order_list(raw: Option<&str>) -> Result<custos_app::model::OrderListQuery, Problem> {
    let q = query_pairs(raw);
    let (limit, before_number) = page_of(&q)?;
    let external_id = q.get("external_id").cloned();
    if external_id.as_ref().is_some_and(|x| x.is_empty() || x.chars().count() > 200) {
        return Err(bad_query("external_id: 1 to 200 characters"));
    }
    let status = q
        .get("status")
        .map(|s| s.parse::<custos_domain::OrderStatus>().map_err(|_| bad_query("status: an order status")))
        .transpose()?;
    Ok(custos_app::model::OrderListQuery {
        external_id,
        status,
        created_after_ms: moment(&q, "created_after")?,
        created_before_ms: moment(&q, "created_before")?,
        before_number,
        limit: limit + 1,
    })
}

/// `GET /api/v1/cases`: filters and the page, one more than asked for.
pub fn case_list(raw: Option<&str>) -> Result<custos_app::model::QueueQuery, Problem> {
    use custos_domain::status::CaseStatus;
    let q = query_pairs(raw);
    let (limit, before_number) = page_of(&q)?;
    let status = q
        .get("status")
        .map(|s| s.parse::<CaseStatus>().map_err(|_| bad_query("status: open or closed")))
        .transpose()?;
    let action = q
        .get("opened_because")
        .map(|a| {
            custos_domain::Action::parse(a)
                .filter(|a| *a != custos_domain::Action::Proceed)
                .ok_or_else(|| bad_query("opened_because: review, hold or reject"))
        })
        .transpose()?;
    Ok(custos_app::model::QueueQuery {
        status,
        action,
        sort: custos_app::model::QueueSort::Newest,
        before_number,
        limit: limit + 1,
        ..Default::default()
    })
}

// ---------------------------------------------------------------- screenings

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreeningRequest {
    pub network: String,
    pub address: String,
}
// ---------------------------------------------------------------- orders

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayLeg {
    pub network: String,
    pub asset: String,
    pub amount: Amount,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiveLeg {
    pub network: String,
    pub asset: String,
    pub amount: Amount,
    pub address: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub customer_email: Option<String>,
    pub pay: PayLeg,
    pub receive: ReceiveLeg,
}

impl OrderRequest {
    pub fn parse(self) -> Result<NewOrder, Problem> {
        if let Some(id) = &self.external_id {
            if !valid_external_id(id) {
                return Err(invalid(
                    ErrorCode::InvalidField,
                    "external_id: your order's reference, 1 to 128 letters, digits and . _ : / # - (no personal data: \
                     it is kept in clear for reconciliation)"
                        .into(),
                ));
            }
        }
        if let Some(email) = &self.customer_email {
            if !custos_domain::text::is_email(email) {
                return Err(invalid(ErrorCode::InvalidEmail, "customer_email: not a valid e-mail address".into()));
            }
        }
        let receive_network = network("receive.network", &self.receive.network)?;
        let pay_asset = asset("pay.asset", &self.pay.asset)?;
        let receive_asset = asset("receive.asset", &self.receive.asset)?;
        Ok(NewOrder {
            external_id: self.external_id,
            customer_email: self.customer_email,
            pay_network: network("pay.network", &self.pay.network)?,
            pay_asset,
            pay_amount: amount("pay.amount", pay_asset, self.pay.amount)?,
            receive_network,
            receive_asset,
            receive_amount: amount("receive.amount", receive_asset, self.receive.amount)?,
            receive_address: address("receive.address", receive_network, &self.receive.address)?,
        })
    }
}
// ---------------------------------------------------------------- deposits

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepositRequest {
    pub network: String,
    pub asset: String,
    pub address: String,
    pub txid: String,
    #[serde(deserialize_with = "whole::u32")]
    pub index: u32,
    pub amount: Amount,
    #[serde(default)]
    pub sources: Vec<String>,
    #[serde(default)]
    #[serde(deserialize_with = "whole::opt_u32")]
    pub confirmations: Option<u32>,
}

/// The most source addresses one deposit may name.
pub const MAX_SOURCES: usize = 200;

impl DepositRequest {
    pub fn parse(self) -> Result<NewDeposit, Problem> {
        let network = network("network", &self.network)?;
        let asset = asset("asset", &self.asset)?;
        if !asset.is_on(network) {
            return Err(invalid(ErrorCode::AssetNotOnNetwork, format!("{asset} does not move on {network}")));
        }
        if self.sources.len() > MAX_SOURCES {
            return Err(invalid(ErrorCode::InvalidField, format!("sources: at most {MAX_SOURCES} addresses")));
        }
        let sources = self
            .sources
            .iter()
            .enumerate()
            .map(|(i, s)| address(&format!("sources[{i}]"), network, s))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(NewDeposit {
            network,
            asset,
            address: address("address", network, &self.address)?,
            txid: txid(network, &self.txid)?,
            index: self.index,
            amount: amount("amount", asset, self.amount)?,
            sources,
            confirmations: self.confirmations,
        })
    }
}
/// The id in a path, or a 404 that says why.
pub fn order_id(raw: &str) -> Result<Uuid, Problem> {
    raw.parse().map_err(|_| Problem::new(StatusCode::NOT_FOUND, ErrorCode::OrderNotFound, format!("no order {raw:?}")))
}

/// The id of a webhook event in a path, or a 404 that says why.
pub fn event_id(raw: &str) -> Result<Uuid, Problem> {
    raw.parse()
        .map_err(|_| Problem::new(StatusCode::NOT_FOUND, ErrorCode::EventNotFound, format!("no webhook event {raw:?}")))
}
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayoutCompletion {
    pub txid: String,
}

/// An id in a path, or a 404 with `code`.
pub fn uuid_in_path(raw: &str, code: ErrorCode) -> Result<Uuid, Problem> {
    raw.parse().map_err(|_| Problem::new(StatusCode::NOT_FOUND, code, format!("no such id {raw:?}")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// release, refund or freeze.
    pub decision: String,
    /// Why: at least 10 characters besides white space; stored encrypted, never returned.
    pub rationale: String,
    #[serde(default)]
    pub to_address: Option<String>,
    #[serde(default)]
    pub network_fee: Option<Amount>,
}

/// The largest network fee a refund may name: the largest supply of any asset.
pub const MAX_NETWORK_FEE: Amount = Asset::Eth.max_supply();

impl DecisionBody {
    pub fn parse(self) -> Result<(DecisionRequest, Rationale), Problem> {
        let rationale = parse_rationale(&self.rationale).map_err(|detail| invalid(ErrorCode::InvalidField, detail))?;
        let refund_fields = self.to_address.is_some() || self.network_fee.is_some();
        let request = match self.decision.as_str() {
            "release" | "freeze" if refund_fields => Err(invalid(
                ErrorCode::InvalidField,
                format!("{}: to_address and network_fee belong to a refund only", self.decision),
            )),
            "release" => Ok(DecisionRequest::Release),
            "freeze" => Ok(DecisionRequest::Freeze),
            "refund" => match (self.to_address, self.network_fee) {
                (Some(_), Some(fee)) if fee > MAX_NETWORK_FEE => {
                    Err(invalid(ErrorCode::InvalidAmount, format!("network_fee: at most {MAX_NETWORK_FEE} base units")))
                }
                (Some(to_address), Some(network_fee)) => Ok(DecisionRequest::Refund { to_address, network_fee }),
                _ => Err(invalid(
                    ErrorCode::InvalidField,
                    "a refund needs to_address (one of the deposit's sources) and network_fee".into(),
                )),
            },
            other => Err(invalid(
                ErrorCode::InvalidField,
                format!("decision: expected release, refund or freeze, got {other:?}"),
            )),
        }?;
        Ok((request, rationale))
    }
}

/// A decision's rationale, or what is wrong with it.
pub fn parse_rationale(text: &str) -> Result<Rationale, String> {
    Rationale::parse(text).ok_or_else(|| {
        format!(
            "rationale: say why you decide so, in at least {} characters besides white space and at most {} in all",
            Rationale::MIN_CHARS,
            Rationale::MAX_CHARS
        )
    })
}
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestBody {
    /// kyc, source_of_funds or information.
    pub kind: String,
    pub message: String,
}

impl RequestBody {
    pub fn kind(&self) -> Result<RequestKind, Problem> {
        RequestKind::parse(&self.kind).ok_or_else(|| {
            invalid(
                ErrorCode::InvalidField,
                format!("kind: expected kyc, source_of_funds or information, got {:?}", self.kind),
            )
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    pub answer: String,
}

/// KYC-4: the card paying for an order. The number is never stored or returned.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardBody {
    pub number: String,
    #[serde(default)]
    pub holder_name: Option<String>,
}

/// The longest card holder's name taken, in characters.
pub const HOLDER_NAME_MAX: usize = 200;

impl CardBody {
    /// The holder's name as printed on the card, if given (blank is none).
    pub fn holder(&self) -> Result<Option<&str>, Problem> {
        match self.holder_name.as_deref() {
            Some(h) if h.chars().count() > HOLDER_NAME_MAX => {
                Err(invalid(ErrorCode::InvalidField, format!("holder_name: at most {HOLDER_NAME_MAX} characters")))
            }
            other => Ok(other),
        }
    }
}

impl std::fmt::Debug for CardBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardBody { .. }")
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseActionBody {
    /// assign, note, escalate or close.
    pub action: String,
    #[serde(default)]
    pub assignee: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    /// extend: by how many hours, and why.
    #[serde(default)]
    #[serde(deserialize_with = "whole::opt_u32")]
    pub hours: Option<u32>,
    #[serde(default)]
    pub reason: Option<String>,
}

impl CaseActionBody {
    pub fn parse(self) -> Result<CaseActionRequest, Problem> {
        // Each action takes its own fields and no other (the OpenAPI document says the same).
        let given = [
            ("assignee", self.assignee.is_some()),
            ("note", self.note.is_some()),
            ("hours", self.hours.is_some()),
            ("reason", self.reason.is_some()),
        ];
        let own: &[&str] = match self.action.as_str() {
            "assign" => &["assignee"],
            "note" => &["note"],
            "extend" => &["hours", "reason"],
            _ => &[],
        };
        if let Some((field, _)) = given.iter().find(|(f, present)| *present && !own.contains(f)) {
            return Err(invalid(
                ErrorCode::InvalidField,
                format!("{field}: not a field of the {:?} action", self.action),
            ));
        }
        if self.action == "extend" {
            return match (self.hours, self.reason) {
                (Some(hours), Some(reason)) => Ok(CaseActionRequest::Extend { hours, reason }),
                _ => Err(invalid(ErrorCode::InvalidField, "extend needs hours and a reason".into())),
            };
        }
        match (self.action.as_str(), self.assignee, self.note) {
            ("assign", Some(a), _) => Ok(CaseActionRequest::Assign(a)),
            ("note", _, Some(n)) => Ok(CaseActionRequest::Note(n)),
            ("escalate", _, _) => Ok(CaseActionRequest::Escalate),
            ("close", _, _) => Ok(CaseActionRequest::Close),
            ("assign", None, _) => Err(invalid(ErrorCode::InvalidField, "assign needs an assignee".into())),
            ("note", _, None) => Err(invalid(ErrorCode::InvalidField, "note needs a note".into())),
            (other, _, _) => Err(invalid(
                ErrorCode::InvalidField,
                format!("action: expected assign, note, escalate, extend or close, got {other:?}"),
            )),
        }
    }
}
