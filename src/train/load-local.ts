/**
 * Loading a trained model for evaluation or serving: a checkpoint directory (model.json,
 * weights.bin, ...), a `checkpoints/` folder (its `latest`), or a run folder
 * (`<run>/checkpoints/latest`).
 *
 * The tokenizer alphabet is read from the checkpoint's `extra.tokenizerChars` when present,
 * else the default SYNTH_CHARS (what training uses today); its vocabSize must equal the model's.
 */
import { initBackend } from "../engine/backend.js";
import { GPT, type GPTConfig } from "../model/gpt.js";
import { CharTokenizer } from "../model/tokenizer.js";
import { loadCheckpoint, resolveCheckpointDir, restoreCheckpoint } from "../run/checkpoint.js";
import { LocalModel, type LocalModelOptions } from "../model/local-model.js";

export interface LoadedLocal {
  gpt: GPT;
  tokenizer: CharTokenizer;
  dir: string;
  step: number;
}

/** Initialises the backend (BCR_BACKEND) and restores the GPT and its tokenizer. */
export async function loadLocal(dir: string): Promise<LoadedLocal> {
  await initBackend();
  const ckDir = resolveCheckpointDir(dir);
  const ck = loadCheckpoint(ckDir);
  const chars = typeof ck.extra.tokenizerChars === "string" ? ck.extra.tokenizerChars : undefined;
  const tokenizer = new CharTokenizer(chars);
  const config = ck.model.config as unknown as GPTConfig;
  if (config.vocabSize !== tokenizer.vocabSize) {
    throw new Error(
      `${ckDir}: model vocabSize ${config.vocabSize} does not match the tokenizer's ${tokenizer.vocabSize}`,
    );
  }
  const gpt = new GPT(config);
  restoreCheckpoint(ck, gpt);
  return { gpt, tokenizer, dir: ckDir, step: ck.step };
}

/** A LocalModel named `local:<checkpoint dir>` for a checkpoint (see loadLocal). */
export async function loadLocalModel(
  dir: string,
  opts: Omit<LocalModelOptions, "model" | "tokenizer"> = {},
): Promise<LocalModel> {
  const { gpt, tokenizer, dir: ckDir } = await loadLocal(dir);
  return new LocalModel({ name: `local:${ckDir}`, ...opts, model: gpt, tokenizer });
}
