// Unique-id principals (what IAM leaves in a trust policy when the user or role it named is
// deleted) and rebindPrincipal, the text rewrite the store applies on delete and rename.
import { test } from "node:test";
import assert from "node:assert/strict";
import { compilePrincipal, PrincipalGrammarError, rebindPrincipal, UNIQUE_PRINCIPAL_ID } from "./principal.js";

const ALICE = "arn:aws:iam::123456789012:user/alice";
const ALICE_ID = "AIDAQ3EGUH5XKBMN7Y2ZA";
const ROLE_ID = "AROAQ3EGUH5XKBMN7Y2ZB";

test("a well-formed user or role unique id is a principal that matches no caller", () => {
  for (const id of [ALICE_ID, ROLE_ID]) {
    const principal = compilePrincipal({ AWS: id });
    assert.equal(principal.matches({ arn: ALICE }), "none");
    assert.equal(principal.matches({ arn: `arn:aws:sts::123456789012:assumed-role/x/${id}` }), "none");
    // Not even a caller who presents the id itself as its "ARN".
    assert.equal(principal.matches({ arn: id, account: "123456789012" }), "none");
  }
  // Beside other principals it takes nothing away from them.
  assert.equal(compilePrincipal({ AWS: [ALICE_ID, ALICE] }).matches({ arn: ALICE }), "specific");
});

test("ids that are not a user's or role's unique id are refused with IAM's message", () => {
  const malformed = [
    "AIDAQ3EGUH5XKBMN7Y2Z", // 16 characters after the prefix
    "AIDAQ3EGUH5XKBMN7Y2ZAB", // 18
    "aidaq3eguh5xkbmn7y2za", // lower case
    "ANPAQ3EGUH5XKBMN7Y2ZA", // a policy's id
    "AKIAQ3EGUH5XKBMN7Y2ZA", // an access key id
    "AIDAQ3EGUH5XKBMN7Y2Z*",
    "AIDAQ3EGUH5XKBMN7Y2Z-",
    ` ${ALICE_ID}`,
    `${ALICE_ID}\n`,
  ];
  for (const value of malformed) {
    assert.equal(UNIQUE_PRINCIPAL_ID.test(value), false, value);
    assert.throws(
      () => compilePrincipal({ AWS: value }),
      (error: unknown) => {
        assert.ok(error instanceof PrincipalGrammarError);
        assert.equal(error.message, `Invalid principal in policy: "AWS":"${value}"`);
        return true;
      },
    );
  }
  // Only as an "AWS" principal: a service or federated principal it is not.
  assert.throws(() => compilePrincipal({ Service: ALICE_ID }), PrincipalGrammarError);
});

test("a caller-written id is checked with the store: an id naming nothing is refused", () => {
  const known = new Set([ROLE_ID]);
  const asked: string[] = [];
  const exists = (value: string) => (asked.push(value), known.has(value));
  assert.equal(compilePrincipal({ AWS: ROLE_ID }, exists).matches({ arn: ALICE }), "none");
  assert.throws(() => compilePrincipal({ AWS: ALICE_ID }, exists), /^Error: Invalid principal in policy: "AWS":"AIDAQ3EGUH5XKBMN7Y2ZA"$/);
  assert.deepEqual(asked, [ROLE_ID, ALICE_ID]);
});

const trust = (principal: unknown, extra: object = {}) =>
  JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: principal, Action: "sts:AssumeRole", ...extra }] });

test("rebindPrincipal rewrites AWS principals only, in every form IAM accepts", () => {
  assert.equal(rebindPrincipal(trust({ AWS: ALICE }), ALICE, ALICE_ID), trust({ AWS: ALICE_ID }));
  assert.equal(rebindPrincipal(trust({ AWS: [ROLE_ID, ALICE, ALICE] }), ALICE, ALICE_ID), trust({ AWS: [ROLE_ID, ALICE_ID, ALICE_ID] }));
  const single = JSON.stringify({ Statement: { Effect: "Deny", NotPrincipal: { AWS: ALICE }, Action: "sts:AssumeRole" } });
  assert.equal(rebindPrincipal(single, ALICE, ALICE_ID), single.replace(ALICE, ALICE_ID));
  // The same ARN anywhere else is not a principal and stays: a condition value, a Sid-like value, a Service.
  const elsewhere = trust({ Service: "ecs-tasks.amazonaws.com" }, { Condition: { ArnEquals: { "aws:PrincipalArn": ALICE }, StringEquals: { AWS: ALICE } } });
  assert.equal(rebindPrincipal(elsewhere, ALICE, ALICE_ID), elsewhere);
  const notStatement = JSON.stringify({ Version: "2012-10-17", Id: ALICE, Other: { Principal: { AWS: ALICE } }, Statement: [] });
  assert.equal(rebindPrincipal(notStatement, ALICE, ALICE_ID), notStatement);
  // A nested array under Statement is not a statement.
  const nested = JSON.stringify({ Statement: [[{ Principal: { AWS: ALICE } }]] });
  assert.equal(rebindPrincipal(nested, ALICE, ALICE_ID), nested);
  // Exact values only: a longer ARN that starts with this one is another principal.
  const longer = trust({ AWS: [`${ALICE}2`, "arn:aws:iam::123456789012:user/Alice"] });
  assert.equal(rebindPrincipal(longer, ALICE, ALICE_ID), longer);
});

test("rebindPrincipal changes nothing but the principal: whitespace, escapes elsewhere, big numbers", () => {
  const text = `{\n  "Version" : "2012-10-17",\n  "Statement" : [ {\n    "Effect" : "Allow",\n    "Principal" : { "AWS" : [ "123456789012", "${ALICE}" ] },\n    "Action" : "sts:AssumeRole",\n    "Condition" : { "NumericLessThan" : { "aws:MultiFactorAuthAge" : 123456789012345678901234567890 } }\n  } ]\n}\n`;
  const rebound = rebindPrincipal(text, ALICE, ALICE_ID);
  assert.equal(rebound, text.replace(`"${ALICE}"`, `"${ALICE_ID}"`));
  assert.ok(rebound.includes("123456789012345678901234567890"));
  assert.equal(rebindPrincipal(text, "arn:aws:iam::123456789012:user/bob", ALICE_ID), text);
});

test("rebindPrincipal sees through JSON escapes, in the value and in the keys", () => {
  // A client that escapes "/" (PHP's json_encode does) or writes \u escapes names the same principal.
  const escaped = `{"Statement":[{"Effect":"Allow","Princip\\u0061l":{"\\u0041WS":"arn:aws:iam::123456789012:user\\/alice"},"Action":"sts:AssumeRole"}]}`;
  const rebound = rebindPrincipal(escaped, ALICE, ALICE_ID);
  assert.equal(rebound, `{"Statement":[{"Effect":"Allow","Princip\\u0061l":{"\\u0041WS":"${ALICE_ID}"},"Action":"sts:AssumeRole"}]}`);
  assert.deepEqual(JSON.parse(rebound), { Statement: [{ Effect: "Allow", Principal: { AWS: ALICE_ID }, Action: "sts:AssumeRole" }] });
  // Escaped quotes and backslashes in other strings do not throw the scanner off.
  const tricky = JSON.stringify({ Statement: [{ Sid: 'a"}],"Principal":{"AWS":"x\\', Principal: { AWS: [ALICE] }, Action: "sts:AssumeRole" }] });
  assert.deepEqual(JSON.parse(rebindPrincipal(tricky, ALICE, ALICE_ID)).Statement[0].Principal, { AWS: [ALICE_ID] });
  assert.equal(JSON.parse(rebindPrincipal(tricky, ALICE, ALICE_ID)).Statement[0].Sid, 'a"}],"Principal":{"AWS":"x\\');
});

test("rebindPrincipal refuses text that is not JSON rather than guessing", () => {
  for (const text of ["", "{", `{"Statement":[{"Principal":{"AWS":"${ALICE}"}}]`, "not json"]) {
    assert.throws(() => rebindPrincipal(text, ALICE, ALICE_ID), SyntaxError);
  }
});
