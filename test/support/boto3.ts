// Debian's boto3 against a test server: a script run with one client of `service` already made
// for the server's endpoint, region and credentials (named `client`, and by the name given), with
// no configuration file of the machine's in the way.
import { execFile } from "node:child_process";
import { tmpdir } from "node:os";
import type { TestServer } from "./server.js";

export interface Boto3Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runBoto3(server: TestServer, service: string, name: string, script: string): Promise<Boto3Result> {
  const session = `boto3.session.Session(aws_access_key_id=${JSON.stringify(server.credentials.accessKeyId)}, aws_secret_access_key=${JSON.stringify(server.credentials.secretAccessKey)}, region_name=${JSON.stringify(server.region)})`;
  const prelude = `import boto3, json, sys, botocore.exceptions\n${name} = ${session}.client(${JSON.stringify(service)}, endpoint_url=${JSON.stringify(server.endpoint)})\n`;
  return new Promise((resolve) =>
    execFile(
      "/usr/bin/python3",
      ["-c", prelude + script],
      { env: { PATH: "/usr/bin:/bin", HOME: tmpdir(), AWS_CONFIG_FILE: "/dev/null", AWS_SHARED_CREDENTIALS_FILE: "/dev/null" } },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}
