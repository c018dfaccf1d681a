// An ObjectService over a real store whose segment reads a test intercepts (to slow them down or
// damage what they return), counting the integrity failures the service reports.
import type { AeadThread } from "../../src/crypto/aead-thread.js";
import { NO_METRICS } from "../../src/domain-metrics.js";
import type { KeyService } from "../../src/keys/key-service.js";
import { ObjectService } from "../../src/objects/object-service.js";
import type { ObjectStore } from "../../src/store/object-store.js";

type ReadSegments = ObjectStore["readSegments"];

export function serviceWithSegmentReads(
  store: ObjectStore,
  keys: KeyService,
  readSegments: (read: ReadSegments, ...args: Parameters<ReadSegments>) => Promise<Buffer[]>,
  aeadThread: AeadThread | null = null,
): { objects: ObjectService; failures(): number } {
  const intercepted = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "readSegments")
        return (...args: Parameters<ReadSegments>) => readSegments(target.readSegments.bind(target), ...args);
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  let failures = 0;
  const objects = new ObjectService(intercepted, keys, {
    maxObjectBytes: 1 << 30,
    metrics: { ...NO_METRICS, integrityFailure: () => failures++ },
    aeadThread,
  });
  return { objects, failures: () => failures };
}
