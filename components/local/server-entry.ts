// Which file LocalRegistry runs as the registry server. From this checkout, the components run as
// TypeScript and so does the server: registry-server/src/main.ts, its types stripped by Node.js.
// From the installed npm package, the components run as compiled JavaScript, and so must the
// server: Node.js refuses to strip types under node_modules, and the package ships the server
// compiled to registry-server/dist/ (tsconfig.build.json) without its sources.

import { existsSync } from "node:fs";
import * as path from "node:path";

/** The package's root: the nearest directory up from `from` that holds registry-server/package.json. */
export function packageRoot(from: string): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "registry-server", "package.json"))) {
      return dir;
    }
    if (path.dirname(dir) === dir) {
      throw new Error(`the registry server is not in this package: no registry-server/ above ${from}`);
    }
  }
}

/** The server's entry point for components loaded from `moduleFile` (their own __filename). */
export function serverEntryPoint(moduleFile: string): string {
  const serverDir = path.join(packageRoot(path.dirname(moduleFile)), "registry-server");
  return moduleFile.endsWith(".ts") ? path.join(serverDir, "src", "main.ts") : path.join(serverDir, "dist", "main.js");
}
