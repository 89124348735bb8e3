-- wb/runner_overrides.lua: what the options an experiment is made with (a
-- task's command line: --dataset, --seeds, --epochs, --quick) replaced of
-- the values the experiment itself sets (its base, a variant, its seeds,
-- else wb.experiment's default), said when the plan starts and in the
-- task's README. Without it, `--epochs 3` over a 20-epoch task, or
-- `--seeds 2` over three seeds, made a README that gave the values used and
-- not that they were not the task's own. Text only: it decides nothing a
-- run trains (the overrides themselves are applied in wb/experiment.lua).
local _ENV = require "wb.std"
local util = require "wb.util"
local spec_mod = require "wb.spec"

local M = {}

-- Key's own value in variant v and whose it is: the variant's, else the
-- base's, else the default's (nil when none sets it); true when the
-- variant's.
local function own(spec, v, key)
  if v.values[key] ~= nil then return v.values[key], "variant " .. v.label, true end
  if (spec.base or {})[key] ~= nil then return spec.base[key], "base" end
  local d = spec_mod.train_defaults[key]
  if d ~= nil then return d, "the default" end
end

-- The notes "key = old (whose)" of the keys `new` sets (key -> the value
-- the option gives) over the variants' own values: the base's or the
-- default's first, once, then each variant's. An own value equal to the
-- new one is not replaced, nor one that `kept` (key, value) says stays.
local function notes(spec, variants, keys, new, kept)
  local shared, by_variant, seen = {}, {}, {}
  for _, v in ipairs(variants) do
    for _, key in ipairs(keys) do
      local x, whose, mine = own(spec, v, key)
      if x ~= nil and not seen[whose .. "\0" .. key] and not (kept and kept(key, x))
          and util.canonical(x) ~= util.canonical(new[key]) then
        seen[whose .. "\0" .. key] = true
        table.insert(mine and by_variant or shared, string.format("%s = %s (%s)", key,
          util.show(x), whose))
      end
    end
  end
  return table.move(by_variant, 1, #by_variant, #shared + 1, shared)
end

-- --quick's subset over a task's own (nil: the whole sets): each side the
-- smaller of the two, so that a smoke test never trains or tests on more
-- rows than the task itself (its 1000 training rows became 2000: audit A4).
function M.quick_subset(own, quick)
  local out = util.copy(quick)
  for side, n in pairs(type(own) == "table" and own or {}) do
    if out[side] == nil or n < out[side] then out[side] = n end
  end
  return out
end

-- "{1, 2, 3}"
local function list(seeds)
  local s = {}
  for i, x in ipairs(seeds) do s[i] = tostring(x) end
  return "{" .. table.concat(s, ", ") .. "}"
end

-- The options' replacements: a list of {option = "--epochs 3", what =
-- {"epochs = 20 (base)", ...}}, in --help's order, one for each option
-- that replaced something. spec: the declaration; variants: its checked
-- variants; seeds: its own (declared, or the default); opts: the options;
-- overrides: key -> the value the options give every run (epochs, dataset,
-- subset). --epochs replaces epochs (with --quick too: --quick's note then
-- names the subset only); --quick keeps an own epochs below its own.
function M.of(spec, variants, seeds, opts, overrides)
  local out = {}
  local function add(option, what)
    if #what > 0 then out[#out + 1] = {option = option, what = what} end
  end
  if opts.dataset then
    add("--dataset " .. opts.dataset, notes(spec, variants, {"dataset"}, overrides))
  end
  if opts.seeds then
    local new = {}
    for i = 1, opts.seeds do new[i] = i end
    if util.canonical(new) ~= util.canonical(seeds) then
      add("--seeds " .. opts.seeds, {string.format("seeds = %s%s", list(seeds),
        spec.seeds and "" or " (the default)")})
    end
  end
  if opts.epochs then
    add("--epochs " .. opts.epochs, notes(spec, variants, {"epochs"}, overrides))
  end
  if opts.quick then
    add("--quick", notes(spec, variants, opts.epochs and {"subset"} or {"epochs", "subset"},
      overrides, function(key, x) -- fewer epochs or rows than quick's stay
        return key == "epochs" and math.type(x) == "integer" and x < overrides.epochs
          or key == "subset" and util.canonical(M.quick_subset(x, overrides.subset))
            == util.canonical(x)
      end))
  end
  return out
end

-- What a plan writes on stderr as it starts (a task's, ex:run()'s): a line
-- for each option that replaced something, "[name] --epochs 3 replaced what
-- the experiment sets: epochs = 20 (base)\n"; "" when none did.
function M.text(ex)
  local out = {}
  -- the epochs of every run, not the first's: a variant of 1 epoch keeps it
  -- under --quick while the others train 2 ("every run trains 1 epoch(s)")
  local lo, hi
  for _, s in ipairs(ex.specs or {}) do
    local e = s.config.epochs
    if math.type(e) == "integer" then lo, hi = math.min(lo or e, e), math.max(hi or e, e) end
  end
  local epochs = lo == hi and string.format("every run trains %s epoch(s)", tostring(lo))
    or string.format("runs train %d to %d epochs", lo, hi)
  local said -- --quick's line
  for _, r in ipairs(ex.replaced or {}) do
    local head = r.option == "--quick" and string.format("--quick: %s on the first rows; "
      .. "it", epochs) or r.option
    said = said or r.option == "--quick"
    out[#out + 1] = string.format("[%s] %s replaced what the experiment sets: %s\n", ex.name,
      head, table.concat(r.what, "; "))
  end
  if ex.quick and not said then -- a task within --quick's rows and epochs: still said
    out[#out + 1] = string.format("[%s] --quick: %s on the first rows (the experiment's own "
      .. "epochs and subset: within --quick's)\n", ex.name, epochs)
  end
  return table.concat(out)
end

-- The README's lines, one per option that replaced something.
function M.readme(ex)
  local out = {}
  for _, r in ipairs(ex.replaced or {}) do
    out[#out + 1] = string.format("*%s replaced what the experiment sets: %s.*\n", r.option,
      table.concat(r.what, "; "))
  end
  return out
end

return M
