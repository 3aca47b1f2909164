/**
 * Where the time goes, measured: the kernels of one piece of work grouped by name (tf.profile).
 * Shared by `npm run bench` and `bcr profile`; the sgemm ceiling they are held against is
 * peak.ts's.
 */
import { tf } from "../engine/backend.js";
import { paddingSkipStats } from "../engine/real-rows.js";

export interface KernelStat {
  name: string;
  count: number;
  ms: number;
}

export interface ProfileSummary {
  /** Wall time of the profiled call itself (so kernelMs <= wallMs). */
  wallMs: number;
  /** Sum of the kernels' own times. */
  kernelMs: number;
  /** Kernel calls. */
  kernels: number;
  peakBytes: number;
  newTensors: number;
  /** Time by kernel name, longest first. */
  top: KernelStat[];
  /**
   * Token rows the products and GELU saw in this thread, and how many of them were padding they
   * skipped (src/engine/real-rows.ts).
   */
  paddingRows: { rows: number; skipped: number };
}

/**
 * Runs f under tf.profile. Kernel names are tfjs's registered kernels, except that BatchMatMul is split into its
 * 2-D and batched calls (wasm runs 2-D matmuls through XNNPACK, batched ones on a slow path).
 * Only this thread's kernels are seen: work in worker threads is not in the profile.
 */
export async function profiled(f: () => unknown): Promise<ProfileSummary> {
  paddingSkipStats(true);
  const t0 = performance.now();
  const info = await tf.profile(async () => {
    await f();
  });
  const wallMs = performance.now() - t0;
  const by = new Map<string, KernelStat>();
  let kernelMs = 0;
  const backend = tf.getBackend();
  const registered = new Map<string, boolean>();
  const isKernel = (name: string) => {
    let r = registered.get(name);
    if (r === undefined) registered.set(name, (r = tf.getKernel(name, backend) !== undefined));
    return r;
  };
  for (const k of info.kernels) {
    // A customGrad forward is profiled too, under its scope's name ("unnamed scope",
    // "fusedMatMul__op", ...), and its time holds the kernels it ran, each profiled on its own:
    // only registered kernels count, or that time would count twice.
    if (!isKernel(k.name)) continue;
    const ms = typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
    const batched = k.name === "BatchMatMul" && k.inputShapes.some((sh) => sh != null && sh.length > 2 && sh[0]! > 1);
    const name = k.name === "BatchMatMul" ? (batched ? "BatchMatMul(batched)" : "BatchMatMul(2-D)") : k.name;
    const s = by.get(name) ?? { name, count: 0, ms: 0 };
    s.count += 1;
    s.ms += ms;
    kernelMs += ms;
    by.set(name, s);
  }
  const top = [...by.values()].sort((a, b) => b.ms - a.ms);
  return {
    wallMs,
    kernelMs,
    kernels: [...by.values()].reduce((a, k) => a + k.count, 0),
    peakBytes: info.peakBytes,
    newTensors: info.newTensors,
    top,
    paddingRows: paddingSkipStats(true),
  };
}
