// A certificate's tags (AddTagsToCertificate, RemoveTagsFromCertificate, ImportCertificate's Tags):
// keys of 1–128 characters and values of 0–256 in AWS's tag alphabet, no "aws:" prefix (reserved
// for AWS), at most 50 on a certificate. Adding a key that exists replaces its value; removing
// takes a key (any value) or a key and its value (only when the value matches), as ACM does.
import type { CertificateTag } from "../../store/index.js";
import { invalidTag, tooManyTags } from "./acm-errors.js";

const MAX_TAGS = 50;
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

export function validTags(tags: readonly { Key?: string | undefined; Value?: string | undefined }[]): CertificateTag[] {
  if (tags.length > MAX_TAGS) throw tooManyTags();
  return tags.map((tag) => {
    const key = tag.Key ?? "";
    if (key.length < 1 || key.length > 128 || !TAG_TEXT.test(key)) throw invalidTag(`The tag key '${key.slice(0, 128)}' is not valid.`); // wording not confirmed
    if (key.toLowerCase().startsWith("aws:")) throw invalidTag("Tags beginning with aws: are reserved for AWS use."); // wording not confirmed
    const value = tag.Value;
    if (value !== undefined && (value.length > 256 || !TAG_TEXT.test(value))) throw invalidTag(`The tag value for key '${key}' is not valid.`); // wording not confirmed
    return value === undefined ? { Key: key } : { Key: key, Value: value };
  });
}

export function mergeTags(existing: readonly CertificateTag[], added: readonly CertificateTag[]): CertificateTag[] {
  const byKey = new Map(existing.map((tag) => [tag.Key, tag]));
  for (const tag of added) byKey.set(tag.Key, tag);
  if (byKey.size > MAX_TAGS) throw tooManyTags();
  return [...byKey.values()];
}

export function removeTags(
  existing: readonly CertificateTag[],
  removed: readonly { Key?: string | undefined; Value?: string | undefined }[],
): CertificateTag[] {
  return existing.filter((tag) => !removed.some((gone) => gone.Key === tag.Key && (gone.Value === undefined || gone.Value === (tag.Value ?? ""))));
}
