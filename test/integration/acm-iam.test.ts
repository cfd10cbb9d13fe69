// ACM under IAM policies, as an attacker with a least-privilege key tries it: tag conditions decide
// on the tags the handler stores (not on a `tags` member ACM ignores, nor on the first 64 of many),
// and aws:ResourceTag conditions read a certificate's own tags.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ACMClient,
  AddTagsToCertificateCommand,
  DeleteCertificateCommand,
  DescribeCertificateCommand,
  ImportCertificateCommand,
  ListTagsForCertificateCommand,
  RemoveTagsFromCertificateCommand,
} from "@aws-sdk/client-acm";
import { IAMClient } from "@aws-sdk/client-iam";
import type { TestServer } from "../support/server.js";
import { sdkConfig, startTestServer } from "../support/server.js";
import type { Credentials } from "../support/iam-users.js";
import { policyJson, userWithKey } from "../support/iam-users.js";

let server: TestServer;
let acm: ACMClient;
let iam: IAMClient;
let dir: string;

function selfSigned(name: string) {
  const certificate = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3", "-subj", `/CN=${name}.example.com`, "-keyout", key, "-out", certificate],
    {
      stdio: "ignore",
    },
  );
  return { Certificate: readFileSync(certificate), PrivateKey: readFileSync(key) };
}

/** An ACM client of `credentials` whose JSON body `edit` changes before it is signed: what a hand-made request can send. */
function tampering(credentials: Credentials, edit: (body: Record<string, unknown>) => void): ACMClient {
  const client = new ACMClient({ ...sdkConfig(server), credentials });
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { body?: unknown };
      if (typeof request.body === "string") {
        const body = JSON.parse(request.body) as Record<string, unknown>;
        edit(body);
        request.body = JSON.stringify(body);
      }
      return next(args);
    },
    { step: "build", priority: "high", name: "tamper" },
  );
  return client;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "berth-acm-iam-"));
  server = await startTestServer();
  acm = new ACMClient(sdkConfig(server));
  iam = new IAMClient(sdkConfig(server));
});
after(async () => {
  acm.destroy();
  iam.destroy();
  await server.stop();
  await server.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test("tag conditions decide on ACM's own Tags member: a `tags` member beside it changes nothing", async () => {
  const keys = await userWithKey(
    iam,
    "tagger",
    policyJson(
      {
        Effect: "Allow",
        Action: "acm:ImportCertificate",
        Resource: "*",
        Condition: { StringEquals: { "aws:RequestTag/team": "blue" }, "ForAllValues:StringEquals": { "aws:TagKeys": ["team"] } },
      },
      { Effect: "Allow", Action: "acm:AddTagsToCertificate", Resource: "*" },
      { Effect: "Deny", Action: "acm:AddTagsToCertificate", Resource: "*", Condition: { "ForAnyValue:StringEquals": { "aws:TagKeys": ["owner"] } } },
    ),
  );
  const made = selfSigned("spoof");
  const redTags = [
    { Key: "team", Value: "red" },
    { Key: "owner", Value: "mallory" },
  ];
  const spoofing = tampering(keys, (body) => (body.tags = [{ key: "team", value: "blue" }]));
  await assert.rejects(spoofing.send(new ImportCertificateCommand({ ...made, Tags: redTags })), { name: "AccessDeniedException" });
  const allowed = await spoofing.send(new ImportCertificateCommand({ ...made, Tags: [{ Key: "team", Value: "blue" }] }));
  const emptyMap = tampering(keys, (body) => (body.tags = {}));
  await assert.rejects(emptyMap.send(new AddTagsToCertificateCommand({ CertificateArn: allowed.CertificateArn, Tags: [{ Key: "owner", Value: "x" }] })), {
    name: "AccessDeniedException",
  });
  assert.deepEqual((await acm.send(new ListTagsForCertificateCommand({ CertificateArn: allowed.CertificateArn }))).Tags, [{ Key: "team", Value: "blue" }]);
  spoofing.destroy();
  emptyMap.destroy();
});

test("every tag of a request counts: the protected key is seen after 64 others", async () => {
  const made = selfSigned("many");
  const { CertificateArn } = await acm.send(new ImportCertificateCommand({ ...made, Tags: [{ Key: "protected", Value: "true" }] }));
  const keys = await userWithKey(
    iam,
    "untagger",
    policyJson(
      { Effect: "Allow", Action: "acm:RemoveTagsFromCertificate", Resource: "*" },
      { Effect: "Deny", Action: "acm:RemoveTagsFromCertificate", Resource: "*", Condition: { "ForAnyValue:StringEquals": { "aws:TagKeys": ["protected"] } } },
    ),
  );
  const user = new ACMClient({ ...sdkConfig(server), credentials: keys });
  const padding = Array.from({ length: 64 }, (_, index) => ({ Key: `k${index}` }));
  await assert.rejects(user.send(new RemoveTagsFromCertificateCommand({ CertificateArn, Tags: [...padding, { Key: "protected" }] })), {
    name: "AccessDeniedException",
  });
  assert.deepEqual((await acm.send(new ListTagsForCertificateCommand({ CertificateArn }))).Tags, [{ Key: "protected", Value: "true" }]);
  user.destroy();
});

test("aws:ResourceTag reads the certificate's tags: a deny on protected certificates holds", async () => {
  const made = selfSigned("protected");
  const { CertificateArn } = await acm.send(new ImportCertificateCommand({ ...made, Tags: [{ Key: "protected", Value: "true" }] }));
  const other = await acm.send(new ImportCertificateCommand(selfSigned("plain")));
  const keys = await userWithKey(
    iam,
    "deleter",
    policyJson(
      { Effect: "Allow", Action: "acm:*", Resource: "*" },
      { Effect: "Deny", Action: "acm:DeleteCertificate", Resource: "*", Condition: { StringEquals: { "aws:ResourceTag/protected": "true" } } },
    ),
  );
  const user = new ACMClient({ ...sdkConfig(server), credentials: keys });
  await assert.rejects(user.send(new DeleteCertificateCommand({ CertificateArn })), { name: "AccessDeniedException" });
  await acm.send(new DescribeCertificateCommand({ CertificateArn }));
  await user.send(new DeleteCertificateCommand({ CertificateArn: other.CertificateArn }));
  user.destroy();
});
