// Checks a decoded JSON request against the operation's input shape as the AWS SDK package itself
// describes it (the `<Operation>$` / `<Shape>$` schemas each @aws-sdk/client-* exports): member
// types and required members. Unknown members are ignored, as AWS's JSON services do.
//
// Schema encoding (smithy-typescript): a number is a simple type (0 string, 1 number, 2 boolean,
// 4–7 timestamp, 15 document, 21 blob, …; `64 | t` a list of t, `128 | t` a map of t); arrays are
// [1, ns, name, traits, member] (list), [2, ns, name, traits, key, value] (map),
// [3, ns, name, traits, memberNames, memberSchemas, requiredCount?] (structure),
// [9, ns, name, traits, input, output] (operation); functions and [schema, traits] pairs wrap them.
import { serializationException } from "../../core/errors.js";
import { AwsError } from "../../core/errors.js";
import type { JsonServiceModule } from "../service-module.js";

type Schema = unknown;
const MAX_DEPTH = 64;

/** Follows the SDK schema's lazy references (functions) and [schema, traits] pairs to the schema itself. */
export function unwrap(schema: Schema): Schema {
  let current = schema;
  for (;;) {
    if (typeof current === "function") current = (current as () => Schema)();
    else if (Array.isArray(current) && current.length === 2) current = current[0];
    else return current;
  }
}

/** The input structure schema of an operation, or undefined when the module has none for it. */
export function inputSchemaOf(schemas: Readonly<Record<string, unknown>>, operation: string): Schema | undefined {
  const operationSchema = schemas[`${operation}$`];
  if (!Array.isArray(operationSchema) || operationSchema[0] !== 9) return undefined;
  const input = unwrap(operationSchema[4]);
  // Only a structure checks anything: check() passes whatever it does not recognise.
  return Array.isArray(input) && input[0] === 3 ? input : undefined;
}

/**
 * The input schema of every operation a module implements, resolved once. A module whose SDK has
 * no input schema for one of its operations is refused: its inputs would go unchecked to handlers
 * typed as if they had been checked (service-module.ts). This is a programming or packaging error
 * (a misspelt operation, an SDK upgrade that renamed a shape), the same on every start, so the
 * server refuses to start rather than answer that operation unvalidated or with a 500 at run time.
 */
export function operationInputSchemas(service: JsonServiceModule): ReadonlyMap<string, Schema> {
  const schemas = new Map<string, Schema>();
  const missing: string[] = [];
  for (const operation of Object.keys(service.operations)) {
    const schema = inputSchemaOf(service.schemas, operation);
    if (schema === undefined) missing.push(operation);
    else schemas.set(operation, schema);
  }
  if (missing.length > 0)
    throw new Error(`${service.targetPrefix}: no input schema for ${missing.join(", ")} in the module's schemas; its inputs could not be validated`);
  return schemas;
}

export function validateInput(schema: Schema, input: unknown, missingCode: string): void {
  check(unwrap(schema), input, "", 0, missingCode);
}

/** Lists and maps of the ECS-era models are not sparse: a null member is malformed input. */
function notNull(value: unknown, path: string): void {
  if (value === null) throw serializationException(`Value at '${path}' must not be null.`);
}

function typeError(path: string, expected: string): AwsError {
  return serializationException(`Value at '${path || "input"}' is not ${expected}.`);
}

function check(schema: Schema, value: unknown, path: string, depth: number, missingCode: string): void {
  if (depth > MAX_DEPTH) throw serializationException("Request nesting is too deep.");
  if (value === null || value === undefined) return;
  if (typeof schema === "number") return checkSimple(schema, value, path, depth, missingCode);
  if (!Array.isArray(schema)) return;
  const kind = schema[0] as number;
  if (kind === 1) {
    if (!Array.isArray(value)) throw typeError(path, "a list");
    const member = unwrap(schema[4]);
    value.forEach((item, index) => {
      notNull(item, `${path}.${index + 1}.member`);
      check(member, item, `${path}.${index + 1}.member`, depth + 1, missingCode);
    });
  } else if (kind === 2) {
    if (typeof value !== "object" || Array.isArray(value)) throw typeError(path, "a map");
    const member = unwrap(schema[5]);
    for (const [key, item] of Object.entries(value)) {
      notNull(item, `${path}.${key}`);
      check(member, item, `${path}.${key}`, depth + 1, missingCode);
    }
  } else if (kind === 3) {
    if (typeof value !== "object" || Array.isArray(value)) throw typeError(path, "a structure");
    const names = schema[4] as string[];
    const members = schema[5] as Schema[];
    const required = typeof schema[6] === "number" ? (schema[6] as number) : 0;
    const record = value as Record<string, unknown>;
    names.forEach((name, index) => {
      const memberPath = path ? `${path}.${name}` : name;
      const memberValue = record[name];
      if (index < required && (memberValue === undefined || memberValue === null)) {
        throw new AwsError(missingCode, `1 validation error detected: Value null at '${memberPath}' failed to satisfy constraint: Member must not be null`);
      }
      check(unwrap(members[index]), memberValue, memberPath, depth + 1, missingCode);
    });
  }
}

function checkSimple(code: number, value: unknown, path: string, depth: number, missingCode: string): void {
  if (code & 64) {
    if (!Array.isArray(value)) throw typeError(path, "a list");
    value.forEach((item, index) => {
      notNull(item, `${path}.${index + 1}.member`);
      checkSimple(code & 63, item, `${path}.${index + 1}.member`, depth + 1, missingCode);
    });
    return;
  }
  if (code & 128) {
    if (typeof value !== "object" || Array.isArray(value)) throw typeError(path, "a map");
    for (const [key, item] of Object.entries(value as object)) {
      notNull(item, `${path}.${key}`);
      checkSimple(code & 63, item, `${path}.${key}`, depth + 1, missingCode);
    }
    return;
  }
  switch (code) {
    case 0:
      if (typeof value !== "string") throw typeError(path, "a string");
      return;
    case 1:
    case 17:
    case 19:
      if (typeof value !== "number" || !Number.isFinite(value)) throw typeError(path, "a number");
      return;
    case 2:
      if (typeof value !== "boolean") throw typeError(path, "a boolean");
      return;
    case 4:
    case 5:
    case 6:
    case 7:
      if (typeof value !== "number" && typeof value !== "string") throw typeError(path, "a timestamp");
      return;
    case 21:
      if (typeof value !== "string") throw typeError(path, "base64 data");
      return;
    default:
      return; // documents and anything newer: accepted as sent
  }
}
