// Writes bench/RESULTS.md. The run owns the block between the two markers and replaces only that;
// anything written by hand before or after it (such as "What limits us") is kept.

import { existsSync, readFileSync, writeFileSync } from "node:fs";

export const BEGIN = "<!-- bench:generated:begin (written by bench/run.ts; edit outside this block) -->";
export const END = "<!-- bench:generated:end -->";

export interface Row {
  title: string;
  unit: string;
  better: "higher" | "lower";
  airlock?: number;
  distribution?: number;
  /** Minimum ratio Airlock / Distribution asked by the issue. */
  target?: number;
}

export interface Report {
  title: string;
  machine: [string, string][];
  rows: Row[];
  /** Further tables or paragraphs, each under its own heading after the main table. */
  sections?: { title: string; lines: string[] }[];
  details: string[];
  notes: string[];
}

export function format(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "n/a";
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString("en-US");
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return NaN;
  return sorted.length % 2 === 1 ? (sorted[middle] ?? NaN) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

export function ratioOf(row: Row): number | undefined {
  if (row.airlock === undefined || row.distribution === undefined || row.distribution === 0) return undefined;
  return row.airlock / row.distribution;
}

function verdict(row: Row): string {
  const ratio = ratioOf(row);
  if (row.target === undefined) return "";
  if (ratio === undefined) return "not measured";
  return ratio >= row.target ? "**met**" : "**not met**";
}

function tableRow(cells: string[]): string {
  return `| ${cells.join(" | ")} |`;
}

export function renderBlock(report: Report): string {
  const lines: string[] = [BEGIN, "", `## ${report.title}`, ""];
  lines.push(...report.machine.map(([key, value]) => `- **${key}**: ${value}`), "");
  lines.push(
    "Ratio = Airlock / Distribution for every row. On throughput rows (higher is better) a ratio above 1 means Airlock " +
      "is faster; on the memory and CPU rows (marked *lower is better*) a ratio below 1 means Airlock uses less.",
    "",
  );
  lines.push(tableRow(["Measurement", "Airlock", "Distribution 2.8", "Ratio (A/D)", "Target", "Met"]));
  lines.push(tableRow(["---", "---:", "---:", "---:", "---", "---"]));
  for (const row of report.rows) {
    const ratio = ratioOf(row);
    lines.push(
      tableRow([
        `${row.title} (${row.unit}${row.better === "lower" ? ", *lower is better*" : ""})`,
        format(row.airlock),
        format(row.distribution),
        ratio === undefined ? "n/a" : `${ratio.toFixed(2)}×`,
        row.target === undefined ? "—" : `≥ ${row.target.toFixed(1)}×`,
        verdict(row),
      ]),
    );
  }
  for (const section of report.sections ?? []) lines.push("", `### ${section.title}`, "", ...section.lines);
  lines.push("", "### Details", "", ...report.details.map((line) => `- ${line}`), "");
  lines.push("### Notes", "", ...report.notes.map((line) => `- ${line}`), "", END);
  return lines.join("\n");
}

/** Replaces the generated block in the file, keeping what surrounds it; creates the file if needed. */
export function writeResults(file: string, block: string): void {
  const header = "# Benchmark results: Airlock beside CNCF Distribution 2.8\n\n";
  let text = existsSync(file) ? readFileSync(file, "utf8") : "";
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (begin >= 0 && end > begin) {
    text = `${text.slice(0, begin)}${block}${text.slice(end + END.length)}`;
  } else if (text.trim() === "") {
    text = `${header}${block}\n`;
  } else {
    text = `${text.trimEnd()}\n\n${block}\n`;
  }
  writeFileSync(file, text);
}
