// CommonJS modules for the app's own files: require, exports, module,
// __filename, __dirname, caching and cycles, file names shown relative to the
// app in errors. `.coffee` files compile with the CoffeeScript 1.x compiler,
// itself an npm package embedded in the binary (a virtual node_modules folder).
// Built-ins come from the engine's platform (`internal.builtin`); npm packages
// from the app's node_modules go to Node's own loader where the engine has one
// (`internal.nodeRequire`), so they resolve exactly as under Node.
"use strict";
((globalThis) => {
  const internal = globalThis.__ssrt;
  const { core, ops } = internal;

  /** The virtual folder holding the embedded npm packages. */
  const EMBEDDED = "/$ssrt/node_modules/";
  const EXTENSIONS = [".js", ".coffee", ".json"];

  // ---- files: disk or embedded ------------------------------------------

  const isEmbedded = (path) => path.startsWith(EMBEDDED);
  function readSource(path) {
    return isEmbedded(path)
      ? ops.op_npm_file(path.slice(EMBEDDED.length))
      : ops.op_fs_read_text(path);
  }
  /** What `kind` answers: ops/src/files.rs `FileKind`. */
  const KIND = Object.freeze({ MISSING: 0, FILE: 1, DIRECTORY: 2 });
  /** Whether `path` is missing, a file or a directory (a `KIND`). */
  function kind(path) {
    if (!isEmbedded(path)) return ops.op_fs_kind(path);
    const relative = path.slice(EMBEDDED.length);
    if (ops.op_npm_file(relative) !== null) return KIND.FILE;
    return ops.op_npm_dir_exists(relative) ? KIND.DIRECTORY : KIND.MISSING;
  }
  internal.files = { readSource, kind, KIND };

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
    if (kind(path) === KIND.FILE) return path;
    for (const ext of EXTENSIONS) if (kind(path + ext) === KIND.FILE) return path + ext;
    return null;
  }
  function loadAsDirectory(path) {
    if (kind(path) !== KIND.DIRECTORY) return null;
    const manifest = path + "/package.json";
    if (kind(manifest) === KIND.FILE) {
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

  /**
   * Where `request`, required from a file in `fromDir`, lives: a path, a
   * built-in (`builtin:`) or a package on disk for Node's loader (`package:`).
   */
  function resolve(request, fromDir) {
    if (internal.isBuiltin(request)) return "builtin:";
    if (request.startsWith("./") || request.startsWith("../") || request.startsWith("/")) {
      const path = request.startsWith("/") ? normalize(request) : join(fromDir, request);
      const found = load(path);
      if (found) return found;
    } else {
      for (const dir of config.requirePaths) {
        const found = load(join(dir, request));
        if (found) return found;
      }
      const packageName = request.split("/", request.startsWith("@") ? 2 : 1).join("/");
      for (const dir of nodeModulesPaths(fromDir)) {
        // Where the engine has Node's loader, it loads every package on disk.
        if (internal.nodeRequire && !isEmbedded(`${dir}/`)) {
          if (kind(join(dir, packageName)) === KIND.DIRECTORY) return "package:";
          continue;
        }
        const found = load(join(dir, request));
        if (found) return found;
      }
      const found = load(join(EMBEDDED, request));
      if (found) return found;
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
  internal.evaluate = evaluate;

  let coffee = null;
  let eraCoffee = null;
  /**
   * CoffeeScript → JavaScript, through the on-disk compile cache. A file
   * that CoffeeScript 1.12 rejects but 1.1 (what SocketStream 0.1–0.2
   * pinned) accepts — a `###` comment left open to the end, say — is
   * compiled with 1.1, with a warning naming the file.
   */
  function compileCoffee(source, filename) {
    const cached = ops.op_compile_cache_get("coffee", source);
    if (cached !== null) return cached;
    coffee ??= internal.requireEmbedded("coffee-script");
    let js;
    try {
      js = coffee.compile(source, { filename });
    } catch (error) {
      js = compileWithCoffee11(source, filename);
      if (js === null) throw compileError(error, source, filename);
      const where = error.location ? `:${error.location.first_line + 1}` : "";
      console.warn(
        `${shown(filename)}${where}: CoffeeScript 1.12 rejects this file (${error.message}); ` +
          "compiled it with CoffeeScript 1.1, as SocketStream 0.1–0.2 did",
      );
    }
    ops.op_compile_cache_put("coffee", source, js);
    return js;
  }

  /** The file compiled by CoffeeScript 1.1.3, or null if it rejects it too. */
  function compileWithCoffee11(source, filename) {
    eraCoffee ??= internal.requireEmbedded("coffee-script-1.1");
    try {
      return eraCoffee.compile(source, { filename });
    } catch {
      return null;
    }
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
    if (id === "builtin:") return internal.builtin(request);
    if (id === "package:") {
      return internal.nodeRequire(request, parent ? parent.filename : join(config.root, "[ssrt]"));
    }
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
      if (id === "builtin:") return request;
      if (id === "package:") return internal.nodeResolve(request, module.filename);
      return id;
    };
    require.cache = cache;
    require.extensions = Module._extensions;
    require.main = mainModule;
    return require;
  }

  const mainModule = new Module("/[ssrt]", null);
  /** `require` as seen from the file `fromFile` (the app's root when absent). */
  internal.require = (request, fromFile) => requireFrom(request, fromFile ? new Module(fromFile) : null);

  /** An npm package embedded in the binary (the compilers, polyfills), by name. */
  internal.requireEmbedded = (name) => {
    const id = loadAsDirectory(EMBEDDED + name);
    if (!id) throw new Error(`ssrt: the embedded package ${name} is missing`);
    return requireFrom(id, null);
  };
})(globalThis);
