import { test } from "node:test";
import assert from "node:assert/strict";
import { compileAgentConfig } from "./agent-config.js";
import { ConfigError } from "./config-error.js";

const common = { dataDir: "/var/lib/berth", region: "us-east-1", insecureRegistries: [] };

test("--dns-upstream: an IPv4 address and an optional port (53 by default); anything else refused before it is used", () => {
  assert.equal(compileAgentConfig({}, common).dnsUpstream, undefined);
  assert.deepEqual(compileAgentConfig({ "dns-upstream": "10.0.0.2" }, common).dnsUpstream, { address: "10.0.0.2", port: 53 });
  assert.deepEqual(compileAgentConfig({ "dns-upstream": "127.0.0.1:5353" }, common).dnsUpstream, { address: "127.0.0.1", port: 5353 });
  for (const bad of ["", "resolver.example", "10.0.0.256", "10.0.0.2:0", "10.0.0.2:65536", "10.0.0.2:53:53", "[::1]:53", "10.0.0.2 ; rm -rf /", "10.0.0.2:-1"])
    assert.throws(() => compileAgentConfig({ "dns-upstream": bad }, common), ConfigError, bad);
});
