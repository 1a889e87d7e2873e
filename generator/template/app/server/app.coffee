# Server actions. The browser calls them with `remote 'app.init', cb`; the HTTP
# API answers /api/app/square.json?25; the console runs $SS.server.app.square(25, console.log).
exports.actions =

  init: (cb) ->
    cb "Welcome! This reply came from the server at #{new Date().toLocaleTimeString()}."

  square: (number, cb) ->
    cb(number * number)
