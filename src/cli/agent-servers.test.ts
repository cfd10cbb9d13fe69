import { test } from "node:test";
import assert from "node:assert/strict";
import { compileAgentServers } from "./agent-servers.js";
import { ConfigError } from "./config-error.js";

const refused = (texts: string[], pattern: RegExp, insecureHttp = false) =>
  assert.throws(
    () => compileAgentServers(texts, { insecureHttp }),
    (error: Error) => error instanceof ConfigError && pattern.test(error.message),
  );

test("several servers, in order, each with its registry over the protocol's transport", () => {
  const servers = compileAgentServers(["https://cp1:8470", "https://cp2.example:8470/", "http://127.0.0.1:8470"], { insecureHttp: false });
  assert.deepEqual(
    servers.urls.map((url) => url.href),
    ["https://cp1:8470/", "https://cp2.example:8470/", "http://127.0.0.1:8470/"],
  );
  assert.deepEqual([...servers.tlsRegistries], ["cp1:8470", "cp2.example:8470"]);
  assert.deepEqual(servers.plainRegistries, ["127.0.0.1:8470"]);
  assert.deepEqual([...compileAgentServers(["https://cp1"], { insecureHttp: false }).tlsRegistries], ["cp1:443"]);
});

test("a server given twice is refused, however it is spelt", () => {
  refused(["https://cp1:8470", "https://cp1:8470"], /--server 'https:\/\/cp1:8470' names the same server as 'https:\/\/cp1:8470'; give each server once/);
  refused(["https://cp1:8470", "https://CP1:8470/"], /names the same server/);
  refused(["https://cp1", "https://cp1:443"], /names the same server/);
  // Another port or scheme is another server.
  assert.equal(compileAgentServers(["https://cp1:8470", "https://cp1:8471"], { insecureHttp: false }).urls.length, 2);
});

test("each server is checked as a lone one is: scheme, plain HTTP off loopback, and no credentials, query or fragment", () => {
  refused([], /--server is required/);
  refused(["https://cp1:8470", "cp2:8470"], /--server must be an https:\/\/ \(or http:\/\/\) URL, not 'cp2:8470'/);
  refused(["https://cp1:8470", "not a url"], /not 'not a url'/);
  refused(["ftp://cp1"], /must be an https:\/\//);
  refused(["https://cp1:8470", "http://10.0.0.2:8470"], /refusing plain HTTP to 10\.0\.0\.2:8470/);
  assert.equal(compileAgentServers(["http://10.0.0.2:8470"], { insecureHttp: true }).plainRegistries[0], "10.0.0.2:8470");
  refused(["https://agent:secret@cp1:8470"], /without credentials, query or fragment/);
  refused(["https://cp1:8470/?x=1"], /without credentials, query or fragment/);
  refused(["https://cp1:8470/#top"], /without credentials, query or fragment/);
});
