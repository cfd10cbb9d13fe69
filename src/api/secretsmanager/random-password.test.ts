import { test } from "node:test";
import assert from "node:assert/strict";
import { randomPassword } from "./random-password.js";

test("32 characters by default, with a letter of each case, a digit and punctuation", () => {
  for (let round = 0; round < 50; round += 1) {
    const password = randomPassword({});
    assert.equal(password.length, 32);
    assert.match(password, /[A-Z]/);
    assert.match(password, /[a-z]/);
    assert.match(password, /[0-9]/);
    assert.match(password, /[^A-Za-z0-9]/);
    assert.doesNotMatch(password, / /);
  }
});

test("exclusions and IncludeSpace are honoured", () => {
  const password = randomPassword({ PasswordLength: 200, ExcludePunctuation: true, ExcludeUppercase: true, ExcludeCharacters: "abc0", IncludeSpace: true });
  assert.equal(password.length, 200);
  assert.match(password, /^[d-z1-9 ]+$/);
  assert.match(password, / /);
});

test("every type required fits: a 4-character password has one of each", () => {
  for (let round = 0; round < 50; round += 1) {
    const password = randomPassword({ PasswordLength: 4 });
    assert.match(password, /[A-Z]/);
    assert.match(password, /[a-z]/);
    assert.match(password, /[0-9]/);
  }
});

test("refuses a length out of 1..4096, everything excluded, or too short for each type", () => {
  assert.throws(() => randomPassword({ PasswordLength: 0 }), { name: "ValidationException" });
  assert.throws(() => randomPassword({ PasswordLength: 4097 }), { name: "ValidationException" });
  assert.throws(() => randomPassword({ ExcludeUppercase: true, ExcludeLowercase: true, ExcludeNumbers: true, ExcludePunctuation: true }), {
    name: "InvalidParameterException",
  });
  assert.throws(() => randomPassword({ PasswordLength: 3 }), { name: "InvalidParameterException" });
  assert.equal(randomPassword({ PasswordLength: 3, RequireEachIncludedType: false }).length, 3);
});

test("characters are spread over the whole alphabet", () => {
  const seen = new Set(randomPassword({ PasswordLength: 4096 }));
  assert.ok(seen.size > 80, `${seen.size} distinct characters`);
});
