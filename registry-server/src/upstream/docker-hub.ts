// Docker Hub's rules: the v2 API lives at registry-1.docker.io (Harbor and users name the hub
// itself, https://hub.docker.com, as the endpoint's URL), and official images are one-component
// names that the API spells `library/<name>`.

export const DOCKER_HUB_REGISTRY_URL = "https://registry-1.docker.io";
/** Names users give Docker Hub that all mean its v2 API. */
const HUB_HOSTS = new Set([
  "hub.docker.com",
  "docker.io",
  "index.docker.io",
  "registry-1.docker.io",
  "registry.hub.docker.com",
]);

/** The v2 base URL for a Docker Hub endpoint; any other URL (a mirror, a test) is kept. */
export function dockerHubBaseUrl(url: string): string {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return url;
  }
  return HUB_HOSTS.has(host) ? DOCKER_HUB_REGISTRY_URL : url;
}

/** "nginx" → "library/nginx"; names with a namespace stay as they are. */
export function dockerHubRepository(repository: string): string {
  return repository.includes("/") ? repository : `library/${repository}`;
}
