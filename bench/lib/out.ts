/**
 * Where `npm run bench` writes its JSON. A run is settled when the 1-minute load average at its
 * start is at most SETTLED_LOAD; an unsettled run never silently replaces a settled
 * results/bench.json (the one an idle machine produced), but goes to a side file instead.
 */
import * as fs from "node:fs";
import { SETTLED_LOAD } from "../../src/profile/report.js";

/**
 * --out as given (or with --force) always; otherwise `out`, unless this run is unsettled and
 * `out` holds a settled run: then `sideFile`, with the reason.
 */
export function chooseOut(
  s: { out: string; outGiven: boolean; force: boolean },
  settled: boolean,
  sideFile: string,
): { file: string; why: string | null } {
  if (s.outGiven || s.force || settled || !fs.existsSync(s.out)) return { file: s.out, why: null };
  let existing: { settled?: unknown } | null = null;
  try {
    existing = JSON.parse(fs.readFileSync(s.out, "utf8")) as { settled?: unknown };
  } catch {
    /* unreadable: nothing worth keeping */
  }
  if (existing?.settled !== true) return { file: s.out, why: null };
  return {
    file: sideFile,
    why: `${s.out}: it holds a settled run and this one is not (load above ${SETTLED_LOAD}); --force or --out replaces it`,
  };
}
