-- wb/plot/util.lua: helpers shared by the wb.plot figure kinds.
--
-- Escaping (gnuplot strings, shell words, CSV fields), number formatting,
-- option checking and the conversion of Lua tables or wb tensors into plain
-- Lua arrays. Nothing here runs gnuplot or touches files; see wb/plot.lua.
-- Conventions: `what` arguments name the offending option in error messages
-- ("series[2].y"); helpers raise error(msg, 0) and the public constructor
-- adds "wb.plot.<kind>: " and re-raises at its caller's level.
local _ENV = require "wb.std"
local U = {}

local inf = math.huge

-- ---------------------------------------------------------------- escaping

-- A gnuplot string expression holding `s` as plain text. Inside single
-- quotes gnuplot expands nothing (no backslash escapes, backquotes or
-- @macros). A quote character itself is never written inside a string:
-- gnuplot's macro scan toggles on every ' it sees (even a doubled one, or
-- one inside double quotes), so the text is cut at each quote and the
-- pieces joined with "\047" (octal escape, in double quotes: nothing else
-- there to expand): a'b -> 'a' . "\047" . 'b'. Control characters
-- (newlines included) would end the command, so they become spaces.
-- Enhanced-text markup (^ _ @ & { }) is disabled separately with
-- `noenhanced`.
function U.q(s)
  s = tostring(s):gsub("%c", " ")
  if s == "" then return "''" end
  local out, start = {}, 1
  while true do
    local q = s:find("'", start, true)
    local piece = s:sub(start, (q or #s + 1) - 1)
    if piece ~= "" then out[#out + 1] = "'" .. piece .. "'" end
    if not q then break end
    out[#out + 1] = '"\\047"'
    start = q + 1
  end
  return table.concat(out, " . ")
end

-- A title's lines for a figure `px` pixels wide: words wrapped at the
-- characters that fit in the house title font (13 pt, about 9 px a
-- character in pngcairo's DejaVu Sans), so a long title is not cut at both sides of a
-- narrow figure. A word longer than a line keeps a line of its own. On
-- gnuplot's dumb terminal (`dumb`) one line: a panel of a few rows has none
-- to spare, and its title may run into the margins.
function U.title_lines(title, px, dumb)
  if dumb then return {(tostring(title):gsub("%c", " "))} end
  local per = math.max(12, math.floor((px - 20) / 9))
  local lines, cur = {}, nil
  for word in tostring(title):gsub("%c", " "):gmatch("%S+") do
    if cur and #cur + 1 + #word <= per then cur = cur .. " " .. word
    else
      if cur then lines[#lines + 1] = cur end
      cur = word
    end
  end
  lines[#lines + 1] = cur or ""
  return lines
end

-- "set title ..." for a figure px wide (U.title_lines, joined by gnuplot's
-- "\n") and how many lines it has.
function U.set_title(title, px, font, dumb)
  local lines = U.title_lines(title, px, dumb)
  local parts = {}
  for i, l in ipairs(lines) do parts[i] = U.q(l) end
  return "set title " .. table.concat(parts, ' . "\\n" . ') .. " font " .. U.q(font), #lines
end

-- A POSIX shell word holding `s` literally.
function U.sh(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- A number as written to CSV and scripts: %.9g; NaN and +-inf as "NaN",
-- which gnuplot reads as an undefined point (a gap, never an error).
function U.num(v)
  if v ~= v or v == inf or v == -inf then return "NaN" end
  if math.type(v) == "integer" then return tostring(v) end
  return string.format("%.9g", v)
end

-- One CSV field (RFC 4180): numbers via U.num; text is quoted when it holds
-- a comma, quote or leading/trailing space, with quotes doubled. Newlines
-- become spaces so that one record is always one line (gnuplot's `skip`).
local function field(v)
  if type(v) == "number" then return U.num(v) end
  local s = tostring(v == nil and "" or v):gsub("[\r\n]", " ")
  if s:find('[,"]') or s:find("^%s") or s:find("%s$") then
    s = '"' .. s:gsub('"', '""') .. '"'
  end
  return s
end
U.csv_field = field

-- CSV text from a header (array of names) and rows (arrays of values).
function U.csv(header, rows)
  local out = {}
  local line = {}
  for i, h in ipairs(header) do line[i] = field(h) end
  out[1] = table.concat(line, ",")
  for r, row in ipairs(rows) do
    line = {}
    for i = 1, #header do line[i] = field(row[i]) end
    out[r + 1] = table.concat(line, ",")
  end
  out[#out + 1] = ""
  return table.concat(out, "\n")
end

-- ---------------------------------------------------------------- options

-- Raise if `opts` holds a key not in `valid` (an array); the message lists
-- the valid keys.
function U.check_keys(opts, valid)
  if type(opts) ~= "table" then
    error("expected an options table, got " .. type(opts), 0)
  end
  local ok = {}
  for _, k in ipairs(valid) do ok[k] = true end
  for k in pairs(opts) do
    if not ok[k] then
      local names = {}
      for _, n in ipairs(valid) do names[#names + 1] = n end
      table.sort(names)
      error(string.format("unknown option '%s' (valid: %s)",
        tostring(k), table.concat(names, ", ")), 0)
    end
  end
end

-- Re-raise d, what a constructor's pcall'd checks raised, with prefix
-- ("wb.plot.lines: ") at the line `level` frames above the caller, as
-- error(msg, level) would there. A check's own message (a string without a
-- position: error(msg, 0) above) or an input error is a mistake in the
-- options: an input error, printed alone without a traceback (README, "Exit
-- status"); a bug's "x.lua:12: attempt to index ..." keeps its traceback.
function U.reraise(prefix, d, level)
  local args = require "wb.args"
  local msg = prefix .. tostring(d)
  if type(d) == "string" and not d:find("^[^\n]-%.lua:%d+: ")
      or require("wb.spec_keys").is_input_error(d) then
    args.input_fail(msg, level + 1)
  end
  error(msg, level + 1)
end

-- Plot:show's options: width and height in characters, positive integers
-- (3.5 or -1 would silently draw the default size).
function U.check_show(opts)
  local ok, err = pcall(U.check_keys, opts, {"width", "height"})
  if not ok then error("wb.Plot:show: " .. err, 0) end
  for _, k in ipairs{"width", "height"} do
    local v = opts[k]
    if v ~= nil and not (math.tointeger(v) and v >= 1) then
      error(string.format("wb.Plot:show: %s: expected a positive integer, got %s", k,
        tostring(v)), 0)
    end
  end
end

-- Optional text option: nil or a string/number; returned as a string.
function U.text(v, what)
  if v == nil then return nil end
  if type(v) ~= "string" and type(v) ~= "number" then
    error(what .. ": expected a string, got " .. type(v), 0)
  end
  return tostring(v)
end

-- Optional {lo, hi} range; either end may be nil (autoscale).
function U.range(v, what)
  if v == nil then return nil end
  if type(v) ~= "table" then
    error(what .. ": expected {lo, hi}, got " .. type(v), 0)
  end
  for i = 1, 2 do
    local x = v[i]
    if x ~= nil and (type(x) ~= "number" or x ~= x or x == inf or x == -inf) then
      error(what .. ": expected finite numbers {lo, hi}", 0)
    end
  end
  if v[1] and v[2] and v[1] >= v[2] then
    error(string.format("%s: expected lo < hi, got {%s, %s}", what,
      U.num(v[1]), U.num(v[2])), 0)
  end
  return {v[1], v[2]}
end

-- gnuplot range text "[lo:hi]" with * for an open end.
function U.gprange(r)
  local function e(x) return x and U.num(x) or "*" end
  return "[" .. e(r[1]) .. ":" .. e(r[2]) .. "]"
end

-- Optional {width, height} in pixels.
function U.size(v, what)
  if v == nil then return nil end
  if type(v) ~= "table" or math.type(v[1]) ~= "integer" or math.type(v[2]) ~= "integer"
      or v[1] < 16 or v[2] < 16 or v[1] > 20000 or v[2] > 20000 then
    error(what .. ": expected {width, height} in pixels (16..20000)", 0)
  end
  return {v[1], v[2]}
end

-- Optional raw gnuplot commands: a string or an array of strings. These are
-- trusted (passed through unescaped), like code in the script itself.
function U.extra(v, what)
  if v == nil then return {} end
  if type(v) == "string" then v = {v} end
  if type(v) ~= "table" then error(what .. ": expected a string or strings", 0) end
  local out = {}
  for i, s in ipairs(v) do
    if type(s) ~= "string" then error(what .. ": expected strings", 0) end
    out[i] = s:gsub("[\r\n]", " ")
  end
  return out
end

-- ---------------------------------------------------------------- data

local function is_tensor(v)
  if type(v) ~= "userdata" then return false end
  local ok, f = pcall(function() return v.totable end)
  return ok and type(f) == "function"
end
U.is_tensor = is_tensor

local function flatten(t, out)
  for i = 1, #t do
    local x = t[i]
    if type(x) == "table" then flatten(x, out) else out[#out + 1] = x end
  end
  return out
end

-- A flat array of numbers from a table (nested tables are flattened) or a
-- tensor of any shape.
function U.vector(v, what)
  if is_tensor(v) then v = v:totable() end
  if type(v) ~= "table" then
    error(what .. ": expected a table or tensor of numbers, got " .. type(v), 0)
  end
  local out = flatten(v, {})
  for i = 1, #out do
    if type(out[i]) ~= "number" then
      error(string.format("%s[%d]: expected a number, got %s", what, i, type(out[i])), 0)
    end
  end
  return out
end

-- Rows of a rectangular matrix from a table of rows or a 2-D tensor.
function U.matrix(v, what)
  if is_tensor(v) then
    local shape = v:shape()
    if #shape ~= 2 then
      error(string.format("%s: expected a 2-D tensor, got %d-D", what, #shape), 0)
    end
    v = v:totable()
  end
  if type(v) ~= "table" or #v == 0 or type(v[1]) ~= "table" then
    error(what .. ": expected a non-empty table of rows or a 2-D tensor", 0)
  end
  local n_col = #v[1]
  local rows = {}
  for r = 1, #v do
    local row = v[r]
    if type(row) ~= "table" or #row ~= n_col or n_col == 0 then
      error(string.format("%s: row %d has %s values, expected %d", what, r,
        type(row) == "table" and tostring(#row) or "no", n_col), 0)
    end
    for c = 1, n_col do
      if type(row[c]) ~= "number" then
        error(string.format("%s[%d][%d]: expected a number", what, r, c), 0)
      end
    end
    rows[r] = row
  end
  return rows
end

-- Optional array of text labels of length n (nil when absent).
function U.labels(v, n, what)
  if v == nil then return nil end
  if type(v) ~= "table" then error(what .. ": expected a table of strings", 0) end
  if n and #v ~= n then
    error(string.format("%s: expected %d labels, got %d", what, n, #v), 0)
  end
  local out = {}
  for i = 1, #v do out[i] = tostring(v[i]) end
  return out
end

-- Finite minimum and maximum of an array (nil, nil if none is finite).
function U.finite_range(xs, lo, hi)
  for i = 1, #xs do
    local x = xs[i]
    if x == x and x ~= inf and x ~= -inf then
      if not lo or x < lo then lo = x end
      if not hi or x > hi then hi = x end
    end
  end
  return lo, hi
end

function U.is_finite(x)
  return x == x and x ~= inf and x ~= -inf
end

-- p when it is one of allowed, else an error "what: expected one of ...".
function U.one_of(p, allowed, what)
  for _, a in ipairs(allowed) do if p == a then return p end end
  error(string.format("%s: expected one of %s, got %s", what,
    table.concat(allowed, ", "), tostring(p)), 0)
end

return U
