/**
 * A folder's exact contents (every file's sha256 and size, by relative path, and every empty
 * folder), to show that a refused command left it byte-identical.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export function snapshotDir(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    const entries = fs.readdirSync(d, { withFileTypes: true });
    if (entries.length === 0) out[`${path.relative(dir, d)}/`] = "";
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const bytes = fs.readFileSync(p);
        out[path.relative(dir, p)] =
          `${bytes.length} bytes, sha256 ${createHash("sha256").update(bytes).digest("hex")}`;
      }
    }
  };
  walk(dir);
  return out;
}
