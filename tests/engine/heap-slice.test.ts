// Slice and SplitV as copies inside the wasm heap (src/engine/heap-slice.ts): the same bytes as the
// backend's own kernels for every rank, axis and dtype they take, NaN payloads included, and the
// dtypes they leave to the backend still answered by it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { initBackend, tf } from "../../src/engine/backend.js";
import { ADDON_PATH, disableNativeKernels, enableNativeKernels } from "../../src/engine/native-kernels.js";
import { Rng } from "../../src/util/rng.js";

await initBackend("wasm");
const skip = existsSync(ADDON_PATH) ? false : `${ADDON_PATH} is not built (node scripts/build-native.mjs)`;

/** f under the backend's own kernels, then under the heap copies; the raw bytes of each result. */
function both(f: () => tf.Tensor | tf.Tensor[]): [Uint8Array[], Uint8Array[]] {
  const bytes = () =>
    tf.tidy(() => {
      const r = f();
      return (Array.isArray(r) ? r : [r]).map((t) => {
        const v = t.dataSync() as Float32Array | Int32Array | Uint8Array;
        return new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice();
      });
    });
  disableNativeKernels();
  const own = bytes();
  enableNativeKernels();
  try {
    return [own, bytes()];
  } finally {
    disableNativeKernels();
  }
}

function values(rng: Rng, n: number, dtype: "float32" | "int32"): Float32Array | Int32Array {
  if (dtype === "int32") return Int32Array.from({ length: n }, () => Math.floor(rng.next() * 2 ** 31) - 2 ** 30);
  const f = Float32Array.from({ length: n }, () => 2 * rng.next() - 1);
  // a NaN with a payload, -0 and an infinity: a copy keeps their bits, arithmetic might not
  new Uint32Array(f.buffer)[0] = 0x7fc01234;
  if (n > 2) f[1] = -0;
  if (n > 3) f[2] = Number.NEGATIVE_INFINITY;
  return f;
}

test("Slice: the backend's bytes for ranks 1 to 5, whole and partial axes, float32 and int32", { skip }, () => {
  const rng = new Rng(5);
  const cases: [number[], number[], number[]][] = [
    [[10], [3], [4]],
    [
      [12, 9],
      [2, 3],
      [5, 4],
    ],
    [
      [12, 9],
      [4, 0],
      [3, 9],
    ], // whole rows: one run
    [
      [12, 9],
      [0, 8],
      [-1, 1],
    ], // one column
    [
      [4, 5, 6],
      [1, 0, 2],
      [2, 5, 3],
    ],
    [
      [4, 5, 6],
      [1, 2, 0],
      [3, 2, 6],
    ],
    [
      [3, 4, 5, 6],
      [1, 1, 1, 1],
      [2, 2, 3, 4],
    ],
    [
      [2, 3, 4, 5, 6],
      [1, 0, 1, 2, 3],
      [1, 3, 2, 2, 2],
    ], // rank 5: the backend's generic path
    [
      [7, 5],
      [7, 0],
      [0, 5],
    ], // empty
  ];
  for (const dtype of ["float32", "int32"] as const)
    for (const [shape, begin, size] of cases) {
      const data = values(
        rng,
        shape.reduce((a, b) => a * b, 1),
        dtype,
      );
      const [own, heap] = both(() => tf.slice(tf.tensor(data, shape, dtype), begin, size));
      assert.deepEqual(heap, own, `${dtype} ${shape} begin ${begin} size ${size}`);
    }
});

test("SplitV: the backend's bytes for even and uneven splits along every axis", { skip }, () => {
  const rng = new Rng(6);
  const x = values(rng, 6 * 12 * 4, "float32");
  for (const axis of [0, 1, 2, -1])
    for (const splits of [2, [1, 3, -1]] as const) {
      const shape = [6, 12, 4];
      const dim = shape[axis < 0 ? 2 : axis]!;
      if (typeof splits === "number" && dim % splits !== 0) continue;
      const [own, heap] = both(() => tf.split(tf.tensor3d(x, [6, 12, 4]), splits as number | number[], axis));
      assert.equal(heap.length, own.length);
      assert.deepEqual(heap, own, `axis ${axis} splits ${splits}`);
    }
  // the qkv split of a prefill: [B*T, 3C] into q, k, v
  const qkv = values(rng, 57 * 3 * 16, "float32");
  const [own, heap] = both(() => tf.split(tf.tensor2d(qkv, [57, 48]), 3, 1));
  assert.deepEqual(heap, own);
});

test("Slice and SplitV leave bool tensors to the backend", { skip }, () => {
  const b = [true, false, true, true, false, false];
  const [own, heap] = both(() => tf.slice(tf.tensor2d(b, [2, 3], "bool"), [0, 1], [2, 2]));
  assert.deepEqual(heap, own);
  assert.deepEqual([...heap[0]!], [0, 1, 0, 0]);
  const [own2, heap2] = both(() => tf.split(tf.tensor2d(b, [2, 3], "bool"), [1, 2], 1));
  assert.deepEqual(heap2, own2);
});
