// The SDK's Smithy schemas (encoding described in schema-validation.ts) as the query protocol reads
// them: members resolved with their traits merged as @smithy/core's NormalizedSchema merges them
// (the target's own traits, then the member's), and the names members go by on the wire.
import type { QueryFlavour } from "./query-errors.js";
import { unwrap } from "./schema-validation.js";

/** A schema's traits: an object of named traits, or a bit set of the common ones (ignored here). */
export type Traits = Readonly<Record<string, unknown>>;

export interface ResolvedSchema {
  /** The schema itself: a number (simple type) or a static schema array. */
  readonly schema: unknown;
  /** The traits of the member that referenced it merged over the target's own, as the SDK merges them. */
  readonly traits: Traits;
}

const traitsOf = (indicator: unknown): Traits => (typeof indicator === "object" && indicator !== null ? (indicator as Traits) : {});

/**
 * Resolves a member reference (`[target, memberTraits]`, a lazy function, or the schema) to its
 * schema and merged traits. Simple schemas with traits (`[0, ns, name, traits, type]`) resolve to
 * their type.
 */
export function resolveSchema(reference: unknown): ResolvedSchema {
  let memberTraits: Traits = {};
  let current = reference;
  if (typeof current === "function") current = (current as () => unknown)();
  if (Array.isArray(current) && current.length === 2) {
    memberTraits = traitsOf(current[1]);
    current = current[0];
  }
  let schema = unwrap(current);
  let ownTraits: Traits = {};
  if (Array.isArray(schema) && schema.length >= 5) {
    ownTraits = traitsOf(schema[3]);
    if (schema[0] === 0) schema = unwrap(schema[4]);
  }
  return { schema, traits: { ...ownTraits, ...memberTraits } };
}

/** A structure's members in order, each with its resolved schema; `required` counts the leading required ones. */
export function structureMembers(schema: readonly unknown[]): { names: readonly string[]; members: readonly unknown[]; required: number } {
  return { names: schema[4] as string[], members: schema[5] as unknown[], required: typeof schema[6] === "number" ? schema[6] : 0 };
}

export const isStructure = (schema: unknown): schema is unknown[] => Array.isArray(schema) && (schema[0] === 3 || schema[0] === -3 || schema[0] === 4);
export const isList = (schema: unknown) => (typeof schema === "number" ? (schema & 192) === 64 : Array.isArray(schema) && schema[0] === 1);
export const isMap = (schema: unknown) => (typeof schema === "number" ? (schema & 192) === 128 : Array.isArray(schema) && schema[0] === 2);

/** The list's item schema and the map's key and value schemas, as member references. */
export const listMember = (schema: unknown): unknown => (typeof schema === "number" ? schema & 63 : (schema as unknown[])[4]);
export const mapKey = (schema: unknown): unknown => (typeof schema === "number" ? 0 : (schema as unknown[])[4]);
export const mapValue = (schema: unknown): unknown => (typeof schema === "number" ? schema & 63 : (schema as unknown[])[5]);

const capitalise = (name: string) => name.charAt(0).toUpperCase() + name.slice(1);

/** The key a structure member goes by in this flavour's requests. */
export function memberKey(name: string, traits: Traits, flavour: QueryFlavour): string {
  const xmlName = typeof traits.xmlName === "string" ? traits.xmlName : undefined;
  if (flavour === "ec2") return typeof traits.ec2QueryName === "string" ? traits.ec2QueryName : capitalise(xmlName ?? name);
  return xmlName ?? name;
}
