// Decodes an AWS query protocol request (`Action=DescribeVpcs&Version=2016-11-15&Filter.1.Name=…`)
// into the operation's input object, driven by the SDK's own schema of the input shape (the
// encoding is described in schema-validation.ts). The two flavours name things differently, as the
// SDK's own serializer (@aws-sdk/core QueryShapeSerializer) writes them:
//   ec2   — a member's key is its ec2QueryName trait, else its xmlName or name capitalised; every
//           list is flattened: `Filter.1.Value.2`.
//   query — a member's key is its xmlName, else its name; lists are `Name.member.N` (the list
//           member's xmlName instead of `member` when it has one) unless xmlFlattened (`Name.N`),
//           an empty list is `Name=`; maps are `Name.entry.N.key` / `.value` (`Name.N.key` flattened).
// (https://smithy.io/2.0/aws/protocols/aws-query-protocol.html, …/aws-ec2-query-protocol.html)
//
// Everything here comes from an unauthenticated-until-proven, then untrusted caller: the number of
// parameters, the length and depth of keys and the list indices are bounded, and every refusal is
// the flavour's client error, never an exception of ours.
import type { AwsError } from "../../core/errors.js";
import type { QueryFlavour } from "./query-errors.js";
import { badQueryValue, malformedQuery, missingQueryParameter } from "./query-errors.js";
import type { ResolvedSchema, Traits } from "./query-schema.js";
import { isList, isMap, isStructure, listMember, mapKey, mapValue, memberKey, resolveSchema, structureMembers } from "./query-schema.js";
import { unwrap } from "./schema-validation.js";

/** The parameters of one request, as a tree of their dot-separated key segments. */
export interface ParameterNode {
  value?: string;
  children?: Map<string, ParameterNode>;
}

export interface QueryParameters {
  readonly action: string | undefined;
  readonly version: string | undefined;
  readonly root: ParameterNode;
}

/** Far above any real request (EC2's largest take a few hundred), far below what would cost. */
export const MAX_PARAMETERS = 5_000;
const MAX_KEY_LENGTH = 512;
const MAX_KEY_SEGMENTS = 24;
/** `Name.N`: N from 1 to 999,999,999; the index orders the items, gaps are allowed. */
const LIST_INDEX = /^[1-9][0-9]{0,8}$/;

/** Splits form-encoded text (a POST body or a GET query) into the parameter tree. */
export function parseQueryParameters(text: string, flavour: QueryFlavour): QueryParameters {
  // Counted before parsing, so a body of a million `&` is refused without building anything.
  let separators = 0;
  for (let index = text.indexOf("&"); index >= 0; index = text.indexOf("&", index + 1)) {
    if (++separators >= MAX_PARAMETERS) throw malformedQuery(flavour, `The request has more than ${MAX_PARAMETERS} parameters.`);
  }
  const root: ParameterNode = {};
  let action: string | undefined;
  let version: string | undefined;
  for (const [key, value] of new URLSearchParams(text)) {
    if (key === "Action") action = value;
    else if (key === "Version") version = value;
    else addParameter(root, key, value, flavour);
  }
  return { action, version, root };
}

function addParameter(root: ParameterNode, key: string, value: string, flavour: QueryFlavour): void {
  if (key.length > MAX_KEY_LENGTH) throw malformedQuery(flavour, `The parameter name ${key.slice(0, 64)}… is too long.`);
  const segments = key.split(".");
  if (segments.length > MAX_KEY_SEGMENTS) throw malformedQuery(flavour, `The parameter ${key} is nested too deeply.`);
  if (segments.some((segment) => segment === "")) throw malformedQuery(flavour, `The parameter name ${key} is malformed.`);
  let node = root;
  for (const segment of segments) {
    node.children ??= new Map();
    let child = node.children.get(segment);
    if (!child) node.children.set(segment, (child = {}));
    node = child;
  }
  if (node.value !== undefined) throw malformedQuery(flavour, `The parameter ${key} is given more than once.`);
  node.value = value;
}

/** Where the decoder is: the wire key so far (for messages) and the depth. */
interface Position {
  readonly key: string;
  readonly flavour: QueryFlavour;
  readonly depth: number;
}

const MAX_DEPTH = MAX_KEY_SEGMENTS + 8;
const descend = (at: Position, key: string): Position => ({ key: at.key ? `${at.key}.${key}` : key, flavour: at.flavour, depth: at.depth + 1 });

/** Decodes the parameters into the input structure `schema` describes. */
export function decodeQueryInput(schema: unknown, root: ParameterNode, flavour: QueryFlavour): Record<string, unknown> {
  return decodeStructure(unwrap(schema) as unknown[], root, { key: "", flavour, depth: 0 });
}

function decodeStructure(schema: readonly unknown[], node: ParameterNode, at: Position): Record<string, unknown> {
  const { names, members, required } = structureMembers(schema);
  const result: Record<string, unknown> = {};
  names.forEach((name, index) => {
    const member = resolveSchema(members[index]);
    const key = memberKey(name, member.traits, at.flavour);
    const child = node.children?.get(key);
    if (child === undefined) {
      if (index < required) throw missingQueryParameter(at.flavour, descend(at, key).key, name);
      return;
    }
    result[name] = decodeValue(member, child, descend(at, key));
  });
  return result;
}

function decodeValue(resolved: ResolvedSchema, node: ParameterNode, at: Position): unknown {
  if (at.depth > MAX_DEPTH) throw malformedQuery(at.flavour, `The parameter ${at.key} is nested too deeply.`);
  const { schema, traits } = resolved;
  if (isStructure(schema)) return decodeStructure(schema, node, at);
  if (isList(schema)) return decodeList(schema, traits, node, at);
  if (isMap(schema)) return decodeMap(schema, traits, node, at);
  if (node.value === undefined) throw badQueryValue(at.flavour, `The parameter ${at.key} must have a value, not members.`);
  return decodeSimple(schema, node.value, at);
}

/** The numbered children of a node, in index order; any other child is malformed. */
function numbered(node: ParameterNode | undefined, at: Position): [number, ParameterNode][] {
  const items: [number, ParameterNode][] = [];
  for (const [segment, child] of node?.children ?? []) {
    if (!LIST_INDEX.test(segment)) throw malformedQuery(at.flavour, `The parameter ${at.key}.${segment} is not a numbered member of ${at.key}.`);
    items.push([Number(segment), child]);
  }
  return items.sort((left, right) => left[0] - right[0]);
}

function decodeList(schema: unknown, traits: Traits, node: ParameterNode, at: Position): unknown[] {
  const item = resolveSchema(listMember(schema));
  const flat = at.flavour === "ec2" || traits.xmlFlattened !== undefined;
  const itemKey = typeof item.traits.xmlName === "string" ? item.traits.xmlName : "member";
  if (!flat && node.children !== undefined && !(node.children.size === 1 && node.children.has(itemKey))) {
    throw malformedQuery(at.flavour, `The members of ${at.key} must be given as ${at.key}.${itemKey}.N.`);
  }
  // `Name=` alone is how the query flavour sends an empty list.
  const source = flat ? node : node.children?.get(itemKey);
  const base = flat ? at : descend(at, itemKey);
  return numbered(source, base).map(([index, child]) => decodeValue(item, child, descend(base, String(index))));
}

function decodeMap(schema: unknown, traits: Traits, node: ParameterNode, at: Position): Record<string, unknown> {
  const key = resolveSchema(mapKey(schema));
  const value = resolveSchema(mapValue(schema));
  const keyName = typeof key.traits.xmlName === "string" ? key.traits.xmlName : "key";
  const valueName = typeof value.traits.xmlName === "string" ? value.traits.xmlName : "value";
  const flat = traits.xmlFlattened !== undefined;
  if (!flat && node.children !== undefined && !(node.children.size === 1 && node.children.has("entry"))) {
    throw malformedQuery(at.flavour, `The entries of ${at.key} must be given as ${at.key}.entry.N.${keyName}.`);
  }
  const base = flat ? at : descend(at, "entry");
  const entries: [string, unknown][] = [];
  for (const [index, entry] of numbered(flat ? node : node.children?.get("entry"), base)) {
    const entryAt = descend(base, String(index));
    const keyNode = entry.children?.get(keyName);
    const valueNode = entry.children?.get(valueName);
    if (keyNode?.value === undefined) throw missingQueryParameter(at.flavour, `${entryAt.key}.${keyName}`, keyName);
    if (valueNode === undefined) throw missingQueryParameter(at.flavour, `${entryAt.key}.${valueName}`, valueName);
    entries.push([keyNode.value, decodeValue(value, valueNode, descend(entryAt, valueName))]);
  }
  // fromEntries defines own properties: a key "__proto__" is data, never the prototype.
  return Object.fromEntries(entries);
}

const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;
const INTEGER = /^[-+]?\d+$/;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeSimple(schema: unknown, text: string, at: Position): unknown {
  const invalid = (expected: string): AwsError =>
    badQueryValue(at.flavour, `Value (${text.slice(0, 256)}) for parameter ${at.key} is invalid. Expected: '${expected}'.`);
  switch (schema) {
    case 1: {
      const number = Number(text);
      if (!NUMBER.test(text) || !Number.isFinite(number)) throw invalid("number");
      return number;
    }
    case 2: {
      const lower = text.toLowerCase();
      if (lower !== "true" && lower !== "false") throw invalid("boolean");
      return lower === "true";
    }
    case 4:
    case 5:
    case 6:
    case 7:
      return decodeTimestamp(text, invalid);
    case 17:
      if (!INTEGER.test(text) || text.length > 4096) throw invalid("integer");
      return BigInt(text);
    case 21:
      if (!BASE64.test(text)) throw invalid("base64");
      return new Uint8Array(Buffer.from(text, "base64"));
    default:
      return text; // strings and enums, big decimals (kept exact as text), documents
  }
}

/** ISO 8601 (what the SDKs send), an HTTP date, or epoch seconds. */
function decodeTimestamp(text: string, invalid: (expected: string) => AwsError): Date {
  let time: number;
  if (NUMBER.test(text)) time = Number(text) * 1000;
  else if (ISO_8601.test(text) || /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(text)) time = Date.parse(text);
  else time = NaN;
  // Date's own range: ±100,000,000 days around 1970.
  if (!Number.isFinite(time) || Math.abs(time) > 8.64e15) throw invalid("timestamp");
  return new Date(time);
}
