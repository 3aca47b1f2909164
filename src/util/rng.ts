/**
 * A small seeded PRNG (mulberry32) whose whole state is one 32-bit integer, so a run can
 * save it in a checkpoint and resume the exact same stream. Every source of randomness in
 * the project takes one of these; nothing calls Math.random().
 */
export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** The state to store in a checkpoint; `Rng.fromState(state)` continues the same stream. */
  get state(): number {
    return this.s;
  }

  static fromState(state: number): Rng {
    const r = new Rng(0);
    r.s = state >>> 0;
    return r;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Standard normal draw (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("Rng.pick: empty list");
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Index drawn with probability proportional to weights[i]. */
  weighted(weights: readonly number[]): number {
    const total = weights.reduce((a, b) => a + b, 0);
    if (!(total > 0)) throw new Error("Rng.weighted: weights must sum to a positive number");
    let u = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i]!;
      if (u < 0) return i;
    }
    // Rounding can leave u >= 0 after the loop: take the last index that can be drawn at all
    // (there is one, since the weights sum to a positive number).
    let last = weights.length - 1;
    while (!(weights[last]! > 0)) last--;
    return last;
  }

  /** Fisher-Yates shuffle of a copy. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  /** An independent child stream, derived deterministically from this one. */
  fork(): Rng {
    return new Rng(Math.floor(this.next() * 4294967296));
  }
}

/** What a sampler needs from a random stream: uniform floats in [0, 1). Rng and SampleStream both are. */
export interface Uniform {
  next(): number;
}

/**
 * A 53-bit integer seed derived from named parts (run seed, method, N, group, rotation, sample,
 * ...), so every sampled request has its own stream and a re-run asks the same streams again.
 * Two 32-bit multiply-xorshift hashes of the parts' JSON, combined: any change of any part gives
 * another seed (a collision among 10^5 requests has probability about 10^-6).
 */
export function deriveSeed(...parts: (string | number)[]): number {
  const text = JSON.stringify(parts);
  let h1 = 0xdeadbeef,
    h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * The sampling stream of one request: sfc32 (128 bits of state) seeded from any safe integer.
 * Why not Rng: mulberry32's whole state is one 32-bit counter, so streams from different seeds
 * are shifted copies of one cycle of 2^32 draws, and among 10^5 requests of 160 draws some would
 * overlap. With 128 bits of state, overlaps are out of reach.
 */
export class SampleStream implements Uniform {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new Error(`SampleStream: seed must be a safe integer, got ${seed}`);
    // Distinct safe integers have distinct (low, high) words; both go through splitmix32-style
    // mixing into three state words (sfc32's fourth is its counter).
    let x = (seed >>> 0) ^ 0x9e3779b9;
    const hi = Math.floor(seed / 4294967296) >>> 0;
    const mix = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x ^ Math.imul(hi, 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = 1;
    for (let i = 0; i < 15; i++) this.next(); // move away from the seeding's structure
  }

  next(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t / 4294967296;
  }
}
