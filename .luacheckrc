std = "lua54"
max_line_length = 110
files["spec"] = { std = "+busted" }
globals = {}
read_globals = {
  -- The lode runtime's Node-style globals.
  "process", "console", "setTimeout", "setInterval", "setImmediate", "clearTimeout",
  "clearInterval", "clearImmediate", "URL", "URLSearchParams", "AbortController", "AbortSignal",
  "performance", "queueMicrotask", "Error", "TypeError", "RangeError",
}
exclude_files = { "build*/**" }
