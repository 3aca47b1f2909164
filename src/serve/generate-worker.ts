/**
 * The generation thread of `bcr serve-model` (generate-thread.ts): loads the model once (a
 * checkpoint, or a GPT's config and weights), then samples each batch it is sent with
 * LocalModel.complete and sends the completions back.
 */
import { parentPort } from "node:worker_threads";
import { initBackend, tf } from "../engine/backend.js";
import { GPT } from "../model/gpt.js";
import { LocalModel } from "../model/local-model.js";
import { CharTokenizer } from "../model/tokenizer.js";
import { loadLocal } from "../train/load-local.js";
import type { FromGenerator, GenerationInit, ToGenerator } from "./generate-thread.js";

let local: LocalModel | null = null;
const send = (m: FromGenerator) => parentPort!.postMessage(m);

async function load(init: GenerationInit): Promise<void> {
  if (init.kernels) process.env.BCR_KERNELS = init.kernels;
  let gpt: GPT;
  let tokenizer: CharTokenizer;
  let dir: string | null = null;
  let step: number | null = null;
  if ("checkpoint" in init.source) {
    if (init.backend) process.env.BCR_BACKEND = init.backend;
    ({ gpt, tokenizer, dir, step } = await loadLocal(init.source.checkpoint));
  } else {
    await initBackend(init.backend ?? undefined);
    tokenizer = new CharTokenizer(init.source.chars);
    gpt = new GPT(init.source.config);
    const byName = new Map(init.source.weights.map((w) => [w.name, w.data]));
    for (const [name, v] of gpt.params) {
      const data = byName.get(name);
      if (!data || data.length !== v.size)
        throw new Error(`generation thread: weights for ${name} missing or mis-sized`);
      tf.tidy(() => v.assign(tf.tensor(data, v.shape, "float32")));
    }
  }
  local = new LocalModel({ ...init.local, model: gpt, tokenizer });
  send({
    kind: "ready",
    blockSize: gpt.config.blockSize,
    vocabSize: tokenizer.vocabSize,
    chars: tokenizer.chars,
    dir,
    step,
  });
}

parentPort!.on("message", async (msg: ToGenerator) => {
  if (msg.kind === "init") {
    try {
      await load(msg.init);
    } catch (e) {
      send({ kind: "error", id: null, message: (e as Error).message });
    }
    return;
  }
  try {
    if (!local) throw new Error("generation thread: a batch before the model was loaded");
    send({ kind: "done", id: msg.id, completions: await local.complete(msg.requests) });
  } catch (e) {
    send({ kind: "error", id: msg.id, message: (e as Error).message });
  }
});
