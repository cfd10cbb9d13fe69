// ARN matching for the Resource/NotResource elements and the Arn* condition operators (IAM User
// Guide, "Condition operators", Amazon Resource Name: "Each of the six colon-delimited components
// of the ARN is checked separately and each can include multi-character match wildcards (*) or
// single-character match wildcards (?)"). ARNs are case-sensitive. The sixth component (the
// resource) may itself hold colons. `*` alone matches every resource.

import { compileGlob, MATCH_ALL, type Glob, type PatternPart } from "./wildcard.js";

export const ARN_COMPONENTS = 6;

export interface ArnPattern {
  /** Whether `arn` matches. */
  matches(arn: string): boolean;
}

const ANY_ARN: ArnPattern = { matches: () => true };

/** Splits pattern parts at the first five colons of wildcard text (a variable's colon is a character). */
function splitComponents(parts: readonly PatternPart[]): PatternPart[][] | undefined {
  const components: PatternPart[][] = [[]];
  for (const part of parts) {
    let rest = part.text;
    while (!part.literal && components.length < ARN_COMPONENTS) {
      const colon = rest.indexOf(":");
      if (colon < 0) break;
      (components[components.length - 1] as PatternPart[]).push({ text: rest.slice(0, colon), literal: false });
      components.push([]);
      rest = rest.slice(colon + 1);
    }
    (components[components.length - 1] as PatternPart[]).push({ text: rest, literal: part.literal });
  }
  return components.length === ARN_COMPONENTS ? components : undefined;
}

// Where the five separators of the ARN being matched are; reused (matching never re-enters).
const colons = new Int32Array(ARN_COMPONENTS + 1);
// The resource (5) and service (1) components differ most between policies: checked first.
const CHECK_ORDER = [5, 1, 3, 2, 0, 4] as const;

class ComponentArnPattern implements ArnPattern {
  private readonly checks: { readonly component: number; readonly glob: Glob }[];

  constructor(globs: readonly Glob[]) {
    this.checks = CHECK_ORDER.filter((component) => globs[component] !== MATCH_ALL).map((component) => ({ component, glob: globs[component] as Glob }));
  }

  matches(arn: string): boolean {
    colons[0] = -1;
    for (let index = 1; index < ARN_COMPONENTS; index++) {
      const colon = arn.indexOf(":", (colons[index - 1] as number) + 1);
      if (colon < 0) return false;
      colons[index] = colon;
    }
    colons[ARN_COMPONENTS] = arn.length;
    for (const { component, glob } of this.checks) {
      if (!glob.matches(arn, (colons[component] as number) + 1, colons[component + 1] as number)) return false;
    }
    return true;
  }
}

/** Compiles pattern parts into an ARN matcher. */
export function compileArnPattern(parts: readonly PatternPart[]): ArnPattern {
  if (parts.length === 1 && !parts[0]?.literal && parts[0]?.text === "*") return ANY_ARN;
  const components = splitComponents(parts);
  if (components === undefined) {
    // Not six components: no ARN has that shape, so only the very same text matches.
    const text = parts.map((part) => part.text).join("");
    return { matches: (arn) => arn === text };
  }
  return new ComponentArnPattern(components.map((component) => compileGlob(component)));
}

/** Whether a policy's Resource value is an ARN (six components, starting "arn:") or "*". */
export function isArnOrStar(value: string): boolean {
  if (value === "*") return true;
  if (!value.startsWith("arn:")) return false;
  let colons = 0;
  for (let index = 0; index < value.length && colons < ARN_COMPONENTS - 1; index++) if (value.charCodeAt(index) === 58) colons++;
  return colons === ARN_COMPONENTS - 1;
}

/** The components of a concrete ARN (partition, service, region, account, resource), or undefined. */
export function parseArn(arn: string): { partition: string; service: string; region: string; account: string; resource: string } | undefined {
  if (!arn.startsWith("arn:")) return undefined;
  const pieces: string[] = [];
  let start = 4;
  for (let index = 0; index < 4; index++) {
    const colon = arn.indexOf(":", start);
    if (colon < 0) return undefined;
    pieces.push(arn.slice(start, colon));
    start = colon + 1;
  }
  const [partition, service, region, account] = pieces as [string, string, string, string];
  return { partition, service, region, account, resource: arn.slice(start) };
}
