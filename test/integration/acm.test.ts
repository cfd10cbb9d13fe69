// ACM on one real `berth server`: certificates made here with openssl are imported, described,
// listed, fetched, tagged, re-imported and deleted through the AWS SDK v3, Debian's AWS CLI (files
// passed as fileb://, as the ACM guide shows) and boto3; and the imports ACM refuses are refused.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ACMClient,
  AddTagsToCertificateCommand,
  DeleteCertificateCommand,
  DescribeCertificateCommand,
  GetCertificateCommand,
  ImportCertificateCommand,
  ListCertificatesCommand,
  ListTagsForCertificateCommand,
  RemoveTagsFromCertificateCommand,
} from "@aws-sdk/client-acm";
import type { TestServer } from "../support/server.js";
import { awsCli, sdkConfig, startTestServer } from "../support/server.js";
import { runBoto3 } from "../support/boto3.js";
import { CreateListenerCommand, CreateLoadBalancerCommand, DeleteListenerCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { elbv2Fixture } from "../support/elbv2-fixtures.js";

let server: TestServer;
let acm: ACMClient;
let dir: string;

/** A self-signed certificate and its key made by openssl: files in `dir`, and their bytes. */
function selfSigned(name: string, key: "rsa:2048" | "ec" | "rsa:1024" = "rsa:2048", names = `DNS:${name}.example.com,DNS:www.${name}.example.com`) {
  const keyArgs = key === "ec" ? ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"] : ["-newkey", key];
  const certificate = join(dir, `${name}.crt`);
  const privateKey = join(dir, `${name}.key`);
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      ...keyArgs,
      "-nodes",
      "-days",
      "30",
      "-subj",
      `/O=Berth Test/CN=${name}.example.com`,
      "-addext",
      `subjectAltName=${names}`,
      "-addext",
      "extendedKeyUsage=serverAuth",
      "-keyout",
      privateKey,
      "-out",
      certificate,
    ],
    { stdio: "ignore" },
  );
  return { certificate, privateKey, certificatePem: readFileSync(certificate), privateKeyPem: readFileSync(privateKey) };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "berth-acm-"));
  server = await startTestServer();
  acm = new ACMClient(sdkConfig(server));
});
after(async () => {
  acm.destroy();
  await server.stop();
  await server.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test("an imported certificate is described from its own fields, listed, fetched, tagged, re-imported and deleted (SDK)", async () => {
  const made = selfSigned("web");
  const imported = await acm.send(
    new ImportCertificateCommand({ Certificate: made.certificatePem, PrivateKey: made.privateKeyPem, Tags: [{ Key: "team", Value: "web" }] }),
  );
  assert.match(imported.CertificateArn!, /^arn:aws:acm:us-east-1:123456789012:certificate\/[0-9a-f-]{36}$/);
  const { Certificate: detail } = await acm.send(new DescribeCertificateCommand({ CertificateArn: imported.CertificateArn }));
  assert.equal(detail!.DomainName, "web.example.com");
  assert.deepEqual(detail!.SubjectAlternativeNames, ["web.example.com", "www.web.example.com"]);
  assert.equal(detail!.Type, "IMPORTED");
  assert.equal(detail!.Status, "ISSUED");
  assert.equal(detail!.KeyAlgorithm, "RSA_2048");
  assert.equal(detail!.SignatureAlgorithm, "SHA256WITHRSA");
  assert.equal(detail!.Subject, "O=Berth Test, CN=web.example.com");
  assert.equal(detail!.Issuer, "Berth Test");
  assert.deepEqual(detail!.ExtendedKeyUsages, [{ Name: "TLS_WEB_SERVER_AUTHENTICATION", OID: "1.3.6.1.5.5.7.3.1" }]);
  const serial = execFileSync("openssl", ["x509", "-noout", "-serial", "-in", made.certificate]).toString().trim().split("=")[1]!;
  assert.equal(detail!.Serial!.replaceAll(":", ""), serial.toLowerCase().padStart(detail!.Serial!.replaceAll(":", "").length, "0"));
  assert.ok(detail!.NotAfter! > new Date() && detail!.NotBefore! <= new Date());

  const fetched = await acm.send(new GetCertificateCommand({ CertificateArn: imported.CertificateArn }));
  assert.equal(fetched.Certificate!.trim(), made.certificatePem.toString().trim());
  assert.equal(fetched.CertificateChain, undefined);
  assert.ok(!JSON.stringify(fetched).includes("PRIVATE KEY"), "the private key is never answered");

  const ec = selfSigned("api", "ec");
  const ecArn = (await acm.send(new ImportCertificateCommand({ Certificate: ec.certificatePem, PrivateKey: ec.privateKeyPem }))).CertificateArn!;
  assert.equal((await acm.send(new DescribeCertificateCommand({ CertificateArn: ecArn }))).Certificate!.KeyAlgorithm, "EC_prime256v1");
  // ListCertificates returns RSA_1024 and RSA_2048 certificates unless other key types are asked for, as ACM does.
  const listed = await acm.send(new ListCertificatesCommand({}));
  assert.deepEqual(
    listed.CertificateSummaryList!.map((summary) => summary.DomainName),
    ["web.example.com"],
  );
  const all = await acm.send(new ListCertificatesCommand({ Includes: { keyTypes: ["RSA_2048", "EC_prime256v1"] }, MaxItems: 1 }));
  assert.equal(all.CertificateSummaryList!.length, 1);
  const rest = await acm.send(new ListCertificatesCommand({ Includes: { keyTypes: ["RSA_2048", "EC_prime256v1"] }, MaxItems: 1, NextToken: all.NextToken }));
  assert.deepEqual(
    [...all.CertificateSummaryList!, ...rest.CertificateSummaryList!].map((summary) => summary.DomainName),
    ["web.example.com", "api.example.com"],
  );
  assert.equal(rest.NextToken, undefined);

  await acm.send(
    new AddTagsToCertificateCommand({
      CertificateArn: imported.CertificateArn,
      Tags: [
        { Key: "env", Value: "prod" },
        { Key: "team", Value: "ops" },
      ],
    }),
  );
  await acm.send(new RemoveTagsFromCertificateCommand({ CertificateArn: imported.CertificateArn, Tags: [{ Key: "env", Value: "other" }] }));
  assert.deepEqual((await acm.send(new ListTagsForCertificateCommand({ CertificateArn: imported.CertificateArn }))).Tags, [
    { Key: "team", Value: "ops" },
    { Key: "env", Value: "prod" },
  ]);

  // Re-import onto the same ARN: the new certificate's fields replace the old ones.
  const renewed = selfSigned("web2");
  await acm.send(
    new ImportCertificateCommand({ CertificateArn: imported.CertificateArn, Certificate: renewed.certificatePem, PrivateKey: renewed.privateKeyPem }),
  );
  assert.equal((await acm.send(new DescribeCertificateCommand({ CertificateArn: imported.CertificateArn }))).Certificate!.DomainName, "web2.example.com");

  await acm.send(new DeleteCertificateCommand({ CertificateArn: imported.CertificateArn }));
  await assert.rejects(acm.send(new DescribeCertificateCommand({ CertificateArn: imported.CertificateArn })), { name: "ResourceNotFoundException" });
  await assert.rejects(acm.send(new DeleteCertificateCommand({ CertificateArn: imported.CertificateArn })), { name: "ResourceNotFoundException" });
  await acm.send(new DeleteCertificateCommand({ CertificateArn: ecArn }));
});

test("imports ACM refuses: two certificates in the field, a key of another certificate, an encrypted key, garbage, reserved tags, foreign ARNs", async () => {
  const one = selfSigned("one");
  const two = selfSigned("two");
  await assert.rejects(
    acm.send(new ImportCertificateCommand({ Certificate: Buffer.concat([one.certificatePem, two.certificatePem]), PrivateKey: one.privateKeyPem })),
    { name: "ValidationException", message: "The certificate field contains more than one certificate. You can specify only one certificate in this field." },
  );
  await assert.rejects(acm.send(new ImportCertificateCommand({ Certificate: one.certificatePem, PrivateKey: two.privateKeyPem })), {
    name: "ValidationException",
  });
  const encrypted = join(dir, "encrypted.key");
  execFileSync("openssl", ["pkey", "-in", one.privateKey, "-aes256", "-passout", "pass:secret", "-out", encrypted]);
  await assert.rejects(acm.send(new ImportCertificateCommand({ Certificate: one.certificatePem, PrivateKey: readFileSync(encrypted) })), {
    name: "ValidationException",
  });
  await assert.rejects(
    acm.send(
      new ImportCertificateCommand({
        Certificate: Buffer.from("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
        PrivateKey: one.privateKeyPem,
      }),
    ),
    {
      name: "ValidationException",
    },
  );
  await assert.rejects(acm.send(new ImportCertificateCommand({ Certificate: Buffer.alloc(40_000, 65), PrivateKey: one.privateKeyPem })), {
    name: "ValidationException",
  });
  await assert.rejects(
    acm.send(new ImportCertificateCommand({ Certificate: one.certificatePem, PrivateKey: one.privateKeyPem, Tags: [{ Key: "aws:owner", Value: "x" }] })),
    { name: "InvalidTagException" },
  );
  await assert.rejects(acm.send(new DescribeCertificateCommand({ CertificateArn: "arn:aws:iam::123456789012:role/x" })), { name: "InvalidArnException" });
  await assert.rejects(
    acm.send(new DescribeCertificateCommand({ CertificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000" })),
    {
      name: "ResourceNotFoundException",
    },
  );
  assert.deepEqual((await acm.send(new ListCertificatesCommand({ Includes: { keyTypes: ["RSA_2048", "EC_prime256v1"] } }))).CertificateSummaryList, []);
});

test("Debian's AWS CLI imports from fileb:// files and boto3 describes, lists and deletes", async () => {
  const made = selfSigned("cli");
  const imported = await awsCli(server, [
    "acm",
    "import-certificate",
    "--certificate",
    `fileb://${made.certificate}`,
    "--private-key",
    `fileb://${made.privateKey}`,
  ]);
  assert.equal(imported.code, 0, imported.stderr);
  const arn = (imported.json as { CertificateArn: string }).CertificateArn;
  const described = await awsCli(server, ["acm", "describe-certificate", "--certificate-arn", arn]);
  assert.equal(described.code, 0, described.stderr);
  assert.equal((described.json as { Certificate: { DomainName: string } }).Certificate.DomainName, "cli.example.com");
  const chainFile = join(dir, "chain.pem");
  writeFileSync(chainFile, selfSigned("ca").certificatePem);
  const reimported = await awsCli(server, [
    "acm",
    "import-certificate",
    "--certificate-arn",
    arn,
    "--certificate",
    `fileb://${made.certificate}`,
    "--private-key",
    `fileb://${made.privateKey}`,
    "--certificate-chain",
    `fileb://${chainFile}`,
  ]);
  assert.equal(reimported.code, 0, reimported.stderr);
  const fetched = await awsCli(server, ["acm", "get-certificate", "--certificate-arn", arn]);
  assert.match((fetched.json as { CertificateChain: string }).CertificateChain, /BEGIN CERTIFICATE/);
  const result = await runBoto3(
    server,
    "acm",
    "acm",
    `
arn = ${JSON.stringify(arn)}
out = {"domain": acm.describe_certificate(CertificateArn=arn)["Certificate"]["DomainName"]}
out["listed"] = [c["CertificateArn"] for c in acm.list_certificates(CertificateStatuses=["ISSUED"])["CertificateSummaryList"]]
acm.delete_certificate(CertificateArn=arn)
try:
    acm.describe_certificate(CertificateArn=arn)
except botocore.exceptions.ClientError as error:
    out["gone"] = error.response["Error"]["Code"]
print(json.dumps(out))
`,
  );
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), { domain: "cli.example.com", listed: [arn], gone: "ResourceNotFoundException" });
});

test("a certificate an HTTPS listener uses is in use: InUseBy names its load balancer, DeleteCertificate refuses until the listener is gone", async () => {
  const made = selfSigned("tls");
  const arn = (await acm.send(new ImportCertificateCommand({ Certificate: made.certificatePem, PrivateKey: made.privateKeyPem }))).CertificateArn!;
  const fixture = await elbv2Fixture(server);
  const loadBalancer = (
    await fixture.elb.send(new CreateLoadBalancerCommand({ Name: "tls-web", Subnets: fixture.subnets.slice(0, 2).map((subnet) => subnet.id) }))
  ).LoadBalancers![0]!;
  const listener = (
    await fixture.elb.send(
      new CreateListenerCommand({
        LoadBalancerArn: loadBalancer.LoadBalancerArn,
        Protocol: "HTTPS",
        Port: 443,
        Certificates: [{ CertificateArn: arn }],
        DefaultActions: [{ Type: "fixed-response", FixedResponseConfig: { StatusCode: "200" } }],
      }),
    )
  ).Listeners![0]!;
  assert.deepEqual((await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate!.InUseBy, [loadBalancer.LoadBalancerArn]);
  const summaries = (await acm.send(new ListCertificatesCommand({}))).CertificateSummaryList!;
  assert.equal(summaries.find((summary) => summary.CertificateArn === arn)?.InUse, true);
  await assert.rejects(acm.send(new DeleteCertificateCommand({ CertificateArn: arn })), {
    name: "ResourceInUseException",
    message: `Certificate ${arn} in account 123456789012 is in use.`,
  });
  await fixture.elb.send(new DeleteListenerCommand({ ListenerArn: listener.ListenerArn }));
  assert.deepEqual((await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate!.InUseBy, []);
  await acm.send(new DeleteCertificateCommand({ CertificateArn: arn }));
  fixture.elb.destroy();
  fixture.ec2.destroy();
});
