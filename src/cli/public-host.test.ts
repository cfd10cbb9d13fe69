import { test } from "node:test";
import assert from "node:assert/strict";
import { ownRegistryHosts, publicRegistryHost } from "./public-host.js";

test("the public host is --public-host (with the bound port when it names none), else the listen address", async () => {
  assert.equal(await publicRegistryHost({ listenHost: "0.0.0.0", boundPort: 8470, configured: { host: "registry.lan", port: 9000 } }), "registry.lan:9000");
  assert.equal(await publicRegistryHost({ listenHost: "0.0.0.0", boundPort: 8470, configured: { host: "10.1.2.3", port: undefined } }), "10.1.2.3:8470");
  assert.equal(await publicRegistryHost({ listenHost: "10.0.0.5", boundPort: 8470, configured: undefined }), "10.0.0.5:8470");
  assert.equal(await publicRegistryHost({ listenHost: "::1", boundPort: 8470, configured: undefined }), "[::1]:8470");
});

test("a wildcard bind uses the machine's hostname when it resolves off loopback, else 127.0.0.1 — never 0.0.0.0", async () => {
  const resolve = (answers: Record<string, string[]>) => async (name: string) => answers[name] ?? Promise.reject(new Error("ENOTFOUND"));
  assert.equal(
    await publicRegistryHost({
      listenHost: "0.0.0.0",
      boundPort: 8470,
      configured: undefined,
      machineName: "Build-1",
      resolve: resolve({ "build-1": ["10.0.0.7"] }),
    }),
    "build-1:8470",
  );
  assert.equal(
    await publicRegistryHost({ listenHost: "::", boundPort: 8470, configured: undefined, machineName: "vm", resolve: resolve({ vm: ["127.0.1.1"] }) }),
    "127.0.0.1:8470",
  );
  assert.equal(
    await publicRegistryHost({ listenHost: "0.0.0.0", boundPort: 8470, configured: undefined, machineName: "nowhere", resolve: resolve({}) }),
    "127.0.0.1:8470",
  );
});

test("our registry's names: the public one, the bound address, and loopback spellings only for a loopback bind", () => {
  assert.deepEqual(ownRegistryHosts("127.0.0.1:8470", "127.0.0.1", 8470), ["127.0.0.1:8470", "localhost:8470", "[::1]:8470"]);
  assert.deepEqual(ownRegistryHosts("build-1:8470", "0.0.0.0", 8470), ["build-1:8470"]);
  assert.deepEqual(ownRegistryHosts("registry.lan:8470", "10.0.0.5", 8470), ["registry.lan:8470", "10.0.0.5:8470"]);
});
