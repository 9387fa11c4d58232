//! The screener's guard and run rules against a scripted analyzer.

use super::*;
use crate::clock::ManualClock;
use crate::ports::Direction;
use async_trait::async_trait;
use custos_domain::risk::ReportStatus;
use custos_domain::Network;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Answers with the band it is told to, counts its calls, and can fail or hang.
struct Scripted {
    name: &'static str,
    band: Mutex<Option<RiskBand>>,
    fail: Mutex<bool>,
    hang: bool,
    transfers: bool,
    calls: AtomicUsize,
}

impl Scripted {
    fn new(name: &'static str, band: RiskBand) -> Arc<Self> {
        Arc::new(Scripted {
            name,
            band: Mutex::new(Some(band)),
            fail: Mutex::new(false),
            hang: false,
            transfers: true,
            calls: AtomicUsize::new(0),
        })
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn answer(&self, address: &Address) -> RiskReport {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if *self.fail.lock().unwrap() {
            return RiskReport::failed(self.name, address, "HTTP 500");
        }
        let mut r = RiskReport::new(self.name, address, ReportStatus::Completed);
        r.band = *self.band.lock().unwrap();
        r
    }
}

#[async_trait]
impl Analyzer for Scripted {
    fn name(&self) -> &str {
        self.name
    }
    async fn screen_address(&self, address: &Address) -> RiskReport {
        if self.hang {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        self.answer(address)
    }
    fn screens_transfers(&self) -> bool {
        self.transfers
    }
    async fn screen_transfer(&self, t: &Transfer) -> RiskReport {
        let mut r = self.answer(&t.address);
        r.txid = Some(t.txid.clone());
        r
    }
}

fn addr() -> Address {
    Address::parse(Network::Bitcoin, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4").unwrap()
}

fn source() -> Address {
    Address::parse(Network::Bitcoin, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2").unwrap()
}

fn transfer(amount: u128) -> Transfer {
    Transfer {
        network: Network::Bitcoin,
        asset: Asset::Btc,
        txid: "ab".repeat(32),
        index: 0,
        amount: Amount(amount),
        direction: Direction::Incoming,
        address: addr(),
        counterparties: vec![source()],
        customer_ref: None,
    }
}

fn settings() -> CallSettings {
    CallSettings {
        timeout: Duration::from_millis(200),
        cost_micros: 150_000,
        breaker: BreakerSettings { failures: 3, open_for: Duration::from_secs(60) },
        cache_ttl: Duration::from_secs(600),
    }
}

fn deposit_request<'a>(t: &'a Transfer, addresses: &'a [Address]) -> ScreenRequest<'a> {
    ScreenRequest { occasion: Occasion::Deposit, addresses, transfer: Some(t) }
}

#[tokio::test]
async fn risk_1_transfer_analyzers_check_the_transfer_and_address_analyzers_every_address() {
    let clock = Arc::new(ManualClock::new(0));
    let vendor = Scripted::new("vendor", RiskBand::Low);
    let labels =
        Arc::new(Scripted { transfers: false, ..Arc::into_inner(Scripted::new("labels", RiskBand::Low)).unwrap() });
    let screener = Screener::new(
        clock,
        vec![(vendor.clone(), settings(), RunRule::default()), (labels.clone(), settings(), RunRule::default())],
    )
    .unwrap();
    let t = transfer(1000);
    let addresses = [source(), addr()];
    let reports = screener.screen(deposit_request(&t, &addresses)).await;
    assert_eq!((vendor.calls(), labels.calls()), (1, 2));
    assert_eq!(reports.len(), 3);
    assert_eq!(reports[0].txid.as_deref(), Some(t.txid.as_str()));
    assert!(reports.iter().all(|r| r.latency_ms.is_some()));
}

#[tokio::test]
async fn caching_avoids_a_second_paid_call_until_the_result_expires() {
    let clock = Arc::new(ManualClock::new(0));
    let vendor = Scripted::new("vendor", RiskBand::Medium);
    let screener = Screener::new(clock.clone(), vec![(vendor.clone(), settings(), RunRule::default())]).unwrap();
    let t = transfer(1000);
    let first = screener.screen(deposit_request(&t, &[])).await;
    let again = screener.screen(deposit_request(&t, &[])).await;
    assert_eq!(vendor.calls(), 1, "the same (network, txid, index) is not paid for twice");
    assert!(!first[0].cached && again[0].cached);
    assert_eq!(again[0].band, Some(RiskBand::Medium));
    let m = &screener.metrics()[0];
    assert_eq!((m.calls, m.cache_hits, m.cost_micros_total), (1, 1, 150_000));
    // Addresses are cached by themselves.
    let one = [addr()];
    let req = ScreenRequest { occasion: Occasion::Address, addresses: &one, transfer: None };
    screener.screen(req).await;
    screener.screen(req).await;
    assert_eq!(vendor.calls(), 2);
    clock.advance_ms(600_001);
    screener.screen(deposit_request(&t, &[])).await;
    assert_eq!(vendor.calls(), 3, "an expired result is asked for again");
}

#[tokio::test]
async fn fail_closed_failures_are_not_cached_and_the_breaker_opens_then_closes() {
    let clock = Arc::new(ManualClock::new(0));
    let vendor = Scripted::new("vendor", RiskBand::Low);
    *vendor.fail.lock().unwrap() = true;
    let screener = Screener::new(clock.clone(), vec![(vendor.clone(), settings(), RunRule::default())]).unwrap();
    let t = transfer(1000);
    for _ in 0..3 {
        let r = screener.screen(deposit_request(&t, &[])).await;
        assert!(matches!(&r[0].status, ReportStatus::Failed { error } if error == "HTTP 500"));
    }
    assert_eq!(vendor.calls(), 3, "failures are not cached");
    assert!(screener.metrics()[0].breaker_open);
    // Open: the vendor is not called, and the report still fails closed.
    let r = screener.screen(deposit_request(&t, &[])).await;
    assert!(matches!(&r[0].status, ReportStatus::Failed { error } if error.contains("circuit open")));
    assert_eq!(vendor.calls(), 3);
    assert_eq!(screener.metrics()[0].short_circuited, 1);
    // After the pause one call goes through; it succeeds, so the breaker closes.
    *vendor.fail.lock().unwrap() = false;
    clock.advance_ms(60_000);
    let r = screener.screen(deposit_request(&t, &[])).await;
    assert!(r[0].is_completed());
    assert!(!screener.metrics()[0].breaker_open);
    assert_eq!(screener.metrics()[0].errors, 3);
}

#[tokio::test]
async fn sla_1_an_analyzer_that_does_not_answer_in_time_fails_closed() {
    let clock = Arc::new(ManualClock::new(0));
    let slow = Arc::new(Scripted { hang: true, ..Arc::into_inner(Scripted::new("slow", RiskBand::Low)).unwrap() });
    let screener = Screener::new(clock, vec![(slow, settings(), RunRule::default())]).unwrap();
    let one = [addr()];
    let r = screener.screen(ScreenRequest { occasion: Occasion::Address, addresses: &one, transfer: None }).await;
    assert!(matches!(&r[0].status, ReportStatus::Failed { error } if error.contains("no answer within 0.2 s")));
    assert_eq!(screener.metrics()[0].timeouts, 1);
}

#[tokio::test]
async fn a_second_opinion_runs_only_when_the_first_says_at_least_its_band_or_fails() {
    let clock = Arc::new(ManualClock::new(0));
    let first = Scripted::new("bitok", RiskBand::Low);
    let second = Scripted::new("coinkyt", RiskBand::High);
    let rule = RunRule {
        second_opinion: Some(SecondOpinion { after: "bitok".into(), band_at_least: RiskBand::Medium }),
        ..RunRule::default()
    };
    let no_cache = CallSettings { cache_ttl: Duration::ZERO, ..settings() };
    let screener =
        Screener::new(clock, vec![(first.clone(), no_cache, RunRule::default()), (second.clone(), no_cache, rule)])
            .unwrap();
    let t = transfer(1000);
    assert_eq!(screener.screen(deposit_request(&t, &[])).await.len(), 1);
    assert_eq!(second.calls(), 0, "low: no second opinion");
    *first.band.lock().unwrap() = Some(RiskBand::Medium);
    assert_eq!(screener.screen(deposit_request(&t, &[])).await.len(), 2);
    assert_eq!(second.calls(), 1);
    *first.fail.lock().unwrap() = true;
    screener.screen(deposit_request(&t, &[])).await;
    assert_eq!(second.calls(), 2, "a failed first opinion asks for a second");
}

#[tokio::test]
async fn an_analyzer_can_be_limited_to_deposits_above_an_amount_and_to_occasions() {
    let clock = Arc::new(ManualClock::new(0));
    let paid = Scripted::new("bitok", RiskBand::Low);
    let rule = RunRule {
        occasions: vec![Occasion::Deposit],
        min_amount: BTreeMap::from([(Asset::Btc, Amount(100_000))]),
        second_opinion: None,
    };
    let free = Scripted::new("builtin", RiskBand::Low);
    let no_cache = CallSettings { cache_ttl: Duration::ZERO, ..settings() };
    let screener =
        Screener::new(clock, vec![(free.clone(), no_cache, RunRule::default()), (paid.clone(), no_cache, rule)])
            .unwrap();
    let small = transfer(99_999);
    screener.screen(deposit_request(&small, &[])).await;
    assert_eq!(paid.calls(), 0);
    let big = transfer(100_000);
    screener.screen(deposit_request(&big, &[])).await;
    assert_eq!(paid.calls(), 1);
    let one = [addr()];
    screener.screen(ScreenRequest { occasion: Occasion::Payout, addresses: &one, transfer: None }).await;
    assert_eq!((paid.calls(), free.calls()), (1, 3));
}

#[test]
fn a_second_opinion_must_follow_an_analyzer_listed_before_it() {
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(0));
    let rule = RunRule {
        second_opinion: Some(SecondOpinion { after: "bitok".into(), band_at_least: RiskBand::Medium }),
        ..RunRule::default()
    };
    let err = Screener::new(clock.clone(), vec![(Scripted::new("coinkyt", RiskBand::Low), settings(), rule)]);
    let err = err.err().unwrap();
    assert!(matches!(&err, ScreenerError::SecondOpinionFirst { after, .. } if after == "bitok"), "{err}");
    assert!(err.to_string().contains("must be listed before it"));
    let twice = Screener::new(
        clock,
        vec![
            (Scripted::new("a", RiskBand::Low), settings(), RunRule::default()),
            (Scripted::new("a", RiskBand::Low), settings(), RunRule::default()),
        ],
    );
    assert_eq!(twice.err().unwrap(), ScreenerError::Twice("a".into()));
}
