//! The `scim-bridge` binary: `check-config` names every mistake, `token` mints a token whose
//! printed hash authenticates it.

use std::process::Command;

fn bridge(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_scim-bridge"))
        .args(args)
        .env_remove("SCIM_BRIDGE_CONFIG")
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_config_accepts_the_example_and_names_each_mistake() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/directory.toml");
    let (code, stdout, stderr) = bridge(&["check-config", "--config", example]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("ok (1 connector(s): directory)"),
        "{stdout}"
    );

    let broken =
        std::env::temp_dir().join(format!("scim-bridge-broken-{}.toml", std::process::id()));
    std::fs::write(&broken, "[server]\nlisten = \"127.0.0.1:1\"\nlistne = 2\n").expect("write");
    let (code, _, stderr) = bridge(&["check-config", "--config", broken.to_str().expect("path")]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("server.listne") && stderr.contains("fix:"),
        "{stderr}"
    );

    std::fs::write(
        &broken,
        "[store]\nurl = \"mysql://x\"\n[connectors.hr]\nkind = \"ldap\"\n",
    )
    .expect("write");
    let (code, _, stderr) = bridge(&["check-config", "--config", broken.to_str().expect("path")]);
    assert_eq!(code, 2);
    for key in ["connectors.hr.kind", "connectors.hr.auth", "store.url"] {
        assert!(stderr.contains(key), "{key} missing from: {stderr}");
    }
    let _ = std::fs::remove_file(&broken);
    let (code, _, stderr) = bridge(&["check-config", "--config", "/nonexistent.toml"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("does not exist"), "{stderr}");
}

#[test]
fn token_prints_a_token_and_its_hash() {
    let (code, stdout, _) = bridge(&["token"]);
    assert_eq!(code, 0);
    let token = stdout
        .lines()
        .find_map(|l| l.strip_prefix("token: "))
        .expect("token line");
    let hash_line = stdout
        .lines()
        .find(|l| l.starts_with("bearer_token_hashes"))
        .expect("hash line");
    assert!(
        hash_line.contains(&gateway::auth::token::hash(token)),
        "{stdout}"
    );
    let (code, stdout, _) = bridge(&["--help"]);
    assert_eq!(code, 0);
    for command in ["serve", "check-config", "token"] {
        assert!(stdout.contains(command), "{stdout}");
    }
}
