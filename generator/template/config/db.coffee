# Runs once at start-up, after the config is loaded: connect to databases here
# and put the connections on globals, for example
#   global.M = new Db($SS.config.db.name, new Server('localhost', 27017))
