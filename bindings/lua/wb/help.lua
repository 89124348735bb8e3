-- wb/help.lua: help(x) for every public name of wb, `workbench -h TOPIC`,
-- a coverage check, and the language-server annotations of the Lua modules.
--
-- One source per name: the text lives next to the code it documents, as a
-- block of `---` comment lines (LuaLS style) directly above a definition.
--   * A Lua function or class is documented in its module under wb/.
--   * A C function or class is documented in a hand-written annotation file of
--     the language server's format, meta/<module>.lua (one per binding
--     file): the same block above an empty `function wb.zeros(...) end`,
--     a `---@class` with its `local` table, or a module's `wb.sys = {}`.
--   * The block's first line is the signature that names it:
--     "wb.runs.find(query) -> wb.Runs", "wb.Tensor:sum() -> number",
--     "wb.Run" (a class), "wb.runs" (a module). Then a paragraph (what it
--     does, defaults), optional LuaLS tags (---@param name type,
--     ---@return type) and "Example:" lines.
--   * A block may open with several signature lines: one text for several
--     names (the layers' shared forward/backward, aliases such as view).
--   * A documented value (a preset, a name list, defaults: data a user
--     passes or reads) is its bare name with a ---@type tag, above its
--     assignment: "wb.instruments.economy" then "---@type string[]". help
--     shows its text, its live contents and the entries that mention it;
--     wb.help.check wants every data table of wb documented so, or excluded
--     in wb/help/values.lua (which also holds the blocks of values whose
--     modules are owned elsewhere).
-- Why this way: the `---` blocks are what lua-language-server reads, so the
-- same text is the REPL's help, `workbench -h NAME` and the editor's; the
-- Lua modules' annotations are generated on demand (wb.help.meta, `make
-- meta` into build/), the C stubs are read as they are; nothing is
-- registered at load time, so help costs nothing until asked; and a name is
-- only documented in one place, so a stale or missing entry is found by
-- wb.help.check (tests/lua/test_lab.lua walks wb).
-- Blocks are read from the installed Lua files (wb.luadir: wb/ and meta/)
-- the first time help is asked for. A function is found by value (the
-- names it has in wb and in the class metatables, else the block right
-- above its definition, which also works for a user's own functions) or by
-- name; a data table by value (the documented name whose value it is) or name.
--
-- Reading and indexing the blocks is wb/help/index.lua, finding the names
-- in wb wb/help/walk.lua, the annotation file wb/help/meta.lua, values'
-- contents and exclusions wb/help/values.lua; this file looks up, renders
-- and checks. It adds wb.help; the REPL (wb/repl.lua) sets the global `help`.
local _ENV = require "wb.std"
local wb = require "wb"
local index = require "wb.help.index"
local walk = require "wb.help.walk"
local values = require "wb.help.values"

local M = {}

-- Every documented name (help/index.lua), the block right above a Lua
-- function, the walk of wb (help/walk.lua): kept on wb.help for the tests
-- and the annotation writer.
M._index, M._by_position, M._walk = index.index, index.by_position, walk.walk
local sig_name, class_name, is_class = index.sig_name, walk.class_name, walk.is_class

local walked
local function names_of(f)
  walked = walked or M._walk()
  return walked.functions[f]
end

-- {==================== lookup ====================

-- The value at a name ("wb.nn.Dense"); nil if none or a part is empty ("wb..").
local function value_at(name)
  local v, path = wb, name:gsub("^wb%.?", "")
  if path:find("^[.:]") or path:find("[.:][.:]") or path:find("[.:]$") then return nil end
  for part in path:gmatch("[^.:]+") do
    if type(v) ~= "table" then return nil end
    v = rawget(v, part)
  end
  return v
end

-- Members of prefix in the index ("wb.runs" + "." or "wb.Run" + ":"),
-- sorted: list of {name, entry}.
local function members(prefix, sep)
  local out = {}
  for name, e in pairs(M._index()) do
    if name:sub(1, #prefix + 1) == prefix .. sep and not name:find("[.:]", #prefix + 2) then
      out[#out + 1] = {name = name, e = e}
    end
  end
  table.sort(out, function(a, b) return a.name < b.name end)
  return out
end

-- The classes of the objects the documentation's examples name by a
-- variable (model:fit, opt:step, ds:subset, runs:table, task:figure).
local receivers = {model = "Sequential", m = "Sequential", layer = "Dense", opt = "Optimizer",
  optimizer = "Optimizer", t = "Tensor", tensor = "Tensor", ds = "Dataset", dataset = "Dataset",
  runs = "Runs", rs = "Runs", run = "Run", r = "Run", ex = "Experiment", task = "Task",
  h = "History", history = "History", plot = "Plot", p = "Plot"}

---wb.help.find(x) -> table|nil
---The doc entry of x (what wb.help.text renders): a table with name, sig,
---body (lines), params, returns, file, line and kind ("function", "class",
---"module" or "value"; a value's ---@type is its type); nil when x has none.
---@param x any
---@return table|nil
---Example: print(wb.help.find(wb.zeros).sig)
function M.find(x)
  local idx = M._index()
  if type(x) == "string" then
    local n = x:gsub("%(%)$", "")
    local tries = {n, "wb." .. n, (n:gsub("^(wb%.%u[%w_]*)%.", "%1:")),
      "wb." .. n:gsub("^(%u[%w_]*)%.", "%1:")}
    for _, t in ipairs(tries) do if idx[t] then return idx[t] end end
    -- "model:fit", "runs:table": the receivers README and the examples use
    local recv, meth = n:match("^(%l[%w_]*)[:.]([%w_]+)$")
    local method = recv and receivers[recv] and ("wb." .. receivers[recv] .. ":" .. meth)
    if method and idx[method] then return idx[method] end
    -- a path to a value: wb.nn.SequentialClass.fit
    local v = value_at(n)
    if n:gsub("^wb%.?", "") ~= "" and v ~= nil and type(v) ~= "string" then return M.find(v) end
    return nil
  end
  if x == wb then return idx.wb end
  if type(x) == "function" then
    for _, n in ipairs(names_of(x) or {}) do if idx[n] then return idx[n] end end
    return M._by_position(x)
  end
  if type(x) == "table" then
    walked = walked or M._walk()
    for name, t in pairs(walked.modules) do if t == x then return idx[name] end end
    if is_class(x) then
      local c = class_name(x)
      if c then return idx[c] end
    end
    local e = values.find(x, idx, walked) -- a data table: a preset, a name list
    if e then return e end
  end
  local mt = getmetatable(x)
  if type(mt) == "table" then
    local c = class_name(mt)
    if c then return idx[c] end
  end
  return nil
end

-- Names containing s, for "did you mean"; none: the nearest name by edit
-- distance, whole (wb.runs.fnd) or, for a bare word, by its last part
-- (weightgrid).
local function similar(s)
  s = tostring(s):lower():gsub("^wb%.", "")
  local out, whole, last = {}, {}, {}
  for name in pairs(M._index()) do
    if #s > 0 and name:lower():find(s, 1, true) then out[#out + 1] = name end
    local l = name:lower():gsub("^wb%.?", "")
    local part = l:match("[^.:]*$")
    whole[l], last[part] = name, (last[part] or name) < name and last[part] or name
  end
  if #out == 0 and #s > 2 then
    local nearest, keys = require("wb.spec").nearest, require("wb.util").sorted_keys
    -- else the last part alone: "model:fitt" is no class's, its "fitt" near "fit" (tryM 13)
    local near, part = s:find("[.:]") and nearest(s, keys(whole)), s:match("[^.:]*$")
    out[1] = near and whole[near] or #part > 2 and last[nearest(part, keys(last))] or nil
  end
  table.sort(out)
  return out
end

-- }====================

-- {==================== text ====================

-- The first sentence of an entry's text (an abbreviation such as "e.g."
-- does not end it: a sentence ends before a capital letter).
local function first_sentence(e, width)
  local s = table.concat(e.body, " "):gsub("%s+", " ")
  local at = 1
  repeat
    local cut = s:find("%.%s+[%u\"`]", at)
    if cut and not s:sub(cut - 3, cut):match("^[ei]%.[ge]%.$") then
      s = s:sub(1, cut)
      break
    end
    at = cut and cut + 1
  until not at
  if s:match("^Example") then s = "" end
  if #s > width then s = s:sub(1, width - 3) .. "..." end
  return s
end

-- The signature line of entry e that names `name`, relative to prefix.
local function sig_for(e, name, prefix)
  local sig = e.sig
  for _, s in ipairs(e.sigs) do if sig_name(s) == name then sig = s end end
  return (sig:sub(#prefix + 1):gsub("^%.", ""))
end

-- Members of a module or class, grouped: modules, classes, functions.
local function member_lines(e, out)
  local name = e.name
  local ms = members(name, ".")
  for _, m in ipairs(members(name, ":")) do ms[#ms + 1] = m end
  local groups = {{"Modules:"}, {"Classes:"}, {"Functions:"}, {"Values:"}}
  for _, m in ipairs(ms) do
    local rel = sig_for(m.e, m.name, name)
    if #rel > 28 then -- shorten long argument lists in the overview
      rel = rel:gsub("%b{}", function(x) return #x > 12 and "{...}" or x end)
        :gsub("%b()", function(x) return #x > 16 and "(...)" or x end)
    end
    if #rel > 28 then rel = rel:gsub("%s*%->.*$", "") end -- the type: in its own help
    local g = ({module = 1, class = 2, ["function"] = 3, value = 4})[m.e.kind]
    if g == 3 and rel:sub(1, 1) == ":" then groups[3][1] = "Methods:" end
    local left = string.format("    %-28s ", rel)
    groups[g][#groups[g] + 1] = left .. first_sentence(m.e, math.max(20, 100 - #left))
  end
  for _, g in ipairs(groups) do
    if #g > 1 then g[1] = "  " .. g[1]; table.move(g, 1, #g, #out + 1, out) end
  end
end

local function render(e)
  local out, example = {table.unpack(e.sigs)}, nil
  if e.kind == "value" then out[1] = out[1] .. " (" .. e.type .. ")" end
  for _, l in ipairs(e.body) do
    if l:match("^Example") then example = {} end
    local t = example or out
    t[#t + 1] = "  " .. l
  end
  if #e.params > 0 then
    out[#out + 1] = "  Parameters:"
    for _, p in ipairs(e.params) do out[#out + 1] = "    " .. p end
  end
  if #e.returns > 0 then out[#out + 1] = "  Returns: " .. table.concat(e.returns, ", ") end
  if e.kind == "value" then
    for _, l in ipairs(values.contents(value_at(e.name))) do out[#out + 1] = l end
  end
  for _, l in ipairs(example or {}) do out[#out + 1] = l end
  if e.kind == "value" then
    for _, l in ipairs(values.mentions(e.name, M._index())) do out[#out + 1] = l end
  end
  member_lines(e, out)
  return table.concat(out, "\n") .. "\n"
end

---wb.help.text(x) -> string|nil
---The help text of x (a function, class, module, object, or a name such
---as "wb.zeros", "zeros", "Tensor:sum", "wb.runs"), or nil and a message
---naming similar names when there is none. x = nil gives the overview.
---@param x any
---@return string|nil
---Example: print(wb.help.text("wb.runs.find"))
function M.text(x)
  if x == nil then x = "wb" end
  local e = M.find(x)
  if e then return render(e) end
  -- (a __tostring that fails names the type; a long string, such as a
  -- file's contents given by mistake, is cut and has no similar names:
  -- the edit distance to every name would take minutes)
  local ok, shown = pcall(tostring, x)
  if not ok or type(shown) ~= "string" then shown = type(x) end
  if #shown > 80 then shown = shown:sub(1, 60) .. "..." end
  local what = type(x) == "string" and ("'" .. shown .. "'") or shown
  local msg = "no help for " .. what
  if type(x) == "number" or type(x) == "boolean" then -- help(wb.lab.near_zero) passes 0.001
    walked = walked or M._walk()
    msg = msg .. values.equal_names(x, M._index(), walked)
  end
  if type(x) == "string" and #x <= 80 then
    local s = similar(x)
    if #s > 0 then
      if #s > 12 then s = {table.unpack(s, 1, 12)}; s[#s + 1] = "..." end
      msg = msg .. "; see: " .. table.concat(s, ", ")
    end
  end
  return nil, msg
end

---wb.help
---Help for every public name of wb: help(x) in the REPL, wb.help(x) in a
---script, `workbench -h TOPIC` on the command line. x is a function, a
---class, a module, any wb object (a tensor, a model, a run...), a
---documented value (wb.instruments.economy, wb.losses.NAMES) or a name:
---"wb.zeros", "zeros", "Tensor:sum", "wb.runs". help() lists the modules.
---The text is the doc block next to each function's code (see
---bindings/lua/wb/help.lua for the format).
---Example: help(wb.runs.find); help(model.fit); help("Tensor:sum")

---wb
---The workbench library: tensors (wb.tensor, wb.zeros ...), layers and
---models (wb.nn), optimizers (wb.optim), data (wb.data), images (wb.image),
---plots (wb.plot), experiments and their runs (wb.experiment, wb.runs),
---the study's measures (wb.measures), weight inspection (wb.stats,
---wb.lab). In the workbench executable it is the global `wb`; from lua5.4,
---`local wb = require "wb"`. help(x) explains any name below.
---Example: help(wb.nn); help("wb.runs.find"); help(wb.zeros(2, 3))

---wb.help.show(x)
---Prints the help text of x (see wb.help.text); the REPL's global `help`.
---Prints "no help for ..." with similar names when there is none. help()
---is the overview, but help(nil) says that its argument is nil: a class
---written as in the docs, help(wb.Tensor), is no field of wb (quote it).
---@param x any
---Example: wb.help.show(wb.stats)
function M.show(...)
  local x, n = ..., select("#", ...)
  if n > 1 then error("help: one argument expected (a value or a name), got " .. n, 2) end
  if n > 0 and x == nil then
    io.stdout:write('no help for nil: the argument is not set; a class is a name, ',
      'help("wb.Tensor"); help() lists all\n')
    io.stdout:flush()
    return
  end
  local t, msg = M.text(x)
  io.stdout:write(t or (msg .. "\n"))
  io.stdout:flush()
end

---wb.help.cli(topic) -> integer
---`workbench -h TOPIC`: prints the help text of the name TOPIC on stdout
---and returns 0, or prints "no help for ..." on stderr and returns 1.
---@param topic string
---@return integer
---Example: local status = wb.help.cli("wb.runs.find")
function M.cli(topic)
  local t, msg = M.text(topic)
  if t then io.stdout:write(t); io.stdout:flush(); return 0 end
  io.stderr:write("workbench: ", msg, "\n")
  return 1
end

---wb.help.check(extra) -> table, table
---Coverage: the public names (functions, methods of classes reachable from
---wb, the C types' metatables and the classes of the objects in `extra`,
---data tables such as wb.instruments.economy unless wb/help/values.lua
---excludes them) that have no help, and the documented names that name
---nothing or something of another kind (stale docs: a value documented
---with ---@type must exist with that type). Metamethods (__tostring ...)
---are not required. Both lists sorted.
---@param extra? table
---@return table missing
---@return table stale
---Example: local missing, stale = wb.help.check(); print(#missing, #stale)
function M.check(extra)
  local w = M._walk(extra)
  local idx = M._index()
  local missing, found = {}, {}
  for f, names in pairs(w.functions) do
    local e
    for _, n in ipairs(names) do e = e or idx[n] end
    e = e or M._by_position(f)
    if e then
      for _, n in ipairs(e.names) do found[n] = true end
    else
      table.sort(names, function(x, y) -- "wb.C:m" over "wb.mod.C.m"
        local cx, cy = x:find(":", 1, true) ~= nil, y:find(":", 1, true) ~= nil
        if cx ~= cy then return cx end
        return #x < #y
      end)
      missing[#missing + 1] = names[1]
    end
  end
  for name in pairs(w.classes) do
    if idx[name] then found[name] = true else missing[#missing + 1] = name end
  end
  for name in pairs(w.modules) do
    if idx[name] then found[name] = true else missing[#missing + 1] = name end
  end
  local stale = {}
  values.check(idx, w, found, missing, stale)
  for name in pairs(idx) do
    if not found[name] and not w.names[name] and name ~= "wb"
        and not name:find(":__", 1, true) then
      stale[#stale + 1] = name
    end
  end
  table.sort(missing); table.sort(stale)
  return missing, stale
end

-- }====================

---wb.help.reset()
---Forgets what help has read (doc blocks, the walk of wb), so that names
---added to wb or source files edited since are seen by the next call.
---Example: wb.help.reset()
function M.reset()
  index.reset()
  walked = nil
end

---wb.help.meta() -> string
---The Lua language-server annotation file of the Lua modules of wb
---(`---@meta`, `---@class`, `---@param` ...), generated from the same doc
---blocks as help (`make meta` writes it to build/meta/wb.lua). The C API's
---annotations are the hand-written files in meta/ beside wb/.
---@return string
---Example: io.write(wb.help.meta())
function M.meta()
  return require("wb.help.meta")(M)
end

wb.help = setmetatable(M, {__call = function(_, ...) return M.show(...) end})
return M
