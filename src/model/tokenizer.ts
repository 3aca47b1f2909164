/**
 * Character-level tokenizer: ids 0..2 are PAD, BOS, EOS, then one id per character in order.
 * encode/decode round-trip exactly for any text over the alphabet; anything else is an Error
 * that names the character, so a bad dataset fails at the line that produced it.
 */

/** The alphabet of the synthetic arithmetic tasks: digits, letters, operators, punctuation, newline. */
export const SYNTH_CHARS: string =
  "0123456789" + "abcdefghijklmnopqrstuvwxyz" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ" + " +-*/=()[]{}<>?:;#|,.!_\n";

export class CharTokenizer {
  static readonly PAD = 0;
  static readonly BOS = 1;
  static readonly EOS = 2;
  private static readonly SPECIALS = 3;

  readonly vocabSize: number;
  readonly chars: string;
  private readonly toId = new Map<string, number>();
  private readonly toChar: string[];

  constructor(chars: string = SYNTH_CHARS) {
    // Code points, not UTF-16 units, so a character outside the BMP is one token.
    this.toChar = Array.from(chars);
    this.toChar.forEach((c, i) => {
      if (this.toId.has(c))
        throw new Error(`CharTokenizer: character ${JSON.stringify(c)} appears twice in the alphabet`);
      this.toId.set(c, i + CharTokenizer.SPECIALS);
    });
    this.chars = chars;
    this.vocabSize = this.toChar.length + CharTokenizer.SPECIALS;
  }

  /** Text to ids (no BOS/EOS added). Positions in errors count code points from 0. */
  encode(text: string): number[] {
    const ids: number[] = [];
    let pos = 0;
    for (const c of text) {
      const id = this.toId.get(c);
      if (id === undefined) {
        throw new Error(`CharTokenizer.encode: unknown character ${JSON.stringify(c)} at position ${pos}`);
      }
      ids.push(id);
      pos++;
    }
    return ids;
  }

  /** Ids to text; PAD/BOS/EOS are dropped, an id outside the vocabulary is an Error. */
  decode(ids: number[]): string {
    let out = "";
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new Error(`CharTokenizer.decode: id ${id} is outside the vocabulary (size ${this.vocabSize})`);
      }
      if (id >= CharTokenizer.SPECIALS) out += this.toChar[id - CharTokenizer.SPECIALS]!;
    }
    return out;
  }
}
