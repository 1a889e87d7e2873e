// Node-style globals for 2011-era server code: global, console, timers, process.
// Runs first in every engine. Internals shared by the bootstrap scripts live on
// the non-enumerable `globalThis.__ssrt`, never on anything an app can see by accident.
"use strict";
((globalThis) => {
  const core = globalThis.Deno.core;
  const ops = core.ops;
  const internal = { core, ops };
  Object.defineProperty(globalThis, "__ssrt", { value: internal, enumerable: false });

  globalThis.global = globalThis;
  globalThis.GLOBAL = globalThis;
  globalThis.root = globalThis;

  // Errors that escape app callbacks (timers, ticks) are printed, never fatal:
  // one bad callback must not take the whole server down.
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

  function guarded(callback, args, where) {
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
  }

  globalThis.setTimeout = (callback, ms, ...args) =>
    core.createTimer(guarded(callback, args, "setTimeout"), ms, undefined, false, true, false);
  globalThis.setInterval = (callback, ms, ...args) =>
    core.createTimer(guarded(callback, args, "setInterval"), ms, undefined, true, true, false);
  globalThis.setImmediate = (callback, ...args) =>
    core.createTimer(guarded(callback, args, "setImmediate"), 0, undefined, false, true, false);
  const clear = (timer) => {
    if (timer && typeof timer === "object") core.cancelTimer(timer);
  };
  globalThis.clearTimeout = clear;
  globalThis.clearInterval = clear;
  globalThis.clearImmediate = clear;

  // console formats like Node's (util.format); util loads on first use.
  const format = (args) => internal.require("util").format(...args) + "\n";
  const out = (...args) => void ops.op_console_write(false, format(args));
  const err = (...args) => void ops.op_console_write(true, format(args));
  globalThis.console = {
    log: out,
    info: out,
    debug: out,
    warn: err,
    error: err,
    trace: (...args) => err(...args, new Error("trace").stack),
    dir: (value) => out(internal.require("util").inspect(value)),
  };

  const env = ops.op_process_env();
  globalThis.process = {
    title: "ssrt",
    env,
    pid: ops.op_process_pid(),
    argv: ["ssrt"],
    platform: "linux",
    version: "v0.4.12",
    versions: { ssrt: ops.op_ssrt_version() },
    cwd: () => ops.op_process_cwd(),
    nextTick: (callback, ...args) => queueMicrotask(guarded(callback, args, "process.nextTick")),
    memoryUsage: () => ({ rss: 0, heapTotal: 0, heapUsed: 0 }),
    uptime: () => (Date.now() - startedAt) / 1000,
    stdout: { write: (text) => ops.op_console_write(false, String(text)) },
    stderr: { write: (text) => ops.op_console_write(true, String(text)) },
  };
  const startedAt = Date.now();
})(globalThis);
