// Writes bench/RESULTS.md. A run owns the block between its two markers and replaces only that
// (the regular run one block, the soak another); anything written by hand around them (such as
// "What limits us") is kept. Tables have one column per server set-up; a row may carry one of the
// issue's targets (lib/targets.ts), whose verdict and reason are computed from the row's figures.

import { existsSync, readFileSync, writeFileSync } from "node:fs";

export interface Markers {
  begin: string;
  end: string;
}

export const RUN_MARKERS: Markers = {
  begin: "<!-- bench:generated:begin (written by bench/run.ts; edit outside this block) -->",
  end: "<!-- bench:generated:end -->",
};

export const SOAK_MARKERS: Markers = {
  begin: "<!-- bench:soak:begin (written by bench/run.ts with BENCH_SOAK; edit outside this block) -->",
  end: "<!-- bench:soak:end -->",
};

/**
 * The set-ups a row can have a figure for: Airlock as it runs by default (as many workers as
 * CPUs), Airlock with one worker, three Airlock replicas on PostgreSQL and S3 behind a balancer,
 * Distribution 3 (the anchor) and Distribution 2.8. In the proxy rows, each column is that
 * set-up's pull-through cache.
 */
export type Column = "airlock" | "airlock1" | "replicas" | "d3" | "d28";

export type Values = Partial<Record<Column, number>>;

/** A target's verdict: met or not (undefined: not measured), and why, in a few words. */
export interface Verdict {
  met: boolean | undefined;
  reason: string;
}

export interface Goal {
  /** What the issue asks, as shown in the Target column ("≥ 1.2× D3"). */
  text: string;
  judge: (values: Values) => Verdict;
}

export interface Row {
  title: string;
  unit: string;
  better: "higher" | "lower";
  values: Values;
  goal?: Goal;
  /** Said after the verdict when the target is not met: a measured cause (the machine was saturated…). */
  why?: string;
}

export interface Table {
  /** Shown above the table. */
  intro: string[];
  columns: { key: Column; label: string }[];
  /** The ratio column: numerator over denominator, with its header; none when absent. */
  ratio?: { of: Column; over: Column; label: string };
  rows: Row[];
}

export interface Report {
  title: string;
  machine: [string, string][];
  tables: { title?: string; table: Table }[];
  /** Further tables or paragraphs, each under its own heading after the tables. */
  sections?: { title: string; lines: string[] }[];
  details: string[];
  notes: string[];
}

export function format(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "n/a";
  const abs = Math.abs(value);
  if (Number.isInteger(value) && abs < 1000) return String(value);
  if (abs >= 1000) return Math.round(value).toLocaleString("en-US");
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

export function times(ratio: number | undefined): string {
  return ratio === undefined || !Number.isFinite(ratio) ? "n/a" : `${ratio.toFixed(2)}×`;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return NaN;
  return sorted.length % 2 === 1 ? (sorted[middle] ?? NaN) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return undefined;
  return a / b;
}

function verdictCell(row: Row): string {
  if (!row.goal) return "";
  const verdict = row.goal.judge(row.values);
  if (verdict.met === undefined) return `not measured: ${verdict.reason}`;
  if (verdict.met) return `**met**: ${verdict.reason}`;
  return `**not met**: ${verdict.reason}${row.why ? `; ${row.why}` : ""}`;
}

function tableRow(cells: string[]): string {
  // A pipe inside a cell would end it.
  return `| ${cells.map((cell) => cell.replaceAll("|", "\\|")).join(" | ")} |`;
}

export function renderTable(table: Table): string[] {
  const lines = [...table.intro];
  if (lines.length > 0) lines.push("");
  const withGoals = table.rows.some((row) => row.goal);
  lines.push(
    tableRow([
      "Measurement",
      ...table.columns.map((column) => column.label),
      ...(table.ratio ? [table.ratio.label] : []),
      ...(withGoals ? ["Target", "Met"] : []),
    ]),
    tableRow([
      "---",
      ...table.columns.map(() => "---:"),
      ...(table.ratio ? ["---:"] : []),
      ...(withGoals ? ["---", "---"] : []),
    ]),
  );
  for (const row of table.rows) {
    lines.push(
      tableRow([
        `${row.title} (${row.unit}${row.better === "lower" ? ", *lower is better*" : ""})`,
        ...table.columns.map((column) => (column.key in row.values ? format(row.values[column.key]) : "—")),
        ...(table.ratio ? [times(ratio(row.values[table.ratio.of], row.values[table.ratio.over]))] : []),
        ...(withGoals ? [row.goal?.text ?? "—", verdictCell(row)] : []),
      ]),
    );
  }
  return lines;
}

export function renderBlock(report: Report, markers: Markers): string {
  const lines: string[] = [markers.begin, "", `## ${report.title}`, ""];
  lines.push(...report.machine.map(([key, value]) => `- **${key}**: ${value}`), "");
  for (const { title, table } of report.tables) {
    if (title !== undefined) lines.push(`### ${title}`, "");
    lines.push(...renderTable(table), "");
  }
  for (const section of report.sections ?? []) lines.push(`### ${section.title}`, "", ...section.lines, "");
  if (report.details.length > 0) lines.push("### Details", "", ...report.details.map((line) => `- ${line}`), "");
  if (report.notes.length > 0) lines.push("### Notes", "", ...report.notes.map((line) => `- ${line}`), "");
  lines.push(markers.end);
  return lines.join("\n");
}

/**
 * Replaces the block between `markers` in the file, keeping what surrounds it. A block not there
 * yet goes after the run's block when there is one (the soak after the regular results), else at
 * the end; a missing file is created with a title.
 */
export function writeResults(file: string, block: string, markers: Markers): void {
  const header = "# Benchmark results: Airlock beside CNCF Distribution 3 and 2.8\n\n";
  let text = existsSync(file) ? readFileSync(file, "utf8") : "";
  const begin = text.indexOf(markers.begin);
  const end = text.indexOf(markers.end);
  const runEnd = text.indexOf(RUN_MARKERS.end);
  if (begin >= 0 && end > begin) {
    text = `${text.slice(0, begin)}${block}${text.slice(end + markers.end.length)}`;
  } else if (text.trim() === "") {
    text = `${header}${block}\n`;
  } else if (markers !== RUN_MARKERS && runEnd >= 0) {
    const at = runEnd + RUN_MARKERS.end.length;
    text = `${text.slice(0, at)}\n\n${block}${text.slice(at)}`;
  } else {
    text = `${text.trimEnd()}\n\n${block}\n`;
  }
  writeFileSync(file, text);
}
