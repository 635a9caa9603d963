//! deploy/kubernetes/ stays consistent with the binary and with itself, as the rest of this
//! module keeps docker-compose.yml: CI has no cluster, so each check reads the manifests as
//! the API server and kustomize would and asks the real binary (`check-config` on the
//! ConfigMap's configuration with the example Secret's files, `--help` with the Deployment's
//! command line). .ci/kubernetes.sh checks each manifest against the Kubernetes schemas; what
//! a schema cannot see (one manifest naming another, a port the configuration does not listen
//! on, a secret file no key provides) is checked here.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

use super::files::{Dockerfile, env_name, file_keys, repo_file};
use super::{binary, run};

const DIR: &str = "deploy/kubernetes";

/// The one document of a manifest of deploy/kubernetes/.
fn manifest(name: &str) -> Yaml {
    let path = format!("{DIR}/{name}");
    let mut docs = YamlLoader::load_from_str(&repo_file(&path))
        .unwrap_or_else(|e| panic!("{path} is not YAML: {e}"));
    assert_eq!(docs.len(), 1, "{path} holds one manifest");
    docs.remove(0)
}

fn string(node: &Yaml, what: &str) -> String {
    match node {
        Yaml::String(s) => s.clone(),
        Yaml::Integer(i) => i.to_string(),
        other => panic!("{what} is not a string: {other:?}"),
    }
}

fn integer(node: &Yaml, what: &str) -> i64 {
    node.as_i64()
        .unwrap_or_else(|| panic!("{what} is not an integer: {node:?}"))
}

fn list<'a>(node: &'a Yaml, what: &str) -> &'a [Yaml] {
    node.as_vec()
        .unwrap_or_else(|| panic!("{what} is not a list: {node:?}"))
}

/// A mapping of strings (labels, a selector's matchLabels).
fn labels(node: &Yaml, what: &str) -> BTreeMap<String, String> {
    node.as_hash()
        .unwrap_or_else(|| panic!("{what} is not a mapping: {node:?}"))
        .iter()
        .map(|(k, v)| (string(k, what), string(v, what)))
        .collect()
}

/// `selector` selects pods labelled `pod`: it is not empty, and each of its labels is one of
/// the pod's.
fn assert_selects(selector: &BTreeMap<String, String>, pod: &BTreeMap<String, String>, who: &str) {
    assert!(
        !selector.is_empty(),
        "{who} has an empty selector: it would select every pod of the namespace"
    );
    for (key, value) in selector {
        assert_eq!(
            pod.get(key),
            Some(value),
            "{who} selects {key}={value}, which the Deployment's pod template ({pod:?}) does not carry: it would select no replica"
        );
    }
}

/// The gateway's container: the Deployment runs exactly one.
fn container(deployment: &Yaml) -> &Yaml {
    let containers = list(
        &deployment["spec"]["template"]["spec"]["containers"],
        "the pod's containers",
    );
    assert_eq!(
        containers.len(),
        1,
        "deployment.yaml runs one container (the tests know no sidecar)"
    );
    &containers[0]
}

/// The container's command line: the image's ENTRYPOINT and CMD unless the manifest's
/// `command` and `args` replace them (as Kubernetes combines them).
fn command_line(deployment: &Yaml) -> Vec<String> {
    let docker = Dockerfile::read();
    let strings = |node: &Yaml, what: &str| -> Vec<String> {
        list(node, what).iter().map(|a| string(a, what)).collect()
    };
    let container = container(deployment);
    let command = &container["command"];
    let args = &container["args"];
    let mut argv = if command.is_badvalue() {
        docker.json_array("ENTRYPOINT")
    } else {
        strings(command, "command")
    };
    if !args.is_badvalue() {
        argv.extend(strings(args, "args"));
    } else if command.is_badvalue() {
        argv.extend(docker.json_array("CMD"));
    }
    argv
}

/// The manifests of deploy/kubernetes/, read together.
struct Cluster {
    deployment: Yaml,
    service: Yaml,
    pdb: Yaml,
    monitor: Yaml,
    secret: Yaml,
    /// The gateway's configuration as the ConfigMap holds it.
    config_text: String,
    config: toml::Table,
}

impl Cluster {
    fn read() -> Cluster {
        let deployment = manifest("deployment.yaml");
        let configmap = manifest("configmap.yaml");
        let cluster = Cluster {
            deployment,
            service: manifest("service.yaml"),
            pdb: manifest("pdb.yaml"),
            monitor: manifest("servicemonitor.yaml"),
            secret: manifest("secret.example.yaml"),
            config_text: String::new(),
            config: toml::Table::new(),
        };
        // The configuration is the ConfigMap the Deployment mounts where --config points.
        let (config_dir, config_file) = cluster.config_path();
        let mount = cluster.mount_at(&config_dir).unwrap_or_else(|| {
            panic!(
                "deployment.yaml: --config {config_dir}/{config_file}, but no volume is mounted at {config_dir}"
            )
        });
        let volume = cluster.volume(&mount);
        let name = string(
            &volume["configMap"]["name"],
            "the config volume's configMap.name",
        );
        assert_eq!(
            string(&configmap["metadata"]["name"], "configmap.yaml's name"),
            name,
            "deployment.yaml mounts the ConfigMap {name} at {config_dir}; configmap.yaml defines another"
        );
        let text = string(
            &configmap["data"][config_file.as_str()],
            &format!("configmap.yaml's data.\"{config_file}\" (the file --config names)"),
        );
        let config = toml::from_str(&text)
            .unwrap_or_else(|e| panic!("configmap.yaml's {config_file} is not TOML: {e}"));
        Cluster {
            config_text: text,
            config,
            ..cluster
        }
    }

    fn pod(&self) -> &Yaml {
        &self.deployment["spec"]["template"]["spec"]
    }

    fn pod_labels(&self) -> BTreeMap<String, String> {
        labels(
            &self.deployment["spec"]["template"]["metadata"]["labels"],
            "the pod template's labels",
        )
    }

    fn container(&self) -> &Yaml {
        container(&self.deployment)
    }

    fn argv(&self) -> Vec<String> {
        command_line(&self.deployment)
    }

    /// The directory and file name of `--config`.
    fn config_path(&self) -> (String, String) {
        let argv = self.argv();
        let config = argv
            .iter()
            .position(|a| a == "--config" || a == "-c")
            .and_then(|at| argv.get(at + 1))
            .unwrap_or_else(|| panic!("deployment.yaml: `{}` names no --config", argv.join(" ")));
        let (dir, file) = config
            .rsplit_once('/')
            .unwrap_or_else(|| panic!("--config {config} is not an absolute path"));
        (dir.to_owned(), file.to_owned())
    }

    /// The container's volume mount at exactly `path`.
    fn mount_at(&self, path: &str) -> Option<Yaml> {
        list(&self.container()["volumeMounts"], "volumeMounts")
            .iter()
            .find(|m| m["mountPath"].as_str().map(|p| p.trim_end_matches('/')) == Some(path))
            .cloned()
    }

    /// The pod's volume a mount uses.
    fn volume(&self, mount: &Yaml) -> Yaml {
        let name = string(&mount["name"], "a volume mount's name");
        assert_eq!(
            mount["readOnly"].as_bool(),
            Some(true),
            "deployment.yaml mounts {name} writable: mount it readOnly: true"
        );
        list(&self.pod()["volumes"], "the pod's volumes")
            .iter()
            .find(|v| v["name"].as_str() == Some(name.as_str()))
            .cloned()
            .unwrap_or_else(|| {
                panic!("deployment.yaml mounts the volume {name}, which the pod does not declare")
            })
    }

    /// Where the Secret is mounted, and its volume.
    fn secret_mount(&self) -> (String, Yaml) {
        list(&self.container()["volumeMounts"], "volumeMounts")
            .iter()
            .find_map(|m| {
                let volume = self.volume(m);
                (!volume["secret"].is_badvalue()).then(|| {
                    let path = string(&m["mountPath"], "mountPath");
                    (path.trim_end_matches('/').to_owned(), volume)
                })
            })
            .expect(
                "deployment.yaml mounts a Secret volume (the secret files of the configuration)",
            )
    }

    /// The example Secret's keys and values.
    fn secret_values(&self) -> BTreeMap<String, String> {
        assert!(
            self.secret["data"].is_badvalue(),
            "secret.example.yaml: write placeholders under stringData (readable), not data (base64)"
        );
        labels(
            &self.secret["stringData"],
            "secret.example.yaml's stringData",
        )
    }

    /// A setting of the configuration, as text.
    fn setting(&self, path: &[&str]) -> Option<String> {
        let mut node = self.config.get(path[0])?;
        for key in &path[1..] {
            node = node.get(key)?;
        }
        Some(match node {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }

    /// An address the configuration listens on.
    fn listen(&self, path: &[&str]) -> SocketAddr {
        let key = path.join(".");
        let value = self
            .setting(path)
            .unwrap_or_else(|| panic!("configmap.yaml's configuration sets no {key}"));
        value
            .parse()
            .unwrap_or_else(|e| panic!("{key} = \"{value}\" is not an address: {e}"))
    }

    /// The container's ports, by name.
    fn container_ports(&self) -> BTreeMap<String, i64> {
        list(&self.container()["ports"], "the container's ports")
            .iter()
            .map(|p| {
                (
                    string(
                        &p["name"],
                        "a container port's name (the Service and probes use names)",
                    ),
                    integer(&p["containerPort"], "containerPort"),
                )
            })
            .collect()
    }

    /// A port as a probe or a Service's targetPort gives it (a name or a number), as a number.
    fn container_port(&self, port: &Yaml, who: &str) -> i64 {
        let ports = self.container_ports();
        match port {
            Yaml::Integer(n) => {
                assert!(
                    ports.values().any(|p| p == n),
                    "{who} uses port {n}, which the container does not declare ({ports:?})"
                );
                *n
            }
            Yaml::String(name) => *ports.get(name).unwrap_or_else(|| {
                panic!(
                    "{who} uses the port {name}, which the container does not declare ({ports:?})"
                )
            }),
            other => panic!("{who}: port {other:?}"),
        }
    }

    /// The Service's ports: name → targetPort.
    fn service_ports(&self) -> BTreeMap<String, Yaml> {
        list(&self.service["spec"]["ports"], "service.yaml's ports")
            .iter()
            .map(|p| {
                let name = string(&p["name"], "a Service port's name");
                let target = match &p["targetPort"] {
                    Yaml::BadValue => p["port"].clone(),
                    target => target.clone(),
                };
                (name, target)
            })
            .collect()
    }
}

#[test]
fn the_configmaps_configuration_passes_check_config() {
    let cluster = Cluster::read();
    let dir = std::env::temp_dir().join(format!("scim-bridge-k8s-{}", uuid::Uuid::new_v4()));
    let secrets = dir.join("secrets");
    std::fs::create_dir_all(&secrets).expect("dir");
    let config = dir.join("config.toml");
    std::fs::write(&config, &cluster.config_text).expect("write");
    // The Secret's mount, made a directory here holding the example Secret's values: each
    // `*_file` key is pointed at it (as the compose tests do), the file itself unchanged.
    for (key, value) in cluster.secret_values() {
        std::fs::write(secrets.join(&key), value).expect("write");
    }
    let (mount, _) = cluster.secret_mount();
    let mut files = Vec::new();
    file_keys(&cluster.config, &[], &mut files);
    let env: Vec<(String, String)> = files
        .iter()
        .filter_map(|(path, file)| {
            let rest = file.strip_prefix(&format!("{mount}/"))?;
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            Some((env_name(&path), secrets.join(rest).display().to_string()))
        })
        .collect();
    let args = ["check-config", "--config", &config.display().to_string()].map(str::to_owned);
    let (code, stdout, stderr) = run(&binary("scim-bridge"), &args, &env);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        code, 0,
        "configmap.yaml's configuration, with secret.example.yaml's values as the secret files, is refused by `scim-bridge check-config`:\n{stdout}{stderr}"
    );
    assert!(stdout.contains(": ok ("), "{stdout}");
}

#[test]
fn the_binary_accepts_the_deployments_command_line() {
    let argv = command_line(&manifest("deployment.yaml"));
    let (program, args) = argv.split_first().expect("a command");
    assert_eq!(
        program, "scim-bridge",
        "deployment.yaml runs {program}, not the gateway"
    );
    assert_eq!(
        args.first().map(String::as_str),
        Some("serve"),
        "deployment.yaml's replicas run `scim-bridge serve`: {}",
        argv.join(" ")
    );
    // clap checks every argument before `--help`, then prints the help: exit 0 means each flag
    // and value is accepted as written.
    let mut args = args.to_vec();
    args.push("--help".into());
    let (code, stdout, stderr) = run(&binary(program), &args, &[]);
    assert_eq!(
        code,
        0,
        "deployment.yaml's command line `{}` (the image's ENTRYPOINT, then args) is refused: {stderr}",
        argv.join(" ")
    );
    assert!(stdout.contains("Usage:"), "{stdout}");
}

#[test]
fn the_probes_and_ports_are_the_configurations() {
    let cluster = Cluster::read();
    let ports = cluster.container_ports();
    for (name, key) in [
        ("http", ["server", "listen"]),
        ("metrics", ["metrics", "listen"]),
    ] {
        let addr = cluster.listen(&key);
        let key = key.join(".");
        assert!(
            addr.ip().is_unspecified(),
            "{key} = {addr}: only an unspecified address (0.0.0.0) is reachable from the kubelet, the Service and Prometheus"
        );
        let declared = ports.get(name).unwrap_or_else(|| {
            panic!("deployment.yaml declares no container port named {name} (for {key}, {addr})")
        });
        assert_eq!(
            *declared,
            i64::from(addr.port()),
            "deployment.yaml's container port {name} is {declared}, but {key} is {addr}"
        );
    }
    let http = cluster.listen(&["server", "listen"]).port();
    let metrics = cluster.listen(&["metrics", "listen"]).port();
    assert_ne!(
        http, metrics,
        "[metrics] listen is a port of its own, apart from server.listen"
    );
    let container = cluster.container();
    for (probe, paths) in [
        ("livenessProbe", &["/healthz"][..]),
        ("readinessProbe", &["/readyz"][..]),
        ("startupProbe", &["/healthz", "/readyz"][..]),
    ] {
        let node = &container[probe];
        if node.is_badvalue() {
            assert_eq!(
                probe, "startupProbe",
                "deployment.yaml has no {probe}: add one (httpGet {})",
                paths[0]
            );
            continue;
        }
        let get = &node["httpGet"];
        let path = string(&get["path"], &format!("{probe}.httpGet.path"));
        assert!(
            paths.contains(&path.as_str()),
            "deployment.yaml's {probe} asks {path}; the gateway answers it at {}",
            paths.join(" or ")
        );
        let port = cluster.container_port(&get["port"], probe);
        assert_eq!(
            port,
            i64::from(http),
            "deployment.yaml's {probe} asks port {port}, but the gateway serves {path} on server.listen's port {http}"
        );
        assert!(
            get["scheme"].as_str().is_none_or(|s| {
                s.eq_ignore_ascii_case("http") == cluster.setting(&["server", "tls"]).is_none()
            }),
            "{probe}'s scheme must be HTTPS exactly when [server.tls] is set"
        );
    }
    let docker = Dockerfile::read();
    let exposed: Vec<u16> = docker
        .all("EXPOSE")
        .flat_map(|e| e.split_whitespace())
        .filter_map(|p| p.split('/').next()?.parse().ok())
        .collect();
    assert!(
        exposed.contains(&http),
        "the Dockerfile EXPOSEs {exposed:?}, not server.listen's port {http}"
    );
}

#[test]
fn every_secret_file_is_a_key_of_the_secret_and_every_key_is_read() {
    let cluster = Cluster::read();
    let (mount, volume) = cluster.secret_mount();
    let secret_name = string(&cluster.secret["metadata"]["name"], "the Secret's name");
    assert_eq!(
        string(&volume["secret"]["secretName"], "secretName"),
        secret_name,
        "deployment.yaml mounts a Secret other than secret.example.yaml's"
    );
    assert!(
        volume["secret"]["items"].is_badvalue(),
        "the secret volume lists items: then only those keys become files; mount every key"
    );
    let keys: BTreeSet<String> = cluster.secret_values().into_keys().collect();
    let mut files = Vec::new();
    file_keys(&cluster.config, &[], &mut files);
    assert!(!files.is_empty(), "the configuration reads no secret file");
    let mut read_keys = BTreeSet::new();
    for (path, file) in files {
        let key = path.join(".");
        let name = file.strip_prefix(&format!("{mount}/")).unwrap_or_else(|| {
            panic!("{key} = \"{file}\" lies outside the Secret's mount {mount}: no such file in the pod")
        });
        assert!(
            keys.contains(name),
            "{key} = \"{file}\", but secret.example.yaml has no key {name} (it has {keys:?}): add it, so the real Secret gets it"
        );
        read_keys.insert(name.to_owned());
    }
    let unread: Vec<&String> = keys.difference(&read_keys).collect();
    assert!(
        unread.is_empty(),
        "secret.example.yaml's keys {unread:?} are read by no `*_file` key of configmap.yaml: remove them, or read them"
    );
    assert!(
        cluster.setting(&["store", "url"]).is_none(),
        "store.url is written into the ConfigMap: its password belongs in the Secret (store.url_file)"
    );
}

#[test]
fn the_manifests_refer_to_each_other() {
    let cluster = Cluster::read();
    let pod = cluster.pod_labels();
    let spec = &cluster.deployment["spec"];

    let replicas = integer(&spec["replicas"], "deployment.yaml's replicas");
    assert!(
        replicas >= 2,
        "deployment.yaml runs {replicas} replica(s): at least two, so one serves while the other restarts"
    );
    assert_selects(
        &labels(
            &spec["selector"]["matchLabels"],
            "the Deployment's selector",
        ),
        &pod,
        "deployment.yaml's selector",
    );
    assert_selects(
        &labels(
            &cluster.service["spec"]["selector"],
            "the Service's selector",
        ),
        &pod,
        "service.yaml",
    );
    assert_selects(
        &labels(
            &cluster.pdb["spec"]["selector"]["matchLabels"],
            "the PDB's selector",
        ),
        &pod,
        "pdb.yaml",
    );
    let min = integer(
        &cluster.pdb["spec"]["minAvailable"],
        "pdb.yaml's minAvailable",
    );
    assert!(
        (1..replicas).contains(&min),
        "pdb.yaml's minAvailable {min} must be at least 1 and below replicas ({replicas}), or no node could ever be drained"
    );

    // The Service's ports reach the container's, and the ServiceMonitor scrapes `metrics`.
    let service_ports = cluster.service_ports();
    for (name, target) in &service_ports {
        cluster.container_port(target, &format!("service.yaml's port {name}"));
    }
    let metrics_port = i64::from(cluster.listen(&["metrics", "listen"]).port());
    let service_labels = labels(
        &cluster.service["metadata"]["labels"],
        "the Service's labels",
    );
    let monitor_selector = labels(
        &cluster.monitor["spec"]["selector"]["matchLabels"],
        "the ServiceMonitor's selector",
    );
    for (key, value) in &monitor_selector {
        assert_eq!(
            service_labels.get(key),
            Some(value),
            "servicemonitor.yaml selects Services labelled {key}={value}; service.yaml is not"
        );
    }
    let endpoints = list(
        &cluster.monitor["spec"]["endpoints"],
        "the ServiceMonitor's endpoints",
    );
    assert!(!endpoints.is_empty(), "servicemonitor.yaml scrapes nothing");
    for endpoint in endpoints {
        let port = string(&endpoint["port"], "a ServiceMonitor endpoint's port");
        let target = service_ports.get(&port).unwrap_or_else(|| {
            panic!(
                "servicemonitor.yaml scrapes the Service port {port}; service.yaml has {:?}",
                service_ports.keys()
            )
        });
        assert_eq!(
            cluster.container_port(target, "the scraped Service port"),
            metrics_port,
            "servicemonitor.yaml scrapes {port}, which is not [metrics] listen's port {metrics_port}"
        );
        assert_eq!(
            endpoint["path"].as_str().unwrap_or("/metrics"),
            "/metrics",
            "the gateway serves its metrics at /metrics"
        );
    }

    // The store is the PostgreSQL every replica shares.
    assert!(
        cluster.setting(&["store", "url_file"]).is_some(),
        "configmap.yaml: [store] url_file names the PostgreSQL URL's file in the Secret"
    );
    let (mount, _) = cluster.secret_mount();
    let url_key = cluster
        .setting(&["store", "url_file"])
        .and_then(|f| f.strip_prefix(&format!("{mount}/")).map(str::to_owned))
        .expect("store.url_file is under the Secret's mount");
    let url = cluster
        .secret_values()
        .remove(&url_key)
        .unwrap_or_else(|| panic!("secret.example.yaml has no {url_key}"));
    assert!(
        url.starts_with("postgres://") || url.starts_with("postgresql://"),
        "secret.example.yaml's {url_key} is not a PostgreSQL URL: replicas cannot share SQLite"
    );

    // The configuration is the mounted ConfigMap (Cluster::read follows --config to it).
    let (config_dir, _) = cluster.config_path();
    assert!(
        cluster.mount_at(&config_dir).is_some(),
        "the ConfigMap is mounted at --config's directory {config_dir}"
    );

    // The image's user, so a policy requiring a numeric non-root user admits the pod.
    let docker = Dockerfile::read();
    let user = docker
        .all("USER")
        .last()
        .expect("the Dockerfile has a USER");
    let uid: i64 = user
        .split(':')
        .next()
        .and_then(|u| u.parse().ok())
        .unwrap_or_else(|| panic!("the Dockerfile's USER {user} is not numeric"));
    let context = &cluster.container()["securityContext"];
    for (key, want) in [
        ("runAsUser", Yaml::Integer(uid)),
        ("runAsNonRoot", Yaml::Boolean(true)),
        ("allowPrivilegeEscalation", Yaml::Boolean(false)),
        ("readOnlyRootFilesystem", Yaml::Boolean(true)),
    ] {
        assert_eq!(
            context[key], want,
            "deployment.yaml's container securityContext.{key} (the Dockerfile's USER is {user})"
        );
    }

    // The example Ingress sends to the SCIM port over the configuration's public https URL.
    let ingress = manifest("ingress.example.yaml");
    let public = cluster
        .setting(&["server", "public_url"])
        .expect("server.public_url: what identity providers use");
    let host = public
        .strip_prefix("https://")
        .unwrap_or_else(|| panic!("server.public_url {public}: identity providers need https"))
        .split(['/', ':'])
        .next()
        .unwrap_or_default()
        .to_owned();
    let tls_hosts: Vec<String> = list(&ingress["spec"]["tls"], "the Ingress's tls")
        .iter()
        .flat_map(|t| {
            list(&t["hosts"], "tls hosts")
                .iter()
                .map(|h| string(h, "host"))
        })
        .collect();
    assert!(
        tls_hosts.contains(&host),
        "ingress.example.yaml's TLS hosts {tls_hosts:?} lack server.public_url's host {host}"
    );
    let service_name = string(&cluster.service["metadata"]["name"], "the Service's name");
    let http_port = i64::from(cluster.listen(&["server", "listen"]).port());
    for rule in list(&ingress["spec"]["rules"], "the Ingress's rules") {
        for path in list(&rule["http"]["paths"], "the Ingress's paths") {
            let backend = &path["backend"]["service"];
            assert_eq!(
                string(&backend["name"], "an Ingress backend's service name"),
                service_name,
                "ingress.example.yaml sends to a Service other than service.yaml's"
            );
            let port = string(&backend["port"]["name"], "an Ingress backend's port name");
            let target = service_ports
                .get(&port)
                .unwrap_or_else(|| panic!("ingress.example.yaml sends to the Service port {port}, which service.yaml lacks"));
            assert_eq!(
                cluster.container_port(target, "the Ingress's Service port"),
                http_port,
                "ingress.example.yaml sends to {port}, not server.listen's port {http_port}"
            );
        }
    }
}

#[test]
fn the_grace_period_outlasts_the_drain() {
    let cluster = Cluster::read();
    let shutdown = cluster
        .setting(&["server", "shutdown_timeout_secs"])
        .map_or(30, |v| v.parse().expect("shutdown_timeout_secs"));
    // A preStop `sleep N` runs before SIGTERM, inside the same grace period.
    let pause = cluster.container()["lifecycle"]["preStop"]["exec"]["command"]
        .as_vec()
        .and_then(|c| match c.as_slice() {
            [sleep, n] if sleep.as_str() == Some("sleep") => n.as_str()?.parse::<i64>().ok(),
            _ => None,
        })
        .unwrap_or(0);
    let grace = cluster.pod()["terminationGracePeriodSeconds"]
        .as_i64()
        .unwrap_or(30);
    assert!(
        grace > pause + shutdown,
        "deployment.yaml's terminationGracePeriodSeconds ({grace}s) must exceed the preStop pause ({pause}s) plus server.shutdown_timeout_secs ({shutdown}s), or in-flight requests are killed"
    );
}

#[test]
fn the_kustomization_lists_every_manifest() {
    let kustomization = manifest("kustomization.yaml");
    let text = repo_file(&format!("{DIR}/kustomization.yaml"));
    let resources: BTreeSet<String> = list(&kustomization["resources"], "resources")
        .iter()
        .map(|r| string(r, "a resource"))
        .collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(DIR);
    let mut files = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("deploy/kubernetes/") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name != "kustomization.yaml" && (name.ends_with(".yaml") || name.ends_with(".yml")) {
            files.insert(name);
        }
    }
    for resource in &resources {
        assert!(
            files.contains(resource),
            "kustomization.yaml lists {resource}, which is not in {DIR}/"
        );
    }
    for file in &files {
        if file.ends_with(".example.yaml") {
            // An example is applied by hand once made real (the Secret's values, the
            // Ingress's host): `apply -k` must not overwrite the real one with it.
            assert!(
                !resources.contains(file),
                "kustomization.yaml applies {file}, an example: `kubectl apply -k` would overwrite the real one with placeholders"
            );
            assert!(
                text.contains(file.as_str()),
                "kustomization.yaml does not say why {file} is left out: name it in its comment"
            );
        } else {
            assert!(
                resources.contains(file),
                "{DIR}/{file} is not in kustomization.yaml's resources: `kubectl apply -k` would leave it out"
            );
        }
    }
    // Each file holds one manifest; the schemas are .ci/kubernetes.sh's business.
    for file in files {
        manifest(&file);
    }
}
