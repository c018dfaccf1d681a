// Chooses the root key provider named by the configuration.
import { FileRootKeyProvider } from "./file-provider.js";
import { PassphraseRootKeyProvider } from "./passphrase-provider.js";
import { Pkcs11RootKeyProvider } from "./pkcs11-provider.js";
import type { ProviderContext, RootKeyProvider } from "./root-key-provider.js";

export function createRootKeyProvider(ctx: ProviderContext): RootKeyProvider {
  switch (ctx.config.keyProvider) {
    case "file":
      return new FileRootKeyProvider(ctx);
    case "passphrase":
      return new PassphraseRootKeyProvider(ctx);
    case "pkcs11":
      return new Pkcs11RootKeyProvider(ctx);
  }
}
