/**
 * GPT.generate's cached decoding steps as one native call each (native/kernels.c's decodeStep),
 * where the native kernel set is on: the step that gpt.ts otherwise runs as ~40 tfjs kernels per
 * layer (plus the Concat and slices of its growing KV cache), on a buffer this module owns that
 * holds a copy of the weights and a KV cache preallocated to the longest sequence.
 *
 * Bit-identical to the tfjs step, which the committed study results were sampled with: decodeStep
 * runs the C code and BLAS calls of the kernels it replaces with the same shapes and arguments
 * (products with M = the batch's rows, the bias broadcast then beta = 1, the head on a transposed
 * copy of wte), and this module keeps the tfjs step's schedule of everything that changes bits:
 * the cache's old and recent blocks (n1, n2: appendRecent's folds at kvCacheSettings.recentMax,
 * since attention sums the values block by block) and the batch's rows (generate drops finished
 * rows at the same steps; here by moving cache rows up in place).
 *
 * Used by generate with the cache, the native set on, and positions "learned" or "sections"
 * (rotary models keep the tfjs step; generate never applies dropout, so the model's rate does not
 * matter); decodeSettings.engine = "tfjs" (BCR_DECODE=tfjs) forces the tfjs step, for the tests
 * that compare the two and for profiling the old path.
 */
import type { tf } from "../engine/backend.js";
import {
  DECODE_SCRATCH_PER_ROW_C,
  type DecodeLayer,
  type DecodePlan,
  heapView,
  nativeDecodeStep,
  readInto,
} from "../engine/native-kernels.js";
import { NEG } from "./attention.js";
import type { GPTConfig, LayerCache } from "./gpt.js";

export type DecodeEngine = "native" | "tfjs";

/**
 * How generate runs its cached steps: "native" (the default; BCR_DECODE) takes the native step
 * wherever it can run, "tfjs" always runs the kernel-by-kernel step. Tests flip it to compare.
 * Checked when generate opens a decoder (an unknown value is an Error there, not at import).
 */
export const decodeSettings: { engine: DecodeEngine } = {
  engine: (process.env.BCR_DECODE?.trim() || "native") as DecodeEngine,
};

/** A decoder's buffer larger than this is not allocated: generate keeps the tfjs step (same results). */
export const MAX_DECODE_BYTES = 2 ** 31;

/**
 * The buffer of the last decoder released, for the next one to reuse (up to this size): eval
 * and rollouts open a decoder per generate call, and a fresh buffer of tens of MB each time cost
 * more in allocation and garbage collection than short generations save. Nothing in it is read
 * before it is written (the cache only up to the positions filled, the scratch after each
 * product), so reuse changes no result.
 */
const KEEP_BYTES = 2 ** 28;
let spare: ArrayBuffer | null = null;

/** Buffers allocated so far (the tests check that generate reuses them). */
export const decodeBuffers = { allocated: 0 };

/** Regions start on 64-byte boundaries (16 floats). */
const ALIGN = 16;

const LAYER_PARAMS: [keyof DecodeLayer, string][] = [
  ["ln1W", "ln_1.weight"],
  ["ln1B", "ln_1.bias"],
  ["attnW", "attn.c_attn.weight"],
  ["attnB", "attn.c_attn.bias"],
  ["attnProjW", "attn.c_proj.weight"],
  ["attnProjB", "attn.c_proj.bias"],
  ["ln2W", "ln_2.weight"],
  ["ln2B", "ln_2.bias"],
  ["fcW", "mlp.c_fc.weight"],
  ["fcB", "mlp.c_fc.bias"],
  ["mlpProjW", "mlp.c_proj.weight"],
  ["mlpProjB", "mlp.c_proj.bias"],
];

/** Hands out aligned float offsets in order; `size` is the floats laid out so far. */
class Layout {
  size = 0;
  take(floats: number): number {
    const at = Math.ceil(this.size / ALIGN) * ALIGN;
    this.size = at + floats;
    return at;
  }
}

/**
 * The decoding state of one generate call: weights, scratch and the KV cache of up to `rows`
 * sequences of up to `maxLen` positions, in one ArrayBuffer (garbage-collected: nothing to free).
 */
export class NativeDecoder {
  private readonly f: Float32Array;
  private readonly plan: DecodePlan;
  private readonly hd: number;
  private readonly scale: number;

  private constructor(
    private readonly work: ArrayBuffer,
    plan: DecodePlan,
  ) {
    this.f = new Float32Array(work);
    this.plan = plan;
    this.hd = plan.C / plan.H;
    // tf.mul(q, 1 / Math.sqrt(hd)) multiplies by this float32 scalar.
    this.scale = Math.fround(1 / Math.sqrt(this.hd));
  }

  /**
   * A decoder for `rows` sequences of up to `maxLen` positions, with the model's weights copied
   * in; null where generate must keep the tfjs step: the setting says so, the native kernel set is
   * off (the tfjs step would not compute what decodeStep computes), rotary positions (decodeStep
   * has no rotation), or the buffer would exceed MAX_DECODE_BYTES.
   */
  static open(
    config: GPTConfig,
    params: ReadonlyMap<string, tf.Variable>,
    nativeOn: boolean,
    rows: number,
    maxLen: number,
  ): NativeDecoder | null {
    const engine: string = decodeSettings.engine;
    if (engine !== "native" && engine !== "tfjs")
      throw new Error(`BCR_DECODE (decodeSettings.engine) must be "native" or "tfjs", got ${JSON.stringify(engine)}`);
    if (engine === "tfjs" || !nativeOn || config.positions === "rotary") return null;
    const { nEmbd: C, nHead: H, vocabSize: V, nLayer } = config;
    const lay = new Layout();
    const weights: [number, string][] = [];
    const param = (name: string, floats: number) => {
      const at = lay.take(floats);
      weights.push([at, name]);
      return at;
    };
    const sizeOf = (name: string) => params.get(name)!.size;
    const layers = Array.from({ length: nLayer }, (_, i) => {
      const layer = {} as DecodeLayer;
      for (const [key, suffix] of LAYER_PARAMS) {
        const name = `transformer.h.${i}.${suffix}`;
        layer[key] = param(name, sizeOf(name));
      }
      return layer;
    });
    const plan: DecodePlan = {
      B: rows,
      C,
      H,
      V,
      rows,
      maxLen,
      n1: 0, // until load()
      n2: 0,
      lnfW: param("transformer.ln_f.weight", C),
      lnfB: param("transformer.ln_f.bias", C),
      wteT: lay.take(C * V),
      x: lay.take(rows * C),
      scratch: lay.take(DECODE_SCRATCH_PER_ROW_C * rows * C),
      logits: lay.take(rows * V),
      kCache: lay.take(nLayer * rows * maxLen * C),
      vCache: lay.take(nLayer * rows * maxLen * C),
      layers,
    };
    if (lay.size * 4 > MAX_DECODE_BYTES) return null;
    let work = spare;
    spare = null;
    if (!work || work.byteLength < lay.size * 4) {
      work = new ArrayBuffer(lay.size * 4);
      decodeBuffers.allocated++;
    }
    const d = new NativeDecoder(work, plan);
    for (const [at, name] of weights) readInto(params.get(name)!, d.f, at);
    // The head multiplies by wte transposed, materialized ([C, V]), as gpt.ts's head(h, wteT).
    const wte = params.get("transformer.wte.weight")!.dataSync() as Float32Array;
    for (let v = 0; v < V; v++) for (let c = 0; c < C; c++) d.f[plan.wteT + c * V + v] = wte[v * C + c]!;
    return d;
  }

  /** Hands the buffer on to the next decoder opened (generate's last use of this one). */
  release(): void {
    if (this.work.byteLength <= KEEP_BYTES) spare = this.work;
  }

  /** Rows the cache holds now (the batch). */
  get rows(): number {
    return this.plan.B;
  }

  /**
   * Takes the prefill's keys and values ([B*H, P, hd] per layer, gpt.ts's LayerCache with no
   * recent block) as every row's old block: n1 = P, n2 = 0.
   */
  load(cache: LayerCache[], B: number): void {
    const { H, maxLen, rows } = this.plan;
    const hd = this.hd;
    if (B > rows) throw new Error(`NativeDecoder.load: ${B} rows, the decoder holds ${rows}`);
    const P = cache[0]!.k.shape[1];
    if (P > maxLen) throw new Error(`NativeDecoder.load: ${P} positions, the decoder holds ${maxLen}`);
    cache.forEach((c, l) => {
      if (c.rk || c.rv) throw new Error("NativeDecoder.load: the prefill's cache has a recent block");
      for (const [t, base] of [
        [c.k, this.plan.kCache],
        [c.v, this.plan.vCache],
      ] as const) {
        const src = heapView(t) ?? (t.dataSync() as Float32Array);
        for (let r = 0; r < B * H; r++) {
          this.f.set(src.subarray(r * P * hd, (r + 1) * P * hd), base + (l * rows * H + r) * maxLen * hd);
        }
      }
    });
    this.plan.B = B;
    this.plan.n1 = P;
    this.plan.n2 = 0;
  }

  /**
   * One step: x0 [B, C], the new tokens' embeddings (B = rows now), pads[r] each row's left
   * padding -> logits [B, V]. The new key and value join the recent block, which folds into the
   * old one when it reaches recentMax positions (appendRecent's schedule).
   */
  step(x0: Float32Array, pads: readonly number[], recentMax: number): Float32Array {
    const p = this.plan;
    if (p.n1 === 0) throw new Error("NativeDecoder.step: load() the prefill's cache first");
    if (x0.length !== p.B * p.C || pads.length !== p.B)
      throw new Error(`NativeDecoder.step: ${x0.length / p.C} rows of embeddings, ${pads.length} pads, ${p.B} rows`);
    if (p.n1 + p.n2 >= p.maxLen) throw new Error(`NativeDecoder.step: the cache is full (${p.maxLen} positions)`);
    p.n2 += 1;
    if (p.n2 >= recentMax) {
      p.n1 += p.n2;
      p.n2 = 0;
    }
    this.f.set(x0, p.x);
    const logitsT = nativeDecodeStep(this.work, p, Int32Array.from(pads), this.scale, NEG);
    try {
      return logitsT.dataSync() as Float32Array;
    } finally {
      logitsT.dispose();
    }
  }

  /**
   * Keeps cache rows `keep` (increasing row indices) as rows 0..keep.length-1, moving each up in
   * place (gpt.ts's dropRows); only the positions filled so far move.
   */
  keepRows(keep: readonly number[]): void {
    const p = this.plan;
    const { H, maxLen, rows } = p;
    const hd = this.hd;
    const filled = (p.n1 + p.n2) * hd;
    keep.forEach((r, i) => {
      if (!Number.isInteger(r) || r < (i === 0 ? 0 : keep[i - 1]! + 1) || r >= p.B)
        throw new Error(`NativeDecoder.keepRows: [${keep}] are not increasing rows of ${p.B}`);
    });
    for (const base of [p.kCache, p.vCache]) {
      for (let l = 0; l < p.layers.length; l++) {
        keep.forEach((r, i) => {
          if (r === i) return;
          for (let h = 0; h < H; h++) {
            const from = base + ((l * rows + r) * H + h) * maxLen * hd;
            const to = base + ((l * rows + i) * H + h) * maxLen * hd;
            this.f.copyWithin(to, from, from + filled);
          }
        });
      }
    }
    p.B = keep.length;
  }
}
