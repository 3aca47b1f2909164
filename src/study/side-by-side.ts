/**
 * Two SFT work items at once (issue 31): each SFT seed of an experiment is an independent item, and
 * the data-parallel SFT step leaves part of both cores idle (the threads wait for each other, the
 * optimizer runs on one). Two seeds side by side fill those gaps: B's seeds 2 and 3 took 380 s
 * together where one took 227 s alone (docs/results.md). Each item runs as the cluster would run
 * it, `bcr study --phase sft --sft-seed K` in a process of its own (docs/cluster.md), so nothing
 * of the training changes: a shard's arithmetic does not depend on which thread or process
 * computes it, and the rows stay byte-identical.
 *
 * Time accounting: the stage times the rows record are each seed's own (its stage markers and
 * gate), which for items side by side add up to more than the time that passed. So each seed's
 * data, SFT and gate times are scaled by elapsed / (the items' own times added), recorded in
 * <seed>/side-by-side.json, and the study's `wall_s` stays elapsed time (timeShare).
 *
 * Stopping: a stop request (the runner's AbortSignal, Ctrl-C) is passed to both processes as
 * SIGINT; each stops after its current step with a checkpoint, as `bcr study` does, and resumes
 * from it next time. They run in their own process groups, so the terminal's Ctrl-C reaches them
 * only through this process.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { childBackendEnv } from "../engine/backend.js";
import { processArgsBeside } from "../util/worker.js";
import { layout, type Log } from "../reproduce/layout.js";
import { readMarker } from "../reproduce/stages.js";
import { writeJsonAtomic } from "../util/fsx.js";

const SHARE_FILE = "side-by-side.json";

export interface SideBySideItem {
  /** The SFT seed. */
  k: number;
  /** Its folder, <runs>/<id>/sft-<k>. */
  dir: string;
}

export interface SideBySideOptions {
  studyFile: string;
  experiment: string;
  runs: string;
  out: string;
  backend?: string;
  log: Log;
  signal?: AbortSignal;
}

/** A seed's own data, SFT and gate seconds so far (its markers and gate.json). */
function ownSeconds(dir: string): number {
  let s = 0;
  for (const stage of ["data", "sft"]) s += readMarker(dir, stage)?.wall_s ?? 0;
  const gate = path.join(dir, "gate.json");
  if (fs.existsSync(gate)) s += (JSON.parse(fs.readFileSync(gate, "utf8")) as { wall_s?: number }).wall_s ?? 0;
  return s;
}

/**
 * The factor a seed's data, SFT and gate times are scaled by in the rows' stage times: 1 for a
 * seed that ran alone, elapsed / (own times added) for one that ran beside another.
 */
export function timeShare(dir: string): number {
  const f = path.join(dir, SHARE_FILE);
  if (!fs.existsSync(f)) return 1;
  const r = JSON.parse(fs.readFileSync(f, "utf8")) as { factor?: unknown };
  if (typeof r.factor !== "number" || !(r.factor > 0 && r.factor <= 1))
    throw new Error(`${f}: factor must be a number in (0, 1], got ${JSON.stringify(r.factor)}`);
  return r.factor;
}

/**
 * Runs `bcr study --phase sft` for each item at once, each in its own process, and waits for all.
 * Resolves once every one succeeded; rejects naming the item and its log (<dir>/sft-item.log)
 * when one failed, after the others have finished. Returns false when stopped.
 */
export async function sftSideBySide(items: SideBySideItem[], o: SideBySideOptions): Promise<boolean> {
  const before = items.map((it) => ownSeconds(it.dir));
  const t0 = performance.now();
  const children: ChildProcess[] = [];
  const onAbort = () => {
    for (const c of children) c.kill("SIGINT");
  };
  o.signal?.addEventListener("abort", onAbort);
  const progress = setInterval(
    () => o.log(`[study] ${o.experiment} ${items.map((it) => progressOf(it)).join(", ")}`),
    60_000,
  );
  try {
    const results = await Promise.allSettled(items.map((it) => runItem(it, o, children)));
    const failed = results.flatMap((r, i) =>
      r.status === "rejected" ? [`sft-${items[i]!.k}: ${(r.reason as Error).message}`] : [],
    );
    if (o.signal?.aborted) return false;
    if (failed.length) throw new Error(`SFT items side by side failed: ${failed.join("; ")}`);
  } finally {
    clearInterval(progress);
    o.signal?.removeEventListener("abort", onAbort);
  }
  const elapsed = (performance.now() - t0) / 1000;
  const own = items.map((it, i) => Math.max(0, ownSeconds(it.dir) - before[i]!));
  const total = own.reduce((a, b) => a + b, 0);
  // Nothing ran (every item was done before): no share to record.
  if (total <= 0) return true;
  const factor = Math.min(1, elapsed / total);
  for (const [i, it] of items.entries())
    writeJsonAtomic(path.join(it.dir, SHARE_FILE), {
      with: items.filter((_, j) => j !== i).map((x) => x.k),
      elapsed_s: elapsed,
      own_s: own[i],
      factor,
    });
  o.log(
    `[study] ${o.experiment} ${items.map((it) => `sft-${it.k}`).join(" and ")} side by side: ${elapsed.toFixed(0)} s elapsed, ` +
      `${total.toFixed(0)} s of their own (each seed's stage times are scaled by ${factor.toFixed(3)})`,
  );
  return true;
}

/** "sft-K step S/N" from the SFT run's metrics, or "sft-K" before its first step. */
function progressOf(it: SideBySideItem): string {
  const f = path.join(layout(it.dir, "unused").sft, "metrics.jsonl");
  try {
    const lines = fs.readFileSync(f, "utf8").trimEnd().split("\n");
    const last = JSON.parse(lines[lines.length - 1]!) as { step?: number };
    return `sft-${it.k} step ${last.step ?? "?"}`;
  } catch {
    return `sft-${it.k}`;
  }
}

function runItem(it: SideBySideItem, o: SideBySideOptions, children: ChildProcess[]): Promise<void> {
  fs.mkdirSync(it.dir, { recursive: true });
  const logFile = path.join(it.dir, "sft-item.log");
  const logFd = fs.openSync(logFile, "a");
  const args = [
    ...processArgsBeside(import.meta.url, "../cli/main"),
    "study",
    "--config",
    o.studyFile,
    "--experiment",
    o.experiment,
    "--phase",
    "sft",
    "--sft-seed",
    String(it.k),
    "--runs",
    o.runs,
    "--out",
    o.out,
    "--quiet",
    ...(o.backend ? ["--backend", o.backend] : []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      stdio: ["ignore", logFd, "pipe"],
      // Its own process group: a Ctrl-C in the terminal reaches it once, through this process
      // (onAbort), not twice (a second SIGINT would stop it without its checkpoint).
      detached: true,
      env: childBackendEnv(),
    });
    children.push(child);
    let pending = "";
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      fs.appendFileSync(logFile, chunk);
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        // The item's own lines (its stages and gate), not the plan every `bcr study` prints, nor
        // its own ETA (the parent's counts both items) or its gate verdict (the parent logs it).
        if (/^\[reproduce\] (data|sft):|^\[study\] \S+ sft-\d+: /.test(line) && !/: gate (passed|failed)/.test(line))
          o.log(`[sft-${it.k}] ${line.replace(/; \d+\/\d+ items, elapsed .*$/, "")}`);
      }
    });
    child.on("error", (e) => {
      fs.closeSync(logFd);
      reject(e);
    });
    child.on("close", (code, signal) => {
      fs.closeSync(logFd);
      if (code === 0) resolve();
      else reject(new Error(`exited ${signal ?? code}; see ${logFile}`));
    });
  });
}
