/**
 * One scoring worker thread (see score-pool.ts): body bytes in, {status, body bytes, items} out.
 */
import { parentPort, workerData } from "node:worker_threads";
import { scoreBody, scorerFromSpec, transferable, type ScorerSpec } from "./score-pool.js";

const cfg = scorerFromSpec(workerData as ScorerSpec);
parentPort!.on("message", (body: Uint8Array) => {
  const r = scoreBody(body, cfg);
  parentPort!.postMessage(r, transferable(r.body)); // the reply's bytes move, not copied
});
