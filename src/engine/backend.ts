/**
 * Picks the compute backend once per process and re-exports the one `tf` namespace the
 * whole toolkit uses (`import { tf } from "../engine/backend.js"`).
 *
 * BCR_BACKEND (or the `requested` argument) is auto | tensorflow | wasm | cpu. `auto` tries,
 * in order: @tensorflow/tfjs-node-gpu, @tensorflow/tfjs-node (native TensorFlow, all cores),
 * @tensorflow/tfjs-backend-wasm (XNNPACK, SIMD), @tensorflow/tfjs-backend-cpu (plain JS), and
 * records why each earlier one was skipped. An explicit choice that cannot be had is an Error.
 * On wasm, BCR_KERNELS then picks the kernel set (see wasmKernels below).
 *
 * Why one `tf` works with every backend: tfjs-node ships as @tensorflow/tfjs (which depends on
 * its own copy of tfjs-core) plus a native binding that registers the 'tensorflow' backend.
 * tfjs-core keeps its engine and kernel registry on the global object (`_tfengine`,
 * `kernelRegistry`), so even a second copy of tfjs-core registers into the same engine that
 * our `tf` drives. That is only safe when both copies are the same version, so a tfjs-node
 * whose core version differs from ours is skipped with that reason rather than half-used.
 */
import * as os from "node:os";
import * as tf from "@tensorflow/tfjs-core";
import { disableNativeKernels, enableNativeKernels, type NativeKernelsInfo } from "./native-kernels.js";
import { registerGradients } from "./gradients.js";

export { tf };

export type BackendName = "tensorflow" | "wasm" | "cpu";

export interface BackendInfo {
  name: BackendName;
  /** What was asked for: auto, tensorflow, wasm or cpu. */
  requested: string;
  /** The npm package that provides the backend. */
  package: string;
  /** tfjs-core version of the `tf` namespace. */
  tfjsVersion: string;
  /** Threads the backend computes with (wasm without SharedArrayBuffer threads: 1). */
  threads: number;
  /** Backends tried before the chosen one, and why each was passed over. */
  skipped: { backend: string; reason: string }[];
  /** wasm only: whether the SIMD build is in use (null for other backends). */
  simd: boolean | null;
  /**
   * wasm only: which kernels do the heavy work, the backend's own (XNNPACK products, "wasm")
   * or the native set (OpenBLAS products, attention in C: BCR_KERNELS=native,
   * src/engine/native-kernels.ts); null for other backends. nativeSkipped: why BCR_KERNELS=auto
   * fell back to the wasm set.
   */
  kernels: { engine: "wasm"; nativeSkipped?: string } | ({ engine: "native" } & NativeKernelsInfo) | null;
}

const REQUESTS = ["auto", "tensorflow", "wasm", "cpu"] as const;

let chosen: BackendInfo | null = null;

/** What initBackend chose, or null before it ran. */
export function backendInfo(): BackendInfo | null {
  return chosen;
}

/**
 * The environment for a child process that must compute as this one does: this process's
 * backend and kernel set, not what BCR_BACKEND=auto or BCR_KERNELS=auto might pick there.
 */
export function childBackendEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    BCR_BACKEND: chosen?.name ?? process.env.BCR_BACKEND ?? "auto",
    ...(chosen?.kernels ? { BCR_KERNELS: chosen.kernels.engine } : {}),
  };
}

interface Candidate {
  backend: BackendName;
  package: string;
  /** Loads the package and makes its backend current; throws with a readable reason. */
  load(): Promise<void>;
  threads(): number;
}

/** A package name in a variable, so TypeScript does not demand types for optional packages. */
async function importOptional(pkg: string): Promise<unknown> {
  try {
    return await import(pkg);
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (err.code === "ERR_MODULE_NOT_FOUND" || err.code === "MODULE_NOT_FOUND") {
      // The message also says "not found" when a *dependency* of the package is missing;
      // only call it "not installed" when it is the package itself.
      if ((err.message ?? "").includes(`'${pkg}'`)) throw new Error("module not installed");
    }
    throw new Error(firstLine(err.message ?? String(e)));
  }
}

function firstLine(s: string): string {
  return s.split("\n")[0]!.slice(0, 300);
}

async function activate(name: BackendName): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name) throw new Error(`tf.setBackend('${name}') failed`);
  await tf.ready();
}

function tfjsNode(pkg: string): Candidate {
  return {
    backend: "tensorflow",
    package: pkg,
    async load() {
      const mod = (await importOptional(pkg)) as { version?: Record<string, string> };
      const theirCore = mod.version?.["tfjs-core"];
      if (theirCore && theirCore !== tf.version_core) {
        throw new Error(`bundles tfjs-core ${theirCore}, the toolkit uses ${tf.version_core}`);
      }
      await activate("tensorflow");
    },
    threads: () => (typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length),
  };
}

let wasmModule: { getThreadsCount?: () => number } | null = null;

const wasmCandidate: Candidate = {
  backend: "wasm",
  package: "@tensorflow/tfjs-backend-wasm",
  async load() {
    wasmModule = (await importOptional("@tensorflow/tfjs-backend-wasm")) as typeof wasmModule;
    await activate("wasm");
  },
  threads() {
    // In Node the threaded binary is not used (WASM_HAS_MULTITHREAD_SUPPORT is false: no
    // cross-origin-isolated SharedArrayBuffer), so XNNPACK runs on one thread.
    if (!tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT")) return 1;
    return wasmModule?.getThreadsCount?.() ?? 1;
  },
};

const cpuCandidate: Candidate = {
  backend: "cpu",
  package: "@tensorflow/tfjs-backend-cpu",
  async load() {
    await importOptional("@tensorflow/tfjs-backend-cpu");
    await activate("cpu");
  },
  threads: () => 1,
};

function candidatesFor(requested: string): Candidate[] {
  const node = [tfjsNode("@tensorflow/tfjs-node-gpu"), tfjsNode("@tensorflow/tfjs-node")];
  switch (requested) {
    case "auto":
      return [...node, wasmCandidate, cpuCandidate];
    case "tensorflow":
      return node;
    case "wasm":
      return [wasmCandidate];
    case "cpu":
      return [cpuCandidate];
    default:
      throw new Error(
        `unknown backend ${JSON.stringify(requested)}: expected one of ${REQUESTS.join(", ")} (BCR_BACKEND or --backend)`,
      );
  }
}

/**
 * The kernel set when BCR_KERNELS is not set: the native set wherever it loads (the committed
 * results were computed with it), the wasm set elsewhere, saying why.
 */
export const DEFAULT_KERNELS: "auto" | "wasm" | "native" = "auto";

/**
 * BCR_KERNELS picks the wasm backend's kernel set: wasm, native (OpenBLAS with
 * BCR_BLAS_THREADS threads per call, default 1: data-parallel workers use the other cores), or
 * auto (native where the addon and OpenBLAS load, else wasm, saying why). An explicit native
 * set that cannot load is an Error, like an explicit backend.
 */
function kernelsRequest(): "auto" | "wasm" | "native" {
  const req = (process.env.BCR_KERNELS ?? DEFAULT_KERNELS).trim().toLowerCase() || DEFAULT_KERNELS;
  if (req !== "auto" && req !== "wasm" && req !== "native") {
    throw new Error(`unknown BCR_KERNELS ${JSON.stringify(req)}: expected auto, wasm or native`);
  }
  return req;
}

function wasmKernels(): BackendInfo["kernels"] {
  const req = kernelsRequest();
  if (req === "wasm") {
    disableNativeKernels(); // a re-initialisation may switch sets
    return { engine: "wasm" };
  }
  const threads = Number(process.env.BCR_BLAS_THREADS ?? "1");
  // A malformed setting is an error even under auto, not a quiet fall back to the wasm set.
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`BCR_BLAS_THREADS must be a positive integer, got ${JSON.stringify(process.env.BCR_BLAS_THREADS)}`);
  }
  if (req === "native") return { engine: "native", ...enableNativeKernels({ threads }) };
  try {
    return { engine: "native", ...enableNativeKernels({ threads }) };
  } catch (e) {
    disableNativeKernels();
    return { engine: "wasm", nativeSkipped: firstLine((e as Error).message) };
  }
}

function checkKernelsRequest(backend: BackendName): void {
  if (kernelsRequest() === "native" && backend !== "wasm") {
    throw new Error(`BCR_KERNELS=native works with the wasm backend only, not '${backend}'`);
  }
}

/**
 * Chooses and activates the backend. Calling it again with the same request returns the same
 * choice; a different request switches backends (tensors made earlier stay on the old one).
 */
export async function initBackend(requested?: string): Promise<BackendInfo> {
  const req = (requested ?? process.env.BCR_BACKEND ?? "auto").trim().toLowerCase() || "auto";
  const candidates = candidatesFor(req);
  if (chosen && chosen.requested === req && tf.getBackend() === chosen.name) return chosen;

  const skipped: { backend: string; reason: string }[] = [];
  for (const c of candidates) {
    try {
      await c.load();
    } catch (e) {
      skipped.push({ backend: c.package, reason: (e as Error).message });
      continue;
    }
    // After the backend's own packages loaded, so their gradients (if any) take precedence.
    registerGradients();
    checkKernelsRequest(c.backend);
    const simd = c.backend === "wasm" ? tf.env().getBool("WASM_HAS_SIMD_SUPPORT") : null;
    const kernels = c.backend === "wasm" ? wasmKernels() : null;
    chosen = {
      name: c.backend,
      requested: req,
      package: c.package,
      tfjsVersion: tf.version_core,
      threads: c.threads(),
      skipped,
      simd,
      kernels,
    };
    return chosen;
  }
  const why = skipped.map((s) => `${s.backend}: ${s.reason}`).join("; ");
  throw new Error(`backend '${req}' is not available (${why})`);
}
