// How a body from the other half of the fleet is checked against one of the protocol's schemas.
// The schemas are TypeBox (JSON Schema) types compiled once into a check function: bench/RESULTS.md
// "Issue 10 — protocol schema library" measured that as cheap as the hand-written checks it replaced
// on the report path, where valibot and zod cost several times more. A failed check names the first
// problem in words the caller can act on ("reports[3].sequence must be a whole number"), never a
// JSON Schema dump, and never echoes the caller's values back.
//
// Finding that first problem must cost no more than the check: TypeBox's Errors() lists every
// error of the value it is given, so on an 8 MiB body of four million wrong items it would hold
// gigabytes and stall the event loop for seconds. A failed body is therefore narrowed first, along
// the schema's objects and arrays, to the smallest part that fails (a list over its maxItems is
// answered without looking at its items), and only that part is handed to Errors().
import type { Static, TSchema } from "typebox";
import { Compile } from "typebox/compile";

type Validator = ReturnType<typeof Compile>;
const validators = new WeakMap<TSchema, Validator>();

/** Sub-schemas are compiled on the first failure that reaches them, once. */
function validatorOf(schema: TSchema): Validator {
  let validator = validators.get(schema);
  if (!validator) {
    validator = Compile(schema);
    validators.set(schema, validator);
  }
  return validator;
}

interface SchemaShape {
  readonly type?: unknown;
  readonly properties?: Record<string, TSchema>;
  readonly items?: TSchema;
  readonly maxItems?: number;
}

/** The first problem of a value that failed `schema`, found without listing every error. */
function firstProblem(schema: TSchema, value: unknown, path: string): SchemaError | undefined {
  const shape = schema as SchemaShape;
  if (shape.type === "array" && Array.isArray(value)) {
    if (shape.maxItems !== undefined && value.length > shape.maxItems) {
      return { keyword: "maxItems", instancePath: path, params: { limit: shape.maxItems }, message: "" };
    }
    if (shape.items) {
      const item = validatorOf(shape.items);
      const failing = value.findIndex((element) => !item.Check(element));
      if (failing >= 0) return firstProblem(shape.items, value[failing], `${path}/${failing}`);
    }
  } else if (shape.type === "object" && shape.properties && typeof value === "object" && value !== null && !Array.isArray(value)) {
    for (const [name, property] of Object.entries(shape.properties)) {
      if (!Object.hasOwn(value, name)) continue;
      const member = (value as Record<string, unknown>)[name];
      if (!validatorOf(property).Check(member)) return firstProblem(property, member, `${path}/${name}`);
    }
  }
  // The smallest failing part: its own errors are few (its lists are within their maxItems).
  const [first] = validatorOf(schema).Errors(value) as SchemaError[];
  return first ? { ...first, instancePath: path + first.instancePath } : undefined;
}

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

export interface BodyCheck<Schema extends TSchema> {
  /** The value, typed, when it matches the schema; else the first problem, in words. */
  parse(value: unknown): Checked<Static<Schema>>;
}

export function compileCheck<Schema extends TSchema>(schema: Schema): BodyCheck<Schema> {
  const validator = validatorOf(schema);
  return {
    parse(value) {
      if (validator.Check(value)) return { ok: true, value: value as Static<Schema> };
      const first = firstProblem(schema, value, "");
      return { ok: false, problem: first ? describeProblem(first) : "The body does not match the protocol." };
    },
  };
}

interface SchemaError {
  readonly keyword: string;
  readonly instancePath: string;
  readonly params: Record<string, unknown>;
  readonly message: string;
}

const typeWords: Record<string, string> = {
  string: "a string",
  number: "a number",
  integer: "a whole number",
  boolean: "a boolean",
  object: "an object",
  array: "a list",
};

/** "/reports/3/containers/0/name" → "reports[3].containers[0].name". */
function fieldPath(instancePath: string): string {
  return instancePath
    .split("/")
    .slice(1)
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), "");
}

function describeProblem(error: SchemaError): string {
  const where = fieldPath(error.instancePath);
  const subject = where || "The body";
  const { params } = error;
  switch (error.keyword) {
    case "required": {
      const missing = (params.requiredProperties as readonly string[] | undefined) ?? [];
      return `${missing.map((name) => (where ? `${where}.${name}` : name)).join(", ")} must be given.`;
    }
    case "type":
      return `${subject} must be ${typeWords[String(params.type)] ?? String(params.type)}.`;
    case "enum":
      return `${subject} must be one of ${((params.allowedValues as readonly unknown[] | undefined) ?? []).join(", ")}.`;
    case "const":
      return `${subject} must be ${String(params.allowedValue)}.`;
    case "minimum":
      return `${subject} must be at least ${String(params.limit)}.`;
    case "maximum":
      return `${subject} must be at most ${String(params.limit)}.`;
    case "maxItems":
      return `${subject} has more than ${String(params.limit)} items; at most ${String(params.limit)}.`;
    case "~refine":
      return where ? `${where}: ${error.message}` : error.message;
    default:
      return `${subject} ${error.message}.`;
  }
}
