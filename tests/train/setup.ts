// Shared by the training tests: the project's backend (BCR_BACKEND, default auto = wasm here).
import { initBackend, tf } from "../../src/engine/backend.js";
import type { SftConfig } from "../../src/train/sft-config.js";
import { trainSft } from "../../src/train/sft.js";
import { tempDir } from "../helpers/tmp.js";

export async function useBackend(): Promise<void> {
  await initBackend();
}
export { tf };

/**
 * trainSft on the examples in a temp folder, then every weight's bits (in parameter order, as
 * [name, uint32s]) and the logged losses: what the same-bits tests compare between two paths.
 */
export async function trainedBits(
  config: SftConfig,
  examples: { prompt: string; response: string }[],
  prefix: string,
): Promise<{ weights: (readonly [string, number[]])[]; losses: number[] }> {
  const r = await trainSft(config, examples, tempDir(prefix), { progress: false, onMetrics: () => {} });
  const weights = [...r.model.params].map(
    ([k, v]) => [k, Array.from(new Uint32Array((v.dataSync() as Float32Array).slice().buffer))] as const,
  );
  r.model.dispose();
  return { weights, losses: r.losses.map((l) => l.loss) };
}
