/**
 * Trainers call this before differentiating: tfjs-core registers no gradients by itself, and
 * src/engine/gradients.ts provides the ones the toolkit needs (initBackend also registers them).
 */
import { registerGradients } from "../engine/gradients.js";

export function ensureGradients(): void {
  registerGradients();
}
