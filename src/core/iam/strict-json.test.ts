import { test } from "node:test";
import assert from "node:assert/strict";
import { parseStrictJson, StrictJsonError } from "./strict-json.js";

test("reads what JSON.parse reads", () => {
  const text = '{"a":[1,-2.5e3,true,false,null,"x\\u0041\\n"],"b":{},"c":[]}';
  assert.deepEqual(JSON.parse(JSON.stringify(parseStrictJson(text))), JSON.parse(text));
  assert.equal(parseStrictJson(' "s" '), "s");
});

test("rejects duplicate keys, which JSON.parse would silently resolve to the last", () => {
  assert.throws(() => parseStrictJson('{"Effect":"Deny","Effect":"Allow"}'), StrictJsonError);
  assert.throws(() => parseStrictJson('{"a":{"b":1,"b":1}}'), /duplicate key "b"/);
});

test("rejects nesting deeper than the limit without recursing further", () => {
  assert.throws(() => parseStrictJson(`${"[".repeat(100_000)}${"]".repeat(100_000)}`, 16), /nesting too deep/);
  assert.deepEqual(parseStrictJson("[[[]]]", 3), [[[]]]);
});

test("rejects malformed JSON", () => {
  for (const text of ["", "{", '{"a":1,}', "[1,]", "{'a':1}", '{"a":01}', '"\u0001"', "tru", '{"a":1} x', '"\\x"', "NaN"]) {
    assert.throws(() => parseStrictJson(text), StrictJsonError, text);
  }
});

test("a __proto__ key is an ordinary key", () => {
  const value = parseStrictJson('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(value), null);
  assert.deepEqual(Object.keys(value), ["__proto__"]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
