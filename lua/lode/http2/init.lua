-- Node's lib/http2.js: the http2 module's public face.
--
--   local http2 = require "lode.http2"     -- require "http2" under the lode runtime
--   local server = http2.createServer()
--   server:on("stream", function(stream, headers) ... end)
--   server:listen(8000)

-- Node without crypto throws from require('http2'); so does a lode built with -Dtls=false.
if not require("lode_core").tls_context then
  local err = require("lode.errors").Error.new(
    "HTTP/2 support is disabled in this build of lode (meson -Dtls=false)")
  err.code = "ERR_NO_CRYPTO"
  error(err, 0)
end

local core = require "lode.http2.core"
require "lode.http2.files" -- respondWithFile / respondWithFD on ServerHttp2Stream
local constants = require "lode.http2.constants"
local settings = require "lode.http2.settings"
local headers = require "lode.http2.headers"
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

-- The Compatibility API's classes (lode.http2.compat).
local compat = require "lode.http2.compat"
http2.Http2ServerRequest = compat.Http2ServerRequest
http2.Http2ServerResponse = compat.Http2ServerResponse

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

-- http2.createSecureServer(options[, onRequestHandler]): lode.http2.secure
function http2.createSecureServer(options, handler)
  return require("lode.http2.secure").createSecureServer(options, handler)
end

return http2
