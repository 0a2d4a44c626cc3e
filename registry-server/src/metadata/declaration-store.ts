// The declarations area of the metadata store: which Pulumi stack declared an object of the
// registry (a project, a robot, an endpoint…), so that the portal can say so and warn before a
// change by hand that the stack's next `pulumi refresh` would report as drift. Beyond Harbor
// (`/api/v2.0/declarations`, api/declaration-routes.ts); the Pulumi providers write them
// (components/registry/declaration.ts).
//
// One declaration per object: `(kind, key)` is unique and a put replaces what was there. The
// store does not know what a kind's key means; the routes check it (declared-object.ts). A
// declaration of an object inside a project carries the project's id and goes with the project.
//
// Every backend runs the shared contract suite in test/contracts/declaration-store-contract.ts.

import type { Listing, Window } from "./identity-store.ts";

export interface DeclarationRecord {
  /** What the object is (`project`, `robot`…: declared-object.ts's closed list). */
  readonly kind: string;
  /** Which one, in the kind's own words (a project's name, a robot's full name…). */
  readonly key: string;
  /** The project the object belongs to; absent for system objects. */
  readonly projectId?: number;
  /** `<organization>/<project>/<stack>`. */
  readonly stack: string;
  /** The declaring resource's URN. */
  readonly resource: string;
  readonly updatedAt: Date;
}

export type NewDeclaration = Omit<DeclarationRecord, "updatedAt">;

export interface DeclarationFilter {
  readonly kind?: string;
  readonly key?: string;
  /**
   * Only declarations of objects inside these projects (system objects are then left out); all
   * when absent.
   */
  readonly projectIds?: readonly number[];
}

export interface DeclarationMetadata {
  /**
   * Records the declaration of `(kind, key)`, replacing the one there was. Undefined, and nothing
   * written, when `projectId` names no project (it was deleted meanwhile).
   */
  put(declaration: NewDeclaration, at: Date): Promise<{ record: DeclarationRecord; created: boolean } | undefined>;
  get(kind: string, key: string): Promise<DeclarationRecord | undefined>;
  /** By kind, then key (byte order). */
  list(filter: DeclarationFilter, window: Window): Promise<Listing<DeclarationRecord>>;
  /** False when there was none. */
  delete(kind: string, key: string): Promise<boolean>;
}
