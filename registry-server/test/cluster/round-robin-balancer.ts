// A TCP load balancer for the replica tests, as small as one can be and still behave like the
// real ones in front of replicas (a Kubernetes Service, an NLB, HAProxy in TCP mode): each new
// connection goes to the next backend in turn and stays there; a backend that refuses the
// connection is skipped for the next one, as a balancer's health check would soon have it. It
// records which backend took each connection, so that a test can act on the one serving a
// request (kill it mid-request).

import * as net from "node:net";

export interface Backend {
  readonly host: string;
  readonly port: number;
}

export interface RoundRobinBalancer {
  readonly url: string;
  /** The backend index each accepted connection went to, in order (undefined: none would take it). */
  readonly assignments: ReadonlyArray<number | undefined>;
  close(): Promise<void>;
}

/** Connecting to one backend gives up after this long. */
const CONNECT_TIMEOUT_MS = 2_000;

export async function startRoundRobinBalancer(backends: readonly Backend[]): Promise<RoundRobinBalancer> {
  let next = 0;
  const assignments: Array<number | undefined> = [];
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };

  /** The first backend from `start` on that accepts a connection, trying each at most once. */
  const connect = (start: number): Promise<{ index: number; socket: net.Socket } | undefined> =>
    new Promise((resolve) => {
      const attempt = (tried: number): void => {
        if (tried >= backends.length) {
          resolve(undefined);
          return;
        }
        const index = (start + tried) % backends.length;
        const backend = backends[index] as Backend;
        const socket = net.connect({ host: backend.host, port: backend.port });
        socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error("connect timeout")));
        const failed = (): void => attempt(tried + 1);
        socket.once("error", failed);
        socket.once("connect", () => {
          socket.off("error", failed);
          socket.setTimeout(0);
          resolve({ index, socket });
        });
      };
      attempt(0);
    });

  const server = net.createServer((client) => {
    track(client);
    const slot = assignments.push(undefined) - 1;
    const start = next;
    next = (next + 1) % backends.length;
    client.pause();
    void connect(start).then((chosen) => {
      if (!chosen) {
        client.destroy();
        return;
      }
      assignments[slot] = chosen.index;
      const upstream = chosen.socket;
      track(upstream);
      // Either side going away takes the other with it, as a TCP proxy does (a reset stays a reset).
      upstream.on("error", () => client.destroy());
      client.on("error", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
      client.on("close", () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    assignments,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
