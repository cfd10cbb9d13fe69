// Amazon Resource Names in AWS's format, built from the configured partition, region and account.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html

export interface AccountScope {
  readonly partition: string; // "aws"
  readonly region: string; // "us-east-1"
  readonly accountId: string; // 12 digits
}

export interface ParsedArn extends AccountScope {
  readonly service: string;
  /** Everything after the fifth colon, e.g. "task-definition/family:3". */
  readonly resource: string;
}

export function buildArn(scope: AccountScope, service: string, resource: string, region = scope.region): string {
  return `arn:${scope.partition}:${service}:${region}:${scope.accountId}:${resource}`;
}

/** Parses an ARN; returns undefined when the text is not one. */
export function parseArn(text: string): ParsedArn | undefined {
  if (!text.startsWith("arn:")) return undefined;
  const parts = text.split(":");
  if (parts.length < 6) return undefined;
  const [, partition, service, region, accountId] = parts as [string, string, string, string, string];
  if (!partition || !service) return undefined;
  return { partition, service, region, accountId, resource: parts.slice(5).join(":") };
}

export const isArn = (text: string): boolean => parseArn(text) !== undefined;
