/**
 * Section positions: positions that restart at every problem section of a response, plus a
 * learned embedding of which section a token is in.
 *
 * Why this file exists: with learned absolute positions the 2-layer SFT model finds problem k's
 * operations by *where* its response section sits, and problem k's section starts wherever the
 * earlier sections happened to end (docs/packed-contexts.md: `bcr diagnose later-start` shows
 * problem 2's fetch peaking where the SFT data usually puts it and falling to 0 elsewhere). Rotary
 * positions took that cue away and nothing replaced it. Here every section gets the coordinates
 * problem 1 always had: section k's tokens take the positions section 1 would take, and a
 * section id (k) says which problem they belong to, in the prompt as in the response. Both are a
 * deterministic function of the tokens so far, so sampling and scoring compute the same thing.
 *
 * The rule, for one sequence (BOS, prompt, promptEnd, response ...), with `mark` the token that
 * opens a section (`:` in `1:a47+8=55 ... 2:f9-3=6`):
 * - the sequence has two parts: everything up to and including the first `promptEnd`, then the
 *   response;
 * - a token's section is the number of marks in its part so far (itself included), capped at
 *   `maxSection`; so `k:` in the prompt or the response opens section k, and the digit before the
 *   mark still belongs to the section before;
 * - prompt tokens keep their absolute position (the compact prompt's fixed columns);
 * - a response token's position is R + 1 + (its distance from the last mark in the response),
 *   where R is where the response starts, or its absolute position before the first mark. With
 *   the response opening `1:`, section 1's positions are exactly the absolute ones, and every
 *   later section reuses them (a position never exceeds the absolute one, so it fits the table).
 */

/** Which token ids delimit parts and sections, and how many section ids the model embeds. */
export interface SectionSpec {
  /** Token that ends the prompt (the compact template's `\n`). */
  promptEnd: number;
  /** Token that opens a section (the compact template's `:`). */
  mark: number;
  /** Largest section id; later sections share it. The embedding table has maxSection + 1 rows. */
  maxSection: number;
}

/** Position and section id of every token of one sequence (no padding). */
export interface SectionLayout {
  pos: Int32Array;
  section: Int32Array;
}

export function sectionLayout(tokens: ArrayLike<number>, spec: SectionSpec): SectionLayout {
  const n = tokens.length;
  const pos = new Int32Array(n);
  const section = new Int32Array(n);
  const cursor = new SectionCursor(spec);
  for (let t = 0; t < n; t++) {
    cursor.push(tokens[t]!);
    pos[t] = cursor.pos;
    section[t] = cursor.section;
  }
  return { pos, section };
}

/**
 * The rule above one token at a time: after push(tok), `pos` and `section` are that token's.
 * Sampling extends each sequence by one token per step, so it keeps one cursor per sequence
 * instead of laying the whole sequence out again every step (quadratic in its length).
 */
export class SectionCursor {
  pos = -1;
  section = 0;
  private t = -1;
  private inResponse = false;
  private responseStart = -1;
  private lastMark = -1;
  private marks = 0;

  constructor(private readonly spec: SectionSpec) {}

  /** Tokens pushed so far. */
  get length(): number {
    return this.t + 1;
  }

  push(tok: number): void {
    const t = ++this.t;
    if (tok === this.spec.mark) {
      this.marks++;
      if (this.inResponse) this.lastMark = t;
    }
    this.section = Math.min(this.marks, this.spec.maxSection);
    // min(t, ...): never past the absolute position, so positions stay inside the table (it only
    // bites when a response opens with the mark itself).
    this.pos = this.inResponse && this.lastMark >= 0 ? Math.min(t, this.responseStart + 1 + (t - this.lastMark)) : t;
    if (!this.inResponse && tok === this.spec.promptEnd) {
      this.inResponse = true;
      this.responseStart = t + 1;
      this.marks = 0;
    }
  }
}

export function validateSectionSpec(spec: SectionSpec, vocabSize: number): void {
  for (const k of ["promptEnd", "mark"] as const) {
    const v = spec[k];
    if (!Number.isInteger(v) || v < 0 || v >= vocabSize)
      throw new Error(`GPTConfig.sections.${k} must be a token id in 0..${vocabSize - 1}, got ${v}`);
  }
  if (spec.promptEnd === spec.mark) throw new Error("GPTConfig.sections: promptEnd and mark must be different tokens");
  if (!Number.isInteger(spec.maxSection) || spec.maxSection < 1)
    throw new Error(`GPTConfig.sections.maxSection must be a positive integer, got ${spec.maxSection}`);
}
