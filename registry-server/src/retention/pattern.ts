// The glob patterns of Harbor's retention and immutability selectors, matched as Harbor matches
// them: with github.com/bmatcuk/doublestar v1 (Harbor's src/lib/selector/selectors/doublestar
// calls doublestar.Match). Names and patterns are split into components on "/", so
//
//   - `*` matches any run of characters within one component ("team/*" matches "team/app" but
//     "*" does not match "team/app"), `?` one character, `[a-z]` / `[^a-z]` a class;
//   - `**` as a whole component matches any number of components, the whole name included
//     ("**" matches every repository); inside a component ("release-**") it acts as `*`;
//   - `{a,b}` tries each alternative in turn (no nesting, no "/" inside: the split comes first);
//   - `\` escapes the next character, and an empty pattern matches everything (Harbor's selector
//     checks that before calling the library).
//
// The library reports a malformed pattern lazily, only when matching reaches the bad part, and
// ignores the error where it backtracks (after `*` or `**`). `matchPattern` reproduces that and
// throws BadPatternError exactly where the library returns ErrBadPattern; `patternProblem` is the
// strict, static check used to refuse such patterns when a policy or rule is written. Matching is
// over code points; repository names and tags are ASCII, where that equals the library's bytes.

/** Go's path.ErrBadPattern, which doublestar v1 returns for a malformed pattern. */
export class BadPatternError extends Error {
  readonly pattern: string;
  constructor(pattern: string) {
    super(`syntax error in pattern ${JSON.stringify(pattern)}`);
    this.name = "BadPatternError";
    this.pattern = pattern;
  }
}

type Outcome = "match" | "none" | "bad";
type Chars = readonly string[];

/** Whether `name` matches `pattern`; throws BadPatternError where Harbor's matcher fails. */
export function matchPattern(pattern: string, name: string): boolean {
  if (pattern.length === 0) return true;
  const outcome = matchComponents(split([...pattern], "/"), split([...name], "/"));
  if (outcome === "bad") throw new BadPatternError(pattern);
  return outcome === "match";
}

/** Why `pattern` is malformed, or undefined when the matcher can never fail on it. */
export function patternProblem(pattern: string): string | undefined {
  const checked = new Set<string>();
  const bad = split([...pattern], "/").some((component) => !componentIsWellFormed(component, checked));
  return bad ? `syntax error in pattern ${JSON.stringify(pattern)}` : undefined;
}

/** The first unescaped `target` at or after `from` ("\" escapes only the character right after it). */
function indexUnescaped(chars: Chars, from: number, target: string): number {
  const at = chars.indexOf(target, from);
  if (at < 0) return -1;
  if (at > from && chars[at - 1] === "\\") return indexUnescaped(chars, at + 1, target);
  return at;
}

/** The library's splitPathOnSeparator: escaped separators stay, a trailing one adds "". */
function split(chars: Chars, separator: string): string[][] {
  if (!chars.includes(separator)) return [[...chars]];
  const parts: string[][] = [];
  let endedOnSeparator = false;
  for (let start = 0; start < chars.length;) {
    let end = indexUnescaped(chars, start, separator);
    endedOnSeparator = end >= 0;
    if (end < 0) end = chars.length;
    parts.push(chars.slice(start, end));
    start = end + 1;
  }
  if (endedOnSeparator) parts.push([]);
  return parts;
}

function matchComponents(pattern: readonly Chars[], name: readonly Chars[]): Outcome {
  if (pattern.length === 0 && name.length === 0) return "match";
  if (pattern.length === 0 || name.length === 0) return "none";
  let p = 0;
  let n = 0;
  while (p < pattern.length && n < name.length) {
    if (pattern[p]?.join("") === "**") {
      p++;
      if (p >= pattern.length) return "match";
      // Errors past a doublestar are ignored: the library discards them while backtracking.
      for (; n < name.length; n++) if (matchComponents(pattern.slice(p), name.slice(n)) === "match") return "match";
      return "none";
    }
    const outcome = matchComponent(pattern[p] ?? [], name[n] ?? []);
    if (outcome !== "match") return outcome;
    p++;
    n++;
  }
  return p >= pattern.length && n >= name.length ? "match" : "none";
}

function matchComponent(pattern: Chars, name: Chars): Outcome {
  if (pattern.length === 0) return name.length === 0 ? "match" : "none";
  if (name.length === 0 && pattern.join("") !== "*") return "none";
  let p = 0;
  let n = 0;
  while (p < pattern.length && n < name.length) {
    const c = pattern[p];
    if (c === "\\") {
      p++;
      if (p >= pattern.length) return "bad";
      if (pattern[p] !== name[n]) return "none";
      p++;
      n++;
    } else if (c === "*") {
      p++;
      if (p >= pattern.length) return "match";
      const rest = pattern.slice(p);
      for (; n < name.length; n++) if (matchComponent(rest, name.slice(n)) === "match") return "match";
      return "none";
    } else if (c === "[") {
      const end = indexUnescaped(pattern, p + 1, "]");
      if (end < 0) return "bad";
      const inClass = classContains(pattern.slice(p + 1, end), name[n] ?? "");
      if (inClass === "bad") return "bad";
      if (!inClass) return "none";
      p = end + 1;
      n++;
    } else if (c === "{") {
      const end = indexUnescaped(pattern, p + 1, "}");
      if (end < 0) return "bad";
      const rest = pattern.slice(end + 1);
      for (const option of split(pattern.slice(p + 1, end), ",")) {
        const outcome = matchComponent([...option, ...rest], name.slice(n));
        if (outcome !== "none") return outcome;
      }
      return "none";
    } else if (c === "?" || c === name[n]) {
      p++;
      n++;
    } else {
      return "none";
    }
  }
  if (p >= pattern.length && n >= name.length) return "match";
  const rest = pattern.slice(p).join("");
  return n >= name.length && (rest === "*" || rest === "**") ? "match" : "none";
}

/** A character class body (between "[" and "]") as inclusive code point ranges; undefined when malformed. */
function parseClass(body: Chars): { negated: boolean; ranges: Array<[number, number]> } | undefined {
  if (body.length === 0) return undefined;
  const negated = body[0] === "^";
  const ranges: Array<[number, number]> = [];
  let i = negated ? 1 : 0;
  const next = (): number | undefined => {
    let c = body[i++];
    if (c === "\\") c = body[i++];
    return c?.codePointAt(0);
  };
  while (i < body.length) {
    if (body[i] === "-") return undefined;
    const low = next();
    if (low === undefined) return undefined;
    let high = low;
    if (body[i] === "-") {
      i++;
      if (i >= body.length || body[i] === "-") return undefined;
      const upper = next();
      if (upper === undefined) return undefined;
      high = upper;
    }
    ranges.push([low, high]);
  }
  return { negated, ranges };
}

function classContains(body: Chars, char: string): boolean | "bad" {
  const parsed = parseClass(body);
  if (parsed === undefined) return "bad";
  const code = char.codePointAt(0) ?? -1;
  return parsed.ranges.some(([low, high]) => low <= code && code <= high) !== parsed.negated;
}

/** Whether matching can never reach a syntax error in this component, whatever the name. */
function componentIsWellFormed(component: Chars, checked: Set<string>): boolean {
  const key = component.join("");
  if (checked.has(key)) return true;
  checked.add(key);
  for (let p = 0; p < component.length; p++) {
    const c = component[p];
    if (c === "\\") {
      if (++p >= component.length) return false;
    } else if (c === "[") {
      const end = indexUnescaped(component, p + 1, "]");
      if (end < 0 || parseClass(component.slice(p + 1, end)) === undefined) return false;
      p = end;
    } else if (c === "{") {
      const end = indexUnescaped(component, p + 1, "}");
      if (end < 0) return false;
      const rest = component.slice(end + 1);
      const options = split(component.slice(p + 1, end), ",");
      return options.every((option) => componentIsWellFormed([...component.slice(0, p), ...option, ...rest], checked));
    }
  }
  return true;
}
