// The asset compilers, run in an engine of their own (never the app's): the
// 2011-era CoffeeScript, Jade and Stylus from npm, behind one function the
// host calls with the kind, the source and the file's path.
"use strict";
((globalThis) => {
  const internal = globalThis.__ssrt;

  let root = "/";
  let jade = null;
  let jadeWithInclude = null;
  /** A Jade `include` line. */
  const INCLUDE = /^[ \t]*include[ \t]+\S/m;
  let stylus = null;
  let less = null;

  /** Paths in messages as users know them: relative to the app. */
  const relative = (text) => String(text).split(root).join("");

  const COMPILERS = {
    /** Browser CoffeeScript: each file in its own closure, as the original did. */
    coffee: (source, filename) => internal.compileCoffee(source, filename),

    /**
     * A Jade view rendered to HTML; `options.locals` are its variables.
     * Jade 0.10 (SocketStream 0.0.x's) reads `attr: value`, which later
     * views still use; `include` came with Jade 0.13, which reads
     * `attr=value` only, so a view with an `include` line gets Jade 0.16,
     * as apps of the later API that wrote one had.
     */
    jade(source, filename, options) {
      const locals = options.locals ?? {};
      if (INCLUDE.test(source)) {
        jadeWithInclude ??= internal.requireEmbedded("jade-0.16");
        return jadeWithInclude.compile(source, { filename })(locals);
      }
      jade ??= internal.requireEmbedded("jade");
      return jade.render(source, { filename, locals });
    },

    /**
     * A config file of the later API (`config/app.coffee`, 0.1.3+) run as a
     * module: its `exports.config`, as JSON. `options.env` is `process.env`.
     */
    config(source, filename, options) {
      const code = filename.endsWith(".coffee") ? internal.compileCoffee(source, filename) : source;
      const module = { exports: {} };
      const process = { env: options.env ?? {} };
      new Function("exports", "module", "process", code)(module.exports, module, process);
      const config = module.exports.config;
      if (config === null || typeof config !== "object" || Array.isArray(config)) {
        throw new Error("it must set exports.config to an object, as in `exports.config = { http: { port: 3000 } }`");
      }
      return JSON.stringify(config);
    },

    /**
     * A Less stylesheet (SocketStream 0.2.3+), with Less 1.3 of the time;
     * `@import` looks beside the file and in `options.paths`, read at once.
     */
    less(source, filename, options) {
      less ??= internal.requireEmbedded("less");
      let css = null;
      let failure = null;
      const parser = new less.Parser({ filename, paths: options.paths ?? [], syncImport: true });
      parser.parse(source, (error, tree) => {
        if (error) {
          failure = error;
          return;
        }
        try {
          css = tree.toCSS();
        } catch (thrown) {
          failure = thrown;
        }
      });
      // With syncImport, Less parses and imports synchronously.
      if (failure) throw lessError(failure, filename);
      return css;
    },

    /** A Stylus stylesheet; `@import` looks beside the file and in `options.paths`. */
    stylus(source, filename, options) {
      stylus ??= internal.requireEmbedded("stylus");
      let css = null;
      let failure = null;
      stylus(source)
        .set("filename", filename)
        .set("paths", options.paths ?? [])
        .render((error, output) => {
          failure = error;
          css = output;
        });
      // Stylus renders synchronously; its callback has run by now.
      if (failure) throw failure;
      return css;
    },
  };

  /** Less 1.3 reports errors as plain objects: `file:line: message`. */
  function lessError(error, filename) {
    if (error instanceof Error) return error;
    const file = relative(error?.filename ?? filename);
    const line = Number.isInteger(error?.line) ? `:${error.line}` : "";
    return new Error(`${file}${line}: ${error?.message ?? String(error)}`);
  }

  /** Sets the app root that messages are made relative to. */
  internal.initCompilers = (appRoot) => {
    root = appRoot.endsWith("/") ? appRoot : appRoot + "/";
    internal.setRequirePaths(appRoot, []);
  };

  /**
   * Compiles one file. Returns `{ code }`, or `{ error }` whose text starts
   * with `file:line` when the compiler said where (read by serde_v8 as
   * `Compiled` in runtime/src/compiler.rs).
   */
  internal.compile = (kind, source, filename, optionsJson) => {
    const compiler = COMPILERS[kind];
    if (!compiler) return { error: `no compiler for '${kind}'` };
    try {
      const options = optionsJson ? JSON.parse(optionsJson) : {};
      return { code: compiler(source, filename, options) };
    } catch (error) {
      return { error: describe(error, filename) };
    }
  };

  function describe(error, filename) {
    const message = relative(error && error.message ? error.message : error);
    const file = relative(filename);
    // Stylus and Jade's runtime errors already start with `file:line` (an
    // @import's file, perhaps).
    if (/^[^\s:]+:\d+/.test(message)) return message;
    const line = error && (error.line ?? error.lineno);
    return line ? `${file}:${line}: ${message}` : `${file}: ${message}`;
  }
})(globalThis);
