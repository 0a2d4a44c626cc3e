// Where a replicated repository lands: Harbor's destination naming (replaceNamespace in
// src/controller/replication/flow/stage.go), with the policy's `dest_namespace` and
// `dest_namespace_replace_count`. For a source repository a/b/c/image and namespace n:
//
//   replace count -1 (legacy)  n/image        the namespace replaces every component but the last
//   replace count 0            n/a/b/c/image  the namespace is prefixed
//   replace count 1            n/b/c/image    it replaces the first component
//   replace count 3            n/image
//   replace count 4            an error: there are only three components before the name
//
// An empty namespace keeps the source's name. The result is joined and cleaned as Go's path.Join
// does, then checked against what the destination registry accepts (Docker Hub: exactly two
// components; this registry: at least two, a project and a name).

/** How many path components a destination registry takes (Harbor's RepositoryPathComponentType). */
export type PathComponents = "only-two" | "at-least-two";

/** A policy's namespace settings that cannot name a destination for this repository. */
export class DestinationNameError extends Error {
  override name = "DestinationNameError";
}

export function destinationRepository(
  repository: string,
  namespace: string,
  replaceCount: number,
  pathComponents?: PathComponents,
): string {
  if (namespace.length === 0) return repository;
  const source = repository.split("/");
  const name = source[source.length - 1] ?? "";
  const parents = source.slice(0, -1);
  let prefix: string;
  if (replaceCount < 0) {
    prefix = namespace;
  } else if (replaceCount > parents.length) {
    throw new DestinationNameError(
      `the source repository ${JSON.stringify(repository)} contains only ${parents.length} path components ` +
        `[${parents.join(" ")}] excepting the last one, but the destination namespace flattening level is ${replaceCount}`,
    );
  } else {
    prefix = `${namespace}/${parents.slice(replaceCount).join("/")}`;
  }
  const destination = cleanPath(`${prefix}/${name}`);
  const count = destination.split("/").length;
  if (pathComponents === "only-two" && count !== 2) {
    throw new DestinationNameError(
      `the destination repository ${JSON.stringify(destination)} contains ${count} path components, ` +
        "but the destination registry only supports 2",
    );
  }
  if (pathComponents === "at-least-two" && count < 2) {
    throw new DestinationNameError(
      `the destination repository ${JSON.stringify(destination)} contains only ${count} path components, ` +
        "but the destination registry requires at least 2",
    );
  }
  return destination;
}

/** Go's path.Clean for a relative path: empty and "." components dropped, ".." undoing one. */
function cleanPath(text: string): string {
  const kept: string[] = [];
  for (const part of text.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === ".." && kept.length > 0 && kept[kept.length - 1] !== "..") kept.pop();
    else kept.push(part);
  }
  return kept.length === 0 ? "." : kept.join("/");
}
