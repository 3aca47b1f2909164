/**
 * Start a worker thread on a script beside the caller: the .js when built; from source, the .ts
 * through tsx's loader, registered inside the thread first (a thread does not see the loader of a
 * process started with `tsx` or `node --import tsx`). The data-parallel shards and the model
 * server's generation thread both start theirs this way. processArgsBeside is the same for a
 * child process (the RL workers, the study's SFT items side by side).
 */
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";

/** `name`: the script's file name without extension; `callerUrl`: the caller's import.meta.url. */
export function startWorkerBeside(callerUrl: string, name: string): Worker {
  const ext = path.extname(fileURLToPath(callerUrl));
  const url = new URL(`./${name}${ext}`, callerUrl);
  if (ext !== ".ts") return new Worker(url);
  const api = JSON.stringify(import.meta.resolve("tsx/esm/api"));
  const boot =
    `import(${api}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })` +
    `.catch((e) => { console.error(e); process.exit(1); });`;
  return new Worker(boot, { eval: true });
}

/**
 * node's arguments to run the script `rel` (a path beside the caller, without extension) in a
 * child process: the .js when built; from source, the .ts through tsx's loader.
 */
export function processArgsBeside(callerUrl: string, rel: string): string[] {
  const here = fileURLToPath(callerUrl);
  const ext = path.extname(here);
  const file = path.join(path.dirname(here), `${rel}${ext}`);
  return ext === ".ts" ? ["--import", import.meta.resolve("tsx"), file] : [file];
}
