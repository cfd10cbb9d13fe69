// The registry client against a hostile registry on loopback: redirects and token realms toward
// what only the host can reach are refused before any connection (a listener that counts them),
// whether named by address or by a DNS name that resolves there; error bodies are never quoted.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { RegistryClient } from "./registry-client.js";

let registry: Server;
let bystander: Server;
let bystanderConnections = 0;
let bystanderPort = 0;
let registryHost = "";
const answers = new Map<string, (response: ServerResponse) => void>();

before(async () => {
  bystander = createServer((_request, response) => response.end("secret metadata"));
  bystander.on("connection", () => (bystanderConnections += 1));
  await new Promise<void>((resolve) => bystander.listen(0, "127.0.0.1", resolve));
  bystanderPort = (bystander.address() as AddressInfo).port;
  registry = createServer((request, response) => {
    const answer = answers.get(request.url ?? "");
    if (answer) answer(response);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => registry.listen(0, "127.0.0.1", resolve));
  registryHost = `127.0.0.1:${(registry.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise((resolve) => registry.close(resolve));
  await new Promise((resolve) => bystander.close(resolve));
});

const client = () => new RegistryClient(registryHost, { insecureRegistries: [], scope: "repository:x:pull" });
const redirectTo = (location: string) => (response: ServerResponse) => response.writeHead(307, { location }).end();

test("a redirect to a DNS name resolving to loopback is refused in the lookup, before connecting (blob download and API request)", async () => {
  answers.set("/v2/x/blobs/a", redirectTo(`https://localhost:${bystanderPort}/`));
  answers.set("/v2/x/manifests/a", redirectTo(`https://localhost:${bystanderPort}/`));
  await assert.rejects(client().download("/v2/x/blobs/a"), /redirect to localhost refused: it resolves to a loopback address/);
  await assert.rejects(client().request("/v2/x/manifests/a"), /redirect to localhost refused: it resolves to a loopback address/);
  assert.equal(bystanderConnections, 0);
});

test("a redirect to the registry's own host is followed", async () => {
  answers.set("/v2/x/blobs/b", redirectTo(`http://${registryHost}/elsewhere`));
  answers.set("/elsewhere", (response) => response.end("blob"));
  const body = await client().download("/v2/x/blobs/b");
  let text = "";
  for await (const chunk of body) text += String(chunk);
  assert.equal(text, "blob");
});

test("a token realm at the metadata address or on another loopback address is refused before connecting", async () => {
  answers.set("/v2/x/manifests/c", (response) =>
    response.writeHead(401, { "www-authenticate": 'Bearer realm="http://169.254.169.254/latest/meta-data/",service="s"' }).end(),
  );
  await assert.rejects(client().request("/v2/x/manifests/c"), /token realm http:\/\/169\.254\.169\.254 refused: a link-local address/);
  answers.set("/v2/x/manifests/d", (response) =>
    response.writeHead(401, { "www-authenticate": `Bearer realm="http://127.0.0.2:${bystanderPort}/token",service="s"` }).end(),
  );
  await assert.rejects(client().request("/v2/x/manifests/d"), /token realm http:\/\/127\.0\.0\.2:\d+ refused: a loopback address/);
  assert.equal(bystanderConnections, 0);
});

test("an error answer is described by its status and the spec's codes, never by the registry's text", async () => {
  answers.set("/v2/x/manifests/e", (response) =>
    response
      .writeHead(403, { "content-type": "application/json" })
      .end(JSON.stringify({ errors: [{ code: "DENIED", message: "SECRET internal path /srv/x" }, { code: "SECRET_CODE" }] })),
  );
  answers.set("/v2/x/blobs/e", (response) => response.writeHead(502).end("SECRET upstream says hi".repeat(10_000)));
  const denied = await client()
    .request("/v2/x/manifests/e")
    .catch((error: Error) => error);
  assert.equal((denied as Error).message, "denied: DENIED: requested access to the resource is denied");
  const bad = await client()
    .download("/v2/x/blobs/e")
    .catch((error: Error) => error);
  assert.equal((bad as Error).message, "unexpected status 502");
});
