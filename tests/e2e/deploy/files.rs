//! The deployment files as Docker, Compose and nginx read them: docker-compose.yml (with
//! its merge keys), the Dockerfile's instructions, and each replica's configuration with the
//! compose file's mounts and environment applied.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A file's text; a test that cannot read it fails, naming it.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A file of the repository, by its path from the root.
pub fn repo_file(relative: &str) -> String {
    read(&Path::new(ROOT).join(relative))
}

/// Resolves YAML merge keys (`<<: *gateway`), which Compose applies and yaml-rust2 leaves as an
/// ordinary key; a mapping's own keys win over the merged ones.
fn merged(node: Yaml) -> Yaml {
    match node {
        Yaml::Hash(hash) => {
            let merge_key = Yaml::String("<<".into());
            let mut out = yaml_rust2::yaml::Hash::new();
            let mut base = None;
            for (key, value) in hash {
                if key == merge_key {
                    base = Some(merged(value));
                } else {
                    out.insert(key, merged(value));
                }
            }
            if let Some(Yaml::Hash(base)) = base {
                for (key, value) in base {
                    if !out.contains_key(&key) {
                        out.insert(key, value);
                    }
                }
            }
            Yaml::Hash(out)
        }
        Yaml::Array(items) => Yaml::Array(items.into_iter().map(merged).collect()),
        other => other,
    }
}

/// A scalar as Compose reads it (ports and numbers may be written unquoted).
fn scalar(node: &Yaml) -> Option<String> {
    match node {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// docker-compose.yml.
pub struct Compose {
    root: Yaml,
}

/// One service of the compose file.
pub struct Service {
    pub name: String,
    pub node: Yaml,
}

impl Compose {
    pub fn read() -> Compose {
        let text = repo_file("docker-compose.yml");
        let mut docs = YamlLoader::load_from_str(&text).expect("docker-compose.yml is YAML");
        assert_eq!(docs.len(), 1, "one YAML document");
        Compose {
            root: merged(docs.remove(0)),
        }
    }

    pub fn services(&self) -> Vec<Service> {
        self.root["services"]
            .as_hash()
            .expect("a services mapping")
            .iter()
            .map(|(name, node)| Service {
                name: scalar(name).expect("a service name"),
                node: node.clone(),
            })
            .collect()
    }

    pub fn service(&self, name: &str) -> Service {
        self.services()
            .into_iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no service {name} in docker-compose.yml"))
    }

    /// The services built from the Dockerfile (the others run upstream images).
    pub fn ours(&self) -> Vec<Service> {
        self.services()
            .into_iter()
            .filter(|s| !s.node["build"].is_badvalue())
            .collect()
    }

    /// The host file of a top-level secret.
    pub fn secret_file(&self, name: &str) -> PathBuf {
        let file = self.root["secrets"][name]["file"]
            .as_str()
            .unwrap_or_else(|| panic!("secret {name} is not declared with a file"));
        Path::new(ROOT).join(file.trim_start_matches("./"))
    }
}

impl Service {
    /// `entrypoint` or `command`: a list, or a string split on spaces.
    fn words(&self, key: &str) -> Option<Vec<String>> {
        let node = &self.node[key];
        if let Some(items) = node.as_vec() {
            return Some(items.iter().map(|i| scalar(i).expect("a word")).collect());
        }
        node.as_str()
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
    }

    /// The command line the container runs, with the image's ENTRYPOINT and CMD filled in as
    /// Docker does (a compose `entrypoint` drops the image's CMD).
    pub fn argv(&self, docker: &Dockerfile) -> Vec<String> {
        let entrypoint = self.words("entrypoint");
        let command = self.words("command").unwrap_or_else(|| match entrypoint {
            Some(_) => Vec::new(),
            None => docker.json_array("CMD"),
        });
        let mut argv = entrypoint.unwrap_or_else(|| docker.json_array("ENTRYPOINT"));
        argv.extend(command);
        argv
    }

    pub fn environment(&self) -> BTreeMap<String, String> {
        let node = &self.node["environment"];
        if let Some(hash) = node.as_hash() {
            return hash
                .iter()
                .map(|(k, v)| (scalar(k).expect("key"), scalar(v).unwrap_or_default()))
                .collect();
        }
        node.as_vec()
            .into_iter()
            .flatten()
            .filter_map(|item| {
                let item = scalar(item)?;
                let (k, v) = item.split_once('=')?;
                Some((k.to_owned(), v.to_owned()))
            })
            .collect()
    }

    /// (path in the container, file on the host) of each bind mount and secret.
    pub fn mounts(&self, compose: &Compose) -> Vec<(String, PathBuf)> {
        let mut mounts = Vec::new();
        for volume in self.node["volumes"].as_vec().into_iter().flatten() {
            let volume = scalar(volume).expect("short volume syntax");
            let mut parts = volume.split(':');
            let (Some(host), Some(target)) = (parts.next(), parts.next()) else {
                continue;
            };
            // Named volumes (`pgdata:/var/lib/…`) are not files of the repository.
            if host.starts_with('.') || host.starts_with('/') {
                mounts.push((
                    target.to_owned(),
                    Path::new(ROOT).join(host.trim_start_matches("./")),
                ));
            }
        }
        for secret in self.node["secrets"].as_vec().into_iter().flatten() {
            let (source, target) = match scalar(secret) {
                Some(name) => (name.clone(), format!("/run/secrets/{name}")),
                None => {
                    let source = secret["source"].as_str().expect("secret source").to_owned();
                    let target = secret["target"]
                        .as_str()
                        .map(|t| match t.starts_with('/') {
                            true => t.to_owned(),
                            false => format!("/run/secrets/{t}"),
                        })
                        .unwrap_or_else(|| format!("/run/secrets/{source}"));
                    (source, target)
                }
            };
            mounts.push((target, compose.secret_file(&source)));
        }
        mounts
    }

    /// The host file behind a path in the container, through a file or directory mount.
    pub fn host_path(&self, compose: &Compose, path: &str) -> Option<PathBuf> {
        self.mounts(compose).into_iter().find_map(|(target, host)| {
            if path == target {
                Some(host)
            } else {
                let rest = path.strip_prefix(&format!("{}/", target.trim_end_matches('/')))?;
                Some(host.join(rest))
            }
        })
    }

    pub fn depends_on(&self, other: &str) -> Option<String> {
        let node = &self.node["depends_on"];
        if let Some(names) = node.as_vec() {
            return names
                .iter()
                .any(|n| n.as_str() == Some(other))
                .then(|| "service_started".to_owned());
        }
        let entry = &node[other];
        (!entry.is_badvalue()).then(|| {
            entry["condition"]
                .as_str()
                .unwrap_or("service_started")
                .to_owned()
        })
    }

    /// The healthcheck's command, joined.
    pub fn healthcheck(&self) -> String {
        let test = &self.node["healthcheck"]["test"];
        test.as_vec()
            .map(|items| {
                items
                    .iter()
                    .filter_map(scalar)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .or_else(|| test.as_str().map(str::to_owned))
            .unwrap_or_else(|| panic!("service {} has no healthcheck", self.name))
    }

    /// (host port, container port) of each published port.
    pub fn ports(&self) -> Vec<(u16, u16)> {
        self.node["ports"]
            .as_vec()
            .into_iter()
            .flatten()
            .map(|p| {
                let p = scalar(p).expect("short port syntax");
                let p = p.split('/').next().unwrap_or_default();
                let parts: Vec<&str> = p.rsplitn(3, ':').collect();
                let port = |s: &str| s.parse::<u16>().unwrap_or_else(|_| panic!("port {p}"));
                (port(parts.get(1).unwrap_or(&parts[0])), port(parts[0]))
            })
            .collect()
    }
}

/// The Dockerfile's instructions, continuation lines joined.
pub struct Dockerfile {
    instructions: Vec<(String, String)>,
}

impl Dockerfile {
    pub fn read() -> Dockerfile {
        let text = repo_file("Dockerfile");
        let mut instructions = Vec::new();
        let mut current = String::new();
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            match line.strip_suffix('\\') {
                Some(part) => current.push_str(part),
                None => {
                    current.push_str(line);
                    let (keyword, rest) = current.split_once(' ').unwrap_or((&current, ""));
                    instructions.push((keyword.to_uppercase(), rest.trim().to_owned()));
                    current.clear();
                }
            }
        }
        Dockerfile { instructions }
    }

    pub fn all<'a>(&'a self, keyword: &'a str) -> impl Iterator<Item = &'a str> {
        self.instructions
            .iter()
            .filter(move |(k, _)| k == keyword)
            .map(|(_, rest)| rest.as_str())
    }

    /// The last ENTRYPOINT or CMD, in exec (JSON) form.
    pub fn json_array(&self, keyword: &str) -> Vec<String> {
        let text = self
            .all(keyword)
            .last()
            .unwrap_or_else(|| panic!("the Dockerfile has no {keyword}"));
        serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("{keyword} {text} is not in exec form: {e}"))
    }
}

/// A replica: a service of ours whose command is `scim-bridge serve`, with its configuration.
pub struct Replica {
    pub service: Service,
    /// The configuration file on the host.
    pub config_path: PathBuf,
    config: toml::Table,
    /// The service's environment as this host needs it: mounted paths made host paths, and
    /// the configuration's `*_file` keys pointed at the files mounted there.
    pub env: Vec<(String, String)>,
}

/// The environment variable that overrides the setting at `path`.
pub fn env_name(path: &[&str]) -> String {
    gateway::config::env_variable(&path.join("."))
}

/// Every `*_file` key of a configuration, with its path of keys.
pub fn file_keys(table: &toml::Table, prefix: &[String], out: &mut Vec<(Vec<String>, String)>) {
    for (key, value) in table {
        let mut path = prefix.to_vec();
        path.push(key.clone());
        match value {
            toml::Value::Table(inner) => file_keys(inner, &path, out),
            toml::Value::String(file) if key.ends_with("_file") => out.push((path, file.clone())),
            _ => {}
        }
    }
}

impl Replica {
    pub fn all(compose: &Compose, docker: &Dockerfile) -> Vec<Replica> {
        compose
            .ours()
            .into_iter()
            .filter(|s| {
                let argv = s.argv(docker);
                argv.first().map(String::as_str) == Some("scim-bridge")
                    && argv.get(1).map(String::as_str) == Some("serve")
            })
            .map(|service| Replica::of(compose, docker, service))
            .collect()
    }

    fn of(compose: &Compose, docker: &Dockerfile, service: Service) -> Replica {
        let argv = service.argv(docker);
        let environment = service.environment();
        let config = argv
            .iter()
            .position(|a| a == "--config" || a == "-c")
            .and_then(|at| argv.get(at + 1).cloned())
            .or_else(|| environment.get("SCIM_BRIDGE_CONFIG").cloned())
            .unwrap_or_else(|| panic!("service {} serves no --config", service.name));
        let config_path = service.host_path(compose, &config).unwrap_or_else(|| {
            panic!(
                "{config}, the configuration of {}, is not mounted",
                service.name
            )
        });
        assert!(
            config_path.is_file(),
            "{} (mounted at {config} in {}) does not exist",
            config_path.display(),
            service.name
        );
        let table: toml::Table = toml::from_str(&read(&config_path))
            .unwrap_or_else(|e| panic!("{}: {e}", config_path.display()));
        let mut env: Vec<(String, String)> = environment
            .into_iter()
            .filter(|(k, _)| k != "SCIM_BRIDGE_CONFIG")
            .map(|(k, v)| {
                let host = v
                    .starts_with('/')
                    .then(|| service.host_path(compose, &v))
                    .flatten();
                (k, host.map_or(v, |h| h.display().to_string()))
            })
            .collect();
        let mut files = Vec::new();
        file_keys(&table, &[], &mut files);
        for (path, file) in files {
            let key = path.join(".");
            let host = service.host_path(compose, &file).unwrap_or_else(|| {
                panic!(
                    "{key} = \"{file}\" in {}: not mounted in service {}",
                    config_path.display(),
                    service.name
                )
            });
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            env.push((env_name(&path), host.display().to_string()));
        }
        Replica {
            service,
            config_path,
            config: table,
            env,
        }
    }

    /// A setting as the replica sees it: the compose environment's override, else the file's.
    pub fn setting(&self, path: &[&str]) -> Option<String> {
        let name = env_name(path);
        if let Some(value) = self.service.environment().get(&name) {
            return Some(value.clone());
        }
        let mut node = self.config.get(path[0])?;
        for key in &path[1..] {
            node = node.get(key)?;
        }
        match node {
            toml::Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }

    /// A secret setting's value: inline, or the content of the file its `*_file` key names.
    pub fn secret(&self, compose: &Compose, path: &[&str]) -> String {
        if let Some(value) = self.setting(path) {
            return value;
        }
        let last = format!("{}_file", path[path.len() - 1]);
        let mut file_path = path[..path.len() - 1].to_vec();
        file_path.push(&last);
        let file = self
            .setting(&file_path)
            .unwrap_or_else(|| panic!("{} is not set", path.join(".")));
        let host = self
            .service
            .host_path(compose, &file)
            .unwrap_or_else(|| panic!("{file} is not mounted"));
        read(&host).trim_end_matches(['\r', '\n']).to_owned()
    }

    pub fn listen(&self) -> SocketAddr {
        self.setting(&["server", "listen"])
            .unwrap_or_else(|| "127.0.0.1:8080".into())
            .parse()
            .expect("server.listen is an address")
    }

    pub fn connectors(&self) -> Vec<(String, String)> {
        self.config
            .get("connectors")
            .and_then(toml::Value::as_table)
            .expect("connectors")
            .iter()
            .map(|(name, c)| {
                let kind = c.get("kind").and_then(toml::Value::as_str).expect("kind");
                (name.clone(), kind.to_owned())
            })
            .collect()
    }
}

/// A vendor kind's settings table, the key of its URL, and the vendor-sim flag serving it.
pub fn simulator_of(kind: &str) -> Option<(&'static str, &'static str, &'static str)> {
    match kind {
        "directory" => None,
        "mytimetable" => Some(("mytimetable", "base_url", "--mytimetable")),
        "timeedit" => Some(("timeedit", "endpoint", "--timeedit")),
        "workspace365" => Some(("workspace365", "base_url", "--workspace365")),
        "workspace365-adsync" => Some(("workspace365_adsync", "base_url", "--workspace365-env")),
        other => panic!("connector kind {other}: teach tests/e2e/deploy.rs its simulator"),
    }
}

/// `host:port` of an http URL.
pub fn authority(url: &str) -> &str {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or_else(|| panic!("{url} is not an http URL"));
    rest.split('/').next().unwrap_or_default()
}

/// The service running `vendor-sim`, and its flags with their values.
pub fn simulators(compose: &Compose, docker: &Dockerfile) -> (Service, Vec<(String, String)>) {
    let service = compose
        .ours()
        .into_iter()
        .find(|s| s.argv(docker).first().map(String::as_str) == Some("vendor-sim"))
        .expect("a service runs vendor-sim");
    let argv = service.argv(docker);
    let mut flags = Vec::new();
    let mut words = argv[1..].iter().peekable();
    while let Some(flag) = words.next() {
        let value = match words.peek() {
            Some(v) if !v.starts_with("--") => words.next().cloned().unwrap_or_default(),
            _ => String::new(),
        };
        flags.push((flag.clone(), value));
    }
    (service, flags)
}

/// The value of a command-line flag.
pub fn flag<'a>(flags: &'a [(String, String)], name: &str) -> Option<&'a str> {
    flags
        .iter()
        .find(|(f, _)| f == name)
        .map(|(_, v)| v.as_str())
}

/// `1.95` → [1, 95], for comparing toolchain versions.
pub fn version(text: &str) -> Vec<u32> {
    text.split('.')
        .map(|p| p.parse().unwrap_or_else(|_| panic!("version {text}")))
        .collect()
}

/// The binaries of each workspace package, by package name.
pub fn workspace_binaries() -> BTreeMap<String, BTreeSet<String>> {
    let workspace: toml::Table = toml::from_str(&repo_file("Cargo.toml")).expect("Cargo.toml");
    let members = workspace["workspace"]["members"]
        .as_array()
        .expect("members");
    let mut dirs = Vec::new();
    for member in members {
        let member = member.as_str().expect("member");
        match member.strip_suffix("/*") {
            Some(parent) => {
                for entry in std::fs::read_dir(Path::new(ROOT).join(parent)).expect("dir") {
                    dirs.push(entry.expect("entry").path());
                }
            }
            None => dirs.push(Path::new(ROOT).join(member)),
        }
    }
    let mut packages = BTreeMap::new();
    for dir in dirs {
        let Ok(text) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        let manifest: toml::Table = toml::from_str(&text).expect("manifest");
        let Some(name) = manifest
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(toml::Value::as_str)
        else {
            continue;
        };
        let explicit: Vec<(String, Option<String>)> = manifest
            .get("bin")
            .and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
            .map(|b| {
                let name = b
                    .get("name")
                    .and_then(toml::Value::as_str)
                    .expect("bin name");
                let path = b.get("path").and_then(toml::Value::as_str);
                (name.to_owned(), path.map(str::to_owned))
            })
            .collect();
        let mut bins: BTreeSet<String> = explicit.iter().map(|(n, _)| n.clone()).collect();
        let main_claimed = explicit
            .iter()
            .any(|(_, p)| p.as_deref() == Some("src/main.rs"));
        if dir.join("src/main.rs").exists() && !main_claimed {
            bins.insert(name.to_owned());
        }
        if let Ok(entries) = std::fs::read_dir(dir.join("src/bin")) {
            for entry in entries {
                let path = entry.expect("entry").path();
                if path.extension().is_some_and(|e| e == "rs")
                    && let Some(stem) = path.file_stem()
                {
                    bins.insert(stem.to_string_lossy().into_owned());
                }
            }
        }
        packages.insert(name.to_owned(), bins);
    }
    packages
}
