-- The REPL that `lode` opens with no script: each line runs in a coroutine while the loop keeps
-- serving, so `res = http2.fetch(url)` simply waits at the prompt for the answer.
--
-- Expressions print their values (util.inspect); statements print nothing. Lines that do not
-- compile yet (an open `function`, `do`, a string) continue on a "... " prompt. Globals persist
-- between lines; `local`s live for one line, as in the lua5.4 REPL. `.help`, `.exit`, `.break`.
local core = require "lode_core"
local util = require "lode.util"
local process = require "lode.process"

local repl = {}

function repl.stdin_is_tty()
  return core.guess_handle(0) == "tty"
end

local HELP = [[
.break    Abandon the multi-line input
.exit     Leave the REPL (or press Ctrl-D)
.help     This text
Lines run in a coroutine: lode.await(emitter, 'event'), lode.sleep(ms) and http2.fetch(url)
wait for their answer while the event loop runs.
]]

local function write(s) core.write_stdout(s) end

-- Compiles a line as an expression first (so `1 + 1` prints 2), then as a statement.
-- Returns the chunk, or nil and "incomplete", or nil and the syntax error.
local function compile(code)
  local chunk = load("return " .. code, "=repl", "t")
  if chunk then return chunk end
  local err
  chunk, err = load(code, "=repl", "t")
  if chunk then return chunk end
  if err:find("<eof>$") then return nil, "incomplete" end
  return nil, err
end

local function show_results(res)
  if res.n == 0 then return end
  local parts = {}
  for i = 1, res.n do parts[i] = util.inspect(res[i], { colors = false }) end
  write(table.concat(parts, "\t") .. "\n")
end

function repl.start(options)
  options = options or {}
  local prompt = options.prompt or "> "
  local state = { pending = nil, partial = "", busy = false, queue = {}, closed = false }
  local handle

  local function show_prompt()
    if not state.closed then write(state.pending and "... " or prompt) end
  end

  local function finish_line(ok, res)
    if ok then
      show_results(res)
    else
      write("Uncaught " .. tostring(res) .. "\n")
    end
  end

  local run_queue

  local function run_line(line)
    if state.pending == nil then
      if line == ".exit" then
        state.closed = true
        handle:close()
        return
      elseif line == ".help" then
        write(HELP)
        return
      end
    end
    if line == ".break" then
      state.pending = nil
      return
    end
    local code = state.pending and (state.pending .. "\n" .. line) or line
    if code:match("^%s*$") then return end
    local chunk, err = compile(code)
    if not chunk then
      if err == "incomplete" then
        state.pending = code
      else
        state.pending = nil
        write(err .. "\n")
      end
      return
    end
    state.pending = nil
    -- The line runs in a coroutine; input waits until it has finished, whoever resumes it last
    -- (lode.await, lode.sleep and http2.fetch resume it from loop callbacks).
    state.busy = true
    local co = coroutine.create(function()
      local res = table.pack(xpcall(chunk, function(e) return e end))
      state.busy = false
      if res[1] then
        finish_line(true, table.pack(table.unpack(res, 2, res.n)))
      else
        finish_line(false, res[2])
      end
      if state.suspended then
        show_prompt()
        run_queue()
      end
    end)
    state.suspended = false
    coroutine.resume(co)
    if coroutine.status(co) ~= "dead" then state.suspended = true end
  end

  run_queue = function()
    while not state.busy and #state.queue > 0 and not state.closed do
      run_line(table.remove(state.queue, 1))
      if not state.busy then show_prompt() end
    end
    if state.eof and not state.busy and #state.queue == 0 and not state.closed then
      state.closed = true
      write("\n")
    end
  end

  local owner = {}
  function owner._on_read(_, chunk)
    if chunk == nil then
      -- End of input: what is queued still runs, then the REPL is over.
      state.eof = true
      handle:close()
      run_queue()
      return
    end
    state.partial = state.partial .. chunk
    for line in state.partial:gmatch("([^\n]*)\n") do
      state.queue[#state.queue + 1] = line:gsub("\r$", "")
    end
    state.partial = state.partial:match("[^\n]*$")
    run_queue()
  end

  function owner._on_error() end

  handle = assert(core.stdio(owner, 0))
  -- Errors from callbacks print and the REPL goes on, as in node's REPL.
  process:on("uncaughtException", function(err)
    write("Uncaught " .. tostring(err) .. "\n")
    show_prompt()
  end)
  if repl.stdin_is_tty() then
    write(string.format("Welcome to lode v%s (%s). Type .help for help.\n", core.version, _VERSION))
  end
  show_prompt()
  handle:read_start()
  return handle
end

return repl
