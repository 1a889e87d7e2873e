# Browser code. This file always loads first; `app.init` runs once the
# connection to the server is ready. Try `app.square(12)` in the browser console.
window.app =

  init: ->
    remote 'app.init', (reply) ->
      $('#message').text(reply)
    $SS.socket.on 'disconnect', -> $('#status').text('Reconnecting…').addClass('down')
    $SS.socket.on 'connect', -> $('#status').text('Connected').removeClass('down')
    $('#status').text('Connected')

  square: (number) ->
    remote 'app.square', number, (response) ->
      console.log "#{number} squared is #{response}"
