// A line chart written as a PNG with nothing but node:zlib: an RGB canvas, straight lines, the 5×7
// font of lib/bitmap-font.ts for the labels, and a minimal PNG encoder (IHDR, one IDAT of
// deflated scanlines, IEND, each with its CRC-32). Enough for the soak's memory over time; no
// plotting package to install on a machine that may only reach Debian's and npm's registries.

import { writeFileSync } from "node:fs";
import { crc32, deflateSync } from "node:zlib";
import { drawText, GLYPH_HEIGHT, textWidth } from "./bitmap-font.ts";

type Rgb = [number, number, number];

export interface Series {
  label: string;
  colour: Rgb;
  /** [x, y] in the chart's units, x ascending. */
  points: [number, number][];
  /** Line width in pixels. */
  width?: number;
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
}

export const PALETTE: Rgb[] = [
  [0, 0, 0],
  [214, 39, 40],
  [31, 119, 180],
  [44, 160, 44],
  [255, 127, 14],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
];

class Canvas {
  readonly width: number;
  readonly height: number;
  readonly pixels: Buffer;

  constructor(width: number, height: number) {
    this.width = width;
    this.height = height;
    this.pixels = Buffer.alloc(width * height * 3, 255);
  }

  plot(x: number, y: number, colour: Rgb): void {
    const px = Math.round(x);
    const py = Math.round(y);
    if (px < 0 || py < 0 || px >= this.width || py >= this.height) return;
    const at = (py * this.width + px) * 3;
    this.pixels[at] = colour[0];
    this.pixels[at + 1] = colour[1];
    this.pixels[at + 2] = colour[2];
  }

  /** A line of `width` pixels: a square brush stepped along the longer axis. */
  line(x0: number, y0: number, x1: number, y1: number, colour: Rgb, width = 1): void {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    const half = Math.floor((width - 1) / 2);
    for (let i = 0; i <= steps; i++) {
      const x = x0 + ((x1 - x0) * i) / steps;
      const y = y0 + ((y1 - y0) * i) / steps;
      for (let dx = -half; dx < width - half; dx++) {
        for (let dy = -half; dy < width - half; dy++) this.plot(x + dx, y + dy, colour);
      }
    }
  }

  text(text: string, x: number, y: number, colour: Rgb, scale = 2): void {
    drawText(text, Math.round(x), Math.round(y), scale, (px, py) => this.plot(px, py, colour));
  }

  png(): Buffer {
    const chunk = (type: string, data: Buffer): Buffer => {
      const head = Buffer.alloc(8);
      head.writeUInt32BE(data.length, 0);
      head.write(type, 4, "latin1");
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
      return Buffer.concat([head, data, crc]);
    };
    const header = Buffer.alloc(13);
    header.writeUInt32BE(this.width, 0);
    header.writeUInt32BE(this.height, 4);
    header[8] = 8; // bits per channel
    header[9] = 2; // colour type: RGB
    // Compression, filter and interlace methods: 0, the only ones PNG defines (and no interlace).
    const stride = this.width * 3;
    const raw = Buffer.alloc((stride + 1) * this.height);
    for (let y = 0; y < this.height; y++) {
      raw[y * (stride + 1)] = 0; // filter type None for every scanline
      this.pixels.copy(raw, y * (stride + 1) + 1, y * stride, (y + 1) * stride);
    }
    return Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk("IHDR", header),
      chunk("IDAT", deflateSync(raw, { level: 9 })),
      chunk("IEND", Buffer.alloc(0)),
    ]);
  }
}

/** A step of 1, 2 or 5 × 10^k giving about `count` intervals over `span`. */
function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const scaled = raw / power;
  return (scaled <= 1 ? 1 : scaled <= 2 ? 2 : scaled <= 5 ? 5 : 10) * power;
}

function tickLabel(value: number, step: number): string {
  return step >= 1 ? String(Math.round(value)) : value.toFixed(Math.ceil(-Math.log10(step)));
}

/** Draws the chart (y from 0, both axes with labelled ticks, a legend) and returns the PNG. */
export function renderLineChart(spec: ChartSpec): Buffer {
  const width = spec.width ?? 960;
  const height = spec.height ?? 480;
  const canvas = new Canvas(width, height);
  const black: Rgb = [0, 0, 0];
  const grey: Rgb = [225, 225, 225];
  const left = 80;
  const right = width - 24;
  const top = 68 + 20 * Math.ceil(spec.series.length / 3);
  const bottom = height - 56;
  const all = spec.series.flatMap((s) => s.points);
  const xMax = Math.max(1e-9, ...all.map(([x]) => x));
  const yStep = niceStep(Math.max(1, ...all.map(([, y]) => y)) * 1.1, 6);
  const yMax = Math.ceil((Math.max(1, ...all.map(([, y]) => y)) * 1.1) / yStep) * yStep;
  const xStep = niceStep(xMax, 10);
  const sx = (x: number): number => left + ((right - left) * x) / xMax;
  const sy = (y: number): number => bottom - ((bottom - top) * y) / yMax;

  canvas.text(spec.title, left, 12, black);
  for (let y = 0; y <= yMax + 1e-9; y += yStep) {
    canvas.line(left, sy(y), right, sy(y), grey);
    const label = tickLabel(y, yStep);
    canvas.text(label, left - 8 - textWidth(label, 2), sy(y) - GLYPH_HEIGHT, black);
  }
  for (let x = 0; x <= xMax + 1e-9; x += xStep) {
    canvas.line(sx(x), top, sx(x), bottom, grey);
    const label = tickLabel(x, xStep);
    canvas.text(label, sx(x) - textWidth(label, 2) / 2, bottom + 8, black);
  }
  canvas.line(left, top, left, bottom, black);
  canvas.line(left, bottom, right, bottom, black);
  canvas.text(spec.xLabel, (left + right) / 2 - textWidth(spec.xLabel, 2) / 2, bottom + 32, black);
  canvas.text(spec.yLabel, 8, top - 28, black);

  spec.series.forEach((series, index) => {
    const lx = left + (index % 3) * ((right - left) / 3);
    const ly = 36 + 20 * Math.floor(index / 3);
    canvas.line(lx, ly + 7, lx + 24, ly + 7, series.colour, 3);
    canvas.text(series.label, lx + 32, ly, series.colour);
    for (let i = 1; i < series.points.length; i++) {
      const [x0, y0] = series.points[i - 1] as [number, number];
      const [x1, y1] = series.points[i] as [number, number];
      canvas.line(sx(x0), sy(y0), sx(x1), sy(y1), series.colour, series.width ?? 2);
    }
  });
  return canvas.png();
}

export function writeLineChart(file: string, spec: ChartSpec): void {
  writeFileSync(file, renderLineChart(spec));
}
