/**
 * Fine-tuning from another run: copy a checkpoint's weights into a freshly built model.
 *
 * The architecture must match, with one exception: the new model may have a longer context
 * (a larger blockSize), so that a model trained on short packs can go on training on longer
 * ones. The learned position table (`transformer.wpe.weight`, [blockSize, C]) then keeps the
 * checkpoint's rows for the positions it was trained on and the new model's own seeded init for
 * the positions beyond them; every other weight is copied unchanged. A rotary model has no
 * position table, so only its mask and rotation table (not weights) grow. Shrinking the context
 * is refused: it would silently throw trained rows away.
 */
import type { GPT } from "../model/gpt.js";
import {
  CheckpointError,
  configDiff,
  loadCheckpoint,
  resolveCheckpointDir,
  restoreCheckpoint,
  type LoadedCheckpoint,
} from "../run/checkpoint.js";

const POSITION_TABLE = "transformer.wpe.weight";

export interface InitResult {
  /** The checkpoint directory the weights came from. */
  from: string;
  /** Context lengths when the position table grew (checkpoint, model); null when equal. */
  grew: { from: number; to: number } | null;
}

/** Load `dir` (a checkpoint, checkpoints folder or run folder) into `model`; see the header. */
export function initFromCheckpoint(model: GPT, dir: string): InitResult {
  const from = resolveCheckpointDir(dir);
  const ck = loadCheckpoint(from);
  const saved = ck.model.config as unknown as Record<string, unknown>;
  const savedBlock = Number(saved.blockSize);
  const block = model.config.blockSize;
  // The init seed no longer matters once the weights are copied; blockSize may grow (header).
  const diff = configDiff({ ...saved, seed: 0, blockSize: 0 }, { ...model.config, seed: 0, blockSize: 0 });
  if (!(savedBlock <= block))
    diff.push(`blockSize ${savedBlock} (checkpoint) vs ${block} (expected): the context may grow, not shrink`);
  if (diff.length) throw new CheckpointError(`init ${from}: model config differs: ${diff.join("; ")}`);
  const weights = savedBlock < block ? withGrownPositions(ck, model, savedBlock) : ck.weights;
  restoreCheckpoint({ ...ck, weights }, model);
  return { from, grew: savedBlock < block ? { from: savedBlock, to: block } : null };
}

/** The checkpoint's weights with the position table padded by the model's own rows. */
function withGrownPositions(ck: LoadedCheckpoint, model: GPT, savedBlock: number): LoadedCheckpoint["weights"] {
  const saved = ck.weights.get(POSITION_TABLE);
  const current = model.params.get(POSITION_TABLE);
  if (!saved || !current) return ck.weights; // no learned table (rotary): nothing to pad
  const [rows, C] = current.shape as [number, number];
  if (saved.shape[0] !== savedBlock || saved.shape[1] !== C) {
    throw new CheckpointError(
      `${ck.dir}: ${POSITION_TABLE} shape [${saved.shape}] does not match blockSize ${savedBlock} x nEmbd ${C}`,
    );
  }
  const data = (current.dataSync() as Float32Array).slice();
  data.set(saved.data.subarray(0, savedBlock * C), 0);
  const out = new Map(ck.weights);
  out.set(POSITION_TABLE, { shape: [rows, C], data });
  return out;
}
