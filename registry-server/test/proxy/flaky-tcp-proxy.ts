// A TCP proxy on loopback that makes an upstream registry flap, for the proxy-cache fault test:
// "up" passes every byte; "flaky" passes connections but cuts some of them after a random number
// of the upstream's bytes (in the middle of a blob), by a reset or a plain close; "down" refuses
// connections (the port closed) and drops those open. `flap` alternates flaky and down phases of
// random lengths. Randomness comes from a seeded generator, so that a failing run can be replayed.

import * as net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export type ProxyMode = "up" | "flaky" | "down";

export interface FlakyProxyOptions {
  /** Share of connections cut in the flaky mode (0 to 1). */
  readonly cutRatio: number;
  /** A cut connection passes between 0 and this many of the upstream's bytes first. */
  readonly maxBytesBeforeCut: number;
  readonly seed: number;
}

export interface ProxyStats {
  connections: number;
  cut: number;
  /** Connections dropped because the proxy went down while they were open. */
  dropped: number;
  /** Down phases, during which connecting was refused. */
  downPhases: number;
}

/** mulberry32: small, seeded, good enough to pick cut points. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FlakyTcpProxy {
  readonly stats: ProxyStats = { connections: 0, cut: 0, dropped: 0, downPhases: 0 };
  readonly random: () => number;
  #mode: ProxyMode = "up";
  #server: net.Server | undefined;
  #port = 0;
  readonly #target: { host: string; port: number };
  readonly #options: FlakyProxyOptions;
  readonly #open = new Set<net.Socket>();

  private constructor(target: { host: string; port: number }, options: FlakyProxyOptions) {
    this.#target = target;
    this.#options = options;
    this.random = seededRandom(options.seed);
  }

  static async start(targetUrl: string, options: FlakyProxyOptions): Promise<FlakyTcpProxy> {
    const target = new URL(targetUrl);
    const proxy = new FlakyTcpProxy({ host: target.hostname, port: Number(target.port) }, options);
    await proxy.#listen(0);
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get mode(): ProxyMode {
    return this.#mode;
  }

  async setMode(mode: ProxyMode): Promise<void> {
    if (mode === this.#mode) return;
    const previous = this.#mode;
    this.#mode = mode;
    if (mode === "down") {
      this.stats.downPhases++;
      const server = this.#server;
      this.#server = undefined;
      for (const socket of this.#open) {
        this.stats.dropped++;
        socket.resetAndDestroy();
      }
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    } else if (previous === "down") {
      await this.#listen(this.#port);
    }
  }

  /** Alternates flaky and down phases until `durationMs` has passed, then stays flaky. */
  async flap(durationMs: number, phase: { upMs: [number, number]; downMs: [number, number] }): Promise<void> {
    const end = Date.now() + durationMs;
    const pick = ([low, high]: [number, number]): number => low + Math.floor(this.random() * (high - low));
    // Bounded by the deadline; each round sleeps at least the smaller bound.
    for (let round = 0; round < 10_000 && Date.now() < end; round++) {
      await this.setMode("flaky");
      await sleep(Math.min(pick(phase.upMs), Math.max(0, end - Date.now())));
      if (Date.now() >= end) break;
      await this.setMode("down");
      await sleep(Math.min(pick(phase.downMs), Math.max(0, end - Date.now())));
    }
    await this.setMode("flaky");
  }

  async close(): Promise<void> {
    for (const socket of this.#open) socket.destroy();
    const server = this.#server;
    this.#server = undefined;
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  async #listen(port: number): Promise<void> {
    const server = net.createServer((client) => this.#accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    const address = server.address();
    this.#port = typeof address === "object" && address ? address.port : port;
    this.#server = server;
  }

  #accept(client: net.Socket): void {
    if (this.#mode === "down") {
      client.resetAndDestroy();
      return;
    }
    this.stats.connections++;
    const upstream = net.connect(this.#target.port, this.#target.host);
    this.#open.add(client);
    this.#open.add(upstream);
    const cutAfter =
      this.#mode === "flaky" && this.random() < this.#options.cutRatio
        ? Math.floor(this.random() * this.#options.maxBytesBeforeCut)
        : undefined;
    const reset = this.random() < 0.5;
    let passed = 0;
    const end = (): void => {
      this.#open.delete(client);
      this.#open.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end);
    upstream.on("error", end);
    client.on("close", end);
    upstream.on("close", end);
    client.pipe(upstream);
    upstream.on("data", (chunk: Buffer) => {
      if (cutAfter !== undefined && passed + chunk.length > cutAfter) {
        client.write(chunk.subarray(0, Math.max(0, cutAfter - passed)));
        this.stats.cut++;
        if (reset) client.resetAndDestroy();
        else client.end();
        upstream.destroy();
        this.#open.delete(client);
        this.#open.delete(upstream);
        return;
      }
      passed += chunk.length;
      if (!client.write(chunk)) {
        upstream.pause();
        client.once("drain", () => upstream.resume());
      }
    });
  }
}
