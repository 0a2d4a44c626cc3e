// Harbor's rule for a project's name (lowercase letters and digits, single `.`, `_` or `-`
// between them, at most 255 characters), defined once for the Pulumi side: the stack
// configuration's schema (config/) and the registry providers (registry/) import it. Robot
// short names follow the same rule (the server checks them with the same pattern), and so do
// the stack's upstream endpoint names, which name proxy-cache projects' upstreams and firewall
// rules. The server keeps its own copies (registry-server/src/api/project-routes.ts, robot-routes.ts,
// config.ts); test/unit/project-name.test.ts holds them to this one.
//
// No imports: the dynamic providers are serialised into the stack state with this module
// (components/README.md, "Rules for the dynamic providers").

export const PROJECT_NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/** Harbor's limit on a project name's length. */
export const PROJECT_NAME_MAX_LENGTH = 255;

/** The rule in words, for messages: "expected <rule>, got …". */
export const PROJECT_NAME_RULE = "lowercase letters and digits with . _ - between them";

/** Whether `name` is a project name: the pattern and the length. */
export function isProjectName(name: unknown): name is string {
  return typeof name === "string" && name.length <= PROJECT_NAME_MAX_LENGTH && PROJECT_NAME.test(name);
}
