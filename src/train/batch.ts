/**
 * From SFT examples to the model's input: an example as token ids with the index of its first
 * target token (encodeExample), and a right-padded batch with its loss mask (makeBatch). Shared by
 * the trainer (sft.ts) and its data-parallel shards (data-parallel.ts), so neither imports the other.
 */
import { tf } from "../engine/backend.js";
import { CharTokenizer } from "../model/tokenizer.js";

/** An example as token ids plus the index of the first target (response) token. */
export interface Encoded {
  ids: number[];
  /** ids[responseStart..] (response and EOS) are the positions the loss covers. */
  responseStart: number;
}

export function encodeExample(
  tok: CharTokenizer,
  ex: { prompt: string; response: string },
  blockSize: number,
  where: string,
): Encoded {
  let p: number[], r: number[];
  try {
    p = tok.encode(ex.prompt);
    r = tok.encode(ex.response);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
  const ids = [CharTokenizer.BOS, ...p, ...r, CharTokenizer.EOS];
  if (ids.length > blockSize) {
    throw new Error(
      `${where}: ${ids.length} tokens (BOS + prompt ${p.length} + response ${r.length} + EOS) exceed model.blockSize ${blockSize}`,
    );
  }
  return { ids, responseStart: 1 + p.length };
}

/**
 * tokens int32 [B,T] right-padded with PAD, the loss mask float32 [B,T-1], and each example's
 * length (its real rows: withRealRows, src/engine/real-rows.ts).
 */
export function makeBatch(examples: Encoded[]): {
  tokens: tf.Tensor2D;
  mask: tf.Tensor2D;
  targets: number;
  lengths: number[];
} {
  const T = Math.max(2, ...examples.map((e) => e.ids.length));
  const B = examples.length;
  const tokens = new Int32Array(B * T).fill(CharTokenizer.PAD);
  const mask = new Float32Array(B * (T - 1));
  let targets = 0;
  examples.forEach((e, b) => {
    tokens.set(e.ids, b * T);
    // lp[t] scores ids[t+1]; learn the response tokens and EOS: t+1 in [responseStart, len).
    for (let t = e.responseStart - 1; t < e.ids.length - 1; t++) {
      mask[b * (T - 1) + t] = 1;
      targets++;
    }
  });
  return {
    tokens: tf.tensor2d(tokens, [B, T], "int32"),
    mask: tf.tensor2d(mask, [B, T - 1], "float32"),
    targets,
    lengths: examples.map((e) => e.ids.length),
  };
}
