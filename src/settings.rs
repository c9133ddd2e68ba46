//! The configuration in force: read from the `EINTRFIX_*` variables once,
//! by the constructor or lazily by the first interruption if a hook runs
//! earlier ([`Once`]). Reading it takes no lock, so it is safe in signal
//! handlers and forked children.

use crate::config::{self, Config};
use crate::once::Once;
use crate::trace;

static CONFIG: Once<Config<'static>> = Once::new();

/// The configuration in force, read from the `EINTRFIX_*` variables at the
/// first call. A bad variable is reported on stderr and makes the shim pass
/// everything through. While another caller reads it (a hook running
/// inside the reading, another thread), the defaults.
pub fn config() -> &'static Config<'static> {
    CONFIG
        .get_or_init(|| {
            config::from_environment().unwrap_or_else(|error| {
                trace::warning(&error);
                Config::PASSTHROUGH
            })
        })
        .unwrap_or(&Config::DEFAULT)
}
