// The small-image workload of the small-images-*.cpuprofile.gz files: one registry process
// (`workers: 1`, filesystem and SQLite, basic authentication as admin) run under `node --cpu-prof`,
// and the benchmark's client pushing two rounds of 500 small images (a config blob, one layer of
// 1–4.5 KiB, an OCI manifest by tag), 8 at a time. Prints each round's rate and the server's CPU
// per image, per thread.
//
//   node bench/profiles/profile-small-images.ts OUTPUT_DIR
//   node bench/profiles/flame-graph.ts OUTPUT_DIR/CPU.*.cpuprofile small-images.svg --top 30

import { makeSmallImage, pushSmallImage } from "../lib/oci.ts";
import { pool } from "../lib/phase.ts";
import { startProfiledServer, threadSeconds } from "./profiled-server.ts";

const IMAGES = 500;
const CONCURRENCY = 8;
const ROUND_LIMIT_MS = 120_000;

const profiled = await startProfiledServer("profile-small-images.ts");
const server = profiled.server;

try {
  for (let round = 0; round < 2; round++) {
    const images = Array.from({ length: IMAGES }, (_, index) =>
      makeSmallImage(round * IMAGES + index, `profile/round-${round}`, 1024 + (index % 8) * 512),
    );
    const before = threadSeconds(server.roots);
    const outcome = await pool(images, CONCURRENCY, ROUND_LIMIT_MS, (image) => pushSmallImage(server.target, image));
    if (outcome.failed > 0) throw new Error(`${outcome.failed} images failed: ${outcome.firstError}`);
    const perImage = [...threadSeconds(server.roots)]
      .map(([name, total]) => [name, ((total - (before.get(name) ?? 0)) / outcome.done) * 1000] as const)
      .filter(([, ms]) => ms >= 0.01)
      .sort((a, b) => b[1] - a[1]);
    console.log(
      `round ${round + 1}: ${(outcome.done / outcome.seconds).toFixed(0)} images/s; server CPU per image: ` +
        perImage.map(([name, ms]) => `${name} ${ms.toFixed(2)} ms`).join(", "),
    );
  }
} finally {
  await profiled.stop();
}
