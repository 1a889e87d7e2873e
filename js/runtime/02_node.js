// Node's platform for the app's server code, from Deno's own implementation
// (deno_node): `Buffer`, `process`, `http`, `net`, `crypto`, `zlib`, `fs`,
// `child_process`… are the real ones. On top, the Node 0.4–0.6 APIs that
// 2011 code still calls and Node has since dropped, and timers whose
// callbacks report what they throw instead of stopping the server.
"use strict";
((globalThis) => {
  const internal = globalThis.__ssrt;
  const { guarded } = internal;

  const nodeModule = process.getBuiltinModule("module");
  const bareName = (name) => (name.startsWith("node:") ? name.slice(5) : name);

  /** A built-in module by name (`http`, `node:http`), or `undefined`. */
  internal.builtin = (name) => {
    const id = bareName(name) === "sys" ? "util" : bareName(name);
    if (!nodeModule.isBuiltin(id)) return undefined;
    return withLegacy(id, process.getBuiltinModule(id));
  };
  internal.isBuiltin = (name) => name === "sys" || nodeModule.isBuiltin(name);

  // npm packages reach built-ins through Node's own loader: the 2011 APIs
  // are added there too, the first time a package loads each module.
  const load = nodeModule._load;
  nodeModule._load = function (request, ...rest) {
    const exports = load.call(this, request, ...rest);
    return typeof request === "string" ? withLegacy(bareName(request), exports) : exports;
  };

  /** `require(request)` by Node's own loader, as the file `fromFile` would. */
  internal.nodeRequire = (request, fromFile) => nodeModule.createRequire(fromFile)(request);
  internal.nodeResolve = (request, fromFile) => nodeModule.createRequire(fromFile).resolve(request);

  /** `.coffee` files inside npm packages compile through the same cache. */
  nodeModule._extensions[".coffee"] = (module, filename) => {
    const source = internal.builtin("fs").readFileSync(filename, "utf8");
    module._compile(internal.compileCoffee(source, filename), filename);
  };

  // ---- timers: Node's, with callbacks that report what they throw -----------

  const timers = process.getBuiltinModule("timers");
  globalThis.setTimeout = (callback, ms, ...args) =>
    timers.setTimeout(guarded(callback, args, "setTimeout"), ms);
  globalThis.setInterval = (callback, ms, ...args) =>
    timers.setInterval(guarded(callback, args, "setInterval"), ms);
  globalThis.setImmediate = (callback, ...args) =>
    timers.setImmediate(guarded(callback, args, "setImmediate"));
  // `util.promisify(setTimeout)` resolves after the delay, as in Node.
  const { custom } = process.getBuiltinModule("util").promisify;
  globalThis.setTimeout[custom] = timers.setTimeout[custom];
  globalThis.setImmediate[custom] = timers.setImmediate[custom];
  globalThis.clearTimeout = timers.clearTimeout;
  globalThis.clearInterval = timers.clearInterval;
  globalThis.clearImmediate = timers.clearImmediate;
  const nextTick = process.nextTick;
  process.nextTick = (callback, ...args) =>
    nextTick(guarded(callback, args, "process.nextTick"));

  // ---- the 2011 APIs (Node 0.4–0.6) that Node has since removed ------------

  /**
   * `config.node_version` ("v0.4.12"): what `process.version` reports, for
   * apps that check the era they run in. Unset, it is the Node version whose
   * API deno_node implements, which is what npm packages expect.
   */
  internal.setNodeVersion = (version) => {
    if (version === undefined) return;
    if (typeof version !== "string" || !/^v\d+\.\d+\.\d+$/.test(version)) {
      throw new Error(`config: node_version must look like "v0.4.12", got ${JSON.stringify(version)}`);
    }
    const versions = { ...process.versions, node: version.slice(1) };
    Object.defineProperty(process, "version", { value: version, configurable: true });
    Object.defineProperty(process, "versions", { value: versions, configurable: true });
  };

  const patched = new Set();
  /** `module` with the 2011 APIs of built-in `id` added, once. */
  function withLegacy(id, module) {
    const key = id === "sys" ? "util" : id;
    if (Object.hasOwn(LEGACY, key) && !patched.has(key)) {
      patched.add(key);
      LEGACY[key](module);
    }
    return module;
  }

  const define = (target, name, value) => {
    if (!(name in target)) {
      Object.defineProperty(target, name, { value, writable: true, configurable: true });
    }
  };

  const LEGACY = {
    http: (http) => define(http, "createClient", legacyClient(http)),
    https: (https) => define(https, "createClient", legacyClient(https)),
    util(util) {
      const write = (stream) => (...args) => {
        for (const arg of args) process[stream].write(String(arg) + "\n");
      };
      define(util, "puts", write("stdout"));
      define(util, "debug", (text) => process.stderr.write(`DEBUG: ${text}\n`));
      define(util, "error", write("stderr"));
      define(util, "print", (...args) => process.stdout.write(args.join("")));
      define(util, "pump", (readable, writable, callback) => {
        const { pipeline } = process.getBuiltinModule("stream");
        pipeline(readable, writable, (error) => callback?.(error ?? undefined));
      });
    },
    path(path) {
      const fs = process.getBuiltinModule("fs");
      define(path, "exists", (file, callback) => fs.access(file, (error) => callback?.(!error)));
      define(path, "existsSync", (file) => fs.existsSync(file));
    },
    buffer({ Buffer }) {
      const proto = Buffer.prototype;
      for (const encoding of ["binary", "ascii", "utf8", "hex", "base64", "ucs2"]) {
        define(proto, `${encoding}Slice`, function (start, end) {
          return this.toString(encoding, start, end);
        });
        define(proto, `${encoding}Write`, function (text, offset, length) {
          return this.write(text, offset, length, encoding);
        });
      }
    },
  };

  /**
   * Node 0.4's `http.createClient(port, host, secure)`: a client whose
   * `request(method, path, headers)` returns a modern ClientRequest (with
   * `'response'`, `setEncoding`, `'data'` and `'end'` as before).
   */
  function legacyClient(protocol) {
    return function createClient(port = 80, host = "localhost") {
      const { EventEmitter } = process.getBuiltinModule("events");
      const client = new EventEmitter();
      client.port = port;
      client.host = host;
      client.request = (method = "GET", path = "/", headers = {}) => {
        if (typeof path === "object" || path === undefined) {
          // request(path[, headers]): the method defaults to GET.
          [method, path, headers] = ["GET", method, path ?? {}];
        }
        const request = protocol.request({ host, port, method, path, headers });
        request.on("error", (error) => client.emit("error", error));
        return request;
      };
      return client;
    };
  }

  // `Buffer#binarySlice` and friends are there from the first use of Buffer.
  internal.builtin("buffer");
})(globalThis);
