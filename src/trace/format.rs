//! The two line formats, written into a [`Line`] without allocating.
//!
//! Text: `2026-11-23T09:30:01.123456Z  WARN eintrfix: read fd=3 signal=SIGALRM ...`
//! (timestamp, level, target, the function bare, then `key=value` pairs).
//! JSON: one flat object per line, `timestamp`, `level` and `target` first,
//! then every field at the top level.

use super::line::Line;
use crate::config::LogFormat;
use core::fmt::{self, Write};

/// A UTC wall-clock time, as `clock_gettime(CLOCK_REALTIME)` gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub secs: i64,
    /// Microseconds within the second.
    pub micros: u32,
}

impl Timestamp {
    /// Now. `clock_gettime` is async-signal-safe (and a vDSO call).
    pub fn now() -> Timestamp {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid timespec to write; this libc function is
        // not hooked.
        unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
        Timestamp {
            secs: ts.tv_sec,
            micros: u32::try_from(ts.tv_nsec / 1000).unwrap_or(0),
        }
    }
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // day is 1..=31 and month 1..=12 by construction.
    (year, day as u32, month as u32)
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with microseconds: `2026-11-23T09:30:01.123456Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, day, month) = civil_from_days(self.secs.div_euclid(86_400));
        let in_day = self.secs.rem_euclid(86_400);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
            in_day / 3600,
            in_day / 60 % 60,
            in_day % 60,
            self.micros
        )
    }
}

/// Writes characters into a JSON string body, escaped.
struct JsonEscaped<'a>(&'a mut Line);

impl fmt::Write for JsonEscaped<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for part in s.split_inclusive(|c: char| c == '"' || c == '\\' || c.is_control()) {
            let mut chars = part.chars();
            match chars.next_back() {
                Some(c @ ('"' | '\\')) => {
                    self.0.push(chars.as_str().as_bytes());
                    self.0.push(&[b'\\', c as u8]);
                }
                Some(c) if c.is_control() => {
                    self.0.push(chars.as_str().as_bytes());
                    let _ = write!(self.0, "\\u{:04x}", u32::from(c));
                }
                _ => self.0.push(part.as_bytes()),
            }
        }
        Ok(())
    }
}

/// Writes one record (an event or a summary row) in either format: the
/// fields arrive one at a time, in order.
pub struct Record<'a> {
    line: &'a mut Line,
    format: LogFormat,
}

impl<'a> Record<'a> {
    /// Starts a record: timestamp, level and target.
    pub fn start(
        line: &'a mut Line,
        format: LogFormat,
        at: Timestamp,
        level: &str,
        target: &str,
    ) -> Record<'a> {
        let _ = match format {
            LogFormat::Text => write!(line, "{at} {level:>5} {target}:"),
            LogFormat::Json => {
                let _ = write!(line, "{{\"timestamp\":\"{at}\",\"level\":\"");
                let _ = JsonEscaped(line).write_str(level);
                line.push(b"\",\"target\":\"");
                let _ = JsonEscaped(line).write_str(target);
                line.push(b"\"");
                Ok(())
            }
        };
        Record { line, format }
    }

    fn key(&mut self, name: &str) {
        match self.format {
            LogFormat::Text => {
                let _ = write!(self.line, " {name}=");
            }
            LogFormat::Json => {
                self.line.push(b",\"");
                let _ = JsonEscaped(self.line).write_str(name);
                self.line.push(b"\":");
            }
        }
    }

    /// A string field. In text, the `function` field is written bare (the
    /// line reads `eintrfix: read fd=3 ...`), and a value with spaces or
    /// quotes is quoted.
    pub fn str(&mut self, name: &str, value: &str) {
        if self.format == LogFormat::Text && name == "function" {
            let _ = write!(self.line, " {value}");
            return;
        }
        self.display(name, &value);
    }

    /// A number field.
    pub fn num(&mut self, name: &str, value: impl fmt::Display) {
        self.key(name);
        let _ = write!(self.line, "{value}");
    }

    /// A boolean field.
    pub fn bool(&mut self, name: &str, value: bool) {
        self.num(name, value);
    }

    /// Any other value, written as a string with its `Display` form.
    pub fn display(&mut self, name: &str, value: &dyn fmt::Display) {
        self.key(name);
        match self.format {
            LogFormat::Json => {
                self.line.push(b"\"");
                let _ = write!(JsonEscaped(self.line), "{value}");
                self.line.push(b"\"");
            }
            LogFormat::Text => {
                let start = self.line.len();
                let _ = write!(self.line, "{value}");
                let written = self.line.as_bytes().get(start..).unwrap_or_default();
                let plain = !written.is_empty()
                    && written
                        .iter()
                        .all(|&b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
                if !plain {
                    self.line.truncate(start);
                    self.line.push(b"\"");
                    let _ = write!(JsonEscaped(self.line), "{value}");
                    self.line.push(b"\"");
                }
            }
        }
    }

    /// Starts a nested object field (JSON), or a `name=` prefix (text).
    pub fn open_object(&mut self, name: &str) {
        self.key(name);
        if self.format == LogFormat::Json {
            self.line.push(b"{");
        }
    }

    /// One entry of a nested object: `"key":n` in JSON, `key=n` in text.
    pub fn object_entry(&mut self, first: bool, key: &dyn fmt::Display, value: u64) {
        match self.format {
            LogFormat::Json => {
                if !first {
                    self.line.push(b",");
                }
                self.line.push(b"\"");
                let _ = write!(JsonEscaped(self.line), "{key}");
                let _ = write!(self.line, "\":{value}");
            }
            LogFormat::Text => {
                if !first {
                    self.line.push(b",");
                }
                let _ = write!(self.line, "{key}={value}");
            }
        }
    }

    /// Ends a nested object.
    pub fn close_object(&mut self) {
        if self.format == LogFormat::Json {
            self.line.push(b"}");
        }
    }

    /// Ends the record. A JSON line cut at the length limit is not valid
    /// JSON; it cannot happen with the shim's own fields.
    pub fn finish(self) {
        if self.format == LogFormat::Json {
            self.line.push(b"}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(line: &Line) -> &str {
        core::str::from_utf8(line.as_bytes()).unwrap()
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let at = |secs, micros| Timestamp { secs, micros }.to_string();
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(at(951_782_400, 7), "2000-02-29T00:00:00.000007Z");
        assert_eq!(at(1_795_426_201, 123_456), "2026-11-23T09:30:01.123456Z");
        assert_eq!(at(-1, 999_999), "1969-12-31T23:59:59.999999Z");
    }

    #[test]
    fn text_and_json_records() {
        let at = Timestamp {
            secs: 1_795_426_201,
            micros: 5,
        };
        let mut line = Line::new();
        let mut r = Record::start(&mut line, LogFormat::Text, at, "WARN", "eintrfix");
        r.str("function", "read");
        r.num("fd", 3);
        r.str("reason", "log policy");
        r.finish();
        assert_eq!(
            text(&line),
            "2026-11-23T09:30:01.000005Z  WARN eintrfix: read fd=3 reason=\"log policy\""
        );
        let mut line = Line::new();
        let mut r = Record::start(&mut line, LogFormat::Json, at, "INFO", "eintrfix");
        r.str("function", "read");
        r.num("fd", -1);
        r.str("odd", "a\"b\\c\n");
        r.bool("summary", true);
        r.open_object("signals");
        r.object_entry(true, &"SIGALRM", 2);
        r.object_entry(false, &"unknown", 1);
        r.close_object();
        r.finish();
        assert_eq!(
            text(&line),
            "{\"timestamp\":\"2026-11-23T09:30:01.000005Z\",\"level\":\"INFO\",\
             \"target\":\"eintrfix\",\"function\":\"read\",\"fd\":-1,\
             \"odd\":\"a\\\"b\\\\c\\u000a\",\"summary\":true,\
             \"signals\":{\"SIGALRM\":2,\"unknown\":1}}"
        );
    }
}
