/**
 * One thread of the bench's decode measurement (decode.ts), set up as an eval thread of
 * src/reproduce/eval-pool.ts is: its own backend (the starting thread's backend and kernel set)
 * and its own GPT of the given shape. It samples its prompts with the KV cache (temperature 1,
 * no stop tokens, so every sequence writes all its new tokens) once untimed, then `rounds` times
 * on "go", and reports the tokens and the seconds.
 */
import { parentPort } from "node:worker_threads";
import { initBackend } from "../../src/engine/backend.js";
import { GPT } from "../../src/model/gpt.js";
import { Rng } from "../../src/util/rng.js";
import type { FromDecodeThread, ToDecodeThread } from "./decode.js";

const send = (m: FromDecodeThread) => parentPort!.postMessage(m);
let job: Extract<ToDecodeThread, { kind: "init" }> | null = null;
let gpt: GPT | null = null;

const generate = (newTokens: number, seed: number) =>
  gpt!.generate(job!.prompts, {
    maxNewTokens: newTokens,
    rng: new Rng(seed),
    useCache: true,
    stopTokens: [],
    temperature: 1,
  });

parentPort!.on("message", async (m: ToDecodeThread) => {
  try {
    if (m.kind === "init") {
      job = m;
      if (m.kernels) process.env.BCR_KERNELS = m.kernels;
      await initBackend(m.backend ?? undefined);
      gpt = new GPT(m.model);
      generate(Math.min(8, m.newTokens), m.seed); // warm-up: kernels, shapes
      send({ kind: "ready" });
      return;
    }
    const t0 = performance.now();
    let tokens = 0;
    for (let r = 0; r < job!.rounds; r++)
      tokens += generate(job!.newTokens, job!.seed + 1 + r).tokens.reduce((a, t) => a + t.length, 0);
    send({ kind: "done", tokens, seconds: (performance.now() - t0) / 1000 });
  } catch (e) {
    send({ kind: "error", message: (e as Error).message });
  }
});
