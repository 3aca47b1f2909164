/**
 * A data-parallel worker thread (data-parallel.ts): its own tfjs backend and model copy; per
 * step it takes the current weights and a shard, and returns the shard's summed loss, target
 * count and gradients (flat, in the model's parameter order, the buffer transferred, not copied).
 */
import { parentPort } from "node:worker_threads";
import { initBackend, tf } from "../engine/backend.js";
import { GPT } from "../model/gpt.js";
import { setFusedTraining } from "../engine/native-kernels.js";
import { setPaddingSkip } from "../engine/real-rows.js";
import { assignFlat, flatten, shardLossAndGrads, type FromWorker, type ToWorker } from "./data-parallel.js";

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
    setFusedTraining(msg.fused);
    setPaddingSkip(msg.skipPadding);
    const vars = [...model.params.values()];
    assignFlat(vars, msg.weights);
    const { lossSum, grads, targets } = shardLossAndGrads(model, msg.examples, vars, msg.opts);
    const flat = flatten(vars.map((v) => grads[v.name]!));
    const loss = lossSum.dataSync()[0]!;
    tf.dispose([lossSum, grads]);
    reply({ kind: "grads", lossSum: loss, targets, grads: flat }, [flat.buffer as ArrayBuffer]);
  } catch (e) {
    reply({ kind: "error", message: e instanceof Error ? e.message : String(e) });
  }
});
