#!/usr/bin/env bash
# The Kubernetes manifests of deploy/kubernetes/ against the schemas of the API server, with no
# cluster: kubernetes-validate (the OpenAPI schemas of each Kubernetes release, strict: an
# unknown field is an error) for every built-in kind, and the schemas below for the two kinds
# it has none for (the Prometheus Operator's ServiceMonitor, kustomize's Kustomization).
# tests/e2e/deploy/kubernetes.rs checks what schemas cannot: the manifests against each other
# and against the binary.
set -euo pipefail
shopt -s inherit_errexit 2>/dev/null || true
cd "$(dirname "$0")/.."

# Pinned, like .ci/run's schemathesis: a new release may change what it ships. 1.37 is the
# newest Kubernetes this release has schemas for.
validator_version=1.37.0
kubernetes_version=1.37.0

installed="$(python3 -m kubernetes_validate --version 2>/dev/null || true)"
if [[ "$installed" != "$validator_version" ]]; then
  python3 -m pip install --quiet --disable-pip-version-check "kubernetes-validate==$validator_version"
fi

manifests=(deploy/kubernetes/*.yaml)
echo "== kubernetes-validate $validator_version: ${#manifests[@]} manifests against Kubernetes $kubernetes_version (strict)"
status=0
output="$(python3 -m kubernetes_validate --kubernetes-version "$kubernetes_version" --strict "${manifests[@]}")" || status=$?
echo "$output"
if ((status != 0)); then
  echo "kubernetes-validate refused a manifest (above)" >&2
  exit 1
fi
# A kind without a schema is only a warning to kubernetes-validate: a misspelt kind or
# apiVersion would pass. Only the kinds checked below may lack one.
unknown="$(grep '^WARN' <<<"$output" \
  | grep -v -e 'kind ServiceMonitor with api version monitoring.coreos.com/v1 ' \
            -e 'kind Kustomization with api version kustomize.config.k8s.io/v1beta1 ' || true)"
if [[ -n "$unknown" ]]; then
  echo "no schema for these (a misspelt kind or apiVersion?):" >&2
  echo "$unknown" >&2
  exit 1
fi

echo "== ServiceMonitor and Kustomization schemas; duplicate keys in every manifest"
python3 - "${manifests[@]}" <<'PY'
import os
import sys

import jsonschema
import yaml


class StrictLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys; kubectl refuses the manifest."""


def mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)


def closed(properties, required=()):
    """An object with exactly these fields (what --strict does for the built-in kinds)."""
    return {"type": "object", "properties": properties, "required": list(required),
            "additionalProperties": False}


ANY = {}
STRING = {"type": "string"}
BOOL = {"type": "boolean"}
INT = {"type": "integer"}
STRINGS = {"type": "array", "items": STRING}
DURATION = {"type": "string",
            "pattern": r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"}
LABELS = {"type": "object", "additionalProperties": STRING}
OBJECT_META = closed({
    "name": STRING, "namespace": STRING, "labels": LABELS, "annotations": LABELS,
})
LABEL_SELECTOR = closed({
    "matchLabels": LABELS,
    "matchExpressions": {"type": "array", "items": closed(
        {"key": STRING, "operator": STRING, "values": STRINGS}, ["key", "operator"])},
})
RELABELINGS = {"type": "array", "items": closed({
    "action": STRING, "modulus": INT, "regex": STRING, "replacement": STRING,
    "separator": STRING, "sourceLabels": STRINGS, "targetLabel": STRING,
})}

# monitoring.coreos.com/v1 ServiceMonitor: every field of the operator's CRD
# (monitoring.coreos.com_servicemonitors.yaml, operator 0.84) at the levels a manifest
# usually writes; the nested credential and TLS objects are taken as they are.
ENDPOINT = closed({
    "authorization": ANY, "basicAuth": ANY, "bearerTokenFile": STRING,
    "bearerTokenSecret": ANY, "enableHttp2": BOOL, "filterRunning": BOOL,
    "followRedirects": BOOL, "honorLabels": BOOL, "honorTimestamps": BOOL,
    "interval": DURATION, "metricRelabelings": RELABELINGS, "noProxy": STRING,
    "oauth2": ANY, "params": {"type": "object", "additionalProperties": STRINGS},
    "path": STRING, "port": STRING, "proxyConnectHeader": ANY,
    "proxyFromEnvironment": BOOL, "proxyURL": STRING, "relabelings": RELABELINGS,
    "scheme": {"enum": ["http", "https"]}, "scrapeTimeout": DURATION,
    "targetPort": {"type": ["integer", "string"]}, "tlsConfig": ANY,
    "trackTimestampsStaleness": BOOL,
})
SERVICE_MONITOR = closed({
    "apiVersion": {"const": "monitoring.coreos.com/v1"},
    "kind": {"const": "ServiceMonitor"},
    "metadata": OBJECT_META,
    "spec": closed({
        "attachMetadata": closed({"node": BOOL}),
        "bodySizeLimit": STRING,
        "convertClassicHistogramsToNHCB": BOOL,
        "endpoints": {"type": "array", "minItems": 1, "items": ENDPOINT},
        "fallbackScrapeProtocol": STRING,
        "jobLabel": STRING,
        "keepDroppedTargets": INT,
        "labelLimit": INT,
        "labelNameLengthLimit": INT,
        "labelValueLengthLimit": INT,
        "namespaceSelector": closed({"any": BOOL, "matchNames": STRINGS}),
        "nativeHistogramBucketLimit": INT,
        "nativeHistogramMinBucketFactor": {"type": ["integer", "string"]},
        "podTargetLabels": STRINGS,
        "sampleLimit": INT,
        "scrapeClass": STRING,
        "scrapeClassicHistograms": BOOL,
        "scrapeProtocols": STRINGS,
        "selector": LABEL_SELECTOR,
        "selectorMechanism": {"enum": ["RelabelConfig", "RoleSelector"]},
        "targetLabels": STRINGS,
        "targetLimit": INT,
    }, ["endpoints", "selector"]),
}, ["apiVersion", "kind", "metadata", "spec"])

# kustomize.config.k8s.io/v1beta1 Kustomization: its top-level fields (kustomize v5).
KUSTOMIZATION = closed({
    "apiVersion": {"const": "kustomize.config.k8s.io/v1beta1"},
    "kind": {"const": "Kustomization"},
    "metadata": ANY,
    "resources": STRINGS, "components": STRINGS, "crds": STRINGS,
    "namespace": STRING, "namePrefix": STRING, "nameSuffix": STRING,
    "labels": {"type": "array"}, "commonLabels": LABELS, "commonAnnotations": LABELS,
    "images": {"type": "array", "items": closed(
        {"name": STRING, "newName": STRING, "newTag": STRING, "digest": STRING}, ["name"])},
    "replicas": {"type": "array", "items": closed({"name": STRING, "count": INT}, ["name", "count"])},
    "patches": {"type": "array"}, "patchesStrategicMerge": {"type": "array"},
    "patchesJson6902": {"type": "array"}, "replacements": {"type": "array"},
    "configMapGenerator": {"type": "array"}, "secretGenerator": {"type": "array"},
    "generatorOptions": {"type": "object"}, "generators": STRINGS,
    "transformers": STRINGS, "validators": STRINGS, "buildMetadata": STRINGS,
    "sortOptions": {"type": "object"}, "openapi": {"type": "object"},
    "configurations": STRINGS, "vars": {"type": "array"},
    "helmCharts": {"type": "array"}, "helmGlobals": {"type": "object"},
}, ["apiVersion", "kind"])

SCHEMAS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): SERVICE_MONITOR,
    ("kustomize.config.k8s.io/v1beta1", "Kustomization"): KUSTOMIZATION,
}

failed = False
for path in sys.argv[1:]:
    try:
        with open(path) as f:
            documents = [d for d in yaml.load_all(f, Loader=StrictLoader) if d]
    except yaml.YAMLError as e:
        print(f"ERROR {path}: {e}")
        failed = True
        continue
    for document in documents:
        schema = SCHEMAS.get((document.get("apiVersion"), document.get("kind")))
        if schema is None:
            continue
        errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(document),
                        key=lambda e: list(e.path))
        for error in errors:
            at = ".".join(str(p) for p in error.path) or "(top level)"
            print(f"ERROR {path} {document['kind']}: {at}: {error.message}")
            failed = True
        if document["kind"] == "Kustomization":
            base = os.path.dirname(path)
            for resource in document.get("resources", []):
                if not os.path.exists(os.path.join(base, resource)):
                    print(f"ERROR {path}: resource {resource} does not exist")
                    failed = True
        if not errors:
            print(f"INFO {path} passed for {document['kind']}")
sys.exit(1 if failed else 0)
PY
