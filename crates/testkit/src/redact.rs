//! insta settings shared by snapshot tests: ids, times and request ids are replaced by
//! placeholders so snapshots show shapes and stable values only.

use insta::Settings;

/// Settings with redactions for every field that differs from run to run.
#[must_use]
pub fn settings() -> Settings {
    let mut settings = Settings::clone_current();
    settings.set_sort_maps(true);
    settings.add_redaction(".requestId", "[request-id]");
    settings.add_redaction(".**.id", "[id]");
    settings.add_redaction(".**.productId", "[id]");
    settings.add_redaction(".**.createdAt", "[time]");
    settings
}
