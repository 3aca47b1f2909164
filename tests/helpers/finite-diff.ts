/**
 * Checks a model's analytic parameter gradients against central finite differences, one
 * (parameter, flat index) probe at a time. Shared by the GPT tests (learned and rotary positions).
 */
import assert from "node:assert/strict";
import { tf } from "../../src/engine/backend.js";

export function assertGradientsMatchFiniteDifferences(
  params: Map<string, tf.Variable>,
  loss: () => tf.Scalar,
  probes: readonly (readonly [string, number])[],
  eps = 1e-2,
): void {
  const { grads } = tf.variableGrads(loss, [...params.values()]);
  try {
    for (const [name, i] of probes) {
      const v = params.get(name);
      assert.ok(v, `no parameter ${name}`);
      const base = v.dataSync().slice();
      const at = (d: number) => {
        const x = base.slice();
        x[i]! += d;
        v.assign(tf.tensor(x, v.shape));
        return tf.tidy(() => loss().dataSync()[0]!);
      };
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      v.assign(tf.tensor(base, v.shape));
      const g = grads[v.name]!.dataSync()[i]!;
      assert.ok(Math.abs(fd - g) <= 2e-3 + 2e-2 * Math.abs(g), `${name}[${i}]: analytic ${g} vs numeric ${fd}`);
      assert.ok(Math.abs(g) > 1e-6, `${name}[${i}] gradient is not trivially zero`);
    }
  } finally {
    tf.dispose(Object.values(grads));
  }
}
