import { test } from "node:test";
import assert from "node:assert/strict";
import { nonPublicAddress, publicOnlyLookup, redirectProblem } from "./redirect-policy.js";

test("classifies what is not the public internet", () => {
  for (const [address, what] of [
    ["127.0.0.2", "a loopback address"],
    ["169.254.169.254", "a link-local address"],
    ["10.1.2.3", "a private address"],
    ["172.31.255.255", "a private address"],
    ["192.168.0.1", "a private address"],
    ["100.100.100.200", "a shared (carrier-grade NAT) address"],
    ["0.0.0.0", "an unspecified address"],
    ["255.255.255.255", "a reserved address"],
    ["::1", "a loopback address"],
    ["::", "an unspecified address"],
    ["fe80::1", "a link-local address"],
    ["fd00:ec2::254", "a unique-local (private) address"],
    ["::ffff:169.254.169.254", "a link-local address"],
    ["::ffff:7f00:1", "a loopback address"],
    ["64:ff9b::a9fe:a9fe", "a link-local address"],
    ["[::1]", "a loopback address"],
  ] as const) {
    assert.equal(nonPublicAddress(address), what, address);
  }
  for (const address of ["8.8.8.8", "172.32.0.1", "169.253.255.255", "2606:4700::1111", "::ffff:1.1.1.1"])
    assert.equal(nonPublicAddress(address), undefined, address);
});

test("the registry's own host is followed whatever its address; other hosts only over HTTPS to public addresses", () => {
  assert.equal(redirectProblem(new URL("http://127.0.0.1:9000/blob"), "127.0.0.1"), undefined);
  assert.equal(redirectProblem(new URL("https://cdn.example.com/blob"), "registry.example.com"), undefined);
  assert.match(redirectProblem(new URL("http://cdn.example.com/blob"), "registry.example.com")!, /only HTTPS/);
  assert.match(
    redirectProblem(new URL("https://169.254.169.254/latest/meta-data/"), "127.0.0.1")!,
    /https:\/\/169\.254\.169\.254 refused: a link-local address/,
  );
  assert.match(redirectProblem(new URL("http://127.0.0.2:8080/"), "127.0.0.1")!, /refused: a loopback address/);
  assert.match(redirectProblem(new URL("https://[::ffff:a9fe:a9fe]/"), "127.0.0.1")!, /link-local/);
  assert.match(redirectProblem(new URL("file:///etc/shadow"), "127.0.0.1")!, /file: URL refused/);
});

test("a DNS name resolving to loopback is refused in the lookup itself", async () => {
  const error = await new Promise<Error | null>((resolve) => publicOnlyLookup("localhost", {}, (failure) => resolve(failure)));
  assert.match(String(error?.message), /redirect to localhost refused: it resolves to a loopback address/);
});
