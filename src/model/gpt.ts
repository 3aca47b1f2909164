/**
 * A GPT-2 style character model, readable top to bottom: config, the two matmuls the wasm
 * backend needs written by hand, then embeddings, attention, MLP, blocks, the model, and
 * batched sampling with a KV cache.
 *
 * Architecture (a PyTorch peer matches the learned-position model exactly): token + learned
 * position embeddings (or, with `positions: "rotary"`, no position table and rotary q/k
 * instead, see rotary.ts; with `positions: "sections"`, positions that restart at every problem
 * section plus a learned section embedding, see sections.ts);
 * pre-LayerNorm blocks (eps 1e-5) of causal multi-head self-attention (qkv Linear with bias,
 * output Linear with bias) and an MLP (Linear to 4C with bias, GELU tanh approximation,
 * Linear back with bias); final LayerNorm; output head tied to the token embedding, no bias.
 * Init: normal(0, 0.02); residual output projections normal(0, 0.02/sqrt(2*nLayer)); biases 0;
 * LayerNorm weight 1, bias 0. Parameter names follow nanoGPT's state_dict
 * ("transformer.h.0.attn.c_attn.weight"); Linear weights are stored [in, out], i.e. the
 * transpose of PyTorch's nn.Linear.weight.
 *
 * Performance notes (wasm on 2 cores): only a plain 2-D `a @ b` reaches XNNPACK (~18 GFLOP/s);
 * transposed or batched matmuls take a slow path (~1.5 GFLOP/s). So linears run as 2-D matmuls
 * on [B*T, C] (their gradients, src/engine/gradients.ts, transpose explicitly), attention is the
 * one batched matmul, and embedding lookups are one-hot matmuls (the gather gradient,
 * UnsortedSegmentSum, has no wasm kernel). With the native kernel set (the default where it
 * loads, src/engine/native-kernels.ts) products go to OpenBLAS, transposes become sgemm flags,
 * and LayerNorm, GELU, attention and the cached step's attention each run as one C kernel; a
 * whole cached decoding step of generate runs as one C call (native-decode.ts); the tfjs code
 * here stays the reference those kernels are tested against.
 */
import { tf } from "../engine/backend.js";
import {
  matMulFlagsAreFast,
  nativeCachedAttention,
  nativeGelu,
  nativeKernelsInfo,
  nativeLayerNorm,
} from "../engine/native-kernels.js";
import { Rng, type Uniform } from "../util/rng.js";
import { attentionSettings, causalSelfAttention, NEG } from "./attention.js";
import { lookupRows } from "./lookup.js";
import { NativeDecoder } from "./native-decode.js";
import { applyRotary, RotaryTable } from "./rotary.js";
import { SectionCursor, type SectionLayout, sectionLayout, type SectionSpec, validateSectionSpec } from "./sections.js";
import { sampleWithLogProb, topLogProbs } from "./sample.js";
import { CharTokenizer } from "./tokenizer.js";

export interface GPTConfig {
  /** Number of token ids (the tokenizer's vocabSize). */
  vocabSize: number;
  /** Longest sequence the model sees (prompt + response); size of the position table. */
  blockSize: number;
  /** Width of the residual stream. */
  nEmbd: number;
  /** Number of transformer blocks. */
  nLayer: number;
  /** Attention heads per block (nEmbd must divide by it). */
  nHead: number;
  /** Dropout rate used when training with a dropoutSeed. */
  dropout: number;
  /** Seed of the weight init. */
  seed: number;
  /**
   * How the model knows where a token is: "learned" (absent: the default) adds a learned
   * absolute position table; "rotary" rotates queries and keys so attention sees only relative
   * offsets (and the model has no wpe table); "sections" keeps the learned table but restarts
   * response positions at every problem section and adds a learned section-id embedding
   * (sections.ts; needs `sections`).
   */
  positions?: "learned" | "rotary" | "sections";
  /** With positions "sections": the tokens that end the prompt and open a section. */
  sections?: SectionSpec;
}

/** The default small model: ~140k parameters, a 512-token context for packed prompts. */
export const DEFAULT_GPT: GPTConfig = {
  vocabSize: new CharTokenizer().vocabSize,
  blockSize: 512,
  nEmbd: 64,
  nLayer: 2,
  nHead: 4,
  dropout: 0,
  seed: 1,
};

export interface SampleOptions {
  maxNewTokens: number;
  /** Softmax temperature (default 1); 0 samples greedily. */
  temperature?: number;
  /** Nucleus mass (default 1: no cut). */
  topP?: number;
  /** Tokens that end a sequence: one list for all, or one list per prompt. */
  stopTokens?: number[] | number[][];
  /**
   * The sampling stream: one Rng shared by all rows (drawn in row order), or one per prompt,
   * so a row's tokens do not depend on what else is in the batch (a server's seeded requests).
   */
  rng: Uniform | Uniform[];
  /** false recomputes the whole sequence each step (the benchmark baseline). Default true. */
  useCache?: boolean;
  /** Also return the k most likely tokens and their log-probs at each step (default 0: none). */
  topLogProbs?: number;
}

export interface SampleResult {
  /** New tokens per sequence, stop token included when one was produced. */
  tokens: number[][];
  /** log-prob of each new token at temperature 1 without top-p (GRPO's pi_old). */
  logProbs: number[][];
  /** true: ended on a stop token; false: ran out of maxNewTokens. */
  stopped: boolean[];
  /** With opts.topLogProbs = k: per sequence, per step, the k most likely tokens (same log-probs as logProbs). */
  topLogProbs?: { token: number; logProb: number }[][][];
}

const LN_EPS = 1e-5;

// ---- layers with hand-written gradients ----
//
// Each is one tf.customGrad op, for three wasm costs the op-by-op gradients pay: the tape clones
// (copies) the saved inputs of every kernel, so fewer, fused ops save fewer copies; a column sum
// (bias and LayerNorm-weight gradients) runs ~20 ns per value through wasm's transpose-then-sum,
// while a [1, R] @ [R, N] matmul with ones does it in a few ns; and wasm's tanh is ~20x slower
// than its sigmoid.

/** Sums g [R, N] over its rows -> [N], as ones[1, R] @ g (see above). */
function colSum(g: tf.Tensor2D): tf.Tensor1D {
  return tf.reshape(tf.matMul(tf.ones([1, g.shape[0]]), g), [g.shape[1]]);
}

/** Gradient of a residual add: dy to both sides; nothing is saved. */
const residualOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b] = args as [tf.Tensor2D, tf.Tensor2D];
  return { value: tf.add(a, b), gradFunc: (dy: tf.Tensor) => [dy, dy] };
});
function residual(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return residualOp(a, b) as tf.Tensor2D;
}

/** x [R, K] @ w [K, N] + b as one fused kernel. */
const linearOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.fused.matMul({ a: x, b: w, bias: b }) as tf.Tensor2D,
    gradFunc: (dy: tf.Tensor2D, [xs, ws]: tf.Tensor[]) => {
      if (matMulFlagsAreFast()) {
        // OpenBLAS: transposed operands cost nothing, so no explicit transposes or concat.
        return [tf.matMul(dy, ws!, false, true), tf.matMul(xs!, dy, true, false), colSum(dy)];
      }
      const [R, K] = xs!.shape as [number, number];
      const N = dy.shape[1];
      // [x, 1]^T @ dy stacks dW [K, N] on db [1, N]: the bias gradient rides on the dW matmul.
      const xT1 = tf.concat([tf.transpose(xs!), tf.ones([1, R])], 0);
      const dWb = tf.matMul(xT1, dy);
      return [
        tf.matMul(dy, tf.transpose(ws!)),
        tf.slice(dWb, [0, 0], [K, N]),
        tf.reshape(tf.slice(dWb, [K, 0], [1, N]), [N]),
      ];
    },
  };
});
function linear(x: tf.Tensor2D, w: tf.Variable, b: tf.Variable): tf.Tensor2D {
  return linearOp(x, w, b) as tf.Tensor2D;
}

/** LayerNorm over the last axis of x [R, C] (eps 1e-5, biased variance, like PyTorch). */
const layerNormOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, b, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
  const xc = tf.sub(x, tf.mean(x, -1, true));
  const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), LN_EPS));
  const xhat = tf.mul(xc, rstd);
  save([xhat, rstd, w]);
  return {
    value: tf.add(tf.mul(xhat, w), b) as tf.Tensor2D,
    gradFunc: (dy: tf.Tensor2D, [xh, rs, ws]: tf.Tensor[]) => {
      const _C = dy.shape[1];
      // dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * w
      const g = tf.mul(dy, ws!);
      const dx = tf.mul(rs!, tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(xh!, tf.mean(tf.mul(g, xh!), -1, true))));
      // dw and db in one column sum of [dy * xhat, dy]
      const dwb = colSum(tf.concat([tf.mul(dy, xh!), dy], 1) as tf.Tensor2D);
      const [dw, db] = tf.split(dwb, 2);
      return [dx, dw!, db!];
    },
  };
});
/** The model's LayerNorm: the native kernel where the native set is on, else layerNormOp. Differentiable. */
export function layerNorm(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  if (nativeKernelsInfo()) return nativeLayerNorm(x, w as tf.Tensor1D, b as tf.Tensor1D);
  return layerNormOp(x, w, b) as tf.Tensor2D;
}

/**
 * GELU, tanh approximation (PyTorch's approximate="tanh"), computed as x * sigmoid(2u) with
 * u = sqrt(2/pi) (x + 0.044715 x^3): the same function, since 0.5 (1 + tanh(u)) = sigmoid(2u).
 */
const GELU_A = 2 * Math.sqrt(2 / Math.PI);
const GELU_B = GELU_A * 0.044715;
const geluOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const x2 = tf.square(x);
  const s = tf.sigmoid(tf.mul(x, tf.add(tf.mul(x2, GELU_B), GELU_A)));
  save([x]);
  return {
    value: tf.mul(x, s),
    gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => {
      // d/dx x s(z) = s + x s (1 - s) z', z = x (A + B x^2), z' = A + 3 B x^2; s is recomputed
      // (a sigmoid is cheaper than keeping a copy).
      const sq = tf.square(xs!);
      const sig = tf.sigmoid(tf.mul(xs!, tf.add(tf.mul(sq, GELU_B), GELU_A)));
      const dz = tf.mul(xs!, tf.add(tf.mul(sq, 3 * GELU_B), GELU_A));
      return tf.mul(dy, tf.add(sig, tf.mul(tf.mul(sig, tf.sub(1, sig)), dz)));
    },
  };
});
export function gelu(x: tf.Tensor): tf.Tensor {
  if (nativeKernelsInfo()) return nativeGelu(x);
  return geluOp(x);
}

/**
 * One cached decoding step's attention: q [B*H, 1, hd] (already scaled by 1/sqrt(hd)) against the
 * cache's blocks ([B*H, n, hd] keys and values, the old block then the recent one, LayerCache),
 * with `bias` broadcastable to [B, H, 1, Tk] -> [B*H, 1, hd]. The native kernel where the native
 * set is on (the whole step in one call), else tfjs ops: scores multiply and sum over hd rather
 * than a matmul, since transposing the key cache every step cost more than the product itself.
 */
export function cachedAttention(
  q: tf.Tensor3D,
  blocks: readonly (readonly [tf.Tensor3D, tf.Tensor3D])[],
  bias: tf.Tensor,
  B: number,
  H: number,
): tf.Tensor3D {
  if (nativeKernelsInfo()) return nativeCachedAttention(q, blocks, bias, B, H);
  const score = (kb: tf.Tensor3D) => tf.sum(tf.mul(q, kb), -1);
  const scores =
    blocks.length === 1
      ? score(blocks[0]![0])
      : tf.concat(
          blocks.map(([kb]) => score(kb)),
          1,
        );
  const Tk = scores.shape[1]!;
  const att = tf.reshape(tf.softmax(tf.add(tf.reshape(scores, [B, H, 1, Tk]), bias)), [B * H, 1, Tk]);
  let y: tf.Tensor | null = null;
  let at = 0;
  for (const [kb, vb] of blocks) {
    const n = kb.shape[1];
    const part = tf.matMul(blocks.length === 1 ? att : tf.slice(att, [0, 0, at], [B * H, 1, n]), vb);
    y = y ? tf.add(y, part) : part;
    at += n;
  }
  return y as tf.Tensor3D;
}

/** Seeded dropout; each call site gets its own stream derived from the step's seed. */
class Dropout {
  private site = 0;
  constructor(
    private readonly rate: number,
    private readonly seed: number | null,
  ) {}
  get active(): boolean {
    return this.seed !== null && this.rate > 0;
  }
  apply<T extends tf.Tensor>(x: T): T {
    if (this.seed === null || this.rate === 0) return x;
    return tf.dropout(x, this.rate, undefined, `${this.seed}:${this.site++}`) as T;
  }
}

/** Per-call inputs of the forward pass besides the tokens. */
/**
 * One layer's KV cache, [B*H, Tpast, hd] per tensor, in two blocks: k/v hold the older
 * positions, rk/rv (null when empty) the latest few. A cached step appends its key and value to
 * the small recent block and attends over both blocks, so it copies O(recent) values instead of
 * the whole cache (tfjs tensors are immutable: appending to one block means copying it). The
 * recent block is folded into the old one when it reaches `kvCacheSettings.recentMax`, so the
 * whole cache is copied once every recentMax steps rather than every step.
 */
export interface LayerCache {
  k: tf.Tensor3D;
  v: tf.Tensor3D;
  rk: tf.Tensor3D | null;
  rv: tf.Tensor3D | null;
}

/** Positions the recent block of the KV cache holds before it is folded in (tests lower it). */
export const kvCacheSettings = { recentMax: 32 };

interface ForwardCtx {
  /** Additive attention bias broadcastable to [B, H, T, Tk]. */
  bias: tf.Tensor;
  /** Left padding per row (generate's ragged prompts); the same mask as in `bias`, as counts. */
  keyPads?: number[];
  /** Rotary models: the position of every fed token, row-major [B*T]. */
  positions?: Int32Array;
  /** Keys/values of earlier positions per layer (see LayerCache). */
  past?: LayerCache[];
  /** Whether the caller wants each layer's keys/values back (generate with the cache). */
  wantKv?: boolean;
  dropout: Dropout;
}

let instances = 0;

export class GPT {
  readonly config: GPTConfig;
  readonly params = new Map<string, tf.Variable>();
  /** [blockSize, blockSize] additive causal mask (0 on and below the diagonal). */
  private readonly causal: tf.Tensor2D;
  /** cos/sin tables of rotary models; null with learned positions. */
  private readonly rotary: RotaryTable | null;

  constructor(config: GPTConfig) {
    validateConfig(config);
    this.config = { ...config };
    const { vocabSize: V, blockSize, nEmbd: C, nLayer } = config;
    // tfjs registers variables globally by name, so each model gets its own prefix.
    const prefix = `gpt${instances++}/`;
    const rng = new Rng(config.seed);
    const std = 0.02;
    const projStd = 0.02 / Math.sqrt(2 * nLayer);
    const add = (name: string, shape: number[], init: "normal" | "proj" | "zeros" | "ones") => {
      const size = shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(size);
      if (init === "ones") data.fill(1);
      else if (init !== "zeros") {
        const s = init === "proj" ? projStd : std;
        for (let i = 0; i < size; i++) data[i] = s * rng.normal();
      }
      this.params.set(name, tf.variable(tf.tensor(data, shape), true, prefix + name));
    };
    // Draw order is the parameter order, so a seed fixes every weight on every backend.
    add("transformer.wte.weight", [V, C], "normal");
    if (this.config.positions !== "rotary") add("transformer.wpe.weight", [blockSize, C], "normal");
    if (this.config.positions === "sections")
      add("transformer.wse.weight", [config.sections!.maxSection + 1, C], "normal");
    this.rotary = this.config.positions === "rotary" ? new RotaryTable(blockSize, C / config.nHead) : null;
    for (let i = 0; i < nLayer; i++) {
      const h = `transformer.h.${i}.`;
      add(h + "ln_1.weight", [C], "ones");
      add(h + "ln_1.bias", [C], "zeros");
      add(h + "attn.c_attn.weight", [C, 3 * C], "normal");
      add(h + "attn.c_attn.bias", [3 * C], "zeros");
      add(h + "attn.c_proj.weight", [C, C], "proj");
      add(h + "attn.c_proj.bias", [C], "zeros");
      add(h + "ln_2.weight", [C], "ones");
      add(h + "ln_2.bias", [C], "zeros");
      add(h + "mlp.c_fc.weight", [C, 4 * C], "normal");
      add(h + "mlp.c_fc.bias", [4 * C], "zeros");
      add(h + "mlp.c_proj.weight", [4 * C, C], "proj");
      add(h + "mlp.c_proj.bias", [C], "zeros");
    }
    add("transformer.ln_f.weight", [C], "ones");
    add("transformer.ln_f.bias", [C], "zeros");

    const mask = new Float32Array(blockSize * blockSize);
    for (let i = 0; i < blockSize; i++) for (let j = i + 1; j < blockSize; j++) mask[i * blockSize + j] = NEG;
    this.causal = tf.tensor2d(mask, [blockSize, blockSize]);
  }

  /** Total number of trainable scalars. */
  get paramCount(): number {
    let n = 0;
    for (const v of this.params.values()) n += v.size;
    return n;
  }

  private p(name: string): tf.Variable {
    return this.params.get(name)!;
  }

  // ---- the transformer ----

  /** Causal self-attention of block i on x [B*T, C]; returns the block output and its k, v. */
  private attention(i: number, x: tf.Tensor2D, B: number, T: number, ctx: ForwardCtx) {
    const { nEmbd: C, nHead: H } = this.config;
    const hd = C / H;
    const h = `transformer.h.${i}.attn.`;
    let qkv = linear(x, this.p(h + "c_attn.weight"), this.p(h + "c_attn.bias"));
    // Keys enter the cache already rotated: a key's rotation depends only on its own position.
    if (this.rotary) qkv = applyRotary(qkv, ctx.positions!, H, this.rotary);
    // [B*T, C] -> [B*H, T, hd]: the layout of the batched matmul and of the KV cache.
    const heads = (t: tf.Tensor) =>
      tf.reshape(tf.transpose(tf.reshape(t, [B, T, H, hd]), [0, 2, 1, 3]), [B * H, T, hd]) as tf.Tensor3D;
    // [B*H, T, hd] -> [B*T, C]
    const mergeHeads = (y: tf.Tensor) =>
      tf.reshape(tf.transpose(tf.reshape(y, [B, H, T, hd]), [0, 2, 1, 3]), [B * T, C]) as tf.Tensor2D;
    let merged: tf.Tensor2D;
    let cache: LayerCache | null = null;
    const past = ctx.past?.[i];
    if (!past && T >= attentionSettings.pairwiseMinLength && !ctx.dropout.active) {
      // Long sequences without a cache: one 2-D matmul problem per (sequence, head), see attention.ts.
      merged = causalSelfAttention(qkv, B, T, H, ctx.keyPads);
      if (ctx.wantKv) {
        const [, k, v] = tf.split(qkv, 3, 1);
        cache = { k: heads(k!), v: heads(v!), rk: null, rv: null };
      }
    } else if (past && T === 1) {
      // A cached step: one query per row against the old and the recent block (LayerCache).
      const [q, k, v] = tf.split(qkv, 3, 1);
      cache = appendRecent(past, heads(k!), heads(v!));
      const qs = tf.mul(heads(q!), 1 / Math.sqrt(hd));
      const blocks = cache.rk
        ? ([
            [cache.k, cache.v],
            [cache.rk, cache.rv!],
          ] as const)
        : ([[cache.k, cache.v]] as const);
      merged = mergeHeads(cachedAttention(qs as tf.Tensor3D, blocks, ctx.bias, B, H));
    } else {
      const [q, k, v] = tf.split(qkv, 3, 1);
      let keys = heads(k!);
      let values = heads(v!);
      if (past) {
        keys = tf.concat([past.k, ...(past.rk ? [past.rk] : []), keys], 1);
        values = tf.concat([past.v, ...(past.rv ? [past.rv] : []), values], 1);
      }
      if (ctx.wantKv) cache = { k: keys, v: values, rk: null, rv: null };
      const Tk = keys.shape[1];
      // Scaling q (T*hd values) is cheaper than scaling the scores (T*Tk).
      const qs = tf.mul(heads(q!), 1 / Math.sqrt(hd));
      const scores = matMulFlagsAreFast()
        ? tf.matMul(qs, keys, false, true)
        : tf.matMul(qs, tf.transpose(keys, [0, 2, 1]));
      const att = tf.softmax(tf.add(tf.reshape(scores, [B, H, T, Tk]), ctx.bias));
      merged = mergeHeads(tf.matMul(ctx.dropout.apply(tf.reshape(att, [B * H, T, Tk])), values));
    }
    const out = linear(merged, this.p(h + "c_proj.weight"), this.p(h + "c_proj.bias"));
    return { out: ctx.dropout.apply(out), cache };
  }

  private mlp(i: number, x: tf.Tensor2D, ctx: ForwardCtx): tf.Tensor2D {
    const h = `transformer.h.${i}.mlp.`;
    const up = gelu(linear(x, this.p(h + "c_fc.weight"), this.p(h + "c_fc.bias"))) as tf.Tensor2D;
    return ctx.dropout.apply(linear(up, this.p(h + "c_proj.weight"), this.p(h + "c_proj.bias")));
  }

  /** tokens [B, T] -> token + position embeddings [B*T, C], positions 0..T-1 (token only when rotary). */
  private embed(tokens: tf.Tensor2D): tf.Tensor2D {
    const [B, T] = tokens.shape;
    const { vocabSize: V, nEmbd: C } = this.config;
    // One-hot matmul, not gather: the gather gradient has no wasm kernel.
    const ids = tf.reshape(tokens.dtype === "int32" ? tokens : tf.cast(tokens, "int32"), [B * T]);
    const tok = tf.matMul(tf.cast(tf.oneHot(ids, V), "float32"), this.p("transformer.wte.weight"));
    if (this.rotary) return tok as tf.Tensor2D;
    if (this.config.positions === "sections") {
      // Positions and section ids depend on the tokens, so they are computed on the host, and
      // the rows looked up there too (lookup.ts).
      const spec = this.config.sections!;
      const host = tokens.dataSync();
      const posIds = new Int32Array(B * T);
      const secIds = new Int32Array(B * T);
      for (let b = 0; b < B; b++) {
        const layout = sectionLayout(host.subarray(b * T, (b + 1) * T), spec);
        posIds.set(layout.pos, b * T);
        secIds.set(layout.section, b * T);
      }
      const pos = lookupRows(this.p("transformer.wpe.weight") as tf.Tensor2D, posIds);
      const sec = lookupRows(this.p("transformer.wse.weight") as tf.Tensor2D, secIds);
      return tf.add(tf.add(tok, pos), sec) as tf.Tensor2D;
    }
    const pos = tf.slice(this.p("transformer.wpe.weight"), [0, 0], [T, C]);
    return tf.reshape(tf.add(tf.reshape(tok, [B, T, C]), pos), [B * T, C]);
  }

  /** Embeddings x [B*T, C] -> final hidden states [B*T, C] (after ln_f), plus each layer's keys/values. */
  private forward(x: tf.Tensor2D, B: number, T: number, ctx: ForwardCtx) {
    const nLayer = this.config.nLayer;
    x = ctx.dropout.apply(x);
    const kv: LayerCache[] = [];
    for (let i = 0; i < nLayer; i++) {
      const h = `transformer.h.${i}.`;
      const a = this.attention(i, layerNorm(x, this.p(h + "ln_1.weight"), this.p(h + "ln_1.bias")), B, T, ctx);
      x = residual(x, a.out);
      x = residual(x, this.mlp(i, layerNorm(x, this.p(h + "ln_2.weight"), this.p(h + "ln_2.bias")), ctx));
      if (a.cache) kv.push(a.cache);
    }
    return { h: layerNorm(x, this.p("transformer.ln_f.weight"), this.p("transformer.ln_f.bias")), kv };
  }

  /** Tied output head: h [N, C] -> logits [N, V]. `wteT`: the transposed table, if at hand. */
  private head(h: tf.Tensor2D, wteT?: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(h, wteT ?? tf.transpose(this.p("transformer.wte.weight")));
  }

  private trainCtx(B: number, T: number, opts?: { training?: boolean; dropoutSeed?: number }): ForwardCtx {
    if (T < 1 || T > this.config.blockSize) {
      throw new Error(`GPT: sequence length ${T} is outside 1..blockSize (${this.config.blockSize})`);
    }
    let seed: number | null = null;
    if (opts?.training && this.config.dropout > 0) {
      if (opts.dropoutSeed === undefined) {
        throw new Error("GPT: training with dropout > 0 needs opts.dropoutSeed (dropout is seeded so runs reproduce)");
      }
      seed = opts.dropoutSeed;
    }
    return {
      bias: tf.reshape(tf.slice(this.causal, [0, 0], [T, T]), [1, 1, T, T]),
      dropout: new Dropout(this.config.dropout, seed),
      ...(this.rotary ? { positions: Int32Array.from({ length: B * T }, (_, r) => r % T) } : {}),
    };
  }

  /** tokens int32 [B,T] -> logits float32 [B,T,vocab]. `training` enables dropout (needs dropoutSeed). */
  logits(tokens: tf.Tensor2D, opts?: { training?: boolean; dropoutSeed?: number }): tf.Tensor3D {
    return tf.tidy(() => {
      const [B, T] = tokens.shape;
      const { h } = this.forward(this.embed(tokens), B, T, this.trainCtx(B, T, opts));
      return tf.reshape(this.head(h), [B, T, this.config.vocabSize]) as tf.Tensor3D;
    });
  }

  /** log p(tokens[b,t+1] | tokens[b,<=t]) for t=0..T-2 -> float32 [B,T-1]. Differentiable. */
  tokenLogProbs(tokens: tf.Tensor2D, opts?: { training?: boolean; dropoutSeed?: number }): tf.Tensor2D {
    return tf.tidy(() => {
      const [B, T] = tokens.shape;
      if (T < 2) throw new Error(`GPT.tokenLogProbs: need at least 2 tokens per row, got ${T}`);
      const { nEmbd: C, vocabSize: V } = this.config;
      const { h } = this.forward(this.embed(tokens), B, T, this.trainCtx(B, T, opts));
      // The last position predicts nothing we score, so drop it before the head.
      const hPred = tf.reshape(tf.slice(tf.reshape(h, [B, T, C]), [0, 0, 0], [B, T - 1, C]), [B * (T - 1), C]);
      const logp = tf.logSoftmax(this.head(hPred as tf.Tensor2D));
      // Picking the target's log-prob with a one-hot product, not gather: the gather gradient
      // has no wasm kernel.
      const targets = tf.reshape(tf.slice(tokens, [0, 1], [B, T - 1]), [B * (T - 1)]);
      const picked = tf.sum(tf.mul(logp, tf.cast(tf.oneHot(tf.cast(targets, "int32"), V), "float32")), 1);
      return tf.reshape(picked, [B, T - 1]) as tf.Tensor2D;
    });
  }

  // ---- sampling ----

  /**
   * Batched sampling. Prompts of different lengths are left-padded with PAD to the longest,
   * and each row gets an attention bias that hides its pad columns and positions that start at
   * 0 on its first real token, so every row computes exactly what it would alone. With the
   * cache, the padded prompts run once (prefill) and each step feeds one token per row; without
   * it, the whole padded sequence is recomputed each step. Rows that hit a stop token leave the
   * batch, so late steps only pay for sequences still running; with the cache, finished rows
   * ride along (their outputs ignored) until an eighth of the batch has finished, because
   * dropping cache rows copies the whole cache.
   * Embeddings are looked up on the host (generate needs no gradient), saving the one-hot
   * matmul and wasm's slow gather each step.
   * With the native kernel set on (and positions other than rotary), every cached step after
   * the prefill is one native call, all layers to the logits, on a KV cache preallocated to the
   * longest sequence (native-decode.ts): the prefill runs on tfjs as always and its keys and
   * values become that cache's old block; finished rows leave at the same steps. Its results are
   * bit-identical to the tfjs step (tfjsStep), the reference it is tested against;
   * decodeSettings.engine = "tfjs" (BCR_DECODE=tfjs) forces that step.
   */
  generate(prompts: number[][], opts: SampleOptions): SampleResult {
    const { maxNewTokens, rng } = opts;
    const temperature = opts.temperature ?? 1;
    const topP = opts.topP ?? 1;
    const useCache = opts.useCache ?? true;
    const n = prompts.length;
    const out: SampleResult = {
      tokens: prompts.map(() => []),
      logProbs: prompts.map(() => []),
      stopped: prompts.map(() => false),
    };
    const topK = opts.topLogProbs ?? 0;
    if (!(Number.isInteger(topK) && topK >= 0))
      throw new Error(`GPT.generate: topLogProbs must be a non-negative integer, got ${topK}`);
    if (topK > 0) out.topLogProbs = prompts.map(() => []);
    if (Array.isArray(rng) && rng.length !== n)
      throw new Error(`GPT.generate: rng has ${rng.length} streams for ${n} prompts`);
    const rngOf = (b: number): Uniform => (Array.isArray(rng) ? rng[b]! : rng);
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0)
      throw new Error(`GPT.generate: maxNewTokens must be a non-negative integer, got ${maxNewTokens}`);
    if (!(temperature >= 0)) throw new Error(`GPT.generate: temperature must be >= 0, got ${temperature}`);
    if (!(topP > 0 && topP <= 1)) throw new Error(`GPT.generate: topP must be in (0, 1], got ${topP}`);
    prompts.forEach((p, b) => {
      if (p.length === 0) throw new Error(`GPT.generate: prompt ${b} is empty (start it with BOS)`);
      for (const t of p) {
        if (!Number.isInteger(t) || t < 0 || t >= this.config.vocabSize)
          throw new Error(`GPT.generate: prompt ${b} has token ${t} outside the vocabulary`);
      }
    });
    const stops = stopSets(opts.stopTokens, n);
    if (n === 0 || maxNewTokens === 0) return out;
    const P = Math.max(...prompts.map((p) => p.length));
    if (P + maxNewTokens > this.config.blockSize) {
      throw new Error(
        `GPT.generate: longest prompt (${P}) + maxNewTokens (${maxNewTokens}) exceeds blockSize (${this.config.blockSize})`,
      );
    }
    const pads = prompts.map((p) => P - p.length);
    const { vocabSize: V, nEmbd: C } = this.config;
    const wte = this.p("transformer.wte.weight").dataSync() as Float32Array;
    // Rotary models have no position table: their positions go to the attention instead.
    const wpe = this.rotary ? null : (this.p("transformer.wpe.weight").dataSync() as Float32Array);
    const spec = this.config.positions === "sections" ? this.config.sections! : null;
    const wse = spec ? (this.p("transformer.wse.weight").dataSync() as Float32Array) : null;
    const wteT = tf.transpose(this.p("transformer.wte.weight")) as tf.Tensor2D;
    // `batch`: the sequences whose rows the forward pass (and the cache) holds, in order;
    // `running`: those not yet stopped. Without the cache the batch is rebuilt every step.
    // Each sequence's section layout, extended by the tokens sampled since the last step.
    const layouts = spec ? new GrowingLayouts(spec, prompts, maxNewTokens) : null;
    let batch = prompts.map((_, b) => b);
    const running = prompts.map(() => true);
    let cache: LayerCache[] | null = null;
    // The native step where it runs (null: every step on tfjs); the longest sequence it holds
    // is the last step's, P + maxNewTokens - 1 positions.
    const decoder =
      useCache && maxNewTokens > 1
        ? NativeDecoder.open(this.config, this.params, nativeKernelsInfo() !== null, n, P + maxNewTokens - 1)
        : null;
    try {
      for (let step = 0; step < maxNewTokens; step++) {
        // Column of the first fed token: the prefill (and every recompute) starts at 0; a cached
        // step feeds only the token sampled last, at column P + step - 1.
        const start = useCache && step > 0 ? P + step - 1 : 0;
        const L = P + step;
        const B = batch.length;
        const T = L - start;
        const rowPads = batch.map((b) => pads[b]!);
        const x0 = new Float32Array(B * T * C);
        const positions = new Int32Array(B * T);
        batch.forEach((b, r) => {
          const prompt = prompts[b]!;
          const made = out.tokens[b]!;
          const layout = layouts?.extend(b, prompt, made) ?? null;
          for (let t = 0; t < T; t++) {
            const col = start + t;
            const at = col - pads[b]!;
            // (a finished row riding along has no new token: it gets PAD, its output is ignored)
            const tok =
              at < 0
                ? CharTokenizer.PAD
                : ((at < prompt.length ? prompt[at] : made[at - prompt.length]) ?? CharTokenizer.PAD);
            const pos = layout ? (layout.pos[at] ?? 0) : Math.max(0, at);
            const o = (r * T + t) * C;
            positions[r * T + t] = pos;
            for (let c = 0; c < C; c++) x0[o + c] = wte[tok * C + c]! + (wpe ? wpe[pos * C + c]! : 0);
            if (layout && wse) {
              const sec = layout.section[at] ?? 0;
              for (let c = 0; c < C; c++) x0[o + c] += wse[sec * C + c]!;
            }
          }
        });
        let logits: Float32Array;
        if (decoder && step > 0) {
          logits = decoder.step(x0, rowPads, kvCacheSettings.recentMax);
        } else {
          const res = this.tfjsStep(x0, B, T, L, rowPads, positions, cache, useCache, wteT);
          logits = res.logits;
          // the new cache may hold blocks of the old one (an unchanged old block): keep those
          if (cache) disposeCache(cache, res.kv);
          cache = useCache ? res.kv : null;
          if (decoder && cache) {
            // The prefill's keys and values become the decoder's old block; the tfjs cache is done.
            decoder.load(cache, B);
            disposeCache(cache, []);
            cache = null;
          }
        }

        // Sample the running rows in sequence order (the rng draws do not depend on the cache).
        batch.forEach((b, r) => {
          if (!running[b]) return;
          const row = logits.subarray(r * V, (r + 1) * V);
          const { token: tok, logProb } = sampleWithLogProb(row, temperature, topP, rngOf(b));
          out.tokens[b]!.push(tok);
          out.logProbs[b]!.push(logProb);
          if (topK > 0) out.topLogProbs![b]!.push(topLogProbs(row, topK));
          if (stops[b]!.has(tok)) {
            out.stopped[b] = true;
            running[b] = false;
          }
        });
        const keep = batch.flatMap((b, r) => (running[b] ? [r] : []));
        if (keep.length === 0) break;
        const finished = batch.length - keep.length;
        if (!useCache || finished >= Math.max(1, batch.length / 8)) {
          if (decoder && finished > 0) decoder.keepRows(keep);
          else if (cache && finished > 0) cache = dropRows(cache, keep, batch.length);
          batch = keep.map((r) => batch[r]!);
        }
      }
    } finally {
      if (cache) disposeCache(cache, []);
      decoder?.release();
      wteT.dispose();
    }
    return out;
  }

  /**
   * One step of generate on tfjs: x0 [B*T, C] (the embeddings of columns L-T .. L-1) through the
   * model against `past` -> the last column's logits [B, V], and with useCache every layer's keys
   * and values through column L-1 (blocks of `past` may be among them: the caller disposes the
   * rest of `past`).
   */
  private tfjsStep(
    x0: Float32Array,
    B: number,
    T: number,
    L: number,
    rowPads: number[],
    positions: Int32Array,
    past: LayerCache[] | null,
    useCache: boolean,
    wteT: tf.Tensor2D,
  ): { logits: Float32Array; kv: LayerCache[] } {
    const C = this.config.nEmbd;
    let kvOut: LayerCache[] = [];
    const logitsT = tf.tidy(() => {
      const keyBias = new Float32Array(B * L);
      for (let r = 0; r < B; r++) for (let j = 0; j < rowPads[r]!; j++) keyBias[r * L + j] = NEG;
      let bias: tf.Tensor = tf.tensor4d(keyBias, [B, 1, 1, L]);
      if (T > 1) bias = tf.add(bias, tf.reshape(tf.slice(this.causal, [0, 0], [T, T]), [1, 1, T, T]));
      const ctx: ForwardCtx = {
        bias,
        keyPads: rowPads,
        past: past ?? undefined,
        wantKv: useCache,
        dropout: new Dropout(0, null),
        ...(this.rotary ? { positions } : {}),
      };
      const { h, kv } = this.forward(tf.tensor2d(x0, [B * T, C]), B, T, ctx);
      const last = T === 1 ? h : tf.reshape(tf.slice(tf.reshape(h, [B, T, C]), [0, T - 1, 0], [B, 1, C]), [B, C]);
      if (useCache) {
        kvOut = kv;
        for (const c of kv) for (const t of [c.k, c.v, c.rk, c.rv]) if (t) tf.keep(t);
      }
      return this.head(last as tf.Tensor2D, wteT);
    });
    const logits = logitsT.dataSync() as Float32Array;
    logitsT.dispose();
    return { logits, kv: kvOut };
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.causal.dispose();
  }
}

/**
 * The section layouts of generate's sequences (prompt then sampled tokens), each grown by a
 * SectionCursor as tokens arrive: the same positions and sections as sectionLayout of the whole
 * sequence, without laying it out again every step. A position past what exists reads 0, as an
 * index past sectionLayout's arrays did (`?? 0`).
 */
class GrowingLayouts {
  private readonly cursors: SectionCursor[];
  private readonly layouts: SectionLayout[];

  constructor(spec: SectionSpec, prompts: readonly number[][], maxNewTokens: number) {
    this.cursors = prompts.map(() => new SectionCursor(spec));
    this.layouts = prompts.map((p) => ({
      pos: new Int32Array(p.length + maxNewTokens),
      section: new Int32Array(p.length + maxNewTokens),
    }));
  }

  /** Sequence b's layout through its last token (prompt, then `made`). */
  extend(b: number, prompt: readonly number[], made: readonly number[]): SectionLayout {
    const cursor = this.cursors[b]!;
    const layout = this.layouts[b]!;
    for (let t = cursor.length; t < prompt.length + made.length; t++) {
      cursor.push(t < prompt.length ? prompt[t]! : made[t - prompt.length]!);
      layout.pos[t] = cursor.pos;
      layout.section[t] = cursor.section;
    }
    return layout;
  }
}

/**
 * A cached step's new key and value [B*H, 1, hd] appended to the recent block; the recent
 * block folded into the old one once it holds kvCacheSettings.recentMax positions.
 * (Inside the caller's tidy: the blocks it returns that are new are kept, the rest disposed.)
 */
function appendRecent(past: LayerCache, k: tf.Tensor3D, v: tf.Tensor3D): LayerCache {
  const rk = past.rk ? tf.concat([past.rk, k], 1) : k;
  const rv = past.rv ? tf.concat([past.rv, v], 1) : v;
  if (rk.shape[1] < kvCacheSettings.recentMax) return { k: past.k, v: past.v, rk, rv };
  return { k: tf.concat([past.k, rk], 1), v: tf.concat([past.v, rv], 1), rk: null, rv: null };
}

/** Disposes the tensors of `old` that `next` does not hold. */
function disposeCache(old: LayerCache[], next: LayerCache[]): void {
  const live = new Set<tf.Tensor>(
    next.flatMap((c) => [c.k, c.v, c.rk, c.rv].filter((t): t is tf.Tensor3D => t !== null)),
  );
  for (const c of old) for (const t of [c.k, c.v, c.rk, c.rv]) if (t && !live.has(t)) t.dispose();
}

/**
 * Keeps cache rows `keep` (of B sequences; [B*H, L, hd] laid out sequence-major). Copied on
 * the host: wasm's gather moves ~80 ns per value, a host copy of contiguous rows ~1.
 */
function dropRows(cache: LayerCache[], keep: number[], B: number): LayerCache[] {
  const pick = (t: tf.Tensor3D) => {
    const [BH, L, hd] = t.shape;
    const size = (BH / B) * L * hd;
    const src = t.dataSync() as Float32Array;
    const dst = new Float32Array(keep.length * size);
    keep.forEach((r, i) => dst.set(src.subarray(r * size, (r + 1) * size), i * size));
    return tf.tensor3d(dst, [keep.length * (BH / B), L, hd]);
  };
  const next = cache.map((c) => ({ k: pick(c.k), v: pick(c.v), rk: c.rk && pick(c.rk), rv: c.rv && pick(c.rv) }));
  disposeCache(cache, []);
  return next;
}

function stopSets(stopTokens: number[] | number[][] | undefined, n: number): Set<number>[] {
  if (!stopTokens || stopTokens.length === 0) return Array.from({ length: n }, () => new Set<number>());
  if (Array.isArray(stopTokens[0])) {
    if (stopTokens.length !== n)
      throw new Error(`GPT.generate: stopTokens has ${stopTokens.length} lists for ${n} prompts`);
    return (stopTokens as number[][]).map((s) => new Set(s));
  }
  const shared = new Set(stopTokens as number[]);
  return Array.from({ length: n }, () => shared);
}

function validateConfig(c: GPTConfig): void {
  for (const k of ["vocabSize", "blockSize", "nEmbd", "nLayer", "nHead"] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new Error(`GPTConfig.${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.nEmbd % c.nHead !== 0) throw new Error(`GPTConfig: nEmbd (${c.nEmbd}) must be divisible by nHead (${c.nHead})`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new Error(`GPTConfig.dropout must be in [0, 1), got ${c.dropout}`);
  if (!Number.isInteger(c.seed)) throw new Error(`GPTConfig.seed must be an integer, got ${c.seed}`);
  if (
    c.positions !== undefined &&
    c.positions !== "learned" &&
    c.positions !== "rotary" &&
    c.positions !== "sections"
  ) {
    throw new Error(
      `GPTConfig.positions must be "learned", "rotary" or "sections", got ${JSON.stringify(c.positions)}`,
    );
  }
  if (c.positions === "sections") {
    if (!c.sections) throw new Error('GPTConfig: positions "sections" needs sections: { promptEnd, mark, maxSection }');
    validateSectionSpec(c.sections, c.vocabSize);
  } else if (c.sections !== undefined) {
    throw new Error(
      `GPTConfig.sections is only read with positions "sections", got positions ${JSON.stringify(c.positions ?? "learned")}`,
    );
  }
  if (c.positions === "rotary" && (c.nEmbd / c.nHead) % 2 !== 0) {
    throw new Error(`GPTConfig: rotary positions need an even head size, got nEmbd/nHead = ${c.nEmbd / c.nHead}`);
  }
}
