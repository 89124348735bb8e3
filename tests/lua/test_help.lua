-- test_help.lua: help() for every public name (a walk of wb) and every
-- data table of wb (documented values such as wb.instruments.economy, or
-- excluded on purpose), `workbench -h NAME`, the language-server
-- annotation file against the wb table, and the man page.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
local root = T.tmpdir()

-- {==== help ====

-- One object of every class that is not reachable from wb without one.
local function instances()
  local ds = wb.data.Dataset(wb.new_tensor({2, 4}, "uint8"), wb.new_tensor({2}, "uint8"))
  local runs = wb.runs.Runs({{task = "t", variant = "v", seed = 1, status = "ok"}})
  local out = {ds, wb.zeros(1), wb.optim.Adam{}, wb.nn.Dense(2, 2), wb.nn.Dropout(0.1),
    wb.nn.Activation("relu"), wb.nn.Flatten(), wb.nn.SparseCrossEntropy(),
    wb.nn.Sequential{}, wb.fit.new_history(), wb.plot.lines{series = {{y = {1, 2}}}},
    wb.stats(wb.nn.Sequential{wb.nn.Dense(2, 2)}),
    wb.experiment{name = "x", base = {hidden = 8}},
    wb.task{name = "t", experiment = {base = {hidden = 8}}},
    runs, runs[1], -- a Run (out[#out][1] read the last callback's [1]: nil, no Run)
    wb.callbacks.EarlyStopping{}, wb.callbacks.ModelCheckpoint{filepath = root .. "/c"},
    wb.callbacks.ReduceLROnPlateau{}, wb.callbacks.CSVLogger(root .. "/log.csv")}
  return out
end

T.test("help covers every public function, class and method (walk of wb)", function()
  local missing, stale = wb.help.check(instances())
  T.eq(#missing, 0, "no help for: " .. table.concat(missing, ", "))
  T.eq(#stale, 0, "help for names that do not exist: " .. table.concat(stale, ", "))
  -- each text: a signature, a description, an example
  local bad = {}
  for name, e in pairs(wb.help._index()) do
    local desc, example = false, false
    for _, l in ipairs(e.body) do
      if l:match("^Example") then example = true elseif l:find("%S") then desc = true end
    end
    if not (desc and example) then bad[#bad + 1] = name end
  end
  table.sort(bad)
  T.eq(#bad, 0, "help without a description or an example: " .. table.concat(bad, ", "))
end)

T.test("help text: signature, description, parameters, example", function()
  local t = wb.help.text(wb.runs.find)
  T.ok(t:find("^wb.runs.find%(query%) %-> wb.Runs\n  The finished runs"), t)
  T.ok(t:find("\n  Parameters:\n    query%? table\n"), t)
  T.ok(t:find("\n  Example: ", 1, true), t)
  -- by value: a C function, a C method, a Lua method, an object's class
  T.ok(wb.help.text(wb.zeros):find("^wb.zeros%(d1, d2, ...%) %-> wb.Tensor"))
  T.ok(wb.help.text(wb.zeros(1).sum):find("^wb.Tensor:sum%(dim%)"))
  local m = wb.nn.Sequential{}
  T.ok(wb.help.text(m.fit):find("^wb.Sequential:fit%(train, opts%)"))
  T.ok(wb.help.text(m):find("^wb.Sequential\n"))
  T.ok(wb.help.text(m):find("\n  Methods:\n", 1, true))
  T.ok(wb.help.text(wb.optim.SGD{}):find("\n    :step%(params, grads%)"))
  -- by name, long and short
  for _, n in ipairs{"wb.Tensor:sum", "Tensor:sum", "Tensor.sum", "wb.Tensor.sum"} do
    T.ok((wb.help.text(n) or ""):find("^wb.Tensor:sum"), n)
  end
  T.ok(wb.help.text("zeros"):find("^wb.zeros"))
  T.ok(wb.help.text("wb.nn.SequentialClass.fit"):find("^wb.Sequential:fit"))
  -- as README and the examples write them: model:fit, runs:table, opt:step
  T.eq(wb.help.text("model:fit"), wb.help.text(m.fit))
  T.ok(wb.help.text("runs:table"):find("^wb.Runs:table"))
  T.ok(wb.help.text("opt.step"):find("^wb.Optimizer:step"))
  T.eq(wb.help.text("model:no_such"), nil)
  -- an overview line fits its column: a long signature loses its return type
  T.ok(wb.help.text():find("\n    experiment%(spec, opts%) +An experiment"), wb.help.text())
  -- modules list their members; help() is the overview
  local lab = wb.help.text(wb.lab)
  T.ok(lab:find("\n  Functions:\n", 1, true), lab)
  T.ok(lab:find("weight_grid(model, opts)", 1, true), lab)
  T.ok(wb.help.text():find("^wb\n") and wb.help.text():find("\n  Modules:\n", 1, true))
  local none, msg = wb.help.text("weight_gird")
  T.eq(none, nil); T.ok(msg:find("no help for 'weight_gird'", 1, true), msg)
  local _, msg2 = wb.help.text("grid")
  T.ok(msg2:find("wb.lab.weight_grid", 1, true), msg2)
  -- a method misspelt on an object's name, not a class's: its last part's
  -- nearest (tryM 13: "model:fitt" named nothing)
  local _, msg3 = wb.help.text("model:fitt")
  T.ok(msg3:find("; see: wb.Sequential:fit", 1, true), msg3)
  -- a user's own function with a --- block above it
  local src = root .. "/mine.lua"
  util.write_file(src, "---wb.mine(x) -> number\n---Twice x.\n"
    .. "return function(x) return 2 * x end\n")
  T.ok(wb.help.text(dofile(src)):find("^wb.mine%(x%) %-> number\n  Twice x.\n"))
end)

-- {==== documented values ====

T.test("help for a documented value: what it is, its contents, where it is used", function()
  local t = wb.help.text(wb.instruments.economy)
  T.ok(t and t:find("^wb.instruments.economy %(string%[%]%)\n  Cockpit's \"economy\" preset"),
    tostring(t))
  T.ok(t:find('\n  Value: {\n    "alpha", "distance", "grad_hist",', 1, true), t)
  T.ok(t:find("\n  Example: ", 1, true), t)
  T.ok(t:find("\n  Mentioned in: [^\n]*wb.Sequential:fit"), t)
  for _, n in ipairs{"wb.instruments.economy", "instruments.economy"} do
    T.eq(wb.help.text(n), t, n)
  end
  local st, out = T.sh(q(T.wb) .. " -h wb.instruments.economy")
  T.eq(st, 0); T.eq(out, t)
  T.ok(wb.help.text(wb.instruments.full):find('"hess_trace", "hess_max"', 1, true))
  T.ok(wb.help.text(wb.losses.NAMES):find('"sparse_categorical_crossentropy"', 1, true))
  T.ok(wb.help.text("wb.instruments.NAMES"):find('"gsnr"', 1, true))
  -- the contents are the live value's; a set shows its sorted keys
  local n = 0
  for _ in pairs(wb.experiment.known_keys) do n = n + 1 end
  local k = wb.help.text(wb.experiment.known_keys)
  T.ok(k:find("\n  Value: a set of " .. n .. " keys %(key = true%):\n    activation, "), k)
  -- a module lists its values; kinds come from the doc blocks
  local mod = wb.help.text(wb.instruments)
  T.ok(mod:find("\n  Values:\n    NAMES +Every instrument"), mod)
  T.ok(mod:find("\n    economy +Cockpit's"), mod)
  T.eq(wb.help.find("wb.losses.NAMES").kind, "value")
  T.eq(wb.help.find("wb.Run").kind, "class")
  T.eq(wb.help.find("wb.runs").kind, "module")
  T.eq(wb.help.find(wb.zeros).kind, "function")
  -- a table of one's own, or a copy of a preset, has none
  local none, msg = wb.help.text({table.unpack(wb.instruments.economy)})
  T.eq(none, nil); T.ok(msg:find("^no help for table"), msg)
end)

-- Runs f with mod[key] = v, then restores it and forgets help's walk.
local function with(mod, key, v, f)
  local saved = rawget(mod, key)
  rawset(mod, key, v)
  wb.help.reset()
  local ok, err = pcall(f)
  rawset(mod, key, saved)
  wb.help.reset()
  if not ok then error(err, 0) end
end

local function has(list, s)
  for _, x in ipairs(list) do if x == s then return true end end
  return false
end

T.test("check: every data table is documented or excluded; values exist with their type",
    function()
  local missing, stale = wb.help.check(instances())
  T.eq(#missing + #stale, 0, table.concat(missing, ", ") .. " / " .. table.concat(stale, ", "))
  -- a new undocumented table is missing; one nested in a documented one is not
  with(wb.instruments, "my_preset", {"loss"}, function()
    T.ok(has(wb.help.check(), "wb.instruments.my_preset"), "undocumented table not reported")
  end)
  with(wb.plot.style, "extra_colors", {"#000000"}, function()
    T.ok(not has(wb.help.check(), "wb.plot.style.extra_colors"), "nested in a documented value")
  end)
  -- a documented value that is gone, of another type, or a function
  local cases = {{nil, "wb.losses.NAMES"},
    {"mse", "wb.losses.NAMES (documented as string[], is a string)"},
    {print, "wb.losses.NAMES (documented as a value, is not one)"}}
  for _, c in ipairs(cases) do
    with(wb.losses, "NAMES", c[1], function()
      local _, st = wb.help.check()
      T.ok(has(st, c[2]), c[2] .. " not in stale: " .. table.concat(st, ", "))
    end)
  end
  -- an exclusion of a table that no longer exists is stale too
  local excluded = require("wb.help.values").excluded
  with(excluded, "wb.nn.gone", "test", function()
    local _, st = wb.help.check()
    T.ok(has(st, "wb.nn.gone (excluded in wb/help/values.lua)"), table.concat(st, ", "))
  end)
end)

-- }====

T.test("workbench -h NAME prints the same text; unknown names exit 1", function()
  local st, out, err = T.sh(q(T.wb) .. " -h wb.lab.compare_weights")
  T.eq(st, 0, err)
  T.eq(out, wb.help.text("wb.lab.compare_weights"))
  st, out = T.sh(q(T.wb) .. " -h Tensor:norm")
  T.eq(st, 0); T.ok(out:find("^wb.Tensor:norm%(%) %-> number"), out)
  st, out, err = T.sh(q(T.wb) .. " -h no_such_name")
  T.eq(st, 1); T.eq(out, ""); T.ok(err:find("no help for 'no_such_name'", 1, true), err)
  st, out = T.sh(q(T.wb) .. " -h")
  T.eq(st, 0); T.ok(out:find("usage: ", 1, true), out)
end)

-- (scripts and -e have it too: test_cli.lua)
T.test("the REPL defines the global help", function()
  local st, out = T.sh("printf 'help(wb.seed)\\n' | " .. q(T.wb) .. " -i -e 'x = 1'")
  T.eq(st, 0)
  T.ok(out:find("wb.seed(n)", 1, true), out)
  -- help(wb.Tensor) (a class as the docs write it): reading wb.Tensor is
  -- an error that gives help's name for it, not help() (test_audit_strict)
  local err
  st, out, err = T.sh(q(T.wb) .. " -e 'help(wb.Tensor)'")
  T.ok(st ~= 0 and err:find('wb.Tensor is a class, not a value (help("wb.Tensor") says what it '
    .. 'is)', 1, true), err)
  st, out = T.sh(q(T.wb) .. " -e 'help(); wb.help()'")
  T.eq(st, 0)
  local _, overviews = out:gsub("\nwb\n  The workbench library", "")
  T.eq(overviews + (out:find("^wb\n") and 1 or 0), 2, out)
end)

-- }====

-- {==== the language-server annotation file ====

-- Names defined in a LuaLS meta file: tables, classes, functions, methods,
-- and values (name -> the ---@type right above their assignment).
local function meta_names(text)
  local names, vars, typed = {}, {}, {}
  local pending, ty
  for line in text:gmatch("[^\n]*") do
    local cls = line:match("^%-%-%-@class ([%w_.]+)$")
    if cls then pending = cls end
    local var = line:match("^local ([%w_]+) = {}$")
    if var and pending then vars[var] = pending; names[pending] = true; pending = nil end
    local tbl = line:match("^(wb[%w_.]*) = ")
    if tbl then names[tbl] = true; typed[tbl] = ty end
    if line:match("^%-%-%-@type ") then ty = line:match("^%-%-%-@type (.+)$")
    elseif not line:match("^%-%-%-") then ty = nil end -- the block has ended
    local owner, sep, fn = line:match("^function ([%w_.]+)([.:])([%w_]+)%(")
    if owner then names[(vars[owner] or owner) .. sep .. fn] = true end
  end
  return names, typed
end

-- The annotations: the hand-written C API stubs (bindings/lua/meta/*.lua,
-- also help's source for the C names) plus what wb.help.meta() generates
-- for the Lua modules (`make meta`).
local function meta_texts()
  local out = {}
  for _, n in ipairs(wb.sys.listdir("bindings/lua/meta")) do
    if n:match("%.lua$") then out[#out + 1] = {"bindings/lua/meta/" .. n,
      util.read_file("bindings/lua/meta/" .. n)} end
  end
  table.sort(out, function(x, y) return x[1] < y[1] end)
  out[#out + 1] = {"wb.help.meta()", wb.help.meta()}
  return out
end

T.test("meta stubs and wb.help.meta(): parse; their names are wb's, both ways", function()
  local names, fns, typed = {}, {}, {}
  local texts = meta_texts()
  T.ok(#texts >= 8, "expected 7 C stub files and the generated one, got " .. #texts)
  for _, ft in ipairs(texts) do
    local file, text = ft[1], ft[2]
    T.ok(text and text:find("^%-%-%-@meta\n"), file .. ": missing ---@meta header")
    T.ok(load(text, "=" .. file), file .. ": does not parse as Lua")
    local ns, ts = meta_names(text)
    for n in pairs(ns) do names[n] = true end
    for n, t in pairs(ts) do typed[n] = t end
    for l in text:gmatch("[^\n]*") do -- each function is declared once
      local f = l:match("^function ([%w_.:]+)%(")
      if f and f:match("^wb") then
        T.ok(not fns[f], f .. " declared in " .. file .. " and " .. tostring(fns[f]))
        fns[f] = file
      end
    end
  end
  local w = wb.help._walk(instances())
  local want = {}
  for name in pairs(w.modules) do want[name] = true end
  for name in pairs(w.classes) do want[name] = true end
  for _, ns in pairs(w.functions) do
    for _, n in ipairs(ns) do
      local e = wb.help.find(n) or {}
      if e.names then for _, m in ipairs(e.names) do if m == n then want[n] = true end end end
    end
  end
  -- documented values, with the type of their doc block
  local idx, nvalues = wb.help._index(), 0
  for n in pairs(w.values) do
    if idx[n] and idx[n].kind == "value" then want[n] = idx[n].type; nvalues = nvalues + 1 end
  end
  T.ok(nvalues >= 4, "only " .. nvalues .. " documented values")
  local missing, extra = {}, {}
  for n, t in pairs(want) do
    if not names[n] then missing[#missing + 1] = n
    elseif t ~= true and typed[n] ~= t then
      missing[#missing + 1] = string.format("%s (---@type %s, annotated %s)", n, t,
        tostring(typed[n]))
    end
  end
  for n in pairs(names) do
    if not (w.names[n] or n == "wb" or want[n]) then extra[#extra + 1] = n end
  end
  table.sort(missing); table.sort(extra)
  T.eq(#missing, 0, "not annotated: " .. table.concat(missing, ", "))
  T.eq(#extra, 0, "annotated but not in wb: " .. table.concat(extra, ", "))
  local n = 0
  for _ in pairs(want) do n = n + 1 end
  T.ok(n > 200, "walked only " .. n .. " names")
end)

T.test("a C function's help comes from its stub in meta/, the only copy", function()
  T.eq(rawget(wb, "_docs"), nil)
  local w, n = wb.help._walk(instances()), 0
  for f, ns in pairs(w.functions) do
    if debug.getinfo(f, "S").what == "C" then
      local e = wb.help.find(f)
      T.ok(e and e.file:find("/meta/[%w_]+%.lua$"), ns[1] .. ": help from " ..
        tostring(e and e.file))
      n = n + 1
    end
  end
  T.ok(n > 80, "only " .. n .. " C functions")
  T.ok(wb.help.text(wb.zeros):find("^wb.zeros%(d1, d2, ...%) %-> wb.Tensor\n"))
  local st, out = T.sh(q(T.wb) .. " -h wb.zeros")
  T.eq(st, 0); T.eq(out, wb.help.text(wb.zeros))
end)

-- }====

-- {==== the man page ====

do
  T.test("man -l bindings/workbench.1 renders without warnings", function()
    -- a missing man fails (it skipped, unseen, on a fresh machine)
    if T.sh("command -v man") ~= 0 then
      error("needs man (Debian's man-db; make deps installs it)")
    end
    local st, out, err = T.sh("MANWIDTH=80 man --warnings -l bindings/workbench.1")
    T.eq(st, 0, err)
    T.eq(err, "")
    for _, s in ipairs{"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS",
                       "ENVIRONMENT", "FILES", "EXAMPLES", "~/.workbench_history"} do
      T.ok(out:find(s, 1, true), "man page lacks " .. s)
    end
    -- every exit status of README's "Exit status" section is in the page
    local readme = util.read_file("README.md") or ""
    local section = readme:match("\n## Exit status\n(.-)\n## ") or
      readme:match("\n## Exit status\n(.*)$") or ""
    local status_part = out:match("EXIT STATUS\n(.-)\nENVIRONMENT") or ""
    for code in section:gmatch("\n|%s*`?(%d+)`?%s*|") do
      T.ok(status_part:find("\n%s+" .. code .. "%s"), "exit status " .. code
        .. " (README.md) missing from the man page's EXIT STATUS")
    end
    -- every option of workbench -h is in the page
    local _, usage = T.sh(q(T.wb) .. " -h")
    for opt in usage:gmatch("\n  (%-%S*)") do
      T.ok(out:find(opt, 1, true), "option " .. opt .. " missing from the man page")
    end
  end)
end

-- }====

T.done()
