// Which suite new writes are sealed with (SSE_CIPHER): AES-256-GCM where the CPU has AES
// instructions, else XChaCha20-Poly1305, which is fast and constant-time in software. Reads never
// ask: each write names its own suite. Why and how it is measured: docs/FORMAT.md, "Suites".
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { CipherSetting } from "../settings.js";
import { AES_256_GCM, type SegmentAead, TAG_BYTES, XCHACHA20_POLY1305 } from "./segment-aead.js";
import { SUITE_AES256GCM, SUITE_XCHACHA20_POLY1305 } from "./segment-format.js";

export interface CipherChoice {
  suite: number;
  /**
   * The suite of writes known up front to fit in one segment (a declared length ≤ the segment
   * size: items, small objects). `auto` keeps them on XChaCha20-Poly1305, whose per-call cost is a
   * fraction of node:crypto's GCM context at that size; an explicit setting applies to every write.
   */
  smallSuite: number;
  /** The setting's name for it: aes256gcm or xchacha20poly1305. */
  name: Exclude<CipherSetting, "auto">;
  /** Why, in a few words, for the start record. */
  reason: string;
}

/** What the choice looks at; tests give their own. */
export interface CpuFacts {
  arch: string;
  platform: string;
  /** The text of /proc/cpuinfo, or null where there is none. */
  cpuinfo: () => string | null;
  /** Whether AES-256-GCM sealed faster than XChaCha20-Poly1305 in a short measurement here. */
  gcmMeasuredFaster: () => boolean;
}

const GCM: Omit<CipherChoice, "reason"> = {
  suite: SUITE_AES256GCM,
  smallSuite: SUITE_XCHACHA20_POLY1305,
  name: "aes256gcm",
};
const XCHACHA: Omit<CipherChoice, "reason"> = {
  suite: SUITE_XCHACHA20_POLY1305,
  smallSuite: SUITE_XCHACHA20_POLY1305,
  name: "xchacha20poly1305",
};

/**
 * Whether /proc/cpuinfo lists the instructions AES-GCM needs to be fast and constant-time: AES
 * rounds and carry-less multiplication (GHASH). x86: `aes` and `pclmulqdq` on the flags line;
 * arm64: `aes` and `pmull` on the Features line. Undefined when the text does not say.
 */
export function aesInCpuinfo(cpuinfo: string, arch: string): boolean | undefined {
  const field = arch === "x64" || arch === "ia32" ? "flags" : arch === "arm64" ? "Features" : null;
  if (!field) return undefined;
  const line = new RegExp(`^${field}\\s*:(.*)$`, "m").exec(cpuinfo);
  if (!line) return undefined;
  const flags = new Set(line[1]!.trim().split(/\s+/));
  const needed = field === "flags" ? ["aes", "pclmulqdq"] : ["aes", "pmull"];
  return needed.every((f) => flags.has(f));
}

export function chooseCipher(setting: CipherSetting, facts: CpuFacts = HOST): CipherChoice {
  if (setting === "aes256gcm") return { ...GCM, smallSuite: SUITE_AES256GCM, reason: "SSE_CIPHER=aes256gcm" };
  if (setting === "xchacha20poly1305") return { ...XCHACHA, reason: "SSE_CIPHER=xchacha20poly1305" };
  const text = facts.platform === "linux" ? facts.cpuinfo() : null;
  const listed = text === null ? undefined : aesInCpuinfo(text, facts.arch);
  if (listed === true) return { ...GCM, reason: "/proc/cpuinfo lists AES instructions" };
  if (listed === false) return { ...XCHACHA, reason: "/proc/cpuinfo lists no AES instructions" };
  // Every Apple silicon CPU has the ARMv8 crypto extensions.
  if (facts.platform === "darwin" && facts.arch === "arm64")
    return { ...GCM, reason: "Apple silicon has AES instructions" };
  return facts.gcmMeasuredFaster()
    ? { ...GCM, reason: "AES-256-GCM measured faster here" }
    : { ...XCHACHA, reason: "XChaCha20-Poly1305 measured faster here" };
}

/**
 * Seals 64 KiB segments with each AEAD, best of three rounds of 16 each (a few milliseconds): where
 * the CPU has no AES instructions OpenSSL's constant-time software AES is several times slower.
 */
function measureGcmFaster(): boolean {
  const key = randomBytes(32);
  const plain = randomBytes(65536);
  const out = Buffer.alloc(plain.length + TAG_BYTES);
  const ad = Buffer.alloc(37);
  const best = (aead: SegmentAead) => {
    const nonce = Buffer.alloc(aead.nonceBytes);
    let fastest = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 3; round++) {
      const t0 = performance.now();
      for (let i = 0; i < 16; i++) aead.seal(out, plain, ad, nonce, key);
      fastest = Math.min(fastest, performance.now() - t0);
    }
    return fastest;
  };
  return best(AES_256_GCM) <= best(XCHACHA20_POLY1305);
}

let measured: boolean | undefined;

const HOST: CpuFacts = {
  arch: process.arch,
  platform: process.platform,
  cpuinfo: () => {
    try {
      return readFileSync("/proc/cpuinfo", "utf8");
    } catch {
      return null;
    }
  },
  gcmMeasuredFaster: () => {
    measured ??= measureGcmFaster();
    return measured;
  },
};
