// Prints "N passed, N failed, N skipped" for a JUnit XML report (the root <testsuites> totals).
import { readFileSync } from "node:fs";
import process from "node:process";

const xml = readFileSync(process.argv[2], "utf8");
const root = /<testsuites\b([^>]*)>/.exec(xml)?.[1] ?? "";
const count = (name) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(root)?.[1] ?? 0);
const failed = count("failures") + count("errors");
const skipped = count("skipped");
const passed = count("tests") - failed - skipped;
process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}\n`);
