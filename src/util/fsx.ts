import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";

/**
 * Write a file atomically: write to a temporary sibling, fsync, then rename. A crash leaves
 * either the old file or the new one, never a half-written file.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  writeDurable(tmp, data);
  fs.renameSync(tmp, file);
}

/** Write and fsync a file in place (callers that rename whole directories use this). */
export function writeDurable(file: string, data: string | Uint8Array): void {
  const fd = fs.openSync(file, "w");
  try {
    if (typeof data === "string") fs.writeSync(fd, data);
    else fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + "\n");
}

/** Append one JSON object as a line (metrics logs). */
export function appendJsonl(file: string, record: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.appendFileSync(file, JSON.stringify(record) + "\n");
}

/**
 * Read a JSONL file; a name ending in `.gz` (`rows.jsonl.gz`) is gunzipped first. A malformed
 * line throws an error naming the file and the 1-based line (of the uncompressed text), a broken
 * gzip stream one naming the file; blank lines are skipped.
 */
export function readJsonl<T = unknown>(file: string): T[] {
  const text = readMaybeGzipped(file);
  const out: T[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch (e) {
      throw new Error(`${file}:${i + 1}: malformed JSON line: ${(e as Error).message}`);
    }
  }
  return out;
}

/** A text file, gunzipped when its name ends in `.gz`. */
function readMaybeGzipped(file: string): string {
  if (!file.endsWith(".gz")) return fs.readFileSync(file, "utf8");
  const raw = fs.readFileSync(file);
  try {
    return zlib.gunzipSync(raw).toString("utf8");
  } catch (e) {
    throw new Error(`${file}: not a readable gzip file: ${(e as Error).message}`);
  }
}

/**
 * Names of the sub-folders of `dir`, following symbolic links (a runs folder assembled from links
 * to run folders elsewhere must read like one holding them); sorted. [] when `dir` does not exist.
 */
export function subdirectories(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter(
      (e) =>
        e.isDirectory() ||
        (e.isSymbolicLink() && fs.statSync(path.join(dir, e.name), { throwIfNoEntry: false })?.isDirectory() === true),
    )
    .map((e) => e.name)
    .sort();
}
