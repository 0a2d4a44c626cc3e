// Small loopback servers for the adapter tests: an HTTP CONNECT proxy that counts its tunnels
// (and can map a made-up host name to loopback, so that a direct connection could not succeed),
// a scripted HTTP server for answers real registries do not give on demand (429, 5xx,
// redirects, silence), a recording reverse proxy in front of a real registry, and a certificate
// for the made-up host.

import { execFileSync } from "node:child_process";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";

/** A name no resolver knows: only the test proxy maps it to loopback. */
export const HIDDEN_HOST = "upstream.airlock.test";

/** A self-signed certificate (its own CA) for HIDDEN_HOST, localhost and 127.0.0.1. */
export function certificateFor(dir: string): { certFile: string; keyFile: string } {
  const certFile = path.join(dir, "upstream.crt");
  const keyFile = path.join(dir, "upstream.key");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"]
      .concat(["-subj", "/CN=upstream", "-addext", `subjectAltName=DNS:${HIDDEN_HOST},DNS:localhost,IP:127.0.0.1`])
      .concat(["-keyout", keyFile, "-out", certFile]),
    { stdio: "ignore" },
  );
  return { certFile, keyFile };
}

export interface ConnectProxy {
  url: string;
  /** "host:port" of every tunnel opened, in order. */
  tunnels: string[];
  /** Requests forwarded in absolute form (plain http:// targets). */
  forwarded: string[];
  stop: () => Promise<void>;
}

function trackSockets(server: net.Server): Set<net.Socket> {
  const sockets = new Set<net.Socket>();
  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  return sockets;
}

async function listenOnLoopback(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return typeof address === "object" && address ? address.port : 0;
}

function stopper(server: net.Server, sockets: Set<net.Socket>, extra: Set<net.Socket>): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      for (const socket of [...sockets, ...extra]) socket.destroy();
      server.close(() => resolve());
    });
}

export async function startConnectProxy(
  options: { hosts?: Record<string, string>; credentials?: { username: string; password: string } } = {},
): Promise<ConnectProxy> {
  const tunnels: string[] = [];
  const forwarded: string[] = [];
  const upstreamSockets = new Set<net.Socket>();
  const expected =
    options.credentials &&
    `Basic ${Buffer.from(`${options.credentials.username}:${options.credentials.password}`).toString("base64")}`;
  const mapHost = (host: string): string => options.hosts?.[host] ?? host;
  const server = http.createServer((req, res) => {
    // Absolute-form request for a plain http:// upstream.
    forwarded.push(req.url ?? "");
    const target = new URL(req.url ?? "");
    const upstream = http.request(
      {
        host: mapHost(target.hostname),
        port: target.port || 80,
        path: `${target.pathname}${target.search}`,
        method: req.method,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  server.on("connect", (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    if (expected && req.headers["proxy-authorization"] !== expected) {
      client.end("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n");
      return;
    }
    tunnels.push(req.url ?? "");
    const [host = "", port = "443"] = (req.url ?? "").split(/:(?=\d+$)/);
    const upstream = net.connect(Number(port), mapHost(host), () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstreamSockets.add(upstream);
    upstream.on("close", () => upstreamSockets.delete(upstream));
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
  });
  const sockets = trackSockets(server);
  const port = await listenOnLoopback(server);
  return { url: `http://127.0.0.1:${port}`, tunnels, forwarded, stop: stopper(server, sockets, upstreamSockets) };
}

export interface ScriptedServer {
  url: string;
  requests: { method: string; path: string; headers: http.IncomingHttpHeaders }[];
  stop: () => Promise<void>;
}

/** An HTTP server answering with `handler`; every request is recorded first. */
export async function startScriptedServer(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  host = "127.0.0.1",
): Promise<ScriptedServer> {
  const requests: ScriptedServer["requests"] = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers });
    handler(req, res);
  });
  const sockets = trackSockets(server);
  const port = await listenOnLoopback(server);
  return { url: `http://${host}:${port}`, requests, stop: stopper(server, sockets, new Set()) };
}

export interface ReverseProxy {
  url: string;
  /** Every request received, in order, with the status it was answered with. */
  requests: { method: string; path: string; headers: http.IncomingHttpHeaders; status: number }[];
  stop: () => Promise<void>;
}

/**
 * A reverse proxy in front of a real registry that records what clients send and lets the test
 * answer chosen requests itself (a 401 in the middle of an upload, say): `intercept` gets each
 * request with its whole body read, and returns the answer or undefined to forward it.
 */
export async function startReverseProxy(
  target: string,
  intercept: (
    req: http.IncomingMessage,
    body: Buffer,
  ) => { status: number; headers?: Record<string, string> } | undefined = () => undefined,
): Promise<ReverseProxy> {
  const requests: ReverseProxy["requests"] = [];
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const record = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, status: 0 };
      requests.push(record);
      const answer = intercept(req, body);
      if (answer) {
        record.status = answer.status;
        res.writeHead(answer.status, { "Content-Length": "0", ...answer.headers });
        res.end();
        return;
      }
      const forwarded = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          path: req.url,
          method: req.method,
          // The client's Host stays: registries build absolute Locations from it (Distribution).
          headers: req.headers,
        },
        (answer) => {
          record.status = answer.statusCode ?? 502;
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forwarded.on("error", () => res.destroy());
      forwarded.end(body);
    });
  });
  const sockets = trackSockets(server);
  const port = await listenOnLoopback(server);
  return { url: `http://127.0.0.1:${port}`, requests, stop: stopper(server, sockets, new Set()) };
}
