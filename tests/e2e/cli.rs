//! The `scim-bridge` binary: `check-config` names every mistake, `token` mints a token whose
//! printed hash authenticates it, `demo` provisions into its simulators, `reconcile` prints
//! drift and imports.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

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
    for command in [
        "serve",
        "demo",
        "reconcile",
        "check-config",
        "token",
        "mapping",
    ] {
        assert!(stdout.contains(command), "{stdout}");
    }
}

#[test]
fn check_config_knows_the_vendor_kinds() {
    for example in [
        "mytimetable",
        "timeedit",
        "timeedit-university",
        "workspace365",
        "workspace365-adsync",
        "postgres-jwt",
    ] {
        let path = format!("{}/examples/{example}.toml", env!("CARGO_MANIFEST_DIR"));
        let (code, stdout, stderr) = bridge(&["check-config", "--config", &path]);
        assert_eq!(code, 0, "{example}: {stdout}{stderr}");
    }
    let broken = std::env::temp_dir().join(format!(
        "scim-bridge-mtt-broken-{}.toml",
        std::process::id()
    ));
    let hash = "sha256:3690a4a2ed3b26b46a696e9ab873a300d9da3ae56bc84352e2bf724885c91dfd";
    std::fs::write(
        &broken,
        format!(
            "[connectors.a]\nkind = \"mytimetable\"\nauth.bearer_token_hashes = [\"{hash}\"]\n\
             [connectors.b]\nkind = \"mytimetable\"\nauth.bearer_token_hashes = [\"{hash}\"]\n\
             [connectors.b.mytimetable]\nbase_url = \"mytimetable.example.edu\"\nunlink_mode = \"UNLINK_ONLY\"\n"
        ),
    )
    .expect("write");
    let (code, _, stderr) = bridge(&["check-config", "--config", broken.to_str().expect("path")]);
    assert_eq!(code, 2, "{stderr}");
    for key in [
        "connectors.a.mytimetable:",
        "connectors.b.mytimetable.base_url",
        "connectors.b.mytimetable.api_token",
    ] {
        assert!(stderr.contains(key), "{key} missing from: {stderr}");
    }
    let _ = std::fs::remove_file(&broken);
}

/// A TimeEdit connector whose vendor table ends with `extra` (its mapping), in a temporary
/// configuration file on a temporary SQLite store.
fn timeedit_config(name: &str, extra: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("scim-bridge-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let hash = "sha256:3690a4a2ed3b26b46a696e9ab873a300d9da3ae56bc84352e2bf724885c91dfd";
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[store]\nurl = \"sqlite://{}\"\n[connectors.te]\nkind = \"timeedit\"\n\
             auth.bearer_token_hashes = [\"{hash}\"]\n[connectors.te.timeedit]\n\
             endpoint = \"http://127.0.0.1:9/soap/3/x\"\nusername = \"api\"\npassword = \"p\"\n\
             certificate = \"c\"\n{extra}\n",
            dir.join("store.db").display()
        ),
    )
    .expect("write");
    path
}

#[test]
fn check_config_names_every_mapping_mistake() {
    let path = timeedit_config(
        "mapping-broken",
        r#"[connectors.te.timeedit.mapping.user]
loginname = { from = "userName", transform = [{ before = "@" }, "lowercase"] }
firstname = "name.givnName"
emial = "emails.value"
allowlogin = false
description = { from = "title", transform = [{ replace = "(unclosed" }] }
[connectors.te.timeedit.mapping.group]
organization = { form = "displayName" }"#,
    );
    let (code, _, stderr) = bridge(&["check-config", "--config", path.to_str().expect("path")]);
    assert_eq!(code, 2, "{stderr}");
    for (key, says) in [
        (
            "connectors.te.timeedit.mapping.user.loginname.transform[1]",
            "not a transform",
        ),
        (
            "connectors.te.timeedit.mapping.user.firstname",
            "not an attribute of User",
        ),
        ("connectors.te.timeedit.mapping.user.emial", "no user field"),
        (
            "connectors.te.timeedit.mapping.user.allowlogin",
            "cannot be left out",
        ),
        (
            "connectors.te.timeedit.mapping.user.description.transform[0].replace",
            "not a regular expression",
        ),
        (
            "connectors.te.timeedit.mapping.group.organization.form",
            "not a key of a mapping rule",
        ),
    ] {
        let line = stderr
            .lines()
            .position(|l| l.trim_start().starts_with(&format!("{key}:")));
        let Some(line) = line else {
            panic!("{key} missing from:\n{stderr}")
        };
        let text: String = stderr
            .lines()
            .skip(line)
            .take(2)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            text.contains(says) && text.contains("fix:"),
            "{key}: {text}"
        );
    }
    let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
}

#[test]
fn mapping_preview_shows_each_field_and_call_without_calling_the_vendor() {
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/timeedit-university.toml"
    );
    let text = std::fs::read_to_string(example).expect("example");
    let mapping = &text[text.find("organizations =").expect("the example's policy")..];
    let path = timeedit_config(
        "preview",
        mapping
            .replace("connectors.timetable", "connectors.te")
            .as_str(),
    );
    let dir = path.parent().expect("dir").to_owned();
    let user = dir.join("user.json");
    std::fs::write(
        &user,
        r#"{"userName": "Jane.Doe@uni.example.edu", "name": {"givenName": "Jane"},
            "emails": [{"value": "jd@home.example", "primary": true}, {"value": "jane.doe@uni.example.edu", "type": "work"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Teacher Education"}}"#,
    )
    .expect("write");
    let config = path.to_str().expect("path");
    let args = [
        "mapping",
        "preview",
        "--config",
        config,
        "--connector",
        "te",
    ];
    let (code, stdout, stderr) = bridge(&[&args[..], &[user.to_str().expect("file")]].concat());
    assert_eq!(code, 0, "{stdout}{stderr}");
    for shown in [
        "mapping.user.loginname = { from = \"userName\", transform = [{ before = \"@\" }, \"lower\"] }",
        "-> \"jane.doe\"",
        "-> \"jane.doe@uni.example.edu\"",
        "-> \"all_teachers\"",
        "1. validateUsers",
        "2. importUsers",
        "<loginname>jane.doe</loginname>",
        "<standardorganization>all_teachers</standardorganization>",
    ] {
        assert!(stdout.contains(shown), "{shown} missing from:\n{stdout}");
    }
    let group = dir.join("group.json");
    std::fs::write(&group, r#"{"displayName": "Students"}"#).expect("write");
    let (code, stdout, _) = bridge(
        &[
            &args[..],
            &["--kind", "group", "--json", group.to_str().expect("file")],
        ]
        .concat(),
    );
    assert_eq!(code, 3, "a write would be refused: {stdout}");
    let shown: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(shown["refused"]["status"], "400");
    assert!(
        shown["refused"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("mapping.group.organization")),
        "{shown}"
    );
    assert_eq!(shown["fields"][0]["key"], "mapping.group.organization");
    let (code, _, stderr) = bridge(&[&args[..], &["--name", "nobody"]].concat());
    assert_eq!(code, 2);
    assert!(stderr.contains("no User named \"nobody\""), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A child process that is sent SIGTERM when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

#[test]
fn demo_provisions_into_its_simulated_mytimetable() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_scim-bridge"))
            .args(["demo", "--listen", "127.0.0.1:0", "--sim-port", "0"])
            .env_remove("SCIM_BRIDGE_CONFIG")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("starts"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        let last = line.starts_with("try:");
        lines.push(line);
        if last {
            break;
        }
    }
    let after = |prefix: &str, skip: usize| -> String {
        lines
            .iter()
            .skip(skip)
            .find_map(|l| l.trim().strip_prefix(prefix))
            .map(|s| s.split_whitespace().next().unwrap_or_default().to_owned())
            .unwrap_or_else(|| panic!("no {prefix} in {lines:#?}"))
    };
    let mtt_at = lines
        .iter()
        .position(|l| l.starts_with("connector mytimetable"))
        .expect("the mytimetable connector is listed");
    let base = after("SCIM base URL:", mtt_at);
    let token = after("bearer token:", mtt_at);
    let vendor = after("simulated MyTimetable at", 0);
    let console = after("console and admin API:", 0);
    let admin = after("admin token:", 0);
    let others: Vec<(String, String)> = ["timeedit", "workspace365", "workspace365-adsync"]
        .iter()
        .map(|name| {
            let at = lines
                .iter()
                .position(|l| l.starts_with(&format!("connector {name} ")))
                .unwrap_or_else(|| panic!("connector {name} is listed: {lines:#?}"));
            (after("SCIM base URL:", at), after("bearer token:", at))
        })
        .collect();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let created = http
            .post(format!("{base}/Users"))
            .bearer_auth(&token)
            .header("content-type", "application/scim+json")
            .body(r#"{"userName":"alice@example.edu","emails":[{"value":"alice@example.edu","primary":true}]}"#)
            .send()
            .await
            .expect("gateway");
        assert_eq!(created.status().as_u16(), 201);
        let users: serde_json::Value = http
            .get(format!("{vendor}/api/v0/users"))
            .header("apiToken", vendor_sim::mytimetable::DEMO_ADMIN_TOKEN)
            .send()
            .await
            .expect("simulator")
            .json()
            .await
            .expect("json");
        assert_eq!(users, serde_json::json!({"users": ["alice@example.edu"]}));
        for (base, token) in &others {
            let created = http
                .post(format!("{base}/Users"))
                .bearer_auth(token)
                .header("content-type", "application/scim+json")
                .body(r#"{"userName":"bob@example.edu","name":{"givenName":"Bob","familyName":"Berg"},"emails":[{"value":"bob@example.edu","primary":true}]}"#)
                .send()
                .await
                .expect("gateway");
            assert_eq!(created.status().as_u16(), 201, "{base}");
        }
        // The console is on, and the printed admin token opens the admin API.
        let page = http.get(&console).send().await.expect("console");
        assert_eq!(page.status().as_u16(), 200, "{console}");
        let status = http
            .get(format!("{console}connectors"))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("admin API");
        assert_eq!(status.status().as_u16(), 200);
    });
    drop(child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_prints_drift_and_imports() {
    let sim = vendor_sim::mytimetable::MyTimetableSim::new(Default::default());
    sim.seed_example_dataset();
    let server = sim
        .start(vendor_sim::SimOptions::default())
        .expect("simulator");
    let dir = std::env::temp_dir().join(format!("scim-bridge-reconcile-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("bridge.toml");
    std::fs::write(
        &config,
        format!(
            r#"
            [store]
            url = "sqlite://{}"
            [connectors.mtt]
            kind = "mytimetable"
            auth.bearer_token_hashes = ["sha256:3690a4a2ed3b26b46a696e9ab873a300d9da3ae56bc84352e2bf724885c91dfd"]
            [connectors.mtt.mytimetable]
            base_url = "{}/api/v0"
            api_token = "{}"
            "#,
            dir.join("state.db").display(),
            server.base_url(),
            vendor_sim::mytimetable::DEMO_ADMIN_TOKEN
        ),
    )
    .expect("write");
    let config = config.to_str().expect("path").to_owned();
    let run = move |import: bool| {
        let config = config.clone();
        tokio::task::spawn_blocking(move || {
            let mut args = vec!["reconcile", "mtt", "--config", &config];
            if import {
                args.push("--import");
            }
            bridge(&args)
        })
    };
    let (code, stdout, stderr) = run(false).await.expect("ran");
    assert_eq!(code, 3, "drift: {stdout}{stderr}");
    assert!(
        stdout.contains("0 in the store, 3 at the vendor, 0 in sync"),
        "{stdout}"
    );
    assert_eq!(
        stdout.matches(": only at the vendor").count(),
        3,
        "{stdout}"
    );
    assert!(stdout.contains("--import"), "{stdout}");

    let (code, stdout, stderr) = run(true).await.expect("ran");
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(stdout.matches("imported as").count(), 3, "{stdout}");

    let (code, stdout, stderr) = run(false).await.expect("ran");
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("3 in the store, 3 at the vendor, 3 in sync"),
        "{stdout}"
    );
    assert!(stdout.contains("no drift"), "{stdout}");
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_provisions_an_hr_export_in_batches_and_reports_failed_rows() {
    let sim = vendor_sim::timeedit::TimeEditSim::new(Default::default());
    let server = sim
        .start(vendor_sim::SimOptions::default())
        .expect("simulator");
    let dir = std::env::temp_dir().join(format!("scim-bridge-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("bridge.toml");
    std::fs::write(
        &config,
        format!(
            r#"
            [store]
            url = "sqlite://{}"
            [connectors.te]
            kind = "timeedit"
            auth.bearer_token_hashes = ["sha256:3690a4a2ed3b26b46a696e9ab873a300d9da3ae56bc84352e2bf724885c91dfd"]
            [connectors.te.timeedit]
            endpoint = "{}{}"
            username = "{}"
            password = "{}"
            certificate = "{}"
            batch_linger_ms = 50
            "#,
            dir.join("state.db").display(),
            server.base_url(),
            sim.endpoint_path(),
            vendor_sim::timeedit::DEFAULT_USERNAME,
            vendor_sim::timeedit::DEFAULT_PASSWORD,
            vendor_sim::timeedit::DEFAULT_CERTIFICATE,
        ),
    )
    .expect("write");
    let te = "urn:scim-bridge:schemas:extension:timeedit:1.0:User";
    let mut csv =
        format!("userName,name.givenName,name.familyName,emails.work,active,{te}:orgRoles\n");
    for i in 0..60 {
        csv.push_str(&format!(
            "staff{i:02},Given,Family {i},staff{i:02}@uni.edu,true,\n"
        ));
    }
    csv.push_str("broken,Only,Three\n");
    csv.push_str("admin,Ad,Min,admin@uni.edu,true,timeedit=Admin;oAdmin=scheduler\n");
    csv.push_str("badrole,Bad,Role,bad@uni.edu,true,nowhere=Nobody\n");
    let file = dir.join("hr.csv");
    std::fs::write(&file, &csv).expect("write");
    let report = dir.join("failed.csv");
    let args = |file: &std::path::Path| {
        vec![
            "import".to_owned(),
            file.display().to_string(),
            "--connector".into(),
            "te".into(),
            "--config".into(),
            config.display().to_string(),
            "--report".into(),
            report.display().to_string(),
        ]
    };
    let run = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            bridge(&refs)
        })
    };
    let (code, stdout, stderr) = run(args(&file)).await.expect("ran");
    assert_eq!(code, 3, "some rows failed: {stdout}{stderr}");
    assert!(
        stdout.contains("61 created, 0 updated, 0 unchanged, 2 failed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("line 62 (broken): 400 invalidSyntax"),
        "{stdout}"
    );
    assert!(
        stdout.contains("line 64 (badrole): 400 invalidValue") && stdout.contains("nowhere"),
        "TimeEdit's own reason: {stdout}"
    );
    let failed = std::fs::read_to_string(&report).expect("report");
    assert_eq!(failed.lines().count(), 3, "header and two rows: {failed}");
    assert_eq!(sim.users().len(), 61);
    let admin = sim.user("admin", "timeedit").expect("imported");
    assert_eq!(admin.orgroles, ["timeedit=Admin", "oAdmin=scheduler"]);
    let imports = server
        .log()
        .all()
        .iter()
        .filter(|r| r.body.contains("importUsers>"))
        .count();
    assert!(imports <= 12, "61 users in {imports} importUsers calls");

    // A column no schema knows refuses the whole file, before anything is sent.
    let unknown = dir.join("unknown.csv");
    std::fs::write(&unknown, "userName,nickname2\nx,y\n").expect("write");
    let (code, _, stderr) = run(args(&unknown)).await.expect("ran");
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("nickname2"), "{stderr}");

    // Again: everything is known and unchanged.
    let (code, stdout, _) = run(args(&file)).await.expect("ran");
    assert_eq!(code, 3);
    assert!(
        stdout.contains("0 created, 0 updated, 61 unchanged, 2 failed"),
        "{stdout}"
    );

    // The HR system's own headers, with a column map: no renaming of the export.
    let hr = dir.join("export.csv");
    std::fs::write(
        &hr,
        "Personnel no,Login,First name,Surname,Work e-mail,Cost centre\n\
         P-100,newhire,New,Hire,new.hire@uni.edu,4711\n\
         P-007,staff07,Given,Renamed,staff07@uni.edu,4711\n",
    )
    .expect("write");
    let map = dir.join("columns.toml");
    std::fs::write(
        &map,
        "\"Personnel no\" = \"externalId\"\nLogin = \"userName\"\n\"First name\" = \"name.givenName\"\n\
         Surname = \"name.familyName\"\n\"Work e-mail\" = \"emails.work\"\n",
    )
    .expect("write");
    let mut mapped = args(&hr);
    mapped.extend(["--map".to_owned(), map.display().to_string()]);
    let (code, stdout, stderr) = run(mapped).await.expect("ran");
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("1 created, 1 updated, 0 unchanged, 0 failed"),
        "{stdout}"
    );
    let hire = sim
        .user("newhire", "timeedit")
        .expect("created from the mapped columns");
    assert_eq!(
        (hire.firstname.as_str(), hire.email.as_str()),
        ("New", "new.hire@uni.edu")
    );
    assert_eq!(
        sim.user("staff07", "timeedit").expect("staff07").lastname,
        "Renamed"
    );
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// `serve` without a configuration, in `dir`: the endpoint URL and the token line it prints.
fn serve_default(dir: &std::path::Path) -> (Child, String, String) {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_scim-bridge"))
            .arg("serve")
            .current_dir(dir)
            .env_remove("SCIM_BRIDGE_CONFIG")
            .env("SCIM_BRIDGE_SERVER__LISTEN", "127.0.0.1:0")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("serve.log")).expect("log file"))
            .spawn()
            .expect("starts"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let mut endpoint = String::new();
    let mut token_line = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if let Some(url) = line.strip_prefix("scim-bridge: SCIM endpoint ") {
            endpoint = url.trim().to_owned();
        }
        if line.contains("bearer token") {
            token_line = line;
            break;
        }
    }
    (child, endpoint, token_line)
}

/// The embedded default keeps its token across restarts: shown once, its hash kept beside the
/// store, so an identity provider pointed at it keeps working.
#[test]
fn the_default_token_survives_a_restart() {
    let dir = std::env::temp_dir().join(format!("scim-bridge-default-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let status = |endpoint: &str, token: &str| {
        runtime.block_on(async {
            reqwest::Client::new()
                .get(format!("{endpoint}/Users"))
                .bearer_auth(token)
                .send()
                .await
                .expect("gateway")
                .status()
                .as_u16()
        })
    };
    let (first, endpoint, line) = serve_default(&dir);
    let token = line
        .rsplit(": ")
        .next()
        .expect("the token ends the line")
        .to_owned();
    assert!(line.contains("shown this once"), "{line}");
    assert_eq!(status(&endpoint, &token), 200);
    drop(first);
    let kept = std::fs::read_to_string(dir.join("scim-bridge.db.token-hash")).expect("hash file");
    assert!(
        kept.starts_with("sha256:") && !kept.contains(&token),
        "{kept}"
    );

    let (_second, endpoint, line) = serve_default(&dir);
    assert!(line.contains("the one shown at the first start"), "{line}");
    assert!(!line.contains(&token), "never shown again: {line}");
    assert_eq!(status(&endpoint, &token), 200, "the same token still works");
    assert_eq!(status(&endpoint, "another-token"), 401);
    drop(_second);
    // A refused request is logged with the SCIM error's detail; the token never is.
    let log = std::fs::read_to_string(dir.join("serve.log")).expect("log");
    let refused = log
        .lines()
        .find(|l| l.contains("request refused") && l.contains("status=401"))
        .unwrap_or_else(|| panic!("no refusal logged:\n{log}"));
    assert!(refused.contains("detail="), "{refused}");
    assert!(
        !log.contains(&token) && !log.contains("another-token"),
        "{log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `check-config --online` asks each vendor what only it can tell: credentials, an auth
/// server that does not exist, an endpoint nobody answers.
#[tokio::test]
async fn check_config_online_asks_each_vendor() {
    let sim = vendor_sim::timeedit::TimeEditSim::new(Default::default());
    let server = sim
        .start(vendor_sim::SimOptions::default())
        .expect("simulator");
    let endpoint = format!("{}{}", server.base_url(), sim.endpoint_path());
    let dir = std::env::temp_dir().join(format!("scim-bridge-online-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let hash = "sha256:3690a4a2ed3b26b46a696e9ab873a300d9da3ae56bc84352e2bf724885c91dfd";
    let write = |name: &str, endpoint: &str, password: &str, extra: &str| {
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(
            &path,
            format!(
                "[connectors.te]\nkind = \"timeedit\"\nauth.bearer_token_hashes = [\"{hash}\"]\n\
                 [connectors.te.timeedit]\nendpoint = \"{endpoint}\"\nusername = \"{}\"\n\
                 password = \"{password}\"\ncertificate = \"{}\"\n\
                 http.max_retries = 0\nhttp.timeout_secs = 2\n{extra}\n",
                vendor_sim::timeedit::DEFAULT_USERNAME,
                vendor_sim::timeedit::DEFAULT_CERTIFICATE,
            ),
        )
        .expect("write");
        path.display().to_string()
    };
    let run = |path: String| {
        tokio::task::spawn_blocking(move || {
            bridge(&["check-config", "--config", &path, "--online"])
        })
    };
    let good = write(
        "good",
        &endpoint,
        vendor_sim::timeedit::DEFAULT_PASSWORD,
        "",
    );
    let (code, stdout, stderr) = run(good).await.expect("ran");
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("every vendor answers"), "{stdout}");

    let refused = write("refused", &endpoint, "wrong-password", "");
    let (code, _, stderr) = run(refused).await.expect("ran");
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("connectors.te.timeedit: the vendor refused scim-bridge's credentials")
            && stderr.contains("fix:"),
        "{stderr}"
    );

    let auth = write(
        "auth",
        &endpoint,
        vendor_sim::timeedit::DEFAULT_PASSWORD,
        "auth_server = \"saml\"",
    );
    let (code, _, stderr) = run(auth).await.expect("ran");
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(
            "connectors.te.timeedit.auth_server: TimeEdit has no active auth server \"saml\""
        ),
        "{stderr}"
    );

    let nobody = write(
        "nobody",
        "http://127.0.0.1:9/soap/3/x",
        vendor_sim::timeedit::DEFAULT_PASSWORD,
        "",
    );
    let (code, _, stderr) = run(nobody).await.expect("ran");
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cannot be reached"), "{stderr}");
    server.stop().await;

    // MyTimetable lists no synchronization types; the check asks about each configured one
    // for a user no instance has, and nothing is created.
    let mtt =
        vendor_sim::mytimetable::MyTimetableSim::new(vendor_sim::mytimetable::MyTimetableConfig {
            sync_types: Some(vec!["o365".into(), "ews".into()]),
            ..Default::default()
        });
    let mtt_server = mtt
        .start(vendor_sim::SimOptions::default())
        .expect("simulator");
    let mytimetable = |name: &str, types: &str| {
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(
            &path,
            format!(
                "[connectors.mtt]\nkind = \"mytimetable\"\nauth.bearer_token_hashes = [\"{hash}\"]\n\
                 [connectors.mtt.mytimetable]\nbase_url = \"{}/api/v0\"\napi_token = \"{}\"\n\
                 default_sync_types = {types}\nhttp.max_retries = 0\n",
                mtt_server.base_url(),
                vendor_sim::mytimetable::DEMO_ADMIN_TOKEN,
            ),
        )
        .expect("write");
        path.display().to_string()
    };
    let (code, stdout, stderr) = run(mytimetable("types-good", r#"["o365", "EWS"]"#))
        .await
        .expect("ran");
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, _, stderr) = run(mytimetable("types-bad", r#"["o365", "teams"]"#))
        .await
        .expect("ran");
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(
            "connectors.mtt.mytimetable.default_sync_types[1]: MyTimetable does not know the synchronization type \"teams\""
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("default_sync_types[0]"), "{stderr}");
    assert!(
        mtt.users().is_empty() && mtt.synchronizations().is_empty(),
        "the check created nothing"
    );
    mtt_server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
