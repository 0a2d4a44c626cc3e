// Where the portal's sources are and where the set-up builds them: beside the server's own
// sources, so a checkout, the image and the npm package all find the build the same way.

import * as path from "node:path";
import { fileURLToPath } from "node:url";

export const PORTAL_SOURCE_DIR = fileURLToPath(new URL("../../portal/", import.meta.url));
export const DEFAULT_PORTAL_DIR = path.join(PORTAL_SOURCE_DIR, "dist");
