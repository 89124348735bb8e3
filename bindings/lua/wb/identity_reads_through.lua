-- wb/identity_reads_through.lua: calling a wrapped function from a read
-- wrapper (wb/identity_reads.lua and its neighbours). A C function a wrapper
-- calls (require, io.lines, io.open's mode check) raises at its caller's
-- line, which would be a line of the wrappers' files: through(name, f, ...)
-- raises such an error again at the line of the first caller outside them,
-- as without the wrapper ("x.lua:3: module 'y' not found"). Any other error
-- passes unchanged. Private to the runner.
local _ENV = require "wb.std"

-- (here, shared: wb/identity_reads.lua's, this file's, wb/identity_require.lua's, where
-- require's is, and wb/identity_reads_io.lua's, where io.open's and io.lines' are)
-- -> through(name, f, ...), through_after(name, after, f, ...)
return function(HERE)
  HERE[debug.getinfo(1, "S").short_src .. ":"] = true
  local function invoke(f, ...) return f(...) end
  local function relay(name, ok, ...)
    if ok then return ... end
    local e = ...
    -- a wb binding's bad argument is an input error (lwb_argerror): its text, kept one
    local keys = require "wb.spec_keys"
    local input = keys.is_input_error(e) and e
    if input then e = input.message end
    local at = type(e) == "string" and e:match("^(.-:)%d+: ")
    if not (at and HERE[at]) then error(input or e, 0) end
    e = (e:sub(#at + 1):gsub("^%d+: ", "", 1):gsub("^(bad argument #%d+ to )'f'",
      "%1'" .. name .. "'", 1))
    local level, info = 2, debug.getinfo(2, "S")
    while info and HERE[info.short_src .. ":"] do
      level = level + 1
      info = debug.getinfo(level, "S")
    end
    if input then require("wb.args").raise(keys.input_error(e, input.code), info and level or 0) end
    error(e, info and level or 0)
  end
  local function through(name, f, ...) return relay(name, pcall(invoke, f, ...)) end
  -- through, calling after() before it returns or raises (a tracker to stop)
  local function through_after(name, after, f, ...)
    local r = table.pack(pcall(invoke, f, ...))
    after()
    return relay(name, table.unpack(r, 1, r.n))
  end
  return through, through_after
end
