// Which requests go through the egress proxy: the scheme picks httpProxy or httpsProxy, and
// noProxy entries (names with their subdomains, ".suffix", IPs, CIDRs, ports, "*") bypass it.

import { describe, expect, it } from "vitest";
import { proxyFor } from "../../src/upstream/egress-proxy.ts";

const EGRESS = { httpProxy: "http://proxy:3128", httpsProxy: "http://tls-proxy:3128", timeoutMs: 1000 };

function via(url: string, noProxy?: string): string | undefined {
  return proxyFor(new URL(url), { ...EGRESS, ...(noProxy !== undefined && { noProxy }) });
}

describe("egress proxy selection", () => {
  it("uses the proxy of the URL's scheme, and none when that one is unset", () => {
    expect(via("http://registry.example/v2/")).toBe("http://proxy:3128");
    expect(via("https://registry.example/v2/")).toBe("http://tls-proxy:3128");
    expect(proxyFor(new URL("https://registry.example/"), { httpProxy: "http://proxy:3128", timeoutMs: 1 })).toBe(
      undefined,
    );
  });

  it("proxies loopback too unless noProxy lists it", () => {
    expect(via("http://127.0.0.1:5000/v2/")).toBe("http://proxy:3128");
    expect(via("http://127.0.0.1:5000/v2/", "127.0.0.1")).toBeUndefined();
    expect(via("http://localhost:5000/v2/", "localhost")).toBeUndefined();
  });

  it("matches a name and its subdomains, and a leading dot for subdomains only", () => {
    expect(via("https://corp.example/", "corp.example")).toBeUndefined();
    expect(via("https://registry.corp.example/", "corp.example")).toBeUndefined();
    expect(via("https://notcorp.example/", "corp.example")).toBe("http://tls-proxy:3128");
    expect(via("https://registry.corp.example/", ".corp.example")).toBeUndefined();
    expect(via("https://corp.example/", ".corp.example")).toBe("http://tls-proxy:3128");
    expect(via("https://registry.corp.example/", "*.corp.example")).toBeUndefined();
    expect(via("https://REGISTRY.Corp.Example/", "corp.example")).toBeUndefined();
  });

  it("matches IP addresses, CIDR ranges and ports", () => {
    expect(via("https://10.1.2.3/", "10.0.0.0/8")).toBeUndefined();
    expect(via("https://11.1.2.3/", "10.0.0.0/8")).toBe("http://tls-proxy:3128");
    expect(via("https://[fd00::1]:5000/", "fd00::/8")).toBeUndefined();
    expect(via("https://[::1]:5000/", "[::1]:5000")).toBeUndefined();
    expect(via("https://registry.example:5000/", "registry.example:5000")).toBeUndefined();
    expect(via("https://registry.example/", "registry.example:5000")).toBe("http://tls-proxy:3128");
    expect(via("http://registry.example/", "registry.example:80")).toBeUndefined();
  });

  it("bypasses everything with *, and reads lists separated by commas and spaces", () => {
    expect(via("https://anything.example/", "*")).toBeUndefined();
    expect(via("https://b.example/", " a.example , b.example c.example")).toBeUndefined();
    expect(via("https://d.example/", "a.example,,b.example")).toBe("http://tls-proxy:3128");
  });
});
