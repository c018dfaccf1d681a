// The files a local key store lives in: read only when no one but the owner can read them, written
// durably with mode 0600 (temp file, fsync, rename or link, fsync of the directory).
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { syncDirectory } from "../directory-sync.js";

/** Thrown by writeSecretFile(…, "create") (so by saveKeyring) when the file appeared meanwhile. */
export class KeyringExistsError extends Error {
  override name = "KeyringExistsError";
}

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException)?.code ?? "unknown error";
}

/**
 * Reads a key store file, refusing it when group or others have any access. Returns undefined when
 * it does not exist. Errors are one line and name the path, never the content.
 */
export async function readSecretFile(file: string): Promise<Buffer | undefined> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(file, "r");
  } catch (e) {
    if (errCode(e) === "ENOENT") return undefined;
    throw new Error(`cannot open ${file}: ${errCode(e)}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new Error(`${file} is not a regular file`);
    const mode = st.mode & 0o777;
    if ((mode & ~0o600) !== 0)
      throw new Error(
        `${file} has mode 0${mode.toString(8)}, looser than 0600; refusing to use it (chmod 600 ${file})`,
      );
    return await fh.readFile();
  } catch (e) {
    if (e instanceof Error && !("code" in e)) throw e;
    throw new Error(`cannot read ${file}: ${errCode(e)}`);
  } finally {
    await fh.close();
  }
}

/**
 * Durably writes `data` to `file` with mode 0600: temp file, fsync, then rename (replace) or link
 * (create, failing with KeyringExistsError when the file appeared meanwhile), then fsync the dir.
 */
export async function writeSecretFile(file: string, data: Buffer, mode: "create" | "replace"): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  const fh = await fs.open(tmp, "wx", 0o600);
  try {
    try {
      await fh.chmod(0o600);
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (mode === "create") {
      try {
        await fs.link(tmp, file);
      } catch (e) {
        if (errCode(e) === "EEXIST") throw new KeyringExistsError(`${file} already exists`);
        throw e;
      }
    } else {
      await fs.rename(tmp, file);
    }
  } finally {
    await fs.rm(tmp, { force: true });
  }
  await syncDirectory(dir);
}
