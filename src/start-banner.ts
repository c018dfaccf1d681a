// What the server prints once it listens: where to go (API, S3, console, docs) and where the admin's
// first token is. A few lines for a terminal (readable logs), one JSON record otherwise.

export interface StartInfo {
  version: string;
  /** The API's base URL, as the listener reports it (http://127.0.0.1:8000). */
  url: string;
  /** The S3 listener's base URL, when it runs. */
  s3Url?: string;
  store: "sqlite" | "postgres";
  dataDir: string;
  keyProvider: string;
  /** The cipher new writes are sealed with (SSE_CIPHER) and why it was chosen. */
  cipher: { name: string; reason: string };
  /** The bootstrap token file, when it exists. */
  tokenFile?: string;
}

/** The fields of the one "SSE Store listening" record (never the database URL: it holds a password). */
export function startRecord(i: StartInfo) {
  return {
    url: i.url,
    ...(i.s3Url ? { s3Url: i.s3Url } : {}),
    consoleUrl: `${i.url}/console/`,
    docsUrl: `${i.url}/docs`,
    ...(i.tokenFile ? { bootstrapTokenFile: i.tokenFile } : {}),
    store: i.store,
    keyProvider: i.keyProvider,
    cipher: i.cipher.name,
    cipherReason: i.cipher.reason,
  };
}

const CIPHER_NAMES: Record<string, string> = {
  aes256gcm: "AES-256-GCM",
  xchacha20poly1305: "XChaCha20-Poly1305",
};

export function startBanner(i: StartInfo): string {
  const where = i.store === "postgres" ? "PostgreSQL" : `SQLite in ${i.dataDir}`;
  const rows: [string, string][] = [
    ["API", i.url],
    ...(i.s3Url ? [["S3", i.s3Url] as [string, string]] : []),
    ["Console", `${i.url}/console/`],
    ["API docs", `${i.url}/docs`],
    ...(i.tokenFile ? [["Admin token", `${i.tokenFile} (the first sign-in)`] as [string, string]] : []),
    ["Cipher", `${CIPHER_NAMES[i.cipher.name] ?? i.cipher.name} for new writes (${i.cipher.reason})`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return [
    `SSE Store ${i.version} is ready (${where}, key provider ${i.keyProvider})`,
    ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
    "Ctrl-C stops it gracefully.",
    "",
  ].join("\n");
}
