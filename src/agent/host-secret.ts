// The host secret the last registration returned: every call but `register` presents it. Kept in
// memory and, when a file is given, in that file (0600) so a restarted agent can prove it is the
// same host. One holder serves every server of an agent's list: the servers share one store, so a
// secret issued by one is valid on all of them.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";

export class HostSecret {
  private secret: string | undefined;

  constructor(private readonly file?: string) {
    this.secret = file && existsSync(file) ? readFileSync(file, "utf8").trim() || undefined : undefined;
  }

  /** The current secret; undefined before the first registration. */
  get value(): string | undefined {
    return this.secret;
  }

  keep(secret: string): void {
    this.secret = secret;
    if (!this.file) return;
    // Written aside and renamed, so a crash never leaves a half-written secret behind.
    writeFileSync(`${this.file}.new`, `${secret}\n`, { mode: 0o600 });
    renameSync(`${this.file}.new`, this.file);
  }
}
