// The administrator's Basic-auth calls to the portal's registry (over its self-signed TLS), for
// the operations pages' browser tests to set up and check what the pages show.

import { request as playwrightRequest, type APIRequestContext } from "playwright-core";
import { ADMIN } from "../helpers.ts";

export async function adminApi(
  url: string,
  user: { username: string; password: string } = ADMIN,
): Promise<APIRequestContext> {
  return playwrightRequest.newContext({
    baseURL: url,
    ignoreHTTPSErrors: true,
    extraHTTPHeaders: { Authorization: `Basic ${Buffer.from(`${user.username}:${user.password}`).toString("base64")}` },
  });
}

/** The id at the end of a 201's Location header. */
export function locationId(headers: Record<string, string>): number {
  return Number((headers["location"] ?? "").split("/").pop());
}
