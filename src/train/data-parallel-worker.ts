/**
 * A data-parallel worker thread (data-parallel.ts): its own tfjs backend and model copy; per
 * step it takes the current weights and a shard, and returns the shard's summed loss, target
 * count and gradients (in the model's parameter order, buffers transferred, not copied).
 */
import { parentPort } from "node:worker_threads";
import { initBackend, tf } from "../engine/backend.js";
import { GPT } from "../model/gpt.js";
import { shardLossAndGrads, type FromWorker, type ToWorker } from "./data-parallel.js";

let model: GPT | null = null;

function reply(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(msg, transfer);
}

parentPort!.on("message", async (msg: ToWorker) => {
  try {
    if (msg.kind === "init") {
      if (msg.kernels) process.env.BCR_KERNELS = msg.kernels;
      await initBackend(msg.backend);
      model = new GPT(msg.config);
      reply({ kind: "ready", names: [...model.params.keys()] });
      return;
    }
    if (!model) throw new Error("step before init");
    const vars = [...model.params.values()];
    tf.tidy(() => vars.forEach((v, j) => v.assign(tf.tensor(msg.weights[j]!, v.shape))));
    const { lossSum, grads, targets } = shardLossAndGrads(model, msg.examples, vars, msg.opts);
    const out = vars.map((v) => grads[v.name]!.dataSync() as Float32Array);
    const loss = lossSum.dataSync()[0]!;
    tf.dispose([lossSum, grads]);
    // dataSync may return a view of backend memory: copy into buffers we can transfer
    const owned = out.map((g) => g.slice());
    reply(
      { kind: "grads", lossSum: loss, targets, grads: owned },
      owned.map((g) => g.buffer as ArrayBuffer),
    );
  } catch (e) {
    reply({ kind: "error", message: e instanceof Error ? e.message : String(e) });
  }
});
