// OpenBLAS matrix products on the wasm heap (src/engine/native-kernels.ts): products and their gradients
// against a plain JavaScript product, XNNPACK's kernels against ours on the same inputs, a whole
// model through both engines, clear errors, and the XNNPACK kernels put back.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { initBackend, tf } from "../../src/engine/backend.js";
import {
  ADDON_PATH,
  nativeKernelsInfo,
  disableNativeKernels,
  enableNativeKernels,
  nativeCausalAttention,
  nativeGelu,
  nativeLayerNorm,
  setFusedTraining,
} from "../../src/engine/native-kernels.js";
import { causalSelfAttentionBatched } from "../../src/model/attention.js";
import { GPT, kvCacheSettings } from "../../src/model/gpt.js";
import { decodeSettings } from "../../src/model/native-decode.js";
import { Rng } from "../../src/util/rng.js";
import { withPairwise } from "../helpers/attention.js";
import { prompt, TINY_GPT } from "../helpers/tiny-gpt.js";

await initBackend("wasm");
// scripts/setup.mjs builds the addon wherever gcc is installed (CI installs it as root).
const built = existsSync(ADDON_PATH);
const skip = built ? false : `${ADDON_PATH} is not built (node scripts/build-native.mjs)`;

/** Runs f with the native kernel set enabled, then puts XNNPACK's kernels back. */
function withNativeKernels<T>(f: () => T): T {
  enableNativeKernels();
  try {
    return f();
  } finally {
    disableNativeKernels();
  }
}

const rng = new Rng(11);
const rand = (shape: number[]) =>
  tf.tensor(
    Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 2 * rng.next() - 1),
    shape,
  );

/** Row-major op(A) @ op(B) for one batch entry, in float64: the independent product. */
function naive(a: Float32Array, b: Float32Array, m: number, n: number, k: number, tA: boolean, tB: boolean) {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += (tA ? a[p * m + i]! : a[i * k + p]!) * (tB ? b[j * k + p]! : b[p * n + j]!);
      out[i * n + j] = s;
    }
  return out;
}

/** The batched product with batch broadcasting of a size-1 side, via `naive`. */
function reference(a: tf.Tensor, b: tf.Tensor, tA: boolean, tB: boolean): { shape: number[]; values: Float64Array } {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = tA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const k = tA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const n = tB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const batchA = a.size / (m * k);
  const batchB = b.size / (k * n);
  const batch = Math.max(batchA, batchB);
  const outer = (ra >= rb ? a : b).shape.slice(0, -2);
  const av = a.dataSync() as Float32Array;
  const bv = b.dataSync() as Float32Array;
  const values = new Float64Array(batch * m * n);
  for (let i = 0; i < batch; i++) {
    const ai = batchA === 1 ? 0 : i;
    const bi = batchB === 1 ? 0 : i;
    values.set(
      naive(av.subarray(ai * m * k, (ai + 1) * m * k), bv.subarray(bi * k * n, (bi + 1) * k * n), m, n, k, tA, tB),
      i * m * n,
    );
  }
  return { shape: [...outer, m, n], values };
}

function assertClose(actual: tf.Tensor, expected: { shape: number[]; values: ArrayLike<number> }, what: string) {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const v = actual.dataSync();
  let worst = 0;
  for (let i = 0; i < v.length; i++) worst = Math.max(worst, Math.abs(v[i]! - expected.values[i]!));
  assert.ok(worst < 1e-4, `${what}: max |difference| ${worst}`);
}

/** x with its last two axes swapped (the matrix transpose of every batch entry). */
function swapLastTwo(x: tf.Tensor): tf.Tensor {
  const r = x.shape.length;
  return tf.transpose(x, [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2]);
}

const CASES: [number[], number[], boolean, boolean][] = [
  [[4, 6], [6, 5], false, false],
  [[6, 4], [6, 5], true, false],
  [[4, 6], [5, 6], false, true],
  [[6, 4], [5, 6], true, true],
  [[3, 4, 6], [3, 6, 5], false, false],
  [[3, 6, 4], [6, 5], true, false], // b broadcast over the batch
  [[4, 6], [2, 3, 5, 6], false, true], // a broadcast over a rank-4 batch
  [[2, 3, 6, 4], [2, 3, 5, 6], true, true],
  [[1, 7], [7, 1], false, false],
];

test("the BLAS engine opens an OpenBLAS library, says which, and puts XNNPACK back", { skip }, () => {
  const info = enableNativeKernels({ threads: 1 });
  assert.match(info.library, /openblas/i);
  assert.equal(info.threads, 1);
  assert.equal(nativeKernelsInfo(), info);
  disableNativeKernels();
  assert.equal(nativeKernelsInfo(), null);
});

test("products equal a float64 JavaScript product: every transpose, batched, broadcast", { skip }, () => {
  withNativeKernels(() => {
    for (const [sa, sb, tA, tB] of CASES) {
      tf.tidy(() => {
        const a = rand(sa);
        const b = rand(sb);
        assertClose(tf.matMul(a, b, tA, tB), reference(a, b, tA, tB), `${sa} x ${sb} tA=${tA} tB=${tB}`);
      });
    }
  });
});

test("fused products add the bias on BLAS and hand activations back to XNNPACK", { skip }, () => {
  const a = rand([5, 6]);
  const b = rand([6, 4]);
  const bias = rand([4]);
  const xnnpack = tf.fused.matMul({ a, b, bias, activation: "relu" }).arraySync();
  try {
    withNativeKernels(() => {
      const ref = reference(a, b, false, false);
      const bv = bias.dataSync();
      const withBias = ref.values.map((x, i) => x + bv[i % 4]!);
      assertClose(tf.fused.matMul({ a, b, bias }), { shape: [5, 4], values: withBias }, "bias");
      assertClose(tf.fused.matMul({ a, b }), ref, "no bias");
      assert.deepEqual(tf.fused.matMul({ a, b, bias, activation: "relu" }).arraySync(), xnnpack);
    });
  } finally {
    tf.dispose([a, b, bias]);
  }
});

test("BatchMatMul gradients through the transpose flags equal the JavaScript product's", { skip }, () => {
  withNativeKernels(() => {
    for (const [sa, sb, tA, tB] of CASES) {
      tf.tidy(() => {
        const a = rand(sa);
        const b = rand(sb);
        const y = tf.matMul(a, b, tA, tB);
        const w = rand(y.shape);
        const [da, db] = tf.grads((x: tf.Tensor, z: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, z, tA, tB), w)))([a, b]);
        // L = sum(w * op(a) op(b)): dL/dop(a) = w op(b)^T, dL/dop(b) = op(a)^T w, summed over
        // broadcast batch entries, then transposed back where the flag transposed.
        const opA = tA ? swapLastTwo(a) : a;
        const opB = tB ? swapLastTwo(b) : b;
        const dOpA = reference(w, opB, false, true);
        const dOpB = reference(opA, w, true, false);
        const fold = (g: { shape: number[]; values: Float64Array }, target: tf.Tensor, transposed: boolean) => {
          const [r, c] = g.shape.slice(-2) as [number, number];
          const per = r * c;
          const out = new Float64Array(target.size);
          const entries = target.size / per;
          for (let i = 0; i < g.values.length / per; i++)
            for (let p = 0; p < per; p++) {
              const row = Math.floor(p / c);
              const col = p % c;
              out[(i % entries) * per + (transposed ? col * r + row : p)]! += g.values[i * per + p]!;
            }
          return { shape: target.shape, values: out };
        };
        assertClose(da!, fold(dOpA, a, tA), `da ${sa} x ${sb} tA=${tA} tB=${tB}`);
        assertClose(db!, fold(dOpB, b, tB), `db ${sa} x ${sb} tA=${tA} tB=${tB}`);
      });
    }
  });
});

test("a whole model: log-probs, every gradient and sampled tokens agree across the two engines", { skip }, () => {
  const m = new GPT(TINY_GPT);
  const x = tf.tensor2d([prompt("12+34=46"), prompt("9*9=81\n#")], [2, 9], "int32");
  const vars = [...m.params.values()];
  const run = () =>
    tf.variableGrads(() => tf.sum(tf.mul(m.tokenLogProbs(x), tf.linspace(-1, 1, 8))) as tf.Scalar, vars);
  const sample = () => m.generate([prompt("12+7="), prompt("(5-2)*9=")], { maxNewTokens: 8, rng: new Rng(4) });
  for (const pairwise of [true, false]) {
    const a = withPairwise(pairwise, run);
    const sa = withPairwise(pairwise, sample);
    const [b, sb] = withNativeKernels(() => [withPairwise(pairwise, run), withPairwise(pairwise, sample)] as const);
    const diff = (p: tf.Tensor, q: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(p, q))).dataSync()[0]!);
    assert.ok(diff(a.value, b.value) < 1e-4, `value (pairwise ${pairwise})`);
    for (const v of vars)
      assert.ok(diff(a.grads[v.name]!, b.grads[v.name]!) < 1e-4, `${v.name} (pairwise ${pairwise})`);
    assert.deepEqual(sa.tokens, sb.tokens);
    tf.dispose([a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads)]);
  }
  x.dispose();
  m.dispose();
});

test("no tensor leaks through the BLAS kernels (forward, backward, cached generate)", { skip }, () => {
  const m = new GPT(TINY_GPT);
  const x = tf.tensor2d([prompt("12+34=46")], [1, 9], "int32");
  const vars = [...m.params.values()];
  try {
    withNativeKernels(() => {
      const round = () => {
        const { value, grads } = tf.variableGrads(() => tf.neg(tf.mean(m.tokenLogProbs(x))) as tf.Scalar, vars);
        tf.dispose([value, ...Object.values(grads)]);
        m.generate([prompt("1+1="), prompt("2")], { maxNewTokens: 4, rng: new Rng(1) });
      };
      round();
      const before = tf.memory().numTensors;
      round();
      assert.equal(tf.memory().numTensors, before);
    });
  } finally {
    x.dispose();
    m.dispose();
  }
});

test("a library that cannot be opened and a bad thread count are clear errors that change nothing", { skip }, () => {
  const before = process.env.BCR_BLAS_LIB;
  process.env.BCR_BLAS_LIB = "/nonexistent/libopenblas.so.0";
  try {
    assert.throws(
      () => enableNativeKernels(),
      /no OpenBLAS library could be opened.*\/nonexistent\/libopenblas\.so\.0/,
    );
    assert.equal(nativeKernelsInfo(), null);
  } finally {
    if (before === undefined) delete process.env.BCR_BLAS_LIB;
    else process.env.BCR_BLAS_LIB = before;
  }
  assert.throws(() => enableNativeKernels({ threads: 0 }), /positive integer/);
  assert.equal(nativeKernelsInfo(), null);
});

test("BCR_KERNELS=auto takes the native set where it loads, else the wasm set saying why; wasm puts XNNPACK back", {
  skip,
}, async () => {
  const saved = { kernels: process.env.BCR_KERNELS, lib: process.env.BCR_BLAS_LIB };
  const restore = (k: string, v: string | undefined) =>
    v === undefined ? delete process.env[k] : (process.env[k] = v);
  try {
    process.env.BCR_KERNELS = "auto";
    await initBackend("cpu");
    const native = await initBackend("wasm");
    assert.equal(native.kernels?.engine, "native");
    assert.ok(nativeKernelsInfo());
    process.env.BCR_KERNELS = "wasm";
    await initBackend("cpu");
    assert.deepEqual((await initBackend("wasm")).kernels, { engine: "wasm" });
    assert.equal(nativeKernelsInfo(), null);
    process.env.BCR_KERNELS = "auto";
    process.env.BCR_BLAS_LIB = "/nonexistent/libopenblas.so.0";
    await initBackend("cpu");
    const fallback = await initBackend("wasm");
    assert.equal(fallback.kernels?.engine, "wasm");
    assert.match(
      String((fallback.kernels as { nativeSkipped?: string }).nativeSkipped),
      /no OpenBLAS library could be opened/,
    );
    assert.equal(nativeKernelsInfo(), null);
  } finally {
    restore("BCR_KERNELS", saved.kernels);
    restore("BCR_BLAS_LIB", saved.lib);
    await initBackend("cpu");
    await initBackend("wasm");
  }
});

test("BCR_KERNELS: an unknown set, native on a backend other than wasm, and a malformed BCR_BLAS_THREADS are errors", async () => {
  const before = process.env.BCR_KERNELS;
  try {
    process.env.BCR_KERNELS = "cublas";
    await assert.rejects(
      initBackend("cpu").then(() => initBackend("wasm")),
      /unknown BCR_KERNELS "cublas"/,
    );
    process.env.BCR_KERNELS = "native";
    await assert.rejects(initBackend("cpu"), /BCR_KERNELS=native works with the wasm backend only, not 'cpu'/);
    process.env.BCR_KERNELS = "auto";
    process.env.BCR_BLAS_THREADS = "two";
    await assert.rejects(initBackend("wasm"), /BCR_BLAS_THREADS must be a positive integer, got "two"/);
  } finally {
    delete process.env.BCR_BLAS_THREADS;
    if (before === undefined) delete process.env.BCR_KERNELS;
    else process.env.BCR_KERNELS = before;
    await initBackend("wasm");
  }
});

test("native attention equals the XNNPACK batched path: values and gradients, with and without left padding", {
  skip,
}, () => {
  for (const [B, T, H, C, pads] of [
    [2, 5, 2, 8, undefined],
    [3, 7, 4, 16, [0, 2, 6]],
    [1, 1, 1, 4, undefined],
    [2, 70, 2, 16, [0, 9]],
  ] as const) {
    tf.tidy(() => {
      const qkv = rand([B * T, 3 * C]) as tf.Tensor2D;
      const w = rand([B * T, C]);
      const keyPads = pads ? [...pads] : undefined;
      const loss = (x: tf.Tensor) => tf.sum(tf.mul(causalSelfAttentionBatched(x as tf.Tensor2D, B, T, H, keyPads), w));
      const ref = causalSelfAttentionBatched(qkv, B, T, H, keyPads);
      const refGrad = tf.grad(loss)(qkv);
      withNativeKernels(() => {
        const y = nativeCausalAttention(qkv, B, T, H, keyPads);
        const g = tf.grad((x: tf.Tensor) =>
          tf.sum(tf.mul(nativeCausalAttention(x as tf.Tensor2D, B, T, H, keyPads), w)),
        )(qkv);
        const diff = (p: tf.Tensor, q: tf.Tensor) => tf.max(tf.abs(tf.sub(p, q))).dataSync()[0]!;
        assert.ok(diff(y, ref) < 1e-5, `values B=${B} T=${T}: ${diff(y, ref)}`);
        assert.ok(diff(g, refGrad) < 1e-5, `gradients B=${B} T=${T}: ${diff(g, refGrad)}`);
        assert.ok(tf.max(tf.abs(g)).dataSync()[0]! > 1e-3, "gradient is not trivially zero");
      });
    });
  }
});

test("native attention refuses to run without the addon enabled, and a qkv of the wrong shape", { skip }, () => {
  const qkv = rand([6, 24]) as tf.Tensor2D;
  assert.throws(() => nativeCausalAttention(qkv, 2, 3, 2), /needs enableNativeKernels/);
  try {
    withNativeKernels(() => {
      assert.throws(() => nativeCausalAttention(qkv, 2, 4, 2), /is not \[B\*T, 3\*C\]/);
    });
  } finally {
    qkv.dispose();
  }
});

/** Central differences of a float64 function of one flat array, for every element. */
function numericGrad(f: (x: Float64Array) => number, x: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const keep = x[i]!;
    x[i] = keep + h;
    const up = f(x);
    x[i] = keep - h;
    const down = f(x);
    x[i] = keep;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

test("native LayerNorm: values and gradients (x, w, b) equal a float64 JavaScript LayerNorm's", { skip }, () => {
  const [R, C] = [5, 12];
  const x = rand([R, C]) as tf.Tensor2D;
  const w = rand([C]) as tf.Tensor1D;
  const b = rand([C]) as tf.Tensor1D;
  const u = rand([R, C]);
  const uv = Float64Array.from(u.dataSync());
  // The independent LayerNorm: float64, two passes, biased variance, eps 1e-5.
  const forward = (xv: Float64Array, wv: Float64Array, bv: Float64Array) => {
    const y = new Float64Array(R * C);
    for (let r = 0; r < R; r++) {
      let mean = 0;
      for (let c = 0; c < C; c++) mean += xv[r * C + c]!;
      mean /= C;
      let v = 0;
      for (let c = 0; c < C; c++) v += (xv[r * C + c]! - mean) ** 2;
      const rstd = 1 / Math.sqrt(v / C + 1e-5);
      for (let c = 0; c < C; c++) y[r * C + c] = (xv[r * C + c]! - mean) * rstd * wv[c]! + bv[c]!;
    }
    return y;
  };
  const X = Float64Array.from(x.dataSync());
  const W = Float64Array.from(w.dataSync());
  const Bv = Float64Array.from(b.dataSync());
  const loss = (y: Float64Array) => y.reduce((s, v, i) => s + v * uv[i]!, 0);
  try {
    withNativeKernels(() => {
      assertClose(nativeLayerNorm(x, w, b), { shape: [R, C], values: forward(X, W, Bv) }, "values");
      const [dx, dw, db] = tf.grads((p: tf.Tensor, q: tf.Tensor, r: tf.Tensor) =>
        tf.sum(tf.mul(nativeLayerNorm(p as tf.Tensor2D, q as tf.Tensor1D, r as tf.Tensor1D), u)),
      )([x, w, b]);
      assertClose(dx!, { shape: [R, C], values: numericGrad((v) => loss(forward(v, W, Bv)), X) }, "dx");
      assertClose(dw!, { shape: [C], values: numericGrad((v) => loss(forward(X, v, Bv)), W) }, "dw");
      assertClose(db!, { shape: [C], values: numericGrad((v) => loss(forward(X, W, v)), Bv) }, "db");
    });
  } finally {
    tf.dispose([x, w, b, u]);
  }
});

test("native GELU: values and gradient equal PyTorch's tanh form computed in float64", { skip }, () => {
  const x = tf.mul(rand([3, 7]), 4);
  const X = Float64Array.from(x.dataSync());
  const geluTanh = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  try {
    withNativeKernels(() => {
      assertClose(nativeGelu(x), { shape: [3, 7], values: X.map(geluTanh) }, "values");
      const dx = tf.grad((p: tf.Tensor) => tf.sum(nativeGelu(p)))(x);
      const fd = X.map((v) => (geluTanh(v + 1e-6) - geluTanh(v - 1e-6)) / 2e-6);
      assertClose(dx, { shape: [3, 7], values: fd }, "gradient");
    });
  } finally {
    x.dispose();
  }
});

test("native cached decoding (old and recent cache blocks, ragged prompts) samples what the wasm kernels sample", {
  skip,
}, () => {
  const m = new GPT(TINY_GPT);
  const prompts = [prompt(""), prompt("12+7="), prompt("(5-2)*9=")];
  const before = kvCacheSettings.recentMax;
  const engine = decodeSettings.engine;
  kvCacheSettings.recentMax = 3; // both blocks in play, and folds, within 12 tokens
  try {
    const run = () => m.generate(prompts, { maxNewTokens: 12, rng: new Rng(9) });
    const a = run();
    // the cachedAttention kernel (the tfjs step), then the whole step as one call (decodeStep)
    for (const e of ["tfjs", "native"] as const) {
      decodeSettings.engine = e;
      const b = withNativeKernels(run);
      assert.deepEqual(b.tokens, a.tokens, `${e} step`);
      a.logProbs.forEach((row, i) =>
        row.forEach((v, t) => assert.ok(Math.abs(v - b.logProbs[i]![t]!) < 1e-4, `${e} step: row ${i} token ${t}`)),
      );
    }
  } finally {
    kvCacheSettings.recentMax = before;
    decodeSettings.engine = engine;
    m.dispose();
  }
});

test(
  "with the native set, Identity (a clone, the tape's saved tensors) shares the data; setFusedTraining(false) copies",
  {
    skip,
  },
  () =>
    withNativeKernels(() => {
      const backend = tf.backend() as unknown as { refCount(id: unknown): number };
      const x = tf.tensor1d([1, 2, 3]);
      const shared = tf.clone(x);
      assert.equal(shared.dataId, x.dataId);
      assert.equal(backend.refCount(x.dataId), 2);
      setFusedTraining(false);
      const copied = tf.clone(x);
      setFusedTraining(true);
      assert.notEqual(copied.dataId, x.dataId);
      assert.deepEqual(Array.from(copied.dataSync()), [1, 2, 3]);
      shared.dispose();
      assert.deepEqual(Array.from(x.dataSync()), [1, 2, 3], "disposing the clone leaves the data");
      tf.dispose([x, copied]);
    }),
);
