-- wb/nn_summary.lua: the size of a wb.Sequential, Sequential:summary()
-- (Keras's table of layers, output widths and parameter counts) and
-- Sequential:num_params().
--
-- Adds methods to the class of wb/nn.lua. The table is text as Keras prints
-- it (thousands separators, sizes in base 1024), returned as a wb.Summary
-- object that prints as text. Also the widths check of wb.nn.Sequential
-- and add (Sequential._width_mismatch).
local _ENV = require "wb.std"
local args = require "wb.args"
local wb = require "wb"
local Sequential = wb.nn.SequentialClass

-- The message for the first Dense of layers 1..n (at(i): layer i) whose
-- n_in is not the width reaching it, else nil. Widths are known only from a
-- Dense's n_out, kept through Dropout, Activation and Flatten (a Flatten
-- after a Dense sees [n, w] rows: it keeps w); any other layer (a Lua one)
-- makes it unknown. Caught here, a mismatch is not first met in fit.
local KEEPS_WIDTH = {Dropout = true, Activation = true, Flatten = true}
function Sequential._width_mismatch(n, at)
  local width, from
  for i = 1, n do
    local layer = at(i)
    local ok, kind = pcall(function() return layer.kind end)
    kind = ok and kind or nil
    local dense = kind == "Dense" and math.type(layer.n_in) == "integer"
      and math.type(layer.n_out) == "integer"
    if dense and width and layer.n_in ~= width then
      return string.format("layer %d (%s) takes %d inputs, but layer %d (%s) gives %d "
        .. "outputs%s: a Dense's n_in is the width of the layer before it", i,
        Sequential._describe(layer), layer.n_in, from, Sequential._describe(at(from)), width,
        from < i - 1 and string.format(" (through layers %d..%d)", from + 1, i - 1) or "")
    end
    if dense then width, from = layer.n_out, i
    elseif not KEEPS_WIDTH[kind] then width = nil end
  end
end

-- Number of parameters (elements) of one layer.
local function count_params(layer)
  if not layer.parameters then return 0 end
  local n = 0
  for _, p in ipairs((layer:parameters())) do n = n + p:numel() end
  return n
end

-- 101770 -> "101,770"
local function thousands(n)
  local s = tostring(math.floor(n))
  repeat
    local k
    s, k = s:gsub("^(%d+)(%d%d%d)", "%1,%2")
  until k == 0
  return s
end

-- Keras's readable_memory_size: base 1024, two decimals.
local function readable_size(bytes)
  local units = {"B", "KB", "MB", "GB", "TB"}
  local i = 1
  while bytes >= 1024 and i < #units do
    bytes = bytes / 1024
    i = i + 1
  end
  return string.format("%.2f %s", bytes, units[i])
end
Sequential._thousands, Sequential._readable_size = thousands, readable_size

-- Output width of layer i (nil when unknown): Dense gives n_out; Flatten the
-- next Dense's n_in; other layers keep their input's width.
local function out_width(self, i, prev)
  local layer = self[i]
  local ok, kind = pcall(function() return layer.kind end)
  kind = ok and kind or nil
  if kind == "Dense" then return layer.n_out end
  if kind == "Flatten" then
    for j = i + 1, #self do
      local okj, kj = pcall(function() return self[j].kind end)
      if okj and kj == "Dense" then return self[j].n_in end
    end
  end
  return prev
end

-- The result of summary(): text that prints as text. A plain string would
-- show quoted, with \n escapes, in the REPL; this object prints through
-- __tostring, and keeps the string's behaviour callers rely on: methods
-- (s:find, s:match ...) through __index, `..` on either side, #s. Another
-- name (s.txt, s.total_params) is an error naming the nearest, as is
-- setting one near its names (wb.spec_keys.bad_write).
local spec_keys = require "wb.spec_keys"
local Summary = {__name = "wb.Summary", __fields = {text = true}, __methods = string}
function Summary.__tostring(s) return s.text end
function Summary.__len(s) return #s.text end
function Summary.__concat(a, b)
  local function str(x) return getmetatable(x) == Summary and x.text or x end
  return str(a) .. str(b)
end
function Summary.__index(s, k)
  local f = string[k]
  if f == nil then error(spec_keys.no_field("wb.Summary", k, Summary, s), 2) end
  return function(self, ...) return f(self.text, ...) end
end
Summary.__newindex = spec_keys.newindex("wb.Summary", Summary, "s")

---wb.Sequential:summary() -> wb.Summary
---A Keras-like table: each layer, its output shape and parameter count,
---then the totals in parameters and float32 bytes. The result prints as
---text (print, the REPL); tostring(s) is the string, and string methods
---(s:find, s:match) and `..` work on it as on the string.
---@return table
---Example: print(m:summary())
function Sequential:summary(...)
  args.self(Sequential, self, "summary", "model")
  -- Keras's line_length, positions ... do not exist here: say so, never ignore them
  if select("#", ...) > 0 then
    args.input_fail(string.format("summary: takes no arguments, got %d (a %s)", select("#", ...),
      type((...))), 2)
  end
  local rule, lines = string.rep("_", 65), {}
  local function row(a, b, c)
    lines[#lines + 1] = string.format(" %-28s%-26s%s", a, b, c)
  end
  lines[1] = 'Model: "sequential"'
  lines[2] = rule
  row("Layer (type)", "Output Shape", "Param #")
  lines[#lines + 1] = string.rep("=", 65)
  local total, width, seen = 0, nil, {}
  for i = 1, #self do
    local layer = self[i]
    local ok, kind = pcall(function() return layer.kind end)
    kind = ok and kind or "Layer"
    local base = kind:lower()
    seen[base] = (seen[base] or -1) + 1
    local name = seen[base] == 0 and base or (base .. "_" .. seen[base])
    width = out_width(self, i, width)
    local n = count_params(layer)
    total = total + n
    row(string.format("%s (%s)", name, kind),
      string.format("(None, %s)", width and tostring(width) or "?"), thousands(n))
  end
  lines[#lines + 1] = string.rep("=", 65)
  lines[#lines + 1] = string.format("Total params: %s (%s)", thousands(total),
    readable_size(total * 4))
  lines[#lines + 1] = string.format("Trainable params: %s (%s)", thousands(total),
    readable_size(total * 4))
  lines[#lines + 1] = "Non-trainable params: 0 (0.00 B)"
  lines[#lines + 1] = rule
  return setmetatable({text = table.concat(lines, "\n")}, Summary)
end

---wb.Sequential:num_params() -> integer
---The total number of parameters (elements).
---@return integer
---Example: print(m:num_params()) --> 101770 for 784-128-10
function Sequential:num_params()
  args.self(Sequential, self, "num_params", "model")
  local n = 0
  for i = 1, #self do n = n + count_params(self[i]) end
  return n
end
