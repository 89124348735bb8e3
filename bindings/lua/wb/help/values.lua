-- wb/help/values.lua: help for documented data values (presets, name
-- lists, defaults: wb.instruments.economy, wb.losses.NAMES ...): finding
-- one by value, showing its contents, and the data tables of wb left
-- undocumented on purpose.
--
-- A value's doc block is a bare name with a ---@type tag (the kind
-- "value", wb/help/index.lua), written directly above the assignment in
-- its module as every other block is. The blocks below are for values whose
-- modules' files are owned elsewhere; move each beside its assignment when
-- that file is next edited (help finds a value by name, not by position).
-- Its text says what the value is and where it is used; help shows the
-- contents from the live value, so they are never stale.
local _ENV = require "wb.std"
local pretty = require "wb.pretty"

local M = {}

-- Data tables of wb that are deliberately not in help: internal
-- bookkeeping a user never reads or sets. wb.help.check reports any other
-- undocumented data table as missing, and a name here that no longer
-- exists as stale. A table nested in a documented one (wb.plot.style.colors)
-- is covered by its parent.
M.excluded = {
  ["wb.identity.presentation_modules"] = "which source files do not enter a run's code version",
  ["wb.slurm.RESERVED"] = "the sbatch options --sbatch may not override (its error lists them)",
  ["wb.spec.FIT_OPTION_KEYS"] = "fit options the config check lets through",
}

---wb.experiment.known_keys
---@type table<string, boolean>
---Every config key an experiment understands (a set: key = true), the
---same as wb.spec.config_keys(): training keys and the default model's
---(hidden, activation, dropout, l2, init). wb.experiment refuses any other
---key in base, vary or variants unless a build hook declares it in keys;
---wb.runs.find checks its query against it. Defaults:
---wb.spec.train_defaults and wb.spec.model_defaults.
---Example: print(wb.experiment.known_keys.dropout) --> true

---wb.experiment.quick_subset
---@type {train: integer, test: integer}
---The rows a task trains and tests on with --quick (the first `train`
---training and `test` test rows; at most 2 epochs a run, 1 with
-----epochs 1): a smoke test. Stored in each run's config.subset.
---Example: -- workbench scripts/task05_dropout.lua --quick

---wb.spec.train_defaults
---@type table<string, any>
---The defaults of an experiment's training keys when neither base nor
---vary sets them (Keras's batch size and optimizer; validation holds out
---the last 10% of the training rows, as Keras's validation_split = 0.1).
---The keys themselves: wb.experiment.known_keys.
---Example: print(wb.spec.train_defaults.epochs) --> 10

---wb.spec.model_defaults
---@type table<string, any>
---The defaults of the default model's keys (the study's MLP built when an
---experiment has no build hook); hidden has none: every such experiment
---sets it. See wb.experiment.known_keys.
---Example: print(wb.spec.model_defaults.activation) --> relu

---wb.plot.style
---@type table
---The house style of every figure of wb.plot: fonts, sizes in pixels
---(size, panel_size) and characters (dumb_size, for :show()), the series
---colours (Okabe-Ito, colour-blind safe), line width, the palettes of
---heatmaps and weight grids ({position, colour} stops). Read when a plot
---is saved or shown, so a change applies to the next figure.
---Example: wb.plot.style.size = {1200, 800}

---wb.cockpit.DEFAULT
---@type string[]
---The instruments model:fit turns on for cockpit = true when the fit names
---none (its `instruments` option): each is also a panel of the cockpit.
---Example: m:fit(d.train, {cockpit = true}) -- measures wb.cockpit.DEFAULT

---wb.cockpit.EVERY
---@type integer
---The steps between two frames of the cockpit for fit's cockpit = true
---(cockpit = N or {every = N} choose another).
---Example: wb.cockpit.EVERY = 200; m:fit(d.train, {cockpit = true})

---wb.plot.gnuplot
---@type string|false
---The gnuplot program :save and :show run; false (the default): $WB_GNUPLOT,
---else "gnuplot" on the PATH.
---Example: wb.plot.gnuplot = "/opt/gnuplot/bin/gnuplot"

---wb.plot.timeout
---@type number
---The seconds a gnuplot run may take before it is killed (coreutils
---timeout) and :save or :show raises.
---Example: wb.plot.timeout = 300

---wb.lab.near_zero
---@type number
---The default threshold of wb.stats's near_zero column (the fraction of
---weights with |w| below it); opts.threshold overrides it per call.
---Example: wb.lab.near_zero = 1e-4; print(wb.stats(m))

---wb.runs.max_listed
---@type integer
---How many runs tostring of a run list (wb.Runs) prints before
---"... (N more)".
---Example: wb.runs.max_listed = 100; print(wb.runs.find{})

---wb.data.fashion_dir
---@type string
---Where wb.data.fashion_mnist reads Fashion-MNIST (Debian's
---dataset-fashion-mnist package installs it there).
---Example: wb.data.fashion_dir = os.getenv("HOME") .. "/fashion"

-- {==================== contents ====================

local function is_set(t)
  local n = 0
  for k, v in pairs(t) do
    if v ~= true or type(k) ~= "string" then return false end
    n = n + 1
  end
  return n > 0
end

-- Words joined by ", " and wrapped to width, each line indented.
local function wrap(words, indent, width)
  local out, line = {}, indent
  for i, w in ipairs(words) do
    local piece = w .. (i < #words and "," or "")
    if #line + #piece + 1 > width and line ~= indent then
      out[#out + 1] = line
      line = indent
    end
    line = line .. (line == indent and "" or " ") .. piece
  end
  out[#out + 1] = line
  return out
end

-- Lines showing value v under "Value:", at most max_lines of them (a
-- longer table is cut with a pointer to wb.show).
function M.contents(v, max_lines)
  max_lines = max_lines or 24
  if type(v) ~= "table" then return {"  Value: " .. pretty.format(v)} end
  local lines
  if is_set(v) then
    local ks = {}
    for k in pairs(v) do ks[#ks + 1] = k end
    table.sort(ks)
    lines = {string.format("  Value: a set of %d keys (key = true):", #ks)}
    for _, l in ipairs(wrap(ks, "    ", 78)) do lines[#lines + 1] = l end
  else
    local text = pretty.format(v, true)
    lines = {}
    for l in (text .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = "  " .. l end
    lines[1] = "  Value: " .. text:match("^[^\n]*")
  end
  if #lines > max_lines then
    lines = {table.unpack(lines, 1, max_lines)}
    lines[#lines + 1] = "    ... (" .. pretty.more .. ")"
  end
  return lines
end

-- }====================

-- The documented value entry whose value is t (a table: by identity), or
-- nil. w is the walk of wb (help/walk.lua), idx the index.
function M.find(t, idx, w)
  for name, v in pairs(w.values) do
    if rawequal(v, t) and idx[name] and idx[name].kind == "value" then return idx[name] end
  end
  return nil
end

-- "; a value is found by its name: help("wb.lab.near_zero")" for a number or
-- boolean x equal to documented values (help(wb.lab.near_zero) passes 0.001,
-- which nothing is found by), else "". idx the index, w the walk of wb.
function M.equal_names(x, idx, w)
  local same = {}
  for name, v in pairs(w.values) do
    if v == x and idx[name] and idx[name].kind == "value" then
      same[#same + 1] = string.format('help("%s")', name)
    end
  end
  table.sort(same)
  return #same > 0 and "; a value is found by its name: " .. table.concat(same, ", ") or ""
end

-- "Mentioned in:" lines naming the other entries whose text mentions
-- name (where a value is used; help's own examples are left out), sorted;
-- none when no entry does.
function M.mentions(name, idx)
  local out, pat = {}, name:gsub("%p", "%%%0") .. "%f[^%w_]"
  for n, e in pairs(idx) do
    if e.name == n and n ~= name and not n:find("^wb%.help")
        and table.concat(e.body, " "):find(pat) then
      out[#out + 1] = n
    end
  end
  if #out == 0 then return {} end
  table.sort(out)
  local lines = wrap(out, "    ", 78)
  lines[1] = "  Mentioned in: " .. lines[1]:sub(5)
  return lines
end

-- wb.help.check's part for values: a documented value must exist with
-- the type its ---@type gives, a value must not be documented as a
-- function, class or module, and every data table of the walk w must be
-- documented (itself or a data table it is nested in) or excluded. Adds
-- to missing and stale; marks what it checked in found.
function M.check(idx, w, found, missing, stale)
  for name, e in pairs(idx) do -- a value must exist with the type it is given
    if e.kind == "value" then
      local want, have = M.lua_type(e.type), type(w.values[name])
      if w.values[name] == nil then
        local why = w.names[name] and " (documented as a value, is not one)" or ""
        stale[#stale + 1] = name .. why
      elseif want and want ~= have then
        stale[#stale + 1] = string.format("%s (documented as %s, is a %s)", name, e.type, have)
      end
      found[name] = true
    elseif w.values[name] ~= nil and not w.names[name] then
      stale[#stale + 1] = name .. " (a value, documented as a " .. e.kind .. ": add ---@type)"
      found[name] = true
    end
  end
  for name in pairs(w.data) do -- every data table: documented, or excluded
    local covered, n = false, name
    repeat
      covered = (idx[n] and idx[n].kind == "value") or M.excluded[n] ~= nil
      n = n:match("^(.*)%.[^.]+$")
    until covered or not n or not w.data[n]
    if not covered then missing[#missing + 1] = name end
  end
  for name in pairs(M.excluded) do
    if not w.data[name] then stale[#stale + 1] = name .. " (excluded in wb/help/values.lua)" end
  end
end

-- The Lua type a value's ---@type admits, or nil when any.
function M.lua_type(ty)
  ty = (ty or ""):match("^%S+") or ""
  if ty:match("^{") or ty:match("%[%]$") or ty:match("^table") then return "table" end
  if ty == "integer" then return "number" end
  if ty == "string" or ty == "number" or ty == "boolean" then return ty end
  return nil
end

return M
