/**
 * Fallback for code that computes gradients without having called initBackend: tfjs-core
 * registers no gradient functions by itself (the @tensorflow/tfjs bundle does, and it is not a
 * dependency here), so tf.variableGrads would fail with "gradient function not found for
 * RealDiv". initBackend (src/engine/gradients.ts) normally registers them; this is a no-op then.
 * The registrations are ES modules in a package without "type": "module", so they load through
 * require, which works under tsx (how `bcr` and the tests run). The gradient registry lives on
 * the global object, so registrations from this copy of tfjs-core serve the toolkit's `tf`.
 */
import { createRequire } from "node:module";
import { tf } from "../engine/backend.js";

/** Make sure every tfjs gradient is registered (no-op when they already are). */
export function ensureGradients(): void {
  if (tf.getGradient("RealDiv") !== undefined) return;
  createRequire(import.meta.url)("@tensorflow/tfjs-core/dist/register_all_gradients.js");
  if (tf.getGradient("RealDiv") === undefined) throw new Error("could not register tfjs gradients");
}
