/**
 * Embedding lookup by ids known on the host, differentiable.
 *
 * Why: the gather gradient (UnsortedSegmentSum) has no wasm kernel, and the one-hot matmul the
 * token embedding uses costs rows x tableRows x C multiply-adds each way: fine for a 40-row
 * vocabulary, 13 times that for a 512-row position table. Here the rows are copied on the host
 * and the gradient is a host scatter-add: rows x C each way. (Measured on a full SFT step, the
 * difference was small: 3.1-3.2 s/it either way, wasm, 2 cores.) With the native kernel set both
 * directions run in C instead (nativeLookupRows), without the round trips through JavaScript.
 */
import { tf } from "../engine/backend.js";
import { fusedTraining, nativeLookupRows } from "../engine/native-kernels.js";

/** table [R, C], ids (each in 0..R-1) -> [ids.length, C] with row i = table[ids[i]]. */
export function lookupRows(table: tf.Tensor2D, ids: Int32Array): tf.Tensor2D {
  const [R, C] = table.shape;
  for (let i = 0; i < ids.length; i++) {
    if (!(ids[i]! >= 0 && ids[i]! < R)) throw new Error(`lookupRows: id ${ids[i]} at ${i} is outside 0..${R - 1}`);
  }
  // The same copies and the same float32 sums in the same order, in C on the heap.
  if (fusedTraining()) return nativeLookupRows(table, ids);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const src = (args[0] as tf.Tensor2D).dataSync() as Float32Array;
    const out = new Float32Array(ids.length * C);
    for (let i = 0; i < ids.length; i++) out.set(src.subarray(ids[i]! * C, (ids[i]! + 1) * C), i * C);
    return {
      value: tf.tensor2d(out, [ids.length, C]),
      gradFunc: (dy: tf.Tensor2D) => {
        const g = dy.dataSync() as Float32Array;
        const acc = new Float32Array(R * C);
        for (let i = 0; i < ids.length; i++) {
          const o = ids[i]! * C,
            s = i * C;
          for (let c = 0; c < C; c++) acc[o + c]! += g[s + c]!;
        }
        return tf.tensor2d(acc, [R, C]);
      },
    };
  });
  return op(table) as tf.Tensor2D;
}
