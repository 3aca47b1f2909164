/**
 * Slice and SplitV for the wasm backend as copies inside its heap (issue 31). The backend's own
 * Slice starts with readSync, which copies the whole input out of the heap into a fresh
 * ArrayBuffer before it cuts the slice, and then copies row by row through a new subarray per
 * row; SplitV runs that Slice once per piece. Splitting the prefill's qkv [64 x 57, 384] into q, k
 * and v so copied three 5.6 MB inputs for three 1.9 MB outputs, and took 4 to 90 ms a call
 * (allocation and garbage collection), up to a sixth of a rollout step's time (bcr profile).
 * Here each contiguous run of the slice is one copyWithin on the heap: the same bytes, moved once.
 *
 * Only plain 4-byte tensors (float32, int32) take this path; strings, bool and complex go to the
 * backend's own kernels, which the caller passes in. Registered with the native kernel set
 * (src/engine/native-kernels.ts), where the rest of the heap-level kernels live.
 */
import * as tf from "@tensorflow/tfjs-core";
import { at, type WasmBackend } from "./wasm-heap.js";

type KernelArgs = Parameters<tf.KernelFunc>[0];

const copyable = (dtype: tf.DataType) => dtype === "float32" || dtype === "int32";

/**
 * out = x[begin : begin + size] for a 4-byte x already in the heap. The trailing axes the slice
 * takes whole join the innermost run, so a split along the last axis of [R, 3C] is R copies of C
 * elements, and a slice of whole rows is one copy.
 */
function copySlice(heap: WasmBackend, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const out = heap.makeOutput(size, x.dtype);
  const total = size.reduce((a, b) => a * b, 1);
  if (total === 0) return out;
  const shape = x.shape;
  const rank = shape.length;
  const strides = new Array<number>(rank);
  let s = 1;
  for (let d = rank - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d]!;
  }
  // j: the last axis the slice does not take whole; the run is size[j] x the axes after it.
  let j = rank - 1;
  while (j > 0 && size[j] === shape[j]) j--;
  const run = size.slice(j).reduce((a, b) => a * b, 1);
  // Read the heap after makeOutput, which may grow it (and so replace its buffer).
  const h = new Int32Array(heap.wasm.HEAPU8.buffer);
  const src0 = at(heap, x);
  let dst = at(heap, out);
  const index = new Array<number>(j).fill(0); // an odometer over the axes before j
  for (;;) {
    let src = src0 + begin[j]! * strides[j]!;
    for (let d = 0; d < j; d++) src += (begin[d]! + index[d]!) * strides[d]!;
    h.copyWithin(dst, src, src + run);
    dst += run;
    let d = j - 1;
    for (; d >= 0; d--) {
      index[d]! += 1;
      if (index[d]! < size[d]!) break;
      index[d] = 0;
    }
    if (d < 0) return out;
  }
}

/** The Slice kernel; `original` takes what this one does not (see the header). */
export function sliceInHeap(args: KernelArgs, original: tf.KernelFunc): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (!copyable(x.dtype)) return original(args) as tf.TensorInfo;
  const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
  const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
  return copySlice(args.backend as unknown as WasmBackend, x, b, s);
}

/** The SplitV kernel: one heap copy per piece. */
export function splitVInHeap(args: KernelArgs, original: tf.KernelFunc): tf.TensorInfo[] {
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (!copyable(x.dtype)) return original(args) as tf.TensorInfo[];
  const { numOrSizeSplits, axis } = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
  const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((n) => {
    const size = [...x.shape];
    size[ax] = n;
    const piece = copySlice(args.backend as unknown as WasmBackend, x, [...begin], size);
    begin[ax]! += n;
    return piece;
  });
}
