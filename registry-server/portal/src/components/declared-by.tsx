// Beyond Harbor: objects a Pulumi stack declared carry the stack's name and the resource's URN
// (/api/v2.0/declarations). The portal shows them, and asks before a change that the stack's
// next `pulumi refresh` would report as drift and its next `pulumi up` would undo.

import type { ComponentChildren } from "preact";
import { useCallback, useState } from "preact/hooks";
import { get } from "../api.ts";
import { useResource } from "../hooks/use-resource.ts";
import { common } from "../i18n/common.ts";
import { useT } from "../i18n/i18n.tsx";
import { ConfirmDialog } from "./dialog.tsx";

/** The kinds of object a stack declares (the server's closed list, src/api/declared-object.ts). */
export type DeclaredKind =
  | "project"
  | "member"
  | "robot"
  | "retention"
  | "immutable_rule"
  | "webhook_policy"
  | "preheat"
  | "registry"
  | "replication_policy"
  | "scanner"
  | "user"
  | "schedule"
  | "cve_allowlist";

export interface Declaration {
  readonly kind: DeclaredKind;
  readonly key: string;
  readonly stack: string;
  readonly resource: string;
  readonly update_time: string;
}

/** How long a lookup is reused: the banner, the list's mark and a guard share one request. */
const LOOKUP_FRESH_MS = 5_000;
const lookups = new Map<string, { readonly at: number; readonly found: Promise<Declaration | undefined> }>();

/**
 * The declaration of one object, undefined when no stack declared it (or the server keeps none:
 * an older registry answers 404, a kind it does not know 400).
 */
export function lookupDeclaration(kind: DeclaredKind, key: string): Promise<Declaration | undefined> {
  const id = `${kind}\n${key}`;
  const cached = lookups.get(id);
  if (cached && Date.now() - cached.at < LOOKUP_FRESH_MS) return cached.found;
  const found = get<Declaration[] | null>("/declarations", { kind, key }).then(
    (declarations) => declarations?.[0],
    () => undefined,
  );
  lookups.set(id, { at: Date.now(), found });
  return found;
}

/** The declaration of one object, for its banner. */
export function useDeclaration(kind: DeclaredKind, key: string | undefined) {
  return useResource(async () => (key === undefined ? undefined : lookupDeclaration(kind, key)), [kind, key]);
}

/** The declarations of a list's objects at once, by key (one request per page, not per row). */
export function useDeclarations(kind: DeclaredKind, deps: readonly unknown[]) {
  return useResource(
    async (signal) => {
      const found = await get<Declaration[] | null>("/declarations", { kind, page_size: 100 }, signal).catch(
        () => null,
      );
      return new Map((found ?? []).map((declaration) => [declaration.key, declaration]));
    },
    [kind, ...deps],
  );
}

export function DeclaredBanner({ declaration }: { declaration: Declaration | undefined }) {
  const t = useT(common);
  if (!declaration) return null;
  return (
    <aside class="notice notice-declared" aria-label={t("declaredBy", { stack: declaration.stack })}>
      <p>
        <strong>{t("declaredBy", { stack: declaration.stack })}</strong>
      </p>
      <p>
        {t("declaredResource", { resource: "" })}
        <code>{declaration.resource}</code>
      </p>
      <p>{t("declaredWarning", { stack: declaration.stack })}</p>
    </aside>
  );
}

/** A small mark for list rows: which stack declared the row's object. */
export function DeclaredMark({ declaration }: { declaration: Declaration | undefined }) {
  const t = useT(common);
  if (!declaration) return null;
  return (
    <span class="badge badge-declared" title={declaration.resource}>
      {t("declaredBy", { stack: declaration.stack })}
    </span>
  );
}

/**
 * Guards changes to one object: `guard(change)` asks the server whether a stack declared the
 * object at the moment of the change (not from what a page loaded earlier, which may still be on
 * its way), runs the change at once when none did, else after the user confirms a warning naming
 * the stack and the resource. No `key` (nothing chosen yet) guards nothing.
 */
export function useDeclaredGuard(
  kind: DeclaredKind,
  key: string | undefined,
): {
  guard: (change: () => void) => void;
  dialog: ComponentChildren;
} {
  const t = useT(common);
  const [pending, setPending] = useState<{ readonly change: () => void; readonly declaration: Declaration }>();
  const guard = useCallback(
    (change: () => void) => {
      if (key === undefined) {
        change();
        return;
      }
      void lookupDeclaration(kind, key).then((declaration) =>
        declaration ? setPending({ change, declaration }) : change(),
      );
    },
    [kind, key],
  );
  const declaration = pending?.declaration;
  const dialog = declaration ? (
    <ConfirmDialog
      open
      title={t("declaredChangeTitle")}
      confirmLabel={t("declaredChangeConfirm")}
      danger
      onCancel={() => setPending(undefined)}
      onConfirm={() => {
        setPending(undefined);
        pending?.change();
      }}
    >
      <p>{t("declaredBy", { stack: declaration.stack })}</p>
      <p>
        <code>{declaration.resource}</code>
      </p>
      <p>{t("declaredWarning", { stack: declaration.stack })}</p>
    </ConfirmDialog>
  ) : null;
  return { guard, dialog };
}
