// GetRandomPassword (API_GetRandomPassword): PasswordLength 1–4096 (32 by default), from upper and
// lower case letters, digits and the punctuation !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~, less what the
// Exclude* options and ExcludeCharacters take out, plus the space with IncludeSpace. With
// RequireEachIncludedType (the default) every included type appears at least once. Every choice
// comes from crypto.randomInt (uniform, no modulo bias).
import { randomInt } from "node:crypto";
import type { GetRandomPasswordRequest } from "@aws-sdk/client-secrets-manager";
import { constraint, invalidParameter } from "./secrets-errors.js";

const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER = "abcdefghijklmnopqrstuvwxyz";
const DIGITS = "0123456789";
const PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

export function randomPassword(input: GetRandomPasswordRequest): string {
  const length = input.PasswordLength ?? 32;
  if (!Number.isInteger(length) || length < 1 || length > 4096) {
    throw constraint(
      "passwordLength",
      String(length),
      length < 1 ? "Member must have value greater than or equal to 1" : "Member must have value less than or equal to 4096",
    );
  }
  const excluded = new Set(input.ExcludeCharacters ?? "");
  if ((input.ExcludeCharacters ?? "").length > 4096) throw constraint("excludeCharacters", "…", "Member must have length less than or equal to 4096");
  const groups = [
    input.ExcludeUppercase ? "" : UPPER,
    input.ExcludeLowercase ? "" : LOWER,
    input.ExcludeNumbers ? "" : DIGITS,
    input.ExcludePunctuation ? "" : PUNCTUATION,
    input.IncludeSpace ? " " : "",
  ]
    .map((group) => [...group].filter((character) => !excluded.has(character)).join(""))
    .filter((group) => group.length > 0);
  const all = groups.join("");
  // wording not confirmed
  if (all.length === 0) throw invalidParameter("The password cannot be generated: every character type is excluded.");
  const requireEach = input.RequireEachIncludedType ?? true;
  // wording not confirmed
  if (requireEach && length < groups.length) throw invalidParameter(`The password length must be at least ${groups.length} to include each character type.`);
  const characters = Array.from({ length }, () => all[randomInt(all.length)] as string);
  if (requireEach) {
    // One position per type, chosen at random and distinct, gets a character of that type.
    const positions = [...Array(length).keys()];
    for (const group of groups) {
      const position = positions.splice(randomInt(positions.length), 1)[0] as number;
      characters[position] = group[randomInt(group.length)] as string;
    }
  }
  return characters.join("");
}
