/**
 * One scoring worker thread (see score-pool.ts): body bytes in, {status, body, items} out.
 */
import { parentPort, workerData } from "node:worker_threads";
import { scoreBody, scorerFromSpec, type ScorerSpec } from "./score-pool.js";

const cfg = scorerFromSpec(workerData as ScorerSpec);
parentPort!.on("message", (body: Uint8Array) => {
  parentPort!.postMessage(scoreBody(body, cfg));
});
