// ARN matching for the Resource/NotResource elements and the Arn* condition operators (IAM User
// Guide, "Condition operators", Amazon Resource Name: "Each of the six colon-delimited components
// of the ARN is checked separately and each can include multi-character match wildcards (*) or
// single-character match wildcards (?)"). ARNs are case-sensitive. The sixth component (the
// resource) may itself hold colons. `*` alone matches every resource.

import { compileGlob, type Glob, type PatternPart } from "./wildcard.js";

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

class ComponentArnPattern implements ArnPattern {
  constructor(private readonly globs: readonly Glob[]) {}

  matches(arn: string): boolean {
    let start = 0;
    for (let index = 0; index < ARN_COMPONENTS - 1; index++) {
      const colon = arn.indexOf(":", start);
      if (colon < 0 || !(this.globs[index] as Glob).matches(arn, start, colon)) return false;
      start = colon + 1;
    }
    return (this.globs[ARN_COMPONENTS - 1] as Glob).matches(arn, start, arn.length);
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
