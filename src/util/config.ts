/**
 * JSON configs validated with zod. Every run kind has one strict schema (unknown fields are
 * errors) whose fields carry a default and a one-line `.describe()`; this module loads a file,
 * applies `--set a.b=value` overrides and turns zod's issues into messages a person can act on:
 *
 *   configs/x.json:12:5: field optim.lr: expected number, got string
 *   --set optim.lr: expected number, got string
 *   configs/x.json:3:12: invalid JSON: Expected ',' or '}' after property value
 *
 * A field's error names where its value was set: the file (through `extends`, the file in the
 * chain that set it) with the line and column of its key, or the `--set` override. A missing
 * field names the nearest enclosing object that was set, else the file loaded.
 *
 * A config file may start from another: `"extends": "reproduce.json"` (a path relative to the
 * file, or an absolute one, used as is) loads that one first and deep-merges this file's fields over it, so a variant holds only
 * what it changes. Objects merge key by key; arrays and scalars replace; `null` is a value (it
 * does not delete). To drop a field the base sets (so that the schema's "absent" applies, which
 * may differ from any value, e.g. a model without `positions`), list its dotted path under
 * `"unset"`. The resolved object is what gets validated, hashed and saved.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";

/** A config that could not be read or validated; the message names the source and the field. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Validate `value` against `schema`, filling defaults. `source` names where it came from. */
export function parseConfig<T>(value: unknown, schema: z.ZodType<T>, source: string): T {
  return validate(value, schema, () => ({ where: source }));
}

/** Where a field's value came from: `where` opens its error line; `set` is the `--set` key path that set it. */
interface Place {
  where: string;
  set?: string;
}

function validate<T>(value: unknown, schema: z.ZodType<T>, placeOf: (path: readonly PropertyKey[]) => Place): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const lines = result.error.issues.flatMap((issue) => formatIssue(issue, value, placeOf));
  throw new ConfigError(lines.join("\n"));
}

/** Read a JSON file and validate it (see parseConfig); `overrides` are `a.b=value` strings. */
export function loadConfig<T>(file: string, schema: z.ZodType<T>, overrides: readonly string[] = []): T {
  const { value: raw, origins } = readSourced(file, []);
  const value = overridesOnto(raw, overrides, origins);
  return validate(value, schema, (p) => placeAt(origins, p) ?? { where: file });
}

/**
 * Where each field of a resolved config was set, by path (pathKey): a file with the line and
 * column of its key (or of the array element), or a `--set` override.
 */
type Origin = { file: string; text: string; offset: number } | { set: string };
type Origins = Map<string, Origin>;

const pathKey = (p: readonly PropertyKey[]): string =>
  JSON.stringify(p.map((k) => (typeof k === "number" ? k : String(k))));

/** The origin of `path`, else of its nearest ancestor that has one, as the start of an error line. */
function placeAt(origins: Origins, p: readonly PropertyKey[]): Place | undefined {
  for (let n = p.length; n >= 1; n--) {
    const o = origins.get(pathKey(p.slice(0, n)));
    if (!o) continue;
    if ("set" in o) return { where: `--set ${o.set}`, set: o.set };
    const { line, column } = lineColumn(o.text, o.offset);
    return { where: `${o.file}:${line}:${column}` };
  }
  return undefined;
}

/** Forget the origins of `p` and everything under it (replaced or removed). */
function dropOrigins(origins: Origins, p: readonly PropertyKey[]): void {
  const prefix = pathKey(p).slice(0, -1);
  for (const k of [...origins.keys()]) if (k === `${prefix}]` || k.startsWith(`${prefix},`)) origins.delete(k);
}

/**
 * A config file's JSON with its `extends` chain resolved (see the header), not yet validated.
 * Errors name the file that is wrong, and a cycle names the whole chain.
 */
export function readConfigJson(file: string, chain: readonly string[] = []): unknown {
  return readSourced(file, chain).value;
}

/** readConfigJson, with the origin of every field (the file in the chain that set it, and where). */
function readSourced(file: string, chain: readonly string[]): { value: unknown; origins: Origins } {
  const resolved = path.resolve(file);
  if (chain.includes(resolved)) {
    throw new ConfigError(
      `${file}: extends cycle: ${[...chain, resolved].map((f) => path.relative(".", f)).join(" -> ")}`,
    );
  }
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(`${file}: cannot read config: ${(e as Error).message}`);
  }
  const raw = parseJsonText(text, file);
  const positions = jsonPositions(text);
  const own = (p: readonly PropertyKey[]): Origin => ({ file, text, offset: positions.get(pathKey(p)) ?? 0 });
  if (!isPlainObject(raw) || !("extends" in raw)) {
    if (isPlainObject(raw) && "unset" in raw)
      throw new ConfigError(`${file}: field unset: only allowed beside extends`);
    const origins: Origins = new Map();
    for (const k of positions.keys()) origins.set(k, own(JSON.parse(k) as PropertyKey[]));
    return { value: raw, origins };
  }
  const { extends: parent, unset = [], ...mine } = raw;
  if (typeof parent !== "string" || parent === "") {
    throw new ConfigError(`${file}: field extends: expected a file name (string), got ${typeName(parent)}`);
  }
  if (!Array.isArray(unset) || unset.some((u) => typeof u !== "string" || u === "")) {
    throw new ConfigError(`${file}: field unset: expected an array of dotted field paths (strings)`);
  }
  // An absolute path is used as is; a relative one is relative to this file's folder.
  const parentFile = path.isAbsolute(parent) ? parent : path.join(path.dirname(file), parent);
  const { value: base, origins } = readSourced(parentFile, [...chain, resolved]);
  for (const dotted of unset as string[]) {
    const keys = dotted.split(".");
    let obj: unknown = base;
    for (const k of keys.slice(0, -1)) obj = isPlainObject(obj) ? obj[k] : undefined;
    if (!isPlainObject(obj) || !(keys[keys.length - 1]! in obj)) {
      throw new ConfigError(`${file}: field unset: ${dotted} is not set in ${parent}`);
    }
    delete obj[keys[keys.length - 1]!];
    dropOrigins(origins, keys);
  }
  // This file's fields take over where deepMerge lets them: objects key by key, anything else whole.
  const mergeOrigins = (b: unknown, o: Record<string, unknown>, at: PropertyKey[]) => {
    for (const [k, v] of Object.entries(o)) {
      const p = [...at, k];
      const sub = isPlainObject(b) ? b[k] : undefined;
      if (isPlainObject(v) && isPlainObject(sub)) {
        origins.set(pathKey(p), own(p));
        mergeOrigins(sub, v, p);
        continue;
      }
      dropOrigins(origins, p);
      const prefix = pathKey(p).slice(0, -1);
      for (const key of positions.keys())
        if (key === `${prefix}]` || key.startsWith(`${prefix},`))
          origins.set(key, own(JSON.parse(key) as PropertyKey[]));
    }
  };
  mergeOrigins(base, mine, []);
  return { value: deepMerge(base, mine), origins };
}

/** `over` merged onto `base`: plain objects key by key, everything else replaced. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return structuredClone(over);
  const out: Record<string, unknown> = structuredClone(base);
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? deepMerge(out[k], v) : structuredClone(v);
  return out;
}

/**
 * Build a config from an optional file plus overrides; with no file the schema's defaults are
 * the base. This is what CLI commands call.
 */
export function resolveConfig<T>(file: string | undefined, schema: z.ZodType<T>, overrides: readonly string[] = []): T {
  if (file) return loadConfig(file, schema, overrides);
  const origins: Origins = new Map();
  const value = overridesOnto({}, overrides, origins);
  return validate(value, schema, (p) => placeAt(origins, p) ?? { where: overrides.length ? "--set" : "defaults" });
}

// ---------------------------------------------------------------------------------------------
// JSON text with line/column errors

/** JSON.parse, but a syntax error names `source:line:column`. */
export function parseJsonText(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const offset = locateJsonError(text);
    const { line, column } = lineColumn(text, offset);
    const reason = (e as Error).message
      .replace(/,? ?".*" is not valid JSON$/s, "")
      .replace(/ in JSON at position \d+.*$/s, "");
    throw new ConfigError(`${source}:${line}:${column}: invalid JSON: ${reason}`);
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split("\n");
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

/**
 * Where every value of a JSON text sits: pathKey(path) -> offset of its key (object members) or
 * of the element itself (array elements, numeric path entries). `text` must be valid JSON; a
 * repeated key keeps the last position, as JSON.parse keeps the last value.
 */
export function jsonPositions(text: string): Map<string, number> {
  const out = new Map<string, number>();
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const str = (): string => {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (at: PropertyKey[]): void => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      while (text[i] !== "}" && i < text.length) {
        ws();
        const keyAt = i;
        const p = [...at, str()];
        out.set(pathKey(p), keyAt);
        ws();
        i++; // the colon
        value(p);
        ws();
        if (text[i] === ",") i++;
        ws();
      }
      i++;
    } else if (c === "[") {
      i++;
      ws();
      for (let k = 0; text[i] !== "]" && i < text.length; k++) {
        ws();
        const p = [...at, k];
        out.set(pathKey(p), i);
        value(p);
        ws();
        if (text[i] === ",") i++;
        ws();
      }
      i++;
    } else if (c === '"') str();
    else while (i < text.length && !",]} \t\n\r".includes(text[i]!)) i++; // number, true, false, null
  };
  value([]);
  return out;
}

/**
 * Offset of the first JSON syntax error in `text` (V8's messages do not always carry one).
 * A minimal recursive-descent scanner over the JSON grammar; it builds nothing.
 */
export function locateJsonError(text: string): number {
  let i = 0;
  class Stop extends Error {}
  const fail = (): never => {
    throw new Stop();
  };
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const lit = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else fail();
  };
  const str = () => {
    if (text[i] !== '"') fail();
    i++;
    while (i < text.length && text[i] !== '"') {
      const c = text.charCodeAt(i);
      if (c < 0x20) fail();
      if (text[i] === "\\") {
        i++;
        if (text[i] === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 5;
        } else if (text[i] !== undefined && '"\\/bfnrt'.includes(text[i]!)) i++;
        else fail();
      } else i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  const num = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) fail();
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        str();
        ws();
        if (text[i] !== ":") fail();
        i++;
        value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return;
        }
        fail();
      }
    } else if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return;
        }
        fail();
      }
    } else if (c === '"') str();
    else if (c === "t") lit("true");
    else if (c === "f") lit("false");
    else if (c === "n") lit("null");
    else num();
  };
  try {
    value();
    ws();
    return Math.min(i, text.length);
  } catch (e) {
    if (e instanceof Stop) return Math.min(i, text.length);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// --set overrides

/**
 * Apply `a.b.c=value` overrides to a plain JSON value (returns a copy). The value is parsed as
 * JSON when it parses (`3`, `true`, `[0.9,0.95]`, `"x"`), else taken as a string (`name=run1`).
 * Validation happens afterwards with the schema, so a mistyped key is still an error.
 */
export function applyOverrides(base: unknown, overrides: readonly string[]): unknown {
  return overridesOnto(base, overrides);
}

/** applyOverrides, recording in `origins` that each overridden path (and all under it) came from its --set. */
function overridesOnto(base: unknown, overrides: readonly string[], origins?: Origins): unknown {
  const root: unknown = structuredClone(base ?? {});
  for (const o of overrides) {
    const eq = o.indexOf("=");
    if (eq <= 0) throw new ConfigError(`--set ${o}: expected key.path=value`);
    const keys = o.slice(0, eq).trim().split(".");
    if (keys.some((k) => k === "")) throw new ConfigError(`--set ${o}: empty key in '${o.slice(0, eq)}'`);
    const rawValue = o.slice(eq + 1);
    let value: unknown;
    try {
      value = JSON.parse(rawValue);
    } catch {
      value = rawValue;
    }
    let obj = root as Record<string, unknown>;
    if (!isPlainObject(obj)) throw new ConfigError(`--set ${o}: the config is not an object`);
    for (const k of keys.slice(0, -1)) {
      if (obj[k] === undefined) obj[k] = {};
      if (!isPlainObject(obj[k])) throw new ConfigError(`--set ${o}: field ${k} is not an object`);
      obj = obj[k] as Record<string, unknown>;
    }
    obj[keys[keys.length - 1]!] = value;
    if (origins) {
      dropOrigins(origins, keys);
      origins.set(pathKey(keys), { set: keys.join(".") });
    }
  }
  return root;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

// ---------------------------------------------------------------------------------------------
// zod issues -> messages

function typeName(v: unknown): string {
  if (v === undefined) return "nothing (missing)";
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number" && Number.isNaN(v)) return "NaN";
  return typeof v;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const k of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

function pathString(path: readonly PropertyKey[]): string {
  return path.map((k, idx) => (typeof k === "number" ? `[${k}]` : idx === 0 ? String(k) : `.${String(k)}`)).join("");
}

/**
 * An issue as error lines, each opening with where the field was set (placeOf): `file:line:col:
 * field a.b: ...`, or `--set a.b: ...` (the field named once when the override set exactly it).
 * Unknown fields: one line per key, each at its own place.
 */
function formatIssue(
  issue: z.core.$ZodIssue,
  input: unknown,
  placeOf: (path: readonly PropertyKey[]) => Place,
): string[] {
  const line = (p: readonly PropertyKey[], what: string, text: string) => {
    const place = placeOf(p);
    const name = pathString(p);
    const subject = place.set !== undefined && place.set === name ? "" : `${what}: `;
    return `${place.where}: ${subject}${text}`;
  };
  const path = pathString(issue.path);
  const where = path ? `field ${path}` : "config";
  switch (issue.code) {
    case "invalid_type":
      return [line(issue.path, where, `expected ${issue.expected}, got ${typeName(valueAt(input, issue.path))}`)];
    case "unrecognized_keys":
      return issue.keys.map((k) => {
        const p = [...issue.path, k];
        const place = placeOf(p);
        return `${place.where}: unknown field ${pathString(p)}`;
      });
    case "invalid_value":
      return [
        line(
          issue.path,
          where,
          `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(" | ")}, got ${JSON.stringify(valueAt(input, issue.path))}`,
        ),
      ];
    default:
      return [line(issue.path, where, issue.message)];
  }
}

// ---------------------------------------------------------------------------------------------
// Describing a schema (for --help and docs)

export interface FieldDoc {
  /** Dotted path, e.g. `optim.lr`. */
  path: string;
  /** A short type, e.g. `number`, `integer`, `string`, `"a" | "b"`, `[number, number]`. */
  type: string;
  /** The default as JSON text, or undefined when the field has none (required or optional). */
  default: string | undefined;
  description: string;
}

interface JsonSchemaNode {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchemaNode>;
  enum?: unknown[];
  prefixItems?: JsonSchemaNode[];
  items?: JsonSchemaNode | false;
  anyOf?: JsonSchemaNode[];
  const?: unknown;
}

function shortType(node: JsonSchemaNode): string {
  if (node.enum) return node.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (node.const !== undefined) return JSON.stringify(node.const);
  if (node.anyOf) return node.anyOf.map(shortType).join(" | ");
  if (node.type === "array") {
    if (node.prefixItems) return `[${node.prefixItems.map(shortType).join(", ")}]`;
    if (node.items) return `${shortType(node.items)}[]`;
    return "array";
  }
  if (Array.isArray(node.type)) return node.type.join(" | ");
  return node.type ?? "any";
}

/** Every leaf field of an object schema with its type, default and description. */
export function describeSchema(schema: z.ZodType): FieldDoc[] {
  const root = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchemaNode;
  const out: FieldDoc[] = [];
  const walk = (node: JsonSchemaNode, prefix: string) => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const p = prefix ? `${prefix}.${key}` : key;
      if (child.type === "object" && child.properties) {
        walk(child, p);
        continue;
      }
      out.push({
        path: p,
        type: shortType(child),
        default: child.default === undefined ? undefined : JSON.stringify(child.default),
        description: child.description ?? "",
      });
    }
  };
  walk(root, "");
  return out;
}

/** The fields as aligned text lines: `  optim.lr  number = 0.001  learning rate`. */
export function formatSchemaHelp(schema: z.ZodType): string {
  const docs = describeSchema(schema);
  const left = docs.map((d) => `${d.path} (${d.type})${d.default !== undefined ? ` = ${d.default}` : ""}`);
  const width = Math.max(0, ...left.map((l) => l.length));
  return docs.map((d, i) => `  ${left[i]!.padEnd(width)}  ${d.description}`).join("\n");
}
