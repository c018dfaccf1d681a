// SSE_CIPHER and the choice `auto` makes: AES-256-GCM where the CPU has AES instructions (as
// /proc/cpuinfo lists them), XChaCha20-Poly1305 where it has none, a short measurement where nothing
// says. The CPU facts are given here, so every branch runs on any machine.
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";
import { aesInCpuinfo, type CpuFacts, chooseCipher } from "../../src/crypto/cipher-choice.js";
import { SUITE_AES256GCM, SUITE_XCHACHA20_POLY1305 } from "../../src/crypto/segment-format.js";

const X86_AES = `processor\t: 0
vendor_id\t: GenuineIntel
flags\t\t: fpu vme de pse tsc msr pae sse sse2 ssse3 pclmulqdq sse4_1 sse4_2 aes avx avx2 vaes vpclmulqdq
bugs\t\t: spectre_v1
`;
const X86_NO_AES = `processor\t: 0
flags\t\t: fpu vme de pse tsc msr pae sse sse2 ssse3 sse4_1 sse4_2
`;
/** AES rounds without carry-less multiplication: GHASH would run in software. */
const X86_AES_NO_CLMUL = "flags\t\t: fpu sse2 aes avx\n";
const ARM_AES = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics\n";
const ARM_NO_AES = "processor\t: 0\nFeatures\t: fp asimd evtstrm crc32\n";

function facts(over: Partial<CpuFacts>): CpuFacts & { measured: number } {
  const f = {
    arch: "x64",
    platform: "linux",
    cpuinfo: () => X86_AES,
    measured: 0,
    gcmMeasuredFaster: () => {
      f.measured++;
      return true;
    },
    ...over,
  };
  return f;
}

describe("aesInCpuinfo", () => {
  it.each([
    ["x86 with AES-NI and PCLMULQDQ", X86_AES, "x64", true],
    ["x86 without AES-NI", X86_NO_AES, "x64", false],
    ["x86 with AES-NI but no PCLMULQDQ", X86_AES_NO_CLMUL, "x64", false],
    ["arm64 with the crypto extensions", ARM_AES, "arm64", true],
    ["arm64 without them", ARM_NO_AES, "arm64", false],
    ["x86 text on an arm64 process (no Features line)", X86_AES, "arm64", undefined],
    ["an architecture it does not read", X86_AES, "riscv64", undefined],
    ["empty text", "", "x64", undefined],
  ])("%s → %s", (_name, text, arch, want) => {
    expect(aesInCpuinfo(text, arch)).toBe(want);
  });

  it("matches whole flags, not parts of other ones", () => {
    expect(aesInCpuinfo("flags\t: vaes vpclmulqdq aes_like\n", "x64")).toBe(false);
  });
});

describe("chooseCipher", () => {
  it("an explicit setting seals every write with its suite, small ones too; auto keeps small writes on XChaCha20-Poly1305", () => {
    expect(chooseCipher("aes256gcm", facts({})).smallSuite).toBe(SUITE_AES256GCM);
    expect(chooseCipher("xchacha20poly1305", facts({})).smallSuite).toBe(SUITE_XCHACHA20_POLY1305);
    expect(chooseCipher("auto", facts({})).smallSuite).toBe(SUITE_XCHACHA20_POLY1305);
  });

  it("takes an explicit setting without looking at the CPU", () => {
    const f = facts({ cpuinfo: () => X86_NO_AES });
    expect(chooseCipher("aes256gcm", f)).toMatchObject({ suite: SUITE_AES256GCM, name: "aes256gcm" });
    const x = chooseCipher("xchacha20poly1305", facts({ cpuinfo: () => X86_AES }));
    expect(x).toMatchObject({ suite: SUITE_XCHACHA20_POLY1305, name: "xchacha20poly1305" });
    expect(f.measured).toBe(0);
  });

  it("auto: AES-256-GCM where /proc/cpuinfo lists AES instructions, XChaCha20-Poly1305 where it lists none", () => {
    expect(chooseCipher("auto", facts({}))).toEqual({
      suite: SUITE_AES256GCM,
      smallSuite: SUITE_XCHACHA20_POLY1305,
      name: "aes256gcm",
      reason: "/proc/cpuinfo lists AES instructions",
    });
    expect(chooseCipher("auto", facts({ cpuinfo: () => X86_NO_AES }))).toEqual({
      suite: SUITE_XCHACHA20_POLY1305,
      smallSuite: SUITE_XCHACHA20_POLY1305,
      name: "xchacha20poly1305",
      reason: "/proc/cpuinfo lists no AES instructions",
    });
    expect(chooseCipher("auto", facts({ arch: "arm64", cpuinfo: () => ARM_AES })).name).toBe("aes256gcm");
    expect(chooseCipher("auto", facts({ arch: "arm64", cpuinfo: () => ARM_NO_AES })).name).toBe(
      "xchacha20poly1305",
    );
  });

  it("auto: Apple silicon has AES; elsewhere, with nothing to read, the faster of the two in a short measurement", () => {
    const mac = facts({ platform: "darwin", arch: "arm64", cpuinfo: () => null });
    expect(chooseCipher("auto", mac).name).toBe("aes256gcm");
    expect(mac.measured).toBe(0);
    const win = facts({ platform: "win32", cpuinfo: () => X86_NO_AES });
    expect(chooseCipher("auto", win)).toMatchObject({
      name: "aes256gcm",
      reason: "AES-256-GCM measured faster here",
    });
    expect(win.measured).toBe(1);
    const slowGcm = facts({ platform: "freebsd", gcmMeasuredFaster: () => false });
    expect(chooseCipher("auto", slowGcm).name).toBe("xchacha20poly1305");
    // Linux without a readable /proc/cpuinfo, or one it cannot read, measures too.
    const noProc = facts({ cpuinfo: () => null });
    expect(chooseCipher("auto", noProc).name).toBe("aes256gcm");
    expect(noProc.measured).toBe(1);
  });

  it("on this machine, picks a suite and says why", () => {
    const c = chooseCipher("auto");
    expect([SUITE_AES256GCM, SUITE_XCHACHA20_POLY1305]).toContain(c.suite);
    expect(c.reason.length).toBeGreaterThan(0);
  });
});

describe("SSE_CIPHER", () => {
  it("is auto by default and takes the two suites' names, the flag over the environment", () => {
    expect(loadConfig({}).cipher).toBe("auto");
    expect(loadConfig({ SSE_CIPHER: "aes256gcm" }).cipher).toBe("aes256gcm");
    expect(loadConfig({ SSE_CIPHER: "xchacha20poly1305" }).cipher).toBe("xchacha20poly1305");
    expect(loadConfig({ SSE_CIPHER: "aes256gcm" }, { cipher: "xchacha20poly1305" }).cipher).toBe(
      "xchacha20poly1305",
    );
  });

  it("takes the suites' names as RFC 5116 and RFC 8439 spell them", () => {
    expect(loadConfig({ SSE_CIPHER: "aes-256-gcm" }).cipher).toBe("aes256gcm");
    expect(loadConfig({ SSE_CIPHER: "xchacha20-poly1305" }).cipher).toBe("xchacha20poly1305");
    expect(loadConfig({}, { cipher: "aes-256-gcm" }).cipher).toBe("aes256gcm");
  });

  it("refuses anything else, naming the choices", () => {
    for (const bad of ["aes", "AES256GCM", "chacha20poly1305", "aes-128-gcm", "toString", "constructor"])
      expect(() => loadConfig({ SSE_CIPHER: bad }), bad).toThrow(/SSE_CIPHER must be one of auto, aes256gcm/);
    expect(() => loadConfig({ SSE_CIPHER: "none" })).toThrow(ConfigError);
  });
});
