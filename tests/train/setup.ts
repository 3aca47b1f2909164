// Shared by the training tests: the project's backend (BCR_BACKEND, default auto = wasm here).
import { initBackend, tf } from "../../src/engine/backend.js";

export async function useBackend(): Promise<void> {
  await initBackend();
}
export { tf };
