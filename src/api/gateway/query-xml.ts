// Encodes an operation's output object as the AWS query protocol's XML answer, driven by the SDK's
// schema of the output shape, so that the element names are those the SDKs parse
// (@aws-sdk/core XmlShapeDeserializer, botocore's QueryParser/EC2QueryParser):
//   ec2:   <OpResponse xmlns="…"><requestId>…</requestId>…members…</OpResponse>
//   query: <OpResponse xmlns="…"><OpResult>…members…</OpResult><ResponseMetadata><RequestId>…
//          </RequestId></ResponseMetadata></OpResponse>
// A member's element is its xmlName trait, else its name. A list is wrapped in the member's
// element with one element per item named by the list member's xmlName (EC2's `item`) or `member`;
// an xmlFlattened list repeats the member's element instead. Maps are `<entry><key/><value/></entry>`.
// Timestamps are ISO 8601 unless the schema says otherwise, booleans true/false, blobs base64.
import type { QueryFlavour } from "./query-errors.js";
import { isList, isMap, isStructure, listMember, mapKey, mapValue, resolveSchema, structureMembers } from "./query-schema.js";
import type { ResolvedSchema } from "./query-schema.js";

/** Deeper than any AWS output shape; only a cyclic answer (a bug of ours) reaches it. */
const MAX_DEPTH = 64;

// XML 1.0 cannot carry C0 controls other than tab, LF and CR, lone surrogates, U+FFFE or U+FFFF,
// not even as character references: they become U+FFFD. CR is written as a reference, which a
// parser keeps (a literal CR would be normalised to LF).
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const ESCAPES: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;", "\r": "&#xD;" };

/** Text made safe as XML character data or an attribute value. */
export function xmlText(text: string): string {
  return text.replace(NOT_XML, "\uFFFD").replace(/[&<>"'\r]/g, (character) => ESCAPES[character] as string);
}

/** The whole answer document of an operation. */
export function queryResponseXml(
  operation: string,
  outputSchema: unknown,
  output: unknown,
  options: { readonly flavour: QueryFlavour; readonly xmlNamespace: string; readonly requestId: string },
): string {
  const members = outputSchema === undefined ? "" : encodeMembers(resolveSchema(outputSchema).schema, output, 0);
  const requestId = xmlText(options.requestId);
  const open = `<?xml version="1.0" encoding="UTF-8"?>\n<${operation}Response xmlns="${xmlText(options.xmlNamespace)}">`;
  if (options.flavour === "ec2") return `${open}<requestId>${requestId}</requestId>${members}</${operation}Response>`;
  const result = members === "" ? `<${operation}Result/>` : `<${operation}Result>${members}</${operation}Result>`;
  return `${open}${result}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${operation}Response>`;
}

/** The elements of a structure's members; absent (undefined or null) members are left out. */
function encodeMembers(schema: unknown, value: unknown, depth: number): string {
  if (!isStructure(schema) || typeof value !== "object" || value === null) return "";
  if (depth > MAX_DEPTH) throw new Error("query-xml: output nesting is too deep (a cyclic answer?)");
  const { names, members } = structureMembers(schema);
  const record = value as Record<string, unknown>;
  let xml = "";
  names.forEach((name, index) => {
    const memberValue = record[name];
    if (memberValue === undefined || memberValue === null) return;
    const member = resolveSchema(members[index]);
    xml += encodeElement(member, typeof member.traits.xmlName === "string" ? member.traits.xmlName : name, memberValue, depth + 1);
  });
  return xml;
}

function encodeElement(resolved: ResolvedSchema, name: string, value: unknown, depth: number): string {
  const { schema, traits } = resolved;
  if (isStructure(schema)) return `<${name}>${encodeMembers(schema, value, depth)}</${name}>`;
  if (isList(schema)) {
    if (!Array.isArray(value)) return "";
    const item = resolveSchema(listMember(schema));
    const present = value.filter((entry) => entry !== undefined && entry !== null);
    if (traits.xmlFlattened !== undefined) return present.map((entry) => encodeElement(item, name, entry, depth + 1)).join("");
    const itemName = typeof item.traits.xmlName === "string" ? item.traits.xmlName : "member";
    const items = present.map((entry) => encodeElement(item, itemName, entry, depth + 1)).join("");
    return items === "" ? `<${name}/>` : `<${name}>${items}</${name}>`;
  }
  if (isMap(schema)) return encodeMap(schema, traits, name, value, depth);
  return `<${name}>${xmlText(simpleText(schema, value))}</${name}>`;
}

function encodeMap(schema: unknown, traits: Readonly<Record<string, unknown>>, name: string, value: unknown, depth: number): string {
  if (typeof value !== "object" || value === null) return "";
  const key = resolveSchema(mapKey(schema));
  const entryValue = resolveSchema(mapValue(schema));
  const keyName = typeof key.traits.xmlName === "string" ? key.traits.xmlName : "key";
  const valueName = typeof entryValue.traits.xmlName === "string" ? entryValue.traits.xmlName : "value";
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, item]) => item !== undefined && item !== null)
    .map(([entryKey, item]) => `<${keyName}>${xmlText(entryKey)}</${keyName}>${encodeElement(entryValue, valueName, item, depth + 1)}`);
  if (traits.xmlFlattened !== undefined) return entries.map((entry) => `<${name}>${entry}</${name}>`).join("");
  return `<${name}>${entries.map((entry) => `<entry>${entry}</entry>`).join("")}</${name}>`;
}

/** A simple value's text: timestamps in the schema's format (4 and 5 ISO 8601, 6 HTTP date, 7 epoch seconds). */
function simpleText(schema: unknown, value: unknown): string {
  if (value instanceof Date || (typeof schema === "number" && schema >= 4 && schema <= 7 && (typeof value === "number" || typeof value === "string"))) {
    const date = value instanceof Date ? value : new Date(value as number | string);
    if (Number.isNaN(date.getTime())) return String(value);
    if (schema === 6) return date.toUTCString();
    if (schema === 7) return String(date.getTime() / 1000);
    return date.toISOString();
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (typeof value === "object" && value !== null) return JSON.stringify(value);
  return String(value);
}
