/**
 * The wasm backend's heap as the kernels that work inside it see it: the parts of tfjs-backend-wasm's
 * BackendWasm they use, a tensor's float32 offset and the heap's buffer. Shared by the native
 * kernel set (native-kernels.ts) and the heap copies (heap-slice.ts), which needs no addon.
 */
import type * as tf from "@tensorflow/tfjs-core";

/** The parts of the wasm backend the heap-level kernels use (tfjs-backend-wasm's BackendWasm). */
export interface WasmBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { has(dataId: unknown): boolean };
  incRef(dataId: unknown): void;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  getMemoryOffset(dataId: unknown): number;
  /** How many tensors share the data (a reshape, the tape's saved copies, a variable's initial value). */
  refCount(dataId: unknown): number;
}

/** Float32 (or int32) element offset of a tensor in the wasm heap (getMemoryOffset is in bytes). */
export function at(backend: WasmBackend, t: tf.TensorInfo): number {
  return backend.getMemoryOffset(t.dataId) / 4;
}

/**
 * The heap as the addon takes it. Read it after makeOutput, which may grow the heap (and so
 * replace its buffer).
 */
export function heapOf(backend: WasmBackend): ArrayBuffer {
  return backend.wasm.HEAPU8.buffer as ArrayBuffer;
}
