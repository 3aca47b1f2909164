/**
 * The wire format of the reward server: OpenRLHF's remote reward-model protocol.
 *
 * Request (POST /get_reward or POST /):
 *   { "query":   [prompt_0 + response_0, ...],   // what OpenRLHF sends: the decoded sequence
 *     "prompts": [prompt_0, ...],                 // the prompt alone (same length)
 *     "labels":  [label_0, ...] }                 // the gold answers (same length)
 * Extensions (all optional; OpenRLHF never sends them):
 *   "responses": [...]          responses given directly instead of "query" (verl's reward
 *                               functions see the response alone); prompts then only group.
 *   "response_lengths": [...]   exact response token counts (else the server's counter).
 *   "truncated": [...]          booleans: the response hit the generation cap.
 *   "step", "total_steps"       numbers passed to schedule-aware shapings (thinkprune).
 *
 * A label holds the N gold answers of a packed prompt: a real JSON array of strings (or
 * finite numbers), a string holding a JSON array of strings (`"[\"12\",\"7\"]"`), or a plain
 * answer string/number (N=1). Only a JSON array whose elements are ALL strings counts as a
 * list, so a single interval answer such as "[-2,7]" or "[0,1)" stays one answer.
 *
 * Splitting query into prompt and response: if the query starts with the prompt, the rest is
 * the response. Otherwise (a tokenizer round trip can prepend a BOS marker or similar) the
 * response is what follows the FIRST occurrence of the prompt: the prompt comes before the
 * response, so the first occurrence is the real one even when the response repeats the prompt
 * (the last occurrence would cut inside such a response). A query that does not contain its
 * prompt at all is a 400 naming the item.
 *
 * Size: a request holds at most `maxItems` items (DEFAULT_MAX_ITEMS; the server's --max-items)
 * and PROBLEMS_PER_ITEM x maxItems gold answers in all; more is a 413 naming the cap. countItems() checks the raw bytes before JSON.parse, so a body
 * of millions of tiny items is refused without being parsed into millions of objects.
 */

export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface RewardRequestItem {
  /** Groups items for group-aware shapings: items with identical prompts are one group. */
  prompt: string;
  response: string;
  golds: string[];
  /** Exact token count from the client, when it sent `response_lengths`. */
  length?: number;
  /** From the client's `truncated`, when sent. */
  truncated?: boolean;
}

export interface RewardRequest {
  items: RewardRequestItem[];
  step?: number;
  totalSteps?: number;
}

const bad = (message: string) => new RequestError(400, message);

/**
 * Items per request accepted by default. OpenRLHF sends one request per micro rollout batch or
 * per step (128 prompts x 8 samples = 1,024 items); verl's batch reward manager a step's
 * responses (a few thousand). The reply costs ~180 bytes per item (`details` most of it), so
 * the cap also bounds it: about 12 MB at 65,536 items of one problem each.
 */
export const DEFAULT_MAX_ITEMS = 65_536;

/**
 * Problems (gold answers) per request: at most this many per item of the item cap, in all.
 * The reply carries ~25 bytes per problem (`correct`, `tokensPerProblem`) against 4 bytes of
 * request for an unanswered one, so without this bound a body of long gold lists would be a 7x
 * reply again; with it the reply stays under ~40 MB at the default cap.
 */
export const PROBLEMS_PER_ITEM = 16;

/** The 413 for a request over the item cap. */
export function tooManyItems(n: number, maxItems: number): RequestError {
  return new RequestError(
    413,
    `request has ${n} items; this server accepts at most ${maxItems} per request (--max-items)`,
  );
}

/** The arrays whose length is the item count (all must have one entry per item). */
const ITEM_KEYS = new Set(["query", "responses", "prompts", "labels"]);

/**
 * The largest element count among the top-level "query" / "responses" / "prompts" / "labels"
 * arrays of a JSON body, read from its UTF-8 bytes without parsing it (one pass, no
 * allocation but the key names). Exact for valid JSON; for invalid JSON a number that
 * JSON.parse will then reject anyway. 0 when there are no such arrays.
 */
export function countItems(bytes: Uint8Array): number {
  const QUOTE = 0x22,
    BACKSLASH = 0x5c,
    COMMA = 0x2c,
    COLON = 0x3a;
  let depth = 0;
  let inString = false;
  let escaped = false;
  // depth 1 is the top-level object: is the next string there a key, and which key came last?
  let expectKey = false;
  let keyStart = -1;
  let key = "";
  // An array that is the value of an item key (at depth 2): its commas, and whether it has an element.
  let counting = false;
  let commas = 0;
  let nonEmpty = false;
  let topIsObject = false;
  let most = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (inString) {
      if (escaped) escaped = false;
      else if (b === BACKSLASH) escaped = true;
      else if (b === QUOTE) {
        inString = false;
        if (keyStart >= 0) {
          key = Buffer.from(bytes.buffer, bytes.byteOffset + keyStart, i - keyStart).toString("utf8");
          keyStart = -1;
        }
      }
      continue;
    }
    switch (b) {
      case 0x20:
      case 0x0a:
      case 0x0d:
      case 0x09:
        continue;
      case QUOTE:
        inString = true;
        if (depth === 1 && expectKey) {
          keyStart = i + 1;
          expectKey = false;
        }
        break;
      case 0x5b: // [
      case 0x7b: // {
        depth++;
        if (depth === 1) {
          topIsObject = b === 0x7b;
          expectKey = topIsObject;
        } else if (depth === 2 && topIsObject && b === 0x5b && ITEM_KEYS.has(key)) {
          counting = true;
          commas = 0;
          nonEmpty = false;
          continue; // the bracket is not an element
        }
        break;
      case 0x5d: // ]
      case 0x7d: // }
        if (depth === 2 && counting) {
          counting = false;
          most = Math.max(most, nonEmpty ? commas + 1 : 0);
        }
        depth--;
        continue;
      case COMMA:
        if (depth === 1) expectKey = topIsObject;
        else if (depth === 2 && counting) commas++;
        continue;
      case COLON:
        continue;
    }
    if (depth === 2 && counting) nonEmpty = true;
    else if (depth === 3 && counting) nonEmpty = true; // an element that is itself an array or object
  }
  if (counting) most = Math.max(most, nonEmpty ? commas + 1 : 0); // cut off: count what came
  return most;
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

function goldString(v: unknown, where: string): string {
  if (typeof v === "string") {
    if (v.trim() === "") throw bad(`${where}: empty gold answer`);
    return v;
  }
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  throw bad(`${where}: a gold answer must be a string or a finite number, got ${typeName(v)}`);
}

/** The gold answers carried by one label (see the header for the accepted forms). */
export function parseLabel(label: unknown, where = "label"): string[] {
  if (Array.isArray(label)) {
    if (label.length === 0) throw bad(`${where}: empty list of gold answers`);
    return label.map((g, k) => goldString(g, `${where}[${k}]`));
  }
  if (typeof label === "string") {
    const t = label.trim();
    // Labels that are JSON gone wrong would otherwise be scored as a literal answer (0) in silence.
    if (t === "null" || t === "undefined") throw bad(`${where}: ${t} is not a gold answer`);
    if (t.startsWith("{") && t.endsWith("}"))
      throw bad(`${where}: a JSON object is not a gold answer: ${t.slice(0, 80)}`);
    if (t.startsWith("[") && !t.endsWith("]") && !t.endsWith(")")) {
      throw bad(`${where}: starts like a JSON list but does not end like one (cut off?): ${t.slice(0, 80)}`);
    }
    if (t.startsWith("[") && t.endsWith("]")) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(t);
      } catch {
        parsed = undefined; // not JSON: a single answer such as "[0,1)"
      }
      if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((g) => typeof g === "string")) {
        return parsed.map((g, k) => goldString(g, `${where}[${k}]`));
      }
      if (Array.isArray(parsed) && parsed.length === 0) throw bad(`${where}: empty list of gold answers`);
    }
    return [goldString(label, where)];
  }
  if (typeof label === "number") return [goldString(label, where)];
  throw bad(`${where}: must be a string, a number or an array of gold answers, got ${typeName(label)}`);
}

/** The response part of `query` (see the header for the rule). */
export function splitResponse(query: string, prompt: string, where = "query"): string {
  if (query.startsWith(prompt)) return query.slice(prompt.length);
  const at = prompt === "" ? 0 : query.indexOf(prompt);
  if (at < 0) throw bad(`${where}: does not contain its prompt (prompts[i]); cannot find the response`);
  return query.slice(at + prompt.length);
}

function stringArray(body: Record<string, unknown>, key: string): string[] {
  const v = body[key];
  if (!Array.isArray(v)) throw bad(`"${key}" must be an array of strings, got ${typeName(v)}`);
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== "string") throw bad(`${key}[${i}] must be a string, got ${typeName(v[i])}`);
  }
  return v as string[];
}

function optionalArray(body: Record<string, unknown>, key: string, n: number): unknown[] | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw bad(`"${key}" must be an array, got ${typeName(v)}`);
  if (v.length !== n) throw bad(`"${key}" has ${v.length} entries, expected ${n} (one per query)`);
  return v;
}

function optionalNumber(body: Record<string, unknown>, key: string): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw bad(`"${key}" must be a non-negative number`);
  return v;
}

/**
 * Validate a parsed JSON body; throws RequestError(400) naming the first problem found, 413
 * when it has more than `maxItems` items (default DEFAULT_MAX_ITEMS) or more than
 * PROBLEMS_PER_ITEM x maxItems gold answers in all.
 */
export function parseRewardRequest(body: unknown, opts: { maxItems?: number } = {}): RewardRequest {
  const maxItems = opts.maxItems ?? DEFAULT_MAX_ITEMS;
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw bad(`body must be a JSON object with "query", "prompts" and "labels", got ${typeName(body)}`);
  }
  const b = body as Record<string, unknown>;
  const direct = b.query === undefined && b.responses !== undefined;
  if (!direct && b.query === undefined) throw bad(`missing field "query" (or "responses")`);
  if (b.prompts === undefined) throw bad(`missing field "prompts"`);
  if (b.labels === undefined) throw bad(`missing field "labels"`);
  const declared = Math.max(
    ...[direct ? b.responses : b.query, b.prompts, b.labels].map((v) => (Array.isArray(v) ? v.length : 0)),
  );
  if (declared > maxItems) throw tooManyItems(declared, maxItems);
  const texts = stringArray(b, direct ? "responses" : "query");
  const prompts = stringArray(b, "prompts");
  const labels = b.labels;
  if (!Array.isArray(labels)) throw bad(`"labels" must be an array, got ${typeName(labels)}`);
  const n = texts.length;
  if (prompts.length !== n || labels.length !== n) {
    throw bad(
      `array lengths differ: ${direct ? "responses" : "query"} ${n}, prompts ${prompts.length}, labels ${labels.length}`,
    );
  }
  const lengths = optionalArray(b, "response_lengths", n);
  const truncated = optionalArray(b, "truncated", n);
  const items: RewardRequestItem[] = new Array(n);
  let problems = 0;
  for (let i = 0; i < n; i++) {
    const item: RewardRequestItem = {
      prompt: prompts[i]!,
      response: direct ? texts[i]! : splitResponse(texts[i]!, prompts[i]!, `query[${i}]`),
      golds: parseLabel(labels[i], `labels[${i}]`),
    };
    if (lengths) {
      const l = lengths[i];
      if (typeof l !== "number" || !Number.isInteger(l) || l < 0)
        throw bad(`response_lengths[${i}] must be a non-negative integer`);
      item.length = l;
    }
    if (truncated) {
      if (typeof truncated[i] !== "boolean") throw bad(`truncated[${i}] must be a boolean`);
      item.truncated = truncated[i] as boolean;
    }
    items[i] = item;
    problems += item.golds.length;
  }
  const maxProblems = maxItems * PROBLEMS_PER_ITEM;
  if (problems > maxProblems)
    throw new RequestError(
      413,
      `request has ${problems} problems (gold answers) in all; this server accepts at most ${maxProblems} per request (${PROBLEMS_PER_ITEM} per item of --max-items)`,
    );
  const req: RewardRequest = { items };
  const step = optionalNumber(b, "step");
  const totalSteps = optionalNumber(b, "total_steps");
  if (step !== undefined) req.step = step;
  if (totalSteps !== undefined) req.totalSteps = totalSteps;
  return req;
}

/**
 * End-of-sequence markers a decoded query may end with (OpenRLHF decodes with
 * skip_special_tokens=False). A response ending in one stopped on its own: not truncated,
 * and the marker is not counted as response text.
 */
const EOS_TAIL = /(?:<\|im_end\|>|<\|endoftext\|>|<\|eot_id\|>|<\|end_of_text\|>|<｜end▁of▁sentence｜>|<\/s>)+\s*$/;

export function stripEos(response: string): { text: string; stopped: boolean } {
  const from = Math.max(0, response.length - 256); // markers sit at the very end
  const m = EOS_TAIL.exec(response.slice(from));
  if (!m) return { text: response, stopped: false };
  return { text: response.slice(0, from + m.index), stopped: true };
}
