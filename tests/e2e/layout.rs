//! The dependency direction of docs/architecture.md, checked on the manifests: only the root
//! package (the binary) names the vendor crates; the gateway, the shared connector crate, the
//! store and the SCIM core never do, not even for their tests; a vendor crate depends on
//! `connector` and `scim` of this workspace only, never on another vendor, the store, the
//! gateway or actix.

use std::collections::BTreeMap;
use std::path::Path;

/// Every dependency name of a manifest in the given sections (`dependencies`,
/// `dev-dependencies`, `build-dependencies`), target-specific ones too.
fn dependencies_in(manifest: &Path, sections: &[&str]) -> Vec<String> {
    let text = std::fs::read_to_string(manifest).expect("manifest");
    let table: toml::Table = toml::from_str(&text).expect("TOML");
    let mut names = Vec::new();
    let mut collect = |t: &toml::Table| {
        for section in sections {
            if let Some(deps) = t.get(*section).and_then(|d| d.as_table()) {
                names.extend(deps.keys().cloned());
            }
        }
    };
    collect(&table);
    if let Some(targets) = table.get("target").and_then(|t| t.as_table()) {
        for target in targets.values().filter_map(|t| t.as_table()) {
            collect(target);
        }
    }
    names
}

/// Every dependency name of a manifest, whatever its section.
fn dependencies(manifest: &Path) -> Vec<String> {
    dependencies_in(
        manifest,
        &["dependencies", "dev-dependencies", "build-dependencies"],
    )
}

/// The workspace's crates under `crates/`, by directory name.
fn crates() -> BTreeMap<String, Vec<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates");
    std::fs::read_dir(&root)
        .expect("crates/")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let deps = dependencies(&e.path().join("Cargo.toml"));
            (name, deps)
        })
        .collect()
}

fn is_vendor_crate(name: &str) -> bool {
    name.starts_with("connector-")
}

#[test]
fn only_the_binary_names_the_vendor_crates() {
    let crates = crates();
    let vendors: Vec<&String> = crates.keys().filter(|n| is_vendor_crate(n)).collect();
    assert!(
        vendors.len() >= 3,
        "the vendor crates are crates/connector-*: {vendors:?}"
    );
    for (name, deps) in &crates {
        if is_vendor_crate(name) {
            continue;
        }
        let named: Vec<&String> = deps.iter().filter(|d| is_vendor_crate(d)).collect();
        assert!(
            named.is_empty(),
            "crates/{name} depends on vendor crates {named:?}; only the root package may"
        );
    }
    let root = dependencies(&Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"));
    for vendor in vendors {
        assert!(root.contains(vendor), "the binary registers {vendor}");
    }
}

#[test]
fn a_vendor_crate_knows_its_vendor_and_the_scim_model_only() {
    let crates = crates();
    let workspace: Vec<&String> = crates.keys().collect();
    for (name, deps) in crates.iter().filter(|(n, _)| is_vendor_crate(n)) {
        for dep in deps {
            let forbidden = (workspace.contains(&dep)
                && !["connector", "scim", "vendor-sim"].contains(&dep.as_str()))
                || dep.starts_with("actix");
            assert!(!forbidden, "crates/{name} depends on {dep}");
        }
        // The simulators serve the tests only: a vendor crate's library never links them.
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("crates")
            .join(name)
            .join("Cargo.toml");
        let linked = dependencies_in(&manifest, &["dependencies", "build-dependencies"]);
        assert!(
            !linked.iter().any(|d| d == "vendor-sim"),
            "crates/{name} links vendor-sim outside its tests"
        );
    }
}
