// `berth server`'s store flags: a postgres:// store needs the key file every replica shares, and
// the registry's blob dir defaults to the data dir's.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "./config-error.js";
import { compileServerConfig } from "./server-config.js";

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
