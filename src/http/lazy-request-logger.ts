// Fastify makes a child logger (bound to the request id) for every request. Building one costs a
// few microseconds (pino serializes the bindings and sets up redaction) and is wasted whenever the
// request logs nothing, as at level warn, where request lines are off. This factory defers it to
// the first log call that the level lets through. Fastify is pinned to an exact version, and
// test/unit/library-internals.test.ts fails if it stops building request loggers through the factory.
import type { FastifyBaseLogger } from "fastify";
import type { Bindings, ChildLoggerOptions, Level, LevelWithSilentOrString, Logger } from "pino";

type LogFn = (...args: unknown[]) => void;

class LazyRequestLogger {
  readonly #parent: Logger;
  readonly #bindings: Bindings;
  readonly #opts: ChildLoggerOptions | undefined;
  #child: Logger | null = null;

  constructor(parent: Logger, bindings: Bindings, opts: ChildLoggerOptions | undefined) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#opts = opts;
  }

  #real(): Logger {
    this.#child ??= this.#parent.child(this.#bindings, this.#opts);
    return this.#child;
  }

  #log(level: Level, args: unknown[]): void {
    const target = this.#child ?? this.#parent;
    if (!target.isLevelEnabled(level)) return;
    (this.#real()[level] as LogFn)(...args);
  }

  get level(): LevelWithSilentOrString {
    return (this.#child ?? this.#parent).level;
  }

  set level(level: LevelWithSilentOrString) {
    this.#real().level = level;
  }

  isLevelEnabled(level: LevelWithSilentOrString): boolean {
    return (this.#child ?? this.#parent).isLevelEnabled(level);
  }

  fatal(...args: unknown[]): void {
    this.#log("fatal", args);
  }
  error(...args: unknown[]): void {
    this.#log("error", args);
  }
  warn(...args: unknown[]): void {
    this.#log("warn", args);
  }
  info(...args: unknown[]): void {
    this.#log("info", args);
  }
  debug(...args: unknown[]): void {
    this.#log("debug", args);
  }
  trace(...args: unknown[]): void {
    this.#log("trace", args);
  }
  silent(): void {}

  child(bindings: Bindings, opts?: ChildLoggerOptions): Logger {
    return this.#real().child(bindings, opts);
  }
}

/**
 * For Fastify's `childLoggerFactory` (the app's logger is pino). A route with its own log level
 * gets its child at once.
 */
export function lazyRequestLogger(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  opts: ChildLoggerOptions,
): FastifyBaseLogger {
  if (opts?.level !== undefined) return logger.child(bindings, opts);
  return new LazyRequestLogger(logger as Logger, bindings, opts) as unknown as FastifyBaseLogger;
}
