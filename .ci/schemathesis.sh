#!/usr/bin/env bash
# Schemathesis against the gateway on SQLite and on PostgreSQL: every operation of
# openapi/scim-bridge.yaml with a bounded number of generated requests (valid and invalid),
# failing on any 5xx and on any answer the document does not describe (status, content type,
# headers, body). Called by .ci/run after the tests, with the debug binary they built.
set -euo pipefail
cd "$(dirname "$0")/.."

bin="$PWD/target/debug/scim-bridge"
# pip puts `st` beside the interpreter, which need not be on PATH.
st="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/st"
examples="${SCHEMATHESIS_MAX_EXAMPLES:-10}"
work="$(mktemp -d)"
pg_db="scim_schemathesis_$$"
cleanup() {
  [[ -n "${pid:-}" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  psql "$TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $pg_db" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

minted="$("$bin" token)"
token="$(sed -n 's/^token: //p' <<<"$minted")"
hashes="$(grep '^bearer_token_hashes' <<<"$minted")"

run_against() {
  local backend="$1" store_url="$2"
  cat >"$work/config.toml" <<TOML
[server]
listen = "127.0.0.1:0"
[store]
url = "$store_url"
[admin]
auth.$hashes
[connectors.directory]
kind = "directory"
auth.$hashes
TOML
  "$bin" serve --config "$work/config.toml" >"$work/stdout" 2>"$work/stderr" &
  pid=$!
  local base=""
  for _ in $(seq 1 100); do
    base="$(sed -n 's#^scim-bridge: SCIM endpoint \(http://[^/]*\)/.*#\1#p' "$work/stdout" | head -1)"
    [[ -n "$base" ]] && break
    sleep 0.1
  done
  [[ -n "$base" ]] || { cat "$work/stderr" >&2; echo "the gateway did not start ($backend)" >&2; exit 1; }
  echo "== schemathesis on $backend ($base, $examples examples per operation)"
  (cd .ci && "$st" run ../openapi/scim-bridge.yaml --url "$base" \
    -H "Authorization: Bearer $token" \
    --max-examples "$examples" --seed 1 \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --no-color)
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
}

run_against sqlite "sqlite://$work/schemathesis.db"
psql "$TEST_DATABASE_URL" -qc "CREATE DATABASE $pg_db" >/dev/null
run_against postgres "${TEST_DATABASE_URL%/*}/$pg_db"
