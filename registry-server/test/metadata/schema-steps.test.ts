// The released schema steps of both stores, pinned by their text's SHA-256. A step already applied
// to someone's database must never change: PostgreSQL refuses to open a database whose recorded
// checksum differs, and SQLite would silently leave old files with another schema than new ones.
// Moving or reformatting the code around a step must keep its text byte for byte; a new step is
// appended here with its own checksum.

import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MIGRATIONS as POSTGRES_STEPS } from "../../src/metadata/postgres/schema.ts";
import { MIGRATIONS as SQLITE_STEPS } from "../../src/metadata/sqlite/schema.ts";

const RELEASED = {
  sqlite: [
    "8e4dceed78f0d3000d65301214a2dcc6ecea75795bc13a1755648740dabb6b39",
    "9e8e3d4eff9216aa61aa283f613d3706e6e24583fe8ff909bca36a4e31eef660",
    "bba32ab0cc86ede20b0a29c94d3bc5c192cf419aa0fe5319cbb398ee34ab82d8",
    "5441c90acf5fd1ed660fb53995b0fef4e36602293f90a417e05f8206dfbe626d",
    "81a8b2ae6af83fba442ca26f824d986efe2d338c5350d27b6c700f137da57b5c",
    "e6644899615da9e19546f23fd931df697cb0d91f9b50dc8432f6f694d547e940",
    "8c82e071dc7021275cd372fa93091920dbe92762863d2db8d63377f2dd8182d0",
    // SCANNERS_STEP
    "35fd4dff9c607c337731df739212fdc8b0ac3cd51f37c09b8ff01a067ba11a0a",
    // SCANS_STEP
    "f9007d150763e780af08a836a605c33798d6cea7414ea32214e0b574c64d846a",
    // WEBHOOKS_STEP
    "07edd00d464bc7f9dc01eb14366d56a5f8bc75b9f7cc8fe951b963d5b45c1702",
    // REPLICATION_STEP
    "95f10e3977a625a45a31ab80871ae3c20090380182566a67b6aad2bc0ceeea42",
    // SESSIONS_STEP
    "922059b882a405fec0da1ee2b7526af7386427b37068baea07e0d378b42572df",
    // DECLARATIONS_STEP
    "cafa0ea92859b2c39293b9928a5352f585b5045706f5547e0d6547268089512c",
    // PROXY_CACHE_STATS_STEP
    "8669c4efec1a9683cfcffce1f7bf7819af2a89ec9acb63b80a3fbf4a75fa9f84",
  ],
  postgres: [
    "be35d069c9073a24a4aa9c348b29d330f6c1c82b7e2e8a61ed3302d61bb830b4",
    "ba04cbf2fe2155fb508c5f48e5a968b43180dbc6441df6c2b368df7bc61bf293",
    "dc9acd265d4c9cf64e2d3df0d02765a740a1a710597cf07f9c9f966bd1d422c9",
    "2144f1baddfb077ed4d6a76cd310671d4895ba2fa83143bb1437971e7ec6590c",
    "d05b2d7cd98fa5ed3d3e2e75ebd68edd418ec58ef7f8db244a3110faba252878",
    // SCANNERS_STEP
    "1d6ddde0f468fc2d22b2906ef0a82fa114f92f88313b4be60eab196ee946c2a5",
    // SCANS_STEP
    "99ff30d10a67196951cfd1f5145c5a48914a875410400de3dc7f8505423e47a5",
    // WEBHOOKS_STEP
    "182f2a724a00df0fe14dd7350998fcab6ad269689dce085b6bcdd71f8ff8d1f5",
    // REPLICATION_STEP
    "a14afde4f491b541c00f83683a5dde18693c22128aabaeb894d4f5c99e7c9752",
    // SESSIONS_STEP
    "b65266c12e88c14fbcd772c961a9c5183830036e438435c2c79e6f7a787cc021",
    // DECLARATIONS_STEP
    "39363f7bcf7a18ddb158f706d90099e60f3b30cc6c8f7d9e7912d761fc6d2a11",
    // PROXY_CACHE_STATS_STEP
    "91fd1d27db879d0f5e9d225d53f5c2b13aa44280fb571975eddbc6d5805f9bd0",
  ],
};

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

describe("released schema steps", () => {
  it.each([
    ["sqlite", SQLITE_STEPS, RELEASED.sqlite],
    ["postgres", POSTGRES_STEPS, RELEASED.postgres],
  ] as const)("%s: every released step keeps its exact text", (_, steps, released) => {
    expect(steps.length).toBeGreaterThanOrEqual(released.length);
    expect(steps.slice(0, released.length).map(sha256)).toEqual(released);
  });
});
