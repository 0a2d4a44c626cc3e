// `airlock:users` and `airlock:projects`: what the registry holds, declared (users, projects,
// members, robot accounts, and each project's retention policy, immutable tag rules and webhook
// policies).

import { z } from "zod";
import { immutableTagRuleSchema, retentionSchema } from "./lifecycle";
import { SECURITY_METADATA_KEYS } from "../registry/project-security";
import { projectName, robotName } from "./schema-parts";
import { projectSecurityShape, refineProjectSecurity } from "./security";
import { webhookSchema } from "./webhook";

export const harborPassword = z
  .string()
  .refine(
    (p) => p.length >= 8 && p.length <= 128 && /[A-Z]/.test(p) && /[a-z]/.test(p) && /\d/.test(p),
    "expected 8 to 128 characters with an upper case letter, a lower case letter and a digit",
  );

export const userSchema = z.strictObject({
  username: z.string().regex(/^[^,"~#$%:\s]{1,255}$/, 'expected a user name without spaces or , " ~ # $ % :'),
  /** Set with `pulumi config set --secret --path 'airlock:users[0].password' …`. */
  password: harborPassword,
  /** Bump to set the password again after someone changed it by hand. */
  passwordVersion: z.number().int().min(1).default(1),
  email: z.union([z.literal(""), z.email()]).default(""),
  realname: z.string().max(255).default(""),
});

export const memberSchema = z.strictObject({
  username: z.string().min(1),
  role: z.enum(["projectAdmin", "maintainer", "developer", "guest", "limitedGuest"]),
});

export const robotSchema = z.strictObject({
  /** Short name: the robot logs in as robot$<project>+<name>. */
  name: robotName,
  actions: z.array(z.enum(["pull", "push", "delete"])).min(1),
  description: z.string().max(1024).default(""),
  /** Lifetime in days; -1 never expires. */
  duration: z.number().int().min(-1).default(-1),
  /** Bump to rotate the robot's secret. */
  secretVersion: z.number().int().min(1).default(1),
});

export const projectSchema = z
  .strictObject({
    name: projectName,
    public: z.boolean().default(false),
    /** Storage quota in bytes; -1 for none. */
    storageLimit: z.number().int().min(-1).default(-1),
    /** Other Harbor project metadata, values as strings ("true"); the security keys have inputs of their own. */
    metadata: z
      .record(z.string(), z.string())
      .default({})
      .superRefine((metadata, ctx) => {
        for (const key of Object.keys(metadata)) {
          const input = SECURITY_METADATA_KEYS[key];
          if (input !== undefined) ctx.addIssue({ code: "custom", path: [key], message: `set it with ${input}` });
        }
      }),
    ...projectSecurityShape,
    members: z.array(memberSchema).default([]),
    robots: z.array(robotSchema).default([]),
    /** The project's tag retention policy; left out, the project has none (nothing is removed). */
    retention: retentionSchema.optional(),
    /** Tags that cannot be pushed again, retagged or deleted. */
    immutableTags: z
      .array(immutableTagRuleSchema)
      .default([])
      .superRefine((rules, ctx) => {
        const seen = new Map<string, number>();
        rules.forEach((rule, index) => {
          // Harbor refuses two rules alike (409); the disabled flag does not tell them apart.
          const key = JSON.stringify([rule.repositories ?? { matches: "**" }, rule.tags]);
          const earlier = seen.get(key);
          if (earlier !== undefined) {
            ctx.addIssue({ code: "custom", path: [index], message: `the same rule as immutableTags[${earlier}]` });
          }
          seen.set(key, index);
        });
      }),
    /** Harbor's events posted to outside systems (auth headers as secrets). */
    webhooks: z
      .array(webhookSchema)
      .default([])
      .superRefine((webhooks, ctx) => {
        const seen = new Map<string, number>();
        webhooks.forEach((webhook, index) => {
          const earlier = seen.get(webhook.name);
          if (earlier !== undefined) {
            ctx.addIssue({ code: "custom", path: [index, "name"], message: `also the name of webhooks[${earlier}]` });
          }
          seen.set(webhook.name, index);
        });
      }),
  })
  .superRefine((project, ctx) => refineProjectSecurity(project, ctx));
