// What every ssrt engine's bootstrap runs first: the internals the other
// bootstrap scripts share, on the non-enumerable `globalThis.__ssrt` (never on
// anything an app can see by accident), and the error reporting that keeps one
// bad callback from taking the whole server down.
"use strict";
((globalThis) => {
  // `__ssrt` with `core` and `ops` is defined by the ops extension's bridge.js.
  const internal = globalThis.__ssrt;
  const { ops } = internal;

  globalThis.global = globalThis;
  globalThis.GLOBAL = globalThis;
  globalThis.root = globalThis;

  /** An error as text with its stack; engines differ on whether the stack repeats the message. */
  internal.describeError = (error) => {
    if (!(error instanceof Error) || !error.stack) return String(error);
    const head = String(error);
    return error.stack.startsWith(head) ? error.stack : `${head}\n${error.stack}`;
  };
  internal.reportError = (error, where) => {
    ops.op_console_write(true, `Uncaught exception in ${where}: ${internal.describeError(error)}\n`);
  };

  /** Calls an app callback on a later tick, reporting what it throws. */
  internal.later = (callback, ...args) => {
    if (typeof callback !== "function") return;
    queueMicrotask(() => {
      try {
        callback(...args);
      } catch (error) {
        internal.reportError(error, callback.name || "a callback");
      }
    });
  };

  /** `callback(...args)` as a function that reports, never throws. */
  internal.guarded = (callback, args, where) => {
    if (typeof callback !== "function") {
      throw new TypeError(`The "callback" argument must be a function (${where})`);
    }
    return () => {
      try {
        callback(...args);
      } catch (error) {
        internal.reportError(error, where);
      }
    };
  };

  // console formats like Node's (util.format), through ssrt's op so that
  // `ssrt console` can tell when a script's output has gone quiet.
  const format = (args) => internal.builtin("util").format(...args) + "\n";
  const out = (...args) => void ops.op_console_write(false, format(args));
  const err = (...args) => void ops.op_console_write(true, format(args));
  globalThis.console = Object.assign(globalThis.console ?? {}, {
    log: out,
    info: out,
    debug: out,
    warn: err,
    error: err,
    trace: (...args) => err(...args, new Error("trace").stack),
    dir: (value) => out(internal.builtin("util").inspect(value)),
  });
})(globalThis);
