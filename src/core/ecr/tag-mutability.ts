// ECR's image tag mutability (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutImageTagMutability.html):
// MUTABLE and IMMUTABLE apply to every tag; IMMUTABLE_WITH_EXCLUSION and MUTABLE_WITH_EXCLUSION
// apply to every tag but those matching one of the repository's exclusion filters, which get the
// opposite rule. A filter is a WILDCARD pattern over [0-9a-zA-Z._*-]{1,128} (ECR's model), "*"
// standing for any run of characters; at most five filters (ImageTagMutabilityExclusionFilters).
//
// Matching uses no regular expressions: a pattern is split at its stars, its first piece must
// start the tag, its last end it, and the pieces between are found left to right (the leftmost
// occurrence is always the best for a star-only pattern), so a match costs at most
// tag length × pattern length steps (128 × 128) whatever the pattern.
import type { ImageTagMutability, ImageTagMutabilityExclusionFilter } from "@aws-sdk/client-ecr";

export const TAG_MUTABILITIES: readonly ImageTagMutability[] = ["MUTABLE", "IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION"];
export const MAX_EXCLUSION_FILTERS = 5;
export const EXCLUSION_FILTER_PATTERN = /^[0-9a-zA-Z._*-]{1,128}$/;

/** Whether `tag` matches the wildcard `pattern` ("*" any run of characters, everything else itself). */
export function matchesWildcard(pattern: string, tag: string): boolean {
  const pieces = pattern.split("*");
  if (pieces.length === 1) return pattern === tag;
  const first = pieces[0]!;
  const last = pieces[pieces.length - 1]!;
  if (first.length + last.length > tag.length || !tag.startsWith(first) || !tag.endsWith(last)) return false;
  let at = first.length;
  const end = tag.length - last.length;
  for (const piece of pieces.slice(1, -1)) {
    if (piece === "") continue;
    const found = tag.indexOf(piece, at);
    if (found === -1 || found + piece.length > end) return false;
    at = found + piece.length;
  }
  return true;
}

/** Whether pushing `tag` over an existing tag of another image is refused in a repository with these settings. */
export function isTagImmutable(mutability: ImageTagMutability, filters: readonly ImageTagMutabilityExclusionFilter[], tag: string): boolean {
  const excluded = () => filters.some((filter) => matchesWildcard(filter.filter ?? "", tag));
  switch (mutability) {
    case "IMMUTABLE":
      return true;
    case "IMMUTABLE_WITH_EXCLUSION":
      return !excluded();
    case "MUTABLE_WITH_EXCLUSION":
      return excluded();
    default:
      return false;
  }
}
