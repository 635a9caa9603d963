//! scim-bridge as a library: the one place that names the vendor crates. [`registry`] is the
//! set of connector kinds this build offers; the binary (`src/main.rs`) hands it to the
//! gateway, which names no vendor itself (docs/architecture.md).

use connector::Registry;

/// Every connector kind of this build: `directory` and one factory per vendor crate.
pub fn registry() -> Registry {
    Registry::default()
        .with(connector_mytimetable::factory())
        .with(connector_timeedit::factory())
        .with(connector_workspace365::provisioning_factory())
        .with(connector_workspace365::adsync_factory())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_vendor_kind_is_registered_with_its_settings_table() {
        let registry = super::registry();
        assert_eq!(
            registry.kinds().collect::<Vec<_>>(),
            [
                "directory",
                "mytimetable",
                "timeedit",
                "workspace365",
                "workspace365-adsync"
            ]
        );
        for kind in registry.kinds() {
            let table = registry.get(kind).and_then(|f| f.settings_table());
            // A kind's table is its name with `_` for `-`, so environment variables can name it.
            let expected = (kind != "directory").then(|| kind.replace('-', "_"));
            assert_eq!(table.map(str::to_owned), expected, "{kind}");
        }
    }
}
