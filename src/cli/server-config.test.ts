// `berth server`'s store flags: a postgres:// store needs the key file every replica shares, and
// the registry's blob dir defaults to the data dir's.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "./config-error.js";
import { compileServerConfig, redacted } from "./server-config.js";

const base = ["--no-agent", "--data-dir", "/srv/berth"];

test("a postgres:// store without --store-key-file is refused, saying how to make a key", () => {
  assert.throws(
    () => compileServerConfig([...base, "--store", "postgres://berth:hunter2pw@db:5432/berth"], {}),
    (error: unknown) =>
      error instanceof ConfigError &&
      /needs --store-key-file FILE/.test(error.message) &&
      error.message.includes("head -c 32 /dev/urandom > store.key; chmod 600 store.key") &&
      !error.message.includes("hunter2pw"),
  );
  const config = compileServerConfig([...base, "--store", "postgres://berth@db/berth", "--store-key-file", "/etc/berth/store.key"], {});
  assert.equal(config.storeKeyFile, "/etc/berth/store.key");
});

test("sqlite keeps its generated master key unless a key file is given; the blob dir defaults to <data-dir>/registry", () => {
  const defaults = compileServerConfig(base, {});
  assert.equal(defaults.storeKeyFile, undefined);
  assert.equal(defaults.blobDir, "/srv/berth/registry");
  const given = compileServerConfig([...base, "--store-key-file", "/k", "--blob-dir", "/mnt/shared/blobs"], {});
  assert.equal(given.storeKeyFile, "/k");
  assert.equal(given.blobDir, "/mnt/shared/blobs");
});

test("the store URL's password is redacted from the logged config wherever it is written, and from refusals", () => {
  const key = ["--store-key-file", "/k"];
  const logged = (url: string) => JSON.stringify(redacted(compileServerConfig([...base, "--store", url, ...key], {})));
  for (const [url, shown] of [
    ["postgres://berth:hunter2pw@db:5432/berth", "postgres://berth:<redacted>@db:5432/berth"],
    // A password with "@" in it: the user info runs to the last "@" of the authority.
    ["postgres://berth:p@ss@hunter2pw@db/berth", "postgres://berth:<redacted>@db/berth"],
    ["postgresql://berth@db/berth?password=hunter2pw&sslmode=require", "postgresql://berth@db/berth?password=<redacted>&sslmode=require"],
    ["postgres://db/berth?sslmode=require&sslpassword=hunter2pw", "postgres://db/berth?sslmode=require&sslpassword=<redacted>"],
    ["postgres://berth@db/berth", "postgres://berth@db/berth"],
  ] as const) {
    assert.ok(!logged(url).includes("hunter2pw") && !logged(url).includes("ss@"), `${url} → ${logged(url)}`);
    assert.ok(logged(url).includes(JSON.stringify(shown)), `${url} → ${logged(url)}`);
  }
  assert.throws(
    () => compileServerConfig([...base, "--store", "postgres://berth:p@ss@hunter2pw@[db/berth", ...key], {}),
    (error: unknown) => error instanceof ConfigError && /is not a URL/.test(error.message) && !error.message.includes("hunter2pw"),
  );
});

test("--services-per-cluster is ECS's quota, 5,000 unless given; anything but a whole number from 1 is refused", () => {
  assert.equal(compileServerConfig(base, {}).servicesPerCluster, 5_000);
  assert.equal(compileServerConfig([...base, "--services-per-cluster", "3"], {}).servicesPerCluster, 3);
  for (const bad of ["0", "-1", "2.5", "1e3", "", "x", "1000001"]) {
    assert.throws(
      () => compileServerConfig([...base, `--services-per-cluster=${bad}`], {}),
      (error: unknown) => error instanceof ConfigError && /--services-per-cluster must be a whole number/.test(error.message),
      bad,
    );
  }
});
