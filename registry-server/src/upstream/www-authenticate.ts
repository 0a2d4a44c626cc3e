// Parses `WWW-Authenticate` challenges (RFC 9110 §11.6.1): registries answer 401 with
// `Bearer realm="…",service="…",scope="…"` (the Docker token flow) or `Basic realm="…"`. One
// header may hold several challenges, and a response may carry several headers.

export interface Challenge {
  /** Lower-cased: "bearer", "basic", … */
  readonly scheme: string;
  /** Parameter names lower-cased, values unquoted. */
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;

export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const texts = Array.isArray(header) ? header : [header];
  return texts.flatMap(parseOne);
}

function parseOne(text: string): Challenge[] {
  const challenges: Challenge[] = [];
  let rest = text;
  let current: { scheme: string; params: Record<string, string> } | undefined;
  // Each step consumes at least one character, so the loop ends within text.length steps.
  for (let guard = 0; guard <= text.length && rest.length > 0; guard++) {
    rest = rest.replace(/^[\s,]+/, "");
    const token = TOKEN.exec(rest)?.[0];
    if (!token) break;
    const afterToken = rest.slice(token.length);
    const param = /^\s*=\s*/.exec(afterToken);
    if (current && param) {
      rest = afterToken.slice(param[0].length);
      const { value, remaining } = readValue(rest);
      current.params[token.toLowerCase()] = value;
      rest = remaining;
    } else {
      current = { scheme: token.toLowerCase(), params: {} };
      challenges.push(current);
      rest = afterToken;
    }
  }
  return challenges;
}

function readValue(text: string): { value: string; remaining: string } {
  if (!text.startsWith('"')) {
    const match = /^[^,\s]*/.exec(text)?.[0] ?? "";
    return { value: match, remaining: text.slice(match.length) };
  }
  let value = "";
  for (let i = 1; i < text.length; i++) {
    const char = text[i];
    if (char === "\\" && i + 1 < text.length) {
      value += text[i + 1];
      i++;
    } else if (char === '"') {
      return { value, remaining: text.slice(i + 1) };
    } else {
      value += char;
    }
  }
  return { value, remaining: "" };
}
