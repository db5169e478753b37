//! Settings for a test's own dependencies.

use app::settings::Settings;

/// The settings of an empty environment: what a test's own store, SDK client or `Deps` are built
/// with (only a composition root reads the real environment).
pub fn settings() -> Settings {
    settings_with(&[])
}

/// The settings of an environment of only `vars`.
pub fn settings_with(vars: &[(&str, &str)]) -> Settings {
    Settings::from_lookup(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string()))
}
