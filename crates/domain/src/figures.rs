//! The back-office overview's figures, computed from the cases' times: cases opened and closed
//! per day, the share closed by their deadline, and the median time to close.

/// A day in UTC, from midnight.
pub const DAY_MS: i64 = 86_400_000;

/// One case's times as the figures need them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseTimes {
    pub opened_at_ms: i64,
    pub due_at_ms: i64,
    /// When it was closed (by a decision taking effect or by an officer), if it is.
    pub closed_at_ms: Option<i64>,
}

/// Cases opened and closed on one UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayFlow {
    pub day_start_ms: i64,
    pub opened: i64,
    pub closed: i64,
}

/// How the cases closed within a window fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timeliness {
    /// Cases closed in the window.
    pub closed: i64,
    /// Of those, closed at or before their deadline.
    pub in_time: i64,
    /// The median time from opening to closing.
    pub median_ms: Option<i64>,
}

impl Timeliness {
    /// The share closed in time, in whole percent (none when nothing closed).
    pub fn percent_in_time(&self) -> Option<i64> {
        (self.closed > 0).then(|| (self.in_time * 100 + self.closed / 2) / self.closed)
    }
}

/// The first moment of the UTC day `days` days before the one holding `now_ms`.
pub fn window_start(now_ms: i64, days: i64) -> i64 {
    now_ms.div_euclid(DAY_MS) * DAY_MS - (days - 1) * DAY_MS
}

/// The last `days` UTC days up to the one holding `now_ms`, oldest first, each with the cases
/// opened and closed on it, from counts per day number (`ms / DAY_MS`); other days are left out.
pub fn daily_flow(opened: &[(i64, i64)], closed: &[(i64, i64)], now_ms: i64, days: i64) -> Vec<DayFlow> {
    let start = window_start(now_ms, days);
    let first = start / DAY_MS;
    let mut flow: Vec<DayFlow> =
        (0..days).map(|d| DayFlow { day_start_ms: start + d * DAY_MS, opened: 0, closed: 0 }).collect();
    let len = flow.len();
    let slot = |day: i64| usize::try_from(day - first).ok().filter(|i| *i < len);
    for &(day, n) in opened {
        if let Some(i) = slot(day) {
            flow[i].opened += n;
        }
    }
    for &(day, n) in closed {
        if let Some(i) = slot(day) {
            flow[i].closed += n;
        }
    }
    flow
}

/// Of the cases closed at or after `since_ms`: how many, how many by their deadline, and the
/// median time to close (the lower middle of an even count).
pub fn timeliness(cases: &[CaseTimes], since_ms: i64) -> Timeliness {
    let mut durations = Vec::new();
    let mut in_time = 0;
    for c in cases {
        let Some(closed) = c.closed_at_ms.filter(|&t| t >= since_ms) else { continue };
        durations.push((closed - c.opened_at_ms).max(0));
        if closed <= c.due_at_ms {
            in_time += 1;
        }
    }
    durations.sort_unstable();
    let median_ms = (!durations.is_empty()).then(|| durations[(durations.len() - 1) / 2]);
    Timeliness { closed: durations.len() as i64, in_time, median_ms }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;
    // 2026-12-07 15:00 UTC.
    const NOW: i64 = 1_796_655_600_000;

    fn case(opened: i64, due: i64, closed: Option<i64>) -> CaseTimes {
        CaseTimes { opened_at_ms: opened, due_at_ms: due, closed_at_ms: closed }
    }

    #[test]
    fn cases_fall_on_their_utc_days_and_older_ones_are_left_out() {
        let today = NOW.div_euclid(DAY_MS);
        let opened = [(today, 1), (today - 1, 1), (today - 2, 1), (today - 40, 5), (today + 1, 9)];
        let closed = [(today, 1), (today - 1, 1), (today - 39, 1)];
        let flow = daily_flow(&opened, &closed, NOW, 3);
        assert_eq!(flow.len(), 3);
        assert_eq!(flow[0].day_start_ms, (today - 2) * DAY_MS);
        let counts: Vec<(i64, i64)> = flow.iter().map(|d| (d.opened, d.closed)).collect();
        assert_eq!(counts, [(1, 0), (1, 1), (1, 1)]);
    }

    #[test]
    fn the_share_in_time_and_the_median_count_only_cases_closed_in_the_window() {
        let since = NOW - 30 * DAY_MS;
        let cases = [
            case(NOW - 10 * H, NOW, Some(NOW - 8 * H)),           // 2 h, in time
            case(NOW - 50 * H, NOW - 26 * H, Some(NOW - 20 * H)), // 30 h, late
            case(NOW - 9 * H, NOW, Some(NOW - 5 * H)),            // 4 h, in time
            case(NOW - 5 * H, NOW, None),                         // open
            case(since - 10 * H, since, Some(since - H)),         // closed before the window
        ];
        let t = timeliness(&cases, since);
        assert_eq!((t.closed, t.in_time), (3, 2));
        assert_eq!(t.median_ms, Some(4 * H));
        assert_eq!(t.percent_in_time(), Some(67));
        assert_eq!(timeliness(&[], since).percent_in_time(), None);
    }
}
