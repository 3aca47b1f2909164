// The sgemm peak shared by the bench and bcr profile (src/engine/peak.ts, issue 31): one figure
// with OpenBLAS on one thread, one on every core, each taken at that thread count, and the
// thread count the kernels ran with put back afterwards.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { initBackend } from "../../src/engine/backend.js";
import { ADDON_PATH, enableNativeKernels, nativeKernelsInfo } from "../../src/engine/native-kernels.js";
import { measureSgemmPeak, peakFor, type SgemmPeak, machinePeak } from "../../src/engine/peak.js";

const skip = existsSync(ADDON_PATH) ? false : `${ADDON_PATH} is not built (node scripts/build-native.mjs)`;

async function withKernels<T>(kernels: string, f: () => Promise<T>): Promise<T> {
  const saved = process.env.BCR_KERNELS;
  try {
    await initBackend("cpu"); // so that the wasm request below is a fresh choice
    process.env.BCR_KERNELS = kernels;
    return await f();
  } finally {
    if (saved === undefined) delete process.env.BCR_KERNELS;
    else process.env.BCR_KERNELS = saved;
  }
}

test("with the native set: one figure at 1 OpenBLAS thread, one at the core count, and the old count restored", {
  skip,
}, async () => {
  await withKernels("native", async () => {
    await initBackend("wasm");
    enableNativeKernels({ threads: 3 }); // neither 1 nor the core count, so the restore is visible
    // what OpenBLAS itself reports (openblas_get_num_threads) when each figure is taken
    const seen: (number | null)[] = [];
    const peak = measureSgemmPeak({
      n: 64,
      reps: 1,
      cores: 2,
      time: () => {
        seen.push(nativeKernelsInfo()!.blas.threads);
        return 10 * seen.length;
      },
    });
    assert.deepEqual(seen, [1, 2]);
    assert.deepEqual(peak, {
      n: 64,
      reps: 1,
      cores: 2,
      oneThread: { threads: 1, gflops: 10 },
      allCores: { threads: 2, gflops: 20 },
      threadControl: "openblas",
    });
    assert.equal(nativeKernelsInfo()!.threads, 3);
    assert.equal(nativeKernelsInfo()!.blas.threads, 3);

    // and a real matmul through tfjs gives a finite, positive figure both ways
    const real = measureSgemmPeak({ n: 64, reps: 2, cores: 2 });
    for (const f of [real.oneThread, real.allCores]) assert.ok(f && Number.isFinite(f.gflops) && f.gflops > 0);
    assert.equal(nativeKernelsInfo()!.blas.threads, 3);
    enableNativeKernels({ threads: 1 });
  });
});

test("without a thread control (the wasm set: XNNPACK on one thread) only the 1-thread figure exists", async () => {
  await withKernels("wasm", async () => {
    const info = await initBackend("wasm");
    assert.equal(info.kernels?.engine, "wasm");
    let calls = 0;
    const time = () => ++calls * 7;
    assert.deepEqual(measureSgemmPeak({ n: 8, reps: 1, cores: 2, time }), {
      n: 8,
      reps: 1,
      cores: 2,
      oneThread: { threads: 1, gflops: 7 },
      allCores: null,
      threadControl: "backend",
    });
    // on a 1-core machine the one figure is both
    const single = measureSgemmPeak({ n: 8, reps: 1, cores: 1, time });
    assert.deepEqual(single.oneThread, { threads: 1, gflops: 14 });
    assert.deepEqual(single.allCores, single.oneThread);
  });
});

test("peakFor holds work on one thread to the 1-thread peak and work on more to the machine's", () => {
  const peak: SgemmPeak = {
    n: 8,
    reps: 1,
    cores: 2,
    oneThread: { threads: 1, gflops: 50 },
    allCores: { threads: 2, gflops: 120 },
    threadControl: "openblas",
  };
  assert.deepEqual(peakFor(peak, 1), { against: "oneThread", gflops: 50 });
  assert.deepEqual(peakFor(peak, 2), { against: "allCores", gflops: 120 });
  assert.deepEqual(peakFor({ ...peak, allCores: null }, 2), { against: "allCores", gflops: null });
});

test("machinePeak: the machine's figure (every core) where the threads can be set, else the backend's one", {
  skip,
}, async () => {
  await withKernels("native", async () => {
    await initBackend("wasm");
    enableNativeKernels({ threads: 1 });
    const perThreads = () => 10 * nativeKernelsInfo()!.blas.threads!;
    assert.deepEqual(machinePeak({ n: 64, reps: 1, cores: 2, time: perThreads }), { threads: 2, gflops: 20 });
    assert.deepEqual(machinePeak({ n: 64, reps: 1, cores: 1, time: perThreads }), { threads: 1, gflops: 10 });
  });
  await withKernels("wasm", async () => {
    await initBackend("wasm");
    // XNNPACK on one thread: no machine figure on 2 cores, so the one-thread figure stands in
    assert.deepEqual(machinePeak({ n: 64, reps: 1, cores: 2, time: () => 7 }), { threads: 1, gflops: 7 });
  });
});
