/**
 * Gradients for the kernels the toolkit differentiates through.
 *
 * Why this file exists: the npm package @tensorflow/tfjs-core ships its gradient definitions
 * only as extension-less ESM sources (dist/gradients/*.js) that Node cannot import; the
 * union package @tensorflow/tfjs (not a dependency here) is what normally registers them. So
 * with tfjs-core + the wasm/cpu backends, tf.grad fails with "gradient function not found".
 * These follow tfjs-core's own definitions, with one deliberate change: matmul gradients use
 * explicit transposes, because on wasm only a plain `a @ b` reaches XNNPACK (the transposed
 * forms run ~10x slower). registerGradients() only fills gaps, so when tfjs-node (which
 * brings the full set) is loaded nothing is replaced.
 *
 * Not covered (no wasm kernel anyway): gather's gradient (UnsortedSegmentSum); use a one-hot
 * matmul instead. Convolutions, pooling and other ops the toolkit does not use.
 */
import * as tf from "@tensorflow/tfjs-core";
import { matMulFlagsAreFast } from "./native-kernels.js";

type Grad = (
  dy: tf.Tensor | tf.Tensor[],
  saved: tf.Tensor[],
  attrs: Record<string, unknown>,
) => Record<string, () => tf.Tensor> | (() => tf.Tensor)[];
interface Def {
  inputs?: string[];
  outputs?: boolean[];
  allInputs?: boolean;
  grad: Grad;
}

/** Sums a broadcast gradient back to the shape of the input it came from. */
function unbroadcast(g: tf.Tensor, shape: number[]): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, g.shape);
  return tf.reshape(axes.length > 0 ? tf.sum(g, axes) : g, shape);
}

const f32 = (t: tf.Tensor) => (t.dtype === "float32" ? t : tf.cast(t, "float32"));
/** Swaps the last two axes. */
const tr = (t: tf.Tensor) => {
  const r = t.rank;
  return tf.transpose(t, [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2]);
};
/** Keeps the reduced axes of a reduction as size 1 so dy broadcasts against x. */
function expandReduced(dy: tf.Tensor, x: tf.Tensor, axis: unknown): tf.Tensor {
  const axes = tf.util.parseAxisParam(axis as number | number[], x.shape);
  const shape = x.shape.slice();
  for (const a of axes) shape[a] = 1;
  return tf.reshape(dy, shape);
}
const one = (dy: tf.Tensor | tf.Tensor[]) => dy as tf.Tensor;

const DEFS: Record<string, Def> = {
  Add: {
    inputs: ["a", "b"],
    grad: (dy, [a, b]) => ({ a: () => unbroadcast(one(dy), a!.shape), b: () => unbroadcast(one(dy), b!.shape) }),
  },
  AddN: { allInputs: true, grad: (dy, saved) => saved.map(() => () => tf.clone(one(dy))) },
  Sub: {
    inputs: ["a", "b"],
    grad: (dy, [a, b]) => ({
      a: () => unbroadcast(one(dy), a!.shape),
      b: () => unbroadcast(tf.neg(one(dy)), b!.shape),
    }),
  },
  Multiply: {
    inputs: ["a", "b"],
    grad: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.mul(one(dy), f32(b!)), a!.shape),
      b: () => unbroadcast(tf.mul(one(dy), f32(a!)), b!.shape),
    }),
  },
  RealDiv: {
    inputs: ["a", "b"],
    grad: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.div(one(dy), f32(b!)), a!.shape),
      b: () => unbroadcast(tf.neg(tf.mul(one(dy), tf.div(f32(a!), tf.square(f32(b!))))), b!.shape),
    }),
  },
  Maximum: {
    inputs: ["a", "b"],
    grad: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.mul(one(dy), f32(tf.greaterEqual(a!, b!))), a!.shape),
      b: () => unbroadcast(tf.mul(one(dy), f32(tf.less(a!, b!))), b!.shape),
    }),
  },
  Minimum: {
    inputs: ["a", "b"],
    grad: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.mul(one(dy), f32(tf.lessEqual(a!, b!))), a!.shape),
      b: () => unbroadcast(tf.mul(one(dy), f32(tf.greater(a!, b!))), b!.shape),
    }),
  },
  SquaredDifference: {
    inputs: ["a", "b"],
    grad: (dy, [a, b]) => {
      const two = () => tf.mul(one(dy), tf.mul(tf.sub(a!, b!), 2));
      return { a: () => unbroadcast(two(), a!.shape), b: () => unbroadcast(tf.neg(two()), b!.shape) };
    },
  },
  Pow: {
    inputs: ["a", "b"],
    outputs: [true],
    grad: (dy, [a, b, y]) => ({
      a: () => unbroadcast(tf.mul(one(dy), tf.mul(f32(b!), tf.pow(a!, tf.sub(b!, 1)))), a!.shape),
      b: () =>
        unbroadcast(
          tf.mul(one(dy), tf.mul(y!, tf.where(tf.greater(a!, 0), tf.log(tf.maximum(a!, 1e-30)), tf.zerosLike(a!)))),
          b!.shape,
        ),
    }),
  },
  Neg: { grad: (dy) => ({ x: () => tf.neg(one(dy)) }) },
  Square: { inputs: ["x"], grad: (dy, [x]) => ({ x: () => tf.mul(one(dy), tf.mul(f32(x!), 2)) }) },
  Sqrt: { inputs: ["x"], grad: (dy, [x]) => ({ x: () => tf.div(one(dy), tf.mul(tf.sqrt(f32(x!)), 2)) }) },
  Rsqrt: {
    inputs: ["x"],
    grad: (dy, [x]) => ({ x: () => tf.neg(tf.div(tf.mul(one(dy), tf.rsqrt(x!)), tf.mul(x!, 2))) }),
  },
  Reciprocal: { inputs: ["x"], grad: (dy, [x]) => ({ x: () => tf.div(one(dy), tf.neg(tf.square(x!))) }) },
  Exp: { outputs: [true], grad: (dy, [y]) => ({ x: () => tf.mul(one(dy), y!) }) },
  Log: { inputs: ["x"], grad: (dy, [x]) => ({ x: () => tf.div(one(dy), f32(x!)) }) },
  Log1p: { inputs: ["x"], grad: (dy, [x]) => ({ x: () => tf.div(one(dy), tf.add(x!, 1)) }) },
  Tanh: { outputs: [true], grad: (dy, [y]) => ({ x: () => tf.mul(one(dy), tf.sub(1, tf.square(y!))) }) },
  Sigmoid: { outputs: [true], grad: (dy, [y]) => ({ x: () => tf.mul(one(dy), tf.mul(y!, tf.sub(1, y!))) }) },
  Softplus: { inputs: ["x"], grad: (dy, [x]) => ({ x: () => tf.mul(one(dy), tf.sigmoid(x!)) }) },
  Relu: { inputs: ["x"], grad: (dy, [x]) => ({ x: () => tf.mul(one(dy), f32(tf.step(x!))) }) },
  Abs: { inputs: ["x"], grad: (dy, [x]) => ({ x: () => tf.mul(one(dy), tf.sign(f32(x!))) }) },
  ClipByValue: {
    inputs: ["x"],
    grad: (dy, [x], attrs) => ({
      x: () =>
        tf.where(
          tf.logicalAnd(
            tf.greaterEqual(x!, attrs.clipValueMin as number),
            tf.lessEqual(x!, attrs.clipValueMax as number),
          ),
          one(dy),
          tf.zerosLike(one(dy)),
        ),
    }),
  },
  Select: {
    inputs: ["condition"],
    grad: (dy, [c]) => ({
      condition: () => tf.cast(tf.zerosLike(c!), "float32"),
      t: () => tf.mul(one(dy), tf.cast(c!, one(dy).dtype)),
      e: () => tf.mul(one(dy), tf.cast(tf.logicalNot(c!), one(dy).dtype)),
    }),
  },
  Cast: { grad: (dy) => ({ x: () => tf.clone(one(dy)) }) },
  Identity: { grad: (dy) => ({ x: () => tf.clone(one(dy)) }) },
  Floor: { grad: (dy) => ({ x: () => tf.zerosLike(one(dy)) }) },
  Ceil: { grad: (dy) => ({ x: () => tf.zerosLike(one(dy)) }) },
  Round: { grad: (dy) => ({ x: () => tf.zerosLike(one(dy)) }) },
  Sign: { grad: (dy) => ({ x: () => tf.zerosLike(one(dy)) }) },
  Step: { grad: (dy) => ({ x: () => tf.zerosLike(one(dy)) }) },
  Reshape: { inputs: ["x"], grad: (dy, [x]) => ({ x: () => tf.reshape(one(dy), x!.shape) }) },
  ExpandDims: { inputs: ["input"], grad: (dy, [x]) => ({ input: () => tf.reshape(one(dy), x!.shape) }) },
  Transpose: {
    grad: (dy, _s, attrs) => {
      const perm = attrs.perm as number[];
      const inverse = perm.map((_, i) => perm.indexOf(i));
      return { x: () => tf.transpose(one(dy), inverse) };
    },
  },
  Slice: {
    inputs: ["x"],
    grad: (dy, [x], attrs) => {
      const [begin, size] = tf.slice_util.parseSliceParams(x!, attrs.begin as number[], attrs.size as number[]);
      return {
        x: () =>
          tf.pad(
            one(dy),
            begin.map((b, i) => [b, x!.shape[i]! - b - size[i]!] as [number, number]),
          ),
      };
    },
  },
  PadV2: {
    inputs: ["x"],
    grad: (dy, [x], attrs) => {
      const begin = (attrs.paddings as [number, number][]).map((p) => p[0]);
      return { x: () => tf.slice(one(dy), begin, x!.shape) };
    },
  },
  SplitV: { grad: (dy, _s, attrs) => ({ x: () => tf.concat(dy as tf.Tensor[], attrs.axis as number) }) },
  Concat: {
    allInputs: true,
    grad: (dy, saved, attrs) => {
      const axis = tf.util.parseAxisParam(attrs.axis as number, saved[0]!.shape)[0]!;
      const parts = tf.split(
        one(dy),
        saved.map((t) => t.shape[axis]!),
        axis,
      );
      return parts.map((p) => () => p);
    },
  },
  Pack: { grad: (dy, _s, attrs) => tf.unstack(one(dy), attrs.axis as number).map((t) => () => t) },
  Unpack: { grad: (dy, _s, attrs) => ({ value: () => tf.stack(dy as tf.Tensor[], attrs.axis as number) }) },
  Tile: {
    inputs: ["x"],
    grad: (dy, [x], attrs) => {
      // Tiled output is [reps_0 * s_0, ...] with the repeat outermost on each axis.
      const reps = attrs.reps as number[];
      const split = x!.shape.flatMap((s, i) => [reps[i]!, s]);
      return {
        x: () =>
          tf.reshape(
            tf.sum(
              tf.reshape(one(dy), split),
              reps.map((_, i) => 2 * i),
            ),
            x!.shape,
          ),
      };
    },
  },
  BroadcastTo: { grad: (dy, _s, attrs) => ({ x: () => unbroadcast(one(dy), attrs.inputShape as number[]) }) },
  Sum: {
    inputs: ["x"],
    grad: (dy, [x], attrs) => ({ x: () => tf.mul(expandReduced(one(dy), x!, attrs.axis), tf.onesLike(x!)) }),
  },
  Mean: {
    inputs: ["x"],
    grad: (dy, [x], attrs) => {
      const axes = tf.util.parseAxisParam(attrs.axis as number[], x!.shape);
      const n = axes.reduce((p, a) => p * x!.shape[a]!, 1);
      return { x: () => tf.div(tf.mul(expandReduced(one(dy), x!, attrs.axis), tf.onesLike(x!)), n) };
    },
  },
  Max: {
    inputs: ["x"],
    outputs: [true],
    grad: (dy, [x, y], attrs) => ({
      x: () =>
        tf.mul(
          expandReduced(one(dy), x!, attrs.reductionIndices),
          f32(tf.equal(expandReduced(y!, x!, attrs.reductionIndices), x!)),
        ),
    }),
  },
  Softmax: {
    outputs: [true],
    grad: (dy, [y], attrs) => {
      const dim = attrs.dim as number;
      const dyY = tf.mul(one(dy), y!);
      return { logits: () => tf.sub(dyY, tf.mul(tf.sum(dyY, [dim], true), y!)) };
    },
  },
  BatchMatMul: {
    inputs: ["a", "b"],
    grad: (dy, [a, b], attrs) => {
      const g = one(dy);
      const tA = attrs.transposeA as boolean;
      const tB = attrs.transposeB as boolean;
      if (matMulFlagsAreFast()) {
        // OpenBLAS: a transposed operand is just an sgemm argument, no copy.
        const mm = (x: tf.Tensor, y: tf.Tensor, tx: boolean, ty: boolean) => () => tf.matMul(x, y, tx, ty);
        const [da, db] =
          !tA && !tB
            ? [mm(g, b!, false, true), mm(a!, g, true, false)]
            : !tA && tB
              ? [mm(g, b!, false, false), mm(g, a!, true, false)]
              : tA && !tB
                ? [mm(b!, g, false, true), mm(a!, g, false, false)]
                : [mm(b!, g, true, true), mm(g, a!, true, true)];
        return { a: () => sumToRank(da(), a!.shape), b: () => sumToRank(db(), b!.shape) };
      }
      // XNNPACK: explicit transposes, never the transposeA/B flags (see the header comment).
      const [da, db] =
        !tA && !tB
          ? [() => tf.matMul(g, tr(b!)), () => tf.matMul(tr(a!), g)]
          : !tA && tB
            ? [() => tf.matMul(g, b!), () => tf.matMul(tr(g), a!)]
            : tA && !tB
              ? [() => tf.matMul(b!, tr(g)), () => tf.matMul(a!, g)]
              : [() => tf.matMul(tr(b!), tr(g)), () => tf.matMul(tr(g), tr(a!))];
      return { a: () => sumToRank(da(), a!.shape), b: () => sumToRank(db(), b!.shape) };
    },
  },
};

// Comparisons and logic have zero gradient, but the tape still asks when a comparison of a
// differentiable tensor feeds, say, the condition of a where().
for (const k of ["Greater", "GreaterEqual", "Less", "LessEqual", "Equal", "NotEqual", "LogicalAnd", "LogicalOr"]) {
  DEFS[k] = {
    inputs: ["a", "b"],
    grad: (_dy, [a, b]) => ({ a: () => tf.zerosLike(f32(a!)), b: () => tf.zerosLike(f32(b!)) }),
  };
}
DEFS.LogicalNot = { inputs: ["x"], grad: (_dy, [x]) => ({ x: () => tf.zerosLike(f32(x!)) }) };

/** A batched matmul gradient that was broadcast over leading axes is summed back. */
function sumToRank(g: tf.Tensor, shape: number[]): tf.Tensor {
  if (g.rank === shape.length && tf.util.arraysEqual(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const summed =
    lead > 0
      ? tf.sum(
          g,
          Array.from({ length: lead }, (_, i) => i),
        )
      : g;
  return unbroadcast(summed, shape);
}

/** Registers every gradient above that no loaded package has registered yet; returns how many. */
export function registerGradients(): number {
  let n = 0;
  for (const [kernelName, d] of Object.entries(DEFS)) {
    if (tf.getGradient(kernelName)) continue;
    tf.registerGradient({
      kernelName,
      inputsToSave: d.inputs,
      outputsToSave: d.outputs,
      saveAllInputs: d.allInputs,
      gradFunc: d.grad as unknown as tf.GradConfig["gradFunc"],
    });
    n++;
  }
  return n;
}

/** Kernel names this module can provide a gradient for (used by tests). */
export const GRADIENT_KERNELS: readonly string[] = Object.keys(DEFS);
