-- The Core API examples of the http2 document (examples/http2_*.lua), each run as its own lode
-- process: exact output, exit status 0. examples/README.md maps every code block of the
-- document's Core API part to its example and to the spec that runs it.
local helper = require "spec.helper"

local cases = {
  { "http2_session_ping.lua",
    "Ping acknowledged, duration is a number: true\nWith payload 'abcdefgh'\nclient closed\n" },
  { "http2_remote_settings.lua", "remoteSettings maxConcurrentStreams: 42\n" },
  { "http2_session_timeout.lua", "session timed out\n" },
  { "http2_send_trailers.lua", "body: Hello World\ntrailer xyz: abc\n" },
  { "http2_wanttrailers.lua", "status: 200\nbody: some data\ntrailer abc: some value to send\n" },
  { "http2_stream_close.lua", "client stream rstCode: 8\nserver stream rstCode: 8\n" },
  { "http2_response_event.lua", "200\ntext/plain; charset=utf-8\nhello GET /x\n" },
  { "http2_headers_event.lua", "headers: 103 </style.css>; rel=preload\nresponse: 200\n" },
  { "http2_push_stream.lua", "response: some data\npushed /pushed: some pushed data\n" },
  { "http2_push_client.lua",
    "response 200\ndata: page\npush /style.css 200 text/css\npushed data: body{}\n" },
  { "http2_get_packed_settings.lua", "6\nAAIAAAAA\nunpacked enablePush: false\n" },
  { "http2_headers_object.lua", "/p\na, b\nhas, more, than, one, value\n" },
  { "http2_sensitive_headers.lua", "very secret data\nsensitive: cookie,other-sensitive-header\n" },
  { "http2_goaway.lua", "goaway code=0 lastStreamID=0 opaqueData=bye!\n" },
  { "http2_error_handling.lua",
    "false\tRangeError\tERR_HTTP2_INVALID_SETTING_VALUE\n"
    .. "stream error: ERR_STREAM_WRITE_AFTER_END\nbody: done\n" },
  { "http2_session_stream.lua", "server got GET /hi\nhello world\n" },
  -- Node 20 prints the same: the initial SETTINGS is acknowledged first, then the change.
  { "http2_session_settings.lua",
    "localSettings enablePush: true\nlocalSettings enablePush: false\n"
    .. "session.localSettings.enablePush: false\n" },
  { "http2_set_local_window_size.lua", "local window size: 1048576\n" },
  -- Each of these prints what Node 20 prints for the same program in JavaScript.
  { "http2_server_stream_event.lua", "200 text/html; charset=utf-8\n<h1>Hello World</h1>\n" },
  { "http2_altsvc_client.lua", "h2=:8000\nhttps://example.org:80\n0\nh2=:8000\n\n1\n" },
  { "http2_origin.lua", "https://example.com\nhttps://example.org\nbody: ok\n"
    .. "originSet: https://example.com, https://example.org\n", "#tls" },
  { "http2_origins_option.lua", "https://example.com\nhttps://example.org\nbody: ok\n", "#tls" },
  { "http2_client_request.lua", "200\ndata: some data\nend\n" },
  { "http2_respond.lua", "status: 200\nbody: some data\n" },
  { "http2_respond_with_file_trailers.lua",
    "status: 200 content-length: 14\ntrailer abc: some value to send\nbody: the file body\n" },
  { "http2_server_stream_constants.lua",
    "server: POST /upload flags 4\n200 text/plain; charset=utf-8\nhello world\n" },
  { "http2_secure_server_stream.lua",
    "server: GET /secure flags 5\n200 text/plain; charset=utf-8\nhello world\n", "#tls" },
  { "http2_connect_close.lua",
    "connecting: true\nafter close(): closed: true\nclosed: true, destroyed: true\n" },
}

describe("Core API examples", function()
  for _, case in ipairs(cases) do
    local name, expected, tag = case[1], case[2], case[3]
    local title = "examples/" .. name .. " prints what it demonstrates and exits 0"
    it(tag and title .. " " .. tag or title, function()
      local out, status = helper.sh("timeout 10 " .. helper.q(helper.lode) .. " "
        .. helper.q(helper.root .. "/examples/" .. name))
      assert.are.equal(expected, out)
      assert.are.equal(0, status)
    end)
  end
end)
