/**
 * One eval thread of eval-pool.ts: evaluates each model it is sent with evaluateModel, in the
 * backend and kernel set of the thread that started it, and reports back its log lines, its
 * sweep progress (plain lines) and the outcome. "stop" aborts the model being evaluated before
 * its next batch, and any model sent after it (the pool sends none, but a stop can overtake one).
 */
import { parentPort } from "node:worker_threads";
import { evaluateModel } from "./eval.js";
import type { FromEvalThread, ToEvalThread } from "./eval-pool.js";

const send = (m: FromEvalThread) => parentPort!.postMessage(m);
const stop = new AbortController();

parentPort!.on("message", async (m: ToEvalThread) => {
  if (m.kind === "stop") {
    stop.abort(new Error("stopped on request"));
    return;
  }
  const { job } = m;
  // loadLocal initialises the backend from these (this thread's own copy of the environment)
  if (job.backend) process.env.BCR_BACKEND = job.backend;
  if (job.kernels) process.env.BCR_KERNELS = job.kernels;
  const progress = job.progress ? { isTTY: false, write: (chunk: string) => send({ kind: "progress", chunk }) } : false;
  try {
    stop.signal.throwIfAborted();
    await evaluateModel(
      job.ref,
      job.config,
      job.problems,
      (line) => send({ kind: "log", line }),
      progress,
      stop.signal,
    );
    send({ kind: "done" });
  } catch (e) {
    send({ kind: "error", message: (e as Error).message ?? String(e) });
  }
});
