// `config/http.(coffee|js)`: the app's own HTTP middleware (SPEC-0.2-compat
// §2), run before ssrt's routes against Node's real `http.IncomingMessage`
// and `http.ServerResponse` (through light-my-request, from npm):
// - 0.1: `exports.call = (req, res, next) ->`, one function, first;
// - 0.2: `exports.primary = [...]` before ssrt's routes and
//   `exports.secondary = [...]` for what they do not serve, Connect 1.x
//   middleware (`connect.bodyParser()`, `connect.static(...)`, `router`…),
//   with Connect's rules: `next(err)` skips to the next four-argument
//   error handler, and an error nothing handles is a 500.
"use strict";
((globalThis) => {
  const internal = globalThis.__ssrt;
  const { ops } = internal;

  /** The middleware of each stage, in order. */
  const stages = { primary: [], secondary: [] };
  let file = "config/http";
  let env = "development";

  /**
   * Loads the app's `config/http` file (a path, or null); `appEnv` decides
   * whether an unhandled error shows its stack. Returns how many
   * middleware each stage has, for the banner.
   */
  internal.loadHttpMiddleware = (path, appEnv) => {
    env = appEnv;
    if (path) {
      file = internal.shownPath(path);
      const exports = internal.require(path);
      if (typeof exports.call === "function") stages.primary.push(exports.call);
      stages.primary.push(...middlewareList(exports.primary, "primary"));
      stages.secondary.push(...middlewareList(exports.secondary, "secondary"));
      if (stages.primary.length === 0 && stages.secondary.length === 0) {
        console.warn(
          `${file} exports neither call (0.1) nor primary/secondary (0.2): no HTTP middleware runs`,
        );
      }
    }
    return { primary: stages.primary.length, secondary: stages.secondary.length };
  };

  function middlewareList(list, name) {
    if (list === undefined || list === null) return [];
    const array = Array.isArray(list) ? list : [list];
    array.forEach((entry, index) => {
      if (typeof entry !== "function") {
        throw new TypeError(
          `${file}: exports.${name}[${index}] is ${typeof entry}, not a middleware function (req, res, next)`,
        );
      }
    });
    return array;
  }

  let inject = null;

  /**
   * Runs a stage's middleware on one request (`{ method, url, headers:
   * [[name, value]…], remote, body: base64 }`) and answers call `callId`
   * with `{ next: true }` when the chain passes it on, or the response:
   * `{ status, headers: [[name, value]…], body: base64 }`.
   */
  internal.runHttpMiddleware = (callId, stage, requestJson) => {
    const request = JSON.parse(requestJson);
    inject ??= internal.requireEmbedded("light-my-request");
    let passedOn = false;
    const options = {
      method: request.method,
      url: request.url,
      headers: headerObject(request.headers),
      remoteAddress: request.remote,
      payload: request.body ? Buffer.from(request.body, "base64") : undefined,
    };
    const dispatch = (req, res) => {
      req.originalUrl = req.url;
      runChain(stages[stage], req, res, (error) => {
        if (error !== undefined && error !== null) return answerError(res, error);
        passedOn = true;
        ops.op_reply(callId, '{"next":true}');
      });
    };
    inject(dispatch, options, (error, res) => {
      if (passedOn) return;
      if (error) {
        ops.op_reply_error(callId, "internal_error", `${file}: ${error.message ?? error}`);
        return;
      }
      ops.op_reply(
        callId,
        JSON.stringify({
          status: res.statusCode,
          headers: headerPairs(res.headers),
          body: res.rawPayload.toString("base64"),
        }),
      );
    });
  };

  /** Connect's `next`: the first middleware that takes the request (or error). */
  function runChain(stack, req, res, done) {
    let index = 0;
    const next = (error) => {
      const layer = stack[index++];
      if (!layer) return done(error);
      try {
        if (error !== undefined && error !== null) {
          if (layer.length === 4) layer(error, req, res, next);
          else next(error);
        } else if (layer.length < 4) {
          layer(req, res, next);
        } else {
          next();
        }
      } catch (thrown) {
        next(thrown);
      }
    };
    next();
  }

  /** What Connect 1.x did with an error nothing handled: log it, answer 500. */
  function answerError(res, error) {
    console.error(`${file}: HTTP middleware failed:`, error);
    const status = Number.isInteger(error?.status) ? error.status : 500;
    const body =
      env === "production" ? "Internal Server Error" : String(error?.stack ?? error);
    if (!res.headersSent) {
      res.statusCode = status;
      res.setHeader("Content-Type", "text/plain; charset=utf-8");
    }
    res.end(body);
  }

  /** `[[name, value]…]` → Node's header object (repeated names joined, as Node does). */
  function headerObject(pairs) {
    const headers = {};
    for (const [name, value] of pairs) {
      const key = name.toLowerCase();
      if (key === "set-cookie") (headers[key] ??= []).push(value);
      else headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
    }
    return headers;
  }

  /** Node's header object → `[[name, value]…]`, one pair per value. */
  function headerPairs(headers) {
    const pairs = [];
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined) continue;
      for (const one of Array.isArray(value) ? value : [value]) pairs.push([name, String(one)]);
    }
    return pairs;
  }
})(globalThis);
