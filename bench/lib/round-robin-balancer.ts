// A round-robin TCP balancer in front of replicas: each new client connection goes to the next
// backend in turn and stays there (as a Kubernetes Service or a network load balancer does), the
// bytes are piped both ways untouched. Connections, not requests, are balanced, so a keep-alive
// client sticks to one replica: load spreads when clients open several connections (wrk, ab,
// the pools of the small-image and soak phases), and a single pull is served by one replica.
//
// The benchmark runs it as a process of its own (`node round-robin-balancer.ts LISTEN BACKEND…`,
// printing "listening PORT"), so that its CPU time is neither the client's nor a server's; it has
// no dependency on the benchmark, and a test can start it in process with startBalancer().

import * as net from "node:net";

export interface Backend {
  host: string;
  port: number;
}

export interface Balancer {
  port: number;
  /** Connections handed to each backend so far, in the backends' order. */
  connections: () => number[];
  close: () => Promise<void>;
}

export function startBalancer(backends: readonly Backend[], listen: Backend): Promise<Balancer> {
  if (backends.length === 0) throw new Error("a balancer needs at least one backend");
  const counts = backends.map(() => 0);
  const open = new Set<net.Socket>();
  let next = 0;
  const server = net.createServer((client) => {
    const index = next;
    next = (next + 1) % backends.length;
    counts[index] = (counts[index] ?? 0) + 1;
    const backend = backends[index] as Backend;
    const upstream = net.connect({ host: backend.host, port: backend.port });
    // Small requests must not wait for Nagle's algorithm on either leg.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    open.add(client);
    open.add(upstream);
    // pipe() passes a half-close on; once either side is gone, so is the other: a half-open
    // pair would hold a connection to a replica for ever.
    client.on("close", () => {
      open.delete(client);
      upstream.destroy();
    });
    upstream.on("close", () => {
      open.delete(upstream);
      client.destroy();
    });
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => {
      const address = server.address();
      resolve({
        port: typeof address === "object" && address ? address.port : 0,
        connections: () => [...counts],
        close: () =>
          new Promise<void>((done) => {
            for (const socket of open) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

function parseAddress(text: string): Backend {
  const at = text.lastIndexOf(":");
  const port = Number(text.slice(at + 1));
  if (at < 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`expected HOST:PORT, got ${text}`);
  return { host: text.slice(0, at) || "127.0.0.1", port };
}

// As a process: LISTEN BACKEND…; SIGTERM ends it.
if (import.meta.main) {
  const [listen, ...backends] = process.argv.slice(2);
  if (listen === undefined || backends.length === 0) {
    process.stderr.write("usage: round-robin-balancer.ts LISTEN_HOST:PORT BACKEND_HOST:PORT…\n");
    process.exit(2);
  }
  const balancer = await startBalancer(backends.map(parseAddress), parseAddress(listen));
  process.stdout.write(`listening ${balancer.port}\n`);
  process.once("SIGTERM", () => void balancer.close().then(() => process.exit(0)));
}
