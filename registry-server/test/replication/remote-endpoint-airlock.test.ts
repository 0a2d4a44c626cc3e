// The remote endpoint against a second instance of this registry over HTTP, with Docker token
// authentication: the shared contract twice, as a `harbor` endpoint (projects and repositories
// through /api/v2.0, tags deleted through the API, the project created before the first push)
// and as a plain `docker-registry` one (`_catalog`, `DELETE /v2/<name>/manifests/<tag>`).

import { RemoteEndpoint } from "../../src/replication/remote-endpoint.ts";
import { createUpstreamConnections } from "../../src/upstream/upstream-factory.ts";
import type { UpstreamType } from "../../src/upstream/upstream-registry.ts";
import { replicationEndpointContract } from "../contracts/replication-endpoint-contract.ts";
import { ADMIN, startTestRegistry } from "../helpers.ts";

function againstAirlock(type: UpstreamType, namespace: string) {
  return async () => {
    const registry = await startTestRegistry();
    const endpoint = new RemoteEndpoint(
      {
        id: 1,
        name: `airlock as ${type}`,
        type,
        url: registry.url,
        insecure: false,
        credential: { type: "basic", accessKey: ADMIN.username, accessSecret: ADMIN.password },
      },
      createUpstreamConnections({ timeoutMs: 10_000 }, { catalogPageSize: 2, tagsPageSize: 1 }),
    );
    return {
      endpoint,
      namespace,
      deletesTagAlone: true,
      close: async () => {
        await endpoint.close();
        await registry.stop();
      },
    };
  };
}

replicationEndpointContract("remote, this registry as a Harbor", againstAirlock("harbor", "harbor-contract"));
replicationEndpointContract(
  "remote, this registry as a plain v2 registry",
  againstAirlock("docker-registry", "v2-contract"),
);
