// The little XML the S3 client reads and writes. S3's answers are small documents of a known shape
// (a listing, an upload id, an error), so the client picks the elements it needs by name rather
// than building a tree: `xmlElements(listing, "Contents")` gives each object's block, and
// `xmlText(block, "Key")` the key in it, its entities decoded. The one body it sends, the list of
// parts that completes a multipart upload, is written with `xmlEscape`.
//
// Not a general XML parser: an element must not contain another of the same name (none of S3's
// does), and comments or processing instructions inside a value are not expected.

const ENTITIES: Readonly<Record<string, string>> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

/** The text content of every `<name>` element, in document order; "" for an empty one (`<name/>`). */
export function xmlElements(xml: string, name: string): string[] {
  // The name ends at whitespace, ">" or "/>": "<Key>" is not "<KeyCount>".
  const element = new RegExp(`<${name}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</${name}\\s*>)`, "g");
  return Array.from(xml.matchAll(element), (match) => match[1] ?? "");
}

/** The decoded text of the first `<name>` element, or undefined when there is none. */
export function xmlText(xml: string, name: string): string | undefined {
  const [first] = xmlElements(xml, name);
  return first === undefined ? undefined : xmlDecode(first);
}

/** An element's text with its character data sections and entities turned back into characters. */
export function xmlDecode(text: string): string {
  return text.replace(/<!\[CDATA\[([\s\S]*?)\]\]>|&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, cdata, entity) => {
    if (typeof cdata === "string") return cdata;
    const reference = entity as string;
    if (reference.startsWith("#x")) return codePoint(Number.parseInt(reference.slice(2), 16), whole);
    if (reference.startsWith("#")) return codePoint(Number.parseInt(reference.slice(1), 10), whole);
    return ENTITIES[reference] ?? whole;
  });
}

/** `text` safe inside an element or an attribute. */
export function xmlEscape(text: string): string {
  return text.replace(/[<>&"']/g, (character) => `&${ESCAPES[character] ?? "amp"};`);
}

const ESCAPES: Readonly<Record<string, string>> = { "<": "lt", ">": "gt", "&": "amp", '"': "quot", "'": "apos" };

function codePoint(value: number, whole: string): string {
  return Number.isInteger(value) && value >= 0 && value <= 0x10ffff ? String.fromCodePoint(value) : whole;
}
