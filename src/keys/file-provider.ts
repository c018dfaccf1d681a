// Root keys in plain form in <dataDir>/root.key (mode 0600). For development: whoever can read
// that file (or a backup of the data dir) can decrypt everything.
import path from "node:path";
import { sodium } from "../crypto/sodium.js";
import { readSecretFile, writeSecretFile } from "./key-store-file.js";
import { checkKeyring, type Keyring, ROOT_KEY_BYTES, secretFromBase64 } from "./keyring.js";
import { LocalRootKeyProvider } from "./local-root-keys.js";
import type { ProviderContext } from "./root-key-provider.js";

const FORMAT = 1;

interface RootKeyFile {
  format: number;
  primary: number;
  versions: { version: number; created: string; key: string }[];
}

export class FileRootKeyProvider extends LocalRootKeyProvider {
  readonly name = "file";
  readonly path: string;

  constructor(ctx: ProviderContext) {
    super(ctx);
    this.path = path.join(ctx.config.dataDir, "root.key");
  }

  protected async loadKeyring(): Promise<Keyring | undefined> {
    const raw = await readSecretFile(this.path);
    if (!raw) return undefined;
    try {
      return parseRootKeyFile(raw, this.path);
    } finally {
      sodium.sodium_memzero(raw);
    }
  }

  protected async saveKeyring(ring: Keyring, mode: "create" | "replace"): Promise<void> {
    const doc: RootKeyFile = {
      format: FORMAT,
      primary: ring.primary,
      versions: ring.versions.map((v) => ({
        version: v.version,
        created: v.created,
        key: v.key.toString("base64"),
      })),
    };
    const data = Buffer.from(`${JSON.stringify(doc, null, 2)}\n`, "utf8");
    try {
      await writeSecretFile(this.path, data, mode);
    } finally {
      sodium.sodium_memzero(data);
    }
  }

  protected opened(created: boolean): void {
    this.logger.warn(
      { provider: this.name, path: this.path, created },
      "file root key provider is for development only: the root key is stored unencrypted in this file",
    );
  }
}

function parseRootKeyFile(raw: Buffer, file: string): Keyring {
  const bad = (why: string) => new Error(`root key file ${file} is not valid: ${why}`);
  let doc: RootKeyFile;
  try {
    doc = JSON.parse(raw.toString("utf8")) as RootKeyFile;
  } catch {
    throw bad("not JSON");
  }
  if (typeof doc !== "object" || doc === null) throw bad("not a JSON object");
  if (doc.format !== FORMAT) throw bad(`unsupported format ${JSON.stringify(doc.format)}`);
  if (!Array.isArray(doc.versions)) throw bad("no versions list");
  const versions = doc.versions.map((v) => {
    if (typeof v !== "object" || v === null || typeof v.key !== "string") throw bad("a version has no key");
    const created = typeof v.created === "string" ? new Date(v.created) : new Date(Number.NaN);
    if (Number.isNaN(created.getTime())) throw bad("a version has no valid creation time");
    const key = secretFromBase64(v.key, ROOT_KEY_BYTES);
    if (!key) throw bad("a key is not 32 bytes of base64");
    return { version: v.version, created: created.toISOString(), key };
  });
  return checkKeyring({ primary: doc.primary, versions }, `root key file ${file}`);
}
