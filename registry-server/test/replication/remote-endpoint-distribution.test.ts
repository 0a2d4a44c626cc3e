// The remote endpoint against CNCF Distribution 2.8 (Debian's docker-registry) with htpasswd
// basic auth: the shared contract, with Distribution's limits (no referrers API, so the referrers
// tag schema; no deleting a tag alone).

import { RemoteEndpoint } from "../../src/replication/remote-endpoint.ts";
import { createUpstreamConnections } from "../../src/upstream/upstream-factory.ts";
import { replicationEndpointContract } from "../contracts/replication-endpoint-contract.ts";
import { startDistribution } from "../upstream/distribution-server.ts";

const ALICE = { username: "alice", password: "alice-password" };

replicationEndpointContract("remote, CNCF Distribution 2.8 with basic auth", async () => {
  const distribution = await startDistribution({ users: { [ALICE.username]: ALICE.password } });
  const endpoint = new RemoteEndpoint(
    {
      id: 1,
      name: "distribution",
      type: "docker-registry",
      url: distribution.url,
      insecure: false,
      credential: { type: "basic", accessKey: ALICE.username, accessSecret: ALICE.password },
    },
    createUpstreamConnections({ timeoutMs: 10_000 }, { catalogPageSize: 2 }),
  );
  return {
    endpoint,
    namespace: "contract",
    deletesTagAlone: false,
    close: async () => {
      await endpoint.close();
      await distribution.stop();
    },
  };
});
