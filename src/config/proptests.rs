//! Property tests of every variable's parser: whatever a variable
//! holds, parsing never panics, and it either succeeds or fails naming that
//! variable, with a message that says the shim changes nothing.

use super::*;
use crate::signum::SignalName;
use proptest::prelude::*;

/// Words the grammar knows, and near misses, to build values from.
const TOKENS: &[&str] = &[
    "retry",
    "pass",
    "log",
    "RETRY",
    "Pass",
    "read",
    "write",
    "connect",
    "__read_chk",
    "nanosleep",
    "reed",
    "=",
    "==",
    ",",
    ",,",
    " ",
    "\t",
    "INT",
    "SIGTERM",
    "sig",
    "SIG",
    "RTMIN",
    "RTMAX",
    "rtmin+",
    "RTMAX-",
    "+",
    "-",
    "0",
    "1",
    "64",
    "65",
    "99",
    "4294967295",
    "4294967296",
    "18446744073709551616",
    "none",
    "off",
    "error",
    "warn",
    "info",
    "debug",
    "trace",
    "eintrfix",
    "eintrfix::policy",
    "a-b_c",
    "text",
    "json",
    "JSON",
    "xml",
    "yes",
    "no",
    "on",
    "true",
    "maybe",
    "%p",
    "/tmp/x.%p",
    "auto",
    "AUTO",
    "libruby.so.3.1",
    "libpython3.11.so.1.0",
    "/usr/lib/libtcl8.6.so",
    "lib/x.so",
    "/",
    "\u{e9}",
    "\u{0}",
    "\u{7f}",
];

/// A value: random bytes, or a sequence of grammar words.
fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..48),
        prop::collection::vec(prop::sample::select(TOKENS), 0..12)
            .prop_map(|words| words.concat().into_bytes()),
    ]
}

fn parse_only(variable: &str, value: &[u8]) -> Result<Config<'static>, ConfigError<'static>> {
    let value: &'static [u8] = Box::leak(value.to_vec().into_boxed_slice());
    let variable = variable.to_string();
    parse(move |name| (name == variable).then_some(value))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn one_variable_is_ok_or_an_error_naming_it(index in 0..VARIABLES.len(), value in value()) {
        let variable = VARIABLES[index];
        match parse_only(variable, &value) {
            Ok(config) => {
                prop_assert!(config.enabled);
                if value.is_empty() {
                    // an empty value is unset
                    prop_assert_eq!(config, Config::DEFAULT);
                } else if variable == LOG_FILE {
                    // a path is kept as it is
                    prop_assert_eq!(config, Config { log_file: Some(&value[..]), ..Config::DEFAULT });
                } else if value.trim_ascii().is_empty() {
                    prop_assert_eq!(config, Config::DEFAULT);
                }
            }
            Err(error) => {
                prop_assert_eq!(error.variable, variable);
                prop_assert!(!error.problem.is_empty() && !error.accepted.is_empty());
                let text = error.to_string();
                prop_assert!(text.starts_with("eintrfix: "), "{}", text);
                prop_assert!(text.contains(variable), "{}", text);
                prop_assert!(text.contains("every call passes through unchanged"), "{}", text);
                prop_assert!(!text.contains('\n'), "one line: {}", text);
            }
        }
    }

    #[test]
    fn all_variables_at_once_fail_on_one_of_them(values in prop::collection::vec(value(), VARIABLES.len())) {
        let values: Vec<&'static [u8]> = values
            .into_iter()
            .map(|v| &*Box::leak(v.into_boxed_slice()))
            .collect();
        let get = |name: &str| VARIABLES.iter().position(|&v| v == name).map(|i| values[i]);
        if let Err(error) = parse(get) {
            prop_assert!(VARIABLES.contains(&error.variable));
            prop_assert!(values.iter().any(|v| v.windows(error.bad.len().max(1)).any(|w| w == error.bad)
                || error.bad.is_empty()), "the bad part comes from a value");
        }
    }

    #[test]
    fn policy_items_set_what_they_name(
        default in prop::sample::select(&["", "retry", "pass", "log"][..]),
        named in prop::collection::btree_map(0..Function::COUNT, prop::sample::select(&["retry", "pass", "log"][..]), 0..6),
    ) {
        let mut items: Vec<String> = named
            .iter()
            .map(|(&i, p)| format!(" {}={p} ", Function::ALL[i].name()))
            .collect();
        if !default.is_empty() {
            items.push(default.to_string());
        }
        let value = items.join(",");
        let config = parse_only(POLICY, value.as_bytes());
        if value.trim().is_empty() {
            prop_assert_eq!(config, Ok(Config::DEFAULT));
        } else {
            let config = config.map_err(|e| e.to_string());
            prop_assert!(config.is_ok(), "{} gave {:?}", value, config);
            let config = config.unwrap();
            for (&i, p) in &named {
                prop_assert_eq!(config.policy(Function::ALL[i]).name(), *p);
            }
        }
    }

    #[test]
    fn numbers_parse_as_rust_does(digits in "[0-9]{1,12}") {
        prop_assert_eq!(parse_u32(digits.as_bytes()), digits.parse::<u32>().ok());
        let retries = parse_only(MAX_RETRIES, digits.as_bytes()).map(|c| c.max_retries);
        prop_assert_eq!(retries.ok().flatten(), digits.parse::<u32>().ok());
    }

    #[test]
    fn runtime_lists_name_what_they_list(
        names in prop::collection::vec("(/[a-z0-9._-]{1,12}){1,3}|[a-z0-9._+-]{1,16}", 1..6),
        auto in any::<bool>(),
    ) {
        let mut items = names.clone();
        if auto {
            items.insert(items.len() / 2, "auto".to_string());
        }
        let value = items.join(" , ");
        let parsed = parse_only(RUNTIMES, value.as_bytes()).map(|c| c.runtimes);
        let named: Vec<&str> = names.iter().map(String::as_str).filter(|n| !n.eq_ignore_ascii_case("auto") && !n.eq_ignore_ascii_case("none")).collect();
        if names.iter().any(|n| n.eq_ignore_ascii_case("none")) {
            prop_assert!(parsed.is_err() || value.trim().eq_ignore_ascii_case("none"));
        } else {
            prop_assert_eq!(parsed, Ok(Runtimes { auto: auto || names.iter().any(|n| n.eq_ignore_ascii_case("auto")), named: !named.is_empty() }));
            let listed: Vec<&[u8]> = runtime_names(value.as_bytes()).collect();
            let expected: Vec<&[u8]> = named.iter().map(|n| n.as_bytes()).collect();
            prop_assert_eq!(listed, expected);
        }
    }

    #[test]
    fn signal_lists_hold_what_they_list(signals in prop::collection::vec(1..=64i32, 1..8), by_name in any::<bool>()) {
        let items: Vec<String> = signals
            .iter()
            .map(|&s| if by_name { SignalName(s).to_string() } else { s.to_string() })
            .collect();
        let list = items.join(",");
        let set = parse_signals(list.as_bytes());
        prop_assert!(set.is_ok(), "{:?}", items);
        let set = set.unwrap();
        for &s in &signals {
            prop_assert!(set.contains(s));
        }
        prop_assert_eq!(set.bits().count_ones() as usize, {
            let mut unique = signals.clone();
            unique.sort_unstable();
            unique.dedup();
            unique.len()
        });
    }
}
