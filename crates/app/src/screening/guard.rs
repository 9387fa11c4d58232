//! What stands between the screener and one analyzer: the time budget, the circuit breaker,
//! the result cache and the counters behind the metrics.

use crate::clock::Clock;
use crate::ports::{Analyzer, Transfer};
use custos_domain::risk::{ReportStatus, RiskReport};
use custos_domain::{Address, Network};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// When the breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive failures that open the breaker.
    pub failures: u32,
    /// How long it stays open before one call is let through again.
    pub open_for: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        BreakerSettings { failures: 5, open_for: Duration::from_secs(60) }
    }
}

/// How one analyzer is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallSettings {
    /// The time budget of one check (SLA-1: the whole primary check takes at most 5 minutes).
    pub timeout: Duration,
    /// What one paid call costs, in millionths of the operator's currency unit.
    pub cost_micros: u64,
    pub breaker: BreakerSettings,
    /// How long a completed result is reused; zero turns the cache off.
    pub cache_ttl: Duration,
}

impl CallSettings {
    /// An in-process analyzer (the label index): free, nothing to cache, default breaker.
    pub fn uncached(timeout: Duration) -> Self {
        CallSettings { timeout, cost_micros: 0, breaker: BreakerSettings::default(), cache_ttl: Duration::ZERO }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum CacheKey {
    Address(Network, Arc<str>),
    Transfer(Network, String, u32),
}

#[derive(Debug, Default)]
struct Breaker {
    consecutive_failures: u32,
    open_until_ms: Option<i64>,
}

/// Counters of one analyzer, as shown by `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AnalyzerMetrics {
    pub analyzer: String,
    /// Calls that reached the analyzer.
    pub calls: u64,
    /// Calls that failed (error, garbage or timeout).
    pub errors: u64,
    pub timeouts: u64,
    /// Answers served from the cache.
    pub cache_hits: u64,
    /// Calls refused because the breaker was open.
    pub short_circuited: u64,
    pub latency_ms_total: u64,
    pub cost_micros_total: u64,
    pub breaker_open: bool,
}

#[derive(Debug, Default)]
struct Counters {
    calls: AtomicU64,
    errors: AtomicU64,
    timeouts: AtomicU64,
    cache_hits: AtomicU64,
    short_circuited: AtomicU64,
    latency_ms_total: AtomicU64,
    cost_micros_total: AtomicU64,
}

/// Most results kept per analyzer; expired ones go first when it is full.
const CACHE_CAPACITY: usize = 50_000;

/// One analyzer behind its guard.
pub struct Guarded {
    analyzer: Arc<dyn Analyzer>,
    settings: CallSettings,
    clock: Arc<dyn Clock>,
    breaker: Mutex<Breaker>,
    cache: Mutex<HashMap<CacheKey, (RiskReport, i64)>>,
    counters: Counters,
}

enum Call<'a> {
    Address(&'a Address),
    Transfer(&'a Transfer),
}

impl Guarded {
    pub fn new(analyzer: Arc<dyn Analyzer>, settings: CallSettings, clock: Arc<dyn Clock>) -> Self {
        Guarded {
            analyzer,
            settings,
            clock,
            breaker: Mutex::new(Breaker::default()),
            cache: Mutex::new(HashMap::new()),
            counters: Counters::default(),
        }
    }

    pub fn name(&self) -> &str {
        self.analyzer.name()
    }

    pub fn screens_transfers(&self) -> bool {
        self.analyzer.screens_transfers()
    }

    pub async fn screen_address(&self, address: &Address) -> RiskReport {
        self.run(CacheKey::Address(address.network(), address.shared()), Call::Address(address), address).await
    }

    pub async fn screen_transfer(&self, transfer: &Transfer) -> RiskReport {
        let key = CacheKey::Transfer(transfer.network, transfer.txid.clone(), transfer.index);
        self.run(key, Call::Transfer(transfer), &transfer.address).await
    }

    async fn run(&self, key: CacheKey, call: Call<'_>, subject: &Address) -> RiskReport {
        let now = self.clock.now_ms();
        if let Some(mut hit) = self.cached(&key, now) {
            self.counters.cache_hits.fetch_add(1, Ordering::Relaxed);
            hit.cached = true;
            return hit;
        }
        if let Some(until) = self.open_until(now) {
            self.counters.short_circuited.fetch_add(1, Ordering::Relaxed);
            let wait = Duration::from_millis((until - now).max(0) as u64).as_secs();
            return RiskReport::failed(
                self.name().to_owned(),
                subject,
                format!("circuit open after repeated failures; the analyzer is tried again in {wait} s"),
            );
        }
        let started = Instant::now();
        let answer = match call {
            Call::Address(a) => tokio::time::timeout(self.settings.timeout, self.analyzer.screen_address(a)).await,
            Call::Transfer(t) => tokio::time::timeout(self.settings.timeout, self.analyzer.screen_transfer(t)).await,
        };
        let latency = started.elapsed().as_millis() as u64;
        let c = &self.counters;
        c.calls.fetch_add(1, Ordering::Relaxed);
        c.latency_ms_total.fetch_add(latency, Ordering::Relaxed);
        c.cost_micros_total.fetch_add(self.settings.cost_micros, Ordering::Relaxed);
        let mut report = answer.unwrap_or_else(|_| {
            c.timeouts.fetch_add(1, Ordering::Relaxed);
            RiskReport::failed(
                self.name().to_owned(),
                subject,
                format!("no answer within {} s", self.settings.timeout.as_secs_f64()),
            )
        });
        report.latency_ms = Some(latency);
        let now = self.clock.now_ms();
        match report.status {
            ReportStatus::Completed => {
                *self.breaker.lock().expect("breaker lock") = Breaker::default();
                self.remember(key, &report, now);
            }
            ReportStatus::Failed { .. } => {
                c.errors.fetch_add(1, Ordering::Relaxed);
                let mut b = self.breaker.lock().expect("breaker lock");
                b.consecutive_failures += 1;
                if b.consecutive_failures >= self.settings.breaker.failures {
                    b.open_until_ms = Some(now + self.settings.breaker.open_for.as_millis() as i64);
                    tracing::warn!(
                        analyzer = self.name(),
                        failures = b.consecutive_failures,
                        "analyzer circuit opened: calls fail closed until it recovers"
                    );
                }
            }
        }
        report
    }

    /// While open, the time it opens to one trial call; `None` when calls may go through.
    fn open_until(&self, now: i64) -> Option<i64> {
        let b = self.breaker.lock().expect("breaker lock");
        b.open_until_ms.filter(|&until| now < until)
    }

    fn cached(&self, key: &CacheKey, now: i64) -> Option<RiskReport> {
        if self.settings.cache_ttl.is_zero() {
            return None;
        }
        let cache = self.cache.lock().expect("cache lock");
        cache.get(key).filter(|(_, expires)| *expires > now).map(|(r, _)| r.clone())
    }

    fn remember(&self, key: CacheKey, report: &RiskReport, now: i64) {
        if self.settings.cache_ttl.is_zero() {
            return;
        }
        let mut cache = self.cache.lock().expect("cache lock");
        if cache.len() >= CACHE_CAPACITY {
            cache.retain(|_, (_, expires)| *expires > now);
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(key, (report.clone(), now + self.settings.cache_ttl.as_millis() as i64));
    }

    pub fn metrics(&self) -> AnalyzerMetrics {
        let c = &self.counters;
        AnalyzerMetrics {
            analyzer: self.name().to_owned(),
            calls: c.calls.load(Ordering::Relaxed),
            errors: c.errors.load(Ordering::Relaxed),
            timeouts: c.timeouts.load(Ordering::Relaxed),
            cache_hits: c.cache_hits.load(Ordering::Relaxed),
            short_circuited: c.short_circuited.load(Ordering::Relaxed),
            latency_ms_total: c.latency_ms_total.load(Ordering::Relaxed),
            cost_micros_total: c.cost_micros_total.load(Ordering::Relaxed),
            breaker_open: self.open_until(self.clock.now_ms()).is_some(),
        }
    }
}
