// A test server's sealed control-plane values, read the way a replica reads them: from its store,
// unsealed with its store key (test/support/server.ts testServerStore).
import { readFileSync } from "node:fs";
import { SecretBox } from "../../src/cli/store-key.js";
import type { ControlPlaneValueName } from "../../src/store/index.js";
import { openStore } from "../../src/store/index.js";
import { testServerStore } from "./server.js";

export async function unsealedValueOf(dataDir: string, name: ControlPlaneValueName): Promise<string> {
  const { location, keyFile } = testServerStore(dataDir);
  const store = await openStore(location);
  try {
    const sealed = await store.controlPlaneState.get(name);
    if (sealed === undefined) throw new Error(`the server's store holds no ${name}`);
    return SecretBox.withKey(readFileSync(keyFile)).unseal(sealed);
  } finally {
    await store.close();
  }
}

/** The HMAC key of the server's registry passwords. */
export async function registryTokenKeyOf(dataDir: string): Promise<Buffer> {
  return Buffer.from(await unsealedValueOf(dataDir, "registry-token-key"), "base64");
}
