// CommonJS modules as Node has them: require, exports, module, __filename,
// __dirname, caching and cycles. Files come from disk; Node built-ins come from
// npm polyfills embedded in the binary (a virtual node_modules folder) or, for
// fs and vm, from small shims over ssrt's ops. `.coffee` files compile with the
// CoffeeScript 1.x compiler, itself an embedded npm package.
"use strict";
((globalThis) => {
  const internal = globalThis.__ssrt;
  const { core, ops } = internal;

  /** The virtual folder holding the embedded npm packages. */
  const EMBEDDED = "/$ssrt/node_modules/";
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
  const EXTENSIONS = [".js", ".coffee", ".json"];

  // ---- files: disk or embedded ------------------------------------------

  const isEmbedded = (path) => path.startsWith(EMBEDDED);
  function readSource(path) {
    return isEmbedded(path)
      ? ops.op_npm_file(path.slice(EMBEDDED.length))
      : ops.op_fs_read_text(path);
  }
  /** 0 missing, 1 file, 2 directory. */
  function kind(path) {
    if (!isEmbedded(path)) return ops.op_fs_kind(path);
    const relative = path.slice(EMBEDDED.length);
    if (ops.op_npm_file(relative) !== null) return 1;
    return ops.op_npm_dir_exists(relative) ? 2 : 0;
  }

  // ---- paths (POSIX) -----------------------------------------------------

  function normalize(path) {
    const out = [];
    for (const part of path.split("/")) {
      if (part === "" || part === ".") continue;
      if (part === "..") out.pop();
      else out.push(part);
    }
    return "/" + out.join("/");
  }
  const dirname = (path) => path.slice(0, path.lastIndexOf("/")) || "/";
  const join = (...parts) => normalize(parts.join("/"));

  // ---- resolution --------------------------------------------------------

  const config = { requirePaths: [], root: "/" };
  internal.setRequirePaths = (root, paths) => {
    config.root = root;
    config.requirePaths = paths;
  };

  function loadAsFile(path) {
    if (kind(path) === 1) return path;
    for (const ext of EXTENSIONS) if (kind(path + ext) === 1) return path + ext;
    return null;
  }
  function loadAsDirectory(path) {
    if (kind(path) !== 2) return null;
    const manifest = path + "/package.json";
    if (kind(manifest) === 1) {
      const main = JSON.parse(readSource(manifest)).main;
      if (typeof main === "string") {
        const target = join(path, main);
        const found = loadAsFile(target) || loadAsFile(target + "/index");
        if (found) return found;
      }
    }
    return loadAsFile(path + "/index");
  }
  const load = (path) => loadAsFile(path) || loadAsDirectory(path);

  function nodeModulesPaths(from) {
    const paths = [];
    for (let dir = from; ; dir = dirname(dir)) {
      if (!dir.endsWith("/node_modules")) paths.push(join(dir, "node_modules"));
      if (dir === "/") break;
    }
    return paths;
  }

  /** Where `request`, required from a file in `fromDir`, lives: a path or a native id. */
  function resolve(request, fromDir) {
    if (Object.hasOwn(NATIVES, request)) return "native:" + request;
    if (Object.hasOwn(POLYFILLS, request)) {
      return loadAsDirectory(EMBEDDED + POLYFILLS[request]);
    }
    if (request.startsWith("./") || request.startsWith("../") || request.startsWith("/")) {
      const path = request.startsWith("/") ? normalize(request) : join(fromDir, request);
      const found = load(path);
      if (found) return found;
    } else {
      const searched = isEmbedded(fromDir)
        ? nodeModulesPaths(fromDir)
        : [...config.requirePaths, ...nodeModulesPaths(fromDir), EMBEDDED.slice(0, -1)];
      for (const dir of searched) {
        const found = load(join(dir, request));
        if (found) return found;
      }
    }
    const error = new Error(`Cannot find module '${request}' (required from ${shown(fromDir)})`);
    error.code = "MODULE_NOT_FOUND";
    throw error;
  }

  /** A path as users know it: relative to the app's root. */
  function shown(path) {
    if (isEmbedded(path)) return "ssrt:" + path.slice(EMBEDDED.length);
    const root = config.root.endsWith("/") ? config.root : config.root + "/";
    return path.startsWith(root) ? path.slice(root.length) : path;
  }
  internal.shownPath = shown;

  // ---- compiling ---------------------------------------------------------

  /** The URL the engine names a file by in stack traces. */
  const specifier = (path) =>
    isEmbedded(path)
      ? "ssrt:node_modules/" + path.slice(EMBEDDED.length)
      : "file://" + encodeURI(path);

  function evaluate(source, filename) {
    const [result, error] = core.evalContext(source, specifier(filename));
    if (error) throw error.thrown;
    return result;
  }

  let coffee = null;
  /** CoffeeScript → JavaScript, through the on-disk compile cache. */
  function compileCoffee(source, filename) {
    const cached = ops.op_compile_cache_get("coffee", source);
    if (cached !== null) return cached;
    coffee ??= internal.require("coffee-script");
    let js;
    try {
      js = coffee.compile(source, { filename });
    } catch (error) {
      throw compileError(error, source, filename);
    }
    ops.op_compile_cache_put("coffee", source, js);
    return js;
  }

  internal.compileCoffee = compileCoffee;

  /** A CoffeeScript syntax error as `file:line:column: message` with the line shown. */
  function compileError(error, source, filename) {
    if (!error || !error.location) return error;
    const { first_line: line, first_column: column } = error.location;
    const text = source.split("\n")[line] ?? "";
    const wrapped = new SyntaxError(
      `${shown(filename)}:${line + 1}:${column + 1}: ${error.message}\n  ${text}\n  ${" ".repeat(column)}^`,
    );
    wrapped.file = shown(filename);
    wrapped.line = line + 1;
    return wrapped;
  }

  const WRAPPER = "(function (exports, require, module, __filename, __dirname) { ";

  function compileModule(module, filename) {
    let source = readSource(filename);
    if (filename.endsWith(".json")) {
      try {
        module.exports = JSON.parse(source);
      } catch (error) {
        throw new SyntaxError(`${shown(filename)}: ${error.message}`);
      }
      return;
    }
    if (filename.endsWith(".coffee")) source = compileCoffee(source, filename);
    if (source.startsWith("#!")) source = "//" + source;
    const fn = evaluate(WRAPPER + source + "\n})", filename);
    fn.call(module.exports, module.exports, makeRequire(module), module, filename, dirname(filename));
  }

  // ---- modules -----------------------------------------------------------

  const cache = Object.create(null);

  class Module {
    constructor(id, parent) {
      this.id = id;
      this.filename = id;
      this.exports = {};
      this.parent = parent ?? null;
      this.children = [];
      this.loaded = false;
      this.paths = [];
      if (parent) parent.children.push(this);
    }
    require(request) {
      return requireFrom(request, this);
    }
    static _nodeModulePaths(dir) {
      return nodeModulesPaths(dir);
    }
  }
  Module._cache = cache;
  Module._extensions = Object.fromEntries(EXTENSIONS.map((ext) => [ext, true]));

  function requireFrom(request, parent) {
    if (typeof request !== "string" || request === "") {
      throw new TypeError("require() expects a non-empty module name");
    }
    const fromDir = parent ? dirname(parent.filename) : config.root;
    const id = resolve(request, fromDir);
    if (id.startsWith("native:")) return NATIVES[request]();
    const cached = cache[id];
    if (cached) return cached.exports;
    const module = new Module(id, parent);
    cache[id] = module;
    try {
      compileModule(module, id);
    } catch (error) {
      delete cache[id];
      throw error;
    }
    module.loaded = true;
    return module.exports;
  }

  function makeRequire(module) {
    const require = (request) => requireFrom(request, module);
    require.resolve = (request) => {
      const id = resolve(request, dirname(module.filename));
      return id.startsWith("native:") ? request : id;
    };
    require.cache = cache;
    require.extensions = Module._extensions;
    require.main = mainModule;
    return require;
  }

  const mainModule = new Module("/[ssrt]", null);
  /** `require` as seen from the file `fromFile` (the app's root when absent). */
  internal.require = (request, fromFile) => requireFrom(request, fromFile ? new Module(fromFile) : null);

  // ---- natives: built-ins backed by ops ------------------------------------

  const once = (make) => {
    let value;
    return () => (value ??= make());
  };

  function stats(path) {
    const found = kind(path);
    if (found === 0) {
      const error = new Error(`ENOENT: no such file or directory, stat '${path}'`);
      error.code = "ENOENT";
      throw error;
    }
    return { isFile: () => found === 1, isDirectory: () => found === 2 };
  }

  /** Node's callback style over a synchronous function. */
  const callbackStyle = (sync) => (...args) => {
    const callback = args.pop();
    if (typeof callback !== "function") throw new TypeError("callback must be a function");
    let result;
    try {
      result = sync(...args);
    } catch (error) {
      process.nextTick(callback, error);
      return;
    }
    process.nextTick(callback, null, result);
  };

  const NATIVES = {
    fs: once(() => {
      const readFileSync = (path, _options) => {
        const text = readSource(String(path));
        if (text === null) {
          const error = new Error(`ENOENT: no such file or directory, open '${path}'`);
          error.code = "ENOENT";
          throw error;
        }
        return text;
      };
      const readdirSync = (path) => ops.op_fs_read_dir(String(path));
      const statSync = (path) => stats(String(path));
      const existsSync = (path) => kind(String(path)) !== 0;
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
    vm: once(() => {
      const runInThisContext = (code, filename) =>
        evaluate(String(code), typeof filename === "string" ? filename : "vm");
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
    module: () => Module,
  };
})(globalThis);
