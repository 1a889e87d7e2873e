// The compilers' engine has no Node platform (it never needs one, and starts
// in a few milliseconds without it): the few globals and built-ins the 2011
// CoffeeScript, Jade and Stylus touch, from small shims and the npm polyfills
// embedded in the binary.
"use strict";
((globalThis) => {
  const internal = globalThis.__ssrt;
  const { core, ops, guarded } = internal;

  globalThis.setTimeout = (callback, ms, ...args) =>
    core.createTimer(guarded(callback, args, "setTimeout"), ms, undefined, false, true, false);
  globalThis.setImmediate = (callback, ...args) =>
    core.createTimer(guarded(callback, args, "setImmediate"), 0, undefined, false, true, false);
  globalThis.clearTimeout = (timer) => {
    if (timer && typeof timer === "object") core.cancelTimer(timer);
  };

  globalThis.process = {
    title: "ssrt",
    env: {},
    argv: ["ssrt"],
    platform: "linux",
    version: "v0.4.12",
    versions: {},
    cwd: () => "/",
    nextTick: (callback, ...args) => queueMicrotask(guarded(callback, args, "process.nextTick")),
    stdout: { write: (text) => ops.op_console_write(false, String(text)) },
    stderr: { write: (text) => ops.op_console_write(true, String(text)) },
  };

  /** Node built-ins served by an embedded npm polyfill. */
  const POLYFILLS = {
    util: "util",
    sys: "util",
    events: "events",
    path: "path-browserify",
    url: "url",
    querystring: "querystring-es3",
    punycode: "punycode",
  };

  const once = (make) => {
    let value;
    return () => (value ??= make());
  };

  /** Node's callback style over a synchronous function. */
  const callbackStyle = (sync) => (...args) => {
    const callback = args.pop();
    let result;
    try {
      result = sync(...args);
    } catch (error) {
      process.nextTick(callback, error);
      return;
    }
    process.nextTick(callback, null, result);
  };

  const SHIMS = {
    fs: once(() => {
      const { readSource, kind, KIND } = internal.files;
      const missing = (path, what) => {
        const error = new Error(`ENOENT: no such file or directory, ${what} '${path}'`);
        error.code = "ENOENT";
        return error;
      };
      const readFileSync = (path) => {
        const text = readSource(String(path));
        if (text === null) throw missing(path, "open");
        return text;
      };
      const statSync = (path) => {
        const found = kind(String(path));
        if (found === KIND.MISSING) throw missing(path, "stat");
        return { isFile: () => found === KIND.FILE, isDirectory: () => found === KIND.DIRECTORY };
      };
      const readdirSync = (path) => ops.op_fs_read_dir(String(path));
      const existsSync = (path) => kind(String(path)) !== KIND.MISSING;
      return {
        readFileSync,
        readdirSync,
        statSync,
        existsSync,
        readFile: callbackStyle(readFileSync),
        readdir: callbackStyle(readdirSync),
        stat: callbackStyle(statSync),
        exists: (path, callback) => process.nextTick(callback, existsSync(path)),
      };
    }),
    // Less can `@import` over HTTP; a stylesheet compiled here never does.
    http: once(() => ({
      get() {
        throw new Error("ssrt compiles stylesheets from the app's files only: no @import over the network");
      },
    })),
    vm: once(() => {
      const runInThisContext = (code, filename) =>
        internal.evaluate(String(code), typeof filename === "string" ? filename : "vm");
      class Script {
        constructor(code, options) {
          this.code = code;
          this.filename = typeof options === "string" ? options : options?.filename;
        }
        runInThisContext() {
          return runInThisContext(this.code, this.filename);
        }
      }
      return { runInThisContext, Script };
    }),
  };

  /** A built-in module by name, or `undefined` when there is none of that name. */
  internal.builtin = (name) => {
    if (Object.hasOwn(SHIMS, name)) return SHIMS[name]();
    if (Object.hasOwn(POLYFILLS, name)) return internal.requireEmbedded(POLYFILLS[name]);
    return undefined;
  };
  internal.isBuiltin = (name) => Object.hasOwn(SHIMS, name) || Object.hasOwn(POLYFILLS, name);
})(globalThis);
