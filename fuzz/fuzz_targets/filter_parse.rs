//! Any text: the parser returns a filter or an error, never panics; an accepted filter prints
//! canonically and re-parses to the same tree; checking and evaluating it terminates.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim::filter::{self, Filter, FilterLimits};
use scim::schema::SchemaRegistry;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(parsed) = Filter::parse(text) else { return };
    let printed = parsed.to_string();
    // The length limit guards untrusted input; the canonical form may be a little longer.
    let generous = FilterLimits { max_len: 4 * filter::MAX_FILTER_LEN, ..FilterLimits::default() };
    let reparsed =
        Filter::parse_with_limits(&printed, generous).unwrap_or_else(|e| panic!("printed form refused: {printed:?}: {e}"));
    assert_eq!(reparsed, parsed, "round trip changed the tree: {printed:?}");

    let schema = SchemaRegistry::standard().resource_schema("User").expect("User");
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "1", "userName": "bjensen",
        "name": {"givenName": "B"}, "active": true, "emails": [{"value": "a@x", "type": "work", "primary": true}],
        "meta": {"lastModified": "2011-05-13T04:42:34Z"}
    });
    let user = user.as_object().expect("object");
    let _ = filter::check(&parsed, &schema);
    let _ = filter::matches(&parsed, user, &schema);
});
