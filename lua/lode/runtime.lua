-- What the `lode` executable does: Node's module names and globals, then a script, `-e`, or the
-- REPL, then the loop until nothing keeps it alive, then exit like node.
local runtime = {}

-- Node's module names, each an alias of lode.NAME, for every module this build carries.
runtime.node_modules = {
  "events", "timers", "stream", "fs", "net", "url", "util", "http2", "tls", "perf_hooks",
  "console", "process", "string_decoder", "readline", "child_process",
}

local function install_aliases()
  for _, name in ipairs(runtime.node_modules) do
    local full = "lode." .. name
    if package.preload[full] or package.searchpath(full, package.path) then
      package.preload[name] = function() return require(full) end
    end
  end
end

local function optional(name)
  local ok, mod = pcall(require, name)
  if ok then return mod end
  if not tostring(mod):find("module '" .. name .. "' not found", 1, true) then error(mod, 0) end
  return nil
end

-- The globals a Node script expects.
function runtime.install_globals(env)
  env = env or _G
  local timers = require "lode.timers"
  local errors = require "lode.errors"
  env.process = require "lode.process"
  env.console = require "lode.console"
  for _, k in ipairs { "setTimeout", "setInterval", "setImmediate", "clearTimeout",
                       "clearInterval", "clearImmediate" } do
    env[k] = timers[k]
  end
  local url = optional "lode.url"
  if url then env.URL, env.URLSearchParams = url.URL, url.URLSearchParams end
  env.Error, env.TypeError, env.RangeError = errors.Error, errors.TypeError, errors.RangeError
  local abort = optional "lode.abort"
  if abort then env.AbortController, env.AbortSignal = abort.AbortController, abort.AbortSignal end
  local perf = optional "lode.perf_hooks"
  if perf then env.performance = perf.performance end
  env.queueMicrotask = function(fn) env.process.nextTick(fn) end
end

local USAGE = [[
Usage: lode [options] [ script.lua [arguments] ]
       lode -e "code" [arguments]
       lode                      (the REPL)

Options:
  -e, --eval CODE    run CODE
  -i, --interactive  open the REPL even if stdin is not a terminal
  -v, --version      print lode's version
  -h, --help         print this help

Modules: require "http2", "events", "stream", "net", "tls", "fs", "timers", "url", "util", ...
Documentation: README.md and the examples/ folder.
]]

-- Loads and runs the main chunk; errors go where uncaught errors go, as node does.
local function run_main(chunk, ...)
  local process = require "lode.process"
  local ok, err = xpcall(chunk, function(e)
    return { e, debug.traceback(nil, 2) }
  end, ...)
  if not ok then process._fatal(err[1], err[2]) end
  local ok2, err2 = xpcall(process._tickCallback, function(e) return { e, debug.traceback(nil, 2) } end)
  if not ok2 then process._fatal(err2[1], err2[2]) end
end

-- Runs the loop until it is empty; 'beforeExit' may schedule more work. Returns the exit code.
local function run_loop()
  local lode = require "lode"
  local process = require "lode.process"
  repeat
    lode.run("default")
    process:emit("beforeExit", process.exitCode or 0)
  until not require("lode_core").alive()
  process.exit()
end

-- What lode_embed_open() does after preloading: the runtime without a script.
function runtime.embed()
  install_aliases()
  require("lode").install()
  runtime.install_globals()
end

function runtime.main(exe, ...)
  -- Most of what a server allocates (a request's headers, its stream) dies young: the
  -- generational collector spends less on it than the incremental one (bench/README.md).
  collectgarbage("generational")
  local args = table.pack(...)
  runtime.embed()
  local lode = require "lode"
  local process = require "lode.process"

  local i, eval_code, interactive = 1, nil, false
  while i <= args.n do
    local a = args[i]
    if a == "-e" or a == "--eval" then
      eval_code = args[i + 1]
      if not eval_code then
        io.stderr:write("lode: -e requires an argument\n")
        return 9
      end
      i = i + 2
    elseif a == "-v" or a == "--version" then
      io.stdout:write("v" .. lode.version .. "\n")
      return 0
    elseif a == "-h" or a == "--help" then
      io.stdout:write(USAGE)
      return 0
    elseif a == "-i" or a == "--interactive" then
      interactive = true
      i = i + 1
    elseif a == "--" then
      i = i + 1
      break
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      io.stderr:write("lode: bad option: " .. a .. "\n")
      return 9
    else
      break
    end
  end

  process.argv = { exe }
  process.execPath = process.execPath or exe
  local chunk, err
  if eval_code then
    for j = i, args.n do process.argv[#process.argv + 1] = args[j] end
    chunk, err = load(eval_code, "=[eval]", "t")
  elseif i <= args.n and args[i] ~= "-" then
    local script = args[i]
    for j = i, args.n do process.argv[#process.argv + 1] = args[j] end
    chunk, err = loadfile(script)
    if not chunk then
      io.stderr:write("lode: cannot load " .. script .. ": " .. tostring(err) .. "\n")
      return 1
    end
  else
    for j = i + 1, args.n do process.argv[#process.argv + 1] = args[j] end
    local repl = optional "lode.repl"
    if repl and (interactive or repl.stdin_is_tty()) then
      repl.start()
      run_loop()
      return process.exitCode or 0
    end
    local src = io.stdin:read("a")
    chunk, err = load(src, "=[stdin]", "t")
  end
  if not chunk then
    io.stderr:write(tostring(err) .. "\n")
    return 1
  end
  -- Lua's own convention beside Node's: arg[0] is the script, arg[1..] its arguments.
  local arg = { [0] = process.argv[2] or exe }
  for j = 3, #process.argv do arg[#arg + 1] = process.argv[j] end
  _G.arg = arg
  run_main(chunk, table.unpack(arg))
  run_loop()
  return process.exitCode or 0
end

return runtime
