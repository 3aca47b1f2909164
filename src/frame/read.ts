/**
 * Record files, read with their place so that every error can name it: a `.jsonl` file (one JSON
 * object a line, blank lines skipped), a `.json` file (one object, or an array of objects), either
 * gzipped (recognised by its magic bytes, so `.jsonl.gz`, `.json.gz` and a gzipped file under any
 * name all read). `where` is `file:line` for JSONL, `file` for a JSON object and `file[i]` for an
 * element of a JSON array; the checks below (`need`, `optional`) put it first in their messages.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";

const gunzipAsync = promisify(gunzip);

export type Obj = Record<string, unknown>;

/** One record of a file and where it came from. */
export interface Located {
  where: string;
  value: Obj;
}

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** The text of a file, gunzipped when it starts with gzip's magic bytes (1f 8b). */
export async function readText(file: string): Promise<string> {
  const bytes = await fs.promises.readFile(file);
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes.toString("utf8");
  try {
    return (await gunzipAsync(bytes)).toString("utf8");
  } catch (e) {
    throw new Error(`${file}: not a readable gzip file (${(e as Error).message})`);
  }
}

/** Whether a file name is read as JSON Lines (.jsonl, .jsonl.gz, .ndjson); anything else as one JSON value. */
export function isJsonl(file: string): boolean {
  return /\.(jsonl|ndjson)(\.gz)?$/i.test(path.basename(file));
}

/** Every record of a file, each with its place. A line or file that is not a JSON object throws, naming it. */
export async function readRecords(file: string): Promise<Located[]> {
  if (isJsonl(file))
    return (await readLines(file)).map(({ where, value }) => {
      if (!isObj(value)) throw new Error(`${where}: expected a JSON object, got ${describe(value)}`);
      return { where, value };
    });
  const text = await readText(file);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not JSON (${(e as Error).message})`);
  }
  if (Array.isArray(value))
    return value.map((v, i) => {
      if (!isObj(v)) throw new Error(`${file}[${i}]: expected a JSON object, got ${describe(v)}`);
      return { where: `${file}[${i}]`, value: v };
    });
  if (!isObj(value)) throw new Error(`${file}: expected a JSON object or an array of them, got ${describe(value)}`);
  return [{ where: file, value }];
}

/** Every line of a JSONL file as parsed JSON of any kind (objects, arrays of a columnar file), with its place. */
export async function readLines(file: string): Promise<{ where: string; value: unknown }[]> {
  const out: { where: string; value: unknown }[] = [];
  (await readText(file)).split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const where = `${file}:${i + 1}`;
    try {
      out.push({ where, value: JSON.parse(line) });
    } catch (e) {
      throw new Error(`${where}: not JSON (${(e as Error).message})`);
    }
  });
  return out;
}

export function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  const s = JSON.stringify(v);
  return `${typeof v} ${s.length > 40 ? `${s.slice(0, 40)}...` : s}`;
}

type Kind = "string" | "number" | "boolean" | "array" | "object";
type KindOf<K extends Kind> = K extends "string"
  ? string
  : K extends "number"
    ? number
    : K extends "boolean"
      ? boolean
      : K extends "array"
        ? unknown[]
        : Obj;

function hasKind(v: unknown, kind: Kind): boolean {
  if (kind === "array") return Array.isArray(v);
  if (kind === "object") return isObj(v);
  if (kind === "number") return typeof v === "number" && Number.isFinite(v);
  return typeof v === kind;
}

/** `o[key]`, which must be present and of `kind`; the error names where, the key and what was found. */
export function need<K extends Kind>(o: Obj, key: string, kind: K, where: string): KindOf<K> {
  if (!(key in o) || o[key] === undefined) throw new Error(`${where}: column "${key}" is missing`);
  const v = o[key];
  if (!hasKind(v, kind)) throw new Error(`${where}: "${key}" should be a ${kind}, got ${describe(v)}`);
  return v as KindOf<K>;
}

/** `o[key]` when present and not null (then it must be of `kind`), else `fallback`. */
export function optional<K extends Kind, F>(o: Obj, key: string, kind: K, where: string, fallback: F): KindOf<K> | F {
  const v = o[key];
  if (v === undefined || v === null) return fallback;
  if (!hasKind(v, kind)) throw new Error(`${where}: "${key}" should be a ${kind}, got ${describe(v)}`);
  return v as KindOf<K>;
}

/** Folders a search never enters: dependencies, hidden folders, model checkpoints. */
const SKIP = new Set(["node_modules", "checkpoints", "dist"]);

/**
 * Files under `dir` (at any depth, following symbolic links to folders) whose name `accept`s,
 * sorted by path so that the order of rows never depends on the file system.
 */
export function findFiles(dir: string, accept: (name: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const isDir = e.isDirectory() || (e.isSymbolicLink() && fs.statSync(p, { throwIfNoEntry: false })?.isDirectory());
      if (isDir) {
        if (!SKIP.has(e.name) && !e.name.startsWith(".")) walk(p);
      } else if (accept(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * The `experiment` of a file found under `root`: the folder path from `root` to the layout's own
 * root, "/"-separated, or "default" when that is `root` itself. `marker` names the folder a layout
 * puts its files under (`eval` for `<exp>/eval/<method>/[seed-<k>/]eval.json`, `rl` for
 * `<exp>/rl/<method>/seed-<k>/`): the path before its last occurrence counts (none: "default").
 * Without a marker (an archive, `<exp>/eval-rows.jsonl.gz`) the file's whole folder counts.
 */
export function experimentOf(root: string, file: string, marker?: string): string {
  const parts = path
    .relative(root, path.dirname(file))
    .split(path.sep)
    .filter((p) => p !== "" && p !== ".");
  const cut = marker === undefined ? parts.length : parts.lastIndexOf(marker);
  const head = parts.slice(0, Math.max(0, cut));
  return head.length ? head.join("/") : "default";
}
