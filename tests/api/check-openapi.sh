#!/usr/bin/env bash
# Validates api/openapi.yaml for real:
#   1. against the OpenAPI 3.1 meta-schema with @seriousme/openapi-schema-validator
#      (its `validate-api` CLI; it also fails on a local $ref it cannot resolve);
#   2. with our own pass over the document: every $ref is local and resolves, every
#      component schema compiles under JSON Schema 2020-12 (Ajv, strict: typos in
#      keywords fail), every example matches its schema (NDJSON examples line by
#      line), operationIds are present and unique.
#
# Usage: tests/api/check-openapi.sh [SOURCE_DIR]   (default: this checkout)
#
# The validator is installed from the npm registry into a cache outside the source
# tree, ${HD_NPM_PREFIX:-/var/cache/hostd-test/npm}, once. Exit status: 0 valid,
# 1 invalid, 77 (ctest: skipped) when node/npm are missing or the install fails
# — set HD_REQUIRE_VALIDATOR=1 to turn that into a failure.
set -euo pipefail

VALIDATOR_PKG='@seriousme/openapi-schema-validator@^2.11.0'

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "${1:-$here/../..}" && pwd)
doc="$src/api/openapi.yaml"

skip() {
        echo "check-openapi: $*" >&2
        if [[ "${HD_REQUIRE_VALIDATOR:-0}" == 1 ]]; then
                exit 1
        fi
        echo "check-openapi: SKIPPED (set HD_REQUIRE_VALIDATOR=1 to make this fatal)" >&2
        exit 77
}

[[ -r "$doc" ]] || { echo "check-openapi: $doc not found" >&2; exit 1; }
command -v node >/dev/null || skip "node not found (apt-get install nodejs npm)"

prefix=${HD_NPM_PREFIX:-/var/cache/hostd-test/npm}
if ! mkdir -p "$prefix" 2>/dev/null || [[ ! -w "$prefix" ]]; then
        prefix=${XDG_CACHE_HOME:-$HOME/.cache}/hostd-test/npm
        mkdir -p "$prefix"
fi
bin="$prefix/node_modules/.bin/validate-api"

if [[ ! -x "$bin" ]]; then
        command -v npm >/dev/null || skip "npm not found (apt-get install npm)"
        echo "check-openapi: installing $VALIDATOR_PKG into $prefix" >&2
        # Serialise concurrent installs (parallel ctest, several build trees).
        exec 9>"$prefix/.install.lock"
        flock 9 2>/dev/null || true
        if [[ ! -x "$bin" ]]; then
                log="$prefix/.install.log"
                if ! npm install --prefix "$prefix" --no-audit --no-fund --no-save \
                        "$VALIDATOR_PKG" >"$log" 2>&1; then
                        cat "$log" >&2
                        skip "npm install $VALIDATOR_PKG failed"
                fi
        fi
        exec 9>&-
fi
version=$(node -p "require('$prefix/node_modules/@seriousme/openapi-schema-validator/package.json').version")
echo "check-openapi: $doc"
echo "check-openapi: @seriousme/openapi-schema-validator $version"

status=0

# 1. The meta-schema (and reference resolution) check.
if out=$("$bin" "$doc" 2>&1); then
        echo "check-openapi: validate-api: valid"
else
        echo "check-openapi: validate-api: INVALID" >&2
        printf '%s\n' "$out" >&2
        status=1
fi

# 2. Our own checks. ajv, ajv-formats and yaml come with the validator.
if ! NODE_PATH="$prefix/node_modules" node - "$doc" <<'JS'
"use strict";
const fs = require("fs");
const YAML = require("yaml");
const Ajv2020 = require("ajv/dist/2020").default;
const addFormats = require("ajv-formats").default || require("ajv-formats");

const file = process.argv[2];
const problems = [];
const bad = (msg) => problems.push(msg);

const parsed = YAML.parseDocument(fs.readFileSync(file, "utf8"), { uniqueKeys: true });
for (const e of parsed.errors) bad(`YAML: ${e.message}`);
for (const w of parsed.warnings) bad(`YAML warning: ${w.message}`);
if (parsed.errors.length) { problems.forEach((p) => console.error(p)); process.exit(1); }
const doc = parsed.toJS({ maxAliasCount: -1 });

// --- every $ref is local and resolves -------------------------------------
const unescape = (s) => decodeURIComponent(s).replace(/~1/g, "/").replace(/~0/g, "~");
function resolve(ref) {
  if (!ref.startsWith("#/")) return undefined;
  let node = doc;
  for (const part of ref.slice(2).split("/").map(unescape)) {
    if (node === null || typeof node !== "object" || !(part in node)) return undefined;
    node = node[part];
  }
  return node;
}
let nrefs = 0;
(function walk(node, where) {
  if (Array.isArray(node)) { node.forEach((v, i) => walk(v, `${where}/${i}`)); return; }
  if (node === null || typeof node !== "object") return;
  for (const [k, v] of Object.entries(node)) {
    if (k === "$ref" && typeof v === "string") {
      nrefs++;
      if (!v.startsWith("#/")) bad(`${where}: $ref ${v} is not local to this document`);
      else if (resolve(v) === undefined) bad(`${where}: $ref ${v} does not resolve`);
    } else {
      walk(v, `${where}/${k.replace(/~/g, "~0").replace(/\//g, "~1")}`);
    }
  }
})(doc, "#");

// --- schemas compile (strict) and examples match -----------------------------
const ajv = new Ajv2020({ strict: true, strictTypes: false, strictRequired: false, strictTuples: false,
                          allErrors: true, validateFormats: true });
addFormats(ajv);
for (const f of ["int32", "int64", "float", "double", "password"]) ajv.addFormat(f, true);
for (const k of ["example", "discriminator", "xml", "externalDocs"]) ajv.addKeyword(k);
// The whole document is registered as one schema, so that "#/components/..." refs
// resolve and any schema in it can be fetched by JSON pointer. Its top-level
// OpenAPI fields are declared as inert keywords for strict mode.
for (const k of Object.keys(doc)) if (!k.startsWith("$")) ajv.addKeyword(k);
const base = "urn:hostd:openapi";
try {
  ajv.addSchema({ ...doc, $id: base }, base);
} catch (e) { bad(`document: ${e.message}`); }
const ptr = (parts) => "#/" + parts.map((p) => String(p).replace(/~/g, "~0").replace(/\//g, "~1")).join("/");
const compiled = new Map();
function validator(schemaPath) {
  // schemaPath: a JSON pointer (without the "#") into the document
  if (compiled.has(schemaPath)) return compiled.get(schemaPath);
  let v = null;
  try {
    v = ajv.getSchema(base + "#" + schemaPath) || null;
    if (!v) bad(`${schemaPath}: no schema there`);
  } catch (e) { bad(`${schemaPath}: schema does not compile: ${e.message}`); }
  compiled.set(schemaPath, v);
  return v;
}
function check(schemaPath, value, what) {
  const v = validator(schemaPath);
  if (v && !v(value)) bad(`${what} does not match its schema: ${ajv.errorsText(v.errors, { dataVar: "value" })}`);
}
let nschemas = 0, nexamples = 0;
const schemas = (doc.components && doc.components.schemas) || {};
for (const name of Object.keys(schemas)) {
  nschemas++;
  validator(`/components/schemas/${name}`);
}
// examples inside component schemas (any depth)
(function walk(node, parts) {
  if (Array.isArray(node)) { node.forEach((v, i) => walk(v, [...parts, i])); return; }
  if (node === null || typeof node !== "object") return;
  if (Array.isArray(node.examples) && parts.length > 0) {
    node.examples.forEach((ex, i) => {
      nexamples++;
      check(ptr(parts).slice(1), ex, `${ptr(parts)}/examples/${i}`);
    });
  }
  for (const [k, v] of Object.entries(node)) if (k !== "examples" && k !== "enum" && k !== "const" && k !== "default") walk(v, [...parts, k]);
})(schemas, ["components", "schemas"]);

// examples of media types, parameters and headers, wherever they are
function mediaExamples(mt, parts, type) {
  if (!mt || !mt.schema) return;
  const sp = ptr([...parts, "schema"]).slice(1);
  const sv = mt.schema.$ref ? mt.schema.$ref.slice(1) : sp;
  const values = [];
  if ("example" in mt) values.push(["example", mt.example]);
  for (const [n, ex] of Object.entries(mt.examples || {})) {
    const e = ex.$ref ? resolve(ex.$ref) : ex;
    if (e && "value" in e) values.push([`examples/${n}`, e.value]);
  }
  for (const [n, val] of values) {
    const where = `${ptr(parts)}/${n}`;
    if (type === "application/x-ndjson" && typeof val === "string") {
      val.split("\n").filter((l) => l.trim()).forEach((line, i) => {
        nexamples++;
        let obj;
        try { obj = JSON.parse(line); } catch (e) { bad(`${where} line ${i + 1}: not JSON: ${e.message}`); return; }
        check(sv, obj, `${where} line ${i + 1}`);
      });
    } else {
      nexamples++;
      check(sv, val, where);
    }
  }
}
(function walk(node, parts) {
  if (Array.isArray(node)) { node.forEach((v, i) => walk(v, [...parts, i])); return; }
  if (node === null || typeof node !== "object") return;
  if (parts[parts.length - 1] === "schemas" && parts[parts.length - 2] === "components") return;
  if (node.content && typeof node.content === "object" && !Array.isArray(node.content))
    for (const [type, mt] of Object.entries(node.content)) mediaExamples(mt, [...parts, "content", type], type);
  if (node.schema && "example" in node &&
      (typeof node.in === "string" || parts[parts.length - 2] === "headers")) {   // parameter or header
    nexamples++;
    const sv = node.schema.$ref ? node.schema.$ref.slice(1) : ptr([...parts, "schema"]).slice(1);
    check(sv, node.example, `${ptr(parts)}/example`);
  }
  for (const [k, v] of Object.entries(node)) walk(v, [...parts, k]);
})(doc, []);

// --- operations --------------------------------------------------------------
const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const ids = new Map();
let nops = 0;
for (const [path, item] of Object.entries(doc.paths || {})) {
  for (const m of methods) {
    const op = item[m];
    if (!op) continue;
    nops++;
    const where = `${m.toUpperCase()} ${path}`;
    if (!op.operationId) bad(`${where}: no operationId`);
    else if (ids.has(op.operationId)) bad(`${where}: operationId ${op.operationId} also used by ${ids.get(op.operationId)}`);
    else ids.set(op.operationId, where);
    if (!op.description && !op.summary) bad(`${where}: no description`);
    const declared = new Set([...(item.parameters || []), ...(op.parameters || [])]
      .map((p) => (p.$ref ? resolve(p.$ref) : p)).filter((p) => p && p.in === "path").map((p) => p.name));
    for (const [, name] of path.matchAll(/\{([^}]+)\}/g))
      if (!declared.has(name)) bad(`${where}: path parameter {${name}} not declared`);
  }
}

if (problems.length) {
  problems.forEach((p) => console.error(`check-openapi: ${p}`));
  process.exit(1);
}
console.log(`check-openapi: ${nops} operations, ${nrefs} $refs resolved, ${nschemas} schemas compiled, ${nexamples} examples match`);
JS
then
        status=1
fi

if [[ $status -ne 0 ]]; then
        echo "check-openapi: $doc is NOT valid" >&2
else
        echo "check-openapi: $doc is valid"
fi
exit $status
