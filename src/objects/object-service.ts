// The domain of binary objects, as the routes and jobs see it: a thin facade over the writer
// (object-writer.ts), the reader (object-reader.ts) and the holds reads keep against the reclaimer
// (read-holds.ts), plus what spans them: deletes, maintenance and a graceful end.
import type { Readable } from "node:stream";
import { type DomainMetrics, NO_METRICS } from "../domain-metrics.js";
import { AppError } from "../errors.js";
import { type BackgroundReport, NO_REPORT } from "../failure-log.js";
import type { KeyService } from "../keys/key-service.js";
import type { ObjectStore, WriteCondition } from "../store/object-store.js";
import type { ObjectMeta } from "../store/records.js";
import { type FolderPage, type FolderQuery, listFolder } from "./folder-listing.js";
import { validateObjectId } from "./object-id.js";
import type { ObjectMetadata } from "./object-metadata.js";
import { type ObjectForRead, ObjectReader, type ObjectReaderOptions } from "./object-reader.js";
import { ObjectWriter, type ObjectWriterOptions, type PutInput, type PutResult } from "./object-writer.js";
import type { ByteRange } from "./range.js";
import { ReadHolds } from "./read-holds.js";

/** What the writer and the reader take; the facade supplies the writer's reclaim hook and report. */
export type ObjectServiceOptions = Omit<ObjectWriterOptions, "onReplaced" | "report"> & ObjectReaderOptions;

export class ObjectService {
  readonly #writer: ObjectWriter;
  readonly #reader: ObjectReader;
  readonly #holds: ReadHolds;
  readonly #opts: ObjectServiceOptions;
  readonly #metrics: DomainMetrics;
  /** Writes and deletes under way: shutdown waits for them before the stores close. */
  readonly #inflight = new Set<Promise<unknown>>();

  constructor(
    readonly store: ObjectStore,
    keys: KeyService,
    opts: ObjectServiceOptions,
    /** Failures of work the client does not wait for (abort, reclaim, rewrap), logged without flooding. */
    report: BackgroundReport = NO_REPORT,
  ) {
    this.#opts = opts;
    this.#metrics = opts.metrics ?? NO_METRICS;
    this.#holds = new ReadHolds(store, report);
    this.#writer = new ObjectWriter(store, keys, {
      ...opts,
      report,
      onReplaced: () => this.scheduleReclaim(),
    });
    this.#reader = new ObjectReader(store, keys, this.#holds, opts);
  }

  get maxObjectBytes(): number {
    return this.#opts.maxObjectBytes;
  }

  /** How many writes reads hold against the reclaimer now (none once every stream has closed). */
  get heldWrites(): number {
    return this.#holds.held;
  }

  async stat(owner: string, id: string): Promise<ObjectMeta> {
    return mustExist(await this.find(owner, id), id);
  }

  /** The object, or null. */
  async find(owner: string, id: string): Promise<ObjectMeta | null> {
    validateObjectId(id);
    return this.store.getObject(owner, id);
  }

  /** A page of the owner's objects under a prefix, folded into folders by a delimiter (folder-listing.ts). */
  listFolder(owner: string, q: FolderQuery): Promise<FolderPage> {
    return listFolder(this.store, owner, q);
  }

  /** stat() for a read that follows: a small object's sealed segment comes along for readSmall. */
  async statForRead(owner: string, id: string): Promise<ObjectForRead> {
    return mustExist(await this.#reader.findForRead(owner, id), id);
  }

  /** statForRead, with null for a missing object. */
  findForRead(owner: string, id: string): Promise<ObjectForRead | null> {
    return this.#reader.findForRead(owner, id);
  }

  /** The write's sealed metadata record, opened (null when it has none: the native API's writes). */
  metadataOf(meta: ObjectMeta): Promise<ObjectMetadata | null> {
    return this.#reader.metadataOf(meta);
  }

  /** Bytes of part `n` (1-based) of the object (object-reader.ts); null past the last. */
  partRange(meta: ObjectMeta, n: number): Promise<(ByteRange & { count: number }) | null> {
    return this.#reader.partRange(meta, n);
  }

  /** Whether readSmall may read the object whole. */
  isSmall(meta: ObjectMeta): boolean {
    return this.#reader.isSmall(meta);
  }

  /** A small object whole, authenticated, in memory. */
  readSmall(meta: ObjectForRead): Promise<Buffer> {
    return this.#reader.readSmall(meta);
  }

  /** A plaintext stream of the object (or a range of it), its first segment authenticated. */
  read(meta: ObjectMeta, range: ByteRange | null): Promise<Readable> {
    return this.#reader.read(meta, range);
  }

  /** Checks a write's preconditions before any body byte is read (they are checked again at commit). */
  precheck(owner: string, id: string, cond: WriteCondition): Promise<void> {
    return this.#writer.precheck(owner, id, cond);
  }

  put(input: PutInput): Promise<PutResult> {
    return this.#track(this.#writer.put(input));
  }

  delete(owner: string, id: string, cond?: WriteCondition): Promise<void> {
    return this.#track(this.#remove(owner, id, cond));
  }

  async #remove(owner: string, id: string, cond?: WriteCondition): Promise<void> {
    validateObjectId(id);
    if (cond?.ifMatch) mustExist(await this.store.getObject(owner, id), id);
    const deleted = await this.store.deleteObject(owner, id, cond);
    if (!deleted) throw new AppError("not_found", `no object with id ${id}`);
    this.#metrics.objectDeleted();
    this.scheduleReclaim();
  }

  /** Removes the segments of replaced and deleted writes that nobody is reading any more. */
  scheduleReclaim(): void {
    this.#holds.scheduleReclaim();
  }

  /** Sweeps uploads whose writer died and reclaims what nobody reads any more; returns the uploads swept. */
  async maintain(): Promise<number> {
    const swept = await this.store.sweepAbandonedUploads();
    this.scheduleReclaim();
    return swept;
  }

  /** Waits for writes, deletes and reclaims under way (graceful shutdown, tests). */
  async settle(): Promise<void> {
    while (this.#inflight.size > 0 || this.#holds.reclaiming)
      await Promise.allSettled([...this.#inflight, this.#holds.reclaiming]);
  }

  /** After settle(), at shutdown: stops the AEAD thread, if any (reads still under way fail). */
  async close(): Promise<void> {
    await this.#opts.md5Thread?.close();
    await this.#opts.aeadThread?.close();
  }

  #track<T>(work: Promise<T>): Promise<T> {
    this.#inflight.add(work);
    const done = () => this.#inflight.delete(work);
    work.then(done, done);
    return work;
  }
}

function mustExist<T>(meta: T | null, id: string): T {
  if (!meta) throw new AppError("not_found", `no object with id ${id}`);
  return meta;
}
