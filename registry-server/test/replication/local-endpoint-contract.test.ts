// This registry in process (LocalEndpoint) against the shared endpoint contract, as the remote
// implementations run it: the same content seeded through the destination role and read back
// through the source role, the same failures.

import { replicationEndpointContract } from "../contracts/replication-endpoint-contract.ts";
import { openSite, siteDir } from "./replication-sites.ts";

replicationEndpointContract("local, this registry in process", async () => {
  const made = siteDir("contract");
  const site = await openSite(made.dir);
  return {
    endpoint: site.endpoint,
    namespace: "local-contract",
    deletesTagAlone: true,
    close: async () => {
      await site.close();
      made.remove();
    },
  };
});
