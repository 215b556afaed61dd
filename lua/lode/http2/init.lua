-- Node's lib/http2.js: the http2 module's public face.
--
--   local http2 = require "lode.http2"     -- require "http2" under the lode runtime
--   local server = http2.createServer()
--   server:on("stream", function(stream, headers) ... end)
--   server:listen(8000)
local core = require "lode.http2.core"
require "lode.http2.files" -- respondWithFile / respondWithFD on ServerHttp2Stream
local constants = require "lode.http2.constants"
local settings = require "lode.http2.settings"
local headers = require "lode.http2.headers"
local Object = require "lode.class"
local errors = require "lode.errors"

local http2 = {}

http2.constants = constants
http2.sensitiveHeaders = headers.sensitiveHeaders
http2.getDefaultSettings = settings.getDefaultSettings
http2.getPackedSettings = settings.getPackedSettings
http2.getUnpackedSettings = settings.getUnpackedSettings

http2.Http2Session = core.Http2Session
http2.ServerHttp2Session = core.ServerHttp2Session
http2.ClientHttp2Session = core.ClientHttp2Session
http2.Http2Stream = core.Http2Stream
http2.ServerHttp2Stream = core.ServerHttp2Stream
http2.ClientHttp2Stream = core.ClientHttp2Stream
http2.Http2Server = core.Http2Server

-- The compatibility API's classes (filled in by the compat change).
http2.Http2ServerRequest = Object:extend("Http2ServerRequest")
http2.Http2ServerResponse = Object:extend("Http2ServerResponse")

-- http2.createServer([options][, onRequestHandler])
function http2.createServer(options, handler)
  if type(options) == "function" then options, handler = nil, options end
  if options ~= nil and type(options) ~= "table" then
    error(errors.ERR_INVALID_ARG_TYPE("options", "Object", options), 2)
  end
  if handler ~= nil and type(handler) ~= "function" then
    error(errors.ERR_INVALID_ARG_TYPE("onRequestHandler", "function", handler), 2)
  end
  return core.Http2Server.new(options, handler)
end

-- http2.connect(authority[, options][, listener])
function http2.connect(authority, options, listener)
  return core.connect(authority, options, listener)
end

function http2.createSecureServer()
  error(errors.ERR_HTTP2_UNSUPPORTED_PROTOCOL("https:"), 2)
end

return http2
