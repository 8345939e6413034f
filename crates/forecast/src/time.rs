//! The time column: formats it may have, its regular step (frequency), gaps and future times.

use serde::{Deserialize, Serialize};

/// How a time column is written (set by its first cell; every cell must agree).
///
/// ```
/// use rnnlab_forecast::TimeFormat;
/// assert_eq!(TimeFormat::detect("2024-03-01"), Some(TimeFormat::Date));
/// assert_eq!(TimeFormat::detect("20240301"), Some(TimeFormat::CompactDate));
/// assert_eq!(TimeFormat::detect("1958-03"), Some(TimeFormat::Month));
/// assert_eq!(TimeFormat::detect("1958.2027"), Some(TimeFormat::Number));
/// assert_eq!(TimeFormat::Date.parse("2024-02-30"), None);   // no such day
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeFormat {
    /// No time column: the row position (0, 1, 2, …).
    Row,
    /// Plain numbers (years, decimal years, seconds, indices).
    Number,
    /// `YYYY-MM` (a month; also `YYYY/MM`).
    Month,
    /// `YYYY-MM-DD` (also `YYYY/MM/DD`).
    Date,
    /// `YYYY-MM-DDTHH:MM[:SS[.fff]]` with `T` or a space, optionally ending in `Z` or a UTC
    /// offset (`+02:00`, `-0500`); kept in UTC and written back in UTC.
    DateTime,
    /// `YYYYMMDD` integers.
    CompactDate,
    /// A month by name with a four-digit year and maybe a day, in any order and with `-`, `/`,
    /// spaces or commas between: `Jan-1-1995`, `January 1, 1995`, `01-Jan-2020`, `Jan 1949`,
    /// `1949-Jan` (written back as ISO dates).
    MonthName,
    /// A quarter: `1959Q1`, `1959-Q1`, `1959 Q1`, `Q1 1959` (its first day).
    Quarter,
}

impl TimeFormat {
    /// The format of one cell: the first of compact date, date, datetime, month and number
    /// that parses it.
    pub fn detect(cell: &str) -> Option<TimeFormat> {
        [
            TimeFormat::CompactDate,
            TimeFormat::Date,
            TimeFormat::DateTime,
            TimeFormat::Month,
            TimeFormat::Quarter,
            TimeFormat::MonthName,
            TimeFormat::Number,
        ]
        .into_iter()
        .find(|f| f.parse(cell).is_some())
    }

    /// Parses a cell: seconds since 1970-01-01 for dates, the number itself for numbers.
    pub fn parse(self, cell: &str) -> Option<f64> {
        let s = cell.trim();
        match self {
            TimeFormat::Row => None,
            TimeFormat::Number => s.parse::<f64>().ok().filter(|v| v.is_finite()),
            TimeFormat::CompactDate => {
                if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let (y, m, d) = (num(&s[0..4])?, num(&s[4..6])?, num(&s[6..8])?);
                date_seconds(y, m, d)
            }
            TimeFormat::Month => {
                let (y, m) = split2(s)?;
                if y.len() != 4 || m.len() != 2 {
                    return None;
                }
                date_seconds(num(y)?, num(m)?, 1)
            }
            TimeFormat::Date => parse_date(s),
            TimeFormat::MonthName => parse_month_name(s),
            TimeFormat::Quarter => parse_quarter(s),
            TimeFormat::DateTime => {
                let (date, clock) = s.split_once(['T', ' '])?;
                let day = parse_date(date)?;
                let (clock, offset) = split_offset(clock)?;
                let mut parts = clock.split(':');
                let h = num(parts.next()?)?;
                let mi = num(parts.next()?)?;
                let sec: f64 = match parts.next() {
                    Some(p) => p.parse().ok().filter(|v: &f64| (0.0..61.0).contains(v))?,
                    None => 0.0,
                };
                if parts.next().is_some() || h > 23 || mi > 59 {
                    return None;
                }
                Some(day + f64::from(h * 3600 + mi * 60) + sec - offset)
            }
        }
    }

    /// Writes a time back in this format.
    pub fn format(self, t: f64) -> String {
        match self {
            TimeFormat::Row => format!("{}", t.round() as i64),
            TimeFormat::Number => format_number(t),
            TimeFormat::Month => {
                let (y, m, _) = civil(t);
                format!("{y:04}-{m:02}")
            }
            TimeFormat::Date | TimeFormat::MonthName => {
                let (y, m, d) = civil(t);
                format!("{y:04}-{m:02}-{d:02}")
            }
            TimeFormat::Quarter => {
                let (y, m, _) = civil(t);
                format!("{y:04}Q{}", (m - 1) / 3 + 1)
            }
            TimeFormat::CompactDate => {
                let (y, m, d) = civil(t);
                format!("{y:04}{m:02}{d:02}")
            }
            TimeFormat::DateTime => {
                let (y, m, d) = civil(t);
                let secs = t.rem_euclid(86_400.0).round() as i64;
                format!(
                    "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
                    secs / 3600,
                    secs / 60 % 60,
                    secs % 60
                )
            }
        }
    }

    /// True for the calendar formats (times are seconds since 1970).
    pub fn is_calendar(self) -> bool {
        !matches!(self, TimeFormat::Row | TimeFormat::Number)
    }

    /// What the format is called in messages.
    pub fn describe(self) -> &'static str {
        match self {
            TimeFormat::Row => "a row position",
            TimeFormat::Number => "a number",
            TimeFormat::Month => "a YYYY-MM month",
            TimeFormat::Date => "a YYYY-MM-DD date",
            TimeFormat::DateTime => "a YYYY-MM-DDTHH:MM:SS datetime",
            TimeFormat::CompactDate => "a YYYYMMDD date",
            TimeFormat::MonthName => "a date with the month by name (Jan-1-1995, Jan 1949)",
            TimeFormat::Quarter => "a quarter (1959Q1)",
        }
    }
}

/// A clock without its UTC offset (`Z`, `+HH:MM`, `-HHMM`), and the offset in seconds.
fn split_offset(clock: &str) -> Option<(&str, f64)> {
    if let Some(c) = clock.strip_suffix('Z') {
        return Some((c, 0.0));
    }
    let Some(at) = clock.rfind(['+', '-']) else {
        return Some((clock, 0.0));
    };
    let (c, off) = (&clock[..at], &clock[at + 1..]);
    let (h, m) = match off.split_once(':') {
        Some((h, m)) => (h, m),
        None if off.len() == 4 => off.split_at(2),
        None => (off, "0"),
    };
    let (h, m) = (num(h)?, num(m)?);
    if h > 23 || m > 59 {
        return None;
    }
    let sign = if clock.as_bytes()[at] == b'-' { -1.0 } else { 1.0 };
    Some((c, sign * f64::from(h * 3600 + m * 60)))
}

fn num(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.len() > 4 {
        return None;
    }
    s.parse().ok()
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// 1–12 for a month name or its first three or more letters (`Jan`, `Sept`), in any case.
fn month_by_name(word: &str) -> Option<u32> {
    let w = word.trim_end_matches('.').to_ascii_lowercase();
    if w.len() < 3 {
        return None;
    }
    MONTHS.iter().position(|m| m.starts_with(&w)).map(|i| i as u32 + 1)
}

fn parse_month_name(s: &str) -> Option<f64> {
    let parts: Vec<&str> = s.split(['-', '/', ' ', ',']).filter(|p| !p.is_empty()).collect();
    let (mut month, mut year, mut day) = (None, None, None);
    for p in &parts {
        if let Some(m) = month_by_name(p) {
            if month.replace(m).is_some() {
                return None; // two month names
            }
        } else if p.len() == 4 && year.is_none() {
            year = Some(num(p)?);
        } else if p.len() <= 2 && day.is_none() {
            day = Some(num(p)?);
        } else {
            return None;
        }
    }
    date_seconds(year?, month?, day.unwrap_or(1))
}

fn parse_quarter(s: &str) -> Option<f64> {
    let compact: String = s
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect::<String>()
        .to_ascii_uppercase();
    let (year, q) = match compact.split_once('Q') {
        Some((y, q)) if y.len() == 4 => (y, q),
        Some(("", rest)) if rest.len() == 5 => (&rest[1..], &rest[..1]),
        _ => return None,
    };
    let q = num(q).filter(|q| (1..=4).contains(q))?;
    date_seconds(num(year)?, 3 * q - 2, 1)
}

fn split2(s: &str) -> Option<(&str, &str)> {
    s.split_once('-').or_else(|| s.split_once('/'))
}

fn parse_date(s: &str) -> Option<f64> {
    let sep = if s.contains('-') { '-' } else { '/' };
    let mut parts = s.split(sep);
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    date_seconds(num(y)?, num(m)?, num(d)?)
}

/// Seconds since 1970-01-01 of a valid proleptic Gregorian date.
fn date_seconds(y: u32, m: u32, d: u32) -> Option<f64> {
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(i64::from(y), m, d) as f64 * 86_400.0)
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 (the standard era-based conversion).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of a time in seconds since 1970.
fn civil(t: f64) -> (i64, u32, u32) {
    let z = (t / 86_400.0).floor() as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn month_index(t: f64) -> i64 {
    let (y, m, _) = civil(t);
    y * 12 + i64::from(m) - 1
}

fn add_months(t: f64, months: i64) -> f64 {
    let (y, m, d) = civil(t);
    let clock = t.rem_euclid(86_400.0);
    let idx = y * 12 + i64::from(m) - 1 + months;
    let (ny, nm) = (idx.div_euclid(12), (idx.rem_euclid(12) + 1) as u32);
    let nd = d.min(days_in_month(ny.clamp(0, 9999) as u32, nm));
    days_from_civil(ny, nm, nd) as f64 * 86_400.0 + clock
}

/// Numbers printed with at most 10 significant decimals, so that `1958.0 + 1/12` steps print cleanly.
fn format_number(t: f64) -> String {
    let rounded = (t * 1e10).round() / 1e10;
    if rounded == rounded.trunc() && rounded.abs() < 1e15 {
        format!("{}", rounded as i64)
    } else {
        format!("{rounded}")
    }
}

/// The regular step of a time axis.
///
/// ```
/// use rnnlab_forecast::{Frequency, TimeFormat};
/// let days: Vec<f64> = ["2024-01-01", "2024-01-02", "2024-01-04"]
///     .iter().map(|s| TimeFormat::Date.parse(s).unwrap()).collect();
/// let f = Frequency::infer(TimeFormat::Date, &days);
/// assert_eq!(f, Frequency::Seconds(86_400.0));
/// assert_eq!(f.describe(), "daily");
/// assert_eq!(f.steps_between(days[1], days[2]), Some(2));        // one day absent
/// assert_eq!(TimeFormat::Date.format(f.advance(days[2], 1)), "2024-01-05");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "unit", content = "step", rename_all = "kebab-case")]
pub enum Frequency {
    /// No time column: one row per step.
    Rows,
    /// Calendar months (1 monthly, 3 quarterly, 12 yearly), keeping the day of the month.
    Months(u32),
    /// A fixed number of seconds (dates and datetimes).
    Seconds(f64),
    /// A fixed difference of plain numbers.
    Step(f64),
}

impl Frequency {
    /// The most common positive step between consecutive `times` (the smallest on a tie); month
    /// steps when every time falls on the first time's day of the month and clock.
    pub fn infer(format: TimeFormat, times: &[f64]) -> Frequency {
        if format == TimeFormat::Row || times.len() < 2 {
            return match format {
                TimeFormat::Row => Frequency::Rows,
                TimeFormat::Number => Frequency::Step(1.0),
                _ => Frequency::Seconds(86_400.0),
            };
        }
        if format.is_calendar() {
            let first = times[0];
            let (_, _, day) = civil(first);
            let clock = first.rem_euclid(86_400.0);
            let same_day = times
                .iter()
                .all(|&t| civil(t).2 == day && t.rem_euclid(86_400.0) == clock);
            if format == TimeFormat::Month || same_day {
                let diffs: Vec<f64> = times
                    .windows(2)
                    .map(|w| (month_index(w[1]) - month_index(w[0])) as f64)
                    .collect();
                if let Some(step) = mode(&diffs) {
                    return Frequency::Months(step as u32);
                }
            }
            let diffs: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
            return Frequency::Seconds(mode(&diffs).unwrap_or(86_400.0));
        }
        let diffs: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
        Frequency::Step(mode(&diffs).unwrap_or(1.0))
    }

    /// How many steps lead from `a` to `b`: `Some(k)` for a whole number `k` (rounding errors of
    /// decimal times forgiven), `None` otherwise.
    pub fn steps_between(self, a: f64, b: f64) -> Option<u64> {
        let ratio = match self {
            Frequency::Rows => b - a,
            Frequency::Months(k) => {
                if self.advance(a, ((month_index(b) - month_index(a)) / i64::from(k)) as u64) != b {
                    return None;
                }
                (month_index(b) - month_index(a)) as f64 / f64::from(k)
            }
            Frequency::Seconds(s) | Frequency::Step(s) => (b - a) / s,
        };
        let k = ratio.round();
        ((ratio - k).abs() < 1e-6 && k >= 1.0).then_some(k as u64)
    }

    /// The time `k` steps after `t`.
    pub fn advance(self, t: f64, k: u64) -> f64 {
        match self {
            Frequency::Rows => t + k as f64,
            Frequency::Months(m) => add_months(t, i64::from(m) * k as i64),
            Frequency::Seconds(s) | Frequency::Step(s) => t + s * k as f64,
        }
    }

    /// `daily`, `weekly`, `monthly`, … or the step itself.
    pub fn describe(self) -> String {
        match self {
            Frequency::Rows => "one row per step (no time column)".into(),
            Frequency::Months(1) => "monthly".into(),
            Frequency::Months(3) => "quarterly".into(),
            Frequency::Months(12) => "yearly".into(),
            Frequency::Months(k) => format!("every {k} months"),
            Frequency::Seconds(s) => match s as i64 {
                60 => "minutely".into(),
                3600 => "hourly".into(),
                86_400 => "daily".into(),
                604_800 => "weekly".into(),
                s if s % 86_400 == 0 => format!("every {} days", s / 86_400),
                s if s % 3600 == 0 => format!("every {} hours", s / 3600),
                s if s % 60 == 0 => format!("every {} minutes", s / 60),
                s => format!("every {s} seconds"),
            },
            Frequency::Step(s) => format!("step {}", format_number(s)),
        }
    }

    /// The season a calendar step suggests: 12 for monthly, 4 quarterly, 52 weekly, 7 daily,
    /// 24 hourly, one day of steps below an hour; `None` otherwise.
    pub fn calendar_season(self) -> Option<usize> {
        match self {
            Frequency::Months(1) => Some(12),
            Frequency::Months(3) => Some(4),
            Frequency::Seconds(s) => match s as i64 {
                604_800 => Some(52),
                86_400 => Some(7),
                3600 => Some(24),
                s if s > 0 && s < 3600 && 86_400 % s == 0 => Some((86_400 / s) as usize),
                _ => None,
            },
            _ => None,
        }
    }
}

/// The most common positive value (smallest on a tie), values within 1e-9 relative counting as one.
fn mode(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| *v > 0.0 && v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let mut best: Option<(usize, f64)> = None;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j < sorted.len() && sorted[j] - sorted[i] <= 1e-9 * sorted[i] {
            j += 1;
        }
        if best.is_none_or(|(n, _)| j - i > n) {
            best = Some((j - i, sorted[i]));
        }
        i = j;
    }
    best.map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trips() {
        for s in ["1970-01-01", "2000-02-29", "1958-03-29", "2024-12-31", "1900-03-01"] {
            let t = TimeFormat::Date.parse(s).unwrap();
            assert_eq!(TimeFormat::Date.format(t), s);
        }
        assert_eq!(TimeFormat::Date.parse("1970-01-02"), Some(86_400.0));
        let t = TimeFormat::DateTime.parse("2024-05-06 07:08:09").unwrap();
        assert_eq!(TimeFormat::DateTime.format(t), "2024-05-06T07:08:09");
        assert_eq!(TimeFormat::detect("2024-05-06T07:08Z"), Some(TimeFormat::DateTime));
        let utc = TimeFormat::DateTime.parse("2016-07-01 02:00:00+02:00").unwrap();
        assert_eq!(TimeFormat::DateTime.format(utc), "2016-07-01T00:00:00");
        assert_eq!(
            TimeFormat::DateTime.parse("2016-07-01T00:00:00.5-0130"),
            Some(utc + 5400.5)
        );
        assert_eq!(TimeFormat::detect("abc"), None);
        assert_eq!(TimeFormat::CompactDate.parse("20241301"), None);
        let jan2020 = TimeFormat::Date.parse("2020-01-07").unwrap();
        for cell in [
            "Jan-7-2020",
            "January 7, 2020",
            "07-Jan-2020",
            "7 jan 2020",
            "2020/Jan/07",
        ] {
            assert_eq!(TimeFormat::detect(cell), Some(TimeFormat::MonthName), "{cell}");
            assert_eq!(TimeFormat::MonthName.parse(cell), Some(jan2020), "{cell}");
        }
        assert_eq!(
            TimeFormat::MonthName.format(TimeFormat::MonthName.parse("Feb 1949").unwrap()),
            "1949-02-01"
        );
        assert_eq!(TimeFormat::MonthName.parse("Jan Feb 1949"), None);
        assert_eq!(TimeFormat::MonthName.parse("Ja 1949"), None);
        for cell in ["1959Q3", "1959-Q3", "1959 q3", "Q3 1959"] {
            assert_eq!(TimeFormat::detect(cell), Some(TimeFormat::Quarter), "{cell}");
            assert_eq!(
                TimeFormat::Quarter.format(TimeFormat::Quarter.parse(cell).unwrap()),
                "1959Q3"
            );
        }
        assert_eq!(TimeFormat::Quarter.parse("1959Q5"), None);
    }

    #[test]
    fn months_keep_the_day_and_steps_count() {
        let jan = TimeFormat::Month.parse("1958-01").unwrap();
        let times: Vec<f64> = (0..5).map(|k| add_months(jan, k)).collect();
        let f = Frequency::infer(TimeFormat::Month, &times);
        assert_eq!(f, Frequency::Months(1));
        assert_eq!(TimeFormat::Month.format(f.advance(times[4], 10)), "1959-03");
        assert_eq!(f.steps_between(times[0], times[3]), Some(3));
        let q = Frequency::Months(3);
        assert_eq!(q.steps_between(times[0], times[1]), None);
        let end = TimeFormat::Date.parse("2024-01-31").unwrap();
        assert_eq!(TimeFormat::Date.format(add_months(end, 1)), "2024-02-29");
    }

    #[test]
    fn decimal_years_are_regular() {
        let times: Vec<f64> = (0..24).map(|k| 1958.0 + f64::from(k) / 12.0).collect();
        let f = Frequency::infer(TimeFormat::Number, &times);
        assert!(matches!(f, Frequency::Step(s) if (s - 1.0 / 12.0).abs() < 1e-12));
        assert_eq!(f.steps_between(times[0], times[5]), Some(5));
        assert_eq!(f.steps_between(times[0], 1958.05), None);
    }
}
