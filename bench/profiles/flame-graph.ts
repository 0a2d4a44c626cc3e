// Turns a V8 CPU profile (`node --cpu-prof`, plain or gzipped) into an SVG flame graph and prints
// the functions with the most self time. Written for the profiles kept beside it (README.md
// there): no dependency beyond Node.js, so it runs where the benchmark runs.
//
//   node bench/profiles/flame-graph.ts PROFILE.cpuprofile[.gz] [OUT.svg] [--top N] [--title TEXT]
//
// The graph hangs from the top (callers above callees); a box's width is its share of the time
// the thread was busy, idle time left out, so "before" and "after" graphs compare by share.

import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { gunzipSync } from "node:zlib";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const WIDTH = 1800;
const ROW = 16;

function load(file: string): CpuProfile {
  const raw = readFileSync(file);
  return JSON.parse((file.endsWith(".gz") ? gunzipSync(raw) : raw).toString("utf8")) as CpuProfile;
}

/** "function file:line", the file shortened to its last two segments. */
function label(frame: CallFrame): string {
  const name = frame.functionName || "(anonymous)";
  if (!frame.url) return name;
  const file = frame.url
    .replace(/^.*node_modules\//, "npm:")
    .split("/")
    .slice(-2)
    .join("/");
  return `${name} ${file}:${frame.lineNumber + 1}`;
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Warm colours for our code, orange for Node.js's, blue for dependencies. */
function colour(frame: CallFrame, id: number): string {
  const hue = frame.url.includes("node_modules") ? 205 : frame.url.startsWith("file:") ? 8 : 32;
  return `hsl(${hue},${60 + ((id * 7) % 30)}%,${58 + ((id * 13) % 18)}%)`;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: "string" }, title: { type: "string" } },
  });
  const [file, out] = positionals;
  if (!file) throw new Error("usage: flame-graph.ts PROFILE [OUT.svg] [--top N] [--title TEXT]");
  const profile = load(file);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, index) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));

  const isIdle = (id: number): boolean => byId.get(id)?.callFrame.functionName === "(idle)";
  const total = new Map<number, number>();
  const sum = (id: number): number => {
    let time = isIdle(id) ? 0 : (self.get(id) ?? 0);
    for (const child of byId.get(id)?.children ?? []) time += sum(child);
    total.set(id, time);
    return time;
  };
  const root = profile.nodes[0];
  if (!root) throw new Error(`${file}: no nodes`);
  const busy = sum(root.id);

  const byLabel = new Map<string, number>();
  for (const [id, time] of self) {
    const node = byId.get(id);
    if (!node || isIdle(id)) continue;
    byLabel.set(label(node.callFrame), (byLabel.get(label(node.callFrame)) ?? 0) + time);
  }
  const seconds = (profile.endTime - profile.startTime) / 1e6;
  console.log(`${file}: ${seconds.toFixed(1)} s profiled, thread busy ${(busy / 1e6).toFixed(2)} s`);
  const top = [...byLabel].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top ?? 25));
  for (const [name, time] of top) {
    console.log(`${(time / 1e3).toFixed(0).padStart(7)} ms ${((100 * time) / busy).toFixed(1).padStart(5)}%  ${name}`);
  }
  if (!out) return;

  const boxes: string[] = [];
  let depth = 0;
  const draw = (id: number, x: number, level: number): void => {
    const node = byId.get(id);
    const time = total.get(id) ?? 0;
    const width = (time / busy) * WIDTH;
    if (!node || width < 0.3) return;
    depth = Math.max(depth, level);
    const name = escape(label(node.callFrame));
    const text =
      width > 40
        ? `<text x="${(x + 2).toFixed(1)}" y="${level * ROW + 11}">${name.slice(0, Math.floor(width / 6))}</text>`
        : "";
    boxes.push(
      `<g><title>${name}: ${(time / 1e3).toFixed(1)} ms, ${((100 * time) / busy).toFixed(1)}%</title>` +
        `<rect x="${x.toFixed(1)}" y="${level * ROW}" width="${width.toFixed(1)}" height="${ROW - 1}" fill="${colour(node.callFrame, id)}"/>${text}</g>`,
    );
    let childX = x;
    for (const child of node.children ?? []) {
      if (isIdle(child)) continue;
      draw(child, childX, level + 1);
      childX += ((total.get(child) ?? 0) / busy) * WIDTH;
    }
  };
  let x = 0;
  const children = [...(root.children ?? [])].filter((id) => !isIdle(id));
  children.sort((a, b) => (total.get(b) ?? 0) - (total.get(a) ?? 0));
  for (const child of children) {
    draw(child, x, 1);
    x += ((total.get(child) ?? 0) / busy) * WIDTH;
  }
  const height = (depth + 2) * ROW;
  const title = escape(
    `${values.title ?? file}: thread busy ${(busy / 1e6).toFixed(2)} s of ${seconds.toFixed(1)} s; widths are shares of busy time`,
  );
  writeFileSync(
    out,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ` +
      `font-family="monospace" font-size="10"><rect width="100%" height="100%" fill="white"/>` +
      `<text x="4" y="12" font-size="12" font-family="sans-serif">${title}</text>${boxes.join("")}</svg>\n`,
  );
}

main();
